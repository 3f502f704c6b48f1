/* Autograd semantics: graph recording, backward, accumulation, retain_graph,
 * grad mode, detach, saved-tensor checks, and deep graphs. Expected values
 * and messages come from PyTorch 1.13 (the Python expression is noted). */
#include "test.h"

#include <pthread.h>

static const char *SECOND_BACKWARD =
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.";

static void assert_all(const cg_tensor *t, double v, int *failed) {
    for (int64_t i = 0; i < cg_numel(t); i++) {
        double got = ((const float *)cg_data_ptr(t))[i];
        if (fabs(got - v) > 1e-5) {
            fprintf(stderr, "  element %lld: %g, expected %g\n", (long long)i, got, v);
            *failed = 1;
            return;
        }
    }
}
#define ASSERT_ALL(t, v)                                                                           \
    do {                                                                                           \
        int f_ = 0;                                                                                \
        ASSERT((t) != NULL);                                                                       \
        assert_all((t), (v), &f_);                                                                 \
        ASSERT(!f_);                                                                               \
    } while (0)

TEST(seed_graph) {
    /* x = ones(2,2, requires_grad); out = ((x+2)*(x+2)*3).mean(); x.grad == 4.5 */
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_add_scalar(x, 2);
    cg_tensor *out = cg_mean(cg_mul_scalar(cg_mul(y, y), 3));
    ASSERT_NEAR(cg_item(out), 27, 1e-6);
    ASSERT_EQ(cg_backward(out, NULL, false), 0);
    ASSERT_ALL(cg_grad(x), 4.5);
    ASSERT_NULL(cg_grad(y)); /* non-leaves keep no .grad */
}

TEST(grad_fn_and_next_functions) {
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD), *w = cg_ones(CG_SHAPE(2), 0);
    ASSERT_NULL(cg_grad_fn(x));
    ASSERT(cg_is_leaf(x));
    cg_tensor *y = cg_mul(x, w);
    ASSERT(!cg_is_leaf(y));
    ASSERT(cg_requires_grad(y));
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(y)), "MulBackward0");
    ASSERT_EQ(cg_node_num_next(cg_grad_fn(y)), 2);
    int nr = -1;
    cg_node *acc = cg_node_next(cg_grad_fn(y), 0, &nr);
    ASSERT_STR_EQ(cg_node_name(acc), "torch::autograd::AccumulateGrad");
    ASSERT_EQ(nr, 0);
    ASSERT_NULL(cg_node_next(cg_grad_fn(y), 1, NULL)); /* w needs no grad: None */
    cg_tensor *s = cg_sum(y);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(s)), "SumBackward0");
    ASSERT_PTR_EQ(cg_node_next(cg_grad_fn(s), 0, NULL), cg_grad_fn(y));
    ASSERT(cg_node_seq(cg_grad_fn(s)) > cg_node_seq(cg_grad_fn(y)));
    /* the same leaf always feeds the same AccumulateGrad node */
    cg_tensor *y2 = cg_add(x, x);
    ASSERT_PTR_EQ(cg_node_next(cg_grad_fn(y2), 0, NULL), cg_node_next(cg_grad_fn(y2), 1, NULL));
    ASSERT_PTR_EQ(cg_node_next(cg_grad_fn(y2), 0, NULL), acc);
    ASSERT_NULL(cg_node_next(cg_grad_fn(y), 5, NULL));
    ASSERT_NOT_NULL(cg_last_error());
}

TEST(accumulates_across_calls) {
    cg_tensor *x = cg_full(CG_SHAPE(3), 2, CG_REQUIRES_GRAD);
    cg_tensor *out = cg_sum(cg_mul(x, x)); /* d/dx = 2x = 4 */
    ASSERT_EQ(cg_backward(out, NULL, true), 0);
    ASSERT_ALL(cg_grad(x), 4);
    ASSERT_EQ(cg_backward(out, NULL, false), 0);
    ASSERT_ALL(cg_grad(x), 8);
    ASSERT_ERROR(cg_backward(out, NULL, false), SECOND_BACKWARD);
    ASSERT_ALL(cg_grad(x), 8); /* the failed call lost nothing */
    ASSERT_EQ(cg_zero_grad(x), 0);
    ASSERT_ALL(cg_grad(x), 0);
    cg_clear_grad(x);
    ASSERT_NULL(cg_grad(x));
}

TEST(second_backward_without_saved_tensors) {
    /* (x + 2).sum() saves nothing, so PyTorch allows a second backward */
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *z = cg_sum(cg_add_scalar(x, 2));
    ASSERT_EQ(cg_backward(z, NULL, false), 0);
    ASSERT_EQ(cg_backward(z, NULL, false), 0);
    ASSERT_ALL(cg_grad(x), 2);
}

TEST(explicit_gradient_for_non_scalar) {
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 2);
    float gv[] = {1, 2, 3, 4};
    cg_tensor *g = cg_from_data(gv, CG_SHAPE(2, 2), 0);
    ASSERT_EQ(cg_backward(y, g, false), 0);
    for (int i = 0; i < 4; i++) ASSERT_NEAR(((float *)cg_data_ptr(cg_grad(x)))[i], 2 * gv[i], 1e-6);
    gv[0] = 100; /* the caller's gradient tensor was not taken as x.grad */
    ASSERT_NEAR(cg_get(g, (int64_t[]){0, 0}), 1, 0);
    ASSERT_EQ(cg_backward(cg_mul_scalar(x, 2), g, false), 0);
    ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){1, 1}), 16, 1e-6);
    ASSERT_NEAR(cg_get(g, (int64_t[]){1, 1}), 4, 0);
}

TEST(backward_errors) {
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    /* torch.ones(2,2,requires_grad=True).mul(2).backward() */
    ASSERT_ERROR(cg_backward(cg_mul_scalar(x, 2), NULL, false),
                 "grad can be implicitly created only for scalar outputs");
    /* torch.ones(2,2).sum().backward() */
    ASSERT_ERROR(cg_backward(cg_sum(cg_ones(CG_SHAPE(2, 2), 0)), NULL, false),
                 "element 0 of tensors does not require grad and does not have a grad_fn");
    /* x.sum().backward(torch.ones(2)) */
    ASSERT_ERROR(cg_backward(cg_sum(x), cg_ones(CG_SHAPE(2), 0), false),
                 "Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] "
                 "has a shape of torch.Size([]).");
    ASSERT_NULL(cg_grad(x));
    ASSERT_EQ(cg_backward(NULL, NULL, false), -1);
}

TEST(backward_on_a_leaf) {
    cg_tensor *x = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(x, cg_full(CG_SHAPE(3), 5, 0), false), 0);
    ASSERT_ALL(cg_grad(x), 5);
}

TEST(tensor_used_several_times) {
    /* y = x * x + x: dy/dx = 2x + 1 */
    float xv[] = {1, -2, 3};
    cg_tensor *x = cg_from_data(xv, CG_SHAPE(3), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(cg_sum(cg_add(cg_mul(x, x), x)), NULL, false), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_NEAR(((float *)cg_data_ptr(cg_grad(x)))[i], 2 * xv[i] + 1, 1e-6);
}

TEST(broadcast_gradients_are_summed) {
    cg_tensor *a = cg_ones(CG_SHAPE(4, 3), CG_REQUIRES_GRAD);
    cg_tensor *b = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *c = cg_ones(CG_SHAPE(4, 1), CG_REQUIRES_GRAD);
    cg_tensor *s = cg_scalar(2, CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(cg_add(cg_add(a, b), c), s)), NULL, false), 0);
    ASSERT_EQ(cg_ndim(cg_grad(b)), 1);
    ASSERT_ALL(cg_grad(a), 2);
    ASSERT_ALL(cg_grad(b), 8);
    ASSERT_EQ(cg_size(cg_grad(c), 1), 1);
    ASSERT_ALL(cg_grad(c), 6);
    ASSERT_EQ(cg_ndim(cg_grad(s)), 0);
    ASSERT_NEAR(cg_item(cg_grad(s)), 36, 1e-5); /* sum of (a + b + c) = 12 * 3 */
}

TEST(grad_dtype_follows_the_leaf) {
    cg_tensor *a = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *b = cg_ones(CG_SHAPE(2), CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *p = cg_mul(a, b);
    ASSERT_EQ(cg_dtype_of(p), CG_FLOAT64);
    ASSERT_EQ(cg_backward(cg_sum(p), NULL, false), 0);
    ASSERT_EQ(cg_dtype_of(cg_grad(a)), CG_FLOAT32);
    ASSERT_EQ(cg_dtype_of(cg_grad(b)), CG_FLOAT64);
}

TEST(gradients_through_views) {
    cg_tensor *x = cg_arange(0, 6, 1, CG_REQUIRES_GRAD);
    cg_tensor *v = cg_reshape(cg_transpose(cg_view(x, CG_SHAPE(2, 3)), 0, 1), CG_SHAPE(6));
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(v)), "UnsafeViewBackward0");
    cg_tensor *w = cg_arange(0, 6, 1, 0);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(v, w)), NULL, false), 0);
    /* v[i] = x[(i % 2) * 3 + i / 2], so x.grad[(i % 2) * 3 + i / 2] = i */
    for (int i = 0; i < 6; i++)
        ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){(i % 2) * 3 + i / 2}), i, 0);
    cg_tensor *e = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *ex = cg_expand(cg_unsqueeze(e, 0), CG_SHAPE(4, -1));
    ASSERT_EQ(cg_backward(cg_sum(cg_squeeze(cg_unsqueeze(ex, 2))), NULL, false), 0);
    ASSERT_ALL(cg_grad(e), 4);
}

TEST(extremum_splits_ties) {
    /* torch.tensor([1.,3.,3.]).max().backward() -> [0, .5, .5] */
    float v[] = {1, 3, 3};
    cg_tensor *x = cg_from_data(v, CG_SHAPE(3), CG_REQUIRES_GRAD);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(cg_max(x))), "MaxBackward1");
    ASSERT_EQ(cg_backward(cg_max(x), NULL, false), 0);
    ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){0}), 0, 0);
    ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){1}), 0.5, 1e-7);
    ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){2}), 0.5, 1e-7);
}

TEST(requires_grad_rules) {
    cg_tensor *a = cg_ones(CG_SHAPE(2), 0), *b = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    ASSERT(!cg_requires_grad(cg_mul(a, a)));
    ASSERT(cg_requires_grad(cg_mul(a, b)));
    ASSERT_PTR_EQ(cg_requires_grad_(a, true), a);
    ASSERT(cg_requires_grad(a) && cg_is_leaf(a));
    ASSERT(cg_requires_grad_(a, false) == a && !cg_requires_grad(a));
    cg_tensor *y = cg_mul_scalar(b, 2);
    ASSERT_PTR_EQ(cg_requires_grad_(y, true), y);
    /* (x*2).requires_grad_(False) */
    ASSERT_ERROR(cg_requires_grad_(y, false),
                 "you can only change requires_grad flags of leaf variables. If you want to use a "
                 "computed variable in a subgraph that doesn't require differentiation use "
                 "var_no_grad = var.detach().");
    /* torch.ones(2, dtype=torch.int64).requires_grad_() */
    ASSERT_ERROR(cg_requires_grad_(cg_ones(CG_SHAPE(2), CG_INT64), true),
                 "only Tensors of floating point dtype can require gradients");
    ASSERT(!cg_requires_grad(cg_eq(b, b))); /* comparisons are not differentiable */
    ASSERT(!cg_requires_grad(cg_sum(cg_to(b, CG_INT64))));
}

TEST(detach_shares_storage) {
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 3);
    cg_tensor *d = cg_detach(y);
    ASSERT(!cg_requires_grad(d) && cg_is_leaf(d));
    ASSERT(cg_shares_storage(d, y));
    ASSERT_PTR_EQ(cg_data_ptr(d), cg_data_ptr(y));
    ASSERT(cg_equal(d, y));
    ASSERT_PTR_EQ(cg_detach_(y), y);
    ASSERT(cg_grad_fn(y) == NULL && !cg_requires_grad(y) && cg_is_leaf(y));
}

TEST(no_grad_and_nesting) {
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    ASSERT(cg_is_grad_enabled());
    CG_NO_GRAD {
        ASSERT(!cg_is_grad_enabled());
        cg_tensor *y = cg_pow_scalar(x, 2);
        ASSERT(!cg_requires_grad(y) && cg_grad_fn(y) == NULL);
        CG_ENABLE_GRAD {
            ASSERT(cg_is_grad_enabled());
            ASSERT(cg_requires_grad(cg_pow_scalar(x, 2)));
            CG_NO_GRAD { ASSERT(!cg_is_grad_enabled()); }
            ASSERT(cg_is_grad_enabled());
        }
        ASSERT(!cg_is_grad_enabled());
    }
    ASSERT(cg_is_grad_enabled());
    ASSERT_EQ(cg_set_grad_enabled(false), true);
    ASSERT_EQ(cg_set_grad_enabled(true), false);
    ASSERT(cg_requires_grad(cg_pow_scalar(x, 2)));
}

static void *thread_grad_mode(void *arg) {
    *(bool *)arg = cg_is_grad_enabled();
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    bool ok = cg_backward(cg_sum(cg_mul(x, x)), NULL, false) == 0 && cg_grad(x) &&
              fabs(cg_get(cg_grad(x), (int64_t[]){0}) - 2) < 1e-6;
    cg_root_scope_drain(); /* this thread's tensors */
    return ok ? arg : NULL;
}

TEST(grad_mode_is_thread_local) {
    bool seen = false;
    void *ret = NULL;
    CG_NO_GRAD {
        pthread_t th;
        if (pthread_create(&th, NULL, thread_grad_mode, &seen) == 0) pthread_join(th, &ret);
    }
    ASSERT(seen); /* the other thread kept grad mode on */
    ASSERT_NOT_NULL(ret);
}

TEST(long_chain_is_iterative) {
    /* 100,000 ops: neither backward nor freeing may recurse per node */
    cg_tensor *x = cg_ones(CG_SHAPE(1), CG_REQUIRES_GRAD);
    cg_scope_begin();
    cg_tensor *y = x;
    for (int i = 0; i < 100000; i++) {
        cg_tensor *n = cg_add_scalar(y, 1e-6);
        if (i % 1000 == 999) { /* keep the scope small: the graph keeps itself alive */
            cg_keep(n);
            cg_scope_end();
            cg_scope_begin();
        }
        y = n;
    }
    cg_tensor *out = cg_sum(y);
    ASSERT_EQ(cg_backward(out, NULL, false), 0);
    cg_scope_end();
    ASSERT_ALL(cg_grad(x), 1);
}

TEST(saved_tensor_modified_in_place) {
    /* x=ones(2,2,rg); z=(x*x).sum(); with no_grad: x[0,0]=5; z.backward() */
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *z = cg_sum(cg_mul(x, x));
    CG_NO_GRAD { ASSERT_EQ(cg_set(x, (int64_t[]){0, 0}, 5), 0); }
    ASSERT_ERROR(
        cg_backward(z, NULL, false),
        "one of the variables needed for gradient computation has been modified by an "
        "inplace operation: [torch.FloatTensor [2, 2]] is at version 1; expected version 0 "
        "instead. Hint: enable anomaly detection to find the operation that failed to "
        "compute its gradient, with torch.autograd.set_detect_anomaly(True).");
    /* y = x.exp(); z = y.sum(); y[0,0] = 5 under no_grad: y is a saved output */
    cg_tensor *y = cg_exp(x);
    z = cg_sum(y);
    CG_NO_GRAD { ASSERT_EQ(cg_set(y, (int64_t[]){0, 0}, 5), 0); }
    ASSERT_ERROR(
        cg_backward(z, NULL, false),
        "one of the variables needed for gradient computation has been modified by an "
        "inplace operation: [torch.FloatTensor [2, 2]], which is output 0 of ExpBackward0, "
        "is at version 1; expected version 0 instead. Hint: enable anomaly detection to "
        "find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True).");
    /* y = x * 2; z = (y * y).sum(); y[0,0] = 5 */
    y = cg_mul_scalar(x, 2);
    z = cg_sum(cg_mul(y, y));
    CG_NO_GRAD { ASSERT_EQ(cg_set(y, (int64_t[]){0, 0}, 5), 0); }
    ASSERT_ERROR(
        cg_backward(z, NULL, false),
        "one of the variables needed for gradient computation has been modified by an "
        "inplace operation: [torch.FloatTensor [2, 2]], which is output 0 of MulBackward0, "
        "is at version 1; expected version 0 instead. Hint: enable anomaly detection to "
        "find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True).");
}

TEST(leaf_kept_alive_by_its_graph) {
    cg_tensor *out;
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_retain(x);
    CG_SCOPE { out = cg_keep(cg_sum(cg_mul_scalar(x, 3))); }
    cg_release(x); /* only the graph holds x now */
    ASSERT_EQ(cg_backward(out, NULL, false), 0);
    int nr;
    cg_node *acc = cg_node_next(cg_grad_fn(out), 0, &nr);
    acc = cg_node_next(acc, 0, &nr); /* MulBackward0 -> AccumulateGrad */
    ASSERT_STR_EQ(cg_node_name(acc), "torch::autograd::AccumulateGrad");
}

TEST_MAIN(seed_graph, grad_fn_and_next_functions, accumulates_across_calls,
          second_backward_without_saved_tensors, explicit_gradient_for_non_scalar, backward_errors,
          backward_on_a_leaf, tensor_used_several_times, broadcast_gradients_are_summed,
          grad_dtype_follows_the_leaf, gradients_through_views, extremum_splits_ties,
          requires_grad_rules, detach_shares_storage, no_grad_and_nesting,
          grad_mode_is_thread_local, long_chain_is_iterative, saved_tensor_modified_in_place,
          leaf_kept_alive_by_its_graph)
