// OpenBLAS's CBLAS interface (Debian: libopenblas-dev) plus its thread-count controls.
#ifndef BIMT_COPENBLAS_SHIM_H
#define BIMT_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
