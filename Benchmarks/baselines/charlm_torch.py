"""PyTorch baseline for `bimt train --preset charlm` with BIMT off (`--lambda 0 --relocation off`):
the same model and recipe on the same text, to compare validation losses.

Model: bimt's GPT (scripts/golden/gpt_golden.py: 4 layers, width 128, 4 heads, context 64,
pre-LN, GELU MLP 4x, untied head, no dropout, as bimt's charlm), with PyTorch's fused
scaled_dot_product_attention (Benchmarks/baselines/gpt_sdpa.py: the same function, dropout 0 as
before), initialized as bimt initializes it (nanoGPT's scheme: normal(0, 0.02), residual
projections scaled by 1/sqrt(2 layers), zero biases, unit gains).
Data: the text's sorted characters as the vocabulary, the first 90 % for training; batches of
12 windows at uniformly random offsets. Recipe (nanoGPT's CPU configuration): 2000 steps,
AdamW (betas 0.9, 0.99; weight decay 0.1 on tensors of rank >= 2 only), learning rate 1e-3
with 100 steps of linear warmup then cosine decay to 1e-4 at step 2000, gradient clipping at
norm 1. Evaluation: the mean loss over 20 batches of 12 validation windows at fixed seeded
offsets, every 250 steps and at the end. No warm-up steps: this is a quality baseline for
`bimt train`, which takes none either (an untimed step would be an extra optimizer step); the
seconds it prints are the time since the first step.

Usage: python3 Benchmarks/baselines/charlm_torch.py TEXT [--steps 2000] [--threads 2] [--seed 1]
"""
import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_sdpa import GPT  # noqa: E402  (gpt_golden's GPT with fused attention)

parser = argparse.ArgumentParser()
parser.add_argument("text")
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

text = open(args.text, encoding="utf-8").read()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
cut = int(len(ids) * 0.9)
train, val = ids[:cut], ids[cut:]
V, T, B, layers = len(chars), 64, 12, 4

model = GPT(layers=layers, width=128, heads=4, context=T, outputs=V, vocabulary=V)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_f.weight":
            p.fill_(1)
        elif p.dim() == 1:
            p.zero_()
        elif name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
            p.normal_(0, 0.02 / math.sqrt(2 * layers))
        else:
            p.normal_(0, 0.02)

decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=1e-3, betas=(0.9, 0.99))


def learning_rate(step, warmup=100, peak=1e-3, minimum=1e-4, end=args.steps):
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    if step > end:
        return minimum
    ratio = (step - warmup) / (end - warmup)
    return minimum + 0.5 * (1 + math.cos(math.pi * ratio)) * (peak - minimum)


def batch(data, offsets):
    x = torch.stack([data[o:o + T] for o in offsets])
    y = torch.stack([data[o + 1:o + 1 + T] for o in offsets])
    return x, y


generator = torch.Generator().manual_seed(args.seed)
eval_offsets = torch.randint(len(val) - T, (20, B), generator=torch.Generator().manual_seed(args.seed + 7))


def evaluate():
    model.eval()
    with torch.no_grad():
        losses = [torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1)).item()
                  for x, y in (batch(val, offsets.tolist()) for offsets in eval_offsets)]
    model.train()
    return sum(losses) / len(losses)


start = time.perf_counter()
for step in range(args.steps):
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(step)
    x, y = batch(train, torch.randint(len(train) - T, (B,), generator=generator).tolist())
    loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if (step + 1) % 250 == 0 or step + 1 == args.steps:
        print(f"step {step + 1}: train loss {loss.item():.4f}, val loss {evaluate():.4f}, {time.perf_counter() - start:.1f} s", flush=True)
print(f"final val loss {evaluate():.4f} (20 batches at seeded offsets)")
# The whole validation split as non-overlapping windows (what bimt evaluates without --eval-batches).
whole = list(range(0, len(val) - T, T))
model.eval()
with torch.no_grad():
    total = sum(torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), reduction="sum").item()
                for x, y in (batch(val, whole[i:i + 64]) for i in range(0, len(whole), 64)))
print(f"final val loss over all {len(whole)} non-overlapping windows {total / (len(whole) * T):.4f}")
