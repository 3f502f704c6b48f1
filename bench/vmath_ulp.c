/* The CPU kernels' vectorised math (src/kernels/vmath.h) at every dispatch
 * level this CPU runs: its error against libm evaluated in double, and a
 * rough speed check of gelu, softmax and layer_norm per level against the
 * scalar libm loops cgrad ran before (no PyTorch twin: bench/run.sh prints
 * the lines and no ratio).
 *
 * Usage: vmath_ulp [--full | --stride N] [--no-speed] [--no-ulp]
 *   By default every 257th block of 2^16 float bit patterns (16.7 million
 *   inputs, seconds); --full sweeps all 2^32 (NaN and inf included; minutes,
 *   on every core through OpenMP when the build has it).
 * Per function and level it prints
 *   cgrad vmath_max_ulp_<fn>_<level>: N ulp   the most ulps between the
 *       result and libm's double rounded to float, over inputs whose
 *       rounded reference is a normal float
 *   cgrad vmath_max_err_<fn>_<level>: E ulp   the same, before rounding:
 *       |result - double reference| / ulp(rounded reference)
 * and a "#" line: where each maximum occurs, the largest error on zero or
 * subnormal results (in units of 2^-149), and how many inputs whose
 * reference is NaN or infinite got something else. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "../src/kernels/kernels.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 65536 /* inputs per block: the low 16 bits of the pattern */

enum { F_EXP, F_TANH, F_SIGMOID, F_ERF, F_NORMCDF, F_GELU, F_GELU_TANH, NFN };
static const char *const FN_NAMES[NFN] = {"exp",     "tanh", "sigmoid",  "erf",
                                          "normcdf", "gelu", "gelu_tanh"};

/* the references for input x, in double: ref[f] for each function f (libm
 * once per input for exp, tanh, erf, erfc and gelu_tanh's exp) */
static void refs_of(double x, double *ref) {
    const double s = 0.70710678118654752440, k = 0.79788456080286535588;
    double e = exp(x), cdf = 0.5 * erfc(-x * s);
    ref[F_EXP] = e;
    ref[F_TANH] = tanh(x);
    ref[F_SIGMOID] = x >= 0 ? 1 / (1 + 1 / e) : e / (1 + e); /* 1 / (1 + exp(-x)) */
    ref[F_ERF] = erf(x);
    ref[F_NORMCDF] = cdf;
    ref[F_GELU] = x * cdf;
    ref[F_GELU_TANH] = x / (1 + exp(-2 * k * (x + 0.044715 * x * x * x))); /* x sigmoid(2u) */
}

static void run_fn(const cg__kernels *k, int f, int64_t n, const float *x, float *y) {
    switch (f) {
    case F_EXP: k->exp_f32(n, x, y); break;
    case F_TANH: k->tanh_f32(n, x, y); break;
    case F_SIGMOID: k->sigmoid_f32(n, x, y); break;
    case F_ERF: k->erf_f32(n, x, y); break;
    case F_NORMCDF: k->normcdf_f32(n, x, y); break;
    default: k->gelu_f32(n, x, y, f == F_GELU_TANH); break;
    }
}

typedef struct {
    double max_err; /* fractional ulps, normal results */
    float at_err;
    long long max_dist; /* whole ulps from the rounded reference, normal results */
    float at_dist;
    double max_sub; /* units of 2^-149, zero or subnormal results */
    float at_sub;
    long long special_bad; /* NaN or infinite reference, another result */
    float at_special;
} stat;

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* the float's place in the order of all floats (-0 and +0 adjacent) */
static long long ord(float f) {
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i < 0 ? (long long)INT32_MIN - i : i;
}

static double ulp_of_exp[256]; /* ulp of a normal float by its biased exponent */

static void account(stat *s, int n, const float *x, const double *ref, int rstride,
                    const float *y) {
    for (int j = 0; j < n; j++) {
        double r = ref[(size_t)j * (size_t)rstride];
        float rf = (float)r, v = y[j];
        if (isnan(r) || isinf(rf) || isnan(v) || isinf(v)) {
            bool ok = isnan(r) ? isnan(v) : v == rf;
            if (!ok && s->special_bad++ == 0) s->at_special = x[j];
            continue;
        }
        if (fabsf(rf) < FLT_MIN) {
            double e = fabs(v - r) * 0x1p149;
            if (e > s->max_sub) s->max_sub = e, s->at_sub = x[j];
            continue;
        }
        uint32_t bits;
        memcpy(&bits, &rf, sizeof bits);
        double e = fabs(v - r) / ulp_of_exp[bits >> 23 & 0xff];
        long long d = llabs(ord(v) - ord(rf));
        if (e > s->max_err) s->max_err = e, s->at_err = x[j];
        if (d > s->max_dist) s->max_dist = d, s->at_dist = x[j];
    }
}

static void merge(stat *into, const stat *s) {
    if (s->max_err > into->max_err) into->max_err = s->max_err, into->at_err = s->at_err;
    if (s->max_dist > into->max_dist) into->max_dist = s->max_dist, into->at_dist = s->at_dist;
    if (s->max_sub > into->max_sub) into->max_sub = s->max_sub, into->at_sub = s->at_sub;
    if (s->special_bad && !into->special_bad) into->at_special = s->at_special;
    into->special_bad += s->special_bad;
}

/* one block of inputs (high 16 bits hi) through every function and level;
 * ref: (BLOCK, NFN) */
static void sweep_block(uint32_t hi, const cg__kernels *const *lv, int nlv, stat *st, float *x,
                        double *ref, float *y) {
    for (uint32_t j = 0; j < BLOCK; j++) x[j] = from_bits(hi << 16 | j);
    for (int j = 0; j < BLOCK; j++) refs_of(x[j], ref + (size_t)j * NFN);
    for (int f = 0; f < NFN; f++)
        for (int l = 0; l < nlv; l++) {
            run_fn(lv[l], f, BLOCK, x, y);
            account(&st[f * CG__CPU_NLEVELS + l], BLOCK, x, ref + f, NFN, y);
        }
}

static void sweep(int stride, const cg__kernels *const *lv, int nlv) {
    static stat total[NFN * CG__CPU_NLEVELS];
    long long blocks = 0;
    for (int e = 0; e < 256; e++) ulp_of_exp[e] = ldexp(1.0, (e ? e : 1) - 150);
#ifdef _OPENMP
#pragma omp parallel reduction(+ : blocks)
#endif
    {
        stat st[NFN * CG__CPU_NLEVELS];
        memset(st, 0, sizeof st);
        float *x = malloc(sizeof(float) * BLOCK), *y = malloc(sizeof(float) * BLOCK);
        double *ref = malloc(sizeof(double) * BLOCK * NFN);
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int hi = 0; hi < BLOCK; hi += stride) {
            sweep_block((uint32_t)hi, lv, nlv, st, x, ref, y);
            blocks++;
        }
#ifdef _OPENMP
#pragma omp critical
#endif
        for (int i = 0; i < NFN * CG__CPU_NLEVELS; i++) merge(&total[i], &st[i]);
        free(x), free(y), free(ref);
    }
    printf("# %lld inputs (every %d-th block of 2^16 bit patterns)\n", blocks * BLOCK, stride);
    for (int f = 0; f < NFN; f++)
        for (int l = 0; l < nlv; l++) {
            const stat *s = &total[f * CG__CPU_NLEVELS + l];
            const char *fn = FN_NAMES[f], *ln = lv[l]->name;
            printf("cgrad vmath_max_ulp_%s_%s: %lld ulp\n", fn, ln, s->max_dist);
            printf("cgrad vmath_max_err_%s_%s: %.3f ulp\n", fn, ln, s->max_err);
            printf("#   %s %s: max ulp at x = %a, max err at x = %a; zero/subnormal results: "
                   "%.2f x 2^-149 (x = %a); special inputs disagreeing: %lld (first x = %a)\n",
                   fn, ln, s->at_dist, s->at_err, s->max_sub, s->at_sub, s->special_bad,
                   s->at_special);
        }
}

/* ------------------------------------------------------------------ speed */

#define SPEED_N 4096 /* floats: in L1, so that the arithmetic is timed */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* the scalar loops cgrad ran before: libm's erff and expf per element */
static void libm_gelu(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678f));
}
static void libm_gelu_bw(int64_t n, const float *x, const float *g, float *dx) {
    for (int64_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678f));
        dx[i] = g[i] * (cdf + x[i] * 0.39894228f * expf(-0.5f * x[i] * x[i]));
    }
}

typedef enum {
    K_GELU,
    K_GELU_BW,
    K_GELU_TANH,
    K_GELU_TANH_BW,
    K_EXP,
    K_SOFTMAX,
    K_LAYER_NORM,
    NK
} kern_id;
static const char *const K_NAMES[NK] = {"gelu_fwd", "gelu_bwd", "gelu_tanh_fwd", "gelu_tanh_bwd",
                                        "exp",      "softmax",  "layer_norm"};

/* one call over SPEED_N elements (k NULL: the libm loop, where there is one) */
static bool run_kernel(const cg__kernels *k, kern_id id, const float *x, const float *g, float *y,
                       float *st) {
    const int64_t n = SPEED_N, rows = 16, len = SPEED_N / 16;
    if (!k && id == K_GELU)
        libm_gelu(n, x, y);
    else if (!k && id == K_GELU_BW)
        libm_gelu_bw(n, x, g, y);
    else if (!k)
        return false;
    else if (id == K_GELU || id == K_GELU_TANH)
        k->gelu_f32(n, x, y, id == K_GELU_TANH);
    else if (id == K_GELU_BW || id == K_GELU_TANH_BW)
        k->gelu_bw_f32(n, x, g, y, id == K_GELU_TANH_BW);
    else if (id == K_EXP)
        k->exp_f32(n, x, y);
    else if (id == K_SOFTMAX)
        k->softmax_f32(rows, len, x, y, false);
    else
        k->layer_norm_f32(rows, len, x, g, g, 1e-5, y, st, st + rows);
    return true;
}

/* ns per element: the best of 7 runs of enough calls for ~20 ms */
static void speed(const cg__kernels *const *lv, int nlv) {
    float *x = malloc(sizeof(float) * SPEED_N * 4), *g = x + SPEED_N, *y = g + SPEED_N;
    float *st = y + SPEED_N; /* layer_norm's mean and rstd */
    for (int i = 0; i < SPEED_N; i++)
        x[i] = -6 + 12 * (float)i / SPEED_N, g[i] = 1 - 0.3f * (float)(i % 7);
    for (int id = 0; id < NK; id++)
        for (int l = -1; l < nlv; l++) {
            const cg__kernels *k = l < 0 ? NULL : lv[l];
            if (!run_kernel(k, (kern_id)id, x, g, y, st)) continue;
            int reps = 1;
            double t0 = now();
            while (now() - t0 < 0.002) run_kernel(k, (kern_id)id, x, g, y, st), reps++;
            reps *= 10;
            double best = 1e30;
            for (int r = 0; r < 7; r++) {
                double t = now();
                for (int i = 0; i < reps; i++) run_kernel(k, (kern_id)id, x, g, y, st);
                t = now() - t;
                best = t < best ? t : best;
            }
            printf("cgrad kern_%s_ns_%s: %.3f ns/elem\n", K_NAMES[id], k ? k->name : "libm",
                   1e9 * best / reps / SPEED_N);
        }
    free(x);
}

int main(int argc, char **argv) {
    int stride = 257;
    bool do_speed = true, do_ulp = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full"))
            stride = 1;
        else if (!strcmp(argv[i], "--stride") && i + 1 < argc)
            stride = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-speed"))
            do_speed = false;
        else if (!strcmp(argv[i], "--no-ulp"))
            do_ulp = false;
        else {
            fprintf(stderr, "usage: %s [--full | --stride N] [--no-speed] [--no-ulp]\n", argv[0]);
            return 2;
        }
    }
    if (stride < 1) stride = 1;
    const cg__kernels *lv[CG__CPU_NLEVELS];
    int nlv = 0;
    for (int l = 0; l < CG__CPU_NLEVELS; l++)
        if (cg__kern_at((cg__cpu_level)l)) lv[nlv++] = cg__kern_at((cg__cpu_level)l);
    printf("# levels this CPU runs:");
    for (int l = 0; l < nlv; l++) printf(" %s", lv[l]->name);
    printf(" (in use: %s)\n", cg__cpu_capability());
    if (do_ulp) sweep(stride, lv, nlv);
    if (do_speed) speed(lv, nlv);
    return 0;
}
