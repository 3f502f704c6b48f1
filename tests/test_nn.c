/* The neural-net functions beyond the op-table tests: every error message
 * (PyTorch 1.13's text, copied from what live torch printed for the Python
 * expression in the comment beside it; scaled_dot_product_attention's are
 * torch 2.x's, 1.13 has no such function), NULL arguments, random dropout,
 * and the graphs F.linear and F.dropout record (they reuse other rows' node
 * kinds, so the generated tests do not reach every path). */
#include "test.h"

#include <stdint.h>
#include <time.h>

#define ONES(...) cg_ones(CG_SHAPE(__VA_ARGS__), 0)
#define ONES_D(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))
#define RANDN_RG(...) cg_randn(CG_SHAPE(__VA_ARGS__), CG_REQUIRES_GRAD)

/* the autograd graph as tests/oracle/ops_oracle.py writes torch's:
 * preorder "name:input_nr [ children ]", None for an empty edge */
static void graph_rec(char *buf, size_t n, const cg_node *f, int nr) {
    size_t k = strlen(buf);
    if (!f) {
        snprintf(buf + k, n - k, "None");
        return;
    }
    snprintf(buf + k, n - k, "%s:%d [", cg_node_name(f), nr);
    for (int i = 0; i < cg_node_num_next(f); i++) {
        int inr = 0;
        const cg_node *m = cg_node_next(f, i, &inr);
        k = strlen(buf);
        snprintf(buf + k, n - k, " ");
        graph_rec(buf, n, m, inr);
    }
    k = strlen(buf);
    snprintf(buf + k, n - k, " ]");
}

static const char *graph(const cg_tensor *t) {
    static char buf[4096];
    buf[0] = '\0';
    if (!t || !cg_grad_fn(t)) return "None";
    graph_rec(buf, sizeof buf, cg_grad_fn(t), 0);
    return buf;
}

#define ACC "torch::autograd::AccumulateGrad:0 [ ]"

/* max |a - b| over all elements (same shape) */
static double max_diff(const cg_tensor *a, const cg_tensor *b) {
    int64_t n = cg_numel(a), idx[CG_MAX_DIMS] = {0};
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(cg_get(a, idx) - cg_get(b, idx));
        if (d > m || isnan(d)) m = d;
        for (int k = cg_ndim(a) - 1; k >= 0; k--) {
            if (++idx[k] < cg_shape(a)[k]) break;
            idx[k] = 0;
        }
    }
    return m;
}

/* ----------------------------------------------------------------- softmax */

TEST(test_softmax_errors) {
    cg_tensor *a = ONES(2, 3);
    /* torch.softmax(torch.ones(2, 3), 2) */
    ASSERT_ERROR(cg_softmax(a, 2),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    /* torch.log_softmax(torch.ones(2, 3), -3) */
    ASSERT_ERROR(cg_log_softmax(a, -3),
                 "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    /* torch.softmax(torch.tensor(2.), 1) */
    ASSERT_ERROR(cg_softmax(cg_scalar(2, 0), 1),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
    cg_tensor *l = ONES_D(CG_INT64, 2, 3), *b = ONES_D(CG_BOOL, 2, 3);
    /* torch.softmax(torch.ones(2, 3, dtype=torch.long), 1) */
    ASSERT_ERROR(cg_softmax(l, 1), "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'");
    /* torch.softmax(torch.ones(2, 3, dtype=torch.long), 0) */
    ASSERT_ERROR(cg_softmax(l, 0), "\"softmax_kernel_impl\" not implemented for 'Long'");
    /* torch.log_softmax(torch.ones(2, 3, dtype=torch.long), -1) */
    ASSERT_ERROR(cg_log_softmax(l, -1),
                 "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'");
    /* torch.log_softmax(torch.ones(2, 3, dtype=torch.bool), 0) */
    ASSERT_ERROR(cg_log_softmax(b, 0), "\"softmax_kernel_impl\" not implemented for 'Bool'");
    /* torch.softmax(torch.tensor(2), 0) */
    ASSERT_ERROR(cg_softmax(cg_scalar(2, CG_INT64), 0),
                 "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'");
    /* torch.softmax(torch.ones(2, 3, dtype=torch.long).t(), 1): the last dim, strided */
    ASSERT_ERROR(cg_softmax(cg_t(l), 1),
                 "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'");
    /* torch.softmax(torch.zeros(2, 0, dtype=torch.long), 0): empty, no error */
    cg_tensor *e = cg_softmax(cg_zeros(CG_SHAPE(2, 0), CG_INT64), 0);
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(cg_dtype_of(e), CG_INT64);
    ASSERT_EQ(cg_size(e, 0), 2);
}

TEST(test_softmax_stable) {
    /* torch.softmax(torch.tensor([1000., 0.]), 0) == [1, 0];
     * torch.log_softmax(...) == [0, -1000] */
    cg_tensor *x = cg_from_data((const float[]){1000, 0}, CG_SHAPE(2), 0);
    cg_tensor *s = cg_softmax(x, 0), *l = cg_log_softmax(x, 0);
    ASSERT(s && l);
    ASSERT_NEAR(cg_get(s, (int64_t[]){0}), 1, 0);
    ASSERT_NEAR(cg_get(s, (int64_t[]){1}), 0, 0);
    ASSERT_NEAR(cg_get(l, (int64_t[]){0}), 0, 0);
    ASSERT_NEAR(cg_get(l, (int64_t[]){1}), -1000, 0);
    /* torch.log_softmax(torch.tensor([-inf, 1.]), 0) == [-inf, 0] */
    cg_tensor *y = cg_from_data((const float[]){-INFINITY, 1}, CG_SHAPE(2), 0);
    l = cg_log_softmax(y, 0);
    ASSERT_NOT_NULL(l);
    ASSERT(isinf(cg_get(l, (int64_t[]){0})) && cg_get(l, (int64_t[]){0}) < 0);
    ASSERT_NEAR(cg_get(l, (int64_t[]){1}), 0, 0);
    /* torch.softmax(torch.tensor([nan, 1.]), 0) and [-inf, -inf]: all NaN */
    cg_tensor *z = cg_from_data((const double[]){NAN, 1, -INFINITY, -INFINITY}, CG_SHAPE(2, 2),
                                CG_FLOAT64);
    s = cg_softmax(z, 1);
    ASSERT_NOT_NULL(s);
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 2; j++) ASSERT(isnan(cg_get(s, (int64_t[]){i, j})));
    /* rows sum to 1 along the dim */
    cg_manual_seed(3);
    cg_tensor *r = cg_randn(CG_SHAPE(3, 4, 5), CG_FLOAT64);
    cg_tensor *sum = cg_sum_dims(cg_softmax(r, 1), CG_DIMS(1), false);
    ASSERT_NOT_NULL(sum);
    ASSERT_LT(max_diff(sum, cg_ones(CG_SHAPE(3, 5), CG_FLOAT64)), 1e-12);
}

/* ----------------------------------------------------------------- dropout */

TEST(test_dropout_errors) {
    cg_tensor *a = ONES(2, 3);
    /* F.dropout(torch.ones(2, 3), 1.5) */
    ASSERT_ERROR(cg_dropout(a, 1.5, true),
                 "dropout probability has to be between 0 and 1, but got 1.5");
    /* F.dropout(torch.ones(2, 3), -0.1) */
    ASSERT_ERROR(cg_dropout(a, -0.1, true),
                 "dropout probability has to be between 0 and 1, but got -0.1");
    /* F.dropout(torch.ones(2, 3), 2.0) */
    ASSERT_ERROR(cg_dropout(a, 2.0, true),
                 "dropout probability has to be between 0 and 1, but got 2.0");
    /* F.dropout(torch.ones(2, 3), -1e-20) */
    ASSERT_ERROR(cg_dropout(a, -1e-20, true),
                 "dropout probability has to be between 0 and 1, but got -1e-20");
    /* F.dropout(torch.ones(2, 3), 1.0000001) */
    ASSERT_ERROR(cg_dropout(a, 1.0000001, true),
                 "dropout probability has to be between 0 and 1, but got 1.0000001");
    /* F.dropout(torch.ones(2, 3), float('inf')) */
    ASSERT_ERROR(cg_dropout(a, INFINITY, false),
                 "dropout probability has to be between 0 and 1, but got inf");
    /* F.dropout(torch.ones(2, 3), float('nan')) (the C++ check's text) */
    ASSERT_ERROR(cg_dropout(a, NAN, true),
                 "dropout probability has to be between 0 and 1, but got nan");
    /* F.dropout(torch.ones(2, 3, dtype=torch.long), 0.5) */
    ASSERT_ERROR(cg_dropout(ONES_D(CG_INT64, 2, 3), 0.5, true),
                 "result type Float can't be cast to the desired output type Long");
    /* F.dropout(torch.ones(2, 3, dtype=torch.bool), 0.5) */
    ASSERT_ERROR(cg_dropout(ONES_D(CG_BOOL, 2, 3), 0.5, true),
                 "result type Float can't be cast to the desired output type Bool");
}

TEST(test_dropout_deterministic) {
    cg_tensor *x = RANDN_RG(3, 4);
    /* F.dropout(x, 0.5, False) is x; F.dropout(x, 0.0, True) is x */
    ASSERT_PTR_EQ(cg_dropout(x, 0.5, false), x);
    ASSERT_PTR_EQ(cg_dropout(x, 0.0, true), x);
    ASSERT_PTR_EQ(cg_dropout(x, -0.0, true), x);
    cg_tensor *e = cg_zeros(CG_SHAPE(0, 3), CG_REQUIRES_GRAD);
    ASSERT_PTR_EQ(cg_dropout(e, 0.5, true), e); /* F.dropout of an empty tensor: itself */
    /* F.dropout(x, 1.0): x * zeros({}), MulBackward0 with an empty edge */
    cg_tensor *z = cg_dropout(x, 1.0, true);
    ASSERT_NOT_NULL(z);
    ASSERT_STR_EQ(graph(z), "MulBackward0:0 [ " ACC " None ]");
    ASSERT_EQ(max_diff(z, cg_zeros(CG_SHAPE(3, 4), 0)), 0);
    ASSERT_EQ(cg_backward(cg_sum(z), NULL, false), 0);
    ASSERT_EQ(max_diff(cg_grad(x), cg_zeros(CG_SHAPE(3, 4), 0)), 0);
    /* F.dropout(torch.ones(3, dtype=torch.long), 1.0): int64 zeros; bool too */
    cg_tensor *zi = cg_dropout(ONES_D(CG_INT64, 3), 1.0, true);
    ASSERT_NOT_NULL(zi);
    ASSERT_EQ(cg_dtype_of(zi), CG_INT64);
    cg_tensor *zb = cg_dropout(ONES_D(CG_BOOL, 3), 1.0, true);
    ASSERT_NOT_NULL(zb);
    ASSERT_EQ(cg_dtype_of(zb), CG_BOOL);
}

/* The random case: kept fraction ~ 1-p, kept values scaled by 1/(1-p), the
 * gradient mask/(1-p), the graph MulBackward0 (input, None), reproducible. */
static void dropout_random(cg_dtype dt, double p) {
    const int64_t n = 200000;
    cg_manual_seed(1234);
    cg_tensor *x = cg_randn(CG_SHAPE(n), (int)dt | CG_REQUIRES_GRAD);
    cg_manual_seed(99);
    cg_tensor *y = cg_dropout(x, p, true);
    ASSERT_NOT_NULL(y);
    ASSERT_EQ(cg_dtype_of(y), dt);
    ASSERT_STR_EQ(graph(y), "MulBackward0:0 [ " ACC " None ]");
    ASSERT_EQ(cg_backward(cg_sum(y), NULL, false), 0);
    cg_tensor *g = cg_grad(x);
    ASSERT_NOT_NULL(g);
    double scale = 1 / (1 - p), tol = dt == CG_FLOAT32 ? 1e-6 : 1e-15;
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t ix[1] = {i};
        double xv = cg_get(x, ix), yv = cg_get(y, ix), gv = cg_get(g, ix);
        if (gv != 0) {
            kept++;
            ASSERT_NEAR(gv, scale, tol * scale);
            ASSERT_NEAR(yv, xv * scale, tol * fabs(xv * scale));
        } else {
            ASSERT_EQ(yv, 0);
        }
    }
    double frac = (double)kept / (double)n;
    if (fabs(frac - (1 - p)) > 0.01) FAIL_("kept fraction %g, expected about %g", frac, 1 - p);
    /* the same seed, the same mask; another seed, another */
    cg_manual_seed(99);
    cg_tensor *y2 = cg_dropout(x, p, true);
    ASSERT(y2 && cg_equal(y, y2));
    cg_manual_seed(100);
    cg_tensor *y3 = cg_dropout(x, p, true);
    ASSERT(y3 && !cg_equal(y, y3));
}

TEST(test_dropout_random) {
    dropout_random(CG_FLOAT32, 0.3);
    dropout_random(CG_FLOAT64, 0.75);
    dropout_random(CG_FLOAT64, 0.05);
}

/* --------------------------------------------------------------- embedding */

TEST(test_embedding_errors) {
    cg_tensor *w = ONES(5, 4), *i = cg_from_data((const int64_t[]){0, 1}, CG_SHAPE(2), CG_INT64);
    /* F.embedding(torch.tensor([0, 1]), torch.ones(5)) */
    ASSERT_ERROR(cg_embedding(ONES(5), i), "'weight' must be 2-D");
    /* F.embedding(torch.tensor([0., 1]), torch.ones(2, 3, 4)): the weight first */
    ASSERT_ERROR(cg_embedding(ONES(2, 3, 4), ONES(2)), "'weight' must be 2-D");
    /* F.embedding(torch.tensor([0., 1]), torch.ones(5, 4)) */
    ASSERT_ERROR(cg_embedding(w, ONES(2)),
                 "Expected tensor for argument #1 'indices' to have one of the following scalar "
                 "types: Long, Int; but got torch.FloatTensor instead (while checking arguments "
                 "for embedding)");
    /* F.embedding(torch.tensor([0., 1]).double(), torch.ones(5, 4)) */
    ASSERT_ERROR(cg_embedding(w, ONES_D(CG_FLOAT64, 2)),
                 "Expected tensor for argument #1 'indices' to have one of the following scalar "
                 "types: Long, Int; but got torch.DoubleTensor instead (while checking arguments "
                 "for embedding)");
    /* F.embedding(torch.tensor([True]), torch.ones(5, 4)) */
    ASSERT_ERROR(cg_embedding(w, ONES_D(CG_BOOL, 1)),
                 "Expected tensor for argument #1 'indices' to have one of the following scalar "
                 "types: Long, Int; but got CPUBoolType instead (while checking arguments for "
                 "embedding)");
    /* F.embedding(torch.tensor([[0, 5]]), torch.ones(5, 4)) */
    ASSERT_ERROR(cg_embedding(w, cg_from_data((const int64_t[]){0, 5}, CG_SHAPE(1, 2), CG_INT64)),
                 "index out of range in self");
    /* F.embedding(torch.tensor([0, -1]), torch.ones(5, 4)) */
    ASSERT_ERROR(cg_embedding(w, cg_from_data((const int64_t[]){0, -1}, CG_SHAPE(2), CG_INT64)),
                 "index out of range in self");
    /* F.embedding(torch.tensor([0, 1]), torch.ones(0, 4)) */
    ASSERT_ERROR(cg_embedding(ONES(0, 4), i),
                 "index_select(): self indexing axis dim should be positive");
    /* F.embedding(torch.tensor(3), torch.ones(3, 0)) */
    ASSERT_ERROR(cg_embedding(ONES(3, 0), cg_scalar(3, CG_INT64)),
                 "INDICES element is out of DATA bounds, id=3 axis_dim=3");
    /* F.embedding(torch.tensor([-1]), torch.ones(3, 0)) */
    ASSERT_ERROR(cg_embedding(ONES(3, 0),
                              cg_from_data((const int64_t[]){-1}, CG_SHAPE(1), CG_INT64)),
                 "INDICES element is out of DATA bounds, id=-1 axis_dim=3");
    /* cgrad's own: the result would have more than CG_MAX_DIMS dims */
    ASSERT_ERROR(cg_embedding(w, cg_zeros(CG_SHAPE(1, 1, 1, 1, 1, 1, 1, 1), CG_INT64)),
                 "embedding: indices of 8 dims give a result of more than 8 dims");
    /* F.embedding(torch.zeros(0, dtype=torch.long), torch.ones(0, 4)): fine, (0, 4) */
    cg_tensor *e = cg_embedding(ONES(0, 4), cg_zeros(CG_SHAPE(0), CG_INT64));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(cg_ndim(e), 2);
    ASSERT_EQ(cg_size(e, 1), 4);
}

TEST(test_embedding_accumulates) {
    /* w = torch.arange(6.).reshape(3, 2).requires_grad_()
     * F.embedding(torch.tensor([[0, 2], [2, 2]]), w).sum().backward()
     * w.grad == [[1, 1], [0, 0], [3, 3]] */
    cg_tensor *w = cg_from_data((const float[]){0, 1, 2, 3, 4, 5}, CG_SHAPE(3, 2),
                                CG_REQUIRES_GRAD);
    cg_tensor *i = cg_from_data((const int64_t[]){0, 2, 2, 2}, CG_SHAPE(2, 2), CG_INT64);
    cg_tensor *y = cg_embedding(w, i);
    ASSERT_NOT_NULL(y);
    ASSERT_EQ(cg_ndim(y), 3);
    ASSERT_NEAR(cg_get(y, (int64_t[]){1, 0, 1}), 5, 0);
    ASSERT_STR_EQ(graph(y), "EmbeddingBackward0:0 [ " ACC " ]");
    ASSERT_EQ(cg_backward(cg_sum(y), NULL, false), 0);
    cg_tensor *want = cg_from_data((const float[]){1, 1, 0, 0, 3, 3}, CG_SHAPE(3, 2), 0);
    ASSERT(cg_equal(cg_grad(w), want));
    /* int64 and bool weights: a plain lookup */
    cg_tensor *wl = cg_from_data((const int64_t[]){7, 8, 9}, CG_SHAPE(3, 1), CG_INT64);
    cg_tensor *yl = cg_embedding(wl, cg_scalar(2, CG_INT64));
    ASSERT_NOT_NULL(yl);
    ASSERT_EQ(cg_ndim(yl), 1);
    ASSERT_NEAR(cg_get(yl, (int64_t[]){0}), 9, 0);
}

/* -------------------------------------------------------------- layer_norm */

TEST(test_layer_norm_errors) {
    cg_tensor *x = ONES(2, 3, 4), *w4 = ONES(4), *b4 = ONES(4);
    /* F.layer_norm(x, (5,)) */
    ASSERT_ERROR(cg_layer_norm(x, 1, (const int64_t[]){5}, NULL, NULL, 1e-5),
                 "Given normalized_shape=[5], expected input with shape [*, 5], but got input of "
                 "size[2, 3, 4]");
    /* F.layer_norm(x, (3, 5)) */
    ASSERT_ERROR(cg_layer_norm(x, 2, (const int64_t[]){3, 5}, NULL, NULL, 1e-5),
                 "Given normalized_shape=[3, 5], expected input with shape [*, 3, 5], but got "
                 "input of size[2, 3, 4]");
    /* F.layer_norm(x, (2, 2, 3, 4)) */
    ASSERT_ERROR(cg_layer_norm(x, 4, (const int64_t[]){2, 2, 3, 4}, NULL, NULL, 1e-5),
                 "Given normalized_shape=[2, 2, 3, 4], expected input with shape [*, 2, 2, 3, 4], "
                 "but got input of size[2, 3, 4]");
    /* F.layer_norm(torch.tensor(1.), (1,)) */
    ASSERT_ERROR(cg_layer_norm(cg_scalar(1, 0), 1, (const int64_t[]){1}, NULL, NULL, 1e-5),
                 "Given normalized_shape=[1], expected input with shape [*, 1], but got input of "
                 "size[]");
    /* F.layer_norm(x, ()) */
    ASSERT_ERROR(cg_layer_norm(x, 0, NULL, NULL, NULL, 1e-5),
                 "Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                 "least one element, but got normalized_shape = []");
    /* cgrad's own: a NULL or too long normalized_shape (C arguments) */
    ASSERT_ERROR(cg_layer_norm(x, 1, NULL, NULL, NULL, 1e-5),
                 "normalized_shape is NULL but n_normalized is 1");
    ASSERT_ERROR(cg_layer_norm(x, 9, (const int64_t[]){1, 1, 1, 1, 1, 1, 2, 3, 4}, NULL, NULL,
                               1e-5),
                 "normalized_shape must have 1 to 8 dims, got 9");
    /* F.layer_norm(x, (4,), torch.ones(3)) */
    ASSERT_ERROR(cg_layer_norm(x, 1, (const int64_t[]){4}, ONES(3), NULL, 1e-5),
                 "Expected weight to be of same shape as normalized_shape, but got weight of shape "
                 "[3] and normalized_shape = [4]");
    /* F.layer_norm(x, (5,), torch.ones(3)): the weight is checked first */
    ASSERT_ERROR(cg_layer_norm(x, 1, (const int64_t[]){5}, ONES(3), NULL, 1e-5),
                 "Expected weight to be of same shape as normalized_shape, but got weight of shape "
                 "[3] and normalized_shape = [5]");
    /* F.layer_norm(x, (4,), torch.ones(1, 4)) */
    ASSERT_ERROR(cg_layer_norm(x, 1, (const int64_t[]){4}, ONES(1, 4), NULL, 1e-5),
                 "Expected weight to be of same shape as normalized_shape, but got weight of shape "
                 "[1, 4] and normalized_shape = [4]");
    /* F.layer_norm(x, (4,), None, torch.ones(3)) */
    ASSERT_ERROR(cg_layer_norm(x, 1, (const int64_t[]){4}, NULL, ONES(3), 1e-5),
                 "Expected bias to be of same shape as normalized_shape, but got bias of shape [3] "
                 "and normalized_shape = [4]");
    /* F.layer_norm(x.long(), (4,)) */
    ASSERT_ERROR(cg_layer_norm(ONES_D(CG_INT64, 2, 4), 1, (const int64_t[]){4}, NULL, NULL, 1e-5),
                 "\"LayerNormKernelImpl\" not implemented for 'Long'");
    /* F.layer_norm(x.bool(), (4,)) */
    ASSERT_ERROR(cg_layer_norm(ONES_D(CG_BOOL, 2, 4), 1, (const int64_t[]){4}, NULL, NULL, 1e-5),
                 "\"LayerNormKernelImpl\" not implemented for 'Bool'");
    /* F.layer_norm(x.long(), (5,)): the shape first */
    ASSERT_ERROR(cg_layer_norm(ONES_D(CG_INT64, 2, 4), 1, (const int64_t[]){5}, NULL, NULL, 1e-5),
                 "Given normalized_shape=[5], expected input with shape [*, 5], but got input of "
                 "size[2, 4]");
    /* F.layer_norm(x, (4,), w4.double()) */
    ASSERT_ERROR(cg_layer_norm(x, 1, (const int64_t[]){4}, ONES_D(CG_FLOAT64, 4), b4, 1e-5),
                 "expected scalar type Float but found Double");
    /* F.layer_norm(x, (4,), w4, b4.long()) */
    ASSERT_ERROR(cg_layer_norm(x, 1, (const int64_t[]){4}, w4, ONES_D(CG_INT64, 4), 1e-5),
                 "expected scalar type Float but found Long");
    /* F.layer_norm(x.double(), (4,), None, b4) */
    ASSERT_ERROR(cg_layer_norm(ONES_D(CG_FLOAT64, 4), 1, (const int64_t[]){4}, NULL, b4, 1e-5),
                 "expected scalar type Double but found Float");
    /* F.layer_norm(x, (4,), torch.ones(4, requires_grad=True)).grad_fn.next_functions:
     * (None, AccumulateGrad, None) */
    cg_tensor *w = cg_ones(CG_SHAPE(4), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_layer_norm(x, 1, (const int64_t[]){4}, w, NULL, 1e-5);
    ASSERT_NOT_NULL(y);
    ASSERT_STR_EQ(graph(y), "NativeLayerNormBackward0:0 [ None " ACC " None ]");
}

/* ---------------------------------------------------------- addmm, linear */

TEST(test_addmm_linear_errors) {
    cg_tensor *x = ONES(3, 4), *w = ONES(5, 4), *b = ONES(5), *wt = cg_t(w);
    /* torch.addmm(b, x, W) */
    ASSERT_ERROR(cg_addmm(b, x, w), "mat1 and mat2 shapes cannot be multiplied (3x4 and 5x4)");
    /* torch.addmm(b, x[0], W.t()) */
    ASSERT_ERROR(cg_addmm(b, ONES(4), wt), "mat1 must be a matrix, got 1-D tensor");
    /* torch.addmm(b, x, W[0]) */
    ASSERT_ERROR(cg_addmm(b, x, ONES(4)), "mat2 must be a matrix, got 1-D tensor");
    /* torch.addmm(b.double(), x, W) (dtypes before shapes) */
    ASSERT_ERROR(cg_addmm(ONES_D(CG_FLOAT64, 5), x, w), "self and mat2 must have the same dtype");
    /* torch.addmm(b, x.double(), W) */
    ASSERT_ERROR(cg_addmm(b, ONES_D(CG_FLOAT64, 3, 4), w),
                 "mat1 and mat2 must have the same dtype");
    /* torch.addmm(torch.ones(4), x, W.t()) */
    ASSERT_ERROR(cg_addmm(ONES(4), x, wt),
                 "The expanded size of the tensor (5) must match the existing size (4) at "
                 "non-singleton dimension 1.  Target sizes: [3, 5].  Tensor sizes: [4]");
    /* torch.addmm(torch.ones(2, 3, 5), x, W.t()) */
    ASSERT_ERROR(cg_addmm(ONES(2, 3, 5), x, wt),
                 "expand(torch.FloatTensor{[2, 3, 5]}, size=[3, 5]): the number of sizes provided "
                 "(2) must be greater or equal to the number of dimensions in the tensor (3)");
    /* torch.addmm(b.bool(), x.bool(), W.t().bool()) */
    ASSERT_ERROR(cg_addmm(ONES_D(CG_BOOL, 5), ONES_D(CG_BOOL, 3, 4), cg_t(ONES_D(CG_BOOL, 5, 4))),
                 "\"addmm_impl_cpu_\" not implemented for 'Bool'");
    /* F.linear(torch.tensor(1.), W, b) */
    ASSERT_ERROR(cg_linear(cg_scalar(1, 0), w, b),
                 "both arguments to matmul need to be at least 1D, but they are 0D and 2D");
    /* F.linear(x, W[0], b) */
    ASSERT_ERROR(cg_linear(x, ONES(4), b), "mat2 must be a matrix, got 1-D tensor");
    /* F.linear(x, torch.ones(2, 5, 4), b) */
    ASSERT_ERROR(cg_linear(x, ONES(2, 5, 4), b),
                 "t() expects a tensor with <= 2 dimensions, but self is 3D");
    /* F.linear(x, torch.ones(5, 3)) */
    ASSERT_ERROR(cg_linear(x, ONES(5, 3), NULL),
                 "mat1 and mat2 shapes cannot be multiplied (3x4 and 3x5)");
    /* F.linear(x, W.double()) */
    ASSERT_ERROR(cg_linear(x, ONES_D(CG_FLOAT64, 5, 4), NULL),
                 "expected scalar type Float but found Double");
    /* F.linear(x, W, b.double()) */
    ASSERT_ERROR(cg_linear(x, w, ONES_D(CG_FLOAT64, 5)), "self and mat2 must have the same dtype");
    /* F.linear(torch.ones(2, 3, 4), torch.ones(5, 3), b) */
    ASSERT_ERROR(cg_linear(ONES(2, 3, 4), ONES(5, 3), b),
                 "mat1 and mat2 shapes cannot be multiplied (6x4 and 3x5)");
    /* F.linear(torch.ones(2, 3, 4), W.double(), b) */
    ASSERT_ERROR(cg_linear(ONES(2, 3, 4), ONES_D(CG_FLOAT64, 5, 4), b),
                 "self and mat2 must have the same dtype");
    /* F.linear(torch.ones(2, 3, 4), W, torch.ones(3, 5)) */
    ASSERT_ERROR(cg_linear(ONES(2, 3, 4), w, ONES(3, 5)),
                 "The expanded size of the tensor (6) must match the existing size (3) at "
                 "non-singleton dimension 0.  Target sizes: [6, 5].  Tensor sizes: [3, 5]");
    /* F.linear(torch.ones(4), W, torch.ones(3, 5)) (out.add_(b)) */
    ASSERT_ERROR(cg_linear(ONES(4), w, ONES(3, 5)),
                 "output with shape [5] doesn't match the broadcast shape [3, 5]");
    /* F.linear(torch.ones(4), W, torch.ones(4)) */
    ASSERT_ERROR(cg_linear(ONES(4), w, ONES(4)),
                 "The size of tensor a (5) must match the size of tensor b (4) at non-singleton "
                 "dimension 0");
    /* F.linear(torch.ones(4).long(), W.long(), b) */
    ASSERT_ERROR(cg_linear(ONES_D(CG_INT64, 4), ONES_D(CG_INT64, 5, 4), b),
                 "result type Float can't be cast to the desired output type Long");
    /* F.linear(torch.ones(4), W, b.long()): fine, float32 (the in-place add keeps it) */
    cg_tensor *y = cg_linear(ONES(4), w, ONES_D(CG_INT64, 5));
    ASSERT_NOT_NULL(y);
    ASSERT_EQ(cg_dtype_of(y), CG_FLOAT32);
    ASSERT_NEAR(cg_get(y, (int64_t[]){0}), 5, 0);
    /* F.linear(torch.ones(4), W, torch.tensor(2.).double()): float32 */
    y = cg_linear(ONES(4), w, cg_scalar(2, CG_FLOAT64));
    ASSERT_NOT_NULL(y);
    ASSERT_EQ(cg_dtype_of(y), CG_FLOAT32);
}

/* The graph of F.linear for each path, as torch 1.13 records it (the
 * expression in the comment; W = torch.randn(5, 4, requires_grad=True),
 * b = torch.randn(5, requires_grad=True)), and its values against
 * matmul(x, W^T) + b. */
static void check_linear(int nd, const int64_t *shape, bool transposed, bool bias,
                         const char *want) {
    cg_manual_seed(5);
    cg_tensor *w = RANDN_RG(5, 4), *b = bias ? RANDN_RG(5) : NULL;
    cg_tensor *x = cg_randn(nd, shape, CG_REQUIRES_GRAD);
    ASSERT_NOT_NULL(x);
    cg_tensor *xin = transposed ? cg_transpose(x, 0, 1) : x;
    cg_tensor *y = cg_linear(xin, w, b);
    ASSERT_NOT_NULL(y);
    ASSERT_STR_EQ(graph(y), want);
    cg_tensor *ref = cg_matmul(cg_detach(xin), cg_t(cg_detach(w)));
    if (b) ref = cg_add(ref, cg_detach(b));
    ASSERT_NOT_NULL(ref);
    ASSERT_EQ(cg_ndim(ref), cg_ndim(y));
    ASSERT_LT(max_diff(y, ref), 1e-5);
    ASSERT_EQ(cg_backward(cg_sum(y), NULL, false), 0);
    ASSERT(cg_grad(x) && cg_grad(w) && (!b || cg_grad(b)));
    /* d sum(y) / d b = the number of rows */
    if (b) ASSERT_NEAR(cg_get(cg_grad(b), (int64_t[]){0}), (double)(cg_numel(y) / 5), 1e-5);
}

TEST(test_linear_graphs) {
    /* F.linear(torch.randn(4, requires_grad=True), W, b) */
    check_linear(1, (const int64_t[]){4}, false, true,
                 "AddBackward0:0 [ SqueezeBackward3:0 [ MmBackward0:0 [ UnsqueezeBackward0:0 [ " ACC
                 " ] TBackward0:0 [ " ACC " ] ] ] " ACC " ]");
    /* F.linear(torch.randn(4, requires_grad=True), W) */
    check_linear(1, (const int64_t[]){4}, false, false,
                 "SqueezeBackward3:0 [ MmBackward0:0 [ UnsqueezeBackward0:0 [ " ACC
                 " ] TBackward0:0 [ " ACC " ] ] ]");
    /* F.linear(torch.randn(3, 4, requires_grad=True), W, b) */
    check_linear(2, (const int64_t[]){3, 4}, false, true,
                 "AddmmBackward0:0 [ " ACC " " ACC " TBackward0:0 [ " ACC " ] ]");
    /* F.linear(torch.randn(3, 4, requires_grad=True), W) */
    check_linear(2, (const int64_t[]){3, 4}, false, false,
                 "MmBackward0:0 [ " ACC " TBackward0:0 [ " ACC " ] ]");
    /* F.linear(torch.randn(2, 3, 4, requires_grad=True), W, b) */
    check_linear(3, (const int64_t[]){2, 3, 4}, false, true,
                 "ViewBackward0:0 [ AddmmBackward0:0 [ " ACC " ViewBackward0:0 [ " ACC
                 " ] TBackward0:0 [ " ACC " ] ] ]");
    /* F.linear(torch.randn(2, 3, 4, requires_grad=True), W) */
    check_linear(3, (const int64_t[]){2, 3, 4}, false, false,
                 "UnsafeViewBackward0:0 [ MmBackward0:0 [ ReshapeAliasBackward0:0 [ " ACC
                 " ] TBackward0:0 [ " ACC " ] ] ]");
    /* F.linear(torch.randn(3, 2, 4, requires_grad=True).transpose(0, 1), W, b) */
    check_linear(3, (const int64_t[]){3, 2, 4}, true, true,
                 "AddBackward0:0 [ UnsafeViewBackward0:0 [ MmBackward0:0 [ UnsafeViewBackward0:0 [ "
                 "CloneBackward0:0 [ TransposeBackward0:0 [ " ACC " ] ] ] TBackward0:0 [ " ACC
                 " ] ] ] " ACC " ]");
    /* F.linear(torch.randn(2, 2, 3, 4, requires_grad=True), W, b) */
    check_linear(
        4, (const int64_t[]){2, 2, 3, 4}, false, true,
        "AddBackward0:0 [ UnsafeViewBackward0:0 [ MmBackward0:0 [ ReshapeAliasBackward0:0 [ " ACC
        " ] TBackward0:0 [ " ACC " ] ] ] " ACC " ]");
}

/* ------------------------------------------------------------------ sdpa */

TEST(test_sdpa_errors) {
    cg_tensor *q = ONES(2, 3, 4), *k = ONES(2, 5, 4), *v = ONES(2, 5, 2);
    /* torch 2.x: F.scaled_dot_product_attention(q, k.double(), v) */
    ASSERT_ERROR(cg_scaled_dot_product_attention(q, ONES_D(CG_FLOAT64, 2, 5, 4), v, NULL, false),
                 "Expected query, key, and value to have the same dtype, but got query.dtype: "
                 "float key.dtype: double and value.dtype: float instead.");
    /* torch 2.x: F.scaled_dot_product_attention(q, k, v.long()) */
    ASSERT_ERROR(cg_scaled_dot_product_attention(q, k, ONES_D(CG_INT64, 2, 5, 2), NULL, false),
                 "Expected query, key, and value to have the same dtype, but got query.dtype: "
                 "float key.dtype: float and value.dtype: long int instead.");
    /* torch 2.x: F.scaled_dot_product_attention(torch.ones(4), k, v) */
    ASSERT_ERROR(cg_scaled_dot_product_attention(ONES(4), k, v, NULL, false),
                 "Expected query, key, and value to all be  at least 2 dimensional, but got "
                 "query.dim: 1 key.dim: 3 and value.dim: 3 instead.");
    /* torch 2.x: F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(3, 5).long()) */
    ASSERT_ERROR(cg_scaled_dot_product_attention(q, k, v, ONES_D(CG_INT64, 3, 5), false),
                 "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                 "attn_mask.dtype: long int and  query.dtype: float instead.");
    /* torch 2.x: F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True) */
    ASSERT_ERROR(cg_scaled_dot_product_attention(q, k, v, ONES_D(CG_BOOL, 3, 5), true),
                 "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                 "is_causal=True");
    /* torch.matmul(torch.ones(2, 3, 4), torch.ones(2, 5, 3).transpose(-2, -1)) */
    ASSERT_ERROR(
        cg_scaled_dot_product_attention(q, ONES(2, 5, 3), v, NULL, false),
        "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 3].");
}

TEST(test_sdpa_masks) {
    cg_manual_seed(11);
    cg_tensor *q = cg_randn(CG_SHAPE(2, 4, 3), CG_FLOAT64),
              *k = cg_randn(CG_SHAPE(2, 6, 3), CG_FLOAT64);
    cg_tensor *v = cg_randn(CG_SHAPE(2, 6, 5), CG_FLOAT64);
    cg_tensor *plain = cg_scaled_dot_product_attention(q, k, v, NULL, false);
    ASSERT_NOT_NULL(plain);
    ASSERT_EQ(cg_size(plain, 1), 4);
    ASSERT_EQ(cg_size(plain, 2), 5);
    /* an all-true bool mask and a zero float mask change nothing */
    cg_tensor *t = cg_ones(CG_SHAPE(4, 6), CG_BOOL), *z = cg_zeros(CG_SHAPE(6), 0);
    /* (no mask: the fused path; a mask: the composed one, rounded otherwise) */
    ASSERT_LT(max_diff(cg_scaled_dot_product_attention(q, k, v, t, false), plain), 1e-15);
    ASSERT_LT(max_diff(cg_scaled_dot_product_attention(q, k, v, z, false), plain), 1e-15);
    /* is_causal == the tril bool mask; a -inf float mask gives the same */
    cg_tensor *tril = cg_empty(CG_SHAPE(4, 6), CG_BOOL),
              *ninf = cg_zeros(CG_SHAPE(4, 6), CG_FLOAT64);
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 6; j++) {
            cg_set(tril, (int64_t[]){i, j}, j <= i);
            if (j > i) cg_set(ninf, (int64_t[]){i, j}, -INFINITY);
        }
    cg_tensor *causal = cg_scaled_dot_product_attention(q, k, v, NULL, true);
    ASSERT_NOT_NULL(causal);
    ASSERT_LT(max_diff(causal, cg_scaled_dot_product_attention(q, k, v, tril, false)), 1e-15);
    ASSERT_LT(max_diff(causal, cg_scaled_dot_product_attention(q, k, v, ninf, false)), 1e-15);
    /* row 0 attends to key 0 only: out[:, 0] == v[:, 0] */
    for (int64_t bi = 0; bi < 2; bi++)
        for (int64_t j = 0; j < 5; j++)
            ASSERT_NEAR(cg_get(causal, (int64_t[]){bi, 0, j}), cg_get(v, (int64_t[]){bi, 0, j}),
                        1e-15);
}

/* The fused path (no mask, or is_causal) equals the composed one (the same
 * math through an explicit bool mask: all true, or the tril) in value and in
 * the gradients of q, k and v; shapes past one block (32 query rows, 64 keys)
 * and not multiples of it, q transposed from (B, L, H, E) as the GPT's is. */
static void sdpa_fused_vs_composed(cg_dtype dt, bool causal, int64_t B, int64_t H, int64_t L,
                                   int64_t S, int64_t E, int64_t Ev, bool q_transposed) {
    int rg = (int)dt | CG_REQUIRES_GRAD;
    cg_tensor *q = q_transposed ? cg_randn(CG_SHAPE(B, L, H, E), rg)
                                : cg_randn(CG_SHAPE(B, H, L, E), rg);
    cg_tensor *k = cg_randn(CG_SHAPE(B, H, S, E), rg), *v = cg_randn(CG_SHAPE(B, H, S, Ev), rg);
    cg_tensor *qq = q_transposed ? cg_transpose(q, 1, 2) : q;
    cg_tensor *mask = cg_empty(CG_SHAPE(L, S), CG_BOOL);
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < S; j++) cg_set(mask, (int64_t[]){i, j}, !causal || j <= i);
    cg_tensor *fused = cg_scaled_dot_product_attention(qq, k, v, NULL, causal);
    cg_tensor *composed = cg_scaled_dot_product_attention(qq, k, v, mask, false);
    ASSERT_NOT_NULL(fused);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(fused)), "ScaledDotProductFlashAttentionForCpuBackward0");
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(composed)), "UnsafeViewBackward0");
    double tol = dt == CG_FLOAT64 ? 1e-12 : 2e-5;
    ASSERT_LT(max_diff(fused, composed), tol);
    cg_tensor *g = cg_randn(CG_SHAPE(B, H, L, Ev), (int)dt), *in[3] = {q, k, v};
    cg_tensor *gf[3], *gc[3];
    ASSERT_EQ(cg_autograd_grad(1, &fused, &g, 3, in, 0, gf), 0);
    ASSERT_EQ(cg_autograd_grad(1, &composed, &g, 3, in, 0, gc), 0);
    for (int i = 0; i < 3; i++) ASSERT_LT(max_diff(gf[i], gc[i]), 5 * tol);
}

TEST(test_sdpa_fused) {
    cg_manual_seed(5);
    for (int d = 0; d < 2; d++) {
        cg_dtype dt = d ? CG_FLOAT64 : CG_FLOAT32;
        for (int c = 0; c < 2; c++) {
            sdpa_fused_vs_composed(dt, c, 2, 3, 37, 37, 8, 8, false);
            sdpa_fused_vs_composed(dt, c, 1, 2, 70, 70, 16, 16, true);
            sdpa_fused_vs_composed(dt, c, 2, 2, 33, 67, 5, 7, false);
            sdpa_fused_vs_composed(dt, c, 1, 1, 100, 40, 3, 2, false);
            sdpa_fused_vs_composed(dt, c, 1, 1, 1, 1, 1, 1, false);
        }
    }
}

/* Single rows whose stride is never read (a size-1 dim counts as contiguous):
 * the gradient of a sum is an expanded scalar (all strides 0), and the fused
 * backward reads it as it is. */
TEST(test_sdpa_single_rows) {
    for (int64_t L = 1; L <= 2; L++) {
        cg_tensor *q = cg_randn(CG_SHAPE(1, L, 1), CG_FLOAT64 | CG_REQUIRES_GRAD);
        cg_tensor *kv = cg_randn(CG_SHAPE(1, 1, 1), CG_FLOAT64 | CG_REQUIRES_GRAD);
        cg_tensor *fused = cg_scaled_dot_product_attention(q, kv, kv, NULL, false);
        cg_tensor *composed =
            cg_scaled_dot_product_attention(q, kv, kv, cg_ones(CG_SHAPE(L, 1), CG_BOOL), false);
        cg_tensor *in[2] = {q, kv}, *gf[2], *gc[2], *sf = cg_sum(fused), *sc = cg_sum(composed);
        ASSERT_EQ(cg_autograd_grad(1, &sf, NULL, 2, in, 0, gf), 0);
        ASSERT_EQ(cg_autograd_grad(1, &sc, NULL, 2, in, 0, gc), 0);
        for (int i = 0; i < 2; i++) ASSERT_LT(max_diff(gf[i], gc[i]), 1e-12);
    }
}

/* --------------------------------------------------------------- NULL args */

TEST(test_nn_null) {
    cg_tensor *a = ONES(2, 3), *i = cg_zeros(CG_SHAPE(2), CG_INT64);
    cg_clear_error();
    ASSERT_NULL(cg_softmax(NULL, 0));
    ASSERT_NULL(cg_log_softmax(NULL, 0));
    ASSERT_NULL(cg_dropout(NULL, 0.5, true));
    ASSERT_NULL(cg_embedding(NULL, i));
    ASSERT_NULL(cg_embedding(a, NULL));
    ASSERT_NULL(cg_layer_norm(NULL, 1, (const int64_t[]){3}, NULL, NULL, 1e-5));
    ASSERT_NULL(cg_addmm(NULL, a, a));
    ASSERT_NULL(cg_addmm(a, NULL, a));
    ASSERT_NULL(cg_addmm(a, a, NULL));
    ASSERT_NULL(cg_linear(NULL, a, NULL));
    ASSERT_NULL(cg_linear(a, NULL, NULL));
    ASSERT_NULL(cg_scaled_dot_product_attention(NULL, a, a, NULL, false));
    ASSERT_NULL(cg_scaled_dot_product_attention(a, NULL, a, NULL, true));
    ASSERT_NULL(cg_scaled_dot_product_attention(a, a, NULL, NULL, false));
    ASSERT_NULL(cg_last_error()); /* a NULL argument leaves the message alone */
}

/* registering n parameters is linear: 100000 adds (a linear search per add
 * took minutes for a 16000-layer GPT; the time is printed, not asserted) */
TEST(test_params_linear) {
    enum { N = 100000 };
    cg_params *p = cg_params_new();
    ASSERT_NOT_NULL(p);
    char name[32];
    clock_t t0 = clock();
    cg_scope_begin();
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "h.%d.weight", i);
        ASSERT_NOT_NULL(cg_params_add(p, name, cg_zeros(CG_SHAPE(1), 0)));
    }
    cg_scope_end();
    for (int i = 0; i < N; i += 997) {
        snprintf(name, sizeof name, "h.%d.weight", i);
        const char *got;
        ASSERT(cg_params_find(p, name) == cg_params_get(p, i, &got));
        ASSERT_STR_EQ(got, name);
    }
    printf("  %d parameters registered in %.2f s of CPU time\n", N,
           (double)(clock() - t0) / CLOCKS_PER_SEC);
    ASSERT_EQ(cg_params_count(p), N);
    ASSERT_NULL(cg_params_find(p, "h.100000.weight"));
    ASSERT_ERROR(cg_params_add(p, "h.5.weight", cg_params_get(p, 7, NULL)),
                 "attribute 'h.5.weight' already exists");
    ASSERT_ERROR(cg_params_add(p, "tied", cg_params_get(p, 7, NULL)),
                 "'tied' is already registered as 'h.7.weight'");
    cg_params_free(p);
}

TEST_MAIN(test_params_linear, test_softmax_errors, test_softmax_stable, test_dropout_errors,
          test_dropout_deterministic, test_dropout_random, test_embedding_errors,
          test_embedding_accumulates, test_layer_norm_errors, test_addmm_linear_errors,
          test_linear_graphs, test_sdpa_errors, test_sdpa_masks, test_sdpa_fused,
          test_sdpa_single_rows, test_nn_null)
