/* Benchmark: one training step of the character-level GPT of the main job
 * at the size of the issue — 4 layers, 4 heads, 128 wide, block 64,
 * vocabulary 65, batch 32 — cross-entropy, AdamW; the peak resident memory
 * of the process; and the step's model FLOP rate as a fraction of this
 * machine's sgemm rate (a 2048^3 cg_mm timed here; FLOPs: gpt_bench.h).
 * bench/chargpt_step.py is the same step in PyTorch, over torch.mm's rate.
 * Prints "cgrad chargpt_step: X us/iter", "cgrad chargpt_peak_rss: K kB",
 * "cgrad gemm_fraction: F frac" and the two rates in GFLOP/s. */
#include "gpt_bench.h"

int main(void) {
    gpt_bench c;
    cg_gpt_config cfg = {.vocab_size = 65,
                         .block_size = 64,
                         .n_embd = 128,
                         .n_layer = 4,
                         .n_head = 4};
    if (gpt_bench_init(&c, cfg, 32) < 0) goto error;
    double us = bench_run(gpt_bench_step, &c, bench_iters(10));
    long rss = peak_rss_kb(); /* the step's, before the sgemm yardstick's 48 MB */
    double sgemm = sgemm_gflops(2048, 3);
    if (us < 0 || sgemm < 0) goto error;
    double step = gpt_bench_flops(&c) / us * 1e-3; /* GFLOP/s */
    printf("cgrad chargpt_step: %.0f us/iter\n", us);
    printf("cgrad chargpt_peak_rss: %ld kB\n", rss);
    printf("cgrad gemm_fraction: %.3f frac\n", step / sgemm);
    printf("cgrad chargpt_gflops: %.1f GFLOP/s\n", step);
    printf("cgrad sgemm_gflops: %.1f GFLOP/s\n", sgemm);
    gpt_bench_free(&c);
    return 0;
error:
    fprintf(stderr, "chargpt_step: %s\n", cg_last_error() ? cg_last_error() : "error");
    return 1;
}
