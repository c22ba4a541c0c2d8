"""PyTorch baseline for `bimt bench train --preset convnet` and `--preset convnet-large`: the
same conv net (NHWC in bimt, NCHW here as PyTorch's default). convnet: conv 1->32 3x3 same
padding, ReLU, 2x2 max-pool, conv 32->64, ReLU, max-pool, dense 7*7*64 -> 10. convnet-large
(--preset convnet-large): blocks of 64, 128 and 256 channels, 28 -> 14 -> 7 -> 3 (the last
pool rounds down), dense 3*3*256 -> 10. Batch 100 images 28x28, cross-entropy, AdamW (lr 1e-3,
no weight decay), and a connection cost on every weight and bias (mean |w| * distance, lambda
0.2, fixed distances of the same shapes) added to the loss. Prints the median milliseconds per
step over --steps steps after a warm-up as `bimt bench train`'s (Benchmarks/baselines/bimt_warmup.py):
--warmup N untimed steps, or without it until the step times settle, then one more; the count goes to
stderr. Pass the --warmup given to bimt.
`--precision bf16` runs the forward pass and the loss under torch.autocast(dtype=torch.bfloat16) (fp32
weights, gradients and AdamW state), the baseline for `bimt bench train --precision bf16`.
Usage: python3 Benchmarks/baselines/convnet_torch.py [--preset convnet|convnet-large] [--threads 2] [--steps 50]
       [--warmup N] [--channels-last] [--precision fp32|bf16] [--device cpu|cuda]
"""
import argparse, statistics, sys, time
import torch

from bimt_warmup import warm_up

parser = argparse.ArgumentParser()
parser.add_argument("--preset", choices=["convnet", "convnet-large"], default="convnet")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default: until step times settle)")
parser.add_argument("--batch", type=int, default=100)
parser.add_argument("--channels-last", action="store_true", help="NHWC memory format (bimt's layout)")
parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
parser.add_argument("--device", default="cpu", help="cpu or cuda")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
channels = [32, 64] if args.preset == "convnet" else [64, 128, 256]
layers, previous, side = [], 1, 28
for c in channels:
    layers += [torch.nn.Conv2d(previous, c, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
    previous, side = c, side // 2
model = torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(side * side * previous, 10))
model = model.to(args.device)
x = torch.rand(args.batch, 1, 28, 28, device=args.device)
if args.channels_last:
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (args.batch,), device=args.device)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
distances = [torch.rand_like(p) * 2 + 0.5 for p in model.parameters()]


def step():
    """One training step; returns its seconds."""
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16, enabled=args.precision == "bf16"):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    cost = sum((p.abs() * d).mean() for p, d in zip(model.parameters(), distances))
    (loss + 0.2 * cost).backward()
    opt.step()
    if args.device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - start


warmup = warm_up(step, args.warmup)
print(f"{args.preset}: {warmup} warm-up steps", file=sys.stderr)
times = [step() for _ in range(args.steps)]
t = statistics.median(times)
layout = " channels_last" if args.channels_last else ""
print(f"{args.preset}: pytorch {torch.__version__} {args.device} {args.precision} threads {args.threads}{layout}: {t * 1e3:.2f} ms/step")
