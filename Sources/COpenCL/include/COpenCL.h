// The OpenCL API, loaded at run time. This module defines the cl* entry points bimt uses
// and forwards each to the ICD loader (libOpenCL.so.1, or $BIMT_OPENCL_LIBRARY) opened with
// dlopen on first use. Without the library every call reports CL_PLATFORM_NOT_FOUND_KHR
// (or a NULL object), so the binary starts and runs on the CPU path where no OpenCL stack
// is installed at all. Kernels target OpenCL C 1.2; the host API is used at the 1.2 level.
#ifndef BIMT_COPENCL_H
#define BIMT_COPENCL_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

/// 1 when the OpenCL library was found and loaded, else 0 (loads it on first call).
int bimt_opencl_available(void);

/// Why the library could not be loaded ("" when it was).
const char *bimt_opencl_error(void);

#endif
