/* More elementwise ops, each forward beside its backward: sin, cos, log1p,
 * expm1, rsqrt, erf; clamp with scalar or tensor bounds; the activations
 * gelu, silu, leaky_relu and softplus; rounding (floor, ceil, round).
 * dtype rules as PyTorch 1.13 (see pw_kind). */
#include "ops.h"

#include <math.h>

#define SQRT1_2 0.70710678118654752440      /* 1 / sqrt(2) */
#define TWO_SQRTPI 1.12837916709551257390   /* 2 / sqrt(pi) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */
#define SQRT_2_PI 0.79788456080286535588    /* sqrt(2 / pi) */
#define GELU_C 0.044715                     /* gelu's tanh approximation */

/* A kernel's scalar arguments, handed to it as its second operand (stride 0). */
typedef struct {
    double x, y;    /* leaky_relu: slope; softplus: beta, threshold; clamp: bounds */
    int64_t ix, iy; /* clamp's bounds for int64 */
} prm;

/* o = EXPR(x) with p, the prm, in scope */
#define PKERNEL(NAME, T, EXPR)                                                             \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa,          \
                     const void *p_, int64_t sp) {                                         \
        (void)sp;                                                                          \
        T *o = o_;                                                                         \
        const T *a = a_;                                                                   \
        const prm *p = p_;                                                                 \
        (void)p;                                                                           \
        if (so == 1 && sa == 1)                                                            \
            for (int64_t i = 0; i < n; i++) {                                              \
                T x = a[i];                                                                \
                o[i] = (T)(EXPR);                                                          \
            }                                                                              \
        else                                                                               \
            for (int64_t i = 0; i < n; i++) {                                              \
                T x = a[i * sa];                                                           \
                o[i * so] = (T)(EXPR);                                                     \
            }                                                                              \
    }
#define FLOATING(NAME, EXPRF, EXPRD)                                                       \
    PKERNEL(NAME##_f32, float, EXPRF)                                                      \
    PKERNEL(NAME##_f64, double, EXPRD)

FLOATING(sin, sinf(x), sin(x))
FLOATING(cos, cosf(x), cos(x))
FLOATING(log1p, log1pf(x), log1p(x))
FLOATING(expm1, expm1f(x), expm1(x))
FLOATING(rsqrt, 1.0f / sqrtf(x), 1.0 / sqrt(x))
FLOATING(erf, erff(x), erf(x))
FLOATING(gelu, 0.5f * x * (1.0f + erff(x * (float)SQRT1_2)), 0.5 * x * (1.0 + erf(x * SQRT1_2)))
FLOATING(gelu_tanh,
         0.5f * x * (1.0f + tanhf((float)SQRT_2_PI * (x + (float)GELU_C * x * x * x))),
         0.5 * x * (1.0 + tanh(SQRT_2_PI * (x + GELU_C * x * x * x))))
FLOATING(silu, x / (1.0f + expf(-x)), x / (1.0 + exp(-x)))
FLOATING(leaky_relu, x > 0 ? x : x * (float)p->x, x > 0 ? x : x * p->x)
/* linear where beta x > threshold, as torch */
FLOATING(softplus,
         x * (float)p->x > (float)p->y ? x : log1pf(expf(x * (float)p->x)) / (float)p->x,
         x * p->x > p->y ? x : log1p(exp(x * p->x)) / p->x)
FLOATING(floor, floorf(x), floor(x))
FLOATING(ceil, ceilf(x), ceil(x))
FLOATING(round, nearbyintf(x), nearbyint(x)) /* the default mode rounds half to even */
PKERNEL(copy_i64, int64_t, x)

/* max(x, lo) then min(., hi): hi wins when lo > hi; NaN x stays NaN */
static inline float clamp_f(float x, float lo, float hi) {
    float y = x < lo ? lo : x;
    return y > hi ? hi : y;
}
static inline double clamp_d(double x, double lo, double hi) {
    double y = x < lo ? lo : x;
    return y > hi ? hi : y;
}
static inline int64_t clamp_i(int64_t x, int64_t lo, int64_t hi) {
    int64_t y = x < lo ? lo : x;
    return y > hi ? hi : y;
}
PKERNEL(clamp_f32, float, clamp_f(x, (float)p->x, (float)p->y))
PKERNEL(clamp_f64, double, clamp_d(x, p->x, p->y))
PKERNEL(clamp_i64, int64_t, clamp_i(x, p->ix, p->iy))

/* o = EXPR(x, y), both strided (clamp with tensor bounds) */
#define BKERNEL(NAME, T, EXPR)                                                             \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa,          \
                     const void *b_, int64_t sb) {                                         \
        T *o = o_;                                                                         \
        const T *a = a_, *b = b_;                                                          \
        for (int64_t i = 0; i < n; i++) {                                                  \
            T x = a[i * sa], y = b[i * sb];                                                \
            o[i * so] = (T)(EXPR);                                                         \
        }                                                                                  \
    }
/* NaN-propagating maximum / minimum, as torch.maximum / torch.minimum */
BKERNEL(max_f32, float, x > y || x != x ? x : y)
BKERNEL(max_f64, double, x > y || x != x ? x : y)
BKERNEL(max_i64, int64_t, x > y ? x : y)
BKERNEL(max_b, bool, x || y)
BKERNEL(min_f32, float, x < y || x != x ? x : y)
BKERNEL(min_f64, double, x < y || x != x ? x : y)
BKERNEL(min_i64, int64_t, x < y ? x : y)
BKERNEL(min_b, bool, x && y)
static const cg__kernel max_k[CG_NUM_DTYPES] = {max_f32, max_f64, max_i64, max_b};
static const cg__kernel min_k[CG_NUM_DTYPES] = {min_f32, min_f64, min_i64, min_b};

/* ------------------------------------------------------------- helpers */

/* out = k(x; p) elementwise; out is contiguous, of x's shape and dtype */
static void run_unary(cg__kernel k, const prm *p, const cg_tensor *x, cg_tensor *out) {
    size_t es = cg__esize(x->dtype);
    if (cg__is_contiguous(x)) {
        cg__dense(k, cg__numel(x->ndim, x->shape), cg__ptr(out), es, cg__ptr(x), es, 1, p, 0, 0);
        return;
    }
    cg__operand o, in, pp;
    o.p = cg__ptr(out);
    o.esize = in.esize = es;
    memcpy(o.st, out->strides, sizeof o.st);
    in.p = cg__ptr(x);
    memcpy(in.st, x->strides, sizeof in.st);
    pp.p = (char *)p; /* read only: the kernel takes it as const */
    pp.esize = 0;
    memset(pp.st, 0, sizeof pp.st);
    cg__loop(k, x->ndim, x->shape, &o, &in, &pp);
}

/* out = k(x, y) over out's shape, x and y broadcast to it (all of out's dtype) */
static void run_binary(cg__kernel k, cg_tensor *out, const cg_tensor *x, const cg_tensor *y) {
    int nd = out->ndim;
    size_t es = cg__esize(out->dtype);
    int64_t n = cg__numel(nd, out->shape);
    bool dense = cg__is_contiguous(out);
    for (int i = 0; i < 2 && dense; i++) {
        const cg_tensor *t = i ? y : x;
        dense = t->ndim == nd && cg__is_contiguous(t) &&
                !memcmp(t->shape, out->shape, sizeof(int64_t) * (size_t)nd);
    }
    if (dense) {
        cg__dense(k, n, cg__ptr(out), es, cg__ptr(x), es, 1, cg__ptr(y), es, 1);
        return;
    }
    cg__operand o, a, b;
    o.p = cg__ptr(out);
    a.p = cg__ptr(x);
    b.p = cg__ptr(y);
    o.esize = a.esize = b.esize = es;
    memcpy(o.st, out->strides, sizeof o.st);
    cg__broadcast_strides(x, nd, out->shape, a.st);
    cg__broadcast_strides(y, nd, out->shape, b.st);
    cg__loop(k, nd, out->shape, &o, &a, &b);
}

/* What an op does with int64 and bool inputs:
 * TO_FLOAT   computes in float32 (torch.sin(int64) is float32);
 * KEEPS_INT  keeps int64 (floor of an int64 is a copy), refuses bool;
 * FLOAT_ONLY refuses both (gelu: "GeluKernelImpl" not implemented). */
typedef enum { TO_FLOAT, KEEPS_INT, FLOAT_ONLY } pw_kind;
enum { SAVE_NONE, SAVE_INPUT, SAVE_OUTPUT };

typedef struct {
    const char *fn;
    cg_op op;
    pw_kind kind;
    int save;
    const char *kname; /* torch's kernel name in its "not implemented" error */
    cg__kernel k[3];   /* float32, float64, int64 */
} pw_info;

#define FK(name) {name##_f32, name##_f64, NULL}
static const pw_info U_SIN = {"cg_sin", CG_OP_SIN, TO_FLOAT, SAVE_INPUT, NULL, FK(sin)};
static const pw_info U_COS = {"cg_cos", CG_OP_COS, TO_FLOAT, SAVE_INPUT, NULL, FK(cos)};
static const pw_info U_LOG1P = {"cg_log1p", CG_OP_LOG1P, TO_FLOAT, SAVE_INPUT, NULL, FK(log1p)};
static const pw_info U_EXPM1 = {"cg_expm1", CG_OP_EXPM1, TO_FLOAT, SAVE_OUTPUT, NULL, FK(expm1)};
static const pw_info U_RSQRT = {"cg_rsqrt", CG_OP_RSQRT, TO_FLOAT, SAVE_OUTPUT, NULL, FK(rsqrt)};
static const pw_info U_ERF = {"cg_erf", CG_OP_ERF, TO_FLOAT, SAVE_INPUT, NULL, FK(erf)};
static const pw_info U_GELU = {"cg_gelu", CG_OP_GELU, FLOAT_ONLY, SAVE_INPUT, "GeluKernelImpl",
                               FK(gelu)};
static const pw_info U_GELU_TANH = {"cg_gelu", CG_OP_GELU, FLOAT_ONLY, SAVE_INPUT,
                                    "GeluKernelImpl", FK(gelu_tanh)};
static const pw_info U_SILU = {"cg_silu", CG_OP_SILU, FLOAT_ONLY, SAVE_INPUT, "silu_cpu", FK(silu)};
static const pw_info U_LEAKY = {"cg_leaky_relu", CG_OP_LEAKY_RELU, FLOAT_ONLY, SAVE_INPUT,
                                "leaky_relu_cpu", FK(leaky_relu)};
static const pw_info U_SOFTPLUS = {"cg_softplus", CG_OP_SOFTPLUS, FLOAT_ONLY, SAVE_INPUT,
                                   "softplus_cpu", FK(softplus)};
static const pw_info U_FLOOR = {"cg_floor", CG_OP_FLOOR, KEEPS_INT, SAVE_NONE, "floor_vml_cpu",
                                {floor_f32, floor_f64, copy_i64}};
static const pw_info U_CEIL = {"cg_ceil", CG_OP_CEIL, KEEPS_INT, SAVE_NONE, "ceil_vml_cpu",
                               {ceil_f32, ceil_f64, copy_i64}};
static const pw_info U_ROUND = {"cg_round", CG_OP_ROUND, KEEPS_INT, SAVE_NONE, "round_vml_cpu",
                                {round_f32, round_f64, copy_i64}};

/* Runs a unary op: dtype rule, kernel, node (returned in *node when asked,
 * NULL if none was recorded) with the input or the output saved. */
static cg_tensor *pointwise(const pw_info *u, cg_tensor *a, const prm *p, cg_node **node) {
    if (node) *node = NULL;
    if (!a) return NULL;
    cg_dtype d = a->dtype;
    if (d == CG_INT64 || d == CG_BOOL) {
        if (u->kind == FLOAT_ONLY || (u->kind == KEEPS_INT && d == CG_BOOL)) {
            cg__error(u->fn, "\"%s\" not implemented for '%s'", u->kname, cg__scalar_type_name(d));
            return NULL;
        }
        if (u->kind == TO_FLOAT) d = CG_FLOAT32;
    }
    cg_tensor *x = cg__convert(a, d);
    if (!x) return NULL;
    cg_tensor *out = cg__tensor_new(d, x->ndim, x->shape);
    if (!out) return NULL;
    run_unary(u->k[d], p, x, out);
    cg_node *n = cg__record(u->op, out, 1, &a);
    if (n && u->save != SAVE_NONE &&
        cg__save(n, 0, u->save == SAVE_OUTPUT ? out : a, u->save == SAVE_OUTPUT) < 0)
        return NULL;
    if (node) *node = n;
    return out;
}

cg_tensor *cg_sin(cg_tensor *a) { return pointwise(&U_SIN, a, NULL, NULL); }
cg_tensor *cg_cos(cg_tensor *a) { return pointwise(&U_COS, a, NULL, NULL); }
cg_tensor *cg_log1p(cg_tensor *a) { return pointwise(&U_LOG1P, a, NULL, NULL); }
cg_tensor *cg_expm1(cg_tensor *a) { return pointwise(&U_EXPM1, a, NULL, NULL); }
cg_tensor *cg_rsqrt(cg_tensor *a) { return pointwise(&U_RSQRT, a, NULL, NULL); }
cg_tensor *cg_erf(cg_tensor *a) { return pointwise(&U_ERF, a, NULL, NULL); }
cg_tensor *cg_silu(cg_tensor *a) { return pointwise(&U_SILU, a, NULL, NULL); }
cg_tensor *cg_floor(cg_tensor *a) { return pointwise(&U_FLOOR, a, NULL, NULL); }
cg_tensor *cg_ceil(cg_tensor *a) { return pointwise(&U_CEIL, a, NULL, NULL); }
cg_tensor *cg_round(cg_tensor *a) { return pointwise(&U_ROUND, a, NULL, NULL); }

cg_tensor *cg_gelu(cg_tensor *a, bool tanh_approximation) {
    cg_node *n;
    cg_tensor *out = pointwise(tanh_approximation ? &U_GELU_TANH : &U_GELU, a, NULL, &n);
    if (n) n->iv[0] = tanh_approximation, n->n_iv = 1;
    /* the output too, for the fused backward: Phi(a) = out / a spares an erf */
    if (n && !tanh_approximation && cg__save(n, 1, out, true) < 0) return NULL;
    return out;
}

cg_tensor *cg_leaky_relu(cg_tensor *a, double negative_slope) {
    prm p = {.x = negative_slope};
    cg_node *n;
    cg_tensor *out = pointwise(&U_LEAKY, a, &p, &n);
    if (n) n->sc[0] = negative_slope;
    return out;
}

cg_tensor *cg_softplus(cg_tensor *a, double beta, double threshold) {
    prm p = {.x = beta, .y = threshold};
    cg_node *n;
    cg_tensor *out = pointwise(&U_SOFTPLUS, a, &p, &n);
    if (n) n->sc[0] = beta, n->sc[1] = threshold;
    return out;
}

/* ---------------------------------------------------------------- clamp */

#define CLAMP_NONE "torch.clamp: At least one of 'min' or 'max' must not be None"

/* a C double that counts as a Python int (see cgrad.h) */
static bool integral(double v) { return isfinite(v) && v == floor(v); }

/* an integral bound as int64, saturated at the type's range */
static int64_t to_i64(double v) {
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

cg_tensor *cg_clamp(cg_tensor *a, double min, double max) {
    if (!a) return NULL;
    bool has_lo = min != -INFINITY, has_hi = max != INFINITY;
    if (!has_lo && !has_hi) {
        cg__error("cg_clamp", CLAMP_NONE);
        return NULL;
    }
    /* the bounds take part in type promotion as Python scalars */
    cg_dtype d = a->dtype;
    if (d == CG_INT64 || d == CG_BOOL)
        d = (has_lo && !integral(min)) || (has_hi && !integral(max)) ? CG_FLOAT32 : CG_INT64;
    cg_tensor *x = cg__convert(a, d);
    if (!x) return NULL;
    cg_tensor *out = cg__tensor_new(d, x->ndim, x->shape);
    if (!out) return NULL;
    if (has_lo && has_hi && (isnan(min) || isnan(max))) { /* torch fills NaN */
        int64_t n = cg__numel(out->ndim, out->shape);
        for (int64_t i = 0; i < n; i++) {
            if (d == CG_FLOAT32) ((float *)cg__ptr(out))[i] = NAN;
            else ((double *)cg__ptr(out))[i] = NAN;
        }
    } else {
        prm p = {.x = min, .y = max};
        cg__kernel k = d == CG_FLOAT32 ? clamp_f32 : d == CG_FLOAT64 ? clamp_f64 : clamp_i64;
        if (d == CG_INT64) {
            p.ix = has_lo ? to_i64(min) : INT64_MIN;
            p.iy = has_hi ? to_i64(max) : INT64_MAX;
        }
        run_unary(k, &p, x, out);
    }
    cg_node *n = cg__record(CG_OP_CLAMP, out, 1, &a);
    if (n) {
        n->sc[0] = min;
        n->sc[1] = max;
        if (cg__save(n, 0, a, false) < 0) return NULL;
    }
    return out;
}


cg_tensor *cg_clamp_tensor(cg_tensor *a, cg_tensor *min, cg_tensor *max) {
    if (!a) return NULL;
    if (!min && !max) {
        cg__error("cg_clamp_tensor", CLAMP_NONE);
        return NULL;
    }
    /* the broadcast shape: a with min, then with max, as torch's iterator */
    int nd = a->ndim;
    int64_t shape[CG_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    cg_tensor *bounds[2] = {min, max};
    for (int i = 0; i < 2; i++) {
        int64_t next[CG_MAX_DIMS]; /* not shape itself: the output must not alias an input */
        if (!bounds[i]) continue;
        if (cg__broadcast_shape("cg_clamp_tensor", nd, shape, bounds[i]->ndim, bounds[i]->shape,
                                &nd, next) < 0)
            return NULL;
        memcpy(shape, next, sizeof shape);
    }
    cg_tensor *in[3] = {a, min, max};
    cg_dtype d = cg__result_type(3, in);
    if (d == CG_BOOL && min && max) { /* torch.maximum / minimum take bool, clamp does not */
        cg__error("cg_clamp_tensor", "\"clamp_cpu\" not implemented for 'Bool'");
        return NULL;
    }
    cg_tensor *x = cg__convert(a, d);
    cg_tensor *lo = min ? cg__convert(min, d) : NULL, *hi = max ? cg__convert(max, d) : NULL;
    if (!x || (min && !lo) || (max && !hi)) return NULL;
    cg_tensor *out = cg__tensor_new(d, nd, shape);
    if (!out) return NULL;
    /* min(max(a, lo), hi), NaN-propagating: a NaN in any operand gives NaN */
    if (lo) run_binary(max_k[d], out, x, lo);
    if (hi) run_binary(min_k[d], out, lo ? out : x, hi);
    cg_node *n = cg__record(CG_OP_CLAMP_TENSOR, out, 3, in);
    if (n) {
        n->iv[0] = min != NULL;
        n->iv[1] = max != NULL;
        n->n_iv = 2;
        if (cg__save(n, 0, a, false) < 0 || cg__save(n, 1, min, false) < 0 ||
            cg__save(n, 2, max, false) < 0)
            return NULL;
    }
    return out;
}

/* ------------------------------------------------------------- backward */

#define WANT(i) (n->next[i].fn != NULL)

/* gi[0] = go * factor */
static int times(cg_tensor **gi, cg_tensor *go, cg_tensor *factor) {
    return (gi[0] = cg_mul(go, factor)) ? 0 : -1;
}

/* mask1 & mask2 where both are given (bool tensors), else the one given */
static cg_tensor *and_mask(cg_tensor *m1, cg_tensor *m2, bool has1, bool has2) {
    if (has1 && has2) return cg_mul(m1, m2); /* bool * bool is logical and */
    return has1 ? m1 : m2;
}

int cg__bw_sin(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return times(gi, go[0], cg_cos(cg__unpack(n, 0)));
}

int cg__bw_cos(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return times(gi, go[0], cg_neg(cg_sin(cg__unpack(n, 0))));
}

int cg__bw_log1p(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg_div(go[0], cg_add_scalar(cg__unpack(n, 0), 1))) ? 0 : -1;
}

int cg__bw_expm1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d expm1(a) = exp(a) = r + 1 */
    return times(gi, go[0], cg_add_scalar(cg__unpack(n, 0), 1));
}

int cg__bw_rsqrt(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d a^(-1/2) = -a^(-3/2) / 2 = -r^3 / 2 */
    return times(gi, go[0], cg_mul_scalar(cg_pow_scalar(cg__unpack(n, 0), 3), -0.5));
}

int cg__bw_erf(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d erf(a) = 2 / sqrt(pi) exp(-a^2) */
    cg_tensor *a = cg__unpack(n, 0);
    return times(gi, go[0], cg_mul_scalar(cg_exp(cg_neg(cg_mul(a, a))), TWO_SQRTPI));
}

int cg__bw_clamp(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, 0);
    if (!a) return -1;
    double lo = n->sc[0], hi = n->sc[1];
    bool has_lo = lo != -INFINITY, has_hi = hi != INFINITY;
    /* the gradient passes where lo <= a <= hi, bounds included (as torch) */
    cg_tensor *mask = and_mask(has_lo ? cg_ge_scalar(a, lo) : NULL,
                               has_hi ? cg_le_scalar(a, hi) : NULL, has_lo, has_hi);
    gi[0] = cg_where(mask, go[0], cg_scalar(0, (int)go[0]->dtype));
    return gi[0] ? 0 : -1;
}

int cg__bw_clamp_tensor(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    bool has_lo = n->iv[0], has_hi = n->iv[1];
    cg_tensor *a = cg__unpack(n, 0);
    cg_tensor *lo = has_lo ? cg__unpack(n, 1) : NULL, *hi = has_hi ? cg__unpack(n, 2) : NULL;
    if (!a || (has_lo && !lo) || (has_hi && !hi)) return -1;
    cg_tensor *g = go[0], *zero = cg_scalar(0, (int)g->dtype);
    if (WANT(0)) { /* a: where lo <= a <= hi, bounds included */
        cg_tensor *m = and_mask(has_lo ? cg_ge(a, lo) : NULL, has_hi ? cg_le(a, hi) : NULL,
                                has_lo, has_hi);
        if (!(gi[0] = cg_where(m, g, zero))) return -1;
    }
    if (WANT(1)) { /* min: where a < min, unless the min is above the max (which wins) */
        cg_tensor *m = and_mask(cg_lt(a, lo), has_hi ? cg_lt(lo, hi) : NULL, true, has_hi);
        if (!(gi[1] = cg_where(m, g, zero))) return -1;
    }
    if (WANT(2)) { /* max: where a > max, and everywhere the max is below the min */
        cg_tensor *m = cg_gt(a, hi);
        if (has_lo) m = cg_add(m, cg_lt(hi, lo)); /* bool + bool is logical or */
        if (!(gi[2] = cg_where(m, g, zero))) return -1;
    }
    return 0;
}

/* gi = g * (Phi(a) + a phi(a)) (exact) in one pass: the plain backward's
 * kernel (a create_graph backward composes cgrad ops below). Phi(a) is the
 * forward's y / a away from 0, where that quotient is exact to an ulp. */
#define GELU_BW(T, ERF, EXP)                                                               \
    for (int64_t i = 0; i < cnt; i++) {                                                    \
        T x = ap[i];                                                                       \
        T cdf = yp && (x > (T)0.01 || x < (T)-0.01) && yp[i] != 0 ? yp[i] / x              \
                                                            : (T)0.5 * (1 + ERF(x * (T)SQRT1_2)); \
        op[i] = gp[i] * (cdf + x * (T)INV_SQRT_2PI * EXP((T)-0.5 * x * x));                \
    }

static cg_tensor *gelu_backward_fused(cg_tensor *a, cg_tensor *y, cg_tensor *g) {
    if (cg__grad_enabled || a->dtype != g->dtype || !cg_dtype_is_floating(a->dtype)) return NULL;
    if (a->ndim != g->ndim || memcmp(a->shape, g->shape, sizeof(int64_t) * (size_t)a->ndim)) return NULL;
    if (!(a = cg_contiguous(a)) || !(g = cg_contiguous(g)) || (y && !(y = cg_contiguous(y))))
        return NULL;
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!out) return NULL;
    int64_t cnt = cg__numel(a->ndim, a->shape);
    if (a->dtype == CG_FLOAT32) {
        const float *ap = cg__ptr(a), *yp = y ? cg__ptr(y) : NULL, *gp = cg__ptr(g);
        float *op = cg__ptr(out);
        GELU_BW(float, erff, cg__expf)
    } else {
        const double *ap = cg__ptr(a), *yp = y ? cg__ptr(y) : NULL, *gp = cg__ptr(g);
        double *op = cg__ptr(out);
        GELU_BW(double, erf, exp)
    }
    return out;
}

int cg__bw_gelu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, 0);
    if (!a) return -1;
    if (!n->iv[0] && !cg__grad_enabled) {
        /* the output is a helper, not a need: if it was overwritten since (PyTorch
         * allows that, as GeluBackward0 saves only the input), go without it */
        cg_saved *s = n->n_saved > 1 ? &n->saved[1] : NULL;
        bool intact = s && s->t && s->t->storage->version == s->version;
        cg_tensor *y = intact ? cg__unpack(n, 1) : NULL;
        if ((gi[0] = gelu_backward_fused(a, y, go[0]))) return 0;
    }
    cg_tensor *a2 = cg_mul(a, a), *d;
    if (n->iv[0]) {
        /* t = tanh(k (a + c a^3)), k = sqrt(2/pi), c = 0.044715:
         * d = (1 + t) / 2 + a (1 - t^2) k (1 + 3 c a^2) / 2 */
        cg_tensor *t = cg_tanh(cg_mul_scalar(cg_add(a, cg_mul_scalar(cg_mul(a2, a), GELU_C)), SQRT_2_PI));
        cg_tensor *left = cg_mul_scalar(cg_add_scalar(t, 1), 0.5);
        cg_tensor *right = cg_mul(cg_mul_scalar(a, 0.5 * SQRT_2_PI),
                                  cg_mul(cg_rsub_scalar(cg_mul(t, t), 1),
                                         cg_add_scalar(cg_mul_scalar(a2, 3 * GELU_C), 1)));
        d = cg_add(left, right);
    } else {
        /* d (a Phi(a)) = Phi(a) + a phi(a): Phi(a) = (1 + erf(a / sqrt 2)) / 2,
         * phi(a) = exp(-a^2 / 2) / sqrt(2 pi) */
        cg_tensor *cdf = cg_mul_scalar(cg_add_scalar(cg_erf(cg_mul_scalar(a, SQRT1_2)), 1), 0.5);
        cg_tensor *pdf = cg_mul_scalar(cg_exp(cg_mul_scalar(a2, -0.5)), INV_SQRT_2PI);
        d = cg_add(cdf, cg_mul(a, pdf));
    }
    return times(gi, go[0], d);
}

int cg__bw_silu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d (a s(a)) = s (1 + a (1 - s)), s = sigmoid(a) */
    cg_tensor *a = cg__unpack(n, 0);
    cg_tensor *s = cg_sigmoid(a);
    return times(gi, go[0], cg_mul(s, cg_add_scalar(cg_mul(a, cg_rsub_scalar(s, 1)), 1)));
}

int cg__bw_leaky_relu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* go where a > 0, go * slope elsewhere (a == 0 included, as torch) */
    gi[0] = cg_where(cg_gt_scalar(cg__unpack(n, 0), 0), go[0], cg_mul_scalar(go[0], n->sc[0]));
    return gi[0] ? 0 : -1;
}

int cg__bw_softplus(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d log(1 + exp(b a)) / b = sigmoid(b a); 1 where b a > threshold (linear there) */
    cg_tensor *z = cg_mul_scalar(cg__unpack(n, 0), n->sc[0]);
    gi[0] = cg_where(cg_gt_scalar(z, n->sc[1]), go[0], cg_mul(go[0], cg_sigmoid(z)));
    return gi[0] ? 0 : -1;
}
