/* Elementwise binary ops — add, sub, mul, div, pow, where and the
 * comparisons — each forward beside its backward. Broadcasting and type
 * promotion follow PyTorch; gradients come back at the broadcast shape and
 * the engine sums them to each input's shape (engine.c, shape_grad). */
#include "ops.h"

#include <math.h>

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_WHERE, NBIN } binop;

/* o = EXPR(x, y) with fast paths for contiguous rows and a scalar y */
#define KERNEL(NAME, T, OT, EXPR)                                                          \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa,          \
                     const void *b_, int64_t sb) {                                         \
        OT *o = o_;                                                                        \
        const T *a = a_, *b = b_;                                                          \
        if (so == 1 && sa == 1 && sb == 1) {                                               \
            for (int64_t i = 0; i < n; i++) {                                              \
                T x = a[i], y = b[i];                                                      \
                o[i] = (OT)(EXPR);                                                         \
            }                                                                              \
        } else if (so == 1 && sa == 1 && sb == 0) {                                        \
            T y = b[0];                                                                    \
            for (int64_t i = 0; i < n; i++) {                                              \
                T x = a[i];                                                                \
                o[i] = (OT)(EXPR);                                                         \
            }                                                                              \
        } else {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                              \
                T x = a[i * sa], y = b[i * sb];                                            \
                o[i * so] = (OT)(EXPR);                                                    \
            }                                                                              \
        }                                                                                  \
    }

static int64_t ipow(int64_t x, int64_t e) {
    if (e < 0) /* only 1 and -1 have integer reciprocals; the rest truncate to 0 */
        return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0;
    int64_t r = 1;
    for (; e > 0; e >>= 1, x *= x)
        if (e & 1) r *= x;
    return r;
}

#define ARITH(T, SFX, POWF)                                                                \
    KERNEL(add_##SFX, T, T, x + y)                                                         \
    KERNEL(sub_##SFX, T, T, x - y)                                                         \
    KERNEL(mul_##SFX, T, T, x *y)                                                          \
    KERNEL(div_##SFX, T, T, x / y)                                                         \
    KERNEL(pow_##SFX, T, T, POWF(x, y))
#define COMPARE(T, SFX)                                                                    \
    KERNEL(eq_##SFX, T, bool, x == y)                                                      \
    KERNEL(ne_##SFX, T, bool, x != y)                                                      \
    KERNEL(lt_##SFX, T, bool, x < y)                                                       \
    KERNEL(le_##SFX, T, bool, x <= y)                                                      \
    KERNEL(gt_##SFX, T, bool, x > y)                                                       \
    KERNEL(ge_##SFX, T, bool, x >= y)
ARITH(float, f32, powf)
ARITH(double, f64, pow)
ARITH(int64_t, i64, ipow)
KERNEL(add_b, bool, bool, x || y)
KERNEL(mul_b, bool, bool, x &&y)
COMPARE(float, f32)
COMPARE(double, f64)
COMPARE(int64_t, i64)
COMPARE(bool, b)
/* where: o already holds y; a is the condition, b is x */
#define WHERE_K(T, SFX)                                                                    \
    static void where_##SFX(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa,   \
                            const void *b_, int64_t sb) {                                  \
        T *o = o_;                                                                         \
        const bool *c = a_;                                                                \
        const T *x = b_;                                                                   \
        for (int64_t i = 0; i < n; i++)                                                    \
            if (c[i * sa]) o[i * so] = x[i * sb];                                          \
    }
WHERE_K(float, f32)
WHERE_K(double, f64)
WHERE_K(int64_t, i64)
WHERE_K(bool, b)

#define ROW(op) {[CG_FLOAT32] = op##_f32, [CG_FLOAT64] = op##_f64, [CG_INT64] = op##_i64}
#define ROWB(op) {op##_f32, op##_f64, op##_i64, op##_b}
static const cg__kernel kernels[NBIN][CG_NUM_DTYPES] = {
    [B_ADD] = {add_f32, add_f64, add_i64, add_b}, [B_SUB] = ROW(sub),
    [B_MUL] = {mul_f32, mul_f64, mul_i64, mul_b}, [B_DIV] = ROW(div), [B_POW] = ROW(pow),
    [B_EQ] = ROWB(eq), [B_NE] = ROWB(ne), [B_LT] = ROWB(lt), [B_LE] = ROWB(le),
    [B_GT] = ROWB(gt), [B_GE] = ROWB(ge), [B_WHERE] = ROWB(where),
};

/* An operand: a tensor, or a scalar when t is NULL. */
typedef struct {
    cg_tensor *t;
    double s;
} arg;

typedef union {
    float f;
    double d;
    int64_t i;
    bool b;
} scalar_box;

static void box(scalar_box *b, double v, cg_dtype d) {
    switch (d) {
    case CG_FLOAT32: b->f = (float)v; break;
    case CG_FLOAT64: b->d = v; break;
    case CG_INT64: b->i = (int64_t)v; break;
    case CG_BOOL: b->b = v != 0; break;
    }
}

static void operand_of(cg__operand *op, cg_tensor *t, int nd, const int64_t *shape,
                       scalar_box *sbox) {
    if (t) {
        op->p = cg__ptr(t);
        op->esize = cg__esize(t->dtype);
        cg__broadcast_strides(t, nd, shape, op->st);
    } else {
        op->p = (char *)sbox;
        op->esize = 0;
        memset(op->st, 0, sizeof op->st);
    }
}

/* t (or a scalar, t NULL) can be read in out's element order with stride 1 */
static bool dense_like(const cg_tensor *out, const cg_tensor *t) {
    if (!t) return true;
    if (t->ndim != out->ndim || !cg__is_contiguous(t) || !cg__is_contiguous(out)) return false;
    return t->ndim == 0 || !memcmp(t->shape, out->shape, sizeof(int64_t) * (size_t)t->ndim);
}

/* out[...] = kernel(x, y) over the broadcast shape, computing in ct. out is
 * allocated (dtype out_dt) unless given (then written in place). */
static cg_tensor *run(const char *fn, binop op, arg x, arg y, cg_dtype ct, cg_dtype out_dt,
                      cg_tensor *out) {
    int nd = 0;
    int64_t shape[CG_MAX_DIMS];
    if (out) { /* in place: the inputs broadcast to out's shape */
        nd = out->ndim;
        memcpy(shape, out->shape, sizeof shape);
    } else if (x.t && y.t) {
        if (cg__broadcast_shape(fn, x.t->ndim, x.t->shape, y.t->ndim, y.t->shape, &nd, shape) < 0)
            return NULL;
    } else {
        cg_tensor *t = x.t ? x.t : y.t;
        nd = t->ndim;
        memcpy(shape, t->shape, sizeof shape);
    }
    cg_dtype in_dt = op == B_WHERE ? CG_BOOL : ct; /* where: x is the condition */
    if (x.t && !(x.t = cg__convert(x.t, in_dt))) return NULL;
    if (y.t && !(y.t = cg__convert(y.t, ct))) return NULL;
    if (!out && !(out = cg__tensor_new(out_dt, nd, shape))) return NULL;
    scalar_box bx, by;
    box(&bx, x.s, in_dt);
    box(&by, y.s, ct);
    if (dense_like(out, x.t) && dense_like(out, y.t)) { /* no broadcast, no strides */
        size_t ex = cg__esize(in_dt), ey = cg__esize(ct);
        cg__dense(kernels[op][ct], cg__numel(nd, shape), cg__ptr(out), cg__esize(out->dtype),
                  x.t ? cg__ptr(x.t) : (void *)&bx, ex, x.t ? 1 : 0,
                  y.t ? cg__ptr(y.t) : (void *)&by, ey, y.t ? 1 : 0);
        return out;
    }
    cg__operand o, a, b;
    operand_of(&o, out, nd, shape, NULL);
    operand_of(&a, x.t, nd, shape, &bx);
    operand_of(&b, y.t, nd, shape, &by);
    cg__loop(kernels[op][ct], nd, shape, &o, &a, &b);
    return out;
}

/* ------------------------------------------------------------ type rules */

#define category cg__category

static cg_dtype result_type(cg_tensor *a, cg_tensor *b) {
    cg_tensor *t[2] = {a, b};
    return cg__result_type(2, t);
}

/* A C double counts as an integer scalar when it has no fractional part. */
static cg_dtype result_type_scalar(const cg_tensor *a, double s) {
    if (category(a->dtype) == 2) return a->dtype;
    if (s != floor(s) || !isfinite(s)) return CG_FLOAT32;
    return CG_INT64;
}

/* ------------------------------------------------------------ arithmetic */

static int check_sub(const char *fn, cg_dtype a, cg_dtype b) {
    if (a == CG_BOOL && b == CG_BOOL) {
        cg__error(fn, "Subtraction, the `-` operator, with two bool tensors is not supported. "
                      "Use the `^` or `logical_xor()` operator instead.");
        return -1;
    }
    if (a == CG_BOOL || b == CG_BOOL) {
        cg__error(fn, "Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                      "are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
        return -1;
    }
    return 0;
}

/* Records the node for out = op(inputs) and saves what backward needs. */
static cg_tensor *finish(cg_op op, cg_tensor *out, int n, cg_tensor *a, cg_tensor *b,
                         double s, cg_tensor *save0, cg_tensor *save1, bool save_out) {
    cg_tensor *in[2] = {a, b};
    cg_node *node = cg__record(op, out, n, in);
    if (node) {
        /* PyTorch saves the wrapped scalar of * and /: a second backward fails */
        if (n == 2 && !b && (op == CG_OP_MUL || op == CG_OP_DIV)) node->n_saved = 1;
        node->sc[0] = s;
        if (cg__save(node, 0, save0, false) < 0 || cg__save(node, 1, save1, false) < 0 ||
            (save_out && cg__save(node, 2, out, true) < 0))
            return NULL;
    }
    return out;
}

static bool needs(const cg_tensor *t) { return t && cg__grad_enabled && cg__requires_grad(t); }

cg_tensor *cg_add(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_dtype ct = result_type(a, b);
    cg_tensor *out = run("cg_add", B_ADD, (arg){a, 0}, (arg){b, 0}, ct, ct, NULL);
    return out ? finish(CG_OP_ADD, out, 2, a, b, 0, NULL, NULL, false) : NULL;
}

cg_tensor *cg_sub(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    if (check_sub("cg_sub", a->dtype, b->dtype) < 0) return NULL;
    cg_dtype ct = result_type(a, b);
    cg_tensor *out = run("cg_sub", B_SUB, (arg){a, 0}, (arg){b, 0}, ct, ct, NULL);
    return out ? finish(CG_OP_SUB, out, 2, a, b, 0, NULL, NULL, false) : NULL;
}

cg_tensor *cg_mul(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_dtype ct = result_type(a, b);
    cg_tensor *out = run("cg_mul", B_MUL, (arg){a, 0}, (arg){b, 0}, ct, ct, NULL);
    /* saved: b for a's gradient, a for b's */
    return out ? finish(CG_OP_MUL, out, 2, a, b, 0, needs(a) ? b : NULL, needs(b) ? a : NULL, false)
               : NULL;
}

cg_tensor *cg_div(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_dtype ct = result_type(a, b);
    if (category(ct) < 2) ct = CG_FLOAT32; /* true division */
    cg_tensor *out = run("cg_div", B_DIV, (arg){a, 0}, (arg){b, 0}, ct, ct, NULL);
    return out ? finish(CG_OP_DIV, out, 2, a, b, 0, b, needs(b) ? a : NULL, false) : NULL;
}

static int check_int_pow(const char *fn, cg_dtype base, double e) {
    if (category(base) < 2 && e < 0 && e == floor(e)) {
        cg__error(fn, "Integers to negative integer powers are not allowed.");
        return -1;
    }
    return 0;
}

cg_tensor *cg_pow(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_dtype ct = result_type(a, b);
    if (ct == CG_BOOL) {
        cg__error("cg_pow", "\"pow\" not implemented for 'Bool'");
        return NULL;
    }
    cg_tensor *out = run("cg_pow", B_POW, (arg){a, 0}, (arg){b, 0}, ct, ct, NULL);
    return out ? finish(CG_OP_POW_TENSOR, out, 2, a, b, 0, a, b, needs(b)) : NULL;
}

/* Scalar forms: one tensor input, the scalar kept in node->sc[0]. */
static cg_tensor *scalar_op(const char *fn, binop op, cg_op node_op, cg_tensor *a, double s,
                            bool scalar_first, bool save_a, bool save_out) {
    if (!a) return NULL;
    cg_dtype ct = result_type_scalar(a, s);
    if (op == B_DIV && category(ct) < 2) ct = CG_FLOAT32;
    if (op == B_SUB && check_sub(fn, a->dtype, CG_INT64) < 0) return NULL;
    if (op == B_POW && ct == CG_BOOL) ct = CG_INT64;
    arg x = {a, 0}, y = {NULL, s};
    cg_tensor *out = scalar_first ? run(fn, op, y, x, ct, ct, NULL) : run(fn, op, x, y, ct, ct, NULL);
    /* PyTorch wraps the scalar of +, -, *, / as a tensor: a second, empty edge */
    int n_in = node_op == CG_OP_ADD || node_op == CG_OP_SUB || node_op == CG_OP_MUL ||
                       node_op == CG_OP_DIV ? 2 : 1;
    return out ? finish(node_op, out, n_in, a, NULL, s, save_a ? a : NULL, NULL, save_out) : NULL;
}

cg_tensor *cg_add_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_add_scalar", B_ADD, CG_OP_ADD, a, s, false, false, false);
}
cg_tensor *cg_sub_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_sub_scalar", B_SUB, CG_OP_SUB, a, s, false, false, false);
}
cg_tensor *cg_rsub_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_rsub_scalar", B_SUB, CG_OP_RSUB, a, s, true, false, false);
}
cg_tensor *cg_mul_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_mul_scalar", B_MUL, CG_OP_MUL, a, s, false, false, false);
}
cg_tensor *cg_div_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_div_scalar", B_DIV, CG_OP_DIV, a, s, false, false, false);
}
cg_tensor *cg_pow_scalar(cg_tensor *a, double e) {
    if (a && check_int_pow("cg_pow_scalar", a->dtype, e) < 0) return NULL;
    return scalar_op("cg_pow_scalar", B_POW, CG_OP_POW, a, e, false, true, false);
}

/* s / a = reciprocal(a) * s, as PyTorch records it */
cg_tensor *cg_rdiv_scalar(cg_tensor *a, double s) { return cg_mul_scalar(cg_reciprocal(a), s); }

/* s ** a: the base becomes a 0-d tensor, as PyTorch records it (PowBackward1) */
cg_tensor *cg_rpow_scalar(cg_tensor *a, double s) {
    if (!a) return NULL;
    cg_dtype d = category(a->dtype) == 2 ? a->dtype : (s == floor(s) ? CG_INT64 : CG_FLOAT32);
    return cg_pow(cg_scalar(s, d), a);
}

cg_tensor *cg_where(cg_tensor *cond, cg_tensor *x, cg_tensor *y) {
    if (!cond || !x || !y) return NULL;
    if (cond->dtype != CG_BOOL) {
        cg__error("cg_where", "where expected condition to be a boolean tensor, but got a tensor "
                              "with dtype %s", cg__scalar_type_name(cond->dtype));
        return NULL;
    }
    int nd, nd2; /* as PyTorch: the condition with x, then with y */
    int64_t s1[CG_MAX_DIMS], shape[CG_MAX_DIMS];
    if (cg__broadcast_shape("cg_where", cond->ndim, cond->shape, x->ndim, x->shape, &nd, s1) < 0 ||
        cg__broadcast_shape("cg_where", nd, s1, y->ndim, y->shape, &nd2, shape) < 0)
        return NULL;
    cg_dtype ct = result_type(x, y);
    cg_tensor *out = cg__tensor_new(ct, nd2, shape), *yc = cg__convert(y, ct);
    if (!out || !yc) return NULL;
    /* out = y (broadcast), then out = x where cond */
    int64_t st[CG_MAX_DIMS];
    cg__broadcast_strides(yc, nd2, shape, st);
    cg_tensor *yb = cg__tensor_view(yc, nd2, shape, st, yc->offset);
    if (!yb) return NULL;
    cg__copy_into(out, yb);
    if (!run("cg_where", B_WHERE, (arg){cond, 0}, (arg){x, 0}, ct, ct, out)) return NULL;
    cg_tensor *in[2] = {x, y};
    cg_node *n = cg__record(CG_OP_WHERE, out, 2, in);
    if (n && cg__save(n, 0, cond, false) < 0) return NULL;
    return out;
}

/* ----------------------------------------------------------- comparisons */

static cg_tensor *compare(const char *fn, binop op, cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_dtype ct = result_type(a, b);
    return run(fn, op, (arg){a, 0}, (arg){b, 0}, ct, CG_BOOL, NULL);
}

static cg_tensor *compare_scalar(const char *fn, binop op, cg_tensor *a, double s) {
    if (!a) return NULL;
    cg_dtype ct = category(a->dtype) == 2 ? a->dtype : (s == floor(s) ? CG_INT64 : CG_FLOAT64);
    if (a->dtype == CG_BOOL && (s == 0 || s == 1)) ct = CG_BOOL;
    return run(fn, op, (arg){a, 0}, (arg){NULL, s}, ct, CG_BOOL, NULL);
}

#define CMP_API(name, OP)                                                                  \
    cg_tensor *cg_##name(cg_tensor *a, cg_tensor *b) { return compare("cg_" #name, OP, a, b); } \
    cg_tensor *cg_##name##_scalar(cg_tensor *a, double s) {                                \
        return compare_scalar("cg_" #name "_scalar", OP, a, s);                           \
    }
CMP_API(eq, B_EQ)
CMP_API(ne, B_NE)
CMP_API(lt, B_LT)
CMP_API(le, B_LE)
CMP_API(gt, B_GT)
CMP_API(ge, B_GE)

int cg__binary_into(const char *fn, char op, cg_tensor *out, cg_tensor *y, double s) {
    binop b = op == '+' ? B_ADD : op == '-' ? B_SUB : op == '*' ? B_MUL : B_DIV;
    cg_dtype ct = y ? result_type(out, y) : result_type_scalar(out, s);
    if (b == B_DIV && category(ct) < 2) ct = CG_FLOAT32;
    if (b == B_SUB && check_sub(fn, out->dtype, y ? y->dtype : CG_INT64) < 0) return -1;
    if (category(ct) > category(out->dtype)) { /* PyTorch never narrows a category in place */
        cg__error(fn, "result type %s can't be cast to the desired output type %s",
                  cg__scalar_type_name(ct), cg__scalar_type_name(out->dtype));
        return -1;
    }
    if (y) {
        int nd;
        int64_t shape[CG_MAX_DIMS];
        if (cg__broadcast_shape(fn, out->ndim, out->shape, y->ndim, y->shape, &nd, shape) < 0)
            return -1;
        if (nd != out->ndim || memcmp(shape, out->shape, sizeof(int64_t) * (size_t)nd)) {
            char o[256], bs[256];
            cg__shape_str(o, sizeof o, out->ndim, out->shape);
            cg__shape_str(bs, sizeof bs, nd, shape);
            cg__error(fn, "output with shape %s doesn't match the broadcast shape %s", o, bs);
            return -1;
        }
    }
    arg x = {out, 0}, yy = {y, s};
    if (ct == out->dtype) {
        if (!run(fn, b, x, yy, ct, ct, out)) return -1;
    } else { /* computed wider, then narrowed into out */
        cg_tensor *r = run(fn, b, x, yy, ct, ct, NULL);
        if (!r) return -1;
        cg__copy_into(out, r);
    }
    cg__bump_version(out);
    return 0;
}

int cg__add_into(cg_tensor *dst, cg_tensor *src) { return cg__binary_into("cg_backward", '+', dst, src, 0); }

/* ------------------------------------------------------------- backward */

#define WANT(i) (n->next[i].fn != NULL)
/* the scalar form of a binary op: the second input was a C scalar */
#define SCALAR_FORM(n) ((n)->in_meta[1].ndim < 0)

int cg__bw_add(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    gi[0] = go[0];
    if (WANT(1)) gi[1] = go[0];
    return 0;
}

int cg__bw_sub(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    gi[0] = go[0];
    if (WANT(1) && !(gi[1] = cg_neg(go[0]))) return -1;
    return 0;
}

int cg__bw_rsub(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    return (gi[0] = cg_neg(go[0])) ? 0 : -1;
}

int cg__bw_mul(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    if (SCALAR_FORM(n))
        return cg__saved_alive(n) && (gi[0] = cg_mul_scalar(go[0], n->sc[0])) ? 0 : -1;
    if (WANT(0) && !(gi[0] = cg_mul(go[0], cg__unpack(n, 0)))) return -1;
    if (WANT(1) && !(gi[1] = cg_mul(go[0], cg__unpack(n, 1)))) return -1;
    return 0;
}

int cg__bw_div(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    if (SCALAR_FORM(n))
        return cg__saved_alive(n) && (gi[0] = cg_div_scalar(go[0], n->sc[0])) ? 0 : -1;
    cg_tensor *b = cg__unpack(n, 0);
    if (!b) return -1;
    if (WANT(0) && !(gi[0] = cg_div(go[0], b))) return -1;
    /* d(a/b)/db = -a / b^2 */
    if (WANT(1) && !(gi[1] = cg_div(cg_neg(cg_mul(go[0], cg__unpack(n, 1))), cg_mul(b, b))))
        return -1;
    return 0;
}

int cg__bw_pow_scalar(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    double e = n->sc[0];
    cg_tensor *a = cg__unpack(n, 0);
    if (!a) return -1;
    if (e == 0) return (gi[0] = cg_zeros_like(a, 0)) ? 0 : -1;
    /* d(a^e)/da = e * a^(e-1) */
    gi[0] = cg_mul(go[0], cg_mul_scalar(cg_pow_scalar(a, e - 1), e));
    return gi[0] ? 0 : -1;
}

int cg__bw_pow_tensor(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, 0), *b = cg__unpack(n, 1);
    if (!a || !b) return -1;
    cg_tensor *zero = cg_scalar(0, go[0]->dtype);
    /* d/da = b * a^(b-1), taken as 0 where b == 0 */
    if (WANT(0) && !(gi[0] = cg_where(cg_eq_scalar(b, 0), zero,
                                      cg_mul(go[0], cg_mul(b, cg_pow(a, cg_sub_scalar(b, 1)))))))
        return -1;
    /* d/db = a^b * log(a), taken as 0 where a == 0 and b >= 0 */
    if (WANT(1)) {
        cg_tensor *r = cg__unpack(n, 2);
        cg_tensor *mask = cg_mul(cg_eq_scalar(a, 0), cg_ge_scalar(b, 0));
        if (!(gi[1] = cg_where(mask, zero, cg_mul(go[0], cg_mul(r, cg_log(a)))))) return -1;
    }
    return 0;
}

int cg__bw_where(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *c = cg__unpack(n, 0);
    if (!c) return -1;
    cg_tensor *zero = cg_scalar(0, go[0]->dtype);
    if (WANT(0) && !(gi[0] = cg_where(c, go[0], zero))) return -1;
    if (WANT(1) && !(gi[1] = cg_where(c, zero, go[0]))) return -1;
    return 0;
}

bool cg_equal(const cg_tensor *a, const cg_tensor *b) {
    if (!a || !b) return false;
    if (a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim))
        return false;
    int64_t n = cg__numel(a->ndim, a->shape);
    for (int64_t i = 0; i < n; i++)
        if (cg__read_linear(a, i) != cg__read_linear(b, i)) return false;
    return true;
}

/* ------------------------------- tensor op C++ scalar (one edge, as ATen) */

/* tensor * C++ scalar: MulBackward1 (one edge), computed as cg_mul_scalar */
cg_tensor *cg__mul_scalar1(cg_tensor *a, double s) {
    if (!a) return NULL;
    cg_tensor *out = NULL;
    CG_NO_GRAD { out = cg_mul_scalar(a, s); }
    cg_node *n = out ? cg__record(CG_OP_MUL_SCALAR1, out, 1, &a) : NULL;
    if (n) n->sc[0] = s;
    return out;
}

int cg__bw_mul_scalar1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg_mul_scalar(go[0], n->sc[0])) ? 0 : -1;
}

/* tensor + C++ scalar: AddBackward1 (one edge) */
cg_tensor *cg__add_scalar1(cg_tensor *a, double s) {
    if (!a) return NULL;
    cg_tensor *out = NULL;
    CG_NO_GRAD { out = cg_add_scalar(a, s); }
    if (out) cg__record(CG_OP_ADD_SCALAR1, out, 1, &a);
    return out;
}

int cg__bw_add_scalar1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    gi[0] = go[0];
    return 0;
}

/* tensor / C++ scalar: DivBackward1 (one edge) */
cg_tensor *cg__div_scalar1(cg_tensor *a, double s) {
    if (!a) return NULL;
    cg_tensor *out = NULL;
    CG_NO_GRAD { out = cg_div_scalar(a, s); }
    cg_node *n = out ? cg__record(CG_OP_DIV_SCALAR1, out, 1, &a) : NULL;
    if (n) n->sc[0] = s;
    return out;
}

int cg__bw_div_scalar1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg_div_scalar(go[0], n->sc[0])) ? 0 : -1;
}
