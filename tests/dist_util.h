/* Helpers of the distributed tests (static inline: a test uses some) (run under mpiexec, every rank
 * running every test): MPI started once, a small two-layer model, its batches. */
#ifndef CG_TEST_DIST_UTIL_H
#define CG_TEST_DIST_UTIL_H

#include "test.h"

#include <stdlib.h>

static void dist_finalize_(void) { cg_dist_finalize(); }

static inline void dist_setup(void) {
    static bool done;
    if (done) return;
    done = true;
    if (cg_dist_init(NULL, NULL) != 0) {
        fprintf(stderr, "cg_dist_init: %s\n", cg_last_error());
        exit(1);
    }
    atexit(dist_finalize_);
}

/* tanh MLP IN -> HID -> OUT and its parameters */
enum { IN = 6, HID = 24, OUT = 3 };
typedef struct {
    cg_params *p;
    cg_tensor *w1, *b1, *w2, *b2;
} mlp;

/* the same weights on every rank: drawn from seed (the ranks' own draws
 * differ on purpose so that cg_ddp_new's broadcast matters) */
static inline mlp mlp_new(cg_dtype dt, uint64_t seed, bool same) {
    cg_manual_seed(seed + (same ? 0 : (uint64_t)cg_dist_rank() * 1000));
    mlp m = {.p = cg_params_new()};
    m.w1 = cg_params_add(m.p, "fc1.weight", cg_mul_scalar_(cg_randn(CG_SHAPE(IN, HID), dt), 0.4));
    m.b1 = cg_params_add(m.p, "fc1.bias", cg_mul_scalar_(cg_randn(CG_SHAPE(HID), dt), 0.1));
    m.w2 = cg_params_add(m.p, "fc2.weight", cg_mul_scalar_(cg_randn(CG_SHAPE(HID, OUT), dt), 0.4));
    m.b2 = cg_params_add(m.p, "fc2.bias", cg_zeros(CG_SHAPE(OUT), dt));
    for (int i = 0; i < cg_params_count(m.p); i++)
        cg_requires_grad_(cg_params_get(m.p, i, NULL), true);
    return m;
}

static inline cg_tensor *mlp_loss(const mlp *m, cg_tensor *x, cg_tensor *y) {
    cg_tensor *h = cg_tanh(cg_add(cg_matmul(x, m->w1), m->b1));
    return cg_mse_loss(cg_add(cg_matmul(h, m->w2), m->b2), y, CG_REDUCTION_MEAN);
}

/* the global batch of step (rows world * per), the same on every rank */
static inline void global_batch(cg_dtype dt, int step, int64_t rows, cg_tensor **x, cg_tensor **y) {
    cg_manual_seed(777 + (uint64_t)step);
    *x = cg_randn(CG_SHAPE(rows, IN), dt);
    *y = cg_randn(CG_SHAPE(rows, OUT), dt);
}

/* this rank's rows of a global batch */
static inline cg_tensor *my_rows(cg_tensor *t, int64_t per) {
    return cg_contiguous(cg_narrow(t, 0, cg_dist_rank() * per, per));
}

/* whether t is bit-identical on every rank */
static inline bool same_on_all_ranks(cg_tensor *t) {
    cg_tensor *c = cg_clone(cg_detach(t));
    cg_dist_broadcast(c, 0);
    cg_tensor *eq = cg_scalar(cg_equal(c, cg_detach(t)) ? 1 : 0, CG_INT64);
    cg_dist_all_reduce(eq, CG_REDUCE_SUM);
    return cg_item(eq) == cg_dist_world_size();
}

/* the largest |a - b| over the parameters of two models */
static inline double max_param_diff(const mlp *a, const mlp *b, bool grads) {
    double m = 0;
    for (int i = 0; i < cg_params_count(a->p); i++) {
        cg_tensor *x = cg_params_get(a->p, i, NULL), *y = cg_params_get(b->p, i, NULL);
        if (grads) x = cg_grad(x), y = cg_grad(y);
        if (!x || !y) return x == y ? m : INFINITY;
        double d = cg_item(cg_max(cg_abs(cg_sub(cg_detach(x), cg_detach(y)))));
        if (!(d <= m)) m = d;
    }
    return m;
}

#endif
