// igraph's C library (Debian's libigraph-dev): community detection and modularity.
#include <igraph.h>
