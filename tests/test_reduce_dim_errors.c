/* The reductions over a dim (src/ops/reduce_dim.c): every error message,
 * copied from what PyTorch 1.13 printed for the Python expression in the
 * comment beside it; NULL tensors; and the behaviours the generated op tests
 * cannot check with finite differences — ties and NaN in max/min/argmax, the
 * gradients of prod at zeros (first and second order) and of the norm on an
 * all-zero slice — against values torch printed. */
#include "test.h"

#include <stdint.h>

#define ONES(...) cg_ones(CG_SHAPE(__VA_ARGS__), 0)
#define ONES_D(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))
#define DIM_RANGE(lo, hi, got)                                                                     \
    "Dimension out of range (expected to be in range of [" #lo ", " #hi "], but got " #got ")"
#define VAR_DTYPE "std and var only support floating point and complex dtypes"
#define NORM_EMPTY(p)                                                                              \
    "linalg.vector_norm cannot compute the " p " norm on an empty tensor because the "             \
    "operation does not have an identity"
#define NORM_EMPTY_DIM(p, d)                                                                       \
    "linalg.vector_norm cannot compute the " p " norm on the dimension " d "because this "         \
    "dimension is empty and the operation does not have an identity"

/* a float tensor from values, shape given as CG_SHAPE(...) */
static cg_tensor *tensor_f(const float *v, int ndim, const int64_t *shape, int opts) {
    return cg_from_data(v, ndim, shape, opts);
}
static cg_tensor *tensor_d(const double *v, int ndim, const int64_t *shape, int opts) {
    return cg_from_data(v, ndim, shape, CG_FLOAT64 | opts);
}

/* all elements of t equal want[] (NaN equals NaN), within tol */
static bool values_are(const cg_tensor *t, const double *want, int64_t n, double tol) {
    if (!t || cg_numel(t) != n) return false;
    int nd = cg_ndim(t);
    const int64_t *sh = cg_shape(t);
    int64_t idx[CG_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        double x = cg_get(t, idx), y = want[i];
        if (!(isnan(x) && isnan(y)) && !(x == y) && !(fabs(x - y) <= tol)) {
            fprintf(stderr, "  element %lld: %.9g, expected %.9g\n", (long long)i, x, y);
            return false;
        }
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < sh[d]) break;
            idx[d] = 0;
        }
    }
    return true;
}
#define ASSERT_VALUES(t, tol, ...)                                                                 \
    ASSERT(values_are((t), (const double[]){__VA_ARGS__},                                          \
                      (int64_t)(sizeof((const double[]){__VA_ARGS__}) / sizeof(double)), (tol)))

/* ------------------------------------------------------------------ errors */

TEST(test_err_max_min_dim) {
    cg_tensor *a = ONES(2, 3), *e = ONES(0, 3), *e2 = ONES(3, 0), *s = cg_scalar(2, 0);
    cg_tensor *idx = NULL;
    /* torch.max(torch.ones(2,3), 2) / -3 */
    ASSERT_ERROR(cg_max_dim(a, 2, false, &idx), DIM_RANGE(-2, 1, 2));
    ASSERT_NULL(idx);
    ASSERT_ERROR(cg_min_dim(a, -3, false, NULL), DIM_RANGE(-2, 1, -3));
    /* torch.max(torch.tensor(2.), 1) */
    ASSERT_ERROR(cg_max_dim(s, 1, false, NULL), DIM_RANGE(-1, 0, 1));
    /* torch.max(torch.ones(0,3), 0) / torch.min(torch.ones(0,3), 0) */
    ASSERT_ERROR(cg_max_dim(e, 0, false, NULL),
                 "max(): Expected reduction dim 0 to have non-zero size.");
    ASSERT_ERROR(cg_min_dim(e, 0, true, NULL),
                 "min(): Expected reduction dim 0 to have non-zero size.");
    /* torch.max(torch.ones(3,0), -1): the dim is printed wrapped */
    ASSERT_ERROR(cg_max_dim(e2, -1, false, NULL),
                 "max(): Expected reduction dim 1 to have non-zero size.");
    /* torch.max(torch.ones(0,3,dtype=torch.bool), 0) */
    ASSERT_ERROR(cg_max_dim(ONES_D(CG_BOOL, 0, 3), 0, false, NULL),
                 "max(): Expected reduction dim 0 to have non-zero size.");
    /* reducing a nonempty dim of an empty tensor is fine: torch.max(torch.ones(0,3), 1) */
    cg_tensor *r = cg_max_dim(e, 1, false, &idx);
    ASSERT(r && idx && cg_numel(r) == 0 && cg_numel(idx) == 0 && cg_dtype_of(idx) == CG_INT64);
}

TEST(test_err_argmax_argmin) {
    cg_tensor *e = ONES(0, 3), *b = ONES_D(CG_BOOL, 2, 3);
    /* torch.argmax(torch.ones(0,3), 0) / torch.argmin(torch.ones(3,0), -1) */
    ASSERT_ERROR(cg_argmax(e, 0, false),
                 "argmax(): Expected reduction dim 0 to have non-zero size.");
    ASSERT_ERROR(cg_argmin(ONES(3, 0), -1, false),
                 "argmin(): Expected reduction dim 1 to have non-zero size.");
    /* torch.argmax(torch.ones(0,3)) / torch.argmin(torch.ones(3,0), None, True) */
    ASSERT_ERROR(cg_argmax_all(e, false),
                 "argmax(): Expected reduction dim to be specified for input.numel() == 0.");
    ASSERT_ERROR(cg_argmin_all(ONES(3, 0), true),
                 "argmin(): Expected reduction dim to be specified for input.numel() == 0.");
    /* torch.argmax(torch.tensor([True,False]), 0) / torch.argmin(...) / torch.argmax(b) */
    ASSERT_ERROR(cg_argmax(b, 0, false), "\"argmax_cpu\" not implemented for 'Bool'");
    ASSERT_ERROR(cg_argmin(b, 1, true), "\"argmin_cpu\" not implemented for 'Bool'");
    ASSERT_ERROR(cg_argmax_all(b, false), "\"argmax_cpu\" not implemented for 'Bool'");
    /* the dim and emptiness are checked before the dtype:
     * torch.argmax(torch.ones(2,3,dtype=torch.bool), 5),
     * torch.argmax(torch.ones(0,3,dtype=torch.bool), 0), torch.argmax(same) */
    ASSERT_ERROR(cg_argmax(b, 5, false), DIM_RANGE(-2, 1, 5));
    ASSERT_ERROR(cg_argmax(ONES_D(CG_BOOL, 0, 3), 0, false),
                 "argmax(): Expected reduction dim 0 to have non-zero size.");
    ASSERT_ERROR(cg_argmax_all(ONES_D(CG_BOOL, 0, 3), false),
                 "argmax(): Expected reduction dim to be specified for input.numel() == 0.");
    /* torch.argmax(torch.tensor(2.), 1) */
    ASSERT_ERROR(cg_argmax(cg_scalar(2, 0), 1, false), DIM_RANGE(-1, 0, 1));
}

TEST(test_err_var_std) {
    cg_tensor *a = ONES(2, 3), *i = ONES_D(CG_INT64, 2, 3);
    /* torch.var(torch.ones(3, dtype=torch.int64)), torch.std(torch.ones(3, dtype=torch.bool), 0) */
    ASSERT_ERROR(cg_var(i, 0, NULL, 1, false), VAR_DTYPE);
    ASSERT_ERROR(cg_std(ONES_D(CG_BOOL, 3), CG_DIMS(0), 1, false), VAR_DTYPE);
    /* the dtype before the dims: torch.var(torch.ones(2,3,dtype=torch.int64), 5) */
    ASSERT_ERROR(cg_var(i, CG_DIMS(5), 1, false), VAR_DTYPE);
    /* torch.var(torch.ones(2,3), (0,0)) / (0,-2) */
    ASSERT_ERROR(cg_var(a, CG_DIMS(0, 0), 1, false),
                 "dim 0 appears multiple times in the list of dims");
    ASSERT_ERROR(cg_std(a, CG_DIMS(0, -2), 1, false),
                 "dim 0 appears multiple times in the list of dims");
    /* torch.var(torch.ones(2,3), 2) */
    ASSERT_ERROR(cg_var(a, CG_DIMS(2), 1, false), DIM_RANGE(-2, 1, 2));
    ASSERT_ERROR(cg_std(a, CG_DIMS(-3), 0, true), DIM_RANGE(-2, 1, -3));
    /* a malformed dim list (no torch equivalent) */
    ASSERT_ERROR(cg_var(a, 2, NULL, 1, false), "dims is NULL but ndims is 2");
    ASSERT_ERROR(cg_logsumexp(a, -1, (const int[]){0}, false),
                 "ndims must not be negative, got -1");
    ASSERT_ERROR(cg_norm(a, 2, 1, NULL, false), "dims is NULL but ndims is 1");
}

TEST(test_err_logsumexp_prod) {
    cg_tensor *a = ONES(2, 3);
    /* torch.logsumexp(torch.ones(2,3), (0,-2)) / 3 */
    ASSERT_ERROR(cg_logsumexp(a, CG_DIMS(0, -2), false),
                 "dim 0 appears multiple times in the list of dims");
    ASSERT_ERROR(cg_logsumexp(a, CG_DIMS(3), false), DIM_RANGE(-2, 1, 3));
    /* torch.prod(torch.ones(2,3), 2), torch.tensor(3.).prod(1) */
    ASSERT_ERROR(cg_prod_dim(a, 2, false), DIM_RANGE(-2, 1, 2));
    ASSERT_ERROR(cg_prod_dim(cg_scalar(3, 0), 1, false), DIM_RANGE(-1, 0, 1));
}

TEST(test_err_norm) {
    cg_tensor *e = ONES(0, 3), *a = ONES(2, 3);
    /* torch.linalg.vector_norm(torch.tensor([1,2]), 2) / torch.tensor([True]) */
    ASSERT_ERROR(
        cg_norm(ONES_D(CG_INT64, 2), 2, 0, NULL, false),
        "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long");
    ASSERT_ERROR(
        cg_norm(ONES_D(CG_BOOL, 1), 2, 0, NULL, false),
        "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Bool");
    /* torch.linalg.vector_norm(torch.ones(2,3,dtype=torch.int64), inf, 5): dtype first */
    ASSERT_ERROR(
        cg_norm(ONES_D(CG_INT64, 2, 3), INFINITY, CG_DIMS(5), false),
        "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long");
    /* vector_norm(torch.ones(0,3), inf) / -inf / -0.5 / -1e-05 / -1e+20 / -1/3 */
    ASSERT_ERROR(cg_norm(e, INFINITY, 0, NULL, false), NORM_EMPTY("inf"));
    ASSERT_ERROR(cg_norm(e, -INFINITY, 0, NULL, false), NORM_EMPTY("-inf"));
    ASSERT_ERROR(cg_norm(e, -0.5, 0, NULL, false), NORM_EMPTY("-0.5"));
    ASSERT_ERROR(cg_norm(ONES(0), -1e-5, 0, NULL, false), NORM_EMPTY("-1e-05"));
    ASSERT_ERROR(cg_norm(ONES(0), -1e20, 0, NULL, false), NORM_EMPTY("-1e+20"));
    ASSERT_ERROR(cg_norm(ONES(0), -1.0 / 3, 0, NULL, false), NORM_EMPTY("-0.333333"));
    /* vector_norm(torch.ones(0,3), inf, 0) / (1, 0): the first empty dim, as written */
    ASSERT_ERROR(cg_norm(e, INFINITY, CG_DIMS(0), false), NORM_EMPTY_DIM("inf", "0"));
    ASSERT_ERROR(cg_norm(e, INFINITY, CG_DIMS(1, 0), false), NORM_EMPTY_DIM("inf", "0"));
    /* vector_norm(torch.ones(3,0), -2, -1) / (0, 1) */
    ASSERT_ERROR(cg_norm(ONES(3, 0), -2, CG_DIMS(-1), false), NORM_EMPTY_DIM("-2", "-1"));
    ASSERT_ERROR(cg_norm(ONES(3, 0), -2, CG_DIMS(0, 1), false), NORM_EMPTY_DIM("-2", "1"));
    /* vector_norm(torch.ones(0,3), inf, 5): the empty check reads the dim's size */
    ASSERT_ERROR(cg_norm(e, INFINITY, CG_DIMS(5), false), DIM_RANGE(-2, 1, 5));
    /* vector_norm(torch.ones(0,3), inf, (1,1)): dim 1 is not empty, duplicates next */
    ASSERT_ERROR(cg_norm(e, INFINITY, CG_DIMS(1, 1), false),
                 "dim 1 appears multiple times in the list of dims");
    /* vector_norm(torch.ones(0,3), inf, (0,0)): the empty dim first */
    ASSERT_ERROR(cg_norm(e, INFINITY, CG_DIMS(0, 0), false), NORM_EMPTY_DIM("inf", "0"));
    /* vector_norm(torch.ones(2,3), 2, (0,-2)) / 2 */
    ASSERT_ERROR(cg_norm(a, 2, CG_DIMS(0, -2), false),
                 "dim 0 appears multiple times in the list of dims");
    ASSERT_ERROR(cg_norm(a, 2, CG_DIMS(2), false), DIM_RANGE(-2, 1, 2));
    /* no error where the reduced dims are not empty or p has an identity:
     * vector_norm(torch.ones(0,3), inf, 1), vector_norm(torch.ones(3,0,2), -inf, (0,2)),
     * vector_norm(torch.ones(0,3), 2), vector_norm(torch.ones(0,3), 0) */
    cg_tensor *r = cg_norm(e, INFINITY, CG_DIMS(1), false);
    ASSERT(r && cg_numel(r) == 0);
    r = cg_norm(ONES(3, 0, 2), -INFINITY, CG_DIMS(0, 2), false);
    ASSERT(r && cg_ndim(r) == 1 && cg_numel(r) == 0);
    ASSERT_VALUES(cg_norm(e, 2, 0, NULL, false), 0, 0);
    ASSERT_VALUES(cg_norm(e, 0, 0, NULL, false), 0, 0);
}

TEST(test_null_tensors) {
    cg_tensor *idx = (cg_tensor *)1;
    cg_clear_error();
    cg_error("%s", "earlier");
    ASSERT(cg_max_dim(NULL, 0, false, &idx) == NULL && idx == NULL);
    ASSERT_NULL(cg_min_dim(NULL, 0, true, NULL));
    ASSERT(cg_argmax(NULL, 0, false) == NULL && cg_argmin(NULL, 0, false) == NULL);
    ASSERT(cg_argmax_all(NULL, false) == NULL && cg_argmin_all(NULL, true) == NULL);
    ASSERT(cg_var(NULL, 0, NULL, 1, false) == NULL && cg_std(NULL, CG_DIMS(0), 1, true) == NULL);
    ASSERT_NULL(cg_logsumexp(NULL, 0, NULL, false));
    ASSERT(cg_prod(NULL) == NULL && cg_prod_dim(NULL, 0, false) == NULL);
    ASSERT_NULL(cg_norm(NULL, 2, 0, NULL, false));
    ASSERT_STR_EQ(cg_last_error(), "earlier");
    cg_clear_error();
}

/* -------------------------------------------------------------- behaviour */

TEST(test_max_min_ties_and_nan) {
    /* t = torch.tensor([[1.,3.,3.,0.],[2.,2.,2.,2.]], requires_grad=True)
     * v, i = t.max(1): [3, 2], [1, 0]; v.backward([10, 20]): the first index
     * of the tie takes all: [[0,10,0,0],[20,0,0,0]] */
    cg_tensor *t = tensor_f((const float[]){1, 3, 3, 0, 2, 2, 2, 2}, CG_SHAPE(2, 4),
                            CG_REQUIRES_GRAD);
    cg_tensor *idx = NULL, *v = cg_max_dim(t, 1, false, &idx);
    ASSERT_VALUES(v, 0, 3, 2);
    ASSERT_VALUES(idx, 0, 1, 0);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(v)), "MaxBackward0");
    ASSERT(cg_grad_fn(idx) == NULL && !cg_requires_grad(idx));
    ASSERT_EQ(cg_backward(v, cg_from_data((const float[]){10, 20}, CG_SHAPE(2), 0), false), 0);
    ASSERT_VALUES(cg_grad(t), 0, 0, 10, 0, 0, 20, 0, 0, 0);
    /* t.min(0): [1,2,2,0], [0,1,1,0]; backward(ones): [[1,0,0,1],[0,1,1,0]] */
    cg_clear_grad(t);
    v = cg_min_dim(t, 0, false, &idx);
    ASSERT_VALUES(v, 0, 1, 2, 2, 0);
    ASSERT_VALUES(idx, 0, 0, 1, 1, 0);
    ASSERT_EQ(cg_backward(v, cg_ones(CG_SHAPE(4), 0), false), 0);
    ASSERT_VALUES(cg_grad(t), 0, 1, 0, 0, 1, 0, 1, 1, 0);
    /* t.argmax(1), t.argmin(0), t.argmax(), t.argmin(): [1,0] [0,1,1,0] 1 3 */
    ASSERT_VALUES(cg_argmax(t, 1, false), 0, 1, 0);
    ASSERT_VALUES(cg_argmin(t, 0, false), 0, 0, 1, 1, 0);
    ASSERT_VALUES(cg_argmax_all(t, false), 0, 1);
    ASSERT_VALUES(cg_argmin_all(t, false), 0, 3);
    cg_tensor *k = cg_argmax_all(t, true); /* t.argmax(keepdim=True): [[1]] */
    ASSERT(k && cg_ndim(k) == 2 && cg_shape(k)[0] == 1 && cg_shape(k)[1] == 1);
    /* integer ties: torch.max(torch.tensor([[3,7,7],[9,1,9]]), 1): [7,9], [1,0] */
    cg_tensor *ti = cg_from_data((const int64_t[]){3, 7, 7, 9, 1, 9}, CG_SHAPE(2, 3), CG_INT64);
    v = cg_max_dim(ti, 1, false, &idx);
    ASSERT(v && cg_dtype_of(v) == CG_INT64);
    ASSERT_VALUES(v, 0, 7, 9);
    ASSERT_VALUES(idx, 0, 1, 0);
    /* NaN wins, the first one: t = [[1,nan,3,nan],[2,5,nan,1]]; t.max(1):
     * [nan,nan], [1,2]; the gradient goes there; t.min(1)[1], t.argmax(1): [1,2];
     * t.argmin(): 1 */
    t = tensor_f((const float[]){1, NAN, 3, NAN, 2, 5, NAN, 1}, CG_SHAPE(2, 4), CG_REQUIRES_GRAD);
    v = cg_max_dim(t, 1, false, &idx);
    ASSERT_VALUES(v, 0, NAN, NAN);
    ASSERT_VALUES(idx, 0, 1, 2);
    ASSERT_EQ(cg_backward(v, cg_ones(CG_SHAPE(2), 0), false), 0);
    ASSERT_VALUES(cg_grad(t), 0, 0, 1, 0, 0, 0, 0, 1, 0);
    cg_min_dim(t, 1, false, &idx);
    ASSERT_VALUES(idx, 0, 1, 2);
    ASSERT_VALUES(cg_argmax(t, 1, false), 0, 1, 2);
    ASSERT_VALUES(cg_argmin_all(t, false), 0, 1);
    /* bool: torch.max(torch.tensor([True, False]), 0): True, 0 */
    v = cg_max_dim(cg_from_data((const bool[]){true, false}, CG_SHAPE(2), CG_BOOL), 0, false, &idx);
    ASSERT(v && cg_dtype_of(v) == CG_BOOL && cg_ndim(v) == 0);
    ASSERT_VALUES(v, 0, 1);
    ASSERT_VALUES(idx, 0, 0);
}

TEST(test_prod_zeros) {
    /* x = torch.tensor([[1.5,0.,2.,-1.],[0.5,4.,-2.,3.]], requires_grad=True)
     * x.prod().backward(): [[0,36,0,-0],[0,0,-0,0]]
     * x.prod(1).backward(ones(2)): [[-0,-3,-0,0],[-24,-3,6,-4]] */
    const float v1[] = {1.5f, 0, 2, -1, 0.5f, 4, -2, 3};
    cg_tensor *x = tensor_f(v1, CG_SHAPE(2, 4), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(cg_prod(x), NULL, false), 0);
    ASSERT_VALUES(cg_grad(x), 1e-6, 0, 36, 0, 0, 0, 0, 0, 0);
    cg_clear_grad(x);
    ASSERT_EQ(cg_backward(cg_prod_dim(x, 1, false), cg_ones(CG_SHAPE(2), 0), false), 0);
    ASSERT_VALUES(cg_grad(x), 1e-6, 0, -3, 0, 0, -24, -3, 6, -4);
    /* two zeros: x = [[1.5,0.,2.,0.],[0.5,4.,-2.,3.]]: x.prod() gives zeros;
     * x.prod(1): [[0,0,0,0],[-24,-3,6,-4]]; x.prod(0): [[0.5,4,-2,3],[1.5,0,2,0]] */
    const float v2[] = {1.5f, 0, 2, 0, 0.5f, 4, -2, 3};
    x = tensor_f(v2, CG_SHAPE(2, 4), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(cg_prod(x), NULL, false), 0);
    ASSERT_VALUES(cg_grad(x), 0, 0, 0, 0, 0, 0, 0, 0, 0);
    cg_clear_grad(x);
    ASSERT_EQ(cg_backward(cg_prod_dim(x, 1, false), cg_ones(CG_SHAPE(2), 0), false), 0);
    ASSERT_VALUES(cg_grad(x), 1e-6, 0, 0, 0, 0, -24, -3, 6, -4);
    cg_clear_grad(x);
    ASSERT_EQ(cg_backward(cg_prod_dim(x, 0, false), cg_ones(CG_SHAPE(4), 0), false), 0);
    ASSERT_VALUES(cg_grad(x), 1e-6, 0.5, 4, -2, 3, 1.5, 0, 2, 0);
    /* second order, x = torch.tensor([1.5,0.,2.,-1.], dtype=torch.float64):
     * g = grad(x.prod(), x, create_graph=True): [-0,-3,-0,0];
     * grad(g.sum(), x): [-2,-0.5,-1.5,3] */
    cg_tensor *xd = tensor_d((const double[]){1.5, 0, 2, -1}, CG_SHAPE(4), CG_REQUIRES_GRAD), *g[1],
              *h[1];
    cg_tensor *p = cg_prod(xd);
    ASSERT_EQ(cg_autograd_grad(1, &p, NULL, 1, &xd, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, g), 0);
    ASSERT_VALUES(g[0], 1e-12, 0, -3, 0, 0);
    cg_tensor *gs = cg_sum(g[0]);
    ASSERT_EQ(cg_autograd_grad(1, &gs, NULL, 1, &xd, 0, h), 0);
    ASSERT_VALUES(h[0], 1e-12, -2, -0.5, -1.5, 3);
    /* two zeros, x = [1.5,0.,2.,0.]: grad(x.prod(0), create_graph) is 0 and
     * the second derivative [0,3,0,3] (torch's prod() gives 0 there: its
     * zeros_like shortcut is constant; ours is exact, as torch's prod(0)) */
    xd = tensor_d((const double[]){1.5, 0, 2, 0}, CG_SHAPE(4), CG_REQUIRES_GRAD);
    p = cg_prod_dim(xd, 0, false);
    ASSERT_EQ(cg_autograd_grad(1, &p, NULL, 1, &xd, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, g), 0);
    ASSERT_VALUES(g[0], 0, 0, 0, 0, 0);
    gs = cg_sum(g[0]);
    ASSERT_EQ(cg_autograd_grad(1, &gs, NULL, 1, &xd, 0, h), 0);
    ASSERT_VALUES(h[0], 1e-12, 0, 3, 0, 3);
    p = cg_prod(xd);
    ASSERT_EQ(cg_autograd_grad(1, &p, NULL, 1, &xd, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, g), 0);
    gs = cg_sum(g[0]);
    ASSERT_EQ(cg_autograd_grad(1, &gs, NULL, 1, &xd, 0, h), 0);
    ASSERT_VALUES(h[0], 1e-12, 0, 3, 0, 3);
    /* integers: torch.prod(torch.tensor([2**40, 2**40, 3])) wraps to 0;
     * torch.prod(torch.tensor([[True,False],[True,True]]), 1): [0, 1] (int64) */
    cg_tensor *r = cg_prod(
        cg_from_data((const int64_t[]){1LL << 40, 1LL << 40, 3}, CG_SHAPE(3), CG_INT64));
    ASSERT(r && cg_dtype_of(r) == CG_INT64);
    ASSERT_VALUES(r, 0, 0);
    r = cg_prod_dim(cg_from_data((const bool[]){true, false, true, true}, CG_SHAPE(2, 2), CG_BOOL),
                    1, false);
    ASSERT(r && cg_dtype_of(r) == CG_INT64);
    ASSERT_VALUES(r, 0, 0, 1);
}

TEST(test_norm_at_zero) {
    /* t = torch.tensor([[0.,0.,0.],[3.,0.,-4.]], requires_grad=True);
     * vector_norm(t, p, (1,)).backward([1., 2.]) */
    static const struct {
        double p;
        double grad[6];
    } cases[] = {
        {2, {0, 0, 0, 1.2, 0, -1.6}},
        {1, {0, 0, 0, 2, 0, -2}},
        {INFINITY, {0, 0, 0, 0, 0, -2}},
        {3, {0, 0, 0, 0.8897026777267456, 0, -1.5816936492919922}},
        {1.5, {0, 0, 0, 1.4659128189086914, 0, -1.692690372467041}},
        {0.5, {0, 0, 0, 4.309401035308838, 0, -3.732050895690918}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cg_tensor *t = tensor_f((const float[]){0, 0, 0, 3, 0, -4}, CG_SHAPE(2, 3),
                                CG_REQUIRES_GRAD);
        cg_tensor *n = cg_norm(t, cases[c].p, CG_DIMS(1), false);
        ASSERT_STR_EQ(cg_node_name(cg_grad_fn(n)), "LinalgVectorNormBackward0");
        ASSERT_EQ(cg_backward(n, cg_from_data((const float[]){1, 2}, CG_SHAPE(2), 0), false), 0);
        ASSERT(values_are(cg_grad(t), cases[c].grad, 6, 1e-6));
    }
    /* p = 0 counts nonzeros and has no gradient: vector_norm(t, 0) -> t.grad is None */
    cg_tensor *t = tensor_f((const float[]){0, 0, 0, 3, 0, -4}, CG_SHAPE(2, 3), CG_REQUIRES_GRAD);
    cg_tensor *n = cg_norm(t, 0, 0, NULL, false);
    ASSERT_VALUES(n, 0, 2);
    ASSERT_EQ(cg_backward(n, NULL, false), 0);
    ASSERT_NULL(cg_grad(t));
    /* float32 overflow as torch: vector_norm(torch.tensor([1e30,1e30]), 2) is inf,
     * vector_norm(torch.tensor([1e-30,1e-30]), 2) is 0 */
    ASSERT_VALUES(cg_norm(tensor_f((const float[]){1e30f, 1e30f}, CG_SHAPE(2), 0), 2, 0, NULL,
                          false),
                  0, INFINITY);
    ASSERT_VALUES(cg_norm(tensor_f((const float[]){1e-30f, 1e-30f}, CG_SHAPE(2), 0), 2, 0, NULL,
                          false),
                  0, 0);
}

TEST(test_var_lse_edges) {
    /* torch.var(torch.tensor([[1.,2.,4.]]), 1): 2.3333; std(correction=0): 1.2472 */
    cg_tensor *a = tensor_f((const float[]){1, 2, 4}, CG_SHAPE(1, 3), 0);
    ASSERT_VALUES(cg_var(a, CG_DIMS(1), 1, false), 1e-6, 2.3333332538604736);
    ASSERT_VALUES(cg_std(a, CG_DIMS(1), 0, false), 1e-6, 1.2472190856933594);
    /* N <= correction: torch.var(torch.tensor([1.,2.]), dim=None, correction=3): inf;
     * torch.var(torch.ones(1)): nan; torch.var(torch.ones(0,3), 0): [nan]*3 */
    ASSERT_VALUES(cg_var(tensor_f((const float[]){1, 2}, CG_SHAPE(2), 0), 0, NULL, 3, false), 0,
                  INFINITY);
    ASSERT_VALUES(cg_var(ONES(1), 0, NULL, 1, false), 0, NAN);
    ASSERT_VALUES(cg_var(ONES(0, 3), CG_DIMS(0), 1, false), 0, NAN, NAN, NAN);
    /* gradients at N == correction: var(t, 0, correction=2) of [1.,2.]: [-inf, inf];
     * var of a 0-d tensor (correction 1): inf */
    cg_tensor *t = tensor_f((const float[]){1, 2}, CG_SHAPE(2), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(cg_var(t, CG_DIMS(0), 2, false), NULL, false), 0);
    ASSERT_VALUES(cg_grad(t), 0, -INFINITY, INFINITY);
    cg_tensor *s = cg_requires_grad_(cg_scalar(3, 0), true);
    ASSERT_EQ(cg_backward(cg_var(s, 0, NULL, 1, false), NULL, false), 0);
    ASSERT_VALUES(cg_grad(s), 0, INFINITY);
    /* std of a constant: torch.std(torch.tensor([2.,2.])) is 0, gradient [0, 0] */
    t = tensor_f((const float[]){2, 2}, CG_SHAPE(2), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(cg_std(t, 0, NULL, 1, false), NULL, false), 0);
    ASSERT_VALUES(cg_grad(t), 0, 0, 0);
    /* torch.logsumexp(t, 1) of [[-inf,-inf],[inf,1],[nan,1]]: [-inf, inf, nan],
     * backward(ones): [[nan,nan],[nan,0],[nan,nan]] */
    t = tensor_f((const float[]){-INFINITY, -INFINITY, INFINITY, 1, NAN, 1}, CG_SHAPE(3, 2),
                 CG_REQUIRES_GRAD);
    cg_tensor *l = cg_logsumexp(t, CG_DIMS(1), false);
    ASSERT_VALUES(l, 0, -INFINITY, INFINITY, NAN);
    ASSERT_EQ(cg_backward(l, cg_ones(CG_SHAPE(3), 0), false), 0);
    ASSERT_VALUES(cg_grad(t), 0, NAN, NAN, NAN, 0, NAN, NAN);
    /* torch.logsumexp(torch.tensor([[1000., 1000.]]), 1): 1000.6932;
     * torch.logsumexp(torch.tensor([[1,2]]), 1): float32 2.3133 */
    ASSERT_VALUES(cg_logsumexp(tensor_f((const float[]){1000, 1000}, CG_SHAPE(1, 2), 0), CG_DIMS(1),
                               false),
                  1e-3, 1000.6931762695312);
    l = cg_logsumexp(cg_from_data((const int64_t[]){1, 2}, CG_SHAPE(1, 2), CG_INT64), CG_DIMS(1),
                     false);
    ASSERT(l && cg_dtype_of(l) == CG_FLOAT32);
    ASSERT_VALUES(l, 1e-6, 2.3132617473602295);
}

TEST_MAIN(test_err_max_min_dim, test_err_argmax_argmin, test_err_var_std, test_err_logsumexp_prod,
          test_err_norm, test_null_tensors, test_max_min_ties_and_nan, test_prod_zeros,
          test_norm_at_zero, test_var_lse_edges)
