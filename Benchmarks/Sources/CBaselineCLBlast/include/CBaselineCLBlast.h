// CLBlast's SGEMM (Debian libclblast-dev) as a baseline inside the benchmark suite: square
// row-major C = A * B on the first OpenCL device, launch + clFinish per run.
#ifndef CBASELINE_CLBLAST_H
#define CBASELINE_CLBLAST_H

typedef struct clblast_baseline clblast_baseline;

/// Context, queue and n x n operands on OpenCL platform 0, device 0; NULL (with a message
/// on stderr) when there is no device or an allocation fails.
clblast_baseline* clblast_baseline_create(int n);
/// One SGEMM and clFinish; 0 on success.
int clblast_baseline_run(clblast_baseline* baseline);
void clblast_baseline_destroy(clblast_baseline* baseline);

#endif
