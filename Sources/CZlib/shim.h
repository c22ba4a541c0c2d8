// zlib (Debian: zlib1g-dev), for gzip-compressed IDX files.
#ifndef BIMT_CZLIB_SHIM_H
#define BIMT_CZLIB_SHIM_H
#include <zlib.h>
#endif
