/* The pointwise family, each forward beside its backward: one-input
 * elementwise ops (neg, exp, log, sqrt, abs, sign, reciprocal, tanh, sigmoid,
 * relu, sin, cos, log1p, expm1, rsqrt, erf, atan), clamp with scalar or tensor
 * bounds, the activations gelu, silu, leaky_relu and softplus, and rounding
 * (floor, ceil, round). A one-input op is a row of pw_info: its kernels, its
 * dtype rule (pw_rule, as PyTorch 1.13) and what its node saves. */
#include "ewise.h"

#include "../kernels/kernels.h"

#include <math.h>

#define SQRT1_2 0.70710678118654752440      /* 1 / sqrt(2) */
#define TWO_SQRTPI 1.12837916709551257390   /* 2 / sqrt(pi) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */
#define SQRT_2_PI 0.79788456080286535588    /* sqrt(2 / pi) */
#define GELU_C 0.044715                     /* gelu's tanh approximation */

typedef cg__ew_prm prm; /* a one-input kernel's scalar arguments */

#define FLOATING(NAME, EXPRF, EXPRD)                                                               \
    CG_EW_KERNEL(NAME##_f32, float, prm, EXPRF)                                                    \
    CG_EW_KERNEL(NAME##_f64, double, prm, EXPRD)
#define SIGNED(NAME, EXPR)                                                                         \
    CG_EW_KERNEL(NAME##_f32, float, prm, EXPR)                                                     \
    CG_EW_KERNEL(NAME##_f64, double, prm, EXPR)                                                    \
    CG_EW_KERNEL(NAME##_i64, int64_t, prm, EXPR)

SIGNED(neg, -x)
FLOATING(exp, expf(x), exp(x))
FLOATING(log, logf(x), log(x))
FLOATING(sqrt, sqrtf(x), sqrt(x))
SIGNED(abs, (x < 0 ? -x : x) + 0) /* + 0: abs(-0.0) is +0.0 */
SIGNED(sign, (x > 0) - (x < 0))
CG_EW_KERNEL(sign_b, bool, prm, x)
FLOATING(reciprocal, 1.0f / x, 1.0 / x)
FLOATING(tanh, tanhf(x), tanh(x))
FLOATING(sigmoid, 1.0f / (1.0f + expf(-x)), 1.0 / (1.0 + exp(-x)))
/* relu is PyTorch's clamp_min(x, 0): NaN and -0.0 pass through */
FLOATING(relu, x < 0 ? 0.0f : x, x < 0 ? 0.0 : x)
CG_EW_KERNEL(relu_i64, int64_t, prm, x > 0 ? x : 0)
FLOATING(sin, sinf(x), sin(x))
FLOATING(cos, cosf(x), cos(x))
FLOATING(log1p, log1pf(x), log1p(x))
FLOATING(expm1, expm1f(x), expm1(x))
FLOATING(rsqrt, 1.0f / sqrtf(x), 1.0 / sqrt(x))
FLOATING(erf, erff(x), erf(x))
FLOATING(atan, atanf(x), atan(x))
FLOATING(gelu, 0.5f * x * (1.0f + erff(x * (float)SQRT1_2)), 0.5 * x * (1.0 + erf(x * SQRT1_2)))
FLOATING(gelu_tanh, 0.5f * x * (1.0f + tanhf((float)SQRT_2_PI * (x + (float)GELU_C * x * x * x))),
         0.5 * x * (1.0 + tanh(SQRT_2_PI * (x + GELU_C * x * x * x))))
FLOATING(silu, x / (1.0f + expf(-x)), x / (1.0 + exp(-x)))
FLOATING(leaky_relu, x > 0 ? x : x * (float)y.s1, x > 0 ? x : x * y.s1)
/* linear where beta x > threshold, as torch */
FLOATING(softplus, x *(float)y.s1 > (float)y.s2 ? x : log1pf(expf(x * (float)y.s1)) / (float)y.s1,
         x *y.s1 > y.s2 ? x : log1p(exp(x * y.s1)) / y.s1)
FLOATING(floor, floorf(x), floor(x))
FLOATING(ceil, ceilf(x), ceil(x))
FLOATING(round, nearbyintf(x), nearbyint(x)) /* the default mode rounds half to even */
CG_EW_KERNEL(copy_i64, int64_t, prm, x)

/* exp, tanh, sigmoid and erf in float32 on the kernel table (kernels.h) for
 * a contiguous row, the scalar kernel above for a strided one */
#define TABLE_F32(NAME)                                                                            \
    static void NAME##_vec_f32(int64_t n, void *o, int64_t so, const void *a, int64_t sa,          \
                               const void *b, int64_t sb) {                                        \
        if (so == 1 && sa == 1)                                                                    \
            cg__kern()->NAME##_f32(n, a, o);                                                       \
        else                                                                                       \
            NAME##_f32(n, o, so, a, sa, b, sb);                                                    \
    }
TABLE_F32(exp)
TABLE_F32(tanh)
TABLE_F32(sigmoid)
TABLE_F32(erf)

/* gelu (erf form: SFX gelu, FORM false; tanh form: gelu_tanh, true) likewise,
 * and its backward o = b gelu'(a), which cg__dense runs on contiguous data */
#define TABLE_GELU(SFX, FORM, T)                                                                   \
    static void SFX##_vec_##T(int64_t n, void *o, int64_t so, const void *a, int64_t sa,           \
                              const void *b, int64_t sb) {                                         \
        if (so == 1 && sa == 1)                                                                    \
            cg__kern()->gelu_##T(n, a, o, FORM);                                                   \
        else                                                                                       \
            SFX##_##T(n, o, so, a, sa, b, sb);                                                     \
    }                                                                                              \
    static void SFX##_bw_##T(int64_t n, void *o, int64_t so, const void *a, int64_t sa,            \
                             const void *b, int64_t sb) {                                          \
        CG_UNUSED(so), CG_UNUSED(sa), CG_UNUSED(sb); /* all 1 */                                   \
        cg__kern()->gelu_bw_##T(n, a, b, o, FORM);                                                 \
    }
TABLE_GELU(gelu, false, f32)
TABLE_GELU(gelu, false, f64)
TABLE_GELU(gelu_tanh, true, f32)
TABLE_GELU(gelu_tanh, true, f64)

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
CG_EW_KERNEL(clamp_f32, float, prm, clamp_f(x, (float)y.s1, (float)y.s2))
CG_EW_KERNEL(clamp_f64, double, prm, clamp_d(x, y.s1, y.s2))
CG_EW_KERNEL(clamp_i64, int64_t, prm, clamp_i(x, y.i1, y.i2))

/* NaN-propagating maximum / minimum, as torch.maximum / torch.minimum (clamp
 * with tensor bounds) */
CG_EW_KERNEL(max_f32, float, float, x > y || x != x ? x : y)
CG_EW_KERNEL(max_f64, double, double, x > y || x != x ? x : y)
CG_EW_KERNEL(max_i64, int64_t, int64_t, x > y ? x : y)
CG_EW_KERNEL(max_b, bool, bool, x || y)
CG_EW_KERNEL(min_f32, float, float, x < y || x != x ? x : y)
CG_EW_KERNEL(min_f64, double, double, x < y || x != x ? x : y)
CG_EW_KERNEL(min_i64, int64_t, int64_t, x < y ? x : y)
CG_EW_KERNEL(min_b, bool, bool, x &&y)
static const cg__kernel max_k[CG_NUM_DTYPES] = {max_f32, max_f64, max_i64, max_b};
static const cg__kernel min_k[CG_NUM_DTYPES] = {min_f32, min_f64, min_i64, min_b};

/* ------------------------------------------------------------- helpers */

/* out = k(x; p) elementwise; out is contiguous, of x's shape and dtype */
static void run_unary(cg__kernel k, const prm *p, const cg_tensor *x, cg_tensor *out) {
    static const prm none; /* the kernels read their prm even when they use none of it */
    if (!p) p = &none;
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
        dense = cg__is_contiguous(t) && cg__same_shape(t->ndim, t->shape, nd, out->shape);
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

/* ---------------------------------------------------- one-input ops */

/* What a one-input op does with int64 and bool inputs (floating ones keep
 * their dtype): */
typedef enum {
    INT_TO_FLOAT,  /* both compute in float32: torch.exp(int64) is float32 */
    INT_KEPT,      /* int64 stays int64 (floor of an int64 is a copy); bool refused */
    INT_BOOL_KEPT, /* both keep their dtype (sign) */
    INT_REFUSED,   /* both refused (gelu: "GeluKernelImpl" not implemented) */
} pw_rule;
/* What its node saves: nothing, its input or its output */
typedef enum { SAVE_NONE, SAVE_SELF, SAVE_RESULT } pw_save;
/* the saved tensor's slot, by what it is (the row says which) */
enum { PW_SELF = 0, PW_RESULT = 0 };

typedef struct {
    const char *fn;
    cg_op op;
    pw_rule rule;
    pw_save save;
    const char *kname;      /* torch's kernel name in its "not implemented" error */
    const char *bool_error; /* INT_KEPT: PyTorch's message for bool, if not that one */
    cg__kernel k[CG_NUM_DTYPES];
} pw_info;

#define FK(name)                                                                                   \
    { name##_f32, name##_f64 }
#define VK(name) /* float32 on the kernel table */                                                 \
    { name##_vec_f32, name##_f64 }
#define SK(name)                                                                                   \
    { name##_f32, name##_f64, name##_i64 }
static const pw_info U_NEG = {"cg_neg", CG_OP_NEG,       INT_KEPT, SAVE_NONE,
                              NULL,     CG_MSG_NEG_BOOL, SK(neg)};
static const pw_info U_EXP = {"cg_exp", CG_OP_EXP, INT_TO_FLOAT, SAVE_RESULT, NULL, NULL, VK(exp)};
static const pw_info U_LOG = {"cg_log", CG_OP_LOG, INT_TO_FLOAT, SAVE_SELF, NULL, NULL, FK(log)};
static const pw_info U_SQRT = {"cg_sqrt", CG_OP_SQRT, INT_TO_FLOAT, SAVE_RESULT,
                               NULL,      NULL,       FK(sqrt)};
static const pw_info U_ABS = {"cg_abs", CG_OP_ABS, INT_KEPT, SAVE_SELF, "abs_cpu", NULL, SK(abs)};
static const pw_info U_SIGN = {"cg_sign",
                               CG_OP_SIGN,
                               INT_BOOL_KEPT,
                               SAVE_NONE,
                               NULL,
                               NULL,
                               {sign_f32, sign_f64, sign_i64, sign_b}};
static const pw_info U_RECIP =
    {"cg_reciprocal", CG_OP_RECIPROCAL, INT_TO_FLOAT, SAVE_RESULT, NULL, NULL, FK(reciprocal)};
static const pw_info U_TANH = {"cg_tanh", CG_OP_TANH, INT_TO_FLOAT, SAVE_RESULT,
                               NULL,      NULL,       VK(tanh)};
static const pw_info U_SIGMOID = {"cg_sigmoid", CG_OP_SIGMOID, INT_TO_FLOAT, SAVE_RESULT,
                                  NULL,         NULL,          VK(sigmoid)};
static const pw_info U_RELU = {"cg_relu",
                               CG_OP_RELU,
                               INT_KEPT,
                               SAVE_RESULT,
                               NULL,
                               "Boolean inputs not supported for relu",
                               {relu_f32, relu_f64, relu_i64}};
static const pw_info U_SIN = {"cg_sin", CG_OP_SIN, INT_TO_FLOAT, SAVE_SELF, NULL, NULL, FK(sin)};
static const pw_info U_COS = {"cg_cos", CG_OP_COS, INT_TO_FLOAT, SAVE_SELF, NULL, NULL, FK(cos)};
static const pw_info U_LOG1P = {"cg_log1p", CG_OP_LOG1P, INT_TO_FLOAT, SAVE_SELF,
                                NULL,       NULL,        FK(log1p)};
static const pw_info U_EXPM1 = {"cg_expm1", CG_OP_EXPM1, INT_TO_FLOAT, SAVE_RESULT,
                                NULL,       NULL,        FK(expm1)};
static const pw_info U_RSQRT = {"cg_rsqrt", CG_OP_RSQRT, INT_TO_FLOAT, SAVE_RESULT,
                                NULL,       NULL,        FK(rsqrt)};
static const pw_info U_ERF = {"cg_erf", CG_OP_ERF, INT_TO_FLOAT, SAVE_SELF, NULL, NULL, VK(erf)};
static const pw_info U_ATAN = {"cg_atan", CG_OP_ATAN, INT_TO_FLOAT, SAVE_SELF,
                               NULL,      NULL,       FK(atan)};
static const pw_info U_GELU = {"cg_gelu",        CG_OP_GELU, INT_REFUSED, SAVE_SELF,
                               "GeluKernelImpl", NULL,       FK(gelu_vec)};
static const pw_info U_GELU_TANH = {"cg_gelu",        CG_OP_GELU, INT_REFUSED,      SAVE_SELF,
                                    "GeluKernelImpl", NULL,       FK(gelu_tanh_vec)};
static const pw_info U_SILU = {"cg_silu",  CG_OP_SILU, INT_REFUSED, SAVE_SELF,
                               "silu_cpu", NULL,       FK(silu)};
static const pw_info U_LEAKY = {"cg_leaky_relu", CG_OP_LEAKY_RELU, INT_REFUSED,
                                SAVE_SELF,       "leaky_relu_cpu", NULL,
                                FK(leaky_relu)};
static const pw_info U_SOFTPLUS = {"cg_softplus",  CG_OP_SOFTPLUS, INT_REFUSED, SAVE_SELF,
                                   "softplus_cpu", NULL,           FK(softplus)};
static const pw_info U_FLOOR = {"cg_floor",
                                CG_OP_FLOOR,
                                INT_KEPT,
                                SAVE_NONE,
                                "floor_vml_cpu",
                                NULL,
                                {floor_f32, floor_f64, copy_i64}};
static const pw_info U_CEIL = {"cg_ceil",
                               CG_OP_CEIL,
                               INT_KEPT,
                               SAVE_NONE,
                               "ceil_vml_cpu",
                               NULL,
                               {ceil_f32, ceil_f64, copy_i64}};
static const pw_info U_ROUND = {"cg_round",
                                CG_OP_ROUND,
                                INT_KEPT,
                                SAVE_NONE,
                                "round_vml_cpu",
                                NULL,
                                {round_f32, round_f64, copy_i64}};

/* The dtype u computes an input of dtype d in, or -1 with PyTorch's error. */
static int pw_dtype(const pw_info *u, cg_dtype d) {
    if (cg_dtype_is_floating(d)) return (int)d;
    switch (u->rule) {
    case INT_TO_FLOAT: return CG_FLOAT32;
    case INT_KEPT:
        if (d == CG_INT64) return (int)d;
        if (u->bool_error) {
            cg__error(u->fn, "%s", u->bool_error);
            return -1;
        }
        break;
    case INT_BOOL_KEPT: return (int)d;
    case INT_REFUSED: break;
    }
    cg__error(u->fn, CG_MSG_NOT_IMPLEMENTED, u->kname, cg__scalar_type_name(d));
    return -1;
}

/* Runs a one-input op: dtype rule, kernel, node (returned in *node when asked,
 * NULL if none was recorded) with the input or the output saved. */
static cg_tensor *pointwise(const pw_info *u, cg_tensor *a, const prm *p, cg_node **node) {
    if (node) *node = NULL;
    if (!a) return NULL;
    int d = pw_dtype(u, a->dtype);
    if (d < 0) return NULL;
    cg_tensor *x = cg__convert(a, (cg_dtype)d);
    if (!x) return NULL;
    cg_tensor *out = cg__tensor_new((cg_dtype)d, x->ndim, x->shape);
    if (!out) return NULL;
    run_unary(u->k[d], p, x, out);
    cg_node *n = cg__record(u->op, out, 1, &a);
    if (n && u->save == SAVE_SELF && cg__save(n, PW_SELF, a, false) < 0) return NULL;
    if (n && u->save == SAVE_RESULT && cg__save(n, PW_RESULT, out, true) < 0) return NULL;
    if (node) *node = n;
    return cg__recorded(out);
}

cg_tensor *cg_neg(cg_tensor *a) { return pointwise(&U_NEG, a, NULL, NULL); }
cg_tensor *cg_exp(cg_tensor *a) { return pointwise(&U_EXP, a, NULL, NULL); }
cg_tensor *cg_log(cg_tensor *a) { return pointwise(&U_LOG, a, NULL, NULL); }
cg_tensor *cg_sqrt(cg_tensor *a) { return pointwise(&U_SQRT, a, NULL, NULL); }
cg_tensor *cg_abs(cg_tensor *a) { return pointwise(&U_ABS, a, NULL, NULL); }
cg_tensor *cg_sign(cg_tensor *a) { return pointwise(&U_SIGN, a, NULL, NULL); }
cg_tensor *cg_reciprocal(cg_tensor *a) { return pointwise(&U_RECIP, a, NULL, NULL); }
cg_tensor *cg_tanh(cg_tensor *a) { return pointwise(&U_TANH, a, NULL, NULL); }
cg_tensor *cg_sigmoid(cg_tensor *a) { return pointwise(&U_SIGMOID, a, NULL, NULL); }
cg_tensor *cg_relu(cg_tensor *a) { return pointwise(&U_RELU, a, NULL, NULL); }
cg_tensor *cg_sin(cg_tensor *a) { return pointwise(&U_SIN, a, NULL, NULL); }
cg_tensor *cg_cos(cg_tensor *a) { return pointwise(&U_COS, a, NULL, NULL); }
cg_tensor *cg_log1p(cg_tensor *a) { return pointwise(&U_LOG1P, a, NULL, NULL); }
cg_tensor *cg_expm1(cg_tensor *a) { return pointwise(&U_EXPM1, a, NULL, NULL); }
cg_tensor *cg_rsqrt(cg_tensor *a) { return pointwise(&U_RSQRT, a, NULL, NULL); }
cg_tensor *cg_erf(cg_tensor *a) { return pointwise(&U_ERF, a, NULL, NULL); }
cg_tensor *cg_atan(cg_tensor *a) { return pointwise(&U_ATAN, a, NULL, NULL); }
cg_tensor *cg_silu(cg_tensor *a) { return pointwise(&U_SILU, a, NULL, NULL); }
cg_tensor *cg_floor(cg_tensor *a) { return pointwise(&U_FLOOR, a, NULL, NULL); }
cg_tensor *cg_ceil(cg_tensor *a) { return pointwise(&U_CEIL, a, NULL, NULL); }
cg_tensor *cg_round(cg_tensor *a) { return pointwise(&U_ROUND, a, NULL, NULL); }

/* GeluBackward0 saves the input only: both backwards need nothing else */
enum { GELU_SELF = PW_SELF };
enum { GELU_TANH }; /* n->iv: the tanh approximation? */

cg_tensor *cg_gelu(cg_tensor *a, bool tanh_approximation) {
    cg_node *n;
    cg_tensor *out = pointwise(tanh_approximation ? &U_GELU_TANH : &U_GELU, a, NULL, &n);
    if (n) n->iv[GELU_TANH] = tanh_approximation, n->n_iv = 1;
    return out;
}

enum { LEAKY_SLOPE }; /* n->sc */

cg_tensor *cg_leaky_relu(cg_tensor *a, double negative_slope) {
    prm p = {.s1 = negative_slope};
    cg_node *n;
    cg_tensor *out = pointwise(&U_LEAKY, a, &p, &n);
    if (n) n->sc[LEAKY_SLOPE] = negative_slope;
    return out;
}

enum { SOFTPLUS_BETA, SOFTPLUS_THRESHOLD }; /* n->sc */

cg_tensor *cg_softplus(cg_tensor *a, double beta, double threshold) {
    prm p = {.s1 = beta, .s2 = threshold};
    cg_node *n;
    cg_tensor *out = pointwise(&U_SOFTPLUS, a, &p, &n);
    if (n) n->sc[SOFTPLUS_BETA] = beta, n->sc[SOFTPLUS_THRESHOLD] = threshold;
    return out;
}

/* ---------------------------------------------------------------- clamp */

#define CLAMP_NONE "torch.clamp: At least one of 'min' or 'max' must not be None"

/* Which bounds a clamp has */
typedef enum { HAS_MIN = 1, HAS_MAX = 2, HAS_BOTH = HAS_MIN | HAS_MAX } clamp_bounds;

/* a C double that counts as a Python int (see cgrad.h) */
static bool integral(double v) { return isfinite(v) && v == floor(v); }

/* an integral bound as int64, saturated at the type's range */
static int64_t to_i64(double v) {
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

/* The bounds given to a scalar clamp (-INFINITY / INFINITY stand for None) */
static clamp_bounds scalar_bounds(double min, double max) {
    return (min != -INFINITY ? HAS_MIN : 0) | (max != INFINITY ? HAS_MAX : 0);
}

/* out = x clamped to [min, max]; x and out of one dtype, the absent bounds infinite */
static void clamp_scalar(const cg_tensor *x, double min, double max, clamp_bounds has,
                         cg_tensor *out) {
    cg_dtype d = x->dtype;
    if (has == HAS_BOTH && (isnan(min) || isnan(max))) { /* torch fills NaN */
        int64_t n = cg__numel(out->ndim, out->shape);
        for (int64_t i = 0; i < n; i++) {
            if (d == CG_FLOAT32)
                ((float *)cg__ptr(out))[i] = NAN;
            else
                ((double *)cg__ptr(out))[i] = NAN;
        }
        return;
    }
    prm p = {.s1 = min, .s2 = max};
    cg__kernel k = d == CG_FLOAT32 ? clamp_f32 : d == CG_FLOAT64 ? clamp_f64 : clamp_i64;
    if (d == CG_INT64) {
        p.i1 = has & HAS_MIN ? to_i64(min) : INT64_MIN;
        p.i2 = has & HAS_MAX ? to_i64(max) : INT64_MAX;
    }
    run_unary(k, &p, x, out);
}

enum { CLAMP_SELF };           /* saved */
enum { CLAMP_MIN, CLAMP_MAX }; /* n->sc: the bounds, infinite when absent */

cg_tensor *cg_clamp(cg_tensor *a, double min, double max) {
    if (!a) return NULL;
    clamp_bounds has = scalar_bounds(min, max);
    if (!has) {
        cg__error("cg_clamp", CLAMP_NONE);
        return NULL;
    }
    /* the bounds take part in type promotion as Python scalars */
    cg_dtype d = a->dtype;
    if (d == CG_INT64 || d == CG_BOOL)
        d = ((has & HAS_MIN) && !integral(min)) || ((has & HAS_MAX) && !integral(max)) ? CG_FLOAT32
                                                                                       : CG_INT64;
    cg_tensor *x = cg__convert(a, d);
    if (!x) return NULL;
    cg_tensor *out = cg__tensor_new(d, x->ndim, x->shape);
    if (!out) return NULL;
    clamp_scalar(x, min, max, has, out);
    cg_node *n = cg__record(CG_OP_CLAMP, out, 1, &a);
    if (n) {
        n->sc[CLAMP_MIN] = min;
        n->sc[CLAMP_MAX] = max;
        if (cg__save(n, CLAMP_SELF, a, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

/* The broadcast shape of a with min, then with max (either may be NULL), as
 * torch's iterator; nd and shape out, or -1 with PyTorch's error. */
static int clamp_shape(cg_tensor *a, cg_tensor *min, cg_tensor *max, int *nd, int64_t *shape) {
    *nd = a->ndim;
    memcpy(shape, a->shape, sizeof(int64_t) * CG_MAX_DIMS);
    cg_tensor *bounds[2] = {min, max};
    for (int i = 0; i < 2; i++) {
        int64_t next[CG_MAX_DIMS]; /* not shape itself: the output must not alias an input */
        if (!bounds[i]) continue;
        if (cg__broadcast_shape("cg_clamp_tensor", *nd, shape, bounds[i]->ndim, bounds[i]->shape,
                                nd, next) < 0)
            return -1;
        memcpy(shape, next, sizeof(int64_t) * CG_MAX_DIMS);
    }
    return 0;
}

enum { CT_SELF, CT_MIN, CT_MAX }; /* saved (NULL for an absent bound) */
enum { CT_HAS_MIN, CT_HAS_MAX };  /* n->iv */

cg_tensor *cg_clamp_tensor(cg_tensor *a, cg_tensor *min, cg_tensor *max) {
    if (!a) return NULL;
    if (!min && !max) {
        cg__error("cg_clamp_tensor", CLAMP_NONE);
        return NULL;
    }
    int nd;
    int64_t shape[CG_MAX_DIMS];
    if (clamp_shape(a, min, max, &nd, shape) < 0) return NULL;
    cg_tensor *in[3] = {a, min, max};
    cg_dtype d = cg__result_type(3, in);
    if (d == CG_BOOL && min && max) { /* torch.maximum / minimum take bool, clamp does not */
        cg__error("cg_clamp_tensor", CG_MSG_NOT_IMPLEMENTED, "clamp_cpu", "Bool");
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
        n->iv[CT_HAS_MIN] = min != NULL;
        n->iv[CT_HAS_MAX] = max != NULL;
        n->n_iv = 2;
        if (cg__save(n, CT_SELF, a, false) < 0 || cg__save(n, CT_MIN, min, false) < 0 ||
            cg__save(n, CT_MAX, max, false) < 0)
            return NULL;
    }
    return cg__recorded(out);
}

/* ------------------------------------------------------------- backward */

/* gi[0] = go * factor */
static int times(cg_tensor **gi, cg_tensor *go, cg_tensor *factor) {
    return (gi[0] = cg_mul(go, factor)) ? 0 : -1;
}

/* min_mask & max_mask for the bounds has names (bool tensors), else the one
 * it names */
static cg_tensor *and_mask(cg_tensor *min_mask, cg_tensor *max_mask, clamp_bounds has) {
    if (has == HAS_BOTH) return cg_mul(min_mask, max_mask); /* bool * bool is logical and */
    return has & HAS_MIN ? min_mask : max_mask;
}

int cg__bw_neg(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    return (gi[0] = cg_neg(go[0])) ? 0 : -1;
}

int cg__bw_exp(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *result = cg__unpack(n, PW_RESULT);
    return times(gi, go[0], result); /* d exp(a) = exp(a) */
}

int cg__bw_log(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *self = cg__unpack(n, PW_SELF);
    return (gi[0] = cg_div(go[0], self)) ? 0 : -1;
}

int cg__bw_sqrt(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *result = cg__unpack(n, PW_RESULT);
    /* d sqrt(a) = 1 / (2 sqrt(a)) */
    return (gi[0] = cg_div(go[0], cg_mul_scalar(result, 2))) ? 0 : -1;
}

int cg__bw_abs(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *self = cg__unpack(n, PW_SELF);
    return times(gi, go[0], cg_sign(self));
}

/* sign, floor, ceil, round (and inplace.def's zero_ and fill_) */
int cg__bw_zero(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    return (gi[0] = cg_zeros_like(go[0], 0)) ? 0 : -1;
}

int cg__bw_reciprocal(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *r = cg__unpack(n, PW_RESULT);
    /* d (1/a) = -1/a^2 = -r^2 */
    return (gi[0] = cg_mul(go[0], cg_neg(cg_mul(r, r)))) ? 0 : -1;
}

int cg__bw_tanh(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *r = cg__unpack(n, PW_RESULT);
    /* d tanh = 1 - r^2 */
    return times(gi, go[0], cg_rsub_scalar(cg_mul(r, r), 1));
}

int cg__bw_sigmoid(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *r = cg__unpack(n, PW_RESULT);
    /* d sigmoid = r (1 - r) */
    return times(gi, go[0], cg_mul(r, cg_rsub_scalar(r, 1)));
}

/* where(r > 0, g, 0): PyTorch's threshold_backward(g, r, 0) */
static cg_tensor *threshold_backward(cg_tensor *g, cg_tensor *r) {
    return cg_where(cg_gt_scalar(r, 0), g, cg_scalar(0, (int)g->dtype));
}

enum { THRESHOLD_RESULT }; /* ThresholdBackwardBackward0's saved tensor */

static int threshold_bw_forward(cg_ctx *ctx, int n_in, cg_tensor *const *in, int n_out,
                                cg_tensor **out, void *user) {
    CG_UNUSED(n_in), CG_UNUSED(n_out), CG_UNUSED(user);
    out[0] = threshold_backward(in[0], in[1]);
    return out[0] ? cg_ctx_save_for_backward(ctx, 1, &in[1]) : -1;
}

/* its inputs (g, r): the same selection of gg for g, zeros for r */
static int threshold_bw_backward(cg_ctx *ctx, int n_out, cg_tensor *const *gg, int n_in,
                                 cg_tensor **gi, void *user) {
    CG_UNUSED(n_out), CG_UNUSED(n_in), CG_UNUSED(user);
    cg_tensor *r = cg_ctx_saved(ctx, THRESHOLD_RESULT);
    gi[0] = r ? threshold_backward(gg[0], r) : NULL;
    gi[1] = cg_zeros_like(gg[0], 0);
    return gi[0] && gi[1] ? 0 : -1;
}

static const cg_function threshold_bw_fn = {"ThresholdBackwardBackward0", threshold_bw_forward,
                                            threshold_bw_backward};

/* relu's gradient selects (a NaN or inf in g stays out where r <= 0); under
 * create_graph it is a node of its own over g and r, as PyTorch's, so it
 * requires grad whenever r does */
int cg__bw_relu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *result = cg__unpack(n, PW_RESULT);
    if (!result) return -1;
    if (!cg__grad_enabled) return (gi[0] = threshold_backward(go[0], result)) ? 0 : -1;
    cg_tensor *in[2] = {go[0], result};
    return cg_function_apply(&threshold_bw_fn, NULL, 2, in, 1, gi);
}

int cg__bw_sin(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *self = cg__unpack(n, PW_SELF);
    return times(gi, go[0], cg_cos(self));
}

int cg__bw_cos(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *self = cg__unpack(n, PW_SELF);
    return times(gi, go[0], cg_neg(cg_sin(self)));
}

int cg__bw_log1p(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *self = cg__unpack(n, PW_SELF);
    return (gi[0] = cg_div(go[0], cg_add_scalar(self, 1))) ? 0 : -1;
}

int cg__bw_expm1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *result = cg__unpack(n, PW_RESULT);
    /* d expm1(a) = exp(a) = r + 1 */
    return times(gi, go[0], cg_add_scalar(result, 1));
}

int cg__bw_rsqrt(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *result = cg__unpack(n, PW_RESULT);
    /* d a^(-1/2) = -a^(-3/2) / 2 = -r^3 / 2 */
    return times(gi, go[0], cg_mul_scalar(cg_pow_scalar(result, 3), -0.5));
}

int cg__bw_erf(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, PW_SELF);
    /* d erf(a) = 2 / sqrt(pi) exp(-a^2) */
    return times(gi, go[0], cg_mul_scalar(cg_exp(cg_neg(cg_mul(a, a))), TWO_SQRTPI));
}

int cg__bw_atan(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, PW_SELF);
    /* d atan(a) = 1 / (1 + a^2) */
    return (gi[0] = cg_div(go[0], cg_add_scalar(cg_mul(a, a), 1))) ? 0 : -1;
}

int cg__bw_clamp(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, CLAMP_SELF);
    double min = n->sc[CLAMP_MIN], max = n->sc[CLAMP_MAX];
    if (!a) return -1;
    clamp_bounds has = scalar_bounds(min, max);
    /* the gradient passes where min <= a <= max, bounds included (as torch) */
    cg_tensor *mask = and_mask(has & HAS_MIN ? cg_ge_scalar(a, min) : NULL,
                               has & HAS_MAX ? cg_le_scalar(a, max) : NULL, has);
    gi[0] = cg_where(mask, go[0], cg_scalar(0, (int)go[0]->dtype));
    return gi[0] ? 0 : -1;
}

int cg__bw_clamp_tensor(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    clamp_bounds has = (n->iv[CT_HAS_MIN] ? HAS_MIN : 0) | (n->iv[CT_HAS_MAX] ? HAS_MAX : 0);
    cg_tensor *a = cg__unpack(n, CT_SELF);
    cg_tensor *lo = has & HAS_MIN ? cg__unpack(n, CT_MIN) : NULL;
    cg_tensor *hi = has & HAS_MAX ? cg__unpack(n, CT_MAX) : NULL;
    if (!a || ((has & HAS_MIN) && !lo) || ((has & HAS_MAX) && !hi)) return -1;
    cg_tensor *g = go[0], *zero = cg_scalar(0, (int)g->dtype);
    if (CG_WANT(n, 0)) { /* a: where lo <= a <= hi, bounds included */
        cg_tensor *m = and_mask(lo ? cg_ge(a, lo) : NULL, hi ? cg_le(a, hi) : NULL, has);
        if (!(gi[0] = cg_where(m, g, zero))) return -1;
    }
    if (CG_WANT(n, 1)) { /* min: where a < min, unless the min is above the max (which wins) */
        cg_tensor *m = and_mask(cg_lt(a, lo), hi ? cg_lt(lo, hi) : NULL, HAS_MIN | (has & HAS_MAX));
        if (!(gi[1] = cg_where(m, g, zero))) return -1;
    }
    if (CG_WANT(n, 2)) { /* max: where a > max, and everywhere the max is below the min */
        cg_tensor *m = cg_gt(a, hi);
        if (lo) m = cg_add(m, cg_lt(hi, lo)); /* bool + bool is logical or */
        if (!(gi[2] = cg_where(m, g, zero))) return -1;
    }
    return 0;
}

/* g gelu'(a) in one pass on the kernel table: the plain backward (a
 * create_graph backward composes cgrad ops below) into *res: 0, 1 if a and g
 * differ in dtype or shape (the ops run), -1 on an error */
static int gelu_backward_fused(cg_tensor *a, cg_tensor *g, bool tanh_approximation,
                               cg_tensor **res) {
    static const cg__kernel k[2][2] = {{gelu_bw_f32, gelu_bw_f64},
                                       {gelu_tanh_bw_f32, gelu_tanh_bw_f64}};
    if (a->dtype != g->dtype || !cg_dtype_is_floating(a->dtype)) return 1;
    if (!cg__same_shape(a->ndim, a->shape, g->ndim, g->shape)) return 1;
    if (!(a = cg_contiguous(a)) || !(g = cg_contiguous(g))) return -1;
    cg_tensor *out = *res = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!out) return -1;
    size_t es = cg__esize(a->dtype);
    cg__dense(k[tanh_approximation][a->dtype], cg__numel(a->ndim, a->shape), cg__ptr(out), es,
              cg__ptr(a), es, 1, cg__ptr(g), es, 1);
    return 0;
}

int cg__bw_gelu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, GELU_SELF);
    bool tanh_approximation = n->iv[GELU_TANH];
    if (!a) return -1;
    int rc = cg__grad_enabled ? 1 : gelu_backward_fused(a, go[0], tanh_approximation, &gi[0]);
    if (rc <= 0) return rc;
    cg_tensor *a2 = cg_mul(a, a), *d;
    if (tanh_approximation) {
        /* t = tanh(k (a + c a^3)), k = sqrt(2/pi), c = 0.044715:
         * d = (1 + t) / 2 + a (1 - t^2) k (1 + 3 c a^2) / 2 */
        cg_tensor *inner = cg_add(a, cg_mul_scalar(cg_mul(a2, a), GELU_C));
        cg_tensor *t = cg_tanh(cg_mul_scalar(inner, SQRT_2_PI));
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
    cg_tensor *a = cg__unpack(n, PW_SELF);
    /* d (a s(a)) = s (1 + a (1 - s)), s = sigmoid(a) */
    cg_tensor *s = cg_sigmoid(a);
    return times(gi, go[0], cg_mul(s, cg_add_scalar(cg_mul(a, cg_rsub_scalar(s, 1)), 1)));
}

/* g where a > 0, g * slope elsewhere (a == 0 included, as torch) */
static cg_tensor *leaky_relu_backward(cg_tensor *g, cg_tensor *a, double slope) {
    return a ? cg_where(cg_gt_scalar(a, 0), g, cg_mul_scalar(g, slope)) : NULL;
}

enum { LEAKY_BW_SELF }; /* LeakyReluBackwardBackward0's saved tensor; slope in sc */

static int leaky_bw_forward(cg_ctx *ctx, int n_in, cg_tensor *const *in, int n_out, cg_tensor **out,
                            void *user) {
    CG_UNUSED(n_in), CG_UNUSED(n_out);
    ctx->sc[LEAKY_SLOPE] = *(const double *)user;
    out[0] = leaky_relu_backward(in[0], in[1], ctx->sc[LEAKY_SLOPE]);
    return out[0] ? cg_ctx_save_for_backward(ctx, 1, &in[1]) : -1;
}

/* its inputs (g, a): the same map of gg for g, zeros for a */
static int leaky_bw_backward(cg_ctx *ctx, int n_out, cg_tensor *const *gg, int n_in, cg_tensor **gi,
                             void *user) {
    CG_UNUSED(n_out), CG_UNUSED(n_in), CG_UNUSED(user);
    gi[0] = leaky_relu_backward(gg[0], cg_ctx_saved(ctx, LEAKY_BW_SELF), ctx->sc[LEAKY_SLOPE]);
    gi[1] = cg_zeros_like(gg[0], 0);
    return gi[0] && gi[1] ? 0 : -1;
}

static const cg_function leaky_bw_fn = {"LeakyReluBackwardBackward0", leaky_bw_forward,
                                        leaky_bw_backward};

/* under create_graph a node of its own over g and a, as torch's (it
 * requires grad whenever a does) */
int cg__bw_leaky_relu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, PW_SELF);
    if (!a) return -1;
    if (!cg__grad_enabled)
        return (gi[0] = leaky_relu_backward(go[0], a, n->sc[LEAKY_SLOPE])) ? 0 : -1;
    cg_tensor *in[2] = {go[0], a};
    return cg_function_apply(&leaky_bw_fn, &n->sc[LEAKY_SLOPE], 2, in, 1, gi);
}

int cg__bw_softplus(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, PW_SELF);
    double beta = n->sc[SOFTPLUS_BETA], threshold = n->sc[SOFTPLUS_THRESHOLD];
    /* d log(1 + exp(b a)) / b = sigmoid(b a); 1 where b a > threshold (linear there) */
    cg_tensor *z = cg_mul_scalar(a, beta);
    gi[0] = cg_where(cg_gt_scalar(z, threshold), go[0], cg_mul(go[0], cg_sigmoid(z)));
    return gi[0] ? 0 : -1;
}
