/* The CPU kernel layer (src/kernels): every kernel at every dispatch level
 * this CPU runs, against a plain double reference on random inputs of
 * awkward lengths (0, 1, 7, 8, 15, 16, 17, 1000, 4099), within float
 * tolerances; NaN and inf where the ops define them; no write past an
 * output's end; GEMM in every transpose form on awkward sizes; and the level
 * choice (CGRAD_CPU_CAPABILITY's rules). */
#include "test.h"

#include "kernels/kernels.h"

#include <float.h>
#include <stdint.h>

static const int64_t LENS[] = {0, 1, 7, 8, 15, 16, 17, 1000, 4099};
#define NLENS (int)(sizeof LENS / sizeof LENS[0])
#define GUARD 40                  /* sentinel elements after each output */
#define SENTINEL 12345.678        /* what they hold */
#define F32_TOL (4 * FLT_EPSILON) /* 4 ulps, relative to a scale */
#define F64_TOL 1e-13

/* every table this CPU runs: k, with its level's name in k->name */
#define FOR_LEVELS(k)                                                                              \
    for (int l_ = 0; l_ < CG__CPU_NLEVELS; l_++)                                                   \
        for (const cg__kernels *k = cg__kern_at((cg__cpu_level)l_); k; k = NULL)

static uint64_t rng = 0x9E3779B97F4A7C15u;
static double urand(double lo, double hi) { /* xorshift64*, uniform in [lo, hi) */
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return lo + (hi - lo) * (double)((rng * 0x2545F4914F6CDD1Du) >> 11) * 0x1p-53;
}

/* n + GUARD elements: n uniform in [lo, hi), then sentinels (free them) */
static float *rand_f32(int64_t n, double lo, double hi) {
    float *p = malloc(sizeof(float) * (size_t)(n + GUARD));
    for (int64_t i = 0; i < n + GUARD; i++) p[i] = i < n ? (float)urand(lo, hi) : (float)SENTINEL;
    return p;
}
static double *rand_f64(int64_t n, double lo, double hi) {
    double *p = malloc(sizeof(double) * (size_t)(n + GUARD));
    for (int64_t i = 0; i < n + GUARD; i++) p[i] = i < n ? urand(lo, hi) : SENTINEL;
    return p;
}
static float *fill_f32(int64_t n) { /* an output: all sentinels */
    float *p = malloc(sizeof(float) * (size_t)(n + GUARD));
    for (int64_t i = 0; i < n + GUARD; i++) p[i] = (float)SENTINEL;
    return p;
}
static double *fill_f64(int64_t n) {
    double *p = malloc(sizeof(double) * (size_t)(n + GUARD));
    for (int64_t i = 0; i < n + GUARD; i++) p[i] = SENTINEL;
    return p;
}

/* got vs ref: equal NaN-ness, equal infinities, else |got - ref| <= tol *
 * scale (scale NULL: |ref|) plus a subnormal's worth; reports the first
 * miss and whether the GUARD elements after got[n) are intact. 0 or -1. */
static int check(const char *what, const char *level, int64_t n, const float *got32,
                 const double *got64, const double *ref, const double *scale, double tol) {
    for (int64_t i = 0; i < n; i++) {
        double g = got32 ? got32[i] : got64[i], r = ref[i];
        double s = scale ? scale[i] : fabs(r);
        double tiny = got32 ? 0x1p-149 : 0x1p-1074;
        bool ok = isnan(r) ? isnan(g) : isinf(r) ? g == r : fabs(g - r) <= tol * s + tiny;
        if (!ok) {
            fprintf(stderr, "  %s [%s] n=%lld: at %lld got %.9g, expected %.9g (scale %.3g)\n",
                    what, level, (long long)n, (long long)i, g, r, s);
            return -1;
        }
    }
    for (int64_t i = n; i < n + GUARD; i++)
        if ((got32 ? got32[i] : got64[i]) != (got32 ? (float)SENTINEL : SENTINEL)) {
            fprintf(stderr, "  %s [%s] n=%lld: wrote past the end, at %lld\n", what, level,
                    (long long)n, (long long)i);
            return -1;
        }
    return 0;
}

#define SQRT1_2 0.70710678118654752440
#define SQRT_2_PI 0.79788456080286535588 /* sqrt(2 / pi) */
#define INV_SQRT_2PI 0.39894228040143267794
#define GELU_C 0.044715

/* ------------------------------------------------------------ elementwise */

typedef void (*unary_fn)(int64_t n, const float *x, float *y);

static double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double ref_normcdf(double x) { return 0.5 * erfc(-x * SQRT1_2); }

static const struct {
    const char *name;
    double (*ref)(double);
    double lo, hi; /* the random inputs' range */
} UNARY[] = {{"exp", exp, -110, 95},
             {"tanh", tanh, -12, 12},
             {"sigmoid", ref_sigmoid, -120, 60},
             {"erf", erf, -6, 6},
             {"normcdf", ref_normcdf, -16, 10}};
#define NUNARY (int)(sizeof UNARY / sizeof UNARY[0])

static unary_fn unary_of(const cg__kernels *k, int f) {
    unary_fn fns[NUNARY] = {k->exp_f32, k->tanh_f32, k->sigmoid_f32, k->erf_f32, k->normcdf_f32};
    return fns[f];
}

/* y = f(x) against libm in double, rounded to float, within 4 ulps */
static int check_unary(const cg__kernels *k, int f, int64_t n, const float *x) {
    float *y = fill_f32(n);
    double *ref = malloc(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) ref[i] = (float)UNARY[f].ref(x[i]);
    unary_of(k, f)(n, x, y);
    int rc = check(UNARY[f].name, k->name, n, y, NULL, ref, NULL, F32_TOL);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        if (ref[i] == 0 && !signbit(y[i]) != !signbit(ref[i])) {
            fprintf(stderr, "  %s [%s]: f(%g) = %g, expected %g\n", UNARY[f].name, k->name, x[i],
                    y[i], ref[i]);
            rc = -1;
        }
    free(y), free(ref);
    return rc;
}

TEST(elementwise_f32_against_libm) {
    FOR_LEVELS(k) for (int f = 0; f < NUNARY; f++) for (int li = 0; li < NLENS; li++) {
        float *x = rand_f32(LENS[li], UNARY[f].lo, UNARY[f].hi);
        int rc = check_unary(k, f, LENS[li], x);
        free(x);
        ASSERT(rc == 0);
    }
}

TEST(elementwise_f32_special_values) {
    const float xs[] = {NAN,     INFINITY,    -INFINITY,       0.0f,
                        -0.0f,   FLT_MIN / 2, -FLT_TRUE_MIN,   FLT_MIN,
                        88.72f,  88.73f,      -87.4f,          -103.9f,
                        -104.5f, 1e30f,       -1e30f,          0.5f,
                        -0.5f,   0x1p-5f,     -0x1.fffffep-6f, 3.9f,
                        -3.95f,  9.0f,        -13.5f,          -14.2f};
    const int64_t n = sizeof xs / sizeof xs[0];
    FOR_LEVELS(k) for (int f = 0; f < NUNARY; f++) ASSERT(check_unary(k, f, n, xs) == 0);
}

TEST(elementwise_f32_in_place) {
    const int64_t n = 1000;
    float *x = rand_f32(n, -20, 20), *y = fill_f32(n), *z = fill_f32(n);
    FOR_LEVELS(k) for (int f = 0; f < NUNARY; f++) {
        unary_of(k, f)(n, x, y);
        memcpy(z, x, sizeof(float) * (size_t)n);
        unary_of(k, f)(n, z, z);
        ASSERT(memcmp(y, z, sizeof(float) * (size_t)n) == 0);
    }
    free(x), free(y), free(z);
}

/* ------------------------------------------------------------------- gelu */

/* gelu(x) and its derivative in double: x Phi(x), or x sigmoid(2u) for the
 * tanh form (0.5 x (1 + tanh u) without cancelling); *scale: the sum of
 * the derivative's terms' magnitudes (its rounding scale) */
static double ref_gelu(double x, bool approx) {
    if (!approx) return x * ref_normcdf(x);
    return x / (1 + exp(-2 * SQRT_2_PI * (x + GELU_C * x * x * x)));
}
static double ref_dgelu(double x, bool approx, double *scale) {
    if (!approx) {
        double cdf = ref_normcdf(x), xpdf = x * INV_SQRT_2PI * exp(-0.5 * x * x);
        *scale = fabs(cdf) + fabs(xpdf);
        return cdf + xpdf;
    }
    double u = SQRT_2_PI * (x + GELU_C * x * x * x), s = 1 / (1 + exp(-2 * u));
    double r = 2 * x * s * (1 - s) * SQRT_2_PI * (1 + 3 * GELU_C * x * x);
    *scale = fabs(s) + fabs(r);
    return s + r;
}

static int check_gelu_f32(const cg__kernels *k, int64_t n, const float *x, const float *g,
                          bool approx) {
    float *y = fill_f32(n), *dx = fill_f32(n);
    double *ref = malloc(sizeof(double) * (size_t)(2 * n + 1)), *sc = ref + n;
    for (int64_t i = 0; i < n; i++) ref[i] = (float)ref_gelu(x[i], approx);
    k->gelu_f32(n, x, y, approx);
    int rc = check(approx ? "gelu tanh" : "gelu", k->name, n, y, NULL, ref, NULL, F32_TOL);
    for (int64_t i = 0; i < n; i++) {
        ref[i] = g[i] * ref_dgelu(x[i], approx, &sc[i]);
        sc[i] *= fabs(g[i]);
    }
    k->gelu_bw_f32(n, x, g, dx, approx);
    if (rc == 0)
        rc = check(approx ? "gelu_bw tanh" : "gelu_bw", k->name, n, dx, NULL, ref, sc, F32_TOL);
    free(y), free(dx), free(ref);
    return rc;
}

TEST(gelu_f32_both_forms) {
    FOR_LEVELS(k) for (int approx = 0; approx < 2; approx++) for (int li = 0; li < NLENS; li++) {
        int64_t n = LENS[li];
        float *x = rand_f32(n, -12, 12), *g = rand_f32(n, -3, 3);
        int rc = check_gelu_f32(k, n, x, g, approx);
        free(x), free(g);
        ASSERT(rc == 0);
    }
}

TEST(gelu_f32_special_values) {
    const float x[] = {NAN,     INFINITY, -INFINITY, 0.0f, -0.0f, -0.7517916f, 1e-30f,
                       -1e-40f, 30.0f,    -30.0f,    5.0f, -5.0f, -13.0f,      1e10f};
    const float g[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int64_t n = sizeof x / sizeof x[0];
    FOR_LEVELS(k) for (int approx = 0; approx < 2; approx++) {
        ASSERT(check_gelu_f32(k, n, x, g, approx) == 0);
        float y[3], d[3];
        k->gelu_f32(3, x, y, approx);       /* PyTorch: gelu(NaN, inf, -inf) = NaN, inf, NaN */
        k->gelu_bw_f32(3, x, g, d, approx); /* gelu'(NaN, +-inf) = NaN */
        ASSERT(isnan(y[0]) && y[1] == INFINITY && isnan(y[2]));
        ASSERT(isnan(d[0]) && isnan(d[1]) && isnan(d[2]));
    }
}

/* float64: against 0.5 x (1 + erf(x / sqrt 2)) and 0.5 x (1 + tanh(u)), another
 * route, where they do not cancel (x > -3) */
TEST(gelu_f64_both_forms) {
    FOR_LEVELS(k) for (int approx = 0; approx < 2; approx++) for (int li = 0; li < NLENS; li++) {
        int64_t n = LENS[li];
        double *x = rand_f64(n, -3, 12), *g = rand_f64(n, -3, 3);
        double *y = fill_f64(n), *dx = fill_f64(n), *ref = fill_f64(2 * n), *sc = ref + n;
        for (int64_t i = 0; i < n; i++) {
            double u = SQRT_2_PI * (x[i] + GELU_C * x[i] * x[i] * x[i]);
            ref[i] = 0.5 * x[i] * (1 + (approx ? tanh(u) : erf(x[i] * SQRT1_2)));
        }
        k->gelu_f64(n, x, y, approx);
        int rc = check("gelu f64", k->name, n, NULL, y, ref, NULL, F64_TOL);
        for (int64_t i = 0; i < n; i++) {
            ref[i] = g[i] * ref_dgelu(x[i], approx, &sc[i]);
            sc[i] *= fabs(g[i]);
        }
        k->gelu_bw_f64(n, x, g, dx, approx);
        if (rc == 0) rc = check("gelu_bw f64", k->name, n, NULL, dx, ref, sc, F64_TOL);
        free(x), free(g), free(y), free(dx), free(ref);
        ASSERT(rc == 0);
    }
}

/* ---------------------------------------------------------------- softmax */

/* softmax (or log_softmax) of rows of x in double; scale: each result's
 * rounding scale (log_softmax: |x - max| + |log sum|). f32: x - max rounded
 * to float, as float arithmetic must (exp then carries its relative error
 * |x - max| 2^-24). */
static void ref_softmax(int64_t rows, int64_t len, const double *x, bool log_, bool f32, double *y,
                        double *scale) {
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * len;
        double m = -INFINITY, s = 0;
        for (int64_t i = 0; i < len; i++) {
            if (isnan(xr[i]) || isnan(m))
                m = NAN;
            else if (xr[i] > m)
                m = xr[i];
        }
        for (int64_t i = 0; i < len; i++) s += exp(f32 ? (float)(xr[i] - m) : xr[i] - m);
        for (int64_t i = 0; i < len; i++) {
            double d = f32 ? (float)(xr[i] - m) : xr[i] - m;
            double v = log_ ? d - log(s) : exp(d) / s;
            y[r * len + i] = v;
            scale[r * len + i] = log_ ? fabs(xr[i] - m) + fabs(log(s)) : fabs(v);
        }
    }
}

/* softmax then its backward, float32 and float64, against the reference */
static int check_softmax(const cg__kernels *k, int64_t rows, int64_t len, const double *x64,
                         const double *g64, bool log_) {
    int64_t n = rows * len;
    float *x = fill_f32(n), *y = fill_f32(n), *g = fill_f32(n), *dx = fill_f32(n);
    double *y64 = fill_f64(n), *dx64 = fill_f64(n);
    double *ref = malloc(sizeof(double) * (size_t)(2 * n + 1)), *sc = ref + n;
    for (int64_t i = 0; i < n; i++) x[i] = (float)x64[i], g[i] = (float)g64[i];
    double *xd = fill_f64(n);
    for (int64_t i = 0; i < n; i++) xd[i] = x[i];
    ref_softmax(rows, len, xd, log_, true, ref, sc);
    free(xd);
    k->softmax_f32(rows, len, x, y, log_);
    int rc = check(log_ ? "log_softmax" : "softmax", k->name, n, y, NULL, ref, sc, F32_TOL);
    ref_softmax(rows, len, x64, log_, false, ref, sc);
    k->softmax_f64(rows, len, x64, y64, log_);
    if (rc == 0)
        rc = check(log_ ? "log_softmax f64" : "softmax f64", k->name, n, NULL, y64, ref, sc,
                   F64_TOL);
    /* backward, from the kernel's own y: softmax y (g - sum(g y)); log_softmax g - exp(y) sum(g) */
    for (int p = 0; p < 2 && rc == 0; p++) {
        for (int64_t r = 0; r < rows; r++) {
            double s = 0;
            for (int64_t i = r * len; i < (r + 1) * len; i++)
                s += p ? (log_ ? g64[i] : g64[i] * y64[i]) : (log_ ? g[i] : (double)g[i] * y[i]);
            for (int64_t i = r * len; i < (r + 1) * len; i++) {
                double yi = p ? y64[i] : y[i], gi = p ? g64[i] : g[i];
                ref[i] = log_ ? gi - exp(yi) * s : yi * (gi - s);
                sc[i] = log_ ? fabs(gi) + exp(yi) * fabs(s) : fabs(yi) * (fabs(gi) + fabs(s));
            }
        }
        if (p == 0)
            k->softmax_bw_f32(rows, len, y, g, dx, log_);
        else
            k->softmax_bw_f64(rows, len, y64, g64, dx64, log_);
        rc = check(log_ ? "log_softmax_bw" : "softmax_bw", k->name, n, p ? NULL : dx,
                   p ? dx64 : NULL, ref, sc, p ? F64_TOL : F32_TOL);
    }
    free(x), free(y), free(g), free(dx), free(y64), free(dx64), free(ref);
    return rc;
}

TEST(softmax_rows_and_backward) {
    FOR_LEVELS(k) for (int lg = 0; lg < 2; lg++) for (int li = 0; li < NLENS; li++) {
        for (int64_t rows = 1; rows <= 3; rows += 2) {
            int64_t n = rows * LENS[li];
            double *x = rand_f64(n, -15, 15), *g = rand_f64(n, -2, 2);
            int rc = check_softmax(k, rows, LENS[li], x, g, lg);
            free(x), free(g);
            ASSERT(rc == 0);
        }
    }
}

/* cross_entropy's backward, dx = c (exp(y) - onehot(t)), on log_softmax rows
 * (a target per row, or none: -1 and past the end), against double */
static int check_ce_bw(const cg__kernels *k, int64_t rows, int64_t len, bool f64) {
    int64_t n = rows * len, tgt[3] = {len / 2, -1, len};
    double *x = rand_f64(n, -15, 15), *c = rand_f64(rows, -2, 2), *ref = fill_f64(n);
    double *y64 = fill_f64(n), *dx64 = fill_f64(n);
    float *y = fill_f32(n), *c32 = fill_f32(rows), *dx = fill_f32(n);
    for (int64_t r = 0; r < rows; r++) {
        double m = -INFINITY, s = 0;
        for (int64_t i = 0; i < len; i++) m = fmax(m, x[r * len + i]);
        for (int64_t i = 0; i < len; i++) s += exp(x[r * len + i] - m);
        for (int64_t i = 0; i < len; i++) y64[r * len + i] = x[r * len + i] - m - log(s);
        for (int64_t i = 0; i < len; i++) y[r * len + i] = (float)y64[r * len + i];
        c32[r] = (float)c[r];
        for (int64_t i = 0; i < len; i++)
            ref[r * len + i] = (f64 ? c[r] : c32[r]) *
                               (exp(f64 ? y64[r * len + i] : y[r * len + i]) - (i == tgt[r]));
    }
    if (f64)
        k->ce_bw_f64(rows, len, y64, tgt, c, dx64);
    else
        k->ce_bw_f32(rows, len, y, tgt, c32, dx);
    /* the error scales with c, not with the (small) difference at the target */
    double *sc = fill_f64(n);
    for (int64_t i = 0; i < n; i++) sc[i] = fabs(c[i / (len ? len : 1)]);
    int rc = check("ce_bw", k->name, n, f64 ? NULL : dx, f64 ? dx64 : NULL, ref, sc,
                   f64 ? F64_TOL : F32_TOL);
    free(x), free(c), free(ref), free(y64), free(dx64), free(y), free(c32), free(dx), free(sc);
    return rc;
}

TEST(cross_entropy_backward_rows) {
    FOR_LEVELS(k) for (int p = 0; p < 2; p++) for (int li = 0; li < NLENS; li++) {
        ASSERT(check_ce_bw(k, 3, LENS[li], p) == 0);
    }
}

/* linear_cross_entropy's row pass, in place: each row's loss
 * logsumexp(z) - z[t] (0 without a target: -1 and past the end) and, with
 * coef, z = c (softmax(z) - onehot(t)), against double */
static int check_lce_rows(const cg__kernels *k, int64_t rows, int64_t len, bool f64) {
    int64_t n = rows * len, tgt[3] = {len / 2, -1, len};
    double *x = rand_f64(n, -15, 15), *c = rand_f64(rows, -2, 2), *ref = fill_f64(n);
    double *z64 = fill_f64(n), *loss = fill_f64(rows), *lref = fill_f64(rows);
    double *sc = fill_f64(n), *lsc = fill_f64(rows);
    float *z32 = fill_f32(n), *c32 = fill_f32(rows);
    for (int64_t r = 0; r < rows; r++) {
        double *xr = x + r * len, m = -INFINITY, s = 0;
        c32[r] = (float)c[r];
        for (int64_t i = 0; i < len; i++) {
            z32[r * len + i] = (float)xr[i], z64[r * len + i] = xr[i];
            if (!f64) xr[i] = z32[r * len + i]; /* the reference sees float's inputs */
            m = fmax(m, xr[i]);
        }
        for (int64_t i = 0; i < len; i++) s += exp(xr[i] - m);
        double lse = m + log(s), cr = f64 ? c[r] : c32[r];
        bool has_t = tgt[r] >= 0 && tgt[r] < len;
        lref[r] = has_t ? lse - xr[tgt[r]] : 0;
        lsc[r] = has_t ? fabs(lse) + fabs(xr[tgt[r]]) + 1 : 1;
        for (int64_t i = 0; i < len; i++)
            ref[r * len + i] = cr * (exp(xr[i] - lse) - (i == tgt[r])), sc[r * len + i] = fabs(cr);
    }
    if (f64)
        k->lce_rows_f64(rows, len, z64, tgt, c, loss);
    else
        k->lce_rows_f32(rows, len, z32, tgt, c32, loss);
    double tol = f64 ? F64_TOL : F32_TOL;
    int rc = check("lce_rows", k->name, n, f64 ? NULL : z32, f64 ? z64 : NULL, ref, sc, tol);
    if (rc == 0) rc = check("lce_rows loss", k->name, rows, NULL, loss, lref, lsc, tol);
    free(x), free(c), free(ref), free(z64), free(loss), free(lref), free(sc), free(lsc);
    free(z32), free(c32);
    return rc;
}

TEST(linear_cross_entropy_rows) {
    FOR_LEVELS(k) for (int p = 0; p < 2; p++) for (int li = 0; li < NLENS; li++) {
        ASSERT(check_lce_rows(k, 3, LENS[li], p) == 0);
    }
}

/* embedding's backward: repeated and scattered rows accumulate in order, as
 * a plain loop adds them (bit for bit) */
TEST(scatter_add_rows) {
    enum { V = 5, N = 9 };
    const int64_t idx[N] = {3, 0, 3, 4, 3, 1, 0, 4, 2};
    FOR_LEVELS(k) for (int li = 0; li < NLENS; li++) {
        int64_t D = LENS[li];
        double *src = rand_f64(N * D, -3, 3), *dst64 = rand_f64(V * D, -1, 1);
        double *ref = fill_f64(V * D);
        float *src32 = fill_f32(N * D), *dst = fill_f32(V * D);
        for (int64_t i = 0; i < N * D; i++) src32[i] = (float)src[i];
        for (int64_t i = 0; i < V * D; i++) dst[i] = (float)dst64[i];
        for (int p = 0; p < 2; p++) {
            for (int64_t i = 0; i < V * D; i++) ref[i] = p ? dst64[i] : dst[i];
            for (int64_t r = 0; r < N; r++)
                for (int64_t j = 0; j < D; j++)
                    if (p)
                        ref[idx[r] * D + j] += src[r * D + j];
                    else
                        ref[idx[r] * D + j] = (float)(ref[idx[r] * D + j] + src32[r * D + j]);
            if (p)
                k->scatter_add_rows_f64(N, D, idx, src, dst64);
            else
                k->scatter_add_rows_f32(N, D, idx, src32, dst);
            ASSERT(check("scatter_add_rows", k->name, V * D, p ? NULL : dst, p ? dst64 : NULL, ref,
                         NULL, 0) == 0);
        }
        free(src), free(dst64), free(ref), free(src32), free(dst);
    }
}

/* a NaN, +inf, or only -inf in a row makes the row NaN; -inf elements of
 * an otherwise finite row give 0 (log_softmax: -inf) */
TEST(softmax_nan_and_inf_rows) {
    enum { R = 5, L = 19 };
    float x[R * L];
    for (int i = 0; i < R * L; i++) x[i] = (float)urand(-3, 3);
    x[0 * L + 17] = NAN;
    x[1 * L + 3] = INFINITY;
    for (int i = 0; i < L; i++) x[2 * L + i] = -INFINITY;
    x[3 * L + 0] = x[3 * L + 18] = -INFINITY;
    FOR_LEVELS(k) for (int lg = 0; lg < 2; lg++) {
        float y[R * L];
        k->softmax_f32(R, L, x, y, lg);
        for (int i = 0; i < 3 * L; i++) ASSERT(isnan(y[i]));
        ASSERT(y[3 * L] == (lg ? -INFINITY : 0) && y[3 * L + 18] == (lg ? -INFINITY : 0));
        for (int i = 3 * L + 1; i < 3 * L + 18; i++) ASSERT(isfinite(y[i]));
        for (int i = 4 * L; i < R * L; i++) ASSERT(isfinite(y[i]));
        double x64[L], y64[L];
        for (int i = 0; i < L; i++) x64[i] = x[i];
        k->softmax_f64(1, L, x64, y64, lg);
        for (int i = 0; i < L; i++) ASSERT(isnan(y64[i]));
    }
}

/* ------------------------------------------------------------- layer_norm */

#define LN_TOL (8 * FLT_EPSILON)

/* layer_norm over rows in double: y, its rounding scale (|x| + |mean|) rstd
 * |w| + |b|, mean and rstd */
static void ref_layer_norm(int64_t rows, int64_t D, const double *x, const double *w,
                           const double *b, double eps, double *y, double *sc, double *mean,
                           double *rstd) {
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * D;
        double mu = 0, var = 0;
        for (int64_t i = 0; i < D; i++) mu += xr[i];
        mu /= (double)D;
        for (int64_t i = 0; i < D; i++) var += (xr[i] - mu) * (xr[i] - mu);
        double rs = 1 / sqrt(var / (double)D + eps);
        for (int64_t i = 0; i < D; i++) {
            double wi = w ? w[i] : 1, bi = b ? b[i] : 0;
            y[r * D + i] = (xr[i] - mu) * rs * wi + bi;
            sc[r * D + i] = (fabs(xr[i]) + fabs(mu)) * rs * fabs(wi) + fabs(bi);
        }
        mean[r] = mu, rstd[r] = rs;
    }
}

/* float32 and float64 forward, weight and bias each present or not (mask) */
static int check_layer_norm(const cg__kernels *k, int64_t rows, int64_t D, int mask) {
    int64_t n = rows * D;
    double *x = rand_f64(n, 1, 5), *w = mask & 1 ? rand_f64(D, -2, 2) : NULL;
    double *b = mask & 2 ? rand_f64(D, -1, 1) : NULL, *y = fill_f64(n), *mean = fill_f64(rows);
    double *rstd = fill_f64(rows), *ref = fill_f64(2 * n + 2 * rows), *sc = ref + n;
    double *rmean = sc + n, *rrstd = rmean + rows;
    float *xf = fill_f32(n), *wf = fill_f32(D), *bf = fill_f32(D), *yf = fill_f32(n);
    float *meanf = fill_f32(rows), *rstdf = fill_f32(rows);
    for (int64_t i = 0; i < n; i++) xf[i] = (float)x[i], x[i] = xf[i];
    for (int64_t i = 0; i < D; i++) {
        if (w) wf[i] = (float)w[i], w[i] = wf[i];
        if (b) bf[i] = (float)b[i], b[i] = bf[i];
    }
    ref_layer_norm(rows, D, x, w, b, 1e-5, ref, sc, rmean, rrstd);
    k->layer_norm_f32(rows, D, xf, w ? wf : NULL, b ? bf : NULL, 1e-5, yf, meanf, rstdf);
    int rc = check("layer_norm", k->name, n, yf, NULL, ref, sc, LN_TOL);
    if (rc == 0) rc = check("layer_norm mean", k->name, rows, meanf, NULL, rmean, NULL, F32_TOL);
    if (rc == 0) rc = check("layer_norm rstd", k->name, rows, rstdf, NULL, rrstd, NULL, F32_TOL);
    k->layer_norm_f64(rows, D, x, w, b, 1e-5, y, mean, rstd);
    if (rc == 0) rc = check("layer_norm f64", k->name, n, NULL, y, ref, sc, F64_TOL);
    if (rc == 0) rc = check("layer_norm f64 mean", k->name, rows, NULL, mean, rmean, NULL, F64_TOL);
    if (rc == 0) rc = check("layer_norm f64 rstd", k->name, rows, NULL, rstd, rrstd, NULL, F64_TOL);
    free(x), free(w), free(b), free(y), free(mean), free(rstd), free(ref);
    free(xf), free(wf), free(bf), free(yf), free(meanf), free(rstdf);
    return rc;
}

TEST(layer_norm_forward) {
    FOR_LEVELS(k)
    for (int mask = 0; mask < 4; mask++)
        for (int li = 1; li < NLENS; li++)
            for (int64_t rows = 0; rows <= 3; rows += 3)
                ASSERT(check_layer_norm(k, rows, LENS[li], mask) == 0);
}

/* the layer_norm backward in double, each result with its rounding scale:
 * dx = rstd (gx - mean(gx) - xhat mean(gx xhat)), gx = g w; dw = sum of g
 * xhat and db = sum of g over rows. xhat's scale is xs = (|x| + |mean|)
 * rstd (mean saved as a float is off by an ulp of it), and the scales
 * are the sums of magnitudes that follow. */
typedef struct {
    double *dx, *sdx, *dw, *sdw, *db, *sdb;
} ln_bw_ref;

static void ref_layer_norm_bw(int64_t rows, int64_t D, const double *x, const double *w,
                              const double *g, double eps, ln_bw_ref *o) {
    for (int64_t i = 0; i < D; i++) o->dw[i] = o->sdw[i] = o->db[i] = o->sdb[i] = 0;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * D, *gr = g + r * D;
        double mu = 0, var = 0, m1 = 0, m2 = 0;
        for (int64_t i = 0; i < D; i++) mu += xr[i] / (double)D;
        for (int64_t i = 0; i < D; i++) var += (xr[i] - mu) * (xr[i] - mu) / (double)D;
        double rs = 1 / sqrt(var + eps), s2 = 0;
        for (int64_t i = 0; i < D; i++) {
            double gx = gr[i] * (w ? w[i] : 1), xh = (xr[i] - mu) * rs;
            double xs = (fabs(xr[i]) + fabs(mu)) * rs;
            m1 += gx / (double)D, m2 += gx * xh / (double)D, s2 += fabs(gx) * xs / (double)D;
            o->dw[i] += gr[i] * xh, o->sdw[i] += fabs(gr[i]) * xs;
            o->db[i] += gr[i], o->sdb[i] += fabs(gr[i]);
        }
        for (int64_t i = 0; i < D; i++) {
            double gx = gr[i] * (w ? w[i] : 1), xh = (xr[i] - mu) * rs;
            double xs = (fabs(xr[i]) + fabs(mu)) * rs;
            o->dx[r * D + i] = rs * (gx - m1 - xh * m2);
            o->sdx[r * D + i] = rs * (fabs(gx) + fabs(m1) + xs * fabs(m2) + fabs(xh) * s2);
        }
    }
}

/* D doubles zeroed, then GUARD sentinels */
static double *zeros_f64(int64_t D) {
    double *p = fill_f64(D);
    memset(p, 0, sizeof(double) * (size_t)D);
    return p;
}

/* float32: the kernel's forward gives mean and rstd; dx, dw, db all at
 * once, then dx alone and dw, db alone must give the same */
static int check_ln_bw_f32(const cg__kernels *k, int64_t rows, int64_t D, const double *x,
                           const double *w, const double *g, const ln_bw_ref *ref) {
    int64_t n = rows * D;
    float *xf = fill_f32(n), *gf = fill_f32(n), *wf = fill_f32(D), *y = fill_f32(n);
    float *mean = fill_f32(rows), *rstd = fill_f32(rows), *dx = fill_f32(n), *dx2 = fill_f32(n);
    double *dw = zeros_f64(D), *db = zeros_f64(D), *dw2 = zeros_f64(D), *db2 = zeros_f64(D);
    for (int64_t i = 0; i < n; i++) xf[i] = (float)x[i], gf[i] = (float)g[i];
    for (int64_t i = 0; w && i < D; i++) wf[i] = (float)w[i];
    k->layer_norm_f32(rows, D, xf, NULL, NULL, 1e-5, y, mean, rstd);
    k->layer_norm_bw_f32(rows, D, xf, mean, rstd, w ? wf : NULL, gf, dx, dw, db);
    int rc = check("layer_norm_bw dx", k->name, n, dx, NULL, ref->dx, ref->sdx, LN_TOL);
    if (rc == 0) rc = check("layer_norm_bw dw", k->name, D, NULL, dw, ref->dw, ref->sdw, LN_TOL);
    if (rc == 0) rc = check("layer_norm_bw db", k->name, D, NULL, db, ref->db, ref->sdb, 1e-12);
    k->layer_norm_bw_f32(rows, D, xf, mean, rstd, w ? wf : NULL, gf, dx2, NULL, NULL);
    k->layer_norm_bw_f32(rows, D, xf, mean, rstd, w ? wf : NULL, gf, NULL, dw2, db2);
    if (rc == 0 && (memcmp(dx, dx2, sizeof(float) * (size_t)n) ||
                    memcmp(dw, dw2, sizeof(double) * (size_t)D) ||
                    memcmp(db, db2, sizeof(double) * (size_t)D))) {
        fprintf(stderr, "  layer_norm_bw [%s]: a partial call differs\n", k->name);
        rc = -1;
    }
    free(xf), free(gf), free(wf), free(y), free(mean), free(rstd), free(dx), free(dx2);
    free(dw), free(db), free(dw2), free(db2);
    return rc;
}

static int check_ln_bw_f64(const cg__kernels *k, int64_t rows, int64_t D, const double *x,
                           const double *w, const double *g, const ln_bw_ref *ref) {
    int64_t n = rows * D;
    double *y = fill_f64(n), *mean = fill_f64(rows), *rstd = fill_f64(rows), *dx = fill_f64(n);
    double *dw = zeros_f64(D), *db = zeros_f64(D);
    k->layer_norm_f64(rows, D, x, NULL, NULL, 1e-5, y, mean, rstd);
    k->layer_norm_bw_f64(rows, D, x, mean, rstd, w, g, dx, dw, db);
    int rc = check("layer_norm_bw f64 dx", k->name, n, NULL, dx, ref->dx, ref->sdx, F64_TOL);
    if (rc == 0)
        rc = check("layer_norm_bw f64 dw", k->name, D, NULL, dw, ref->dw, ref->sdw, F64_TOL);
    if (rc == 0)
        rc = check("layer_norm_bw f64 db", k->name, D, NULL, db, ref->db, ref->sdb, F64_TOL);
    free(y), free(mean), free(rstd), free(dx), free(dw), free(db);
    return rc;
}

TEST(layer_norm_backward) {
    FOR_LEVELS(k) for (int with_w = 0; with_w < 2; with_w++) for (int li = 1; li < NLENS; li++) {
        int64_t D = LENS[li], rows = D > 100 ? 3 : 37, n = rows * D;
        double *x = rand_f64(n, 1, 5), *g = rand_f64(n, -2, 2);
        double *w = with_w ? rand_f64(D, -2, 2) : NULL;
        for (int64_t i = 0; i < n; i++) x[i] = (float)x[i], g[i] = (float)g[i];
        for (int64_t i = 0; w && i < D; i++) w[i] = (float)w[i];
        double *buf = malloc(sizeof(double) * (size_t)(2 * n + 4 * D)), *b2 = buf + 2 * n;
        ln_bw_ref ref = {buf, buf + n, b2, b2 + D, b2 + 2 * D, b2 + 3 * D};
        ref_layer_norm_bw(rows, D, x, w, g, 1e-5, &ref);
        int rc = check_ln_bw_f32(k, rows, D, x, w, g, &ref);
        if (rc == 0) rc = check_ln_bw_f64(k, rows, D, x, w, g, &ref);
        free(x), free(g), free(w), free(buf);
        ASSERT(rc == 0);
    }
}

/* ------------------------------------------------------------------ adamw */

/* one step in double from the same (float-valued) state, the betas as
 * given (f32: rounded to float, as a float step must); scales: each
 * update's terms' magnitudes (p's carries m's, which may cancel) */
static void ref_adamw(int64_t n, double *p, const double *g, double *m, double *v,
                      const cg__adamw_hp *hp, bool f32, double *sp, double *sm, double *sv) {
    double b1 = f32 ? (float)hp->beta1 : hp->beta1, b2 = f32 ? (float)hp->beta2 : hp->beta2;
    double decay = hp->decoupled ? 1 - hp->lr * hp->weight_decay : 1;
    double wd = hp->decoupled ? 0 : hp->weight_decay, step = hp->lr / hp->bias_correction1;
    for (int64_t i = 0; i < n; i++) {
        double pi = p[i] * decay, gi = g[i] + wd * pi;
        sm[i] = fabs(m[i] * b1) + fabs(gi * (1 - b1));
        sv[i] = fabs(v[i] * b2) + gi * gi * (1 - b2);
        m[i] = m[i] * b1 + gi * (1 - b1);
        v[i] = v[i] * b2 + gi * gi * (1 - b2);
        double den = sqrt(v[i]) / sqrt(hp->bias_correction2) + hp->eps, u = step * m[i] / den;
        sp[i] = fabs(pi) + fabs(u) + step * sm[i] / den;
        p[i] = pi - u;
    }
}

static int check_adamw(const cg__kernels *k, int64_t n, const cg__adamw_hp *hp) {
    double *s[4], *ref[4], *sc[3]; /* p, g, m, v */
    float *f[4];
    const double lo[4] = {-1, -1, -0.1, 0}, hi[4] = {1, 1, 0.1, 0.01};
    for (int j = 0; j < 4; j++) {
        s[j] = rand_f64(n, lo[j], hi[j]), ref[j] = fill_f64(n), f[j] = fill_f32(n);
        for (int64_t i = 0; i < n; i++) f[j][i] = (float)s[j][i], ref[j][i] = s[j][i] = f[j][i];
    }
    for (int j = 0; j < 3; j++) sc[j] = fill_f64(n);
    k->adamw_f32(n, f[0], f[1], f[2], f[3], hp);
    k->adamw_f64(n, s[0], s[1], s[2], s[3], hp);
    int rc = 0;
    const char *names[4] = {"adamw p", "", "adamw exp_avg", "adamw exp_avg_sq"};
    for (int f32 = 1; f32 >= 0; f32--) {
        double *r[4];
        for (int j = 0; j < 4; j++)
            r[j] = fill_f64(n), memcpy(r[j], ref[j], sizeof(double) * (size_t)n);
        ref_adamw(n, r[0], r[1], r[2], r[3], hp, f32, sc[0], sc[1], sc[2]);
        for (int j = 0; j < 4 && rc == 0; j++)
            if (j != 1)
                rc = check(names[j], k->name, n, f32 ? f[j] : NULL, f32 ? NULL : s[j], r[j],
                           sc[j ? j - 1 : 0], f32 ? LN_TOL : F64_TOL);
        for (int j = 0; j < 4; j++) free(r[j]);
    }
    for (int j = 0; j < 4; j++) free(s[j]), free(ref[j]), free(f[j]);
    for (int j = 0; j < 3; j++) free(sc[j]);
    return rc;
}

TEST(adamw_step) {
    cg__adamw_hp hp = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
    hp.bias_correction1 = 1 - pow(hp.beta1, 3), hp.bias_correction2 = 1 - pow(hp.beta2, 3);
    FOR_LEVELS(k) for (int dec = 0; dec < 2; dec++) for (int li = 0; li < NLENS; li++) {
        hp.decoupled = dec;
        ASSERT(check_adamw(k, LENS[li], &hp) == 0);
    }
}

/* ------------------------------------------------------------------- gemm */

static const int64_t GEMM_SIZES[] = {1, 7, 17, 33, 100, 257};
#define NGEMM (int)(sizeof GEMM_SIZES / sizeof GEMM_SIZES[0])

typedef struct {
    int trans; /* CG__GEMM_TA | CG__GEMM_TB */
    int64_t m, n, k;
    int64_t lda, ldb, ldc; /* the stored rows' lengths, or more */
    double alpha, beta;
} gemm_case;

static bool gemm_ta(const gemm_case *g) { return g->trans & CG__GEMM_TA; }
static bool gemm_tb(const gemm_case *g) { return g->trans & CG__GEMM_TB; }
/* elements of the stored A, B and C: rows x leading dimension */
static int64_t gemm_na(const gemm_case *g) { return (gemm_ta(g) ? g->k : g->m) * g->lda; }
static int64_t gemm_nb(const gemm_case *g) { return (gemm_tb(g) ? g->n : g->k) * g->ldb; }
static int64_t gemm_nc(const gemm_case *g) { return g->m * g->ldc; }

/* ref (m, ldc) = alpha op(A) op(B) + beta C0 in double, scale the terms'
 * magnitudes; C0's padding columns stay, with scale 0 (bit-exact) */
static void gemm_ref(const gemm_case *g, const double *a, const double *b, const double *c0,
                     double *ref, double *scale) {
    for (int64_t i = 0; i < gemm_nc(g); i++) ref[i] = c0[i], scale[i] = 0;
    for (int64_t i = 0; i < g->m; i++)
        for (int64_t j = 0; j < g->n; j++) {
            double s = 0, mag = 0;
            for (int64_t p = 0; p < g->k; p++) {
                double x = (gemm_ta(g) ? a[p * g->lda + i] : a[i * g->lda + p]) *
                           (gemm_tb(g) ? b[j * g->ldb + p] : b[p * g->ldb + j]);
                s += x, mag += fabs(x);
            }
            double cb = g->beta == 0 ? 0 : g->beta * c0[i * g->ldc + j];
            ref[i * g->ldc + j] = g->alpha * s + cb;
            scale[i * g->ldc + j] = fabs(g->alpha) * mag + fabs(cb);
        }
}

static double *widen(int64_t n, const float *x) { /* n + GUARD, as x */
    double *p = malloc(sizeof(double) * (size_t)(n + GUARD));
    for (int64_t i = 0; i < n + GUARD; i++) p[i] = x[i];
    return p;
}

/* gemm_f32 and gemm_f64 at every level against the double reference, within
 * the worst-case rounding bound (k + 2) eps of the terms' magnitudes */
static int check_gemm(const gemm_case *g) {
    float *a = rand_f32(gemm_na(g), -1, 1), *b = rand_f32(gemm_nb(g), -1, 1);
    float *c0 = rand_f32(gemm_nc(g), -1, 1), *c = fill_f32(gemm_nc(g));
    double *ad = widen(gemm_na(g), a), *bd = widen(gemm_nb(g), b), *cd0 = widen(gemm_nc(g), c0);
    double *cd = fill_f64(gemm_nc(g)), *ref = fill_f64(gemm_nc(g)), *scale = fill_f64(gemm_nc(g));
    gemm_ref(g, ad, bd, cd0, ref, scale);
    char what[96];
    snprintf(what, sizeof what, "gemm %c%c m=%lld n=%lld k=%lld alpha=%g beta=%g",
             gemm_ta(g) ? 'T' : 'N', gemm_tb(g) ? 'T' : 'N', (long long)g->m, (long long)g->n,
             (long long)g->k, g->alpha, g->beta);
    int rc = 0;
    FOR_LEVELS(k) {
        memcpy(c, c0, sizeof(float) * (size_t)gemm_nc(g));
        memcpy(cd, cd0, sizeof(double) * (size_t)gemm_nc(g));
        k->gemm_f32(g->trans, g->m, g->n, g->k, (float)g->alpha, a, g->lda, b, g->ldb,
                    (float)g->beta, c, g->ldc);
        k->gemm_f64(g->trans, g->m, g->n, g->k, g->alpha, ad, g->lda, bd, g->ldb, g->beta, cd,
                    g->ldc);
        double n = (double)g->k + 2;
        if (check(what, k->name, gemm_nc(g), c, NULL, ref, scale, n * FLT_EPSILON) < 0 ||
            check(what, k->name, gemm_nc(g), NULL, cd, ref, scale, n * DBL_EPSILON) < 0)
            rc = -1;
    }
    free(a), free(b), free(c0), free(c), free(ad), free(bd), free(cd0), free(cd), free(ref);
    free(scale);
    return rc;
}

/* g with its leading dimensions: the stored rows' lengths plus pad */
static gemm_case gemm_with_ld(gemm_case g, int64_t pad) {
    g.lda = (gemm_ta(&g) ? g.m : g.k) + pad;
    g.ldb = (gemm_tb(&g) ? g.k : g.n) + 2 * pad;
    g.ldc = g.n + 3 * pad;
    return g;
}

/* every transpose form, m and n over the awkward sizes, k over them too
 * (k = 257 crosses a packed slice at the AVX levels, m = 257 a packed A block); padded
 * leading dimensions and alpha/beta other than 1/0 on every other case */
TEST(gemm_against_double) {
    for (int trans = 0; trans < 4; trans++)
        for (int im = 0; im < NGEMM; im++)
            for (int in = 0; in < NGEMM; in++) {
                int odd = (im + in) % 2;
                gemm_case g = {trans,
                               GEMM_SIZES[im],
                               GEMM_SIZES[in],
                               GEMM_SIZES[(im + 2 * in) % NGEMM],
                               .alpha = odd ? -0.75 : 1,
                               .beta = odd ? 0.5 : 0};
                g = gemm_with_ld(g, odd ? 3 : 0);
                ASSERT(check_gemm(&g) == 0);
            }
}

/* blocks: m past two A blocks, k past a slice at every level, n past a B block */
TEST(gemm_large_blocks) {
    for (int trans = 0; trans < 4; trans++) {
        gemm_case big = gemm_with_ld((gemm_case){trans, 257, 100, 600, .alpha = 1, .beta = 1}, 1);
        gemm_case wide = gemm_with_ld((gemm_case){trans, 3, 2100, 5, .alpha = 2, .beta = 0}, 0);
        ASSERT(check_gemm(&big) == 0);
        ASSERT(check_gemm(&wide) == 0);
    }
}

/* beta 0 does not read C (NaN there stays out); k 0 or alpha 0 only scales C */
TEST(gemm_beta_zero_and_empty) {
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4];
    double ad[4] = {1, 2, 3, 4}, bd[4] = {5, 6, 7, 8}, cd[4];
    FOR_LEVELS(k) {
        for (int i = 0; i < 4; i++) c[i] = NAN, cd[i] = NAN;
        k->gemm_f32(0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
        k->gemm_f64(CG__GEMM_TA | CG__GEMM_TB, 2, 2, 2, 1.0, ad, 2, bd, 2, 0.0, cd, 2);
        ASSERT_EQ(c[0], 19.0f);
        ASSERT_EQ(c[3], 50.0f);
        ASSERT_EQ(cd[0], 23.0);
        ASSERT_EQ(cd[3], 46.0);                                /* A^T B^T */
        k->gemm_f32(0, 2, 2, 0, 1.0f, a, 2, b, 2, 0.5f, c, 2); /* k 0: C = beta C */
        ASSERT_EQ(c[0], 9.5f);
        ASSERT_EQ(c[3], 25.0f);
        k->gemm_f64(0, 2, 2, 2, 0.0, ad, 2, bd, 2, 0.0, cd, 2); /* alpha 0, beta 0: zeros */
        ASSERT_EQ(cd[0], 0.0);
        ASSERT_EQ(cd[3], 0.0);
        k->gemm_f32(0, 0, 2, 2, 1.0f, a, 2, b, 2, 0.0f, NULL, 2); /* m 0: nothing */
    }
}

/* ----------------------------------------------------------------- linear */

/* y (m, ldy) = x (m, k) w^T + bias at every level against double, within
 * (k + 2) eps of the terms' magnitudes; the padding of y's rows and past its
 * end untouched; the FMA levels (avx2, avx512) equal to the bit, as their
 * partial sums are the same; 0 or -1 */
static int check_linear(int64_t m, int64_t n, int64_t k, bool bias, int64_t pad) {
    int64_t ldy = n + pad, ny = m * ldy;
    float *x = rand_f32(m * k, -1, 1), *w = rand_f32(n * k, -1, 1), *b = rand_f32(n, -1, 1);
    float *y = fill_f32(ny), *fma_y = fill_f32(ny);
    double *ref = fill_f64(ny), *scale = fill_f64(ny);
    for (int64_t i = 0; i < ny; i++) ref[i] = (float)SENTINEL, scale[i] = 0; /* padding: kept */
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++) {
            double s = bias ? b[j] : 0, mag = fabs(s);
            for (int64_t p = 0; p < k; p++) {
                double t = (double)x[r * k + p] * w[j * k + p];
                s += t, mag += fabs(t);
            }
            ref[r * ldy + j] = s, scale[r * ldy + j] = mag;
        }
    char what[96];
    snprintf(what, sizeof what, "linear m=%lld n=%lld k=%lld bias=%d pad=%lld", (long long)m,
             (long long)n, (long long)k, bias, (long long)pad);
    int rc = 0, fma_levels = 0;
    FOR_LEVELS(kt) {
        for (int64_t i = 0; i < ny + GUARD; i++) y[i] = (float)SENTINEL;
        kt->linear_f32(m, n, k, x, w, bias ? b : NULL, y, ldy);
        if (check(what, kt->name, ny, y, NULL, ref, scale, (double)(k + 2) * FLT_EPSILON) < 0)
            rc = -1;
        if (strcmp(kt->name, "default") == 0) continue;
        if (fma_levels++ == 0)
            memcpy(fma_y, y, sizeof(float) * (size_t)ny);
        else if (memcmp(fma_y, y, sizeof(float) * (size_t)ny) != 0) {
            fprintf(stderr, "  %s [%s]: differs from the other FMA level\n", what, kt->name);
            rc = -1;
        }
    }
    free(x), free(w), free(b), free(y), free(fma_y), free(ref), free(scale);
    return rc;
}

/* a decode step's shapes (few rows of x) over awkward n and k: groups of
 * four rows of w and the rest, k around the 16 partial sums */
TEST(linear_against_double) {
    static const int64_t NS[] = {1, 3, 4, 5, 17, 64}, KS[] = {0, 1, 15, 16, 17, 100, 257};
    for (int64_t m = 1; m <= 3; m++)
        for (int in = 0; in < 6; in++)
            for (int ik = 0; ik < 7; ik++)
                ASSERT(check_linear(m, NS[in], KS[ik], (in + ik) % 2, (in + m) % 2 ? 3 : 0) == 0);
}

/* --------------------------------------------------------------- in place */

/* out(a, b, y) then the same into a copy of b (in place); equal bits? */
#define SAME_IN_PLACE(T, n, b, y, CALL_OUT, CALL_IN)                                               \
    do {                                                                                           \
        T *c_ = malloc(sizeof(T) * (size_t)(n));                                                   \
        memcpy(c_, b, sizeof(T) * (size_t)(n));                                                    \
        CALL_OUT;                                                                                  \
        CALL_IN;                                                                                   \
        bool same_ = memcmp(c_, y, sizeof(T) * (size_t)(n)) == 0;                                  \
        free(c_);                                                                                  \
        ASSERT(same_);                                                                             \
    } while (0)

/* y == x for gelu and layer_norm, dx == g for the backwards */
TEST(in_place_calls_match) {
    enum { R = 3, L = 333, N = R * L };
    float *x = rand_f32(N, -5, 5), *g = rand_f32(N, -2, 2), *w = rand_f32(L, -2, 2);
    float *y = fill_f32(N), *st = fill_f32(2 * R);
    double *xd = rand_f64(N, -5, 5), *gd = rand_f64(N, -2, 2), *yd = fill_f64(N);
    double *sd = fill_f64(2 * R); /* mean, rstd */
    FOR_LEVELS(k) for (int v = 0; v < 2; v++) {
        SAME_IN_PLACE(float, N, x, y, k->gelu_f32(N, x, y, v), k->gelu_f32(N, c_, c_, v));
        SAME_IN_PLACE(double, N, xd, yd, k->gelu_f64(N, xd, yd, v), k->gelu_f64(N, c_, c_, v));
        SAME_IN_PLACE(float, N, g, y, k->gelu_bw_f32(N, x, g, y, v),
                      k->gelu_bw_f32(N, x, c_, c_, v));
        SAME_IN_PLACE(double, N, gd, yd, k->gelu_bw_f64(N, xd, gd, yd, v),
                      k->gelu_bw_f64(N, xd, c_, c_, v));
        SAME_IN_PLACE(float, N, g, y, k->softmax_bw_f32(R, L, x, g, y, v),
                      k->softmax_bw_f32(R, L, x, c_, c_, v));
        SAME_IN_PLACE(double, N, gd, yd, k->softmax_bw_f64(R, L, xd, gd, yd, v),
                      k->softmax_bw_f64(R, L, xd, c_, c_, v));
        const float *wv = v ? w : NULL;
        SAME_IN_PLACE(float, N, x, y, k->layer_norm_f32(R, L, x, wv, wv, 1e-5, y, st, st + R),
                      k->layer_norm_f32(R, L, c_, wv, wv, 1e-5, c_, st, st + R));
        SAME_IN_PLACE(double, N, xd, yd,
                      k->layer_norm_f64(R, L, xd, NULL, NULL, 1e-5, yd, sd, sd + R),
                      k->layer_norm_f64(R, L, c_, NULL, NULL, 1e-5, c_, sd, sd + R));
        SAME_IN_PLACE(float, N, g, y,
                      k->layer_norm_bw_f32(R, L, x, st, st + R, wv, g, y, NULL, NULL),
                      k->layer_norm_bw_f32(R, L, x, st, st + R, wv, c_, c_, NULL, NULL));
        SAME_IN_PLACE(double, N, gd, yd,
                      k->layer_norm_bw_f64(R, L, xd, sd, sd + R, NULL, gd, yd, NULL, NULL),
                      k->layer_norm_bw_f64(R, L, xd, sd, sd + R, NULL, c_, c_, NULL, NULL));
    }
    free(x), free(g), free(w), free(y), free(st), free(xd), free(gd), free(yd), free(sd);
}

/* --------------------------------------------------------------- dispatch */

TEST(dispatch_levels) {
    const cg__kernels *k = cg__kern();
    ASSERT(k && cg__kern() == k);
    ASSERT_STR_EQ(cg__cpu_capability(), k->name);
    ASSERT(cg__kern_at(CG__CPU_DEFAULT) == &cg__kernels_default);
    ASSERT(!cg__kern_at(CG__CPU_NLEVELS) && !cg__kern_at((cg__cpu_level)-1));
    char note[200];
    cg__cpu_level best = cg__cpu_pick(NULL, note, sizeof note);
    ASSERT_STR_EQ(note, "");
    ASSERT(cg__kern_at(best));
    for (int l = best + 1; l < CG__CPU_NLEVELS; l++) ASSERT(!cg__kern_at((cg__cpu_level)l));
    printf("  levels:");
    FOR_LEVELS(t) printf(" %s", t->name);
    printf(" (in use: %s)\n", k->name);
    /* the env's rules, through cg__cpu_pick */
    ASSERT_EQ(cg__cpu_pick("", note, sizeof note), best);
    ASSERT_EQ(cg__cpu_pick("default", note, sizeof note), CG__CPU_DEFAULT);
    ASSERT_STR_EQ(note, "");
    for (int l = 0; l < CG__CPU_NLEVELS; l++) {
        const char *name = cg__cpu_level_name((cg__cpu_level)l);
        cg__cpu_level got = cg__cpu_pick(name, note, sizeof note);
        ASSERT_EQ(got, cg__kern_at((cg__cpu_level)l) ? l : (int)best);
        ASSERT(cg__kern_at((cg__cpu_level)l) ? note[0] == '\0' : strstr(note, "lacks it") != NULL);
    }
    cg__cpu_level avx2 = cg__kern_at(CG__CPU_AVX2) ? CG__CPU_AVX2 : best;
    ASSERT_EQ(cg__cpu_pick("AVX2", note, sizeof note), avx2); /* any case */
    ASSERT_EQ(cg__cpu_pick("sse9", note, sizeof note), best);
    ASSERT(strstr(note, "unknown") != NULL);
    const char *env = getenv("CGRAD_CPU_CAPABILITY");
    ASSERT(k == cg__kern_at(cg__cpu_pick(env, note, sizeof note)));
    ASSERT_STR_EQ(cg_cpu_capability(), k->name); /* the public name */
}

TEST(every_table_is_complete) {
    FOR_LEVELS(k) {
        ASSERT(k->exp_f32 && k->tanh_f32 && k->sigmoid_f32 && k->erf_f32 && k->normcdf_f32);
        ASSERT(k->gelu_f32 && k->gelu_f64 && k->gelu_bw_f32 && k->gelu_bw_f64);
        ASSERT(k->softmax_f32 && k->softmax_f64 && k->softmax_bw_f32 && k->softmax_bw_f64);
        ASSERT(k->ce_bw_f32 && k->ce_bw_f64 && k->scatter_add_rows_f32 && k->scatter_add_rows_f64);
        ASSERT(k->layer_norm_f32 && k->layer_norm_f64);
        ASSERT(k->layer_norm_bw_f32 && k->layer_norm_bw_f64);
        ASSERT(k->adamw_f32 && k->adamw_f64);
        ASSERT(k->gemm_f32 && k->gemm_f64 && k->linear_f32);
    }
}

TEST_MAIN(dispatch_levels, every_table_is_complete, elementwise_f32_against_libm,
          elementwise_f32_special_values, elementwise_f32_in_place, gelu_f32_both_forms,
          gelu_f32_special_values, gelu_f64_both_forms, softmax_rows_and_backward,
          softmax_nan_and_inf_rows, cross_entropy_backward_rows, linear_cross_entropy_rows,
          scatter_add_rows, layer_norm_forward, layer_norm_backward, adamw_step,
          gemm_against_double, gemm_large_blocks, gemm_beta_zero_and_empty, linear_against_double,
          in_place_calls_match)
