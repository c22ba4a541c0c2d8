"""Golden files for bimt's GPT (Sources/BIMT/Models/GPT.swift), computed in float64 by PyTorch.

Writes Tests/Golden/gpt-tokens.safetensors (a token model predicting every position,
cross-entropy) and Tests/Golden/gpt-real.safetensors (real-vector inputs, last position
only, MSE). Each file holds the initial parameters ("param.NAME", bimt's names and shapes),
the input, the targets, the model output, the loss, every gradient ("grad.NAME") and the
parameters after 3 AdamW steps ("step3.NAME"); its metadata holds the architecture and the
AdamW settings.

Tests/Golden/gpt-tokens-bf16.safetensors is the token model with bimt's bf16 products: every
linear map (forward, input gradient and weight gradient) rounds both operands to bfloat16
(from fp32, to nearest even) and accumulates exactly (float64 here); attention, LayerNorm,
GELU, the loss and AdamW stay unrounded, as in bimt. It also holds "autocast.*": the output,
loss and gradients of the same model and input under PyTorch's own
torch.autocast("cpu", dtype=torch.bfloat16) in fp32, which also rounds the products' results
and attention's operands to bf16.
Run: python3 scripts/golden/gpt_golden.py  (torch, safetensors)
"""
import json, math, os
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "Golden")


def bf16(t):
    """t rounded to the nearest bfloat16 (from fp32, ties to even), in t's dtype."""
    return t.to(torch.float32).to(torch.bfloat16).to(t.dtype)


class BF16Linear(torch.autograd.Function):
    """y = x W^T + b whose three products (y, dx, dW) read bf16-rounded operands."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return bf16(x) @ bf16(w).T + b

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dx = bf16(dy) @ bf16(w)
        dw = bf16(dy).reshape(-1, dy.shape[-1]).T @ bf16(x).reshape(-1, x.shape[-1])
        return dx, dw, dy.reshape(-1, dy.shape[-1]).sum(0)


class Linear(torch.nn.Linear):
    """nn.Linear, or with bf16 products when its model says so."""

    rounded = False

    def forward(self, x):
        return BF16Linear.apply(x, self.weight, self.bias) if Linear.rounded else super().forward(x)


class GPT(torch.nn.Module):
    def __init__(self, layers, width, heads, context, outputs, vocabulary=None, features=None, ratio=4, last=False):
        super().__init__()
        self.heads, self.last = heads, last
        self.embed = torch.nn.Embedding(vocabulary, width) if vocabulary else Linear(features, width)
        self.pos = torch.nn.Parameter(torch.zeros(context, width))
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            b = torch.nn.Module()
            b.ln1 = torch.nn.LayerNorm(width)
            b.attn = torch.nn.Module()
            b.attn.qkv = Linear(width, 3 * width)
            b.attn.proj = Linear(width, width)
            b.ln2 = torch.nn.LayerNorm(width)
            b.mlp = torch.nn.Module()
            b.mlp.fc = Linear(width, ratio * width)
            b.mlp.proj = Linear(ratio * width, width)
            self.blocks.append(b)
        self.ln_f = torch.nn.LayerNorm(width)
        self.head = Linear(width, outputs)

    @staticmethod
    def attend(q, k, v):
        """Causal attention of [B, heads, L, hd] queries, keys and values, scaled by 1/sqrt(hd)."""
        L, hd = q.shape[-2], q.shape[-1]
        mask = torch.tril(torch.ones(L, L, dtype=torch.bool, device=q.device))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        return torch.softmax(s.masked_fill(~mask, float("-inf")), dim=-1) @ v

    def forward(self, x):
        B, L = x.shape[0], x.shape[1]
        h = self.embed(x) + self.pos[:L]
        d = h.shape[-1]
        hd = d // self.heads
        for b in self.blocks:
            q, k, v = b.attn.qkv(b.ln1(h)).split(d, dim=-1)
            q, k, v = (t.view(B, L, self.heads, hd).transpose(1, 2) for t in (q, k, v))
            y = self.attend(q, k, v).transpose(1, 2).reshape(B, L, d)
            h = h + b.attn.proj(y)
            h = h + b.mlp.proj(torch.nn.functional.gelu(b.mlp.fc(b.ln2(h)), approximate="tanh"))
        h = self.ln_f(h)
        if self.last:
            h = h[:, -1]
        return self.head(h)


def make(name, config, x, targets, loss_kind, seed, rounded=False):
    torch.manual_seed(seed)
    model = GPT(**config)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("ln1.weight") or pname.endswith("ln2.weight") or pname == "ln_f.weight":
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    initial = {k: v.detach().clone() for k, v in model.named_parameters()}
    Linear.rounded = rounded

    def loss_of(out):
        if loss_kind == "ce":
            return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1))
        return torch.mean((out - targets) ** 2)

    out = model(x)
    loss = loss_of(out)
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in model.named_parameters()}
    adam = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    opt = torch.optim.AdamW(model.parameters(), **adam)
    opt.step()  # step 1 uses the gradient above
    for _ in range(2):
        opt.zero_grad()
        loss_of(model(x)).backward()
        opt.step()
    tensors = {"input": x.to(torch.float32) if x.dtype != torch.float64 else x,
               "targets": targets.to(torch.float64), "output": out.detach(), "loss": loss.detach().reshape(1)}
    for k in initial:
        tensors["param." + k] = initial[k]
        tensors["grad." + k] = grads[k]
        tensors["step3." + k] = dict(model.named_parameters())[k].detach()
    Linear.rounded = False
    if rounded:
        # PyTorch's autocast on the same model and input, in fp32 (its own rounding everywhere).
        reference = GPT(**config).float()
        reference.load_state_dict({k: v.float() for k, v in initial.items()})
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out32 = reference(x)
            loss32 = loss_of(out32.float())
        loss32.backward()
        tensors["autocast.output"] = out32.detach().float()
        tensors["autocast.loss"] = loss32.detach().reshape(1)
        for k, p in reference.named_parameters():
            tensors["autocast.grad." + k] = p.grad.detach()
    tensors = {k: v.to(torch.float32).contiguous() for k, v in tensors.items()}
    meta = {"config": json.dumps(config), "adamw": json.dumps({"lr": adam["lr"], "beta1": 0.9, "beta2": 0.999,
                                                               "eps": 1e-8, "weight_decay": adam["weight_decay"]}),
            "loss": loss_kind}
    save_file(tensors, os.path.join(OUT, name), metadata=meta)
    print(name, "loss", float(loss.detach()))


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    tokens = torch.randint(0, 7, (3, 5))
    make("gpt-tokens.safetensors", dict(layers=2, width=8, heads=2, context=6, outputs=7, vocabulary=7),
         tokens, torch.randint(0, 7, (3, 5)), "ce", seed=1)
    real = torch.randn(4, 3, 3)
    make("gpt-real.safetensors", dict(layers=1, width=6, heads=3, context=3, outputs=2, features=3, last=True),
         real, torch.randn(4, 2), "mse", seed=2)
    tokens = torch.randint(0, 11, (4, 8))
    make("gpt-tokens-bf16.safetensors", dict(layers=2, width=16, heads=2, context=8, outputs=11, vocabulary=11),
         tokens, torch.randint(0, 11, (4, 8)), "ce", seed=3, rounded=True)
