#include "CBIMTGraph.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

// igraph 0.10's C library, loaded with dlopen at run time (Debian's libigraph3): the binary
// starts, and does everything but modularity, where it is missing. Its types come from the
// headers (Debian's libigraph-dev) where they are installed at build time; without them the
// calls report that bimt was built without igraph.
#if __has_include(<igraph/igraph.h>)
#include <igraph/igraph.h>

static void *library;
static char reason_text[512];
#define SYMBOLS(X)                                                                                                   \
    X(igraph_set_error_handler) X(igraph_error_handler_ignore) X(igraph_vector_int_init)                           \
    X(igraph_vector_int_destroy) X(igraph_vector_init) X(igraph_vector_destroy) X(igraph_create) X(igraph_destroy) \
    X(igraph_rng_seed) X(igraph_rng_default) X(igraph_community_multilevel) X(igraph_modularity)
#define DECLARE(name) static __typeof__(&name) p_##name;
SYMBOLS(DECLARE)

int bimt_igraph_load(char *reason, size_t reasonSize) {
    if (!library) {
        const char *chosen = getenv("BIMT_IGRAPH_LIBRARY");
        const char *name = chosen && *chosen ? chosen : "libigraph.so.3";
        void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *why = dlerror();
            snprintf(reason, reasonSize, "%s could not be loaded (%s)", name, why ? why : "unknown reason");
            return -1;
        }
#define RESOLVE(symbol)                                                                                   \
        p_##symbol = (__typeof__(p_##symbol))dlsym(handle, #symbol);                                     \
        if (!p_##symbol) {                                                                                \
            snprintf(reason, reasonSize, "%s lacks %s: bimt needs igraph 0.10 (Debian's libigraph3)", name, #symbol); \
            dlclose(handle);                                                                              \
            return -1;                                                                                    \
        }
        SYMBOLS(RESOLVE)
        p_igraph_set_error_handler(p_igraph_error_handler_ignore);
        library = handle;
    }
    (void)reason_text;
    return 0;
}

static int build(igraph_t *graph, igraph_vector_t *w, int nodes, int edges, const int *from, const int *to,
                 const double *weights) {
    igraph_vector_int_t list;
    int status = p_igraph_vector_int_init(&list, 2 * (igraph_integer_t)edges);
    if (status) return status;
    for (int k = 0; k < edges; k++) {
        VECTOR(list)[2 * k] = from[k];
        VECTOR(list)[2 * k + 1] = to[k];
    }
    status = p_igraph_create(graph, &list, nodes, IGRAPH_UNDIRECTED);
    p_igraph_vector_int_destroy(&list);
    if (status) return status;
    status = p_igraph_vector_init(w, edges);
    if (status) { p_igraph_destroy(graph); return status; }
    for (int k = 0; k < edges; k++) VECTOR(*w)[k] = weights[k];
    return 0;
}

int bimt_louvain(int nodes, int edges, const int *from, const int *to, const double *weights, unsigned long seed,
                 int *membership, double *modularity) {
    if (!library) return -1;
    igraph_t graph;
    igraph_vector_t w;
    int status = build(&graph, &w, nodes, edges, from, to, weights);
    if (status) return status;
    igraph_vector_int_t found;
    status = p_igraph_vector_int_init(&found, 0);
    if (!status) {
        p_igraph_rng_seed(p_igraph_rng_default(), seed);
        status = p_igraph_community_multilevel(&graph, &w, 1.0, &found, NULL, NULL);
        if (!status) status = p_igraph_modularity(&graph, &found, &w, 1.0, 0, modularity);
        if (!status) for (int i = 0; i < nodes; i++) membership[i] = (int)VECTOR(found)[i];
        p_igraph_vector_int_destroy(&found);
    }
    p_igraph_vector_destroy(&w);
    p_igraph_destroy(&graph);
    return status;
}

int bimt_modularity(int nodes, int edges, const int *from, const int *to, const double *weights,
                    const int *membership, double *modularity) {
    if (!library) return -1;
    igraph_t graph;
    igraph_vector_t w;
    int status = build(&graph, &w, nodes, edges, from, to, weights);
    if (status) return status;
    igraph_vector_int_t given;
    status = p_igraph_vector_int_init(&given, nodes);
    if (!status) {
        for (int i = 0; i < nodes; i++) VECTOR(given)[i] = membership[i];
        status = p_igraph_modularity(&graph, &given, &w, 1.0, 0, modularity);
        p_igraph_vector_int_destroy(&given);
    }
    p_igraph_vector_destroy(&w);
    p_igraph_destroy(&graph);
    return status;
}

#else

int bimt_igraph_load(char *reason, size_t reasonSize) {
    snprintf(reason, reasonSize,
             "bimt was built without igraph's headers: install libigraph-dev (scripts/install-deps) and rebuild");
    return -1;
}
int bimt_louvain(int nodes, int edges, const int *from, const int *to, const double *weights, unsigned long seed,
                 int *membership, double *modularity) { return -1; }
int bimt_modularity(int nodes, int edges, const int *from, const int *to, const double *weights,
                    const int *membership, double *modularity) { return -1; }

#endif
