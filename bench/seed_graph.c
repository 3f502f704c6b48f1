/* Benchmark: the seed graph, forward and backward, one iteration at a time.
 *
 *     x = ones(2, 2, requires_grad)         (made once)
 *     per iteration, inside cg_scope_begin() / cg_scope_end():
 *         y = x + 2;  z = y * y * 3;  out = z.mean();  out.backward()
 *         x.grad = None                     (cg_clear_grad)
 *
 * bench/seed_graph.py times the same loop in PyTorch; bench/run.sh runs both
 * and prints the ratio.
 *
 * Timing (same in the .py file): a warm-up of one round, then ROUNDS rounds of
 * BATCHES batches; each batch's time per iteration is measured with
 * clock_gettime(CLOCK_MONOTONIC); a round's result is the median of its
 * batches, and the reported time is the best round.  The total number of
 * timed iterations is BENCH_ITERS (default 200000; the .py twin defaults to
 * 20000, as each of its iterations takes much longer).
 *
 * Prints: "cgrad seed_graph: X us/iter".
 */
#include "bench.h"

/* ---------------------------------------------------------- the graph */

static int seed_step(void *ctx) {
    cg_tensor *x = ctx;
    cg_scope_begin();
    cg_tensor *y = cg_add_scalar(x, 2);
    cg_tensor *z = cg_mul_scalar(cg_mul(y, y), 3);
    cg_tensor *out = cg_mean(z);
    int rc = out ? cg_backward(out, NULL, false) : -1;
    cg_scope_end();
    cg_clear_grad(x);
    return rc < 0 ? -1 : 0;
}

int main(void) {
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    if (!x) goto error;

    /* Check the result once before timing: d(out)/dx = 4.5 everywhere. */
    cg_scope_begin();
    cg_tensor *y = cg_add_scalar(x, 2);
    cg_tensor *out = cg_mean(cg_mul_scalar(cg_mul(y, y), 3));
    if (!out || cg_backward(out, NULL, false) < 0) goto error;
    double o = cg_item(out), g = cg_item(cg_sum(cg_grad(x)));
    cg_scope_end();
    cg_clear_grad(x);
    if (o != 27.0 || g != 18.0) {
        fprintf(stderr, "seed_graph: wrong result: out=%g, sum(x.grad)=%g\n", o, g);
        return 1;
    }

    double us = bench_run(seed_step, x, bench_iters(200000));
    if (us < 0) goto error;
    printf("cgrad seed_graph: %.3f us/iter\n", us);
    return 0;

error:
    fprintf(stderr, "seed_graph: %s\n", cg_last_error() ? cg_last_error() : "error");
    return 1;
}
