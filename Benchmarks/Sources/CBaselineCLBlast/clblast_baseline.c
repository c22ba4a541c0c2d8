#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include "CBaselineCLBlast.h"
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>

struct clblast_baseline {
    cl_context context;
    cl_command_queue queue;
    cl_mem a, b, c;
    size_t n;
};

clblast_baseline* clblast_baseline_create(int n) {
    cl_platform_id platform;
    cl_device_id device;
    cl_uint count = 0;
    if (clGetPlatformIDs(1, &platform, &count) != CL_SUCCESS || count == 0) return NULL;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, &count) != CL_SUCCESS || count == 0) return NULL;
    cl_int status;
    clblast_baseline* b = calloc(1, sizeof *b);
    b->n = (size_t)n;
    b->context = clCreateContext(NULL, 1, &device, NULL, NULL, &status);
    if (status != CL_SUCCESS) { free(b); return NULL; }
    b->queue = clCreateCommandQueue(b->context, device, 0, &status);
    float* host = malloc(b->n * b->n * sizeof(float));
    for (size_t i = 0; i < b->n * b->n; i++) host[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    b->a = clCreateBuffer(b->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, b->n * b->n * 4, host, &status);
    b->b = clCreateBuffer(b->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, b->n * b->n * 4, host, &status);
    b->c = clCreateBuffer(b->context, CL_MEM_READ_WRITE, b->n * b->n * 4, NULL, &status);
    free(host);
    if (status != CL_SUCCESS || clblast_baseline_run(b) != 0) {   // the first run builds CLBlast's kernels
        fprintf(stderr, "CLBlast baseline: setup failed\n");
        clblast_baseline_destroy(b);
        return NULL;
    }
    return b;
}

int clblast_baseline_run(clblast_baseline* b) {
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                       b->n, b->n, b->n, 1.0f, b->a, 0, b->n, b->b, 0, b->n, 0.0f, b->c, 0, b->n,
                                       &b->queue, NULL);
    if (s != CLBlastSuccess) return (int)s;
    return clFinish(b->queue) == CL_SUCCESS ? 0 : -1;
}

void clblast_baseline_destroy(clblast_baseline* b) {
    if (!b) return;
    if (b->a) clReleaseMemObject(b->a);
    if (b->b) clReleaseMemObject(b->b);
    if (b->c) clReleaseMemObject(b->c);
    if (b->queue) clReleaseCommandQueue(b->queue);
    if (b->context) clReleaseContext(b->context);
    free(b);
}
