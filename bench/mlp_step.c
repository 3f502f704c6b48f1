/* Benchmark: one training step of an MLP 784-256-256-10 (ReLU), batch 64,
 * cross-entropy loss, Adam — forward, backward and the update.
 * bench/mlp_step.py is the same step in PyTorch.
 * Prints "cgrad mlp_step: X us/iter". */
#include "bench.h"

typedef struct {
    cg_params *params;
    cg_linear_layer fc[3];
    cg_optimizer *opt;
    cg_tensor *x, *y; /* (64,784) float32, (64) int64 */
} mlp;

static int mlp_step(void *ctx) {
    mlp *m = ctx;
    cg_scope_begin();
    cg_params_zero_grad(m->params, true);
    cg_tensor *h = cg_relu(cg_linear_forward(&m->fc[0], m->x));
    h = cg_relu(cg_linear_forward(&m->fc[1], h));
    cg_tensor *loss = cg_cross_entropy(cg_linear_forward(&m->fc[2], h), m->y, NULL, -100,
                                       CG_REDUCTION_MEAN, 0.0);
    int rc = loss && cg_backward(loss, NULL, false) == 0 ? cg_optimizer_step(m->opt) : -1;
    cg_scope_end();
    return rc;
}

int main(void) {
    cg_manual_seed(0);
    mlp m = {.params = cg_params_new()};
    const int64_t sizes[4] = {784, 256, 256, 10};
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "fc%d", i);
        if (cg_linear_init(&m.fc[i], m.params, name, sizes[i], sizes[i + 1], true) != 0) goto error;
    }
    m.x = cg_randn(CG_SHAPE(64, 784), 0);
    m.y = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(64), 0), 10), CG_INT64);
    m.opt = cg_adam(cg_params_count(m.params), cg_params_tensors(m.params), 1e-3, 0.9, 0.999, 1e-8,
                    0);
    if (!m.x || !m.y || !m.opt) goto error;
    double us = bench_run(mlp_step, &m, bench_iters(500));
    if (us < 0) goto error;
    printf("cgrad mlp_step: %.1f us/iter\n", us);
    cg_optimizer_free(m.opt);
    cg_params_free(m.params);
    return 0;
error:
    fprintf(stderr, "mlp_step: %s\n", cg_last_error() ? cg_last_error() : "error");
    return 1;
}
