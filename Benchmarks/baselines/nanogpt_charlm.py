"""An independent PyTorch baseline for `bimt train --preset charlm --lambda 0 --relocation off`,
written from nanoGPT's model and training loop rather than from bimt's model: its module layout
(token and position tables, pre-LN blocks of causal self-attention through
scaled_dot_product_attention and a 4x MLP, a final LayerNorm, a linear head), its initialization
(every Linear and Embedding weight N(0, 0.02), zero biases, the two residual projections of each
block N(0, 0.02 / sqrt(2 layers)), LayerNorm gains 1), its optimizer groups (weight decay on every
tensor of rank >= 2, embeddings included), its learning-rate function (linear warmup as
lr (it + 1) / (warmup + 1), then cosine to min_lr), torch.randint batch offsets, gradient
clipping by global norm, and its mean cross-entropy over every position.

Defaults are the recipe charlm uses (nanoGPT's CPU configuration): 4 layers, 4 heads, width 128,
context 64, batches of 12, 2000 steps, lr 1e-3 to 1e-4, 100 warmup steps, betas 0.9 / 0.99,
weight decay 0.1, clipping at 1, dropout 0; with biases, the tanh GELU and an untied head as bimt
builds its GPT. --no-bias, --exact-gelu and --tie give nanoGPT's own defaults instead.

Data: the text's sorted characters as the vocabulary, the first 90 % for training. The final
loss is over every non-overlapping window of the validation split (what bimt reports without
--eval-batches), printed as `final val loss over all N non-overlapping windows X`.

Usage: python3 Benchmarks/baselines/nanogpt_charlm.py TEXT [--seed 1] [--steps 2000] [--threads 2]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("text")
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--layers", type=int, default=4)
parser.add_argument("--heads", type=int, default=4)
parser.add_argument("--width", type=int, default=128)
parser.add_argument("--context", type=int, default=64)
parser.add_argument("--batch", type=int, default=12)
parser.add_argument("--no-bias", action="store_true", help="no biases in Linear and LayerNorm (nanoGPT's default)")
parser.add_argument("--exact-gelu", action="store_true", help="erf GELU (nanoGPT's nn.GELU) instead of the tanh form")
parser.add_argument("--tie", action="store_true", help="share the token table with the head (nanoGPT's default)")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
bias = not args.no_bias


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(args.width, 3 * args.width, bias=bias)
        self.c_proj = nn.Linear(args.width, args.width, bias=bias)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(args.width, dim=2)
        q, k, v = (z.view(b, t, args.heads, c // args.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(args.width, 4 * args.width, bias=bias)
        self.c_proj = nn.Linear(4 * args.width, args.width, bias=bias)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="none" if args.exact_gelu else "tanh"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(args.width, bias=bias)
        self.attn = Attention()
        self.ln_2 = nn.LayerNorm(args.width, bias=bias)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocabulary):
        super().__init__()
        self.wte = nn.Embedding(vocabulary, args.width)
        self.wpe = nn.Embedding(args.context, args.width)
        self.h = nn.ModuleList(Block() for _ in range(args.layers))
        self.ln_f = nn.LayerNorm(args.width, bias=bias)
        self.lm_head = nn.Linear(args.width, vocabulary, bias=bias and not args.tie)
        if args.tie:
            self.wte.weight = self.lm_head.weight
        self.apply(self.init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * args.layers))

    @staticmethod
    def init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


text = open(args.text, encoding="utf-8").read()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
cut = int(len(data) * 0.9)
train, val = data[:cut], data[cut:]
V, T = len(chars), args.context

model = GPT(V)
parameters = {n: p for n, p in model.named_parameters()}
optimizer = torch.optim.AdamW([{"params": [p for p in parameters.values() if p.dim() >= 2], "weight_decay": 0.1},
                               {"params": [p for p in parameters.values() if p.dim() < 2], "weight_decay": 0.0}],
                              lr=1e-3, betas=(0.9, 0.99))


def get_lr(it, warmup=100, lr=1e-3, min_lr=1e-4, decay_iters=args.steps):
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def get_batch():
    ix = torch.randint(len(train) - T, (args.batch,))
    return torch.stack([train[i:i + T] for i in ix]), torch.stack([train[i + 1:i + 1 + T] for i in ix])


start = time.perf_counter()
for it in range(args.steps):
    for group in optimizer.param_groups:
        group["lr"] = get_lr(it)
    x, y = get_batch()
    loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if (it + 1) % 500 == 0:
        print(f"step {it + 1}: train loss {loss.item():.4f}, {time.perf_counter() - start:.1f} s", flush=True)

windows = list(range(0, len(val) - T, T))
model.eval()
with torch.no_grad():
    total = 0.0
    for i in range(0, len(windows), 64):
        chunk = windows[i:i + 64]
        x = torch.stack([val[o:o + T] for o in chunk])
        y = torch.stack([val[o + 1:o + 1 + T] for o in chunk])
        total += F.cross_entropy(model(x).view(-1, V), y.view(-1), reduction="sum").item()
print(f"final val loss over all {len(windows)} non-overlapping windows {total / (len(windows) * T):.4f}")
