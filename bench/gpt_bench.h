/* The GPT training step that bench/chargpt_step.c and bench/gpt_medium_step.c
 * time (their PyTorch twins share bench/gpt_bench.py): cg_gpt with tied
 * weights and no dropout, random tokens, cross-entropy, AdamW (lr 1e-3, betas
 * 0.9/0.99, eps 1e-8, weight decay 0.1); its model FLOPs; and the sgemm rate
 * of cg_mm, the yardstick of gemm_fraction. */
#ifndef CG_GPT_BENCH_H
#define CG_GPT_BENCH_H

#include "bench.h"

typedef struct {
    cg_gpt_config cfg;
    int64_t batch;
    cg_gpt *model;
    cg_optimizer *opt;
    cg_tensor *x, *y; /* (batch, block_size) int64 */
} gpt_bench;

static inline int gpt_bench_step(void *p) {
    gpt_bench *c = p;
    cg_scope_begin();
    cg_params_zero_grad(cg_gpt_params(c->model), true);
    cg_tensor *loss = cg_gpt_loss(c->model, c->x, c->y);
    int rc = loss && cg_backward(loss, NULL, false) == 0 ? cg_optimizer_step(c->opt) : -1;
    cg_scope_end();
    return rc;
}

/* A model of cfg's shape (dropout 0, tied weights) and a batch; 0 or -1. */
static inline int gpt_bench_init(gpt_bench *c, cg_gpt_config cfg, int64_t batch) {
    cg_manual_seed(0);
    cfg.dropout = 0.0, cfg.tie_weights = true;
    *c = (gpt_bench){.cfg = cfg, .batch = batch, .model = cg_gpt_new(&cfg)};
    if (!c->model) return -1;
    cg_params *p = cg_gpt_params(c->model);
    c->opt = cg_adamw(cg_params_count(p), cg_params_tensors(p), 1e-3, 0.9, 0.99, 1e-8, 0.1);
    int64_t shape[2] = {batch, cfg.block_size};
    c->x = cg_to(cg_mul_scalar(cg_rand(2, shape, 0), (double)cfg.vocab_size), CG_INT64);
    c->y = cg_to(cg_mul_scalar(cg_rand(2, shape, 0), (double)cfg.vocab_size), CG_INT64);
    return c->opt && c->x && c->y ? 0 : -1;
}

static inline void gpt_bench_free(gpt_bench *c) {
    cg_optimizer_free(c->opt);
    cg_gpt_free(c->model);
}

/* Model FLOPs of one training step (forward + backward), nanoGPT's
 * estimate_mfu count: 6 N per token for the matmuls with N parameters (all
 * but the position embedding; the tied head counts once), plus attention's
 * 12 L T^2 C per sequence (QK^T and AV: 2 L T^2 C forward, twice that
 * backward, times 2 flops per multiply-add); so
 *     FLOPs = 6 N B T + 12 L T^2 C B.                                      */
static inline double gpt_bench_flops(const gpt_bench *c) {
    cg_params *p = cg_gpt_params(c->model);
    double n = 0, T = (double)c->cfg.block_size, C = (double)c->cfg.n_embd;
    for (int i = 0; i < cg_params_count(p); i++) n += (double)cg_numel(cg_params_tensors(p)[i]);
    n -= T * C; /* the position embedding: a lookup, no matmul */
    return 6 * n * (double)c->batch * T +
           12 * (double)c->cfg.n_layer * T * T * C * (double)c->batch;
}

/* The best of reps timings of an (n,n) @ (n,n) float32 cg_mm (OpenBLAS's
 * sgemm where the build has it), in GFLOP/s (2 n^3 flops); negative on error. */
static inline double sgemm_gflops(int64_t n, int reps) {
    double best = INFINITY;
    cg_scope_begin();
    cg_tensor *a = cg_randn(CG_SHAPE(n, n), 0), *b = cg_randn(CG_SHAPE(n, n), 0);
    for (int r = 0; r < reps && a && b; r++) {
        cg_scope_begin();
        double t0 = now_s();
        cg_tensor *y = cg_mm(a, b);
        double t = now_s() - t0;
        cg_scope_end();
        if (!y) break;
        best = t < best ? t : best;
    }
    cg_scope_end();
    return isinf(best) ? -1 : 2.0 * (double)n * (double)n * (double)n / best * 1e-9;
}

#endif
