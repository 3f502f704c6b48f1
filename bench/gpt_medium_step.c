/* Benchmark: one training step of a medium GPT — 6 layers, 6 heads, 384
 * wide, block 128, vocabulary 65, batch 8 (nanoGPT's shakespeare_char shape,
 * smaller batch) — cross-entropy, AdamW (gpt_bench.h).
 * bench/gpt_medium_step.py is the same step in PyTorch.
 * Prints "cgrad gpt_medium_step: X us/iter" and its model FLOP rate. */
#include "gpt_bench.h"

int main(void) {
    gpt_bench c;
    cg_gpt_config cfg = {.vocab_size = 65,
                         .block_size = 128,
                         .n_embd = 384,
                         .n_layer = 6,
                         .n_head = 6};
    if (gpt_bench_init(&c, cfg, 8) < 0) goto error;
    double us = bench_run(gpt_bench_step, &c, bench_iters(2));
    if (us < 0) goto error;
    printf("cgrad gpt_medium_step: %.0f us/iter\n", us);
    printf("cgrad gpt_medium_gflops: %.1f GFLOP/s\n", gpt_bench_flops(&c) / us * 1e-3);
    gpt_bench_free(&c);
    return 0;
error:
    fprintf(stderr, "gpt_medium_step: %s\n", cg_last_error() ? cg_last_error() : "error");
    return 1;
}
