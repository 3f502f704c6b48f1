/* The math family, each forward beside its backward: elementwise math beyond
 * pointwise.c — tan, log2, log10, exp2 (one input; int64 and bool compute in
 * float32), maximum, minimum, atan2, fmod and remainder (two inputs,
 * broadcast; fmod and remainder also with a scalar), lerp (scalar or tensor
 * weight), addcmul and addcdiv. Also the elementwise runner the families of
 * ewise.h share. */
#include "ewise.h"

#include <math.h>

#define LN2 0.69314718055994530942
#define LN10 2.30258509299404568402

/* ------------------------------------------------------------- the runner */

void cg__ew_run(cg__kernel k, cg_tensor *out, const cg_tensor *x, const cg_tensor *y,
                const cg__ew_prm *p) {
    static const cg__ew_prm none; /* the kernels read their prm even when they use none of it */
    int nd = out->ndim;
    cg__operand o, a, b;
    o.p = cg__ptr(out);
    a.p = cg__ptr(x);
    o.esize = a.esize = cg__esize(out->dtype);
    memcpy(o.st, out->strides, sizeof o.st);
    cg__broadcast_strides(x, nd, out->shape, a.st);
    if (y) {
        b.p = cg__ptr(y);
        b.esize = o.esize;
        cg__broadcast_strides(y, nd, out->shape, b.st);
    } else {
        b.p = (char *)(p ? p : &none); /* read only: the kernel takes it as const */
        b.esize = 0;
        memset(b.st, 0, sizeof b.st);
    }
    cg__loop(k, nd, out->shape, &o, &a, &b);
}

cg_tensor *cg__ew_map(cg__kernel k, cg_tensor *a, cg_dtype d, const cg__ew_prm *p) {
    cg_tensor *x = cg__convert(a, d);
    cg_tensor *out = x ? cg__tensor_new(d, x->ndim, x->shape) : NULL;
    if (out) cg__ew_run(k, out, x, NULL, p);
    return out;
}

/* ---------------------------------------------------------- one input */

CG_EW_FLOATING(tan, tanf(x), tan(x))
CG_EW_FLOATING(log2, log2f(x), log2(x))
CG_EW_FLOATING(log10, log10f(x), log10(x))
CG_EW_FLOATING(exp2, exp2f(x), exp2(x))

enum { M_SELF = 0, M_RESULT = 0 }; /* saved: the input or the output (the row says which) */

/* a one-input op: k[0] float32, k[1] float64; saves its input or result */
static cg_tensor *unary(cg_op op, const cg__kernel *k, cg_tensor *a, bool save_result) {
    if (!a) return NULL;
    cg_dtype d = cg__ew_float_dtype(a->dtype);
    cg_tensor *out = cg__ew_map(k[d], a, d, NULL);
    if (!out) return NULL;
    cg_node *n = cg__record(op, out, 1, &a);
    if (n && cg__save(n, M_SELF, save_result ? out : a, save_result) < 0) return NULL;
    return cg__recorded(out);
}

#define UNARY(NAME, OP, SAVE_RESULT)                                                               \
    cg_tensor *cg_##NAME(cg_tensor *a) {                                                           \
        static const cg__kernel k[2] = {NAME##_f32, NAME##_f64};                                   \
        return unary(OP, k, a, SAVE_RESULT);                                                       \
    }
UNARY(tan, CG_OP_TAN, true)
UNARY(log2, CG_OP_LOG2, false)
UNARY(log10, CG_OP_LOG10, false)
UNARY(exp2, CG_OP_EXP2, true)

int cg__bw_tan(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *r = cg__unpack(n, M_RESULT);
    /* d tan = 1 + tan^2 */
    return (gi[0] = cg_mul(go[0], cg_add_scalar(cg_mul(r, r), 1))) ? 0 : -1;
}

int cg__bw_log2(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, M_SELF);
    return (gi[0] = cg_div(go[0], cg_mul_scalar(a, LN2))) ? 0 : -1; /* 1 / (a ln 2) */
}

int cg__bw_log10(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, M_SELF);
    return (gi[0] = cg_div(go[0], cg_mul_scalar(a, LN10))) ? 0 : -1;
}

int cg__bw_exp2(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *r = cg__unpack(n, M_RESULT);
    return (gi[0] = cg_mul(go[0], cg_mul_scalar(r, LN2))) ? 0 : -1; /* 2^a ln 2 */
}

/* ---------------------------------------------------------- two inputs */

/* NaN-propagating maximum / minimum (torch.maximum / minimum) */
#define MAXMIN(NAME, CMP)                                                                          \
    CG_EW_KERNEL(NAME##_f32, float, float, x CMP y || x != x ? x : y)                              \
    CG_EW_KERNEL(NAME##_f64, double, double, x CMP y || x != x ? x : y)                            \
    CG_EW_KERNEL(NAME##_i64, int64_t, int64_t, x CMP y ? x : y)                                    \
    CG_EW_KERNEL(NAME##_b, bool, bool, x CMP y ? x : y)
MAXMIN(maximum, >)
MAXMIN(minimum, <)
CG_EW_KERNEL(atan2_f32, float, float, atan2f(x, y))
CG_EW_KERNEL(atan2_f64, double, double, atan2(x, y))
CG_EW_KERNEL(fmod_f32, float, float, fmodf(x, y))
CG_EW_KERNEL(fmod_f64, double, double, fmod(x, y))
CG_EW_KERNEL(fmod_i64, int64_t, int64_t, x % y) /* C's % truncates, as fmod */
/* remainder takes the divisor's sign (Python's %) */
static inline double rem_d(double x, double y) {
    double m = fmod(x, y);
    return m != 0 && (y < 0) != (m < 0) ? m + y : m;
}
static inline float rem_f(float x, float y) {
    float m = fmodf(x, y);
    return m != 0 && (y < 0) != (m < 0) ? m + y : m;
}
static inline int64_t rem_i(int64_t x, int64_t y) {
    int64_t m = x % y;
    return m != 0 && (y < 0) != (m < 0) ? m + y : m;
}
CG_EW_KERNEL(remainder_f32, float, float, rem_f(x, y))
CG_EW_KERNEL(remainder_f64, double, double, rem_d(x, y))
CG_EW_KERNEL(remainder_i64, int64_t, int64_t, rem_i(x, y))

/* How a two-input op treats integers */
typedef enum {
    B_INT_KEPT,     /* int64 and bool kept (maximum) */
    B_TO_FLOAT,     /* integer results compute in float32 (atan2) */
    B_INT_DIVISION, /* int64 kept, an integer zero divisor refused, bool refused (fmod) */
} b_rule;

typedef struct {
    const char *fn, *kname; /* kname: torch's kernel in its "not implemented" error */
    cg_op op, scalar_op;    /* scalar_op: the form with a scalar other (or -1) */
    b_rule rule;
    cg__kernel k[CG_NUM_DTYPES];
} b_info;

static const b_info B_MAXIMUM = {"cg_maximum",  NULL,
                                 CG_OP_MAXIMUM, -1,
                                 B_INT_KEPT,    {maximum_f32, maximum_f64, maximum_i64, maximum_b}};
static const b_info B_MINIMUM = {"cg_minimum",  NULL,
                                 CG_OP_MINIMUM, -1,
                                 B_INT_KEPT,    {minimum_f32, minimum_f64, minimum_i64, minimum_b}};
static const b_info B_ATAN2 = {"cg_atan2", NULL,       CG_OP_ATAN2,
                               -1,         B_TO_FLOAT, {atan2_f32, atan2_f64}};
static const b_info B_FMOD = {"cg_fmod",         "fmod_cpu",     CG_OP_FMOD,
                              CG_OP_FMOD_SCALAR, B_INT_DIVISION, {fmod_f32, fmod_f64, fmod_i64}};
static const b_info B_REMAINDER = {"cg_remainder",  "remainder_cpu",
                                   CG_OP_REMAINDER, CG_OP_REMAINDER_SCALAR,
                                   B_INT_DIVISION,  {remainder_f32, remainder_f64, remainder_i64}};

/* The dtype u computes in for the promoted dtype d, or -1 with its error */
static int b_dtype(const b_info *u, cg_dtype d) {
    if (u->rule == B_TO_FLOAT) return (int)cg__ew_float_dtype(d);
    if (u->rule == B_INT_DIVISION && d == CG_BOOL) {
        cg__error(u->fn, CG_MSG_NOT_IMPLEMENTED, u->kname, "Bool");
        return -1;
    }
    return (int)d;
}

/* out = u(a, b) broadcast, no graph; a and b of any dtypes promoting to d */
static cg_tensor *b_compute(const b_info *u, cg_tensor *a, cg_tensor *b, cg_dtype d) {
    int nd;
    int64_t shape[CG_MAX_DIMS];
    if (cg__broadcast_shape(u->fn, a->ndim, a->shape, b->ndim, b->shape, &nd, shape) < 0)
        return NULL;
    cg_tensor *x = cg__convert(a, d), *y = cg__convert(b, d);
    if (!x || !y) return NULL;
    if (u->rule == B_INT_DIVISION && d == CG_INT64) {
        const cg_tensor *yc = cg__as_contiguous(y);
        if (!yc) return NULL;
        int64_t m = cg__numel(yc->ndim, yc->shape);
        for (int64_t i = 0; i < m; i++)
            if (((const int64_t *)cg__ptr(yc))[i] == 0) {
                cg__error(u->fn, "ZeroDivisionError");
                return NULL;
            }
    }
    cg_tensor *out = cg__tensor_new(d, nd, shape);
    if (out) cg__ew_run(u->k[d], out, x, y, NULL);
    return out;
}

enum { B_SELF, B_OTHER }; /* saved (the scalar forms save nothing) */

static cg_tensor *binary(const b_info *u, cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_tensor *in[2] = {a, b};
    int d = b_dtype(u, cg__result_type(2, in));
    cg_tensor *out = d < 0 ? NULL : b_compute(u, a, b, (cg_dtype)d);
    if (!out) return NULL;
    cg_node *n = cg__record(u->op, out, 2, in);
    if (n && (cg__save(n, B_SELF, a, false) < 0 || cg__save(n, B_OTHER, b, false) < 0)) return NULL;
    return cg__recorded(out);
}

/* a with a C scalar s, which counts as a Python int when integral (cgrad.h):
 * recorded with one edge, as torch's scalar overloads */
static cg_tensor *binary_scalar(const b_info *u, cg_tensor *a, double s) {
    if (!a) return NULL;
    bool integral = isfinite(s) && s == floor(s);
    cg_dtype d = a->dtype;
    if (!cg_dtype_is_floating(d)) d = integral ? CG_INT64 : CG_FLOAT32;
    int dd = b_dtype(u, d);
    cg_tensor *st = dd < 0 ? NULL : cg_scalar(s, dd);
    cg_tensor *out = st ? b_compute(u, a, st, (cg_dtype)dd) : NULL;
    if (out) cg__record(u->scalar_op, out, 1, &a);
    return cg__recorded(out);
}

cg_tensor *cg_maximum(cg_tensor *a, cg_tensor *b) { return binary(&B_MAXIMUM, a, b); }
cg_tensor *cg_minimum(cg_tensor *a, cg_tensor *b) { return binary(&B_MINIMUM, a, b); }
cg_tensor *cg_atan2(cg_tensor *a, cg_tensor *b) { return binary(&B_ATAN2, a, b); }
cg_tensor *cg_fmod(cg_tensor *a, cg_tensor *b) { return binary(&B_FMOD, a, b); }
cg_tensor *cg_remainder(cg_tensor *a, cg_tensor *b) { return binary(&B_REMAINDER, a, b); }
cg_tensor *cg_fmod_scalar(cg_tensor *a, double s) { return binary_scalar(&B_FMOD, a, s); }
cg_tensor *cg_remainder_scalar(cg_tensor *a, double s) { return binary_scalar(&B_REMAINDER, a, s); }

/* v where cond is false, 0 where it is true (v's dtype) */
static cg_tensor *zero_where(cg_tensor *cond, cg_tensor *v) {
    return v ? cg_where(cond, cg_scalar(0, (int)v->dtype), v) : NULL;
}

/* maximum (is_max) or minimum: the winner takes the gradient, a tie splits it
 * in halves, as torch; a NaN in either gives it to both */
static int bw_extreme(cg_node *n, cg_tensor **go, cg_tensor **gi, bool is_max) {
    cg_tensor *a = cg__unpack(n, B_SELF), *b = cg__unpack(n, B_OTHER);
    if (!a || !b) return -1;
    cg_tensor *g = go[0];
    cg_tensor *shared = cg_where(cg_eq(a, b), cg_mul_scalar(g, 0.5), g);
    cg_tensor *a_loses = is_max ? cg_lt(a, b) : cg_gt(a, b);
    cg_tensor *b_loses = is_max ? cg_gt(a, b) : cg_lt(a, b);
    if (CG_WANT(n, 0) && !(gi[0] = zero_where(a_loses, shared))) return -1;
    if (CG_WANT(n, 1) && !(gi[1] = zero_where(b_loses, shared))) return -1;
    return 0;
}

int cg__bw_maximum(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return bw_extreme(n, go, gi, true);
}
int cg__bw_minimum(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return bw_extreme(n, go, gi, false);
}

int cg__bw_atan2(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, B_SELF), *b = cg__unpack(n, B_OTHER);
    if (!a || !b) return -1;
    /* d atan2(a, b) = (b da - a db) / (a^2 + b^2) */
    cg_tensor *r = cg_div(go[0], cg_add(cg_mul(a, a), cg_mul(b, b)));
    if (CG_WANT(n, 0) && !(gi[0] = cg_mul(r, b))) return -1;
    if (CG_WANT(n, 1) && !(gi[1] = cg_mul(r, cg_neg(a)))) return -1;
    return 0;
}

/* trunc(q) (floor_division false) or floor(q): constant pieces, zero gradient */
static cg_tensor *rounded_quotient(cg_tensor *a, cg_tensor *b, bool floor_division) {
    cg_tensor *q = cg_div(a, b);
    if (floor_division) return cg_floor(q);
    return q ? cg_where(cg_lt_scalar(q, 0), cg_ceil(q), cg_floor(q)) : NULL;
}

/* fmod, remainder: a - q b, q = trunc(a / b) or floor(a / b); d/da 1, d/db -q */
static int bw_division(cg_node *n, cg_tensor **go, cg_tensor **gi, bool floor_division) {
    if (CG_WANT(n, 0)) gi[0] = go[0];
    if (!CG_WANT(n, 1)) return 0;
    cg_tensor *a = cg__unpack(n, B_SELF), *b = cg__unpack(n, B_OTHER);
    if (!a || !b) return -1;
    gi[1] = cg_mul(cg_neg(go[0]), rounded_quotient(a, b, floor_division));
    return gi[1] ? 0 : -1;
}

int cg__bw_fmod(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return bw_division(n, go, gi, false);
}
int cg__bw_remainder(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return bw_division(n, go, gi, true);
}
/* the scalar forms: d/da 1 */
int cg__bw_identity1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    gi[0] = go[0];
    return 0;
}

/* ----------------------------------------------------------------- lerp */

/* start + w (end - start) for |w| < 0.5, else end - (end - start)(1 - w), as
 * torch (exact at both ends) */
static inline double lerp_d(double s, double e, double w) {
    return fabs(w) < 0.5 ? s + w * (e - s) : e - (e - s) * (1 - w);
}
static inline float lerp_f(float s, float e, float w) {
    return fabsf(w) < 0.5f ? s + w * (e - s) : e - (e - s) * (1 - w);
}
CG_EW_KERNEL(lerp_f32, float, float, lerp_f(o[i * so], x, y))
CG_EW_KERNEL(lerp_f64, double, double, lerp_d(o[i * so], x, y))

#define LERP_DTYPE "expected dtype %s for `%s` but got dtype %s"

/* torch's names of dtypes in lerp's message */
static const char *c_type_name(cg_dtype d) {
    static const char *const names[CG_NUM_DTYPES] = {"float", "double", "long int", "bool"};
    return names[d];
}

/* lerp's checks: one dtype for all, floating; 0 or -1 with torch's error */
static int lerp_check(cg_tensor *start, cg_tensor *end, cg_tensor *weight, const char *kname) {
    cg_tensor *others[2] = {end, weight};
    for (int i = 0; i < 2; i++)
        if (others[i] && others[i]->dtype != start->dtype) {
            cg__error("cg_lerp", LERP_DTYPE, c_type_name(start->dtype), i ? "weight" : "end",
                      c_type_name(others[i]->dtype));
            return -1;
        }
    if (!cg_dtype_is_floating(start->dtype)) {
        cg__error("cg_lerp", CG_MSG_NOT_IMPLEMENTED, kname, cg__scalar_type_name(start->dtype));
        return -1;
    }
    return 0;
}

/* out = start broadcast to the shape of start, end (and weight), then lerped
 * in place with end and the weight (w: a tensor, or the scalar s) */
static cg_tensor *lerp_compute(cg_tensor *start, cg_tensor *end, cg_tensor *w, double s) {
    int nd;
    int64_t shape[CG_MAX_DIMS], sh2[CG_MAX_DIMS];
    if (cg__broadcast_shape("cg_lerp", start->ndim, start->shape, end->ndim, end->shape, &nd,
                            shape) < 0)
        return NULL;
    if (w && cg__broadcast_shape("cg_lerp", nd, shape, w->ndim, w->shape, &nd, sh2) < 0)
        return NULL;
    if (w) memcpy(shape, sh2, sizeof shape);
    cg_dtype d = start->dtype;
    cg_tensor *out = cg__tensor_new(d, nd, shape);
    cg_tensor *wt = w ? w : cg_scalar(s, (int)d);
    if (!out || !wt) return NULL;
    cg__copy_into(out, cg_expand(cg_detach(start), nd, shape));
    /* lerp_* reads the start from o: out = lerp(out, end, w) */
    cg_tensor *e = cg_contiguous(cg_expand(cg_detach(end), nd, shape));
    if (!e) return NULL;
    cg__ew_run(d == CG_FLOAT32 ? lerp_f32 : lerp_f64, out, e, wt, NULL);
    return out;
}

enum { LERP_WEIGHT };                        /* n->sc (LerpBackward0) */
enum { LERP_SELF, LERP_END, LERP_WEIGHT_T }; /* saved (LerpBackward1) */

cg_tensor *cg_lerp(cg_tensor *start, cg_tensor *end, double weight) {
    if (!start || !end || lerp_check(start, end, NULL, "lerp_kernel_scalar") < 0) return NULL;
    cg_tensor *out = lerp_compute(start, end, NULL, weight);
    cg_tensor *in[2] = {start, end};
    cg_node *n = out ? cg__record(CG_OP_LERP, out, 2, in) : NULL;
    if (n) n->sc[LERP_WEIGHT] = weight;
    return cg__recorded(out);
}

cg_tensor *cg_lerp_tensor(cg_tensor *start, cg_tensor *end, cg_tensor *weight) {
    if (!start || !end || !weight) return NULL;
    if (lerp_check(start, end, weight, "lerp_kernel_tensor") < 0) return NULL;
    cg_tensor *out = lerp_compute(start, end, weight, 0);
    cg_tensor *in[3] = {start, end, weight};
    cg_node *n = out ? cg__record(CG_OP_LERP_TENSOR, out, 3, in) : NULL;
    /* each saved only for the gradients that read it, as PyTorch */
    bool ends = n && CG_WANT(n, 2), w = n && (CG_WANT(n, 0) || CG_WANT(n, 1));
    if ((ends &&
         (cg__save(n, LERP_SELF, start, false) < 0 || cg__save(n, LERP_END, end, false) < 0)) ||
        (w && cg__save(n, LERP_WEIGHT_T, weight, false) < 0))
        return NULL;
    return cg__recorded(out);
}

int cg__bw_lerp(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    double w = n->sc[LERP_WEIGHT];
    if (CG_WANT(n, 0) && !(gi[0] = cg_mul_scalar(go[0], 1 - w))) return -1;
    if (CG_WANT(n, 1) && !(gi[1] = cg_mul_scalar(go[0], w))) return -1;
    return 0;
}

int cg__bw_lerp_tensor(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *s = NULL, *e = NULL, *w = NULL, *g = go[0];
    if (CG_WANT(n, 2) && (!(s = cg__unpack(n, LERP_SELF)) || !(e = cg__unpack(n, LERP_END))))
        return -1;
    if ((CG_WANT(n, 0) || CG_WANT(n, 1)) && !(w = cg__unpack(n, LERP_WEIGHT_T))) return -1;
    if (CG_WANT(n, 0) && !(gi[0] = cg_mul(g, cg_rsub_scalar(w, 1)))) return -1;
    if (CG_WANT(n, 1) && !(gi[1] = cg_mul(g, w))) return -1;
    if (CG_WANT(n, 2) && !(gi[2] = cg_mul(g, cg_sub(e, s)))) return -1;
    return 0;
}

/* ------------------------------------------------------- addcmul, addcdiv */

#define ADDCDIV_INT                                                                                \
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "      \
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "   \
    "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "         \
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "      \
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "    \
    "for all dtypes."

enum { ADDC_T1, ADDC_T2 }; /* saved */
enum { ADDC_VALUE };       /* n->sc */

/* a + value * t1 * t2 (is_div false) or a + value * t1 / t2, computed in the
 * promoted dtype by composing ops without a graph, as torch's kernel orders it */
static cg_tensor *addc_compute(const char *fn, cg_tensor *const *in, double value, bool is_div) {
    cg_dtype d = cg__result_type(3, in);
    if (is_div && !cg_dtype_is_floating(in[1]->dtype) && !cg_dtype_is_floating(in[2]->dtype)) {
        cg__error(fn, ADDCDIV_INT);
        return NULL;
    }
    int nd = in[0]->ndim; /* the shapes broadcast in torch's order: a, t1, t2 */
    int64_t shape[CG_MAX_DIMS];
    memcpy(shape, in[0]->shape, sizeof(int64_t) * (size_t)nd);
    for (int i = 1; i < 3; i++)
        if (cg__broadcast_shape(fn, nd, shape, in[i]->ndim, in[i]->shape, &nd, shape) < 0)
            return NULL;
    if (d == CG_BOOL) {
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED, "addcmul_cpu_out", "Bool");
        return NULL;
    }
    if (d == CG_INT64) value = trunc(value); /* the scalar cast to the integer type */
    cg_tensor *out = NULL;
    CG_NO_GRAD {
        cg_tensor *t1 = cg_mul_scalar(cg__convert(in[1], d), value), *t2 = cg__convert(in[2], d);
        cg_tensor *prod = is_div ? cg_div(t1, t2) : cg_mul(t1, t2);
        out = cg_add(cg__convert(in[0], d), prod);
    }
    return out;
}

static cg_tensor *addc(cg_op op, cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value) {
    if (!a || !t1 || !t2) return NULL;
    cg_tensor *in[3] = {a, t1, t2};
    bool is_div = op == CG_OP_ADDCDIV;
    cg_tensor *out = addc_compute(is_div ? "cg_addcdiv" : "cg_addcmul", in, value, is_div);
    cg_node *n = out ? cg__record(op, out, 3, in) : NULL;
    if (n) {
        n->sc[ADDC_VALUE] = value;
        if (cg__save(n, ADDC_T1, t1, false) < 0 || cg__save(n, ADDC_T2, t2, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_addcmul(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value) {
    return addc(CG_OP_ADDCMUL, a, t1, t2, value);
}
cg_tensor *cg_addcdiv(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value) {
    return addc(CG_OP_ADDCDIV, a, t1, t2, value);
}

/* d/da 1; d/dt1 value t2; d/dt2 value t1 */
int cg__bw_addcmul(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *t1 = cg__unpack(n, ADDC_T1), *t2 = cg__unpack(n, ADDC_T2), *g = go[0];
    double v = n->sc[ADDC_VALUE];
    if (!t1 || !t2) return -1;
    if (CG_WANT(n, 0)) gi[0] = g;
    if (CG_WANT(n, 1) && !(gi[1] = cg_mul_scalar(cg_mul(g, t2), v))) return -1;
    if (CG_WANT(n, 2) && !(gi[2] = cg_mul_scalar(cg_mul(g, t1), v))) return -1;
    return 0;
}

/* d/da 1; d/dt1 value / t2; d/dt2 -value t1 / t2^2 */
int cg__bw_addcdiv(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *t1 = cg__unpack(n, ADDC_T1), *t2 = cg__unpack(n, ADDC_T2), *g = go[0];
    double v = n->sc[ADDC_VALUE];
    if (!t1 || !t2) return -1;
    cg_tensor *gv = cg_mul_scalar(g, v);
    if (CG_WANT(n, 0)) gi[0] = g;
    if (CG_WANT(n, 1) && !(gi[1] = cg_div(gv, t2))) return -1;
    if (CG_WANT(n, 2) && !(gi[2] = cg_neg(cg_div(cg_mul(gv, t1), cg_mul(t2, t2))))) return -1;
    return 0;
}
