// activation.cl -- pointwise activations. Forward: y = f(x). Backward accumulates:
// dx += dy * f'(x) (x is the forward input). f and f' are common.cl's activation_value and
// activation_derivative.
// Global size: n.
//
//   relu(x) = max(x, 0)                      relu'(x) = x > 0
//   silu(x) = x * s(x), s = 1/(1+exp(-x))    silu'(x) = s(x) * (1 + x * (1 - s(x)))
//   gelu(x) = x/2 * (1 + tanh(u)),  u = sqrt(2/pi) * (x + 0.044715 x^3)   (tanh form)
//   gelu'(x) = (1 + t)/2 + x/2 * (1 - t^2) * sqrt(2/pi) * (1 + 3 * 0.044715 x^2), t = tanh(u)
//   tanh'(x) = 1 - tanh(x)^2

__kernel void relu_forward(const int n, __global const float* x, const int offX,
                           __global float* y, const int offY)
{
    const int i = get_global_id(0);
    if (i < n) y[offY + i] = activation_value(0, x[offX + i]);
}

__kernel void relu_backward(const int n, __global const float* x, const int offX,
                            __global const float* dy, const int offDY,
                            __global float* dx, const int offDX)
{
    const int i = get_global_id(0);
    if (i < n) dx[offDX + i] += dy[offDY + i] * activation_derivative(0, x[offX + i]);
}

__kernel void silu_forward(const int n, __global const float* x, const int offX,
                           __global float* y, const int offY)
{
    const int i = get_global_id(0);
    if (i < n) y[offY + i] = activation_value(1, x[offX + i]);
}

__kernel void silu_backward(const int n, __global const float* x, const int offX,
                            __global const float* dy, const int offDY,
                            __global float* dx, const int offDX)
{
    const int i = get_global_id(0);
    if (i < n) dx[offDX + i] += dy[offDY + i] * activation_derivative(1, x[offX + i]);
}

__kernel void gelu_forward(const int n, __global const float* x, const int offX,
                           __global float* y, const int offY)
{
    const int i = get_global_id(0);
    if (i < n) y[offY + i] = activation_value(2, x[offX + i]);
}

__kernel void gelu_backward(const int n, __global const float* x, const int offX,
                            __global const float* dy, const int offDY,
                            __global float* dx, const int offDX)
{
    const int i = get_global_id(0);
    if (i < n) dx[offDX + i] += dy[offDY + i] * activation_derivative(2, x[offX + i]);
}

__kernel void tanh_forward(const int n, __global const float* x, const int offX,
                           __global float* y, const int offY)
{
    const int i = get_global_id(0);
    if (i < n) y[offY + i] = activation_value(3, x[offX + i]);
}

__kernel void tanh_backward(const int n, __global const float* x, const int offX,
                            __global const float* dy, const int offDY,
                            __global float* dx, const int offDX)
{
    const int i = get_global_id(0);
    if (i < n) dx[offDX + i] += dy[offDY + i] * activation_derivative(3, x[offX + i]);
}
