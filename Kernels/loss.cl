// loss.cl -- task losses that leave their value on the device.
//
// mse_loss over n elements (PyTorch's mean MSE):
//     loss = sum_i (y_i - t_i)^2 / n          dy_i = 2 (y_i - t_i) / n
// Partial sums per work-group go to `partial` (reduce_sum in reduce.cl finishes).
// Global size: n rounded to LOSS_LOCAL.
//
// cross_entropy over a [rows, cols] logit matrix with float-encoded class labels (mean
// over rows, PyTorch's CrossEntropyLoss):
//     loss_r = logsumexp(z_r) - z_r[label_r]     dz_r = (softmax(z_r) - onehot(label_r)) / rows
//     correct_r = (first argmax of z_r == label_r)
// One work-item per row writes rowLoss[r] and correct[r]. Global size: rows.

#ifndef LOSS_LOCAL
#error "LOSS_LOCAL comes from the host (KernelConstants)"
#endif

__kernel __attribute__((reqd_work_group_size(LOSS_LOCAL, 1, 1)))
void mse_loss(const int n, __global const float* y, const int offY,
              __global const float* t, const int offT,
              __global float* dy, const int offDY,
              __global float* partial, const int offPartial)
{
    __local float sums[LOSS_LOCAL];
    const int lid = get_local_id(0);
    const int i = get_global_id(0);
    float value = 0.0f;
    if (i < n) {
        const float diff = y[offY + i] - t[offT + i];
        dy[offDY + i] = 2.0f * diff / (float)n;
        value = diff * diff / (float)n;
    }
    const float total = group_sum(sums, value, LOSS_LOCAL);
    if (lid == 0) partial[offPartial + get_group_id(0)] = total;
}

__kernel void cross_entropy(const int rows, const int cols,
                            __global const float* z, const int offZ,
                            __global const float* labels, const int offL,
                            __global float* dz, const int offDZ,
                            __global float* rowLoss, const int offRowLoss,
                            __global float* correct, const int offCorrect)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* zr = z + offZ + r * cols;
    __global float* dr = dz + offDZ + r * cols;
    const int label = (int)labels[offL + r];
    float largest = zr[0];
    int best = 0;
    for (int c = 1; c < cols; c++) {
        if (zr[c] > largest) { largest = zr[c]; best = c; }
    }
    float sum = 0.0f;
    for (int c = 0; c < cols; c++) sum += exp(zr[c] - largest);
    const float inverse = 1.0f / sum, scale = 1.0f / (float)rows;
    for (int c = 0; c < cols; c++) {
        const float p = exp(zr[c] - largest) * inverse;
        dr[c] = (p - (c == label ? 1.0f : 0.0f)) * scale;
    }
    rowLoss[offRowLoss + r] = log(sum) + largest - zr[label];
    correct[offCorrect + r] = best == label ? 1.0f : 0.0f;
}
