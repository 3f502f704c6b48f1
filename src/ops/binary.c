/* Elementwise binary ops — add, sub, mul, div, pow, where and the
 * comparisons — each forward beside its backward. Broadcasting and type
 * promotion follow PyTorch; gradients come back at the broadcast shape and
 * the engine sums them to each input's shape (engine.c, shape_grad). */
#include "ops.h"

#include <math.h>

typedef enum {
    B_ADD,
    B_SUB,
    B_MUL,
    B_DIV,
    B_POW,
    B_EQ,
    B_NE,
    B_LT,
    B_LE,
    B_GT,
    B_GE,
    B_WHERE,
    NBIN
} binop;

/* o = EXPR(x, y) with fast paths for contiguous rows and a scalar y */
#define KERNEL(NAME, T, OT, EXPR)                                                                  \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa, const void *b_,  \
                     int64_t sb) {                                                                 \
        OT *o = o_;                                                                                \
        const T *a = a_, *b = b_;                                                                  \
        if (so == 1 && sa == 1 && sb == 1) {                                                       \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i], y = b[i];                                                              \
                o[i] = (OT)(EXPR);                                                                 \
            }                                                                                      \
        } else if (so == 1 && sa == 1 && sb == 0) {                                                \
            T y = b[0];                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i];                                                                        \
                o[i] = (OT)(EXPR);                                                                 \
            }                                                                                      \
        } else {                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i * sa], y = b[i * sb];                                                    \
                o[i * so] = (OT)(EXPR);                                                            \
            }                                                                                      \
        }                                                                                          \
    }

static int64_t ipow(int64_t x, int64_t e) {
    if (e < 0) /* only 1 and -1 have integer reciprocals; the rest truncate to 0 */
        return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)x; /* wraps around as torch's */
    for (; e > 0; e >>= 1, b *= b)
        if (e & 1) r *= b;
    return (int64_t)r;
}

/* pow as PyTorch's kernel: the exponents 0.5 and -0.5 go through sqrt, so
 * pow(-0.0, -0.5) is -inf as there (C's pow gives +inf) */
static float powf_t(float x, float y) {
    return y == 0.5f ? sqrtf(x) : y == -0.5f ? 1.0f / sqrtf(x) : powf(x, y);
}
static double pow_t(double x, double y) {
    return y == 0.5 ? sqrt(x) : y == -0.5 ? 1.0 / sqrt(x) : pow(x, y);
}

#define ARITH(T, SFX, POWF)                                                                        \
    KERNEL(add_##SFX, T, T, x + y)                                                                 \
    KERNEL(sub_##SFX, T, T, x - y)                                                                 \
    KERNEL(mul_##SFX, T, T, x *y)                                                                  \
    KERNEL(div_##SFX, T, T, x / y)                                                                 \
    KERNEL(pow_##SFX, T, T, POWF(x, y))
#define COMPARE(T, SFX)                                                                            \
    KERNEL(eq_##SFX, T, bool, x == y)                                                              \
    KERNEL(ne_##SFX, T, bool, x != y)                                                              \
    KERNEL(lt_##SFX, T, bool, x < y)                                                               \
    KERNEL(le_##SFX, T, bool, x <= y)                                                              \
    KERNEL(gt_##SFX, T, bool, x > y)                                                               \
    KERNEL(ge_##SFX, T, bool, x >= y)
ARITH(float, f32, powf_t)
ARITH(double, f64, pow_t)
/* int64 + - * wrap around as torch's (two's complement), where C's signed
 * overflow is undefined */
#define WRAP(x, op, y) (int64_t)((uint64_t)(x)op(uint64_t)(y))
KERNEL(add_i64, int64_t, int64_t, WRAP(x, +, y))
KERNEL(sub_i64, int64_t, int64_t, WRAP(x, -, y))
KERNEL(mul_i64, int64_t, int64_t, WRAP(x, *, y))
KERNEL(div_i64, int64_t, int64_t, x / y)
KERNEL(pow_i64, int64_t, int64_t, ipow(x, y))
KERNEL(add_b, bool, bool, x || y)
KERNEL(mul_b, bool, bool, x &&y)
COMPARE(float, f32)
COMPARE(double, f64)
COMPARE(int64_t, i64)
COMPARE(bool, b)
/* where: o already holds y; a is the condition, b is x */
#define WHERE_K(T, SFX)                                                                            \
    static void where_##SFX(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa,           \
                            const void *b_, int64_t sb) {                                          \
        T *o = o_;                                                                                 \
        const bool *c = a_;                                                                        \
        const T *x = b_;                                                                           \
        for (int64_t i = 0; i < n; i++)                                                            \
            if (c[i * sa]) o[i * so] = x[i * sb];                                                  \
    }
WHERE_K(float, f32)
WHERE_K(double, f64)
WHERE_K(int64_t, i64)
WHERE_K(bool, b)

#define ROW(op)                                                                                    \
    { [CG_FLOAT32] = op##_f32, [CG_FLOAT64] = op##_f64, [CG_INT64] = op##_i64 }
#define ROWB(op)                                                                                   \
    { op##_f32, op##_f64, op##_i64, op##_b }
static const cg__kernel kernels[NBIN][CG_NUM_DTYPES] = {
    [B_ADD] = {add_f32, add_f64, add_i64, add_b},
    [B_SUB] = ROW(sub),
    [B_MUL] = {mul_f32, mul_f64, mul_i64, mul_b},
    [B_DIV] = ROW(div),
    [B_POW] = ROW(pow),
    [B_EQ] = ROWB(eq),
    [B_NE] = ROWB(ne),
    [B_LT] = ROWB(lt),
    [B_LE] = ROWB(le),
    [B_GT] = ROWB(gt),
    [B_GE] = ROWB(ge),
    [B_WHERE] = ROWB(where),
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
    return cg__is_contiguous(t) && cg__is_contiguous(out) &&
           cg__same_shape(t->ndim, t->shape, out->ndim, out->shape);
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

/* Saved state (ops.h), with PyTorch's names. MulBackward0 and DivBackward0
 * keep b (other) for a's gradient and a (self) for b's; the scalar forms
 * keep the scalar instead. */
enum { MUL_OTHER, MUL_SELF };
enum { DIV_OTHER, DIV_SELF };
enum { POW_SELF };                              /* PowBackward0 */
enum { POW1_SELF, POW1_EXPONENT, POW1_RESULT }; /* PowBackward1 */
enum { WHERE_CONDITION };
enum { BIN_SCALAR }; /* n->sc of a scalar form: the scalar (pow's exponent) */

static int check_sub(const char *fn, cg_dtype a, cg_dtype b) {
    if (a == CG_BOOL && b == CG_BOOL) {
        cg__error(fn, "Subtraction, the `-` operator, with two bool tensors is not supported. "
                      "Use the `^` or `logical_xor()` operator instead.");
        return -1;
    }
    if (a == CG_BOOL || b == CG_BOOL) {
        cg__error(fn, CG_MSG_SUB_BOOL);
        return -1;
    }
    return 0;
}

/* The node for out = op(a, b); NULL when none is recorded. */
static cg_node *record2(cg_op op, cg_tensor *out, cg_tensor *a, cg_tensor *b) {
    cg_tensor *in[2] = {a, b};
    return cg__record(op, out, 2, in);
}

/* a op b for two tensors, in PyTorch's promotion (true division for /) */
static cg_tensor *tensor_op(const char *fn, binop op, cg_tensor *a, cg_tensor *b) {
    cg_dtype ct = result_type(a, b);
    if (op == B_DIV && category(ct) < 2) ct = CG_FLOAT32;
    return run(fn, op, (arg){a, 0}, (arg){b, 0}, ct, ct, NULL);
}

cg_tensor *cg_add(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_tensor *out = tensor_op("cg_add", B_ADD, a, b);
    if (out) record2(CG_OP_ADD, out, a, b);
    return cg__recorded(out);
}

cg_tensor *cg_sub(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    if (check_sub("cg_sub", a->dtype, b->dtype) < 0) return NULL;
    cg_tensor *out = tensor_op("cg_sub", B_SUB, a, b);
    if (out) record2(CG_OP_SUB, out, a, b);
    return cg__recorded(out);
}

cg_tensor *cg_mul(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_tensor *out = tensor_op("cg_mul", B_MUL, a, b);
    return out && cg__record_product(CG_OP_MUL, out, a, b, MUL_OTHER, MUL_SELF) == 0 ? out : NULL;
}

cg_tensor *cg_div(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    cg_tensor *out = tensor_op("cg_div", B_DIV, a, b);
    cg_node *n = out ? record2(CG_OP_DIV, out, a, b) : NULL;
    if (n && (cg__save(n, DIV_OTHER, b, false) < 0 ||
              cg__save(n, DIV_SELF, CG_WANT(n, 1) ? a : NULL, false) < 0))
        return NULL;
    return cg__recorded(out);
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
    if (result_type(a, b) == CG_BOOL) {
        cg__error("cg_pow", CG_MSG_NOT_IMPLEMENTED, "pow", cg__scalar_type_name(CG_BOOL));
        return NULL;
    }
    cg_tensor *out = tensor_op("cg_pow", B_POW, a, b);
    cg_node *n = out ? record2(CG_OP_POW_TENSOR, out, a, b) : NULL;
    if (n && (cg__save(n, POW1_SELF, a, false) < 0 || cg__save(n, POW1_EXPONENT, b, false) < 0 ||
              (CG_WANT(n, 1) && cg__save(n, POW1_RESULT, out, true) < 0)))
        return NULL;
    return cg__recorded(out);
}

/* How scalar_op computes and records a scalar form */
typedef enum {
    SCALAR_SECOND = 0,     /* a op s */
    SCALAR_FIRST = 1 << 0, /* s op a (rsub) */
    SAVE_SELF = 1 << 1,    /* a saved in slot POW_SELF (pow) */
} scalar_flags;

/* a op s for a Python scalar s, in PyTorch's type rules for one */
static cg_tensor *scalar_compute(const char *fn, binop op, cg_tensor *a, double s, bool first) {
    cg_dtype ct = result_type_scalar(a, s);
    if (ct == CG_INT64 && !(s >= -0x1p63 && s < 0x1p63)) { /* a Python int beyond int64 */
        cg__error(fn, "Overflow when unpacking long");
        return NULL;
    }
    if (op == B_DIV && category(ct) < 2) ct = CG_FLOAT32;
    if (op == B_SUB && check_sub(fn, a->dtype, CG_INT64) < 0) return NULL;
    if (op == B_POW && ct == CG_BOOL) ct = CG_INT64;
    arg x = {a, 0}, y = {NULL, s};
    return first ? run(fn, op, y, x, ct, ct, NULL) : run(fn, op, x, y, ct, ct, NULL);
}

/* Scalar forms: one tensor input, the scalar kept in n->sc[BIN_SCALAR]. */
static cg_tensor *scalar_op(const char *fn, binop op, cg_op node_op, cg_tensor *a, double s,
                            scalar_flags flags) {
    if (!a) return NULL;
    cg_tensor *out = scalar_compute(fn, op, a, s, flags & SCALAR_FIRST);
    if (!out) return NULL;
    /* PyTorch wraps the scalar of +, -, *, / as a tensor: a second, empty edge */
    bool wrapped = node_op == CG_OP_ADD || node_op == CG_OP_SUB || node_op == CG_OP_MUL ||
                   node_op == CG_OP_DIV;
    cg_tensor *in[2] = {a, NULL};
    cg_node *n = cg__record(node_op, out, wrapped ? 2 : 1, in);
    if (!n) return cg__recorded(out);
    /* PyTorch saves the wrapped scalar of * and /: a second backward fails */
    if (node_op == CG_OP_MUL || node_op == CG_OP_DIV) n->n_saved = 1;
    n->sc[BIN_SCALAR] = s;
    if ((flags & SAVE_SELF) && cg__save(n, POW_SELF, a, false) < 0) return NULL;
    return out;
}

cg_tensor *cg_add_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_add_scalar", B_ADD, CG_OP_ADD, a, s, SCALAR_SECOND);
}
cg_tensor *cg_sub_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_sub_scalar", B_SUB, CG_OP_SUB, a, s, SCALAR_SECOND);
}
cg_tensor *cg_rsub_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_rsub_scalar", B_SUB, CG_OP_RSUB, a, s, SCALAR_FIRST);
}
cg_tensor *cg_mul_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_mul_scalar", B_MUL, CG_OP_MUL, a, s, SCALAR_SECOND);
}
cg_tensor *cg_div_scalar(cg_tensor *a, double s) {
    return scalar_op("cg_div_scalar", B_DIV, CG_OP_DIV, a, s, SCALAR_SECOND);
}
cg_tensor *cg_pow_scalar(cg_tensor *a, double e) {
    if (a && check_int_pow("cg_pow_scalar", a->dtype, e) < 0) return NULL;
    return scalar_op("cg_pow_scalar", B_POW, CG_OP_POW, a, e, SCALAR_SECOND | SAVE_SELF);
}

/* s / a = reciprocal(a) * s, as PyTorch records it */
cg_tensor *cg_rdiv_scalar(cg_tensor *a, double s) { return cg_mul_scalar(cg_reciprocal(a), s); }

/* s ** a: the base becomes a 0-d tensor, as PyTorch records it (PowBackward1) */
cg_tensor *cg_rpow_scalar(cg_tensor *a, double s) {
    if (!a) return NULL;
    cg_dtype d = category(a->dtype) == 2 ? a->dtype : (s == floor(s) ? CG_INT64 : CG_FLOAT32);
    return cg_pow(cg_scalar(s, d), a);
}

/* The shape where's three inputs broadcast to, as PyTorch: the condition
 * with x, then with y; -1 with PyTorch's error. */
static int where_shape(cg_tensor *cond, cg_tensor *x, cg_tensor *y, int *nd, int64_t *shape) {
    if (cond->dtype != CG_BOOL) {
        cg__error("cg_where",
                  "where expected condition to be a boolean tensor, but got a tensor "
                  "with dtype %s",
                  cg__scalar_type_name(cond->dtype));
        return -1;
    }
    int n1;
    int64_t s1[CG_MAX_DIMS];
    if (cg__broadcast_shape("cg_where", cond->ndim, cond->shape, x->ndim, x->shape, &n1, s1) < 0 ||
        cg__broadcast_shape("cg_where", n1, s1, y->ndim, y->shape, nd, shape) < 0)
        return -1;
    return 0;
}

cg_tensor *cg_where(cg_tensor *cond, cg_tensor *x, cg_tensor *y) {
    if (!cond || !x || !y) return NULL;
    int nd;
    int64_t shape[CG_MAX_DIMS];
    if (where_shape(cond, x, y, &nd, shape) < 0) return NULL;
    cg_dtype ct = result_type(x, y);
    cg_tensor *out = cg__tensor_new(ct, nd, shape), *yc = cg__convert(y, ct);
    if (!out || !yc) return NULL;
    /* out = y (broadcast), then out = x where cond */
    int64_t st[CG_MAX_DIMS];
    cg__broadcast_strides(yc, nd, shape, st);
    cg_tensor *yb = cg__tensor_view(yc, nd, shape, st, yc->offset);
    if (!yb) return NULL;
    cg__copy_into(out, yb);
    if (!run("cg_where", B_WHERE, (arg){cond, 0}, (arg){x, 0}, ct, ct, out)) return NULL;
    cg_node *n = record2(CG_OP_WHERE, out, x, y);
    if (n && cg__save(n, WHERE_CONDITION, cond, false) < 0) return NULL;
    return cg__recorded(out);
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

#define CMP_API(name, OP)                                                                          \
    cg_tensor *cg_##name(cg_tensor *a, cg_tensor *b) { return compare("cg_" #name, OP, a, b); }    \
    cg_tensor *cg_##name##_scalar(cg_tensor *a, double s) {                                        \
        return compare_scalar("cg_" #name "_scalar", OP, a, s);                                    \
    }
CMP_API(eq, B_EQ)
CMP_API(ne, B_NE)
CMP_API(lt, B_LT)
CMP_API(le, B_LE)
CMP_API(gt, B_GT)
CMP_API(ge, B_GE)

/* -------------------------------------------------------- in place, raw */

/* Can out (in place) hold out op y (or s)? -1 with PyTorch's error. */
static int check_into(const char *fn, binop b, cg_tensor *out, cg_tensor *y, cg_dtype ct) {
    if (b == B_SUB && check_sub(fn, out->dtype, y ? y->dtype : CG_INT64) < 0) return -1;
    if (category(ct) > category(out->dtype)) { /* PyTorch never narrows a category in place */
        cg__error(fn, CG_MSG_RESULT_TYPE_CAST, cg__scalar_type_name(ct),
                  cg__scalar_type_name(out->dtype));
        return -1;
    }
    if (!y) return 0;
    int nd;
    int64_t shape[CG_MAX_DIMS];
    if (cg__broadcast_shape(fn, out->ndim, out->shape, y->ndim, y->shape, &nd, shape) < 0)
        return -1;
    if (!cg__same_shape(nd, shape, out->ndim, out->shape)) {
        cg__shape_error(fn, CG_MSG_OUTPUT_BROADCAST, out->ndim, out->shape, nd, shape);
        return -1;
    }
    return 0;
}

int cg__binary_into(const char *fn, char op, cg_tensor *out, cg_tensor *y, double s) {
    binop b = op == '+' ? B_ADD : op == '-' ? B_SUB : op == '*' ? B_MUL : B_DIV;
    cg_dtype ct = y ? result_type(out, y) : result_type_scalar(out, s);
    if (b == B_DIV && category(ct) < 2) ct = CG_FLOAT32;
    if (check_into(fn, b, out, y, ct) < 0) return -1;
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

int cg__add_into(cg_tensor *dst, cg_tensor *src) {
    return cg__binary_into("cg_backward", '+', dst, src, 0);
}

bool cg_equal(const cg_tensor *a, const cg_tensor *b) {
    if (!a || !b) return false;
    if (!cg__same_shape(a->ndim, a->shape, b->ndim, b->shape)) return false;
    int64_t n = cg__numel(a->ndim, a->shape);
    for (int64_t i = 0; i < n; i++)
        if (cg__read_linear(a, i) != cg__read_linear(b, i)) return false;
    return true;
}

/* ------------------------------------------------------------- backward */

/* the scalar form of a binary op: the second input was a C scalar */
#define SCALAR_FORM(n) ((n)->in_meta[1].ndim < 0)

int cg__bw_add(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    gi[0] = go[0];
    if (CG_WANT(n, 1)) gi[1] = go[0];
    return 0;
}

int cg__bw_sub(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    gi[0] = go[0];
    if (CG_WANT(n, 1) && !(gi[1] = cg_neg(go[0]))) return -1;
    return 0;
}

int cg__bw_rsub(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    return (gi[0] = cg_neg(go[0])) ? 0 : -1;
}

/* a * s, a / s with a Python scalar s: its saved state is freed like a tensor's */
static int bw_mul_scalar(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    double other = n->sc[BIN_SCALAR];
    return cg__saved_alive(n) && (gi[0] = cg_mul_scalar(go[0], other)) ? 0 : -1;
}

static int bw_div_scalar(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    double other = n->sc[BIN_SCALAR];
    return cg__saved_alive(n) && (gi[0] = cg_div_scalar(go[0], other)) ? 0 : -1;
}

int cg__bw_mul(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    if (SCALAR_FORM(n)) return bw_mul_scalar(n, go, gi);
    cg_tensor *other, *self;
    if (cg__unpack_if(n, 0, MUL_OTHER, &other) < 0 || cg__unpack_if(n, 1, MUL_SELF, &self) < 0)
        return -1;
    if (other && !(gi[0] = cg_mul(go[0], other))) return -1;
    if (self && !(gi[1] = cg_mul(go[0], self))) return -1;
    return 0;
}

int cg__bw_div(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    if (SCALAR_FORM(n)) return bw_div_scalar(n, go, gi);
    cg_tensor *other = cg__unpack(n, DIV_OTHER), *self;
    if (!other || cg__unpack_if(n, 1, DIV_SELF, &self) < 0) return -1;
    if (CG_WANT(n, 0) && !(gi[0] = cg_div(go[0], other))) return -1;
    /* d(a/b)/db = -a / b^2 */
    if (self && !(gi[1] = cg_div(cg_neg(cg_mul(go[0], self)), cg_mul(other, other)))) return -1;
    return 0;
}

int cg__bw_pow_scalar(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    double exponent = n->sc[BIN_SCALAR];
    cg_tensor *self = cg__unpack(n, POW_SELF);
    if (!self) return -1;
    if (exponent == 0) return (gi[0] = cg_zeros_like(self, 0)) ? 0 : -1;
    /* d(a^e)/da = e * a^(e-1) */
    gi[0] = cg_mul(go[0], cg_mul_scalar(cg_pow_scalar(self, exponent - 1), exponent));
    return gi[0] ? 0 : -1;
}

int cg__bw_pow_tensor(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *self = cg__unpack(n, POW1_SELF), *exponent = cg__unpack(n, POW1_EXPONENT), *result;
    if (!self || !exponent || cg__unpack_if(n, 1, POW1_RESULT, &result) < 0) return -1;
    cg_tensor *zero = cg_scalar(0, go[0]->dtype);
    /* d/da = b * a^(b-1), taken as 0 where b == 0 */
    if (CG_WANT(n, 0)) {
        cg_tensor *d = cg_mul(exponent, cg_pow(self, cg_sub_scalar(exponent, 1)));
        if (!(gi[0] = cg_where(cg_eq_scalar(exponent, 0), zero, cg_mul(go[0], d)))) return -1;
    }
    /* d/db = a^b * log(a), taken as 0 where a == 0 and b >= 0 */
    if (result) {
        cg_tensor *mask = cg_mul(cg_eq_scalar(self, 0), cg_ge_scalar(exponent, 0));
        if (!(gi[1] = cg_where(mask, zero, cg_mul(go[0], cg_mul(result, cg_log(self)))))) return -1;
    }
    return 0;
}

int cg__bw_where(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *condition = cg__unpack(n, WHERE_CONDITION);
    if (!condition) return -1;
    cg_tensor *zero = cg_scalar(0, go[0]->dtype);
    if (CG_WANT(n, 0) && !(gi[0] = cg_where(condition, go[0], zero))) return -1;
    if (CG_WANT(n, 1) && !(gi[1] = cg_where(condition, zero, go[0]))) return -1;
    return 0;
}

/* ------------------------------- tensor op C++ scalar (one edge, as ATen) */

/* out = f(a, s) without a graph, recorded as op with one edge (a), s saved */
static cg_tensor *scalar1(cg_op op, cg_tensor *(*f)(cg_tensor *, double), cg_tensor *a, double s) {
    if (!a) return NULL;
    cg_tensor *out = NULL;
    CG_NO_GRAD { out = f(a, s); }
    cg_node *n = out ? cg__record(op, out, 1, &a) : NULL;
    if (n) n->sc[BIN_SCALAR] = s;
    return cg__recorded(out);
}

/* tensor * C++ scalar: MulBackward1 */
cg_tensor *cg__mul_scalar1(cg_tensor *a, double s) {
    return scalar1(CG_OP_MUL_SCALAR1, cg_mul_scalar, a, s);
}

/* tensor + C++ scalar: AddBackward1 */
cg_tensor *cg__add_scalar1(cg_tensor *a, double s) {
    return scalar1(CG_OP_ADD_SCALAR1, cg_add_scalar, a, s);
}

/* tensor / C++ scalar: DivBackward1 */
cg_tensor *cg__div_scalar1(cg_tensor *a, double s) {
    return scalar1(CG_OP_DIV_SCALAR1, cg_div_scalar, a, s);
}

int cg__bw_mul_scalar1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    double other = n->sc[BIN_SCALAR];
    return (gi[0] = cg_mul_scalar(go[0], other)) ? 0 : -1;
}

int cg__bw_add_scalar1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    gi[0] = go[0];
    return 0;
}

int cg__bw_div_scalar1(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    double other = n->sc[BIN_SCALAR];
    return (gi[0] = cg_div_scalar(go[0], other)) ? 0 : -1;
}
