/* Ownership: scopes, keep, retain/release, no cycles, flat memory in a
 * training loop, NULL propagation through expressions. */
#include "test.h"

#include <sys/resource.h>

TEST(scope_frees_temporaries) {
    long t0 = cg_live_tensors(), s0 = cg_live_storages();
    cg_scope_begin();
    ASSERT_EQ(cg_scope_depth(), 2); /* the runner's scope + this one */
    cg_tensor *x = cg_ones(CG_SHAPE(4, 4), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mean(cg_mul(cg_exp(x), cg_transpose(x, 0, 1)));
    ASSERT_NOT_NULL(y);
    ASSERT_GT(cg_live_tensors(), t0);
    ASSERT_GT(cg_live_nodes(), 0);
    ASSERT_EQ(cg_scope_end(), 0);
    ASSERT_EQ(cg_live_tensors(), t0);
    ASSERT_EQ(cg_live_storages(), s0);
}

TEST(keep_moves_to_the_enclosing_scope) {
    long t0 = cg_live_tensors();
    cg_tensor *kept;
    cg_scope_begin();
    cg_scope_begin();
    kept = cg_keep(cg_add_scalar(cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD), 1));
    cg_scope_end();
    /* the kept result lives on; its graph keeps its leaf alive too */
    ASSERT_NEAR(cg_get(kept, (int64_t[]){2}), 2, 0);
    ASSERT_EQ(cg_backward(cg_sum(kept), NULL, false), 0);
    cg_scope_end();
    ASSERT_EQ(cg_live_tensors(), t0);
    ASSERT_EQ(cg_live_nodes(), 0);
}

TEST(keep_through_several_levels) {
    long t0 = cg_live_tensors();
    cg_tensor *t;
    CG_SCOPE {
        CG_SCOPE {
            CG_SCOPE { t = cg_keep(cg_ones(CG_SHAPE(2), 0)); }
            cg_keep(t);
        }
        ASSERT_NEAR(cg_item(cg_sum(t)), 2, 0);
    }
    ASSERT_EQ(cg_live_tensors(), t0);
    ASSERT_NULL(cg_keep(NULL));
}

TEST(retain_and_release) {
    long t0 = cg_live_tensors();
    cg_tensor *w;
    CG_SCOPE { w = cg_retain(cg_randn(CG_SHAPE(3, 3), CG_REQUIRES_GRAD)); }
    ASSERT_EQ(cg_live_tensors(), t0 + 1);
    CG_SCOPE { ASSERT_EQ(cg_backward(cg_sum(cg_mul(w, w)), NULL, false), 0); }
    ASSERT_NOT_NULL(cg_grad(w));
    ASSERT_EQ(cg_live_tensors(), t0 + 2); /* w and w.grad */
    cg_release(w);
    ASSERT_EQ(cg_live_tensors(), t0);
    cg_release(NULL);
}

TEST(no_cycle_between_tensor_and_node) {
    /* outputs saved for backward (exp, sqrt, tanh, sigmoid, relu, max) must
     * not keep themselves alive through their own grad_fn */
    long t0 = cg_live_tensors();
    CG_SCOPE {
        cg_tensor *x = cg_rand(CG_SHAPE(5), CG_REQUIRES_GRAD);
        cg_tensor *y = cg_max(cg_relu(cg_sigmoid(cg_tanh(cg_sqrt(cg_exp(x))))));
        ASSERT_NOT_NULL(y);
    }
    ASSERT_EQ(cg_live_tensors(), t0);
    ASSERT_EQ(cg_live_nodes(), 0);
}

TEST(scope_end_without_begin) {
    int depth = cg_scope_depth();
    for (int i = 0; i < depth; i++) cg_scope_end(); /* unwind to the root */
    ASSERT_ERROR(cg_scope_end(), "cg_scope_end() called without a matching cg_scope_begin()");
    for (int i = 0; i < depth; i++) cg_scope_begin();
    ASSERT_EQ(cg_scope_depth(), depth);
}

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

TEST(training_loop_memory_is_flat) {
    /* linear regression by SGD, one scope per step, 10,000 steps */
    cg_manual_seed(1);
    cg_tensor *w = cg_retain(cg_zeros(CG_SHAPE(8, 1), CG_REQUIRES_GRAD));
    cg_tensor *xs = cg_retain(cg_randn(CG_SHAPE(32, 8), 0));
    cg_tensor *true_w = cg_retain(cg_arange(1, 9, 1, 0));
    cg_tensor *ys = cg_retain(cg_matmul(xs, cg_view(true_w, CG_SHAPE(8, 1))));
    long tensors = -1, nodes = -1, storages = -1, rss_at_1000 = 0;
    double loss = 0;
    for (int step = 0; step < 10000; step++) {
        cg_scope_begin();
        cg_tensor *err = cg_sub(cg_matmul(xs, w), ys);
        cg_tensor *l = cg_mean(cg_mul(err, err));
        loss = cg_item(l);
        if (cg_backward(l, NULL, false) != 0) {
            cg_scope_end();
            ASSERT_NULL("backward failed");
        }
        CG_NO_GRAD { /* w -= 0.05 * w.grad, in place */
            float *wp = cg_data_ptr(w);
            const float *gp = cg_data_ptr(cg_grad(w));
            for (int i = 0; i < 8; i++) wp[i] -= 0.05f * gp[i];
        }
        cg_zero_grad(w);
        cg_scope_end();
        if (step == 100) {
            tensors = cg_live_tensors();
            nodes = cg_live_nodes();
            storages = cg_live_storages();
        } else if (step > 100) {
            if (cg_live_tensors() != tensors || cg_live_nodes() != nodes ||
                cg_live_storages() != storages) {
                fprintf(stderr, "  step %d: live counts changed\n", step);
                ASSERT(0);
            }
        }
        if (step == 1000) rss_at_1000 = max_rss_kb();
    }
    ASSERT_LT(loss, 1e-6);
    ASSERT_NEAR(cg_get(w, (int64_t[]){7, 0}), 8, 1e-3);
    ASSERT_LT(max_rss_kb() - rss_at_1000, 2048); /* peak memory did not grow */
    cg_release(w);
    cg_release(xs);
    cg_release(true_w);
    cg_release(ys);
}

TEST(null_propagates_without_overwriting_the_first_error) {
    cg_tensor *a = cg_ones(CG_SHAPE(2, 3), 0), *b = cg_ones(CG_SHAPE(2, 3), 0);
    cg_clear_error();
    cg_tensor *r = cg_mean(cg_exp(cg_add(cg_matmul(a, b), a)));
    ASSERT_NULL(r);
    ASSERT_STR_EQ(cg_last_error(), "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)");
    cg_clear_error();
    ASSERT_NULL(cg_last_error());
    /* earlier results are untouched */
    ASSERT_NEAR(cg_item(cg_sum(a)), 6, 0);
}

TEST(root_scope_without_scope_calls) {
    /* tensors made at the root scope live until cg_root_scope_drain (or exit) */
    CG_SCOPE {
        int depth = cg_scope_depth();
        ASSERT_GE(depth, 1);
    }
    ASSERT_GE(cg_scope_depth(), 1); /* the test runner's scope */
}

TEST_MAIN(scope_frees_temporaries, keep_moves_to_the_enclosing_scope, keep_through_several_levels,
          retain_and_release, no_cycle_between_tensor_and_node, scope_end_without_begin,
          training_loop_memory_is_flat, null_propagates_without_overwriting_the_first_error,
          root_scope_without_scope_calls)
