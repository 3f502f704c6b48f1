/* In-place ops: results, recorded history, version counters and PyTorch's
 * errors (the Python that produced each message is noted). Values against
 * PyTorch on random inputs are in the generated op tests (the in-place
 * variants of the op specs). */
#include "test.h"

static const char *MODIFIED_ADD =
    "one of the variables needed for gradient computation has been modified by an inplace "
    "operation: [torch.FloatTensor [2, 2]], which is output 0 of AddBackward0, is at version 1; "
    "expected version 0 instead. Hint: enable anomaly detection to find the operation that failed "
    "to compute its gradient, with torch.autograd.set_detect_anomaly(True).";

/* element i in row-major order */
static double at(const cg_tensor *t, int64_t i) {
    int64_t idx[CG_MAX_DIMS];
    for (int d = cg_ndim(t) - 1; d >= 0; d--) {
        idx[d] = i % cg_size(t, d);
        i /= cg_size(t, d);
    }
    return cg_get(t, idx);
}

TEST(returns_the_same_tensor_and_bumps_the_version) {
    cg_tensor *a = cg_ones(CG_SHAPE(2, 3), 0), *b = cg_full(CG_SHAPE(3), 2, 0);
    uint64_t v0 = cg_version(a);
    void *p = cg_data_ptr(a);
    ASSERT_PTR_EQ(cg_add_(a, b), a);
    ASSERT_PTR_EQ(cg_data_ptr(a), p);
    ASSERT_EQ(cg_version(a), v0 + 1);
    ASSERT_PTR_EQ(cg_mul_scalar_(a, 2), a);
    ASSERT_PTR_EQ(cg_sub_scalar_(a, 1), a);
    ASSERT_PTR_EQ(cg_div_(a, b), a);
    ASSERT_NEAR(at(a, 4), 2.5, 0); /* ((1 + 2) * 2 - 1) / 2 */
    ASSERT_EQ(cg_version(a), v0 + 4);
    ASSERT_PTR_EQ(cg_relu_(cg_neg_(a)), a);
    ASSERT_NEAR(at(a, 0), 0, 0);
    ASSERT(cg_fill_(a, 7) == a && at(a, 5) == 7);
    ASSERT(cg_copy_(a, b) == a && at(a, 3) == 2);
    ASSERT(cg_zero_(a) == a && at(a, 1) == 0);
    /* a view writes through to its base */
    cg_tensor *base = cg_zeros(CG_SHAPE(2, 2), 0);
    cg_add_scalar_(cg_transpose(base, 0, 1), 3);
    ASSERT_NEAR(at(base, 2), 3, 0);
}

TEST(history_is_rebased) {
    /* x = ones(3, rg); y = x * 2; y.add_(1); y.relu_(); (y * y).sum().backward()
     * -> x.grad = 2 * 2 * (2x + 1) = 12 */
    cg_tensor *x = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 2);
    cg_node *mul = cg_grad_fn(y);
    ASSERT_PTR_EQ(cg_add_scalar_(y, 1), y);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(y)), "AddBackward0");
    ASSERT_PTR_EQ(cg_node_next(cg_grad_fn(y), 0, NULL), mul);
    cg_relu_(y);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(y)), "ReluBackward0");
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(y, y)), NULL, false), 0);
    ASSERT_NEAR(at(cg_grad(x), 2), 12, 1e-6);
    /* b requires grad, a does not: a.mul_(b) makes a a non-leaf */
    cg_tensor *a = cg_full(CG_SHAPE(3), 3, 0), *b = cg_full(CG_SHAPE(3), 5, CG_REQUIRES_GRAD);
    cg_mul_(a, b);
    ASSERT(!cg_is_leaf(a) && cg_requires_grad(a));
    ASSERT_EQ(cg_backward(cg_sum(a), NULL, false), 0);
    ASSERT_NEAR(at(cg_grad(b), 0), 3, 0); /* the value a had before the write */
}

TEST(retain_grad_follows_the_rebase) {
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 2);
    cg_retain_grad(y);
    cg_mul_scalar_(y, 3);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul_scalar(y, 5)), NULL, false), 0);
    ASSERT_NEAR(at(cg_grad(y), 0), 5, 0);
    ASSERT_NEAR(at(cg_grad(x), 0), 30, 0);
}

TEST(leaf_rules) {
    cg_tensor *x = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    /* x.add_(1) */
    ASSERT_ERROR(cg_add_scalar_(x, 1),
                 "a leaf Variable that requires grad is being used in an in-place operation.");
    /* x[0:2].add_(1) */
    ASSERT_ERROR(cg_add_scalar_(cg_view(x, CG_SHAPE(3, 1)), 1),
                 "a view of a leaf Variable that requires grad is being used in an in-place "
                 "operation.");
    ASSERT_NEAR(at(x, 0), 1, 0); /* untouched */
    /* with torch.no_grad(): x.sub_(0.5) -- what an optimizer does */
    CG_NO_GRAD { ASSERT_PTR_EQ(cg_sub_scalar_(x, 0.5), x); }
    ASSERT_NEAR(at(x, 1), 0.5, 0);
    ASSERT(cg_is_leaf(x) && cg_requires_grad(x) && cg_grad_fn(x) == NULL);
}

TEST(saved_tensors_see_the_write) {
    /* y = x*2; z = (y*y).sum(); y.add_(1); z.backward() */
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 2);
    cg_tensor *z = cg_sum(cg_mul(y, y));
    cg_add_scalar_(y, 1);
    ASSERT_ERROR(cg_backward(z, NULL, false), MODIFIED_ADD);
    /* y = x.exp(); y.add_(1): exp saved its output */
    y = cg_exp(x);
    cg_add_scalar_(y, 1);
    ASSERT_ERROR(
        cg_backward(cg_sum(y), NULL, false),
        "one of the variables needed for gradient computation has been modified by an "
        "inplace operation: [torch.FloatTensor [2, 2]], which is output 0 of ExpBackward0, "
        "is at version 1; expected version 0 instead. Hint: enable anomaly detection to "
        "find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True).");
    ASSERT_NULL(cg_grad(x));
}

TEST(casting_and_broadcasting_rules) {
    cg_tensor *i = cg_ones(CG_SHAPE(3), CG_INT64);
    /* torch.ones(3, dtype=torch.int64).add_(1.5) */
    ASSERT_ERROR(cg_add_scalar_(i, 1.5),
                 "result type Float can't be cast to the desired output type Long");
    /* .div_(2) */
    ASSERT_ERROR(cg_div_scalar_(i, 2),
                 "result type Float can't be cast to the desired output type Long");
    /* torch.ones(3).add_(torch.ones(2, 3)) */
    ASSERT_ERROR(cg_add_(cg_ones(CG_SHAPE(3), 0), cg_ones(CG_SHAPE(2, 3), 0)),
                 "output with shape [3] doesn't match the broadcast shape [2, 3]");
    /* torch.ones(3, dtype=torch.bool).add_(1) */
    ASSERT_ERROR(cg_add_scalar_(cg_ones(CG_SHAPE(3), CG_BOOL), 1),
                 "result type Long can't be cast to the desired output type Bool");
    /* torch.ones(3).copy_(torch.ones(2)) */
    ASSERT_ERROR(cg_copy_(cg_ones(CG_SHAPE(3), 0), cg_ones(CG_SHAPE(2), 0)),
                 "The size of tensor a (3) must match the size of tensor b (2) at non-singleton "
                 "dimension 0");
    /* float32 += float64 stays float32; copy_ casts */
    cg_tensor *f = cg_ones(CG_SHAPE(2), 0);
    ASSERT(cg_add_(f, cg_full(CG_SHAPE(2), 0.5, CG_FLOAT64)) == f && cg_dtype_of(f) == CG_FLOAT32);
    ASSERT_NEAR(at(f, 1), 1.5, 0);
    ASSERT(cg_copy_(i, cg_full(CG_SHAPE(1), 2.7, 0)) == i && at(i, 2) == 2);
    ASSERT(cg_add_(NULL, f) == NULL && cg_zero_(NULL) == NULL);
}

TEST(inference_tensors) {
    cg_tensor *t = NULL;
    CG_INFERENCE_MODE {
        t = cg_ones(CG_SHAPE(2), 0);
        uint64_t v = cg_version(t);
        ASSERT_PTR_EQ(cg_add_scalar_(t, 1), t);
        ASSERT_EQ(cg_version(t), v); /* no version counting in inference mode */
    }
    /* with torch.inference_mode(): t = torch.ones(2); then t.add_(1) */
    ASSERT_ERROR(cg_add_scalar_(t, 1),
                 "Inplace update to inference tensor outside InferenceMode is not allowed.You can "
                 "make a clone to get a normal tensor before doing inplace update.See "
                 "https://github.com/pytorch/rfcs/pull/17 for more details.");
}

TEST(writes_through_views) {
    /* x = ones(2, 2, rg); y = x * 1; y.t()[0].mul_(3); (y * y).sum().backward():
     * y = [[3, 1], [3, 1]], x.grad = 2 y * dy/dx = [[18, 2], [18, 2]] */
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 1);
    cg_tensor *v = cg_select(cg_t(y), 0, 0);
    ASSERT_PTR_EQ(cg_mul_scalar_(v, 3), v);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(y)), "torch::autograd::CopySlices");
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(v)), "AsStridedBackward0");
    ASSERT_NEAR(at(y, 2), 3, 0);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(y, y)), NULL, true), 0);
    double want[4] = {18, 2, 18, 2};
    for (int i = 0; i < 4; i++) ASSERT_NEAR(at(cg_grad(x), i), want[i], 1e-6);
    /* the view itself carries on: v * 2 flows back through the write */
    cg_clear_grad(x);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul_scalar(v, 2)), NULL, false), 0);
    ASSERT_NEAR(at(cg_grad(x), 0), 6, 1e-6);
    ASSERT_NEAR(at(cg_grad(x), 1), 0, 0);
    /* a base that needed no grad starts to, when the write does */
    cg_tensor *b = cg_zeros(CG_SHAPE(3), 0), *w = cg_full(CG_SHAPE(2), 2, CG_REQUIRES_GRAD);
    cg_add_(cg_narrow(b, 0, 1, 2), w);
    ASSERT(cg_requires_grad(b) && !cg_is_leaf(b));
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(b, b)), NULL, false), 0);
    ASSERT_NEAR(at(cg_grad(w), 1), 4, 1e-6);
}

TEST_MAIN(returns_the_same_tensor_and_bumps_the_version, history_is_rebased,
          retain_grad_follows_the_rebase, leaf_rules, saved_tensors_see_the_write,
          casting_and_broadcasting_rules, inference_tensors, writes_through_views)
