"""Benchmark: bench/gpt_medium_step.c in PyTorch — one training step of a
medium GPT (nanoGPT's model: 6 layers, 6 heads, 384 wide, block 128,
vocabulary 65, tied head), batch 8, cross-entropy, AdamW.
Prints "torch gpt_medium_step: Y us/iter" and its model FLOP rate."""
from bench_util import bench_iters, bench_run
from gpt_bench import gpt_flops, gpt_step, set_threads


def main():
    set_threads()
    V, T, C, L, nh, B = 65, 128, 384, 6, 6, 8
    model, step = gpt_step(V, T, C, L, nh, B)
    us = bench_run(step, bench_iters(2))
    print(f"torch gpt_medium_step: {us:.0f} us/iter", flush=True)
    print(f"torch gpt_medium_gflops: {gpt_flops(model, T, C, L, B) / us * 1e-3:.1f} GFLOP/s",
          flush=True)


if __name__ == "__main__":
    main()
