"""PyTorch baseline for `bimt bench train --preset gpt-bench`: the same GPT (4 layers, width
128, 4 heads, context 64, vocabulary 65, pre-LN, GELU MLP 4x), batch 32 of random tokens,
cross-entropy at every position, AdamW (lr 1e-3, weight decay 0.1), and the BIMT connection
cost on every matrix (mean reduction, wf 2, l0 0.5, line layouts, lambda 1e-4) added to the
loss. Prints the median seconds per step over --steps steps after a warm-up.
Attention is PyTorch's fused scaled_dot_product_attention (Benchmarks/baselines/gpt_sdpa.py), as bimt's is fused.
Warm-up as `bimt bench train`'s (Benchmarks/baselines/bimt_warmup.py): --warmup N untimed steps, or without it
until the step times settle, then one more; the count goes to stderr. Pass the --warmup given to bimt.
Usage: python3 Benchmarks/baselines/gpt_bench_torch.py [--threads 2] [--steps 20] [--warmup N] [--device cuda]
`--gpt-small` times gpt-small's model and recipe instead (6 layers, width 384, 6 heads, context
256, vocabulary 65; AdamW betas (0.9, 0.99), weight decay 0.1 on matrices only, clipping at
norm 1), at `--batch` sequences (default 16), without dropout.
`--precision bf16` runs the forward pass and the loss under `torch.autocast(dtype=torch.bfloat16)`
(PyTorch's mixed precision: fp32 weights, gradients and AdamW state; products in bf16), the
baseline for `bimt bench train --precision bf16`.
"""
import argparse, statistics, sys, time
import torch

from bimt_warmup import warm_up
from gpt_sdpa import GPT  # the model the golden files use, with fused attention

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default: until step times settle)")
parser.add_argument("--device", default="cpu", help="cpu or cuda")
parser.add_argument("--gpt-small", action="store_true")
parser.add_argument("--batch", type=int, default=None)
parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
# Overrides of gpt-small's model (scripts/gpu-check --rehearse times a small one).
parser.add_argument("--layers", type=int, default=6)
parser.add_argument("--width", type=int, default=384)
parser.add_argument("--heads", type=int, default=6)
parser.add_argument("--context", type=int, default=256)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.set_default_dtype(torch.float32)
torch.manual_seed(0)
if args.gpt_small:
    B, L, V = args.batch or 16, args.context, 65
    model = GPT(layers=args.layers, width=args.width, heads=args.heads, context=L, outputs=V,
                vocabulary=V).to(args.device)
    opt = torch.optim.AdamW([{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
                             {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
else:
    B, L, V = args.batch or 32, 64, 65
    model = GPT(layers=4, width=128, heads=4, context=L, outputs=V, vocabulary=V).to(args.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)


def line(n):
    return (torch.arange(n, dtype=torch.float32, device=args.device) + 0.5) / n


distances = {}
for name, p in model.named_parameters():
    if p.dim() == 2 and name != "pos":
        rows, cols = p.shape
        distances[name] = (line(rows)[:, None] - line(cols)[None, :]).abs() * 2 + 0.5
params = dict(model.named_parameters())
x = torch.randint(0, V, (B, L), device=args.device)
y = torch.randint(0, V, (B, L), device=args.device)


def step():
    """One training step; returns its seconds."""
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with torch.autocast(device_type=args.device.split(":")[0], dtype=torch.bfloat16,
                        enabled=args.precision == "bf16"):
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    cost = sum((params[n].abs() * d).mean() for n, d in distances.items())
    (loss + 1e-4 * cost).backward()
    if args.gpt_small:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if args.device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - start


warmup = warm_up(step, args.warmup)
print(f"{warmup} warm-up steps", file=sys.stderr)
times = [step() for _ in range(args.steps)]
t = statistics.median(times)
print(f"pytorch {torch.__version__} {args.device} {args.precision} threads {args.threads}: {t * 1e3:.2f} ms/step, {B * L / t:.0f} tokens/s")
