#include "COpenCL.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *library;
static char failure[512];

// The entry points, resolved once.
#define ENTRY_POINTS(X) \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo) X(clCreateContext) \
    X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue) X(clFinish) X(clCreateBuffer) \
    X(clReleaseMemObject) X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clCreateProgramWithSource) \
    X(clCreateProgramWithBinary) X(clBuildProgram) X(clGetProgramInfo) X(clGetProgramBuildInfo) \
    X(clReleaseProgram) X(clCreateKernel) X(clReleaseKernel) X(clSetKernelArg) X(clEnqueueNDRangeKernel) \
    X(clFlush) X(clGetEventInfo) X(clWaitForEvents) X(clReleaseEvent) X(clGetKernelWorkGroupInfo)

#define DECLARE(name) static __typeof__(&name) p_##name;
ENTRY_POINTS(DECLARE)

static void load(void) {
    const char *name = getenv("BIMT_OPENCL_LIBRARY");
#if defined(__APPLE__)
    if (!name || !*name) name = "/System/Library/Frameworks/OpenCL.framework/OpenCL";
#else
    if (!name || !*name) name = "libOpenCL.so.1";
#endif
    library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "%s could not be loaded (%s)", name, why ? why : "unknown reason");
        return;
    }
#define RESOLVE(fn) p_##fn = (__typeof__(p_##fn))dlsym(library, #fn); \
    if (!p_##fn) { \
        snprintf(failure, sizeof failure, "%s lacks %s", name, #fn); dlclose(library); library = NULL; return; \
    }
    ENTRY_POINTS(RESOLVE)
#undef RESOLVE
}

int bimt_opencl_available(void) {
    pthread_once(&once, load);
    return library != NULL;
}

const char *bimt_opencl_error(void) {
    pthread_once(&once, load);
    return library ? "" : failure;
}

// Forwarders. Without the library: platform queries report none; object creators return
// NULL with an error code; everything else reports CL_INVALID_PLATFORM.
#define READY() bimt_opencl_available()

cl_int clGetPlatformIDs(cl_uint n, cl_platform_id *platforms, cl_uint *count) {
    if (!READY()) { if (count) *count = 0; return CL_PLATFORM_NOT_FOUND_KHR; }
    return p_clGetPlatformIDs(n, platforms, count);
}
cl_int clGetPlatformInfo(cl_platform_id p, cl_platform_info i, size_t s, void *v, size_t *r) {
    return READY() ? p_clGetPlatformInfo(p, i, s, v, r) : CL_INVALID_PLATFORM;
}
cl_int clGetDeviceIDs(cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *c) {
    if (!READY()) { if (c) *c = 0; return CL_INVALID_PLATFORM; }
    return p_clGetDeviceIDs(p, t, n, d, c);
}
cl_int clGetDeviceInfo(cl_device_id d, cl_device_info i, size_t s, void *v, size_t *r) {
    return READY() ? p_clGetDeviceInfo(d, i, s, v, r) : CL_INVALID_DEVICE;
}
cl_context clCreateContext(const cl_context_properties *p, cl_uint n, const cl_device_id *d,
                           void (CL_CALLBACK *f)(const char *, const void *, size_t, void *), void *u, cl_int *e) {
    if (!READY()) { if (e) *e = CL_INVALID_PLATFORM; return NULL; }
    return p_clCreateContext(p, n, d, f, u, e);
}
cl_int clReleaseContext(cl_context c) { return READY() ? p_clReleaseContext(c) : CL_INVALID_CONTEXT; }
cl_command_queue clCreateCommandQueue(cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int *e) {
    if (!READY()) { if (e) *e = CL_INVALID_CONTEXT; return NULL; }
    return p_clCreateCommandQueue(c, d, p, e);
}
cl_int clReleaseCommandQueue(cl_command_queue q) {
    return READY() ? p_clReleaseCommandQueue(q) : CL_INVALID_COMMAND_QUEUE;
}
cl_int clFinish(cl_command_queue q) { return READY() ? p_clFinish(q) : CL_INVALID_COMMAND_QUEUE; }
cl_int clFlush(cl_command_queue q) { return READY() ? p_clFlush(q) : CL_INVALID_COMMAND_QUEUE; }
cl_int clGetEventInfo(cl_event e, cl_event_info i, size_t s, void *v, size_t *r) {
    return READY() ? p_clGetEventInfo(e, i, s, v, r) : CL_INVALID_EVENT;
}
cl_int clWaitForEvents(cl_uint n, const cl_event *e) { return READY() ? p_clWaitForEvents(n, e) : CL_INVALID_EVENT; }
cl_int clReleaseEvent(cl_event e) { return READY() ? p_clReleaseEvent(e) : CL_INVALID_EVENT; }
cl_mem clCreateBuffer(cl_context c, cl_mem_flags f, size_t s, void *h, cl_int *e) {
    if (!READY()) { if (e) *e = CL_INVALID_CONTEXT; return NULL; }
    return p_clCreateBuffer(c, f, s, h, e);
}
cl_int clReleaseMemObject(cl_mem m) { return READY() ? p_clReleaseMemObject(m) : CL_INVALID_MEM_OBJECT; }
cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, const void *p,
                            cl_uint n, const cl_event *w, cl_event *e) {
    return READY() ? p_clEnqueueWriteBuffer(q, m, b, o, s, p, n, w, e) : CL_INVALID_COMMAND_QUEUE;
}
cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, void *p,
                           cl_uint n, const cl_event *w, cl_event *e) {
    return READY() ? p_clEnqueueReadBuffer(q, m, b, o, s, p, n, w, e) : CL_INVALID_COMMAND_QUEUE;
}
cl_program clCreateProgramWithSource(cl_context c, cl_uint n, const char **s, const size_t *l, cl_int *e) {
    if (!READY()) { if (e) *e = CL_INVALID_CONTEXT; return NULL; }
    return p_clCreateProgramWithSource(c, n, s, l, e);
}
cl_program clCreateProgramWithBinary(cl_context c, cl_uint n, const cl_device_id *d, const size_t *l,
                                     const unsigned char **b, cl_int *s, cl_int *e) {
    if (!READY()) { if (e) *e = CL_INVALID_CONTEXT; return NULL; }
    return p_clCreateProgramWithBinary(c, n, d, l, b, s, e);
}
cl_int clBuildProgram(cl_program p, cl_uint n, const cl_device_id *d, const char *o,
                      void (CL_CALLBACK *f)(cl_program, void *), void *u) {
    return READY() ? p_clBuildProgram(p, n, d, o, f, u) : CL_INVALID_PROGRAM;
}
cl_int clGetKernelWorkGroupInfo(cl_kernel k, cl_device_id d, cl_kernel_work_group_info i, size_t s, void *v,
                                size_t *r) {
    return READY() ? p_clGetKernelWorkGroupInfo(k, d, i, s, v, r) : CL_INVALID_KERNEL;
}
cl_int clGetProgramInfo(cl_program p, cl_program_info i, size_t s, void *v, size_t *r) {
    return READY() ? p_clGetProgramInfo(p, i, s, v, r) : CL_INVALID_PROGRAM;
}
cl_int clGetProgramBuildInfo(cl_program p, cl_device_id d, cl_program_build_info i, size_t s, void *v, size_t *r) {
    return READY() ? p_clGetProgramBuildInfo(p, d, i, s, v, r) : CL_INVALID_PROGRAM;
}
cl_int clReleaseProgram(cl_program p) { return READY() ? p_clReleaseProgram(p) : CL_INVALID_PROGRAM; }
cl_kernel clCreateKernel(cl_program p, const char *n, cl_int *e) {
    if (!READY()) { if (e) *e = CL_INVALID_PROGRAM; return NULL; }
    return p_clCreateKernel(p, n, e);
}
cl_int clReleaseKernel(cl_kernel k) { return READY() ? p_clReleaseKernel(k) : CL_INVALID_KERNEL; }
cl_int clSetKernelArg(cl_kernel k, cl_uint i, size_t s, const void *v) {
    return READY() ? p_clSetKernelArg(k, i, s, v) : CL_INVALID_KERNEL;
}
cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint d, const size_t *o, const size_t *g,
                              const size_t *l, cl_uint n, const cl_event *w, cl_event *e) {
    return READY() ? p_clEnqueueNDRangeKernel(q, k, d, o, g, l, n, w, e) : CL_INVALID_COMMAND_QUEUE;
}
