"""Benchmark: bench/gpt2_generate.c in PyTorch — greedy generation with the
past keys and values (GPT-2 small's size by default; GPT2_BENCH_SIZE=tiny for
a smaller one), batch 1, an 8-token prompt, then 32 new tokens.
Prints "torch gpt2_generate: Y us/token" and the tokens per second."""
import torch

from bench_util import bench_iters, bench_run
from gpt2_bench import GPT2, config, generate_greedy, set_threads

PROMPT, NEW = 8, 32


def main():
    set_threads()
    torch.manual_seed(0)
    model = GPT2(*config("small")).eval()
    idx = torch.randint(0, 50257, (1, PROMPT))
    us = bench_run(lambda: generate_greedy(model, idx, NEW), bench_iters(3))
    print(f"torch gpt2_generate: {us / NEW:.0f} us/token", flush=True)
    print(f"torch gpt2_generate_rate: {NEW / us * 1e6:.1f} tok/s", flush=True)


if __name__ == "__main__":
    main()
