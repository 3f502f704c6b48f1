/* The CPU kernel layer: hot float32/float64 kernels on plain contiguous
 * arrays (no cg_tensor), compiled once per dispatch level and reached
 * through a table of function pointers picked once, at first use.
 *
 *   level    built from               flags (cmake/kernels.cmake)
 *   default  kern_default.c           none (baseline x86-64, or any CPU)
 *   avx2     kern_avx2.c              -mavx2 -mfma (x86-64, GCC/Clang)
 *   avx512   kern_avx512.c            -mavx512f/bw/dq/vl -mfma
 * All three include kern_impl.h, the one implementation (portable C that
 * the compiler vectorises). CGRAD_CPU_CAPABILITY=default|avx2|avx512 forces
 * a level (see dispatch.c).
 *
 * Conventions: n, rows, len, D are element counts (0 allowed: no work).
 * Outputs do not overlap inputs, except exactly, where noted "in place":
 * y == x for the elementwise kernels, gelu and layer_norm, dx == g for the
 * backwards (never softmax's forward). Each call is serial: callers split
 * rows or ranges across threads (gemm: blocks of C). Internal: not installed. */
#ifndef CG_KERNELS_H
#define CG_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One Adam(W) step's hyperparameters, as torch.optim.AdamW (amsgrad off). */
typedef struct cg__adamw_hp {
    double lr, beta1, beta2, eps, weight_decay;
    double bias_correction1; /* 1 - beta1^step */
    double bias_correction2; /* 1 - beta2^step */
    bool decoupled;          /* true: AdamW (p *= 1 - lr wd first); false: Adam (g += wd p) */
} cg__adamw_hp;

/* gemm's trans flags: op(A) = A^T, op(B) = B^T */
enum { CG__GEMM_TA = 1, CG__GEMM_TB = 2 };

typedef struct cg__kernels {
    const char *name; /* "default", "avx2" or "avx512" */

    /* y[i] = f(x[i]), i < n, in float32 (errors: vmath.h) */
    void (*exp_f32)(int64_t n, const float *x, float *y);
    void (*tanh_f32)(int64_t n, const float *x, float *y);
    void (*sigmoid_f32)(int64_t n, const float *x, float *y);
    void (*erf_f32)(int64_t n, const float *x, float *y);
    void (*normcdf_f32)(int64_t n, const float *x, float *y); /* Phi(x) = P(N(0,1) <= x) */

    /* y = gelu(x): x Phi(x), or with approx_tanh
     * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    void (*gelu_f32)(int64_t n, const float *x, float *y, bool approx_tanh);
    void (*gelu_f64)(int64_t n, const double *x, double *y, bool approx_tanh);
    /* dx = g * gelu'(x); erf form: gelu'(x) = Phi(x) + x phi(x) */
    void (*gelu_bw_f32)(int64_t n, const float *x, const float *g, float *dx, bool approx_tanh);
    void (*gelu_bw_f64)(int64_t n, const double *x, const double *g, double *dx, bool approx_tanh);

    /* x, y: (rows, len). y = softmax (or log_softmax) of each row: exp(x - max)
     * / sum, the sum in double; a NaN in a row makes the row NaN. */
    void (*softmax_f32)(int64_t rows, int64_t len, const float *x, float *y, bool log);
    void (*softmax_f64)(int64_t rows, int64_t len, const double *x, double *y, bool log);
    /* y (the forward's output), g, dx: (rows, len).
     * softmax: dx = y (g - sum(g y)); log_softmax: dx = g - exp(y) sum(g) */
    void (*softmax_bw_f32)(int64_t rows, int64_t len, const float *y, const float *g, float *dx,
                           bool log);
    void (*softmax_bw_f64)(int64_t rows, int64_t len, const double *y, const double *g, double *dx,
                           bool log);

    /* cross_entropy's backward: y (the log_softmax output), dx: (rows, len);
     * dx = c (exp(y) - onehot(t)) per row, c = coef[r], t = target[r] (no
     * onehot when t is outside [0, len)). */
    void (*ce_bw_f32)(int64_t rows, int64_t len, const float *y, const int64_t *target,
                      const float *coef, float *dx);
    void (*ce_bw_f64)(int64_t rows, int64_t len, const double *y, const int64_t *target,
                      const double *coef, double *dx);

    /* linear_cross_entropy's row pass, in place on logits z (rows, len):
     * loss[r] = logsumexp(z_r) - z_r[t] (0 when t = target[r] is outside
     * [0, len)); with coef (else NULL), z_r becomes the gradient
     * coef[r] (softmax(z_r) - onehot(t)). */
    void (*lce_rows_f32)(int64_t rows, int64_t len, float *z, const int64_t *target,
                         const float *coef, double *loss);
    void (*lce_rows_f64)(int64_t rows, int64_t len, double *z, const int64_t *target,
                         const double *coef, double *loss);

    /* embedding's backward: dst[idx[k], :] += src[k, :] for k < n in turn;
     * src (n, D), dst (rows, D), every idx[k] a row of dst */
    void (*scatter_add_rows_f32)(int64_t n, int64_t D, const int64_t *idx, const float *src,
                                 float *dst);
    void (*scatter_add_rows_f64)(int64_t n, int64_t D, const int64_t *idx, const double *src,
                                 double *dst);

    /* x, y: (rows, D); w, b: (D) or NULL; mean, rstd: (rows) or NULL.
     * Per row the mean and biased variance in double (two passes), then
     * rstd = 1 / sqrt(var + eps) and y = (x rstd - mean rstd) w + b, fused as
     * PyTorch's CPU kernel fuses it. */
    void (*layer_norm_f32)(int64_t rows, int64_t D, const float *x, const float *w, const float *b,
                           double eps, float *y, float *mean, float *rstd);
    void (*layer_norm_f64)(int64_t rows, int64_t D, const double *x, const double *w,
                           const double *b, double eps, double *y, double *mean, double *rstd);
    /* x, g, dx: (rows, D); mean, rstd: (rows), the forward's; w: (D) or NULL.
     * dx = rstd (gx - mean(gx) - xhat mean(gx xhat)), gx = g w, xhat = (x - mean)
     * rstd; dx may be NULL. dw[j] += sum over rows of g xhat, db[j] += sum of g
     * ((D) double accumulators the caller zeroes; either may be NULL). */
    void (*layer_norm_bw_f32)(int64_t rows, int64_t D, const float *x, const float *mean,
                              const float *rstd, const float *w, const float *g, float *dx,
                              double *dw, double *db);
    void (*layer_norm_bw_f64)(int64_t rows, int64_t D, const double *x, const double *mean,
                              const double *rstd, const double *w, const double *g, double *dx,
                              double *dw, double *db);

    /* One Adam(W) step over n parameters, in place: p, exp_avg m, exp_avg_sq
     * v, with the gradient g (PyTorch 1.13's single-tensor math). */
    void (*adamw_f32)(int64_t n, float *p, const float *g, float *m, float *v,
                      const cg__adamw_hp *hp);
    void (*adamw_f64)(int64_t n, double *p, const double *g, double *m, double *v,
                      const cg__adamw_hp *hp);

    /* C = alpha op(A) op(B) + beta C, as cblas_?gemm(CblasRowMajor, ...):
     * C (m, n), op(A) (m, k), op(B) (k, n), all row-major with leading
     * dimensions lda, ldb, ldc; A is stored (k, m) when trans has CG__GEMM_TA,
     * B (n, k) with CG__GEMM_TB. beta 0 does not read C; k 0 or alpha 0 only
     * scales C. C overlaps neither A nor B. */
    void (*gemm_f32)(int trans, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
    void (*gemm_f64)(int trans, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                     int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                     int64_t ldc);

    /* y (m, n), rows of stride ldy, = x (m, k) w^T + bias: x (m, k) and w
     * (n, k) row-major, bias (n) or NULL. For few rows of x (a decode step's
     * batch): each row of w is read once, for every row of x; each dot
     * product keeps 16 partial sums, added in the same order at every level.
     * y overlaps neither x nor w. */
    void (*linear_f32)(int64_t m, int64_t n, int64_t k, const float *x, const float *w,
                       const float *bias, float *y, int64_t ldy);
} cg__kernels;

typedef enum cg__cpu_level {
    CG__CPU_DEFAULT,
    CG__CPU_AVX2,
    CG__CPU_AVX512,
    CG__CPU_NLEVELS
} cg__cpu_level;

/* The level's tables (kern_*.c); the AVX ones exist where cmake/kernels.cmake
 * compiled them (CG_KERN_AVX2, CG_KERN_AVX512). */
extern const cg__kernels cg__kernels_default;
#ifdef CG_KERN_AVX2
extern const cg__kernels cg__kernels_avx2;
#endif
#ifdef CG_KERN_AVX512
extern const cg__kernels cg__kernels_avx512;
#endif

/* The table in use: chosen once, at the first call (thread-safe). */
const cg__kernels *cg__kern(void);
/* Its level's name: "default", "avx2" or "avx512" (cg_cpu_capability). */
const char *cg__cpu_capability(void);
/* The table of a level if it was compiled in and this CPU runs it, else NULL
 * (tests run every level through it). */
const cg__kernels *cg__kern_at(cg__cpu_level level);
/* The level a CGRAD_CPU_CAPABILITY value selects (request NULL or "": the
 * best this CPU runs). A level this CPU or build lacks, or an unknown name,
 * gives the best one, with the reason in note (else note is ""). */
cg__cpu_level cg__cpu_pick(const char *request, char *note, size_t note_size);
const char *cg__cpu_level_name(cg__cpu_level level);

#endif
