/* Benchmark: one fine-tuning step of GPT-2 — batch 4, block 256,
 * cross-entropy, AdamW (gpt_bench.h's step) — and the peak resident memory
 * of the process, at GPT-2 small's size by default (12 layers, 768 wide,
 * 124M parameters: seconds a step; GPT2_BENCH_SIZE=tiny for a quick run).
 * The position table has the block's 256 rows. bench/gpt2_train_step.py is
 * the same step in PyTorch.
 * Prints "cgrad gpt2_train_step: X us/iter" and "cgrad gpt2_train_peak_rss: K kB". */
#include "gpt2_bench.h"
#include "gpt_bench.h"

int main(void) {
    cg_gpt_config cfg;
    if (gpt2_bench_config("small", &cfg) < 0) return 1;
    cfg.block_size = 256;
    gpt_bench c;
    if (gpt_bench_init(&c, cfg, 4) < 0) goto error;
    double us = bench_run(gpt_bench_step, &c, bench_iters(2));
    if (us < 0) goto error;
    printf("cgrad gpt2_train_step: %.0f us/iter\n", us);
    printf("cgrad gpt2_train_peak_rss: %ld kB\n", peak_rss_kb());
    gpt_bench_free(&c);
    return 0;
error:
    fprintf(stderr, "gpt2_train_step: %s\n", cg_last_error() ? cg_last_error() : "error");
    return 1;
}
