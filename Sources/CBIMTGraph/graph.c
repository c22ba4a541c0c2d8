#include "CBIMTGraph.h"
#include <igraph.h>

static int build(igraph_t *graph, igraph_vector_t *w, int nodes, int edges, const int *from, const int *to,
                 const double *weights) {
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_vector_int_t list;
    int status = igraph_vector_int_init(&list, 2 * (igraph_integer_t)edges);
    if (status) return status;
    for (int k = 0; k < edges; k++) {
        VECTOR(list)[2 * k] = from[k];
        VECTOR(list)[2 * k + 1] = to[k];
    }
    status = igraph_create(graph, &list, nodes, IGRAPH_UNDIRECTED);
    igraph_vector_int_destroy(&list);
    if (status) return status;
    status = igraph_vector_init(w, edges);
    if (status) { igraph_destroy(graph); return status; }
    for (int k = 0; k < edges; k++) VECTOR(*w)[k] = weights[k];
    return 0;
}

int bimt_louvain(int nodes, int edges, const int *from, const int *to, const double *weights, unsigned long seed,
                 int *membership, double *modularity) {
    igraph_t graph;
    igraph_vector_t w;
    int status = build(&graph, &w, nodes, edges, from, to, weights);
    if (status) return status;
    igraph_vector_int_t found;
    status = igraph_vector_int_init(&found, 0);
    if (!status) {
        igraph_rng_seed(igraph_rng_default(), seed);
        status = igraph_community_multilevel(&graph, &w, 1.0, &found, NULL, NULL);
        if (!status) status = igraph_modularity(&graph, &found, &w, 1.0, 0, modularity);
        if (!status) for (int i = 0; i < nodes; i++) membership[i] = (int)VECTOR(found)[i];
        igraph_vector_int_destroy(&found);
    }
    igraph_vector_destroy(&w);
    igraph_destroy(&graph);
    return status;
}

int bimt_modularity(int nodes, int edges, const int *from, const int *to, const double *weights,
                    const int *membership, double *modularity) {
    igraph_t graph;
    igraph_vector_t w;
    int status = build(&graph, &w, nodes, edges, from, to, weights);
    if (status) return status;
    igraph_vector_int_t given;
    status = igraph_vector_int_init(&given, nodes);
    if (!status) {
        for (int i = 0; i < nodes; i++) VECTOR(given)[i] = membership[i];
        status = igraph_modularity(&graph, &given, &w, 1.0, 0, modularity);
        igraph_vector_int_destroy(&given);
    }
    igraph_vector_destroy(&w);
    igraph_destroy(&graph);
    return status;
}
