/* Elementwise unary ops, each forward beside its backward. */
#include "ops.h"

#include <math.h>

#define UKERNEL(NAME, T, EXPR)                                                             \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa,          \
                     const void *b_, int64_t sb) {                                         \
        (void)b_, (void)sb;                                                                \
        T *o = o_;                                                                         \
        const T *a = a_;                                                                   \
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
    UKERNEL(NAME##_f32, float, EXPRF)                                                      \
    UKERNEL(NAME##_f64, double, EXPRD)
FLOATING(exp, expf(x), exp(x))
FLOATING(log, logf(x), log(x))
FLOATING(sqrt, sqrtf(x), sqrt(x))
FLOATING(reciprocal, 1.0f / x, 1.0 / x)
FLOATING(tanh, tanhf(x), tanh(x))
FLOATING(sigmoid, 1.0f / (1.0f + expf(-x)), 1.0 / (1.0 + exp(-x)))
#define SIGNED(NAME, EXPR)                                                                 \
    UKERNEL(NAME##_f32, float, EXPR)                                                       \
    UKERNEL(NAME##_f64, double, EXPR)                                                      \
    UKERNEL(NAME##_i64, int64_t, EXPR)
SIGNED(neg, -x)
SIGNED(abs, x < 0 ? -x : x)
SIGNED(sign, (x > 0) - (x < 0))
UKERNEL(relu_i64, int64_t, x > 0 ? x : 0)
UKERNEL(sign_b, bool, x)

/* floating relu keeps NaN, as PyTorch does */
UKERNEL(relu_nan_f32, float, x > 0 || x != x ? x : 0.0f)
UKERNEL(relu_nan_f64, double, x > 0 || x != x ? x : 0.0)

enum { FLOAT_ONLY, KEEPS_INT };
enum { SAVE_NONE, SAVE_INPUT, SAVE_OUTPUT };

typedef struct {
    const char *fn;
    cg_op op;
    int kind;
    int save;
    const char *bool_error; /* PyTorch's message for bool input, if it refuses */
    cg__kernel k[CG_NUM_DTYPES];
} unary_info;

#define NEG_BOOL_MSG                                                                       \
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to " \
    "invert a mask, use the `~` or `logical_not()` operator instead."

static const unary_info U_NEG = {"cg_neg", CG_OP_NEG, KEEPS_INT, SAVE_NONE, NEG_BOOL_MSG,
                                 {neg_f32, neg_f64, neg_i64, NULL}};
static const unary_info U_EXP = {"cg_exp", CG_OP_EXP, FLOAT_ONLY, SAVE_OUTPUT, NULL,
                                 {exp_f32, exp_f64, NULL, NULL}};
static const unary_info U_LOG = {"cg_log", CG_OP_LOG, FLOAT_ONLY, SAVE_INPUT, NULL,
                                 {log_f32, log_f64, NULL, NULL}};
static const unary_info U_SQRT = {"cg_sqrt", CG_OP_SQRT, FLOAT_ONLY, SAVE_OUTPUT, NULL,
                                  {sqrt_f32, sqrt_f64, NULL, NULL}};
static const unary_info U_ABS = {"cg_abs", CG_OP_ABS, KEEPS_INT, SAVE_INPUT,
                                 "\"abs_cpu\" not implemented for 'Bool'",
                                 {abs_f32, abs_f64, abs_i64, NULL}};
static const unary_info U_SIGN = {"cg_sign", CG_OP_SIGN, KEEPS_INT, SAVE_NONE, NULL,
                                  {sign_f32, sign_f64, sign_i64, sign_b}};
static const unary_info U_RECIP = {"cg_reciprocal", CG_OP_RECIPROCAL, FLOAT_ONLY, SAVE_OUTPUT,
                                   NULL, {reciprocal_f32, reciprocal_f64, NULL, NULL}};
static const unary_info U_TANH = {"cg_tanh", CG_OP_TANH, FLOAT_ONLY, SAVE_OUTPUT, NULL,
                                  {tanh_f32, tanh_f64, NULL, NULL}};
static const unary_info U_SIGMOID = {"cg_sigmoid", CG_OP_SIGMOID, FLOAT_ONLY, SAVE_OUTPUT, NULL,
                                     {sigmoid_f32, sigmoid_f64, NULL, NULL}};
static const unary_info U_RELU = {"cg_relu", CG_OP_RELU, KEEPS_INT, SAVE_OUTPUT,
                                  "Boolean inputs not supported for relu",
                                  {relu_nan_f32, relu_nan_f64, relu_i64, NULL}};

static cg_tensor *unary(const unary_info *u, cg_tensor *a) {
    if (!a) return NULL;
    if (a->dtype == CG_BOOL && u->bool_error) {
        cg__error(u->fn, "%s", u->bool_error);
        return NULL;
    }
    cg_dtype d = a->dtype;
    if (!u->k[d]) d = CG_FLOAT32; /* integer input to a floating function */
    cg_tensor *x = cg__convert(a, d);
    if (!x) return NULL;
    cg_tensor *out = cg__tensor_new(d, x->ndim, x->shape);
    if (!out) return NULL;
    if (cg__is_contiguous(x)) {
        cg__dense(u->k[d], cg__numel(x->ndim, x->shape), cg__ptr(out), cg__esize(d), cg__ptr(x),
                  cg__esize(d), 1, NULL, 0, 0);
    } else {
        cg__operand o, in;
        o.p = cg__ptr(out);
    o.esize = in.esize = cg__esize(d);
    memcpy(o.st, out->strides, sizeof o.st);
    in.p = cg__ptr(x);
        memcpy(in.st, x->strides, sizeof in.st);
        cg__loop(u->k[d], x->ndim, x->shape, &o, &in, NULL);
    }
    cg_node *n = cg__record(u->op, out, 1, &a);
    if (n && u->save != SAVE_NONE &&
        cg__save(n, 0, u->save == SAVE_INPUT ? a : out, u->save == SAVE_OUTPUT) < 0)
        return NULL;
    return out;
}

cg_tensor *cg_neg(cg_tensor *a) { return unary(&U_NEG, a); }
cg_tensor *cg_exp(cg_tensor *a) { return unary(&U_EXP, a); }
cg_tensor *cg_log(cg_tensor *a) { return unary(&U_LOG, a); }
cg_tensor *cg_sqrt(cg_tensor *a) { return unary(&U_SQRT, a); }
cg_tensor *cg_abs(cg_tensor *a) { return unary(&U_ABS, a); }
cg_tensor *cg_sign(cg_tensor *a) { return unary(&U_SIGN, a); }
cg_tensor *cg_reciprocal(cg_tensor *a) { return unary(&U_RECIP, a); }
cg_tensor *cg_tanh(cg_tensor *a) { return unary(&U_TANH, a); }
cg_tensor *cg_sigmoid(cg_tensor *a) { return unary(&U_SIGMOID, a); }
cg_tensor *cg_relu(cg_tensor *a) { return unary(&U_RELU, a); }

/* ------------------------------------------------------------- backward */

/* gi[0] = go[0] * f(saved) */
static int times(cg_tensor **gi, cg_tensor *go, cg_tensor *factor) {
    return (gi[0] = cg_mul(go, factor)) ? 0 : -1;
}

int cg__bw_neg(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    return (gi[0] = cg_neg(go[0])) ? 0 : -1;
}

int cg__bw_exp(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return times(gi, go[0], cg__unpack(n, 0)); /* d exp(a) = exp(a) */
}

int cg__bw_log(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg_div(go[0], cg__unpack(n, 0))) ? 0 : -1;
}

int cg__bw_sqrt(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d sqrt(a) = 1 / (2 sqrt(a)) */
    return (gi[0] = cg_div(go[0], cg_mul_scalar(cg__unpack(n, 0), 2))) ? 0 : -1;
}

int cg__bw_abs(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return times(gi, go[0], cg_sign(cg__unpack(n, 0)));
}

int cg__bw_zero(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    return (gi[0] = cg_zeros_like(go[0], 0)) ? 0 : -1;
}

int cg__bw_reciprocal(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d (1/a) = -1/a^2 = -r^2 */
    cg_tensor *r = cg__unpack(n, 0);
    return (gi[0] = cg_mul(go[0], cg_neg(cg_mul(r, r)))) ? 0 : -1;
}

int cg__bw_tanh(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d tanh = 1 - r^2 */
    cg_tensor *r = cg__unpack(n, 0);
    return times(gi, go[0], cg_rsub_scalar(cg_mul(r, r), 1));
}

int cg__bw_sigmoid(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* d sigmoid = r (1 - r) */
    cg_tensor *r = cg__unpack(n, 0);
    return times(gi, go[0], cg_mul(r, cg_rsub_scalar(r, 1)));
}

int cg__bw_relu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return times(gi, go[0], cg_gt_scalar(cg__unpack(n, 0), 0)); /* the mask r > 0 */
}
