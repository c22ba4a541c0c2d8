"""bimt's GPT as scripts/golden/gpt_golden.py defines it (the model the golden files check bimt's against), with
the attention computed by torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True), PyTorch's
fused attention and what nanoGPT calls, instead of the golden model's eager masked softmax (the [L, L] scores
and probabilities stored). Same parameters, same names, same function: scale 1/sqrt(head width), a causal mask,
no dropout in either (SDPA's dropout_p stays 0 in training and evaluation alike). bimt's attention is fused too,
so the baselines compare fused with fused.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "golden"))
from gpt_golden import GPT as GoldenGPT  # noqa: E402


class GPT(GoldenGPT):
    def forward(self, x):
        B, L = x.shape[0], x.shape[1]
        h = self.embed(x) + self.pos[:L]
        d = h.shape[-1]
        hd = d // self.heads
        for b in self.blocks:
            q, k, v = b.attn.qkv(b.ln1(h)).split(d, dim=-1)
            q, k, v = (t.view(B, L, self.heads, hd).transpose(1, 2) for t in (q, k, v))
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).reshape(B, L, d)
            h = h + b.attn.proj(y)
            h = h + b.mlp.proj(torch.nn.functional.gelu(b.mlp.fc(b.ln2(h)), approximate="tanh"))
        h = self.ln_f(h)
        if self.last:
            h = h[:, -1]
        return self.head(h)
