// Baseline for `bimt bench gemm --device opencl`: CLBlast's SGEMM (Debian libclblast-dev)
// on the same OpenCL device, timed the same way (runs of launch + clFinish), row-major
// C = A * B. Warm-up as bimt's (timing.h): one untimed run (kernel compilation), then runs
// until the timings settle (windows of 3 until a window's median is within 5 % of the
// previous one and 0.25 s have passed, at most 20 s); then the median of R runs. The
// warm-up runs per size go to stderr.
//
// Build: cc -O2 -o clblast_sgemm clblast_sgemm.c $(pkg-config --cflags --libs clblast OpenCL)
// Run:   ./clblast_sgemm [platform] [device] [repeats] N...
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include "timing.h"

#define CHECK(call) do { cl_int s_ = (call); if (s_ != CL_SUCCESS) { \
    fprintf(stderr, "%s failed: %d\n", #call, (int)s_); exit(1); } } while (0)

struct product {
    size_t n;
    cl_mem a, b, c;
    cl_command_queue queue;
};

static double timed(void* context) {
    struct product* p = context;
    double start = now();
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                       p->n, p->n, p->n, 1.0f, p->a, 0, p->n, p->b, 0, p->n, 0.0f, p->c, 0, p->n,
                                       &p->queue, NULL);
    if (s != CLBlastSuccess) { fprintf(stderr, "CLBlastSgemm failed: %d\n", (int)s); exit(1); }
    CHECK(clFinish(p->queue));
    return now() - start;
}

int main(int argc, char** argv) {
    int platformIndex = argc > 1 ? atoi(argv[1]) : 0;
    int deviceIndex = argc > 2 ? atoi(argv[2]) : 0;
    int repeats = argc > 3 ? atoi(argv[3]) : 10;
    if (repeats < 1) { fprintf(stderr, "repeats must be >= 1\n"); return 1; }
    cl_platform_id platforms[16];
    cl_uint platformCount = 0;
    CHECK(clGetPlatformIDs(16, platforms, &platformCount));
    if (platformIndex >= (int)platformCount) { fprintf(stderr, "no platform %d\n", platformIndex); return 1; }
    cl_device_id devices[16];
    cl_uint deviceCount = 0;
    CHECK(clGetDeviceIDs(platforms[platformIndex], CL_DEVICE_TYPE_ALL, 16, devices, &deviceCount));
    if (deviceIndex >= (int)deviceCount) { fprintf(stderr, "no device %d\n", deviceIndex); return 1; }
    cl_device_id device = devices[deviceIndex];
    char name[256];
    CHECK(clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL));
    cl_int status;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &status); CHECK(status);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &status); CHECK(status);
    printf("{\"device\": \"%s\", \"library\": \"CLBlast\", \"results\": [", name);
    for (int arg = 4; arg < argc; arg++) {
        size_t n = (size_t)atoi(argv[arg]);
        float* host = malloc(n * n * sizeof(float));
        for (size_t i = 0; i < n * n; i++) host[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
        cl_mem a = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * n * 4, host, &status);
        CHECK(status);
        cl_mem b = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * n * 4, host, &status);
        CHECK(status);
        cl_mem c = clCreateBuffer(context, CL_MEM_READ_WRITE, n * n * 4, NULL, &status); CHECK(status);
        double* times = malloc(sizeof(double) * repeats);
        struct product p = {n, a, b, c, queue};
        timed(&p);   // kernel compilation (bimt's first run builds its kernel too)
        int warmup = 1 + settle(timed, &p);
        for (int r = 0; r < repeats; r++) times[r] = timed(&p);
        double seconds = median(times, repeats);
        fprintf(stderr, "n %zu: %d warm-up runs\n", n, warmup);
        printf("%s{\"n\": %zu, \"seconds\": %.6f, \"gflops\": %.2f}", arg > 4 ? ", " : "",
               n, seconds, 2.0 * n * n * n / seconds / 1e9);
        fflush(stdout);
        clReleaseMemObject(a); clReleaseMemObject(b); clReleaseMemObject(c);
        free(host); free(times);
    }
    printf("]}\n");
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return 0;
}
