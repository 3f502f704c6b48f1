/* The CPU kernels (kernels.h), written once and compiled once per dispatch
 * level: kern_default.c, kern_avx2.c and kern_avx512.c define
 *   CG_KERN_TABLE  the table's name (cg__kernels_avx2, ...)
 *   CG_KERN_NAME   the level's name ("avx2", ...)
 * and include this file, each with its level's ISA flags.
 *
 * Portable C for the auto-vectoriser: restrict pointers, calls only to
 * inline functions in inner loops, selects instead of branches, and
 * `omp simd` where a loop may run in place. Reductions keep LANES partial
 * sums, so that every level adds in the same order. Not -ffast-math: NaN and
 * inf behave as IEEE says. cmake/kernels.cmake adds -fno-trapping-math
 * (Clang's default; it changes no result): without it GCC keeps the selects
 * as branches and vectorises most loops only at AVX-512 (masked). */
#ifndef CG_KERN_TABLE
#error "define CG_KERN_TABLE and CG_KERN_NAME, then include kern_impl.h"
#endif

#include "kernels.h"
#include "vmath.h"

#include <math.h>

/* `#pragma omp simd` where OpenMP or -fopenmp-simd is on: a loop that may
 * run in place (y == x) vectorises without a run-time alias check, and a
 * max over lanes vectorises at all */
#if defined(_OPENMP) || defined(CG_OPENMP_SIMD)
#define CG__SIMD _Pragma("omp simd")
#else
#define CG__SIMD
#endif

#define LANES 16 /* partial sums per reduction */

/* the LANES partial sums added pairwise (acc is clobbered) */
static inline double fold_lanes(double *acc) {
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

#define SQRT1_2 0.70710678118654752440      /* 1 / sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */
#define SQRT_2_PI 0.79788456080286535588    /* sqrt(2 / pi) */
#define GELU_C 0.044715                     /* gelu's tanh approximation */

/* ------------------------------------------------------------- elementwise */

#define UNARY_F32(NAME, EXPR)                                                                      \
    static void NAME(int64_t n, const float *x, float *y) {                                        \
        CG__SIMD for (int64_t i = 0; i < n; i++) {                                                 \
            float v = x[i];                                                                        \
            y[i] = (EXPR);                                                                         \
        }                                                                                          \
    }
UNARY_F32(exp_f32, cg__vexpf(v))
UNARY_F32(tanh_f32, (float)cg__vtanh(v))
UNARY_F32(sigmoid_f32, (float)cg__vsigmoid(v))
UNARY_F32(erf_f32, (float)cg__verf(v))
UNARY_F32(normcdf_f32, (float)cg__vnormcdf(v))

/* ------------------------------------------------------------------- gelu */

/* x Phi(x) */
static inline double gelu_erf_d(double x) { return x * cg__vnormcdf(x); }

/* 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + c x^3): no
 * cancellation for negative x */
static inline double gelu_tanh_d(double x) {
    return x * cg__vsigmoid(2.0 * SQRT_2_PI * CG__VFMA(GELU_C * x * x, x, x));
}

/* Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi): one exp for both */
static inline double dgelu_erf_d(double x) {
    double a = fabs(x), e = cg__vexpd(-0.5 * a * a);
    double q = cg__vnormtail_e(a, e);
    return CG__VFMA(x * INV_SQRT_2PI, e, x < 0 ? q : 1.0 - q);
}

/* d/dx x s(2u) = s + 2 x s (1 - s) u', s = sigmoid(2u), u' = sqrt(2/pi)
 * (1 + 3 c x^2): s and 1 - s both from e = exp(-2|u|), without cancelling */
static inline double dgelu_tanh_d(double x) {
    double x2 = x * x, u = SQRT_2_PI * CG__VFMA(GELU_C * x2, x, x);
    double e = cg__vexpd(-2.0 * fabs(u)), sp = 1.0 / (1.0 + e), sn = e * sp;
    double s = u >= 0 ? sp : sn, s1 = u >= 0 ? sn : sp;
    return CG__VFMA(2.0 * x * s * s1, SQRT_2_PI * CG__VFMA(3.0 * GELU_C, x2, 1.0), s);
}

static void gelu_f32(int64_t n, const float *x, float *y, bool approx_tanh) {
    if (approx_tanh) {
        CG__SIMD for (int64_t i = 0; i < n; i++) y[i] = (float)gelu_tanh_d(x[i]);
    } else {
        CG__SIMD for (int64_t i = 0; i < n; i++) y[i] = (float)gelu_erf_d(x[i]);
    }
}

static void gelu_bw_f32(int64_t n, const float *x, const float *g, float *dx, bool approx_tanh) {
    if (approx_tanh) {
        CG__SIMD for (int64_t i = 0; i < n; i++) dx[i] = (float)(g[i] * dgelu_tanh_d(x[i]));
    } else {
        CG__SIMD for (int64_t i = 0; i < n; i++) dx[i] = (float)(g[i] * dgelu_erf_d(x[i]));
    }
}

/* float64: libm (scalar), the same formulas */
static double gelu_erf_f64(double x) { return 0.5 * x * erfc(-x * SQRT1_2); }
static double gelu_tanh_f64(double x) {
    return x / (1.0 + exp(-2.0 * SQRT_2_PI * (x + GELU_C * x * x * x)));
}
static double dgelu_erf_f64(double x) {
    return 0.5 * erfc(-x * SQRT1_2) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
}
static double dgelu_tanh_f64(double x) {
    double x2 = x * x, u = SQRT_2_PI * (x + GELU_C * x2 * x), e = exp(-2.0 * fabs(u));
    double sp = 1.0 / (1.0 + e), sn = e * sp, s = u >= 0 ? sp : sn, s1 = u >= 0 ? sn : sp;
    return s + 2.0 * x * s * s1 * SQRT_2_PI * (1.0 + 3.0 * GELU_C * x2);
}

static void gelu_f64(int64_t n, const double *x, double *y, bool approx_tanh) {
    for (int64_t i = 0; i < n; i++) y[i] = approx_tanh ? gelu_tanh_f64(x[i]) : gelu_erf_f64(x[i]);
}

static void gelu_bw_f64(int64_t n, const double *x, const double *g, double *dx, bool approx_tanh) {
    for (int64_t i = 0; i < n; i++)
        dx[i] = g[i] * (approx_tanh ? dgelu_tanh_f64(x[i]) : dgelu_erf_f64(x[i]));
}

/* ---------------------------------- rows: softmax, layer_norm, adamw; gemm */

/* float: float32 arithmetic, vmath's exp; a * b + c rounded once (FMA, else
 * the exact double product plus c, rounded twice: a rare 1-ulp difference) */
#define T float
#define SFX(name) name##_f32
#define EXP_T cg__vexpf
#define SQRT_T sqrtf
#if defined(__FMA__) || defined(FP_FAST_FMAF)
#define FMA_T(a, b, c) fmaf(a, b, c)
#else
#define FMA_T(a, b, c) ((float)((double)(a) * (double)(b) + (double)(c)))
#endif
#include "kern_rows.h"
#include "kern_gemm.h"
#undef T
#undef SFX
#undef EXP_T
#undef SQRT_T
#undef FMA_T

/* double: libm's exp and fma (the fma instruction where the target has it) */
#define T double
#define SFX(name) name##_f64
#define EXP_T exp
#define SQRT_T sqrt
#define FMA_T(a, b, c) fma(a, b, c)
#include "kern_rows.h"
#include "kern_gemm.h"
#undef T
#undef SFX
#undef EXP_T
#undef SQRT_T
#undef FMA_T

/* ----------------------------------------------------------------- linear */

/* A dot product keeps LIN_VL float partial sums, partial sum l taking the
 * terms i = l mod LIN_VL, in native vectors (one at AVX-512, two at AVX2,
 * four at SSE2), added pairwise at the end: the same order at every level. */
#define LIN_VL 16
#if defined(__AVX512F__)
#define LIN_VB 64 /* bytes per vector register */
#elif defined(__AVX__)
#define LIN_VB 32
#else
#define LIN_VB 16
#endif
#define LIN_NV (LIN_VL * (int)sizeof(float) / LIN_VB) /* vectors per LIN_VL sums */
typedef float lin_vec __attribute__((vector_size(LIN_VB)));

/* a * b + c, rounded once where the level has FMA */
#if defined(__FMA__)
#define LIN_FMA(a, b, c) fmaf(a, b, c)
#else
#define LIN_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* LIN_FMA per lane */
static inline lin_vec lin_fma(lin_vec a, lin_vec b, lin_vec c) {
#if defined(__FMA__)
    lin_vec r;
    for (int l = 0; l < LIN_VB / (int)sizeof(float); l++) r[l] = fmaf(a[l], b[l], c[l]);
    return r;
#else
    return a * b + c;
#endif
}

/* the partial sums acc (LIN_NV vectors) added pairwise */
static inline float lin_fold(const lin_vec *acc) {
    float s[LIN_VL];
    memcpy(s, acc, sizeof s);
    for (int w = LIN_VL / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) s[j] += s[j + w];
    return s[0];
}

/* out[j] = x . w[j], j < NW: x (k), w (NW, k) rows of stride k. Inlined with
 * NW constant, so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void
lin_dots(int NW, int64_t k, const float *restrict x, const float *restrict w, float *out) {
    enum { VL = LIN_VB / (int)sizeof(float) };
    lin_vec acc[4][LIN_NV], xv, wv;
#pragma GCC unroll 4
    for (int j = 0; j < NW; j++)
#pragma GCC unroll 4
        for (int v = 0; v < LIN_NV; v++) acc[j][v] = (lin_vec){0};
    int64_t i = 0;
    for (; i + LIN_VL <= k; i += LIN_VL)
#pragma GCC unroll 4
        for (int v = 0; v < LIN_NV; v++) {
            memcpy(&xv, x + i + v * VL, sizeof xv);
#pragma GCC unroll 4
            for (int j = 0; j < NW; j++) {
                memcpy(&wv, w + j * k + i + v * VL, sizeof wv);
                acc[j][v] = lin_fma(wv, xv, acc[j][v]);
            }
        }
    for (int j = 0; j < NW; j++) {
        float s = lin_fold(acc[j]);
        for (int64_t p = i; p < k; p++) s = LIN_FMA(w[j * k + p], x[p], s);
        out[j] = s;
    }
}

/* y (m, n) of row stride ldy = x (m, k) w^T + bias: four rows of w at a time,
 * each dotted with every row of x while it is in cache */
static void linear_f32(int64_t m, int64_t n, int64_t k, const float *x, const float *w,
                       const float *bias, float *y, int64_t ldy) {
    for (int64_t o = 0; o < n; o += 4) {
        int nw = n - o < 4 ? (int)(n - o) : 4;
        for (int64_t r = 0; r < m; r++) {
            float d[4];
            if (nw == 4)
                lin_dots(4, k, x + r * k, w + o * k, d);
            else
                for (int j = 0; j < nw; j++) lin_dots(1, k, x + r * k, w + (o + j) * k, d + j);
            for (int j = 0; j < nw; j++) y[r * ldy + o + j] = bias ? d[j] + bias[o + j] : d[j];
        }
    }
}

const cg__kernels CG_KERN_TABLE = {
    .name = CG_KERN_NAME,
    .exp_f32 = exp_f32,
    .tanh_f32 = tanh_f32,
    .sigmoid_f32 = sigmoid_f32,
    .erf_f32 = erf_f32,
    .normcdf_f32 = normcdf_f32,
    .gelu_f32 = gelu_f32,
    .gelu_f64 = gelu_f64,
    .gelu_bw_f32 = gelu_bw_f32,
    .gelu_bw_f64 = gelu_bw_f64,
    .softmax_f32 = softmax_f32,
    .softmax_f64 = softmax_f64,
    .softmax_bw_f32 = softmax_bw_f32,
    .softmax_bw_f64 = softmax_bw_f64,
    .ce_bw_f32 = ce_bw_f32,
    .ce_bw_f64 = ce_bw_f64,
    .lce_rows_f32 = lce_rows_f32,
    .lce_rows_f64 = lce_rows_f64,
    .scatter_add_rows_f32 = scatter_add_rows_f32,
    .scatter_add_rows_f64 = scatter_add_rows_f64,
    .layer_norm_f32 = layer_norm_f32,
    .layer_norm_f64 = layer_norm_f64,
    .layer_norm_bw_f32 = layer_norm_bw_f32,
    .layer_norm_bw_f64 = layer_norm_bw_f64,
    .adamw_f32 = adamw_f32,
    .adamw_f64 = adamw_f64,
    .gemm_f32 = gemm_f32,
    .gemm_f64 = gemm_f64,
    .linear_f32 = linear_f32,
};
