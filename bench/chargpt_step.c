/* Benchmark: one training step of the character-level GPT of the main job
 * at the size of the issue — 4 layers, 4 heads, 128 wide, block 64,
 * vocabulary 65, batch 32 — cross-entropy, AdamW; and the peak resident
 * memory of the process. bench/chargpt_step.py is the same step in PyTorch.
 * Prints "cgrad chargpt_step: X us/iter" and "cgrad chargpt_peak_rss: K kB". */
#include "bench.h"

typedef struct {
    cg_gpt *model;
    cg_optimizer *opt;
    cg_tensor *x, *y; /* (32,64) int64 */
} ctx_t;

static int gpt_step(void *p) {
    ctx_t *c = p;
    cg_scope_begin();
    cg_params_zero_grad(cg_gpt_params(c->model), true);
    cg_tensor *loss = NULL;
    cg_gpt_forward(c->model, c->x, c->y, &loss);
    int rc = loss && cg_backward(loss, NULL, false) == 0 ? cg_optimizer_step(c->opt) : -1;
    cg_scope_end();
    return rc;
}

int main(void) {
    cg_manual_seed(0);
    cg_gpt_config cfg = {.vocab_size = 65,
                         .block_size = 64,
                         .n_embd = 128,
                         .n_layer = 4,
                         .n_head = 4,
                         .dropout = 0.0,
                         .tie_weights = true};
    ctx_t c = {.model = cg_gpt_new(&cfg)};
    if (!c.model) goto error;
    cg_params *p = cg_gpt_params(c.model);
    c.opt = cg_adamw(cg_params_count(p), cg_params_tensors(p), 1e-3, 0.9, 0.99, 1e-8, 0.1);
    c.x = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(32, 64), 0), 65), CG_INT64);
    c.y = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(32, 64), 0), 65), CG_INT64);
    if (!c.opt || !c.x || !c.y) goto error;
    double us = bench_run(gpt_step, &c, bench_iters(50));
    if (us < 0) goto error;
    printf("cgrad chargpt_step: %.0f us/iter\n", us);
    printf("cgrad chargpt_peak_rss: %ld kB\n", peak_rss_kb());
    cg_optimizer_free(c.opt);
    cg_gpt_free(c.model);
    return 0;
error:
    fprintf(stderr, "chargpt_step: %s\n", cg_last_error() ? cg_last_error() : "error");
    return 1;
}
