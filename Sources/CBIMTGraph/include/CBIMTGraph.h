#ifndef CBIMT_GRAPH_H
#define CBIMT_GRAPH_H
// Modularity of a weighted, undirected graph through igraph (Louvain communities, Newman's Q),
// igraph loaded with dlopen at run time. Edges are `from[k]`-`to[k]` with weight `weights[k]`
// > 0 over nodes 0 ..< nodes. Calls are serialized by the caller (igraph's random generator is
// global). Every call returns -1 until `bimt_igraph_load` has succeeded.
#include <stddef.h>

/// Loads igraph 0.10 (`BIMT_IGRAPH_LIBRARY`, else libigraph.so.3). Returns 0, or -1 with the reason.
int bimt_igraph_load(char *reason, size_t reasonSize);

/// Louvain communities (igraph_community_multilevel, resolution 1) with igraph's generator
/// seeded by `seed`; `membership[nodes]` gets each node's community and `modularity` their Q.
/// Returns 0, or igraph's error code.
int bimt_louvain(int nodes, int edges, const int *from, const int *to, const double *weights, unsigned long seed,
                 int *membership, double *modularity);

/// Newman's modularity Q of a given partition (igraph_modularity, resolution 1). Returns 0 or
/// igraph's error code.
int bimt_modularity(int nodes, int edges, const int *from, const int *to, const double *weights,
                    const int *membership, double *modularity);

#endif
