"""Benchmark: bench/gpt2_train_step.c in PyTorch — one fine-tuning step of
GPT-2 (transformers' math, bench/gpt2_bench.py; GPT2_BENCH_SIZE small by
default, tiny for a quick run), batch 4, block 256 (the position table's
rows), cross-entropy, AdamW (lr 1e-3, betas 0.9/0.99, eps 1e-8, weight decay
0.1), and the peak resident memory of the process.
Prints "torch gpt2_train_step: Y us/iter" and "torch gpt2_train_peak_rss: K kB"."""
import torch
import torch.nn.functional as F

from bench_util import bench_iters, bench_run, peak_rss_kb
from gpt2_bench import GPT2, config, set_threads

B, T = 4, 256


def main():
    set_threads()
    torch.manual_seed(0)
    L, nh, C, _ = config("small")
    model = GPT2(L, nh, C, T)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-8,
                            weight_decay=0.1)
    x, y = torch.randint(0, 50257, (B, T)), torch.randint(0, 50257, (B, T))

    def step():
        opt.zero_grad(set_to_none=True)
        logits, _ = model(x)
        F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1)).backward()
        opt.step()

    us = bench_run(step, bench_iters(2))
    print(f"torch gpt2_train_step: {us:.0f} us/iter", flush=True)
    print(f"torch gpt2_train_peak_rss: {peak_rss_kb()} kB", flush=True)


if __name__ == "__main__":
    main()
