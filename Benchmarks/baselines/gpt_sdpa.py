"""bimt's GPT as scripts/golden/gpt_golden.py defines it (the model the golden files check bimt's against), with
its attention computed by torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True), PyTorch's
fused attention and what nanoGPT calls, instead of the golden model's eager masked softmax (GPT.attend is the
only method overridden). Same parameters, same names, same function: scale 1/sqrt(head width), a causal mask,
no dropout. bimt's attention is fused too, so the baselines compare fused with fused.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "golden"))
from gpt_golden import GPT as GoldenGPT  # noqa: E402


class GPT(GoldenGPT):
    @staticmethod
    def attend(q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
