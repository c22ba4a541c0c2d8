"""PyTorch baseline for `bimt bench train --preset gpt-bench`: the same GPT (4 layers, width
128, 4 heads, context 64, vocabulary 65, pre-LN, GELU MLP 4x), batch 32 of random tokens,
cross-entropy at every position, AdamW (lr 1e-3, weight decay 0.1), and the BIMT connection
cost on every matrix (mean reduction, wf 2, l0 0.5, line layouts, lambda 1e-4) added to the
loss. Prints the median seconds per step over --steps steps after a warm-up.
Usage: python3 Benchmarks/baselines/gpt_bench_torch.py [--threads 2] [--steps 20] [--device cuda]
`--gpt-small` times gpt-small's model and recipe instead (6 layers, width 384, 6 heads, context
256, vocabulary 65; AdamW betas (0.9, 0.99), weight decay 0.1 on matrices only, clipping at
norm 1), at `--batch` sequences (default 16), without dropout.
"""
import argparse, math, statistics, sys, time
import torch

sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "..", "scripts", "golden"))
from gpt_golden import GPT  # noqa: E402  (the model the golden files use)

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--warmup", type=int, default=5)
parser.add_argument("--device", default="cpu", help="cpu or cuda")
parser.add_argument("--gpt-small", action="store_true")
parser.add_argument("--batch", type=int, default=None)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.set_default_dtype(torch.float32)
torch.manual_seed(0)
if args.gpt_small:
    B, L, V = args.batch or 16, 256, 65
    model = GPT(layers=6, width=384, heads=6, context=L, outputs=V, vocabulary=V).to(args.device)
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
times = []
for step in range(args.warmup + args.steps):
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    cost = sum((params[n].abs() * d).mean() for n, d in distances.items())
    (loss + 1e-4 * cost).backward()
    if args.gpt_small:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if args.device != "cpu":
        torch.cuda.synchronize()
    if step >= args.warmup:
        times.append(time.perf_counter() - start)
t = statistics.median(times)
print(f"pytorch {torch.__version__} {args.device} threads {args.threads}: {t * 1e3:.2f} ms/step, {B * L / t:.0f} tokens/s")
