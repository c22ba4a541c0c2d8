// The OpenCL ICD loader's C API. Kernels target OpenCL C 1.2 (PoCL and every GPU driver
// speak it); the host API is used at the 1.2 level too.
#ifndef BIMT_COPENCL_SHIM_H
#define BIMT_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#endif
