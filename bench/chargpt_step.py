"""Benchmark: bench/chargpt_step.c in PyTorch — one training step of a
character-level GPT (nanoGPT's model: 4 layers, 4 heads, 128 wide, block 64,
vocabulary 65, tied head), batch 32, cross-entropy, AdamW; the peak resident
memory of the process; and the step's model FLOP rate as a fraction of
torch.mm's 2048^3 sgemm rate (FLOPs: gpt_bench.py).
Prints "torch chargpt_step: Y us/iter", "torch chargpt_peak_rss: K kB",
"torch gemm_fraction: F frac" and the two rates in GFLOP/s."""
from bench_util import bench_iters, bench_run, peak_rss_kb
from gpt_bench import gpt_flops, gpt_step, set_threads, sgemm_gflops


def main():
    set_threads()
    V, T, C, L, nh, B = 65, 64, 128, 4, 4, 32
    model, step = gpt_step(V, T, C, L, nh, B)
    us = bench_run(step, bench_iters(10))
    rss = peak_rss_kb()  # the step's, before the sgemm yardstick's 48 MB
    sgemm = sgemm_gflops(2048, 3)
    rate = gpt_flops(model, T, C, L, B) / us * 1e-3  # GFLOP/s
    print(f"torch chargpt_step: {us:.0f} us/iter", flush=True)
    print(f"torch chargpt_peak_rss: {rss} kB", flush=True)
    print(f"torch gemm_fraction: {rate / sgemm:.3f} frac", flush=True)
    print(f"torch chargpt_gflops: {rate:.1f} GFLOP/s", flush=True)
    print(f"torch sgemm_gflops: {sgemm:.1f} GFLOP/s", flush=True)


if __name__ == "__main__":
    main()
