"""Benchmark: bench/chargpt_step.c in PyTorch — one training step of a
character-level GPT (nanoGPT's model: 4 layers, 4 heads, 128 wide, block 64,
vocabulary 65, tied head), batch 32, cross-entropy, AdamW; and the peak
resident memory of the process.
Prints "torch chargpt_step: Y us/iter" and "torch chargpt_peak_rss: K kB"."""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench_util import bench_iters, bench_run, peak_rss_kb


class Block(nn.Module):
    def __init__(self, C, nh, T):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)
        self.nh = nh
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf")), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, V=65, T=64, C=128, L=4, nh=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList([Block(C, nh, T) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, V, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    x = torch.randint(0, 65, (32, 64))
    y = torch.randint(0, 65, (32, 64))

    def step():
        opt.zero_grad(set_to_none=True)
        model(x, y).backward()
        opt.step()

    us = bench_run(step, bench_iters(50))
    print(f"torch chargpt_step: {us:.0f} us/iter", flush=True)
    print(f"torch chargpt_peak_rss: {peak_rss_kb()} kB", flush=True)


if __name__ == "__main__":
    main()
