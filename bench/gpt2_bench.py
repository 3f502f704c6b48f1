"""The GPT-2 that bench/gpt2_generate.py and bench/gpt2_train_step.py time,
the twin of bench/gpt2_bench.h: transformers' GPT-2 math written with torch
(Debian has no transformers) — Conv1D weights (in, out), gelu_new, causal
attention, LayerNorm eps 1e-5, tied head, vocabulary 50257 — with random
weights, at the size GPT2_BENCH_SIZE names ("small": 12 layers, 12 heads, 768
wide, 1024 positions; "tiny": 4 layers, 4 heads, 256 wide, 256 positions).
forward() takes and returns the past keys and values, as GPT2LMHeadModel's
use_cache does, for generation."""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {"small": (12, 12, 768, 1024), "tiny": (4, 4, 256, 256)}


def config(default):
    size = os.environ.get("GPT2_BENCH_SIZE") or default
    if size not in SIZES:
        sys.exit("GPT2_BENCH_SIZE must be small or tiny, not %s" % size)
    return SIZES[size]


def set_threads():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))


class Conv1D(nn.Module):
    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        out = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return out.view(x.size()[:-1] + (self.weight.size(-1),))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Block(nn.Module):
    def __init__(self, C, nh, P):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C, eps=1e-5), nn.LayerNorm(C, eps=1e-5)
        self.c_attn, self.c_proj = Conv1D(3 * C, C), Conv1D(C, C)
        self.c_fc, self.mlp_proj = Conv1D(4 * C, C), Conv1D(C, 4 * C)
        self.nh = nh
        self.register_buffer("bias", torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P),
                             persistent=False)

    def attn(self, x, past):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).permute(0, 2, 1, 3) for t in (q, k, v))
        if past is not None:
            k, v = torch.cat((past[0], k), dim=-2), torch.cat((past[1], v), dim=-2)
        S = k.size(-2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(v.size(-1))
        mask = self.bias[:, :, S - T:S, :S]
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        y = torch.matmul(torch.softmax(w, dim=-1), v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
        return self.c_proj(y), (k, v)

    def forward(self, x, past):
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.mlp_proj(gelu_new(self.c_fc(self.ln_2(x)))), present


class GPT2(nn.Module):
    def __init__(self, L, nh, C, P, V=50257):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(P, C)
        self.h = nn.ModuleList([Block(C, nh, P) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C, eps=1e-5)

    def forward(self, idx, past=None):
        """logits (B, T, V) and the keys and values of every layer"""
        T, start = idx.size(1), 0 if past is None else past[0][0].size(-2)
        x = self.wte(idx) + self.wpe(torch.arange(start, start + T))
        presents = []
        for i, b in enumerate(self.h):
            x, p = b(x, None if past is None else past[i])
            presents.append(p)
        return F.linear(self.ln_f(x), self.wte.weight), presents


@torch.inference_mode()
def generate_greedy(model, idx, n):
    """idx (B, T) followed by n greedy tokens, each step on the cache"""
    logits, past = model(idx)
    out = [idx]
    for i in range(n):
        nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)
        out.append(nxt)
        if i + 1 < n:
            logits, past = model(nxt, past)
    return torch.cat(out, dim=1)
