/* Tensors: creation, access, views, copies, dtype conversion and promotion,
 * comparisons, reductions and matmul shapes. Expected values that are not
 * obvious were computed with PyTorch 1.13 (the expression is in a comment
 * beside each) and are hardcoded here. */
#include "test.h"

#include <stdint.h>

/* ------------------------------------------------------------ helpers */

/* Element i of t in row-major order, read through cg_get. */
static double at(const cg_tensor *t, int64_t i) {
    int64_t idx[CG_MAX_DIMS];
    int nd = cg_ndim(t);
    const int64_t *sh = cg_shape(t);
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = i % sh[d];
        i /= sh[d];
    }
    return cg_get(t, idx);
}

static bool vals_near(const cg_tensor *t, int64_t n, const double *e, double tol) {
    if (!t) {
        fprintf(stderr, "    tensor is NULL (last error: %s)\n",
                cg_last_error() ? cg_last_error() : "none");
        return false;
    }
    if (cg_numel(t) != n) {
        fprintf(stderr, "    numel %lld, expected %lld\n", (long long)cg_numel(t), (long long)n);
        return false;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = at(t, i);
        if (!(fabs(v - e[i]) <= tol) && !(isnan(v) && isnan(e[i]))) {
            fprintf(stderr, "    element %lld: got %.17g, expected %.17g\n", (long long)i, v, e[i]);
            return false;
        }
    }
    return true;
}

/* ASSERT_VALS(t, tol, v0, v1, ...): t's elements in row-major order. */
#define ASSERT_VALS(t, tol, ...)                                                                   \
    do {                                                                                           \
        static const double e_[] = {__VA_ARGS__};                                                  \
        ASSERT(vals_near((t), (int64_t)(sizeof e_ / sizeof e_[0]), e_, (tol)));                    \
    } while (0)

static bool dims_are(const int64_t *got, int gn, int n, const int64_t *want) {
    if (!got && n) return false;
    if (gn != n) {
        fprintf(stderr, "    ndim %d, expected %d\n", gn, n);
        return false;
    }
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "    dim %d: got %lld, expected %lld\n", i, (long long)got[i],
                    (long long)want[i]);
            return false;
        }
    return true;
}
#define ASSERT_SHAPE(t, ...) ASSERT((t) && dims_are(cg_shape(t), cg_ndim(t), CG_SHAPE(__VA_ARGS__)))
#define ASSERT_STRIDES(t, ...)                                                                     \
    ASSERT((t) && dims_are(cg_strides(t), cg_ndim(t), CG_SHAPE(__VA_ARGS__)))

/* Row-major iteration over a shape; false after the last index. */
static bool next_index(int nd, const int64_t *shape, int64_t *idx) {
    for (int d = nd - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) return true;
        idx[d] = 0;
    }
    return false;
}

/* torch.matmul by plain loops (through cg_get): the expected shape and values
 * (row-major, malloc'ed). */
static double *ref_matmul(const cg_tensor *a, const cg_tensor *b, int *ond, int64_t *oshape) {
    int da = cg_ndim(a), db = cg_ndim(b);
    int64_t as[CG_MAX_DIMS + 1], bs[CG_MAX_DIMS + 1];
    int na = 0, nb = 0;
    if (da == 1) as[na++] = 1;
    for (int d = 0; d < da; d++) as[na++] = cg_size(a, d);
    for (int d = 0; d < db; d++) bs[nb++] = cg_size(b, d);
    if (db == 1) bs[nb++] = 1;
    int64_t n = as[na - 2], k = as[na - 1], m = bs[nb - 1];
    int ba = na - 2, bb = nb - 2, nbatch = ba > bb ? ba : bb;
    int64_t batch[CG_MAX_DIMS];
    for (int i = 0; i < nbatch; i++) {
        int ia = i - (nbatch - ba), ib = i - (nbatch - bb);
        int64_t x = ia >= 0 ? as[ia] : 1, y = ib >= 0 ? bs[ib] : 1;
        batch[i] = x == 1 ? y : x;
    }
    int nd = 0;
    int64_t total = n * m;
    for (int i = 0; i < nbatch; i++) oshape[nd++] = batch[i], total *= batch[i];
    if (da > 1) oshape[nd++] = n;
    if (db > 1) oshape[nd++] = m;
    *ond = nd;
    double *out = calloc((size_t)(total ? total : 1), sizeof *out);
    int64_t bi[CG_MAX_DIMS] = {0};
    int64_t o = 0;
    do {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < m; j++) {
                double acc = 0;
                for (int64_t p = 0; p < k; p++) {
                    int64_t ia[CG_MAX_DIMS + 1], ib[CG_MAX_DIMS + 1];
                    int xa = 0, xb = 0;
                    for (int d = 0; d < ba; d++) ia[xa++] = as[d] == 1 ? 0 : bi[nbatch - ba + d];
                    if (da > 1) ia[xa++] = i;
                    ia[xa++] = p;
                    for (int d = 0; d < bb; d++) ib[xb++] = bs[d] == 1 ? 0 : bi[nbatch - bb + d];
                    ib[xb++] = p;
                    if (db > 1) ib[xb++] = j;
                    acc += cg_get(a, ia) * cg_get(b, ib);
                }
                out[o++] = acc;
            }
    } while (nbatch > 0 && next_index(nbatch, batch, bi));
    return out;
}

/* cg_matmul(a, b) against ref_matmul. */
static bool matmul_matches(cg_tensor *a, cg_tensor *b, double tol) {
    int nd;
    int64_t shape[CG_MAX_DIMS + 1];
    double *e = ref_matmul(a, b, &nd, shape);
    cg_tensor *r = cg_matmul(a, b);
    bool ok = r && dims_are(cg_shape(r), cg_ndim(r), nd, shape) &&
              cg_dtype_of(r) == cg_dtype_of(a) && vals_near(r, cg_numel(r), e, tol);
    if (!ok) {
        fprintf(stderr, "    matmul of [");
        for (int d = 0; d < cg_ndim(a); d++)
            fprintf(stderr, "%s%lld", d ? ", " : "", (long long)cg_size(a, d));
        fprintf(stderr, "] and [");
        for (int d = 0; d < cg_ndim(b); d++)
            fprintf(stderr, "%s%lld", d ? ", " : "", (long long)cg_size(b, d));
        fprintf(stderr, "] (last error: %s)\n", cg_last_error() ? cg_last_error() : "none");
    }
    free(e);
    return ok;
}

static cg_tensor *randn64(int nd, const int64_t *shape) { return cg_randn(nd, shape, CG_FLOAT64); }

/* ------------------------------------------------------------ creation */

TEST(test_from_data_float32) {
    float f[6] = {1.5f, -2, 0, 3.25f, 1e-3f, -7};
    cg_tensor *t = cg_from_data(f, CG_SHAPE(2, 3), CG_FLOAT32);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(cg_dtype_of(t), CG_FLOAT32);
    ASSERT_EQ(cg_ndim(t), 2);
    ASSERT_SHAPE(t, 2, 3);
    ASSERT_STRIDES(t, 3, 1);
    ASSERT_EQ(cg_numel(t), 6);
    ASSERT(cg_is_contiguous(t));
    ASSERT(!cg_requires_grad(t));
    ASSERT(cg_is_leaf(t));
    ASSERT_NULL(cg_grad_fn(t));
    ASSERT_NULL(cg_grad(t));
    ASSERT_VALS(t, 0, 1.5, -2, 0, 3.25, (float)1e-3, -7);
    f[0] = 99; /* the data was copied */
    ASSERT_NEAR(at(t, 0), 1.5, 0);
    ASSERT_PTR_NE(cg_data_ptr(t), (void *)f);
    /* opts 0 is float32 too */
    cg_tensor *u = cg_from_data(f, CG_SHAPE(6), 0);
    ASSERT_EQ(cg_dtype_of(u), CG_FLOAT32);
    ASSERT_VALS(u, 0, 99, -2, 0, 3.25, (float)1e-3, -7);
}

TEST(test_from_data_float64) {
    double d[3] = {0.1, -1e300, 1e-300};
    cg_tensor *t = cg_from_data(d, CG_SHAPE(3), CG_FLOAT64);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(cg_dtype_of(t), CG_FLOAT64);
    ASSERT_SHAPE(t, 3);
    const double *p = cg_data_ptr(t);
    ASSERT(p[0] == 0.1 && p[1] == -1e300 && p[2] == 1e-300);
    ASSERT_VALS(t, 0, 0.1, -1e300, 1e-300);
}

TEST(test_from_data_int64) {
    int64_t v[4] = {-5, 0, (int64_t)1 << 40, 9007199254740993LL}; /* 2^53 + 1: not a double */
    cg_tensor *t = cg_from_data(v, CG_SHAPE(2, 2), CG_INT64);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(cg_dtype_of(t), CG_INT64);
    ASSERT_SHAPE(t, 2, 2);
    const int64_t *p = cg_data_ptr(t);
    for (int i = 0; i < 4; i++) ASSERT_EQ(p[i], v[i]);
    ASSERT_VALS(t, 0, -5, 0, 1099511627776.0, 9007199254740992.0); /* cg_get rounds to double */
}

TEST(test_from_data_bool) {
    bool v[3] = {true, false, true};
    cg_tensor *t = cg_from_data(v, CG_SHAPE(3, 1), CG_BOOL);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(cg_dtype_of(t), CG_BOOL);
    ASSERT_SHAPE(t, 3, 1);
    ASSERT_VALS(t, 0, 1, 0, 1);
    const bool *p = cg_data_ptr(t);
    ASSERT(p[0] && !p[1] && p[2]);
}

TEST(test_from_data_0d_and_empty) {
    float v = 4.5f;
    cg_tensor *s = cg_from_data(&v, CG_SCALAR_SHAPE, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(cg_ndim(s), 0);
    ASSERT_EQ(cg_numel(s), 1);
    ASSERT(cg_is_contiguous(s));
    ASSERT_NEAR(cg_item(s), 4.5, 0);
    /* no elements: the data pointer may be NULL */
    cg_tensor *e = cg_from_data(NULL, CG_SHAPE(0, 3), CG_INT64);
    ASSERT_NOT_NULL(e);
    ASSERT_SHAPE(e, 0, 3);
    ASSERT_EQ(cg_numel(e), 0);
    ASSERT_EQ(cg_dtype_of(e), CG_INT64);
    /* the most dims allowed */
    cg_tensor *m = cg_ones(CG_SHAPE(1, 2, 1, 2, 1, 2, 1, 2), CG_FLOAT64);
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(cg_ndim(m), CG_MAX_DIMS);
    ASSERT_EQ(cg_numel(m), 16);
}

TEST(test_scalar) {
    cg_tensor *f = cg_scalar(0.1, 0);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(cg_ndim(f), 0);
    ASSERT_EQ(cg_numel(f), 1);
    ASSERT_EQ(cg_dtype_of(f), CG_FLOAT32);
    ASSERT_EQ(cg_item(f), (double)0.1f); /* rounded to float32 */
    cg_tensor *d = cg_scalar(0.1, CG_FLOAT64);
    ASSERT_EQ(cg_item(d), 0.1);
    /* torch.tensor(2.7, dtype=torch.int64) -> tensor(2); -2.7 -> -2 */
    cg_tensor *i = cg_scalar(2.7, CG_INT64);
    ASSERT_EQ(cg_dtype_of(i), CG_INT64);
    ASSERT_NEAR(cg_item(i), 2, 0);
    ASSERT_NEAR(cg_item(cg_scalar(-2.7, CG_INT64)), -2, 0);
    cg_tensor *b = cg_scalar(0.5, CG_BOOL);
    ASSERT_EQ(cg_dtype_of(b), CG_BOOL);
    ASSERT_NEAR(cg_item(b), 1, 0);
    ASSERT_NEAR(cg_item(cg_scalar(0, CG_BOOL)), 0, 0);
    cg_tensor *g = cg_scalar(3, CG_FLOAT64 | CG_REQUIRES_GRAD);
    ASSERT(cg_requires_grad(g));
    ASSERT(cg_is_leaf(g));
}

TEST(test_empty_zeros_ones_full) {
    static const cg_dtype dts[] = {CG_FLOAT32, CG_FLOAT64, CG_INT64, CG_BOOL};
    for (int k = 0; k < 4; k++) {
        cg_tensor *e = cg_empty(CG_SHAPE(2, 3), (int)dts[k]);
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(cg_dtype_of(e), dts[k]);
        ASSERT_SHAPE(e, 2, 3);
        ASSERT_STRIDES(e, 3, 1);
        cg_tensor *z = cg_zeros(CG_SHAPE(3, 2), (int)dts[k]);
        ASSERT_EQ(cg_dtype_of(z), dts[k]);
        ASSERT_VALS(z, 0, 0, 0, 0, 0, 0, 0);
        cg_tensor *o = cg_ones(CG_SHAPE(4), (int)dts[k]);
        ASSERT_EQ(cg_dtype_of(o), dts[k]);
        ASSERT_VALS(o, 0, 1, 1, 1, 1);
    }
    ASSERT_VALS(cg_full(CG_SHAPE(2), 2.5, 0), 0, 2.5, 2.5);
    ASSERT_VALS(cg_full(CG_SHAPE(2), -1e10, CG_FLOAT64), 0, -1e10, -1e10);
    /* torch.full((2,), 2.7, dtype=torch.int64) -> tensor([2, 2]); -2.7 -> [-2, -2] */
    ASSERT_VALS(cg_full(CG_SHAPE(2), 2.7, CG_INT64), 0, 2, 2);
    ASSERT_VALS(cg_full(CG_SHAPE(2), -2.7, CG_INT64), 0, -2, -2);
    /* torch.full((2,), 0.5, dtype=torch.bool) -> tensor([True, True]) */
    ASSERT_VALS(cg_full(CG_SHAPE(2), 0.5, CG_BOOL), 0, 1, 1);
    ASSERT_VALS(cg_full(CG_SHAPE(2), 0, CG_BOOL), 0, 0, 0);
    cg_tensor *f0 = cg_full(CG_SCALAR_SHAPE, 7, CG_FLOAT64);
    ASSERT_EQ(cg_ndim(f0), 0);
    ASSERT_NEAR(cg_item(f0), 7, 0);
    ASSERT_NEAR(cg_item(cg_zeros(CG_SCALAR_SHAPE, 0)), 0, 0);
    ASSERT_NEAR(cg_item(cg_ones(CG_SCALAR_SHAPE, CG_INT64)), 1, 0);
    cg_tensor *z0 = cg_zeros(CG_SHAPE(2, 0, 3), 0);
    ASSERT_SHAPE(z0, 2, 0, 3);
    ASSERT_EQ(cg_numel(z0), 0);
    ASSERT(cg_is_contiguous(z0));
    ASSERT_EQ(cg_numel(cg_empty(CG_SHAPE(0), CG_BOOL)), 0);
}

TEST(test_arange_float) {
    /* torch.arange(0, 1, 0.1) (float32) */
    cg_tensor *a = cg_arange(0, 1, 0.1, 0);
    ASSERT_EQ(cg_dtype_of(a), CG_FLOAT32);
    ASSERT_SHAPE(a, 10);
    ASSERT_VALS(a, 0, 0.0, 0.10000000149011612, 0.20000000298023224, 0.30000001192092896,
                0.4000000059604645, 0.5, 0.6000000238418579, 0.699999988079071, 0.800000011920929,
                0.8999999761581421);
    /* torch.arange(1, -1, -0.5) */
    ASSERT_VALS(cg_arange(1, -1, -0.5, 0), 0, 1.0, 0.5, 0.0, -0.5);
    /* torch.arange(-3, 3, 2.5, dtype=torch.float64) */
    cg_tensor *b = cg_arange(-3, 3, 2.5, CG_FLOAT64);
    ASSERT_EQ(cg_dtype_of(b), CG_FLOAT64);
    ASSERT_VALS(b, 0, -3.0, -0.5, 2.0);
    /* torch.arange(0, 1, 0.3, dtype=torch.float64) */
    ASSERT_VALS(cg_arange(0, 1, 0.3, CG_FLOAT64), 0, 0.0, 0.3, 0.6, 0.8999999999999999);
    /* torch.arange(0, 5, 1) (as float32) */
    ASSERT_VALS(cg_arange(0, 5, 1, 0), 0, 0, 1, 2, 3, 4);
    cg_tensor *e = cg_arange(2, 2, 1, 0);
    ASSERT_SHAPE(e, 0);
    cg_tensor *g = cg_arange(0, 3, 1, CG_REQUIRES_GRAD);
    ASSERT(cg_requires_grad(g) && cg_is_leaf(g));
}

TEST(test_arange_int64) {
    /* torch.arange(0, 5, 1, dtype=torch.int64) */
    cg_tensor *a = cg_arange(0, 5, 1, CG_INT64);
    ASSERT_EQ(cg_dtype_of(a), CG_INT64);
    ASSERT_VALS(a, 0, 0, 1, 2, 3, 4);
    /* torch.arange(5, 0, -2, dtype=torch.int64) -> [5, 3, 1] */
    ASSERT_VALS(cg_arange(5, 0, -2, CG_INT64), 0, 5, 3, 1);
    /* torch.arange(0, 10, 3, dtype=torch.int64) -> [0, 3, 6, 9] */
    ASSERT_VALS(cg_arange(0, 10, 3, CG_INT64), 0, 0, 3, 6, 9);
    /* torch.arange(0.5, 3, 1, dtype=torch.int64) -> [0, 1, 2] */
    ASSERT_VALS(cg_arange(0.5, 3, 1, CG_INT64), 0, 0, 1, 2);
    /* torch.arange(-1, -7, -1, dtype=torch.int64) */
    ASSERT_VALS(cg_arange(-1, -7, -1, CG_INT64), 0, -1, -2, -3, -4, -5, -6);
    ASSERT_EQ(cg_numel(cg_arange(0, 0, 1, CG_INT64)), 0);
}

TEST(test_arange_int64_fractional_step) {
    /* PyTorch truncates the step to an integer for integer dtypes:
     * torch.arange(0, 10, 1.5, dtype=torch.int64) -> [0, 1, ..., 9] (10 elements)
     * torch.arange(-1, -10, -2.5, dtype=torch.int64) -> [-1, -3, -5, -7, -9] */
    ASSERT_VALS(cg_arange(0, 10, 1.5, CG_INT64), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    ASSERT_VALS(cg_arange(-1, -10, -2.5, CG_INT64), 0, -1, -3, -5, -7, -9);
}

TEST(test_linspace) {
    /* torch.linspace(0, 1, 5) */
    cg_tensor *a = cg_linspace(0, 1, 5, 0);
    ASSERT_EQ(cg_dtype_of(a), CG_FLOAT32);
    ASSERT_SHAPE(a, 5);
    ASSERT_VALS(a, 0, 0.0, 0.25, 0.5, 0.75, 1.0);
    /* torch.linspace(-5, 5, 11) */
    ASSERT_VALS(cg_linspace(-5, 5, 11, 0), 0, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5);
    /* torch.linspace(1, 0, 3) */
    ASSERT_VALS(cg_linspace(1, 0, 3, 0), 0, 1.0, 0.5, 0.0);
    /* torch.linspace(3, 3, 1); torch.linspace(0, 1, 2) */
    ASSERT_VALS(cg_linspace(3, 3, 1, 0), 0, 3.0);
    ASSERT_VALS(cg_linspace(0, 1, 2, 0), 0, 0.0, 1.0);
    /* torch.linspace(0, 1, 0) -> tensor([]) */
    cg_tensor *e = cg_linspace(0, 1, 0, 0);
    ASSERT_SHAPE(e, 0);
    /* torch.linspace(0, 10, 7, dtype=torch.float64) */
    cg_tensor *d = cg_linspace(0, 10, 7, CG_FLOAT64);
    ASSERT_EQ(cg_dtype_of(d), CG_FLOAT64);
    ASSERT_VALS(d, 1e-14, 0.0, 1.6666666666666667, 3.3333333333333335, 5.0, 6.666666666666666,
                8.333333333333334, 10.0);
    /* torch.linspace(0, 10, 4, dtype=torch.int64) -> [0, 3, 6, 10] */
    cg_tensor *i = cg_linspace(0, 10, 4, CG_INT64);
    ASSERT_EQ(cg_dtype_of(i), CG_INT64);
    ASSERT_VALS(i, 0, 0, 3, 6, 10);
    /* float32 steps that are not exact: PyTorch computes in float32, so
     * within a float32 rounding of these.
     * torch.linspace(0, 1, 7); torch.linspace(-1, 1, 4) */
    ASSERT_VALS(cg_linspace(0, 1, 7, 0), 1.2e-7, 0.0, 0.1666666716337204, 0.3333333432674408, 0.5,
                0.6666666269302368, 0.8333333134651184, 1.0);
    ASSERT_VALS(cg_linspace(-1, 1, 4, 0), 1.2e-7, -1.0, -0.3333333134651184, 0.3333333134651184,
                1.0);
}

TEST(test_rand_range) {
    cg_manual_seed(7);
    cg_tensor *r = cg_rand(CG_SHAPE(100, 100), 0);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_SHAPE(r, 100, 100);
    const float *p = cg_data_ptr(r);
    double sum = 0, lo = 1, hi = 0;
    for (int i = 0; i < 10000; i++) {
        ASSERT(p[i] >= 0.0f && p[i] < 1.0f);
        sum += p[i];
        if (p[i] < lo) lo = p[i];
        if (p[i] > hi) hi = p[i];
    }
    ASSERT_NEAR(sum / 10000, 0.5, 0.015);
    ASSERT(lo < 0.01 && hi > 0.99);
    cg_tensor *d = cg_rand(CG_SHAPE(1000), CG_FLOAT64);
    ASSERT_EQ(cg_dtype_of(d), CG_FLOAT64);
    const double *q = cg_data_ptr(d);
    for (int i = 0; i < 1000; i++) ASSERT(q[i] >= 0.0 && q[i] < 1.0);
    cg_tensor *s = cg_rand(CG_SCALAR_SHAPE, 0);
    ASSERT_EQ(cg_ndim(s), 0);
    ASSERT(cg_item(s) >= 0 && cg_item(s) < 1);
}

static bool normal_stats(const cg_tensor *t, int64_t n) {
    double sum = 0, sq = 0;
    int64_t in1 = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = cg_dtype_of(t) == CG_FLOAT32 ? ((const float *)cg_data_ptr(t))[i]
                                                : ((const double *)cg_data_ptr(t))[i];
        if (!isfinite(v)) return false;
        sum += v;
        sq += v * v;
        in1 += fabs(v) < 1;
    }
    double mean = sum / (double)n, sd = sqrt(sq / (double)n - mean * mean);
    double frac = (double)in1 / (double)n; /* P(|z| < 1) = 0.6827 */
    if (fabs(mean) > 0.02 || fabs(sd - 1) > 0.02 || fabs(frac - 0.6827) > 0.01) {
        fprintf(stderr, "    mean %g, std %g, P(|z|<1) %g\n", mean, sd, frac);
        return false;
    }
    return true;
}

TEST(test_randn_stats) {
    cg_manual_seed(2024);
    cg_tensor *r = cg_randn(CG_SHAPE(100000), 0);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT(normal_stats(r, 100000));
    /* an odd count (the last of a pair of draws) in float64 */
    cg_tensor *d = cg_randn(CG_SHAPE(333, 301), CG_FLOAT64);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(cg_dtype_of(d), CG_FLOAT64);
    ASSERT(normal_stats(d, 333 * 301));
}

TEST(test_manual_seed_reproducible) {
    cg_manual_seed(123);
    cg_tensor *a = cg_rand(CG_SHAPE(16), 0);
    cg_tensor *an = cg_randn(CG_SHAPE(5), CG_FLOAT64);
    cg_tensor *a2 = cg_rand(CG_SHAPE(16), 0); /* the stream moves on */
    cg_manual_seed(123);
    cg_tensor *b = cg_rand(CG_SHAPE(16), 0);
    cg_tensor *bn = cg_randn(CG_SHAPE(5), CG_FLOAT64);
    ASSERT(cg_equal(a, b));
    ASSERT(cg_equal(an, bn));
    ASSERT(!cg_equal(a, a2));
    cg_manual_seed(124);
    ASSERT(!cg_equal(a, cg_rand(CG_SHAPE(16), 0)));
    /* *_like draws from the same generator */
    cg_manual_seed(5);
    cg_tensor *c = cg_rand_like(a, 0);
    cg_manual_seed(5);
    ASSERT(cg_equal(c, cg_rand(CG_SHAPE(16), 0)));
}

TEST(test_like) {
    cg_tensor *x = cg_from_data((int64_t[]){1, 2, 3, 4, 5, 6}, CG_SHAPE(2, 3), CG_INT64);
    cg_tensor *z = cg_zeros_like(x, 0);
    ASSERT_EQ(cg_dtype_of(z), CG_INT64);
    ASSERT_SHAPE(z, 2, 3);
    ASSERT_VALS(z, 0, 0, 0, 0, 0, 0, 0);
    ASSERT(!cg_shares_storage(z, x));
    cg_tensor *o = cg_ones_like(x, CG_LIKE_DTYPE | CG_FLOAT64);
    ASSERT_EQ(cg_dtype_of(o), CG_FLOAT64);
    ASSERT_SHAPE(o, 2, 3);
    ASSERT_VALS(o, 0, 1, 1, 1, 1, 1, 1);
    cg_tensor *f = cg_full_like(x, 7.9, 0); /* int64: truncated */
    ASSERT_EQ(cg_dtype_of(f), CG_INT64);
    ASSERT_VALS(f, 0, 7, 7, 7, 7, 7, 7);
    ASSERT_EQ(cg_dtype_of(cg_full_like(x, 7.5, CG_LIKE_DTYPE | CG_FLOAT64)), CG_FLOAT64);
    cg_tensor *e = cg_empty_like(x, CG_LIKE_DTYPE | CG_BOOL);
    ASSERT_EQ(cg_dtype_of(e), CG_BOOL);
    ASSERT_SHAPE(e, 2, 3);
    /* CG_LIKE_DTYPE alone names float32 (0) */
    ASSERT_EQ(cg_dtype_of(cg_zeros_like(x, CG_LIKE_DTYPE)), CG_FLOAT32);
    cg_tensor *d = cg_ones(CG_SHAPE(3, 1), CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *r = cg_rand_like(d, 0);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_SHAPE(r, 3, 1);
    ASSERT(!cg_requires_grad(r)); /* like torch: requires_grad is not copied */
    for (int i = 0; i < 3; i++) ASSERT(at(r, i) >= 0 && at(r, i) < 1);
    cg_tensor *n = cg_randn_like(d, CG_LIKE_DTYPE | CG_FLOAT32);
    ASSERT_EQ(cg_dtype_of(n), CG_FLOAT32);
    ASSERT_SHAPE(n, 3, 1);
    cg_tensor *g = cg_zeros_like(d, CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_dtype_of(g), CG_FLOAT64);
    ASSERT(cg_requires_grad(g) && cg_is_leaf(g));
    cg_tensor *g2 = cg_zeros_like(x, CG_LIKE_DTYPE | CG_FLOAT32 | CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_dtype_of(g2), CG_FLOAT32);
    ASSERT(cg_requires_grad(g2));
    /* a 0-d and a non-contiguous source */
    ASSERT_EQ(cg_ndim(cg_ones_like(cg_scalar(1, 0), 0)), 0);
    cg_tensor *t = cg_transpose(cg_zeros(CG_SHAPE(2, 3), 0), 0, 1);
    cg_tensor *tl = cg_ones_like(t, 0);
    ASSERT_SHAPE(tl, 3, 2);
    ASSERT_VALS(tl, 0, 1, 1, 1, 1, 1, 1);
}

TEST(test_requires_grad_at_creation) {
    float v[2] = {1, 2};
    cg_tensor *ts[] = {
        cg_from_data(v, CG_SHAPE(2), CG_REQUIRES_GRAD),
        cg_scalar(1, CG_REQUIRES_GRAD),
        cg_empty(CG_SHAPE(2), CG_REQUIRES_GRAD),
        cg_zeros(CG_SHAPE(2), CG_REQUIRES_GRAD),
        cg_ones(CG_SHAPE(2), CG_FLOAT64 | CG_REQUIRES_GRAD),
        cg_full(CG_SHAPE(2), 3, CG_FLOAT64 | CG_REQUIRES_GRAD),
        cg_arange(0, 2, 1, CG_REQUIRES_GRAD),
        cg_linspace(0, 1, 2, CG_FLOAT64 | CG_REQUIRES_GRAD),
        cg_rand(CG_SHAPE(2), CG_REQUIRES_GRAD),
        cg_randn(CG_SHAPE(2), CG_REQUIRES_GRAD),
    };
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        ASSERT_NOT_NULL(ts[i]);
        ASSERT(cg_requires_grad(ts[i]));
        ASSERT(cg_is_leaf(ts[i]));
        ASSERT_NULL(cg_grad_fn(ts[i]));
        ASSERT_NULL(cg_grad(ts[i]));
    }
    ASSERT(!cg_requires_grad(cg_ones(CG_SHAPE(2), 0)));
    ASSERT(!cg_requires_grad(cg_ones(CG_SHAPE(2), CG_FLOAT64)));
    /* and after creation */
    cg_tensor *x = cg_zeros(CG_SHAPE(2), 0);
    ASSERT_PTR_EQ(cg_requires_grad_(x, true), x);
    ASSERT(cg_requires_grad(x));
    ASSERT_PTR_EQ(cg_requires_grad_(x, false), x);
    ASSERT(!cg_requires_grad(x));
    /* an int tensor may be set to not require grad */
    cg_tensor *i = cg_zeros(CG_SHAPE(2), CG_INT64);
    ASSERT_PTR_EQ(cg_requires_grad_(i, false), i);
}

/* -------------------------------------------------------------- access */

TEST(test_access) {
    cg_tensor *t = cg_zeros(CG_SHAPE(2, 3, 4), CG_FLOAT64);
    ASSERT_EQ(cg_ndim(t), 3);
    ASSERT_EQ(cg_size(t, 0), 2);
    ASSERT_EQ(cg_size(t, 1), 3);
    ASSERT_EQ(cg_size(t, 2), 4);
    ASSERT_EQ(cg_size(t, -1), 4);
    ASSERT_EQ(cg_size(t, -2), 3);
    ASSERT_EQ(cg_size(t, -3), 2);
    ASSERT_SHAPE(t, 2, 3, 4);
    ASSERT_STRIDES(t, 12, 4, 1);
    ASSERT_EQ(cg_storage_offset(t), 0);
    ASSERT_EQ(cg_numel(t), 24);
    ASSERT_EQ(cg_dtype_of(t), CG_FLOAT64);
    ASSERT(cg_is_contiguous(t));
    cg_tensor *s = cg_scalar(1, CG_INT64);
    ASSERT_EQ(cg_ndim(s), 0);
    ASSERT_EQ(cg_numel(s), 1);
    ASSERT_EQ(cg_dtype_of(s), CG_INT64);
    ASSERT_EQ(cg_storage_offset(s), 0);
    /* size-1 dims take contiguous strides as PyTorch gives them */
    ASSERT_STRIDES(cg_zeros(CG_SHAPE(1, 3, 1, 2), 0), 6, 2, 2, 1);
    ASSERT_STRIDES(cg_zeros(CG_SHAPE(2, 0, 3), 0), 3, 3, 1); /* torch.zeros(2,0,3).stride() */
}

TEST(test_dtype_info) {
    ASSERT_STR_EQ(cg_dtype_name(CG_FLOAT32), "torch.float32");
    ASSERT_STR_EQ(cg_dtype_name(CG_FLOAT64), "torch.float64");
    ASSERT_STR_EQ(cg_dtype_name(CG_INT64), "torch.int64");
    ASSERT_STR_EQ(cg_dtype_name(CG_BOOL), "torch.bool");
    ASSERT_EQ(cg_dtype_size(CG_FLOAT32), 4);
    ASSERT_EQ(cg_dtype_size(CG_FLOAT64), 8);
    ASSERT_EQ(cg_dtype_size(CG_INT64), 8);
    ASSERT_EQ(cg_dtype_size(CG_BOOL), sizeof(bool));
    ASSERT(cg_dtype_is_floating(CG_FLOAT32) && cg_dtype_is_floating(CG_FLOAT64));
    ASSERT(!cg_dtype_is_floating(CG_INT64) && !cg_dtype_is_floating(CG_BOOL));
}

TEST(test_item) {
    ASSERT_NEAR(cg_item(cg_scalar(-3.5, 0)), -3.5, 0);
    ASSERT_NEAR(cg_item(cg_scalar(1e100, CG_FLOAT64)), 1e100, 0);
    ASSERT_NEAR(cg_item(cg_scalar(-42, CG_INT64)), -42, 0);
    ASSERT_NEAR(cg_item(cg_scalar(1, CG_BOOL)), 1, 0);
    /* any one-element tensor, of any ndim */
    ASSERT_NEAR(cg_item(cg_full(CG_SHAPE(1, 1, 1), 2.25, 0)), 2.25, 0);
    ASSERT_NEAR(cg_item(cg_full(CG_SHAPE(1), 9, CG_INT64)), 9, 0);
    ASSERT_NEAR(cg_item(cg_sum(cg_ones(CG_SHAPE(3), 0))), 3, 0);
    cg_clear_error();
    ASSERT(isnan(cg_item(cg_scalar(NAN, 0))));
    ASSERT_NULL(cg_last_error()); /* a NaN value is not an error */
}

TEST(test_get_set) {
    cg_tensor *t = cg_view(cg_arange(0, 6, 1, 0), CG_SHAPE(2, 3));
    ASSERT_NOT_NULL(t);
    ASSERT_NEAR(cg_get(t, (int64_t[]){1, 2}), 5, 0);
    ASSERT_NEAR(cg_get(t, (int64_t[]){-1, -1}), 5, 0);
    ASSERT_NEAR(cg_get(t, (int64_t[]){-2, 0}), 0, 0);
    ASSERT_NEAR(cg_get(t, (int64_t[]){0, -2}), 1, 0);
    uint64_t v0 = cg_version(t);
    ASSERT_EQ(cg_set(t, (int64_t[]){-1, 0}, 42), 0);
    ASSERT_EQ(cg_version(t), v0 + 1);
    ASSERT_NEAR(cg_get(t, (int64_t[]){1, 0}), 42, 0);
    ASSERT_EQ(cg_set(t, (int64_t[]){0, -3}, -1.5), 0);
    ASSERT_EQ(cg_version(t), v0 + 2);
    ASSERT_VALS(t, 0, -1.5, 1, 2, 42, 4, 5);
    /* int64: truncation toward zero; bool: nonzero */
    cg_tensor *i = cg_zeros(CG_SHAPE(2), CG_INT64);
    ASSERT_EQ(cg_set(i, (int64_t[]){0}, 2.9), 0);
    ASSERT_EQ(cg_set(i, (int64_t[]){-1}, -2.9), 0);
    ASSERT_VALS(i, 0, 2, -2);
    cg_tensor *b = cg_zeros(CG_SHAPE(2), CG_BOOL);
    ASSERT_EQ(cg_set(b, (int64_t[]){1}, 0.5), 0);
    ASSERT_VALS(b, 0, 0, 1);
    /* 0-d: an empty index (NULL is fine) */
    cg_tensor *s = cg_scalar(1, CG_FLOAT64);
    ASSERT_EQ(cg_set(s, NULL, 8), 0);
    ASSERT_NEAR(cg_get(s, NULL), 8, 0);
    ASSERT_NEAR(cg_item(s), 8, 0);
    /* writing through a view changes the base (one storage, one version) */
    cg_tensor *tt = cg_transpose(t, 0, 1);
    uint64_t v1 = cg_version(t);
    ASSERT_EQ(cg_set(tt, (int64_t[]){2, 1}, 7), 0);
    ASSERT_NEAR(cg_get(t, (int64_t[]){1, 2}), 7, 0);
    ASSERT_EQ(cg_version(t), v1 + 1);
    ASSERT_EQ(cg_version(tt), v1 + 1);
    /* a leaf that requires grad may be written with grad mode off */
    cg_tensor *w = cg_zeros(CG_SHAPE(2), CG_REQUIRES_GRAD);
    int rc = -1;
    CG_NO_GRAD { rc = cg_set(w, (int64_t[]){0}, 3); }
    ASSERT_EQ(rc, 0);
    ASSERT_VALS(w, 0, 3, 0);
    /* and so may a non-leaf */
    cg_tensor *y = cg_mul_scalar(w, 2);
    ASSERT_EQ(cg_set(y, (int64_t[]){1}, 5), 0);
    ASSERT_VALS(y, 0, 6, 5);
}

TEST(test_data_ptr_and_strides) {
    cg_tensor *t = cg_from_data((float[]){0, 1, 2, 3, 4, 5}, CG_SHAPE(2, 3), 0);
    const float *p = cg_data_ptr(t);
    ASSERT_NOT_NULL(p);
    for (int i = 0; i < 6; i++) ASSERT_NEAR(p[i], i, 0);
    cg_tensor *tt = cg_transpose(t, 0, 1);
    ASSERT_PTR_EQ(cg_data_ptr(tt), cg_data_ptr(t));
    ASSERT_STRIDES(tt, 1, 3);
    const float *q = cg_data_ptr(tt);
    const int64_t *st = cg_strides(tt);
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 2; j++)
            ASSERT_NEAR(q[i * st[0] + j * st[1]], cg_get(tt, (int64_t[]){i, j}), 0);
    ASSERT_EQ(cg_storage_offset(tt), 0);
    /* the pointer can be written through */
    ((float *)cg_data_ptr(t))[4] = 40;
    ASSERT_NEAR(cg_get(tt, (int64_t[]){1, 1}), 40, 0);
    ASSERT_NOT_NULL(cg_data_ptr(cg_scalar(1, CG_INT64)));
}

TEST(test_is_contiguous) {
    cg_tensor *t = cg_zeros(CG_SHAPE(2, 3), 0);
    ASSERT(cg_is_contiguous(t));
    ASSERT(!cg_is_contiguous(cg_transpose(t, 0, 1)));
    ASSERT(cg_is_contiguous(cg_transpose(t, 0, 0)));
    /* torch.ones(1, 3).t().is_contiguous() -> True (size-1 dims don't count) */
    ASSERT(cg_is_contiguous(cg_transpose(cg_zeros(CG_SHAPE(1, 3), 0), 0, 1)));
    ASSERT(!cg_is_contiguous(cg_expand(cg_zeros(CG_SHAPE(3, 1), 0), CG_SHAPE(3, 4))));
    ASSERT(cg_is_contiguous(cg_unsqueeze(t, 1)));
    ASSERT(!cg_is_contiguous(cg_permute(cg_zeros(CG_SHAPE(2, 3, 4), 0), CG_DIMS(2, 0, 1))));
    ASSERT(cg_is_contiguous(cg_scalar(1, 0)));
    ASSERT(cg_is_contiguous(cg_transpose(cg_zeros(CG_SHAPE(0, 3), 0), 0, 1)));
}

TEST(test_version_counter) {
    cg_tensor *t = cg_zeros(CG_SHAPE(3), 0);
    ASSERT_EQ(cg_version(t), 0);
    cg_tensor *v = cg_view(t, CG_SHAPE(3, 1));
    ASSERT_EQ(cg_set(t, (int64_t[]){0}, 1), 0);
    ASSERT_EQ(cg_version(t), 1);
    ASSERT_EQ(cg_version(v), 1); /* shared with views */
    ASSERT_EQ(cg_set(v, (int64_t[]){2, 0}, 1), 0);
    ASSERT_EQ(cg_version(t), 2);
    cg_tensor *c = cg_clone(t);
    ASSERT_EQ(cg_version(c), 0);
    ASSERT_EQ(cg_version(cg_add_scalar(t, 1)), 0);
    /* a failed cg_set does not bump it */
    ASSERT_EQ(cg_set(t, (int64_t[]){3}, 1), -1);
    cg_clear_error();
    ASSERT_EQ(cg_version(t), 2);
}

/* ---------------------------------------------------------------- views */

TEST(test_views_share_storage) {
    cg_tensor *base = cg_view(cg_arange(0, 24, 1, 0), CG_SHAPE(2, 3, 4));
    cg_tensor *col = cg_view(cg_arange(0, 3, 1, 0), CG_SHAPE(3, 1));
    cg_tensor *ones = cg_view(cg_arange(0, 6, 1, 0), CG_SHAPE(1, 3, 1, 2));
    ASSERT(base && col && ones);
    long storages = cg_live_storages();

    cg_tensor *t = cg_transpose(base, 0, 2);
    ASSERT_SHAPE(t, 4, 3, 2);
    ASSERT_STRIDES(t, 1, 4, 12);
    ASSERT(cg_shares_storage(t, base));
    ASSERT_EQ(cg_storage_offset(t), 0);
    ASSERT(!cg_is_contiguous(t));
    /* t[i][j][k] == base[k][j][i] == 12k + 4j + i */
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 3; j++)
            for (int64_t k = 0; k < 2; k++)
                ASSERT_NEAR(cg_get(t, (int64_t[]){i, j, k}), 12 * k + 4 * j + i, 0);
    ASSERT_STRIDES(cg_transpose(base, -1, 1), 12, 1, 4);

    cg_tensor *p = cg_permute(base, CG_DIMS(2, 0, 1));
    ASSERT_SHAPE(p, 4, 2, 3);
    ASSERT_STRIDES(p, 1, 12, 4);
    ASSERT(cg_shares_storage(p, base));
    ASSERT_NEAR(cg_get(p, (int64_t[]){3, 1, 2}), 12 + 8 + 3, 0);
    ASSERT_STRIDES(cg_permute(base, CG_DIMS(-1, 0, -2)), 1, 12, 4);

    cg_tensor *e = cg_expand(col, CG_SHAPE(2, 3, 4));
    ASSERT_SHAPE(e, 2, 3, 4);
    ASSERT_STRIDES(e, 0, 1, 0);
    ASSERT(cg_shares_storage(e, col));
    ASSERT_NEAR(cg_get(e, (int64_t[]){1, 2, 3}), 2, 0);
    ASSERT_SHAPE(cg_expand(col, CG_SHAPE(-1, 5)), 3, 5);
    ASSERT_SHAPE(cg_expand(col, CG_SHAPE(3, 1)), 3, 1);

    cg_tensor *u = cg_unsqueeze(base, 1);
    ASSERT_SHAPE(u, 2, 1, 3, 4);
    ASSERT_STRIDES(u, 12, 12, 4, 1); /* torch.zeros(2,3,4).unsqueeze(1).stride() */
    ASSERT(cg_shares_storage(u, base));
    ASSERT_STRIDES(cg_unsqueeze(base, -1), 12, 4, 1, 1);
    ASSERT_STRIDES(cg_unsqueeze(base, 0), 24, 12, 4, 1);

    cg_tensor *sq = cg_squeeze(ones);
    ASSERT_SHAPE(sq, 3, 2);
    ASSERT_STRIDES(sq, 2, 1);
    ASSERT(cg_shares_storage(sq, ones));
    cg_tensor *sq0 = cg_squeeze_dim(ones, 0);
    ASSERT_SHAPE(sq0, 3, 1, 2);
    ASSERT_STRIDES(sq0, 2, 2, 1);
    ASSERT_SHAPE(cg_squeeze_dim(ones, -2), 1, 3, 2);
    ASSERT_SHAPE(cg_squeeze_dim(ones, 1), 1, 3, 1, 2); /* not size 1: unchanged */

    cg_tensor *v = cg_view(base, CG_SHAPE(6, 4));
    ASSERT_SHAPE(v, 6, 4);
    ASSERT_STRIDES(v, 4, 1);
    ASSERT(cg_shares_storage(v, base));
    ASSERT_SHAPE(cg_view(base, CG_SHAPE(-1)), 24);
    ASSERT_SHAPE(cg_view(base, CG_SHAPE(4, -1)), 4, 6);
    /* a transposed tensor can be viewed where the dims stay separable */
    ASSERT(cg_shares_storage(cg_view(t, CG_SHAPE(4, 3, 2, 1)), base));
    ASSERT(cg_shares_storage(cg_view(t, CG_SHAPE(4, 1, 3, 2)), base));

    cg_tensor *r = cg_reshape(base, CG_SHAPE(3, 8));
    ASSERT_SHAPE(r, 3, 8);
    ASSERT_STRIDES(r, 8, 1);
    ASSERT(cg_shares_storage(r, base));
    ASSERT(cg_shares_storage(cg_reshape(t, CG_SHAPE(4, 3, 2)), base)); /* viewable */

    /* none of the views above allocated data */
    ASSERT_EQ(cg_live_storages(), storages);

    ASSERT_EQ(cg_ndim(cg_squeeze(cg_ones(CG_SHAPE(1, 1), 0))), 0);
    ASSERT_SHAPE(cg_view(cg_scalar(1, 0), CG_SHAPE(1, 1)), 1, 1);
    ASSERT_EQ(cg_ndim(cg_view(cg_ones(CG_SHAPE(1, 1), 0), CG_SCALAR_SHAPE)), 0);

    /* reshape of a non-viewable layout copies, in t's logical order */
    storages = cg_live_storages();
    cg_tensor *rc = cg_reshape(t, CG_SHAPE(4, 6));
    ASSERT_SHAPE(rc, 4, 6);
    ASSERT(!cg_shares_storage(rc, base));
    ASSERT(cg_is_contiguous(rc));
    ASSERT_EQ(cg_live_storages(), storages + 1);
    for (int64_t i = 0; i < 24; i++) ASSERT_NEAR(at(rc, i), at(t, i), 0);
    cg_tensor *rc1 = cg_reshape(t, CG_SHAPE(-1));
    ASSERT(!cg_shares_storage(rc1, base));
    ASSERT_VALS(rc1, 0, 0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7,
                19, 11, 23);
    ASSERT(!cg_shares_storage(cg_reshape(e, CG_SHAPE(24)), col));
    /* writes through views reach the base */
    ASSERT_EQ(cg_set(v, (int64_t[]){5, 3}, -1), 0);
    ASSERT_NEAR(cg_get(base, (int64_t[]){1, 2, 3}), -1, 0);
    ASSERT_NEAR(cg_get(t, (int64_t[]){3, 2, 1}), -1, 0);
    ASSERT_NEAR(cg_get(r, (int64_t[]){2, 7}), -1, 0);
}

TEST(test_contiguous) {
    cg_tensor *t = cg_view(cg_arange(0, 6, 1, CG_FLOAT64), CG_SHAPE(2, 3));
    cg_tensor *c = cg_contiguous(t);
    ASSERT_PTR_EQ(c, t); /* already contiguous: the same tensor */
    cg_tensor *tt = cg_transpose(t, 0, 1);
    cg_tensor *ct = cg_contiguous(tt);
    ASSERT(ct && ct != tt);
    ASSERT(cg_is_contiguous(ct));
    ASSERT(!cg_shares_storage(ct, t));
    ASSERT_SHAPE(ct, 3, 2);
    ASSERT_STRIDES(ct, 2, 1);
    ASSERT_EQ(cg_dtype_of(ct), CG_FLOAT64);
    ASSERT_VALS(ct, 0, 0, 3, 1, 4, 2, 5);
    const double *p = cg_data_ptr(ct);
    ASSERT(p[1] == 3 && p[2] == 1);
    /* an expanded tensor becomes a real copy */
    cg_tensor *e = cg_contiguous(cg_expand(cg_arange(0, 2, 1, CG_INT64), CG_SHAPE(3, 2)));
    ASSERT_STRIDES(e, 2, 1);
    ASSERT_VALS(e, 0, 0, 1, 0, 1, 0, 1);
}

TEST(test_clone) {
    cg_tensor *t = cg_from_data((int64_t[]){1, 2, 3, 4}, CG_SHAPE(2, 2), CG_INT64);
    cg_tensor *c = cg_clone(t);
    ASSERT(c && c != t);
    ASSERT(!cg_shares_storage(c, t));
    ASSERT_EQ(cg_dtype_of(c), CG_INT64);
    ASSERT_SHAPE(c, 2, 2);
    ASSERT(cg_equal(c, t));
    ASSERT_EQ(cg_set(c, (int64_t[]){0, 0}, 100), 0);
    ASSERT_NEAR(cg_get(t, (int64_t[]){0, 0}), 1, 0);
    cg_tensor *ct = cg_clone(cg_transpose(t, 0, 1));
    ASSERT_SHAPE(ct, 2, 2);
    ASSERT_VALS(ct, 0, 1, 3, 2, 4);
    ASSERT_NEAR(cg_item(cg_clone(cg_scalar(2.5, 0))), 2.5, 0);
    ASSERT(cg_equal(cg_clone(cg_ones(CG_SHAPE(3), CG_BOOL)), cg_ones(CG_SHAPE(3), CG_BOOL)));
}

TEST(test_to_all_dtype_pairs) {
    static const cg_dtype dts[] = {CG_FLOAT32, CG_FLOAT64, CG_INT64, CG_BOOL};
    cg_tensor *src[4] = {
        cg_from_data((float[]){-1.7f, 0, 0.5f, 2.9f}, CG_SHAPE(4), CG_FLOAT32),
        cg_from_data((double[]){-1.7, 0, 0.5, 2.9}, CG_SHAPE(4), CG_FLOAT64),
        cg_from_data((int64_t[]){-2, 0, 1, 3}, CG_SHAPE(4), CG_INT64),
        cg_from_data((bool[]){true, false, true, true}, CG_SHAPE(4), CG_BOOL),
    };
    /* torch.tensor([-1.7, 0, .5, 2.9]).to(torch.int64) -> [-1, 0, 0, 2]  (truncation)
     * torch.tensor([-1.7, 0, .5, 2.9]).to(torch.bool)  -> [True, False, True, True] */
    static const double expect[4][4][4] = {
        /* from float32 */
        {{(float)-1.7, 0, 0.5, (float)2.9},
         {(float)-1.7, 0, 0.5, (float)2.9},
         {-1, 0, 0, 2},
         {1, 0, 1, 1}},
        /* from float64 */
        {{(float)-1.7, 0, 0.5, (float)2.9}, {-1.7, 0, 0.5, 2.9}, {-1, 0, 0, 2}, {1, 0, 1, 1}},
        /* from int64 */
        {{-2, 0, 1, 3}, {-2, 0, 1, 3}, {-2, 0, 1, 3}, {1, 0, 1, 1}},
        /* from bool */
        {{1, 0, 1, 1}, {1, 0, 1, 1}, {1, 0, 1, 1}, {1, 0, 1, 1}},
    };
    for (int f = 0; f < 4; f++)
        for (int d = 0; d < 4; d++) {
            cg_tensor *r = cg_to(src[f], dts[d]);
            ASSERT_NOT_NULL(r);
            ASSERT_EQ(cg_dtype_of(r), dts[d]);
            ASSERT_SHAPE(r, 4);
            if (f == d)
                ASSERT_PTR_EQ(r, src[f]); /* the same dtype: t itself */
            else
                ASSERT(!cg_shares_storage(r, src[f]));
            if (!vals_near(r, 4, expect[f][d], 0)) {
                FAIL_("cg_to from %s to %s", cg_dtype_name(dts[f]), cg_dtype_name(dts[d]));
                return;
            }
        }
    /* a non-contiguous source */
    cg_tensor *m = cg_from_data((double[]){0.5, -1.5, 2.5, 0}, CG_SHAPE(2, 2), CG_FLOAT64);
    ASSERT_VALS(cg_to(cg_transpose(m, 0, 1), CG_INT64), 0, 0, 2, -1, 0);
    ASSERT_VALS(cg_to(cg_transpose(m, 0, 1), CG_BOOL), 0, 1, 1, 1, 0);
    /* requires_grad follows the dtype, as torch's .to() */
    cg_tensor *g = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    ASSERT(cg_requires_grad(cg_to(g, CG_FLOAT64)));
    ASSERT(!cg_requires_grad(cg_to(g, CG_INT64)));
}

/* ------------------------------------------------------- type promotion */

#define ERR_ (-1) /* PyTorch refuses; covered in test_errors.c */
typedef struct {
    cg_dtype a;
    int a_nd;
    cg_dtype b;
    int b_nd;
    int r[6]; /* add, sub, mul, div, pow, lt */
} promo_row;

/* Generated with torch: for each pair, (ones(a) OP ones(b)).dtype where a
 * 0-d operand is torch.ones((), dtype=...) and the other torch.ones(2, ...). */
static const promo_row promo_rows[] = {
    {CG_FLOAT32,
     1,
     CG_FLOAT32,
     1,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32,
     0,
     CG_FLOAT32,
     1,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32,
     1,
     CG_FLOAT32,
     0,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32,
     1,
     CG_FLOAT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT32,
     0,
     CG_FLOAT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT32,
     1,
     CG_FLOAT64,
     0,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32,
     1,
     CG_INT64,
     1,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32,
     0,
     CG_INT64,
     1,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32,
     1,
     CG_INT64,
     0,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32, 1, CG_BOOL, 1, {CG_FLOAT32, ERR_, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32, 0, CG_BOOL, 1, {CG_FLOAT32, ERR_, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32, 1, CG_BOOL, 0, {CG_FLOAT32, ERR_, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT64,
     1,
     CG_FLOAT32,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     0,
     CG_FLOAT32,
     1,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT64,
     1,
     CG_FLOAT32,
     0,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     1,
     CG_FLOAT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     0,
     CG_FLOAT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     1,
     CG_FLOAT64,
     0,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     1,
     CG_INT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     0,
     CG_INT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     1,
     CG_INT64,
     0,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64, 1, CG_BOOL, 1, {CG_FLOAT64, ERR_, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64, 0, CG_BOOL, 1, {CG_FLOAT64, ERR_, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64, 1, CG_BOOL, 0, {CG_FLOAT64, ERR_, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_INT64,
     1,
     CG_FLOAT32,
     1,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_INT64,
     0,
     CG_FLOAT32,
     1,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_INT64,
     1,
     CG_FLOAT32,
     0,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_INT64,
     1,
     CG_FLOAT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_INT64,
     0,
     CG_FLOAT64,
     1,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_INT64,
     1,
     CG_FLOAT64,
     0,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_INT64, 1, CG_INT64, 1, {CG_INT64, CG_INT64, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_INT64, 0, CG_INT64, 1, {CG_INT64, CG_INT64, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_INT64, 1, CG_INT64, 0, {CG_INT64, CG_INT64, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_INT64, 1, CG_BOOL, 1, {CG_INT64, ERR_, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_INT64, 0, CG_BOOL, 1, {CG_INT64, ERR_, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_INT64, 1, CG_BOOL, 0, {CG_INT64, ERR_, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_BOOL, 1, CG_FLOAT32, 1, {CG_FLOAT32, ERR_, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_BOOL, 0, CG_FLOAT32, 1, {CG_FLOAT32, ERR_, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_BOOL, 1, CG_FLOAT32, 0, {CG_FLOAT32, ERR_, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
    {CG_BOOL, 1, CG_FLOAT64, 1, {CG_FLOAT64, ERR_, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_BOOL, 0, CG_FLOAT64, 1, {CG_FLOAT64, ERR_, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_BOOL, 1, CG_FLOAT64, 0, {CG_FLOAT64, ERR_, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_BOOL}},
    {CG_BOOL, 1, CG_INT64, 1, {CG_INT64, ERR_, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_BOOL, 0, CG_INT64, 1, {CG_INT64, ERR_, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_BOOL, 1, CG_INT64, 0, {CG_INT64, ERR_, CG_INT64, CG_FLOAT32, CG_INT64, CG_BOOL}},
    {CG_BOOL, 1, CG_BOOL, 1, {CG_BOOL, ERR_, CG_BOOL, CG_FLOAT32, ERR_, CG_BOOL}},
    {CG_BOOL, 0, CG_BOOL, 1, {CG_BOOL, ERR_, CG_BOOL, CG_FLOAT32, ERR_, CG_BOOL}},
    {CG_BOOL, 1, CG_BOOL, 0, {CG_BOOL, ERR_, CG_BOOL, CG_FLOAT32, ERR_, CG_BOOL}},
};

typedef cg_tensor *(*binary_fn)(cg_tensor *, cg_tensor *);

TEST(test_promotion_tensor_tensor) {
    static const binary_fn fns[6] = {cg_add, cg_sub, cg_mul, cg_div, cg_pow, cg_lt};
    static const char *names[6] = {"add", "sub", "mul", "div", "pow", "lt"};
    for (size_t i = 0; i < sizeof promo_rows / sizeof promo_rows[0]; i++) {
        const promo_row *r = &promo_rows[i];
        cg_tensor *a = r->a_nd ? cg_ones(CG_SHAPE(2), (int)r->a)
                               : cg_ones(CG_SCALAR_SHAPE, (int)r->a);
        cg_tensor *b = r->b_nd ? cg_ones(CG_SHAPE(2), (int)r->b)
                               : cg_ones(CG_SCALAR_SHAPE, (int)r->b);
        for (int k = 0; k < 6; k++) {
            if (r->r[k] == ERR_) continue;
            cg_tensor *o = fns[k](a, b);
            if (!o || cg_dtype_of(o) != (cg_dtype)r->r[k]) {
                FAIL_("%s(%s%s, %s%s): got %s, expected %s (last error: %s)", names[k],
                      cg_dtype_name(r->a), r->a_nd ? "[2]" : "[]", cg_dtype_name(r->b),
                      r->b_nd ? "[2]" : "[]", o ? cg_dtype_name(cg_dtype_of(o)) : "NULL",
                      cg_dtype_name((cg_dtype)r->r[k]), cg_last_error() ? cg_last_error() : "none");
                return;
            }
            ASSERT_SHAPE(o, 2);
        }
    }
}

typedef struct {
    cg_dtype a;
    double s;
    int r[9]; /* add, sub, rsub, mul, div, rdiv, pow, rpow, lt */
} promo_scalar_row;

/* (torch.ones(2, dtype=a) OP s).dtype (s OP t for the r-forms); an integral
 * double stands for a Python int. */
static const promo_scalar_row promo_scalar_rows[] = {
    {CG_FLOAT32,
     2,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32,
      CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT32,
     1.5,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32,
      CG_FLOAT32, CG_BOOL}},
    {CG_FLOAT64,
     2,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64,
      CG_FLOAT64, CG_BOOL}},
    {CG_FLOAT64,
     1.5,
     {CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64, CG_FLOAT64,
      CG_FLOAT64, CG_BOOL}},
    {CG_INT64,
     2,
     {CG_INT64, CG_INT64, CG_INT64, CG_INT64, CG_FLOAT32, CG_FLOAT32, CG_INT64, CG_INT64, CG_BOOL}},
    {CG_INT64,
     1.5,
     {CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32,
      CG_FLOAT32, CG_BOOL}},
    {CG_BOOL,
     2,
     {CG_INT64, ERR_, ERR_, CG_INT64, CG_FLOAT32, CG_FLOAT32, CG_INT64, CG_INT64, CG_BOOL}},
    {CG_BOOL,
     1.5,
     {CG_FLOAT32, ERR_, ERR_, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_FLOAT32, CG_BOOL}},
};

typedef cg_tensor *(*scalar_fn)(cg_tensor *, double);

TEST(test_promotion_scalar) {
    static const scalar_fn fns[9] = {cg_add_scalar, cg_sub_scalar,  cg_rsub_scalar,
                                     cg_mul_scalar, cg_div_scalar,  cg_rdiv_scalar,
                                     cg_pow_scalar, cg_rpow_scalar, cg_lt_scalar};
    static const char *names[9] = {"add", "sub", "rsub", "mul", "div", "rdiv", "pow", "rpow", "lt"};
    for (size_t i = 0; i < sizeof promo_scalar_rows / sizeof promo_scalar_rows[0]; i++) {
        const promo_scalar_row *r = &promo_scalar_rows[i];
        cg_tensor *a = cg_ones(CG_SHAPE(2), (int)r->a);
        for (int k = 0; k < 9; k++) {
            if (r->r[k] == ERR_) continue;
            cg_tensor *o = fns[k](a, r->s);
            if (!o || cg_dtype_of(o) != (cg_dtype)r->r[k]) {
                FAIL_("%s_scalar(%s, %g): got %s, expected %s (last error: %s)", names[k],
                      cg_dtype_name(r->a), r->s, o ? cg_dtype_name(cg_dtype_of(o)) : "NULL",
                      cg_dtype_name((cg_dtype)r->r[k]), cg_last_error() ? cg_last_error() : "none");
                return;
            }
        }
    }
}

TEST(test_promotion_values) {
    cg_tensor *i12 = cg_from_data((int64_t[]){1, 2}, CG_SHAPE(2), CG_INT64);
    cg_tensor *i22 = cg_from_data((int64_t[]){2, 2}, CG_SHAPE(2), CG_INT64);
    cg_tensor *btf = cg_from_data((bool[]){true, false}, CG_SHAPE(2), CG_BOOL);
    cg_tensor *btt = cg_from_data((bool[]){true, true}, CG_SHAPE(2), CG_BOOL);
    cg_tensor *f12 = cg_from_data((float[]){1, 2}, CG_SHAPE(2), 0);
    cg_tensor *r;
    /* torch.tensor([1, 2]) / torch.tensor([2, 2]) -> float32 [0.5, 1.] */
    r = cg_div(i12, i22);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 0.5, 1.0);
    /* torch.tensor([True, False]) / torch.tensor([True, True]) -> float32 [1., 0.] */
    r = cg_div(btf, btt);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 1, 0);
    /* bool + bool -> bool [True, True]; bool * bool -> bool [True, False] */
    r = cg_add(btf, btt);
    ASSERT_EQ(cg_dtype_of(r), CG_BOOL);
    ASSERT_VALS(r, 0, 1, 1);
    r = cg_mul(btf, btt);
    ASSERT_EQ(cg_dtype_of(r), CG_BOOL);
    ASSERT_VALS(r, 0, 1, 0);
    /* torch.tensor([1, 2]) + 1.5 -> float32 [2.5, 3.5] */
    r = cg_add_scalar(i12, 1.5);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 2.5, 3.5);
    /* torch.tensor([1., 2.]) + torch.tensor([.5, .5], dtype=torch.float64) -> float64 */
    r = cg_add(f12, cg_from_data((double[]){0.1, 0.1}, CG_SHAPE(2), CG_FLOAT64));
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_VALS(r, 1e-15, 1.1, 2.1);
    /* 0-d float64 + float32 tensor -> float32:
     * torch.tensor(1.5, dtype=torch.float64) + torch.tensor([1., 2.]) */
    r = cg_add(cg_scalar(1.5, CG_FLOAT64), f12);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_SHAPE(r, 2);
    ASSERT_VALS(r, 0, 2.5, 3.5);
    /* int64 tensor + 0-d float64 -> float64:
     * torch.tensor([1, 2]) + torch.tensor(1.5, dtype=torch.float64) */
    r = cg_add(i12, cg_scalar(1.5, CG_FLOAT64));
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_VALS(r, 0, 2.5, 3.5);
    /* bool tensor + 0-d int64 -> int64 [3, 2] */
    r = cg_add(btf, cg_scalar(2, CG_INT64));
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 3, 2);
    /* 0-d int64 + float32 tensor -> float32 */
    ASSERT_EQ(cg_dtype_of(cg_add(cg_scalar(2, CG_INT64), f12)), CG_FLOAT32);
    /* torch.tensor([1., 2.]) ** torch.tensor(2., dtype=torch.float64) -> float32 [1, 4] */
    r = cg_pow(f12, cg_scalar(2, CG_FLOAT64));
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 1, 4);
    /* torch.tensor([4, 9]) ** torch.tensor([.5, .5], dtype=torch.float64) -> float64 [2, 3] */
    r = cg_pow(cg_from_data((int64_t[]){4, 9}, CG_SHAPE(2), CG_INT64),
               cg_from_data((double[]){0.5, 0.5}, CG_SHAPE(2), CG_FLOAT64));
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_VALS(r, 1e-15, 2, 3);
    /* int64 ** int64 stays int64: torch.tensor([2, 3]) ** torch.tensor([3, 2]) -> [8, 9] */
    r = cg_pow(cg_from_data((int64_t[]){2, 3}, CG_SHAPE(2), CG_INT64),
               cg_from_data((int64_t[]){3, 2}, CG_SHAPE(2), CG_INT64));
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 8, 9);
}

TEST(test_promotion_scalar_values) {
    cg_tensor *i = cg_from_data((int64_t[]){7, -7}, CG_SHAPE(2), CG_INT64);
    cg_tensor *r;
    /* torch.tensor([7, -7]) / 2 -> float32 [3.5, -3.5] */
    r = cg_div_scalar(i, 2);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 3.5, -3.5);
    /* * 2 -> int64 [14, -14] */
    r = cg_mul_scalar(i, 2);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 14, -14);
    /* torch.tensor([2, 3]) - 0.5 -> [1.5, 2.5]; 0.5 - torch.tensor([2, 3]) -> [-1.5, -2.5] */
    cg_tensor *j = cg_from_data((int64_t[]){2, 3}, CG_SHAPE(2), CG_INT64);
    ASSERT_VALS(cg_sub_scalar(j, 0.5), 0, 1.5, 2.5);
    ASSERT_VALS(cg_rsub_scalar(j, 0.5), 0, -1.5, -2.5);
    r = cg_rsub_scalar(j, 10);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 8, 7);
    /* 3 / torch.tensor([2, 4]) -> float32 [1.5, 0.75] */
    r = cg_rdiv_scalar(cg_from_data((int64_t[]){2, 4}, CG_SHAPE(2), CG_INT64), 3);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 1.5, 0.75);
    /* torch.tensor([1, 2]) ** 2 -> int64 [1, 4]; ** 0.5 -> float32 [1, 1.4142135381698608] */
    cg_tensor *k = cg_from_data((int64_t[]){1, 2}, CG_SHAPE(2), CG_INT64);
    r = cg_pow_scalar(k, 2);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 1, 4);
    r = cg_pow_scalar(k, 0.5);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 1, 1.4142135381698608);
    /* 2 ** torch.tensor([1, 2]) -> int64 [2, 4] */
    r = cg_rpow_scalar(k, 2);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 2, 4);
    /* torch.tensor([True, False]) + 1 -> int64 [2, 1]; + 1.5 -> float32 [2.5, 1.5] */
    cg_tensor *b = cg_from_data((bool[]){true, false}, CG_SHAPE(2), CG_BOOL);
    r = cg_add_scalar(b, 1);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 2, 1);
    r = cg_add_scalar(b, 1.5);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 2.5, 1.5);
    /* torch.tensor([True, False]) ** 2 -> int64 [1, 0] */
    r = cg_pow_scalar(b, 2);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 1, 0);
    /* float32 stays float32 with a float scalar */
    r = cg_mul_scalar(cg_ones(CG_SHAPE(2), 0), 0.1);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, (float)0.1, (float)0.1);
}

/* ---------------------------------------------------------- comparisons */

TEST(test_compare_tensor) {
    cg_tensor *a = cg_from_data((float[]){1, 2, 3}, CG_SHAPE(3), 0);
    cg_tensor *b = cg_from_data((float[]){3, 2, 1}, CG_SHAPE(3), 0);
    cg_tensor *r[6] = {cg_eq(a, b), cg_ne(a, b), cg_lt(a, b),
                       cg_le(a, b), cg_gt(a, b), cg_ge(a, b)};
    for (int i = 0; i < 6; i++) {
        ASSERT_NOT_NULL(r[i]);
        ASSERT_EQ(cg_dtype_of(r[i]), CG_BOOL);
        ASSERT_SHAPE(r[i], 3);
    }
    ASSERT_VALS(r[0], 0, 0, 1, 0);
    ASSERT_VALS(r[1], 0, 1, 0, 1);
    ASSERT_VALS(r[2], 0, 1, 0, 0);
    ASSERT_VALS(r[3], 0, 1, 1, 0);
    ASSERT_VALS(r[4], 0, 0, 0, 1);
    ASSERT_VALS(r[5], 0, 0, 1, 1);
    /* torch.tensor([1, 2, 3]) >= torch.tensor([[1], [3]]) -> [[T, T, T], [F, F, T]] */
    cg_tensor *i = cg_from_data((int64_t[]){1, 2, 3}, CG_SHAPE(3), CG_INT64);
    cg_tensor *c = cg_from_data((int64_t[]){1, 3}, CG_SHAPE(2, 1), CG_INT64);
    cg_tensor *ge = cg_ge(i, c);
    ASSERT_EQ(cg_dtype_of(ge), CG_BOOL);
    ASSERT_SHAPE(ge, 2, 3);
    ASSERT_VALS(ge, 0, 1, 1, 1, 0, 0, 1);
    /* mixed dtypes: torch.tensor([1, 2, 3]) < torch.tensor([2.5]) -> [T, T, F] */
    ASSERT_VALS(cg_lt(i, cg_from_data((float[]){2.5f}, CG_SHAPE(1), 0)), 0, 1, 1, 0);
    /* with a 0-d float64 */
    ASSERT_VALS(cg_gt(a, cg_scalar(1.5, CG_FLOAT64)), 0, 0, 1, 1);
    /* bool vs bool */
    cg_tensor *tf = cg_from_data((bool[]){true, false}, CG_SHAPE(2), CG_BOOL);
    cg_tensor *tt = cg_from_data((bool[]){true, true}, CG_SHAPE(2), CG_BOOL);
    ASSERT_VALS(cg_eq(tf, tt), 0, 1, 0);
    ASSERT_VALS(cg_lt(tf, tt), 0, 0, 1);
    /* NaN: only != holds */
    cg_tensor *n = cg_from_data((double[]){NAN, 1}, CG_SHAPE(2), CG_FLOAT64);
    ASSERT_VALS(cg_eq(n, n), 0, 0, 1);
    ASSERT_VALS(cg_ne(n, n), 0, 1, 0);
    ASSERT_VALS(cg_le(n, n), 0, 0, 1);
    /* comparisons never require grad */
    cg_tensor *g = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *lt = cg_lt(g, a);
    ASSERT(!cg_requires_grad(lt));
    ASSERT_NULL(cg_grad_fn(lt));
}

TEST(test_compare_scalar) {
    cg_tensor *i = cg_from_data((int64_t[]){1, 2, 3}, CG_SHAPE(3), CG_INT64);
    cg_tensor *r = cg_eq_scalar(i, 2);
    ASSERT_EQ(cg_dtype_of(r), CG_BOOL);
    ASSERT_VALS(r, 0, 0, 1, 0);
    /* torch.tensor([1, 2, 3]) == 2.5 -> all False; < 2.5 -> [T, T, F] */
    ASSERT_VALS(cg_eq_scalar(i, 2.5), 0, 0, 0, 0);
    ASSERT_VALS(cg_lt_scalar(i, 2.5), 0, 1, 1, 0);
    ASSERT_VALS(cg_ne_scalar(i, 2), 0, 1, 0, 1);
    ASSERT_VALS(cg_le_scalar(i, 2), 0, 1, 1, 0);
    ASSERT_VALS(cg_gt_scalar(i, 2), 0, 0, 0, 1);
    ASSERT_VALS(cg_ge_scalar(i, 2), 0, 0, 1, 1);
    /* torch.tensor([True, False]) == 1 -> [T, F]; == 0.5 -> [F, F]; < 0.5 -> [F, T] */
    cg_tensor *b = cg_from_data((bool[]){true, false}, CG_SHAPE(2), CG_BOOL);
    ASSERT_VALS(cg_eq_scalar(b, 1), 0, 1, 0);
    ASSERT_VALS(cg_eq_scalar(b, 0.5), 0, 0, 0);
    ASSERT_VALS(cg_lt_scalar(b, 0.5), 0, 0, 1);
    ASSERT_VALS(cg_gt_scalar(b, -1), 0, 1, 1);
    /* float32 against a scalar that float32 cannot hold: torch compares in float32,
     * torch.tensor([0.1]) == 0.1 -> True */
    cg_tensor *f = cg_from_data((float[]){0.1f, 0.2f}, CG_SHAPE(1, 2), 0);
    r = cg_eq_scalar(f, 0.1);
    ASSERT_SHAPE(r, 1, 2);
    ASSERT_VALS(r, 0, 1, 0);
    ASSERT_VALS(cg_ge_scalar(cg_from_data((double[]){NAN, 1}, CG_SHAPE(2), CG_FLOAT64), 0), 0, 0,
                1);
    /* 0-d */
    r = cg_lt_scalar(cg_scalar(1, 0), 2);
    ASSERT_EQ(cg_ndim(r), 0);
    ASSERT_NEAR(cg_item(r), 1, 0);
}

TEST(test_all_any) {
    cg_tensor *r = cg_all(cg_from_data((float[]){1, 0}, CG_SHAPE(2), 0));
    ASSERT_EQ(cg_dtype_of(r), CG_BOOL);
    ASSERT_EQ(cg_ndim(r), 0);
    ASSERT_NEAR(cg_item(r), 0, 0);
    ASSERT_NEAR(cg_item(cg_any(cg_from_data((float[]){1, 0}, CG_SHAPE(2), 0))), 1, 0);
    ASSERT_NEAR(cg_item(cg_any(cg_zeros(CG_SHAPE(2, 2), CG_INT64))), 0, 0);
    ASSERT_NEAR(cg_item(cg_all(cg_from_data((int64_t[]){1, 2}, CG_SHAPE(2), CG_INT64))), 1, 0);
    ASSERT_EQ(cg_dtype_of(cg_all(cg_from_data((int64_t[]){1, 2}, CG_SHAPE(2), CG_INT64))), CG_BOOL);
    ASSERT_NEAR(cg_item(cg_any(cg_from_data((bool[]){false, true}, CG_SHAPE(2), CG_BOOL))), 1, 0);
    ASSERT_NEAR(cg_item(cg_all(cg_from_data((bool[]){false, true}, CG_SHAPE(2), CG_BOOL))), 0, 0);
    /* torch.all(torch.tensor([])) -> True; torch.any(torch.tensor([])) -> False */
    ASSERT_NEAR(cg_item(cg_all(cg_zeros(CG_SHAPE(0), 0))), 1, 0);
    ASSERT_NEAR(cg_item(cg_any(cg_zeros(CG_SHAPE(0), 0))), 0, 0);
    /* NaN is nonzero: torch.all(torch.tensor([nan, 1.])) -> True */
    ASSERT_NEAR(cg_item(cg_all(cg_from_data((float[]){NAN, 1}, CG_SHAPE(2), 0))), 1, 0);
    ASSERT_NEAR(cg_item(cg_all(cg_scalar(3, CG_FLOAT64))), 1, 0);
    /* a non-contiguous input */
    cg_tensor *m = cg_from_data((bool[]){true, true, false, true}, CG_SHAPE(2, 2), CG_BOOL);
    ASSERT_NEAR(cg_item(cg_all(cg_transpose(m, 0, 1))), 0, 0);
    ASSERT_NEAR(cg_item(cg_all(cg_ge_scalar(cg_arange(0, 5, 1, 0), 0))), 1, 0);
}

TEST(test_equal) {
    cg_tensor *a = cg_from_data((float[]){1, 2, 3, 4}, CG_SHAPE(2, 2), 0);
    cg_tensor *b = cg_from_data((float[]){1, 2, 3, 4}, CG_SHAPE(2, 2), 0);
    cg_tensor *c = cg_from_data((float[]){1, 2, 3, 5}, CG_SHAPE(2, 2), 0);
    ASSERT(cg_equal(a, b));
    ASSERT(cg_equal(a, a));
    ASSERT(!cg_equal(a, c));
    /* shape mismatch: false, and no error */
    cg_clear_error();
    ASSERT(!cg_equal(a, cg_view(b, CG_SHAPE(4))));
    ASSERT(!cg_equal(cg_ones(CG_SHAPE(2), 0), cg_ones(CG_SHAPE(2, 1), 0)));
    ASSERT(!cg_equal(cg_ones(CG_SHAPE(1), 0), cg_ones(CG_SCALAR_SHAPE, 0)));
    ASSERT_NULL(cg_last_error());
    /* torch.equal(torch.ones(2), torch.ones(2, dtype=torch.int64)) -> True */
    ASSERT(cg_equal(cg_ones(CG_SHAPE(2), 0), cg_ones(CG_SHAPE(2), CG_INT64)));
    /* torch.equal(torch.tensor([nan]), torch.tensor([nan])) -> False */
    cg_tensor *n = cg_from_data((float[]){NAN}, CG_SHAPE(1), 0);
    ASSERT(!cg_equal(n, n));
    /* layouts do not matter, values do */
    cg_tensor *t = cg_transpose(a, 0, 1);
    ASSERT(cg_equal(t, cg_contiguous(t)));
    ASSERT(!cg_equal(t, a));
    ASSERT(cg_equal(cg_scalar(2, 0), cg_scalar(2, CG_FLOAT64)));
    ASSERT(cg_equal(cg_zeros(CG_SHAPE(0, 2), 0), cg_zeros(CG_SHAPE(0, 2), 0)));
}

TEST(test_where) {
    cg_tensor *c = cg_from_data((bool[]){true, false, true}, CG_SHAPE(3), CG_BOOL);
    cg_tensor *x = cg_from_data((float[]){1, 2, 3}, CG_SHAPE(3), 0);
    cg_tensor *y = cg_from_data((float[]){10, 20, 30}, CG_SHAPE(3), 0);
    cg_tensor *r = cg_where(c, x, y);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 1, 20, 3);
    /* broadcast: cond (2, 1), x (3), y 0-d -> (2, 3) */
    cg_tensor *c2 = cg_from_data((bool[]){false, true}, CG_SHAPE(2, 1), CG_BOOL);
    r = cg_where(c2, x, cg_scalar(-1, 0));
    ASSERT_SHAPE(r, 2, 3);
    ASSERT_VALS(r, 0, -1, -1, -1, 1, 2, 3);
    /* torch.where(torch.tensor([True, False]), torch.tensor([1, 2]), torch.tensor(0.5))
     * -> float32 [1., 0.5] */
    cg_tensor *c3 = cg_from_data((bool[]){true, false}, CG_SHAPE(2), CG_BOOL);
    cg_tensor *i = cg_from_data((int64_t[]){1, 2}, CG_SHAPE(2), CG_INT64);
    r = cg_where(c3, i, cg_scalar(0.5, 0));
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 1, 0.5);
    /* ... torch.tensor([0.5, 0.5], dtype=torch.float64) -> float64 */
    r = cg_where(c3, i, cg_from_data((double[]){0.5, 0.5}, CG_SHAPE(2), CG_FLOAT64));
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_VALS(r, 0, 1, 0.5);
    r = cg_where(c3, i, cg_from_data((int64_t[]){7, 8}, CG_SHAPE(2), CG_INT64));
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 1, 8);
    /* a comparison as the condition, non-contiguous operands */
    cg_tensor *m = cg_view(cg_arange(0, 6, 1, 0), CG_SHAPE(2, 3));
    cg_tensor *mt = cg_transpose(m, 0, 1);
    r = cg_where(cg_gt_scalar(mt, 2), mt, cg_neg(mt));
    ASSERT_SHAPE(r, 3, 2);
    ASSERT_VALS(r, 0, 0, 3, -1, 4, -2, 5);
}

/* ----------------------------------------------------------- reductions */

TEST(test_sum_mean_dims) {
    cg_tensor *x = cg_view(cg_arange(0, 24, 1, 0), CG_SHAPE(2, 3, 4));
    /* x.sum((0, -1)) -> [60, 92, 124] */
    cg_tensor *r = cg_sum_dims(x, CG_DIMS(0, -1), false);
    ASSERT_SHAPE(r, 3);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_VALS(r, 0, 60, 92, 124);
    r = cg_sum_dims(x, CG_DIMS(0, -1), true);
    ASSERT_SHAPE(r, 1, 3, 1);
    ASSERT_VALS(r, 0, 60, 92, 124);
    /* x.sum(-2) */
    r = cg_sum_dims(x, CG_DIMS(-2), false);
    ASSERT_SHAPE(r, 2, 4);
    ASSERT_VALS(r, 0, 12, 15, 18, 21, 48, 51, 54, 57);
    /* x.mean(1, keepdim=True) */
    r = cg_mean_dims(x, CG_DIMS(1), true);
    ASSERT_SHAPE(r, 2, 1, 4);
    ASSERT_VALS(r, 0, 4, 5, 6, 7, 16, 17, 18, 19);
    /* x.mean((-1, -3)) */
    r = cg_mean_dims(x, CG_DIMS(-1, -3), false);
    ASSERT_SHAPE(r, 3);
    ASSERT_VALS(r, 0, 7.5, 11.5, 15.5);
    /* all dims listed: 0-d, or all ones with keepdim */
    r = cg_sum_dims(x, CG_DIMS(0, 1, 2), false);
    ASSERT_EQ(cg_ndim(r), 0);
    ASSERT_NEAR(cg_item(r), 276, 0);
    r = cg_sum_dims(x, CG_DIMS(2, 0, 1), true);
    ASSERT_SHAPE(r, 1, 1, 1);
    ASSERT_NEAR(cg_item(r), 276, 0);
    /* whole-tensor forms */
    r = cg_sum(x);
    ASSERT_EQ(cg_ndim(r), 0);
    ASSERT_NEAR(cg_item(r), 276, 0);
    r = cg_mean(x);
    ASSERT_EQ(cg_ndim(r), 0);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_NEAR(cg_item(r), 11.5, 0);
    /* a non-contiguous input: x.transpose(0, 2).sum(0) */
    r = cg_sum_dims(cg_transpose(x, 0, 2), CG_DIMS(0), false);
    ASSERT_SHAPE(r, 3, 2);
    ASSERT_VALS(r, 0, 6, 54, 22, 70, 38, 86);
    /* 0-d input: dims 0 and -1 name its only "dim" */
    r = cg_sum_dims(cg_scalar(5, 0), CG_DIMS(0), true);
    ASSERT_EQ(cg_ndim(r), 0);
    ASSERT_NEAR(cg_item(r), 5, 0);
    ASSERT_NEAR(cg_item(cg_mean_dims(cg_scalar(5, 0), CG_DIMS(-1), false)), 5, 0);
    /* float64 keeps its dtype */
    ASSERT_EQ(cg_dtype_of(cg_mean_dims(cg_ones(CG_SHAPE(2, 2), CG_FLOAT64), CG_DIMS(0), false)),
              CG_FLOAT64);
}

TEST(test_sum_int_bool_empty) {
    cg_tensor *i = cg_from_data((int64_t[]){1, 2, 3, 4}, CG_SHAPE(2, 2), CG_INT64);
    cg_tensor *r = cg_sum(i);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_NEAR(cg_item(r), 10, 0);
    r = cg_sum_dims(i, CG_DIMS(1), false);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 3, 7);
    /* large int64 sums are exact */
    int64_t big = ((int64_t)1 << 53) + 1;
    cg_tensor *bi = cg_from_data((int64_t[]){big, 2}, CG_SHAPE(2), CG_INT64);
    ASSERT_EQ(*(const int64_t *)cg_data_ptr(cg_sum(bi)), big + 2);
    /* torch.tensor([True, False]).sum() -> tensor(1) (int64) */
    cg_tensor *b = cg_from_data((bool[]){true, false, true}, CG_SHAPE(3), CG_BOOL);
    r = cg_sum(b);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_NEAR(cg_item(r), 2, 0);
    ASSERT_EQ(cg_dtype_of(cg_sum_dims(b, CG_DIMS(0), true)), CG_INT64);
    /* empty: sum 0, mean nan (torch.tensor([]).mean() -> nan) */
    ASSERT_NEAR(cg_item(cg_sum(cg_zeros(CG_SHAPE(0), 0))), 0, 0);
    ASSERT(isnan(cg_item(cg_mean(cg_zeros(CG_SHAPE(0), 0)))));
    /* torch.zeros(2, 0).sum(1) -> [0., 0.] */
    r = cg_sum_dims(cg_zeros(CG_SHAPE(2, 0), 0), CG_DIMS(1), false);
    ASSERT_SHAPE(r, 2);
    ASSERT_VALS(r, 0, 0, 0);
    r = cg_sum_dims(cg_zeros(CG_SHAPE(2, 0), 0), CG_DIMS(0), false);
    ASSERT_SHAPE(r, 0);
}

TEST(test_max_min) {
    cg_tensor *i = cg_from_data((int64_t[]){3, 1, 2}, CG_SHAPE(3), CG_INT64);
    cg_tensor *r = cg_max(i);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_EQ(cg_ndim(r), 0);
    ASSERT_NEAR(cg_item(r), 3, 0);
    ASSERT_NEAR(cg_item(cg_min(i)), 1, 0);
    /* NaN wins: torch.tensor([nan, 1.]).max() -> nan; [1, nan, 3].min() -> nan */
    ASSERT(isnan(cg_item(cg_max(cg_from_data((float[]){NAN, 1}, CG_SHAPE(2), 0)))));
    ASSERT(isnan(cg_item(cg_min(cg_from_data((float[]){1, NAN, 3}, CG_SHAPE(3), 0)))));
    ASSERT(isnan(cg_item(cg_max(cg_from_data((double[]){1, 2, NAN}, CG_SHAPE(3), CG_FLOAT64)))));
    ASSERT(
        isnan(cg_item(cg_min(cg_from_data((double[]){NAN, -INFINITY}, CG_SHAPE(2), CG_FLOAT64)))));
    /* torch.tensor([True, False]).max() -> tensor(True) */
    r = cg_max(cg_from_data((bool[]){true, false}, CG_SHAPE(2), CG_BOOL));
    ASSERT_EQ(cg_dtype_of(r), CG_BOOL);
    ASSERT_NEAR(cg_item(r), 1, 0);
    ASSERT_NEAR(cg_item(cg_min(cg_from_data((bool[]){true, false}, CG_SHAPE(2), CG_BOOL))), 0, 0);
    cg_tensor *d = cg_from_data((double[]){-5, -INFINITY, 2.5, INFINITY, -7}, CG_SHAPE(5),
                                CG_FLOAT64);
    ASSERT_EQ(cg_item(cg_max(d)), INFINITY);
    ASSERT_EQ(cg_item(cg_min(d)), -INFINITY);
    cg_tensor *n = cg_from_data((float[]){-5, -2, -9, -1}, CG_SHAPE(2, 2), 0);
    ASSERT_NEAR(cg_item(cg_max(cg_transpose(n, 0, 1))), -1, 0);
    ASSERT_NEAR(cg_item(cg_min(cg_transpose(n, 0, 1))), -9, 0);
    ASSERT_NEAR(cg_item(cg_max(cg_scalar(4, 0))), 4, 0);
    ASSERT_NEAR(cg_item(cg_max(cg_expand(cg_scalar(4, 0), CG_SHAPE(3, 3)))), 4, 0);
}

/* --------------------------------------------------------------- matmul */

TEST(test_matmul_1d_2d) {
    cg_manual_seed(11);
    ASSERT(matmul_matches(randn64(CG_SHAPE(3)), randn64(CG_SHAPE(3)), 1e-12));
    ASSERT(matmul_matches(randn64(CG_SHAPE(2, 3)), randn64(CG_SHAPE(3)), 1e-12));
    ASSERT(matmul_matches(randn64(CG_SHAPE(3)), randn64(CG_SHAPE(3, 4)), 1e-12));
    ASSERT(matmul_matches(randn64(CG_SHAPE(2, 3)), randn64(CG_SHAPE(3, 4)), 1e-12));
    ASSERT(matmul_matches(randn64(CG_SHAPE(1, 1)), randn64(CG_SHAPE(1, 7)), 1e-12));
    /* shapes */
    ASSERT_EQ(cg_ndim(cg_matmul(cg_ones(CG_SHAPE(3), 0), cg_ones(CG_SHAPE(3), 0))), 0);
    ASSERT_SHAPE(cg_matmul(cg_ones(CG_SHAPE(2, 3), 0), cg_ones(CG_SHAPE(3), 0)), 2);
    ASSERT_SHAPE(cg_matmul(cg_ones(CG_SHAPE(3), 0), cg_ones(CG_SHAPE(3, 4), 0)), 4);
    ASSERT_SHAPE(cg_matmul(cg_ones(CG_SHAPE(2, 3), 0), cg_ones(CG_SHAPE(3, 4), 0)), 2, 4);
    /* the named products */
    cg_tensor *a = cg_from_data((float[]){1, 2, 3, 4, 5, 6}, CG_SHAPE(2, 3), 0);
    cg_tensor *b = cg_from_data((float[]){1, 0, 0, 1, 1, 1}, CG_SHAPE(3, 2), 0);
    cg_tensor *v = cg_from_data((float[]){1, -1, 2}, CG_SHAPE(3), 0);
    ASSERT_VALS(cg_mm(a, b), 0, 4, 5, 10, 11);
    ASSERT_VALS(cg_mv(a, v), 0, 5, 11);
    ASSERT_NEAR(cg_item(cg_dot(v, v)), 6, 0);
    cg_tensor *bb = cg_bmm(cg_view(a, CG_SHAPE(1, 2, 3)), cg_view(b, CG_SHAPE(1, 3, 2)));
    ASSERT_SHAPE(bb, 1, 2, 2);
    ASSERT_VALS(bb, 0, 4, 5, 10, 11);
    /* an empty inner dim gives zeros: torch.ones(2, 0) @ torch.ones(0, 3) */
    cg_tensor *z = cg_matmul(cg_ones(CG_SHAPE(2, 0), 0), cg_ones(CG_SHAPE(0, 3), 0));
    ASSERT_SHAPE(z, 2, 3);
    ASSERT_VALS(z, 0, 0, 0, 0, 0, 0, 0);
    ASSERT_NEAR(cg_item(cg_dot(cg_ones(CG_SHAPE(0), 0), cg_ones(CG_SHAPE(0), 0))), 0, 0);
}

TEST(test_matmul_batched) {
    cg_manual_seed(12);
    static const struct {
        int na;
        int64_t a[4];
        int nb;
        int64_t b[4];
    } cases[] = {
        {3, {5, 2, 3}, 2, {3, 4}},       /* -> (5, 2, 4) */
        {3, {5, 2, 3}, 1, {3}},          /* -> (5, 2) */
        {1, {3}, 3, {5, 3, 4}},          /* -> (5, 4) */
        {2, {2, 3}, 3, {5, 3, 4}},       /* -> (5, 2, 4) */
        {3, {5, 2, 3}, 3, {5, 3, 4}},    /* -> (5, 2, 4) */
        {4, {2, 1, 2, 3}, 3, {4, 3, 5}}, /* -> (2, 4, 2, 5) */
        {3, {1, 2, 3}, 4, {6, 1, 3, 2}}, /* -> (6, 1, 2, 2) */
        {1, {3}, 4, {2, 2, 3, 1}},       /* -> (2, 2, 1) */
        {4, {2, 2, 1, 3}, 1, {3}},       /* -> (2, 2, 1) */
        {3, {1, 4, 3}, 3, {3, 3, 2}},    /* -> (3, 4, 2) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cg_tensor *a = randn64(cases[i].na, cases[i].a), *b = randn64(cases[i].nb, cases[i].b);
        ASSERT(matmul_matches(a, b, 1e-12));
    }
    /* the shapes PyTorch gives (torch.matmul(...).shape) */
    ASSERT_SHAPE(cg_matmul(cg_ones(CG_SHAPE(5, 2, 3), 0), cg_ones(CG_SHAPE(3, 4), 0)), 5, 2, 4);
    ASSERT_SHAPE(cg_matmul(cg_ones(CG_SHAPE(3), 0), cg_ones(CG_SHAPE(5, 3, 4), 0)), 5, 4);
    ASSERT_SHAPE(cg_matmul(cg_ones(CG_SHAPE(2, 1, 2, 3), 0), cg_ones(CG_SHAPE(4, 3, 5), 0)), 2, 4,
                 2, 5);
    ASSERT_SHAPE(cg_matmul(cg_ones(CG_SHAPE(5, 2, 3), 0), cg_ones(CG_SHAPE(3), 0)), 5, 2);
    /* float32 */
    ASSERT(matmul_matches(cg_randn(CG_SHAPE(3, 4, 5), 0), cg_randn(CG_SHAPE(5, 6), 0), 1e-4));
}

TEST(test_matmul_noncontiguous) {
    cg_manual_seed(13);
    cg_tensor *a = randn64(CG_SHAPE(4, 3)), *b = randn64(CG_SHAPE(5, 4));
    /* transposed operands (BLAS's transposed layouts, or the portable loop) */
    ASSERT(matmul_matches(cg_transpose(a, 0, 1), cg_transpose(b, 0, 1), 1e-12));
    ASSERT(matmul_matches(cg_transpose(a, 0, 1), a, 1e-12));
    ASSERT(matmul_matches(b, a, 1e-12));
    /* an expanded (stride 0) operand, a column as a vector */
    cg_tensor *e = cg_expand(randn64(CG_SHAPE(1, 4)), CG_SHAPE(3, 4));
    ASSERT(matmul_matches(e, cg_transpose(b, 0, 1), 1e-12));
    /* (4, 3) -> (1, 3, 4) -> (3, 4) with strides (1, 3) */
    cg_tensor *m = cg_squeeze_dim(cg_transpose(cg_view(a, CG_SHAPE(4, 3, 1)), 0, 2), 0);
    ASSERT(!cg_is_contiguous(m));
    ASSERT(matmul_matches(m, randn64(CG_SHAPE(4)), 1e-12));
    /* a stride-0 vector */
    cg_tensor *v0 = cg_expand(randn64(CG_SHAPE(1)), CG_SHAPE(4));
    ASSERT(matmul_matches(cg_transpose(a, 0, 1), v0, 1e-12));
    ASSERT(matmul_matches(v0, v0, 1e-12));
    ASSERT(matmul_matches(v0, a, 1e-12));
    cg_tensor *bt = cg_permute(randn64(CG_SHAPE(3, 2, 5)), CG_DIMS(1, 2, 0)); /* (2, 5, 3) */
    ASSERT(matmul_matches(bt, randn64(CG_SHAPE(2, 3, 4)), 1e-12));
    ASSERT(matmul_matches(bt, cg_transpose(randn64(CG_SHAPE(2, 4, 3)), 1, 2), 1e-12));
    /* float32 through the same paths */
    cg_tensor *f = cg_randn(CG_SHAPE(6, 7), 0);
    ASSERT(matmul_matches(cg_transpose(f, 0, 1), f, 1e-4));
}

TEST(test_matmul_int64) {
    /* torch.tensor([[1, 2], [3, 4]]) @ torch.tensor([[5, 6], [7, 8]]) -> [[19, 22], [43, 50]] */
    cg_tensor *a = cg_from_data((int64_t[]){1, 2, 3, 4}, CG_SHAPE(2, 2), CG_INT64);
    cg_tensor *b = cg_from_data((int64_t[]){5, 6, 7, 8}, CG_SHAPE(2, 2), CG_INT64);
    cg_tensor *r = cg_matmul(a, b);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, 19, 22, 43, 50);
    ASSERT_VALS(cg_mm(cg_transpose(a, 0, 1), b), 0, 26, 30, 38, 44);
    cg_tensor *v = cg_from_data((int64_t[]){1, -1}, CG_SHAPE(2), CG_INT64);
    r = cg_matmul(a, v);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_VALS(r, 0, -1, -1);
    r = cg_matmul(v, v);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_NEAR(cg_item(r), 2, 0);
    ASSERT_VALS(cg_matmul(v, a), 0, -2, -2);
    /* batched, broadcast */
    cg_tensor *a3 = cg_view(cg_arange(0, 12, 1, CG_INT64), CG_SHAPE(2, 2, 3));
    cg_tensor *b2 = cg_view(cg_arange(0, 6, 1, CG_INT64), CG_SHAPE(3, 2));
    r = cg_matmul(a3, b2);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT(matmul_matches(a3, b2, 0));
    ASSERT(matmul_matches(a3, cg_view(cg_arange(0, 12, 1, CG_INT64), CG_SHAPE(2, 3, 2)), 0));
    /* exact beyond 2^53 */
    int64_t big = ((int64_t)1 << 53) + 1;
    cg_tensor *x = cg_from_data((int64_t[]){big, 1}, CG_SHAPE(1, 2), CG_INT64);
    cg_tensor *y = cg_from_data((int64_t[]){1, 2}, CG_SHAPE(2, 1), CG_INT64);
    ASSERT_EQ(*(const int64_t *)cg_data_ptr(cg_mm(x, y)), big + 2);
}

TEST_MAIN(test_from_data_float32, test_from_data_float64, test_from_data_int64, test_from_data_bool,
          test_from_data_0d_and_empty, test_scalar, test_empty_zeros_ones_full, test_arange_float,
          test_arange_int64, test_arange_int64_fractional_step, test_linspace, test_rand_range,
          test_randn_stats, test_manual_seed_reproducible, test_like,
          test_requires_grad_at_creation, test_access, test_dtype_info, test_item, test_get_set,
          test_data_ptr_and_strides, test_is_contiguous, test_version_counter,
          test_views_share_storage, test_contiguous, test_clone, test_to_all_dtype_pairs,
          test_promotion_tensor_tensor, test_promotion_scalar, test_promotion_values,
          test_promotion_scalar_values, test_compare_tensor, test_compare_scalar, test_all_any,
          test_equal, test_where, test_sum_mean_dims, test_sum_int_bool_empty, test_max_min,
          test_matmul_1d_2d, test_matmul_batched, test_matmul_noncontiguous, test_matmul_int64)
