/* Test specs for the op table: one SPEC_<ID> per row of src/ops/ops.def.
 *
 * The op tests (tests/test_ops_torch.c, tests/test_gradcheck.c) build their
 * per-row table with the X-macro
 *
 *     #define CG_OP(id, name, bwd, fwd) [CG_OP_##id] = SPEC_##id,
 *     #include "ops/ops.def"
 *
 * so a new row without a SPEC_ here does not compile.
 *
 * A spec is a list of variants. A variant is one way of producing the row's
 * node through the public API:
 *   py     the same computation in PyTorch, an expression in the inputs a, b,
 *          c (and odt: float64 unless a is float64, then float32 -- TO_COPY);
 *   probe  the C side, building it from the input tensors;
 *   dom    one letter per input: the domain its random values are drawn from
 *            R  any real (standard normal)
 *            P  positive, [0.5, 2)                 (log, sqrt, pow base)
 *            N  away from zero, +-[0.5, 2)         (div, reciprocal)
 *            K  away from the kink at 0, |x| >= 0.1 (abs, relu, sign)
 *            D  distinct, pairwise gaps >= 0.3     (max, min)
 *            Q  multiples of 1/256, exact in float32 (TO_COPY's gradcheck)
 *            C  a bool condition (random): always bool, never requires grad
 *            I  an index: int64 in [0, ihi), never requires grad (gather,
 *               embedding, class targets); C and I inputs are "fixed":
 *               their dtype never varies and gradcheck holds them constant
 *   shapes input shapes, "3,4|4" (one per input, '|' between; "()" is 0-d);
 *   s      the scalar argument (an integral value stands for a Python int, as
 *          in cg_add_scalar(x, 2) == x + 2: write "a ** 2", not "a ** 2.0"),
 *          iv/n_iv integer arguments (dims or sizes),
 *          keepdim for the reductions;
 *   gc_eps the gradcheck's finite-difference step when not 1e-6.
 * The row's node name must appear in the autograd graph of every case (for
 * most variants it is the result's grad_fn; a batched matmul, for one, ends in
 * UnsafeViewBackward0 over BmmBackward0, exactly as in PyTorch).
 *
 * cat classifies the row for the forward-only dtype tests: 'B' elementwise
 * with two or more operands (every dtype combination of the inputs that are
 * not conditions: promotion, 0-d operands, errors), 'U' unary elementwise,
 * 'R' reduction and 'V' view or copy (int64 and bool inputs), 'L' linear
 * algebra (int64, and float32 with float64, which torch refuses), 'N' not an
 * op (ACCUMULATE_GRAD). */
#ifndef CG_OP_SPECS_H
#define CG_OP_SPECS_H

#include "cgrad.h"
#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX_IN 3
#define SPEC_MAX_SHAPES 10

typedef struct spec_var spec_var;
typedef cg_tensor *(*spec_probe)(cg_tensor *const *in, const spec_var *v);

struct spec_var {
    const char *py;
    spec_probe probe;
    const char *dom;                     /* strlen(dom) == number of tensor inputs */
    const char *shapes[SPEC_MAX_SHAPES]; /* NULL ends */
    double s;
    int n_iv;
    int64_t iv[CG_MAX_DIMS];
    bool keepdim;
    double gc_eps;
    int64_t ihi; /* domain I: indices in [0, ihi) */
};

typedef struct op_spec {
    const char *id;   /* the row's ID */
    const char *name; /* the row's node name */
    char cat;
    const char *not_an_op; /* why the row has no probe, or NULL */
    const spec_var *var;   /* ends with .py == NULL */
} op_spec;

/* Integer arguments: IV(0, -1) sets iv and n_iv. */
#define IV(...)                                                                                    \
    .iv = {__VA_ARGS__}, .n_iv = (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define SHAPES(...) .shapes = {__VA_ARGS__}
#define VAR(PY, PROBE, DOM, ...)                                                                   \
    { .py = PY, .probe = PROBE, .dom = DOM, __VA_ARGS__ }
#define VARS(...)                                                                                  \
    (const spec_var[]) {                                                                           \
        __VA_ARGS__, { .py = NULL }                                                                \
    }
#define SPEC(ID, NAME, CAT, ...)                                                                   \
    { .id = #ID, .name = NAME, .cat = CAT, .var = VARS(__VA_ARGS__) }

/* ----------------------------------------------------------------- probes */

static inline int spec_dims_(const spec_var *v, int *dims) {
    for (int i = 0; i < v->n_iv; i++) dims[i] = (int)v->iv[i];
    return v->n_iv;
}
static inline cg_dtype spec_other_dtype(cg_dtype dt) {
    return dt == CG_FLOAT64 ? CG_FLOAT32 : CG_FLOAT64;
}

#define PROBE(name) static inline cg_tensor *name(cg_tensor *const *in, const spec_var *v)
#define A in[0]
#define B in[1]
#define C in[2]
PROBE(p_add) {
    (void)v;
    return cg_add(A, B);
}
/* in place on a non-leaf copy, as (a * 1).add_(b) in PyTorch */
#define IP_BINARY(NAME)                                                                            \
    PROBE(p_##NAME##_ip) {                                                                         \
        (void)v;                                                                                   \
        return cg_##NAME##_(cg_mul_scalar(A, 1), B);                                               \
    }                                                                                              \
    PROBE(p_##NAME##_s_ip) { return cg_##NAME##_scalar_(cg_mul_scalar(A, 1), v->s); }
IP_BINARY(add)
IP_BINARY(sub)
IP_BINARY(mul)
IP_BINARY(div)
#define IP_UNARY(NAME)                                                                             \
    PROBE(p_##NAME##_ip) {                                                                         \
        (void)v;                                                                                   \
        return cg_##NAME##_(cg_mul_scalar(A, 1));                                                  \
    }
IP_UNARY(relu)
IP_UNARY(sigmoid)
IP_UNARY(tanh)
IP_UNARY(exp)
IP_UNARY(neg)
IP_UNARY(sqrt)
IP_UNARY(abs)
PROBE(p_pow_ip) {
    (void)v;
    return cg_pow_(cg_mul_scalar(A, 1), B);
}
PROBE(p_pow_s_ip) { return cg_pow_scalar_(cg_mul_scalar(A, 1), v->s); }
PROBE(p_zero_ip) {
    (void)v;
    return cg_zero_(cg_mul_scalar(A, 1));
}
PROBE(p_fill_ip) { return cg_fill_(cg_mul_scalar(A, 1), v->s); }
PROBE(p_copy_ip) {
    (void)v;
    return cg_copy_(cg_mul_scalar(A, 1), B);
}
PROBE(p_add_bt) {
    (void)v;
    return cg_add(A, cg_transpose(B, 0, 1));
}
PROBE(p_add_s) { return cg_add_scalar(A, v->s); }
PROBE(p_sub) {
    (void)v;
    return cg_sub(A, B);
}
PROBE(p_sub_s) { return cg_sub_scalar(A, v->s); }
PROBE(p_rsub_s) { return cg_rsub_scalar(A, v->s); }
PROBE(p_mul) {
    (void)v;
    return cg_mul(A, B);
}
PROBE(p_mul_at) {
    (void)v;
    return cg_mul(cg_transpose(A, 0, 1), B);
}
PROBE(p_mul_self) {
    (void)v;
    return cg_mul(A, A);
}
PROBE(p_mul_s) { return cg_mul_scalar(A, v->s); }
PROBE(p_div) {
    (void)v;
    return cg_div(A, B);
}
PROBE(p_div_s) { return cg_div_scalar(A, v->s); }
PROBE(p_rdiv_s) { return cg_rdiv_scalar(A, v->s); }
PROBE(p_pow) {
    (void)v;
    return cg_pow(A, B);
}
PROBE(p_pow_s) { return cg_pow_scalar(A, v->s); }
PROBE(p_rpow_s) { return cg_rpow_scalar(A, v->s); }
PROBE(p_neg) {
    (void)v;
    return cg_neg(A);
}
PROBE(p_exp) {
    (void)v;
    return cg_exp(A);
}
PROBE(p_exp_t) {
    (void)v;
    return cg_exp(cg_transpose(A, 0, 1));
}
PROBE(p_log) {
    (void)v;
    return cg_log(A);
}
PROBE(p_sqrt) {
    (void)v;
    return cg_sqrt(A);
}
PROBE(p_abs) {
    (void)v;
    return cg_abs(A);
}
PROBE(p_sign) {
    (void)v;
    return cg_sign(A);
}
PROBE(p_reciprocal) {
    (void)v;
    return cg_reciprocal(A);
}
PROBE(p_tanh) {
    (void)v;
    return cg_tanh(A);
}
PROBE(p_sigmoid) {
    (void)v;
    return cg_sigmoid(A);
}
PROBE(p_relu) {
    (void)v;
    return cg_relu(A);
}
PROBE(p_sum) {
    (void)v;
    return cg_sum(A);
}
PROBE(p_sum_dims) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_sum_dims(A, n, d, v->keepdim);
}
PROBE(p_mean) {
    (void)v;
    return cg_mean(A);
}
PROBE(p_mean_dims) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_mean_dims(A, n, d, v->keepdim);
}
PROBE(p_max) {
    (void)v;
    return cg_max(A);
}
PROBE(p_min) {
    (void)v;
    return cg_min(A);
}
PROBE(p_mm) {
    (void)v;
    return cg_mm(A, B);
}
PROBE(p_mm_bt) {
    (void)v;
    return cg_mm(A, cg_transpose(B, 0, 1));
}
PROBE(p_matmul) {
    (void)v;
    return cg_matmul(A, B);
}
PROBE(p_view) { return cg_view(A, v->n_iv, v->iv); }
PROBE(p_reshape) { return cg_reshape(A, v->n_iv, v->iv); }
PROBE(p_reshape_t) { return cg_reshape(cg_transpose(A, 0, 1), v->n_iv, v->iv); }
PROBE(p_transpose) { return cg_transpose(A, (int)v->iv[0], (int)v->iv[1]); }
PROBE(p_permute) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_permute(A, n, d);
}
PROBE(p_unsqueeze) { return cg_unsqueeze(A, (int)v->iv[0]); }
PROBE(p_squeeze) {
    (void)v;
    return cg_squeeze(A);
}
PROBE(p_squeeze_dim) { return cg_squeeze_dim(A, (int)v->iv[0]); }
/* The CUSTOM row: (exp(x) * y, x + y) as a cg_function, twin of the oracle's
 * CgExpMul; only output 0 is used, so output 1's gradient arrives as zeros. */
static inline int cgexpmul_fwd(cg_ctx *ctx, int n_in, cg_tensor *const *in, int n_out,
                               cg_tensor **out, void *user) {
    (void)n_in, (void)n_out, (void)user;
    out[0] = cg_mul(cg_exp(in[0]), in[1]);
    out[1] = cg_add(in[0], in[1]);
    cg_tensor *save[2] = {in[0], out[0]};
    return out[0] && out[1] ? cg_ctx_save_for_backward(ctx, 2, save) : -1;
}
static inline int cgexpmul_bwd(cg_ctx *ctx, int n_out, cg_tensor *const *g, int n_in,
                               cg_tensor **gi, void *user) {
    (void)n_out, (void)n_in, (void)user;
    cg_tensor *x = cg_ctx_saved(ctx, 0), *out0 = cg_ctx_saved(ctx, 1);
    gi[0] = cg_add(cg_mul(g[0], out0), g[1]);
    gi[1] = cg_add(cg_mul(g[0], cg_exp(x)), g[1]);
    return gi[0] && gi[1] ? 0 : -1;
}
static const cg_function cgexpmul = {"CgExpMulBackward", cgexpmul_fwd, cgexpmul_bwd};
PROBE(p_custom) {
    (void)v;
    cg_tensor *out[2];
    return cg_function_apply(&cgexpmul, NULL, 2, in, 2, out) == 0 ? out[0] : NULL;
}
PROBE(p_t) {
    (void)v;
    return cg_t(A);
}
PROBE(p_expand) { return cg_expand(A, v->n_iv, v->iv); }
PROBE(p_clone) {
    (void)v;
    return cg_clone(A);
}
PROBE(p_clone_t) {
    (void)v;
    return cg_clone(cg_transpose(A, 0, 1));
}
PROBE(p_to_other) {
    (void)v;
    return cg_to(A, spec_other_dtype(cg_dtype_of(A)));
}
PROBE(p_where) {
    (void)v;
    return cg_where(A, B, C);
}
#undef A
#undef B
#undef C
#undef PROBE

/* ------------------------------------------------------------------ specs */

#define SPEC_ACCUMULATE_GRAD                                                                       \
    {                                                                                              \
        .id = "ACCUMULATE_GRAD", .name = "torch::autograd::AccumulateGrad", .cat = 'N',            \
        .not_an_op = "the engine's leaf node; it ends every graph the op tests "                   \
                     "compare, and the backward tests cover it",                                   \
        .var = VARS({.py = NULL})                                                                  \
    }

/* elementwise, binary */
#define BINARY_SHAPES                                                                              \
    SHAPES("3,4|3,4", "2,3,4|4", "3,1|1,4", "()|2,3", "5|()", "()|()", "2,1,3|4,1")
#define SPEC_ADD                                                                                   \
    SPEC(ADD, "AddBackward0", 'B', VAR("a + b", p_add, "RR", BINARY_SHAPES),                       \
         VAR("a + b", p_add, "RR", SHAPES("0,3|3", "1,1,1|2")),                                    \
         VAR("a + b.transpose(0, 1)", p_add_bt, "RR", SHAPES("3,4|4,3", "1,4|4,3")),               \
         VAR("a + 2.5", p_add_s, "R", SHAPES("3,4", "()", "7"), .s = 2.5),                         \
         VAR("a + 2", p_add_s, "R", SHAPES("3,4", "()"), .s = 2.0),                                \
         VAR("(a * 1).add_(b)", p_add_ip, "RR", SHAPES("3,4|4", "3,4|3,4", "()|()")),              \
         VAR("(a * 1).add_(2.5)", p_add_s_ip, "R", SHAPES("3,4"), .s = 2.5))
#define SPEC_SUB                                                                                   \
    SPEC(SUB, "SubBackward0", 'B', VAR("a - b", p_sub, "RR", BINARY_SHAPES),                       \
         VAR("a - 2.5", p_sub_s, "R", SHAPES("3,4", "()"), .s = 2.5),                              \
         VAR("(a * 1).sub_(b)", p_sub_ip, "RR", SHAPES("3,4|4", "2,3|1,3")),                       \
         VAR("(a * 1).sub_(2.5)", p_sub_s_ip, "R", SHAPES("3,4"), .s = 2.5))
#define SPEC_RSUB                                                                                  \
    SPEC(RSUB, "RsubBackward1", 'B',                                                               \
         VAR("2.5 - a", p_rsub_s, "R", SHAPES("3,4", "()", "2,3,4"), .s = 2.5))
#define SPEC_MUL                                                                                   \
    SPEC(MUL, "MulBackward0", 'B', VAR("a * b", p_mul, "RR", BINARY_SHAPES),                       \
         VAR("a.transpose(0, 1) * b", p_mul_at, "RR", SHAPES("3,4|4,3", "3,4|4,1")),               \
         VAR("a * a", p_mul_self, "R", SHAPES("3,4", "()")),                                       \
         VAR("a * 2.5", p_mul_s, "R", SHAPES("3,4", "()"), .s = 2.5),                              \
         VAR("a * -3", p_mul_s, "R", SHAPES("3,4"), .s = -3.0),                                    \
         VAR("(a * 1).mul_(b)", p_mul_ip, "RR", SHAPES("3,4|4", "3,4|3,4")),                       \
         VAR("(a * 1).mul_(2.5)", p_mul_s_ip, "R", SHAPES("3,4", "()"),                            \
             .s = 2.5), /* dropout in training: torch records input * mask; p = 1 makes it         \
                           deterministic */                                                        \
         VAR("torch.nn.functional.dropout(a, 1.0, True)", p_dropout_p1, "R",                       \
             SHAPES("3,4", "()", "2,3,4")))
#define SPEC_DIV                                                                                   \
    SPEC(DIV, "DivBackward0", 'B', VAR("a / b", p_div, "RN", BINARY_SHAPES),                       \
         VAR("a / 2.5", p_div_s, "R", SHAPES("3,4", "()"), .s = 2.5),                              \
         VAR("a / 2", p_div_s, "R", SHAPES("3,4"), .s = 2.0),                                      \
         VAR("(a * 1).div_(b)", p_div_ip, "RN", SHAPES("3,4|4", "2,3|2,3")),                       \
         VAR("(a * 1).div_(2.5)", p_div_s_ip, "R", SHAPES("3,4"), .s = 2.5))
#define SPEC_POW                                                                                   \
    SPEC(POW, "PowBackward0", 'B',                                                                 \
         VAR("a ** 2", p_pow_s, "R", SHAPES("3,4", "()", "5"), .s = 2.0),                          \
         VAR("a ** 3", p_pow_s, "R", SHAPES("3,4", "()"), .s = 3.0),                               \
         VAR("a ** 2.5", p_pow_s, "P", SHAPES("3,4", "()"), .s = 2.5),                             \
         VAR("a ** -1.5", p_pow_s, "P", SHAPES("3,4", "()"), .s = -1.5),                           \
         VAR("a ** 0.5", p_pow_s, "P", SHAPES("3,4"), .s = 0.5),                                   \
         VAR("a ** 1", p_pow_s, "R", SHAPES("3,4"), .s = 1.0),                                     \
         VAR("a ** 0", p_pow_s, "R", SHAPES("3,4", "()"), .s = 0.0),                               \
         VAR("a ** -2", p_pow_s, "N", SHAPES("3,4"), .s = -2.0),                                   \
         VAR("(a * 1).pow_(2)", p_pow_s_ip, "R", SHAPES("3,4", "()"), .s = 2.0))
#define SPEC_WHERE                                                                                 \
    SPEC(WHERE, "WhereBackward0", 'B',                                                             \
         VAR("torch.where(a, b, c)", p_where, "CRR",                                               \
             SHAPES("3,4|3,4|3,4", "3,1|1,4|()", "()|2,3|3", "4|()|()", "()|()|()",                \
                    "2,1,3|3|2,1,1", "3,1|()|3,4", "()|()|2,3", "2,3|()|3")))
#define SPEC_POW_TENSOR                                                                            \
    SPEC(POW_TENSOR, "PowBackward1", 'B', VAR("a ** b", p_pow, "PR", BINARY_SHAPES),               \
         VAR("2.5 ** a", p_rpow_s, "R", SHAPES("3,4", "()"), .s = 2.5),                            \
         VAR("2 ** a", p_rpow_s, "R", SHAPES("3,4"), .s = 2.0),                                    \
         VAR("(a * 1).pow_(b)", p_pow_ip, "PR", SHAPES("3,4|4", "()|()")))

/* elementwise, unary */
#define UNARY_SHAPES SHAPES("3,4", "()", "2,3,4", "1")
#define UNARY(ID, NAME, PY, PROBE, DOM) SPEC(ID, NAME, 'U', VAR(PY, PROBE, DOM, UNARY_SHAPES))
/* a unary row with its in-place variant (a * 1).NAME_() */
#define UNARY_IP(ID, NAME, PY, PROBE, DOM, PYIP, PROBEIP)                                          \
    SPEC(ID, NAME, 'U', VAR(PY, PROBE, DOM, UNARY_SHAPES),                                         \
         VAR(PYIP, PROBEIP, DOM, SHAPES("3,4", "()", "2,3,4")))
#define SPEC_NEG UNARY_IP(NEG, "NegBackward0", "-a", p_neg, "R", "(a * 1).neg_()", p_neg_ip)
#define SPEC_EXP                                                                                   \
    SPEC(EXP, "ExpBackward0", 'U', VAR("a.exp()", p_exp, "R", UNARY_SHAPES),                       \
         VAR("a.transpose(0, 1).exp()", p_exp_t, "R", SHAPES("3,4", "1,5")),                       \
         VAR("(a * 1).exp_()", p_exp_ip, "R", SHAPES("3,4", "()")))
#define SPEC_LOG UNARY(LOG, "LogBackward0", "a.log()", p_log, "P")
#define SPEC_SQRT                                                                                  \
    UNARY_IP(SQRT, "SqrtBackward0", "a.sqrt()", p_sqrt, "P", "(a * 1).sqrt_()", p_sqrt_ip)
#define SPEC_ABS UNARY_IP(ABS, "AbsBackward0", "a.abs()", p_abs, "K", "(a * 1).abs_()", p_abs_ip)
#define SPEC_SIGN UNARY(SIGN, "SignBackward0", "a.sign()", p_sign, "K")
#define SPEC_RECIPROCAL                                                                            \
    SPEC(RECIPROCAL, "ReciprocalBackward0", 'U',                                                   \
         VAR("a.reciprocal()", p_reciprocal, "N", UNARY_SHAPES),                                   \
         VAR("2.5 / a", p_rdiv_s, "N", SHAPES("3,4", "()"), .s = 2.5))
#define SPEC_TANH                                                                                  \
    UNARY_IP(TANH, "TanhBackward0", "a.tanh()", p_tanh, "R", "(a * 1).tanh_()", p_tanh_ip)
#define SPEC_SIGMOID                                                                               \
    UNARY_IP(SIGMOID, "SigmoidBackward0", "a.sigmoid()", p_sigmoid, "R", "(a * 1).sigmoid_()",     \
             p_sigmoid_ip)
#define SPEC_RELU                                                                                  \
    UNARY_IP(RELU, "ReluBackward0", "a.relu()", p_relu, "K", "(a * 1).relu_()", p_relu_ip)

/* reductions */
#define SPEC_SUM                                                                                   \
    SPEC(SUM, "SumBackward0", 'R',                                                                 \
         VAR("a.sum()", p_sum, "R", SHAPES("3,4", "()", "7", "2,3,4", "0,3")))
#define DIMS_VARIANTS(OP, PROBE)                                                                   \
    VAR("a." OP "(dim=(0,))", PROBE, "R", SHAPES("3,4", "2,3,4", "5", "()"), IV(0)),               \
        VAR("a." OP "(dim=(-1, 0), keepdim=True)", PROBE, "R", SHAPES("3,4", "2,3,4"), IV(-1, 0),  \
            .keepdim = true),                                                                      \
        VAR("a." OP "(dim=(1,))", PROBE, "R", SHAPES("2,3,4", "3,4"), IV(1)),                      \
        VAR("a." OP "(dim=(2, 0))", PROBE, "R", SHAPES("2,3,4"), IV(2, 0)),                        \
        VAR("a." OP "(dim=(1,), keepdim=True)", PROBE, "R", SHAPES("2,3,4"), IV(1),                \
            .keepdim = true),                                                                      \
        VAR("a." OP "(dim=())", PROBE, "R", SHAPES("3,4"))
#define SPEC_SUM_DIMS SPEC(SUM_DIMS, "SumBackward1", 'R', DIMS_VARIANTS("sum", p_sum_dims))
#define SPEC_MEAN                                                                                  \
    SPEC(MEAN, "MeanBackward0", 'R',                                                               \
         VAR("a.mean()", p_mean, "R", SHAPES("3,4", "()", "7", "2,3,4")))
#define SPEC_MEAN_DIMS SPEC(MEAN_DIMS, "MeanBackward1", 'R', DIMS_VARIANTS("mean", p_mean_dims))
#define SPEC_MAX                                                                                   \
    SPEC(MAX, "MaxBackward1", 'R', VAR("a.max()", p_max, "D", SHAPES("3,4", "()", "7", "2,3,2")))
#define SPEC_MIN                                                                                   \
    SPEC(MIN, "MinBackward1", 'R', VAR("a.min()", p_min, "D", SHAPES("3,4", "()", "7", "2,3,2")))

/* linear algebra */
#define SPEC_MM                                                                                    \
    SPEC(MM, "MmBackward0", 'L',                                                                   \
         VAR("torch.mm(a, b)", p_mm, "RR", SHAPES("3,4|4,5", "1,4|4,1", "2,1|1,3", "3,0|0,2")),    \
         VAR("torch.mm(a, b.transpose(0, 1))", p_mm_bt, "RR", SHAPES("3,4|5,4")),                  \
         VAR("torch.matmul(a, b)", p_matmul, "RR",                                                 \
             SHAPES("3,4|4,5", "1,1|1,1", "4|4,5", "2,3,4|4,5")))
#define SPEC_MV                                                                                    \
    SPEC(MV, "MvBackward0", 'L',                                                                   \
         VAR("torch.matmul(a, b)", p_matmul, "RR", SHAPES("3,4|4", "1,4|4", "3,1|1", "2,3,4|4")))
#define SPEC_DOT                                                                                   \
    SPEC(DOT, "DotBackward0", 'L', VAR("torch.matmul(a, b)", p_matmul, "RR", SHAPES("4|4", "1|1")))
#define SPEC_BMM                                                                                   \
    SPEC(BMM, "BmmBackward0", 'L',                                                                 \
         VAR("torch.matmul(a, b)", p_matmul, "RR",                                                 \
             SHAPES("2,3,4|2,4,5", "1,2,3,4|1,2,4,5", "2,1,3,4|3,4,2")))

/* views and copies */
#define SPEC_VIEW                                                                                  \
    SPEC(VIEW, "ViewBackward0", 'V', VAR("a.view(12)", p_view, "R", SHAPES("3,4"), IV(12)),        \
         VAR("a.view(6, -1)", p_view, "R", SHAPES("2,3,4"), IV(6, -1)),                            \
         VAR("a.view(3, 4)", p_view, "R", SHAPES("12", "3,4"), IV(3, 4)),                          \
         VAR("a.view(1)", p_view, "R", SHAPES("()"), IV(1)),                                       \
         VAR("a.view(())", p_view, "R", SHAPES("1,1")))
#define SPEC_RESHAPE_ALIAS                                                                         \
    SPEC(RESHAPE_ALIAS, "ReshapeAliasBackward0", 'V',                                              \
         VAR("a.reshape(12)", p_reshape, "R", SHAPES("3,4", "2,6"), IV(12)),                       \
         VAR("a.reshape(2, -1, 2)", p_reshape, "R", SHAPES("3,4"), IV(2, -1, 2)),                  \
         VAR("a.reshape(3, 4)", p_reshape, "R", SHAPES("3,4"), IV(3, 4)),                          \
         VAR("a.reshape(())", p_reshape, "R", SHAPES("1")))
#define SPEC_UNSAFE_VIEW                                                                           \
    SPEC(UNSAFE_VIEW, "UnsafeViewBackward0", 'V',                                                  \
         VAR("a.transpose(0, 1).reshape(12)", p_reshape_t, "R", SHAPES("3,4"), IV(12)),            \
         VAR("a.transpose(0, 1).reshape(2, -1)", p_reshape_t, "R", SHAPES("3,4", "2,3,2"),         \
             IV(2, -1)),                                                                           \
         VAR("torch.matmul(a, b)", p_matmul, "RR", SHAPES("2,3,4|4,5", "4|2,4,5", "3,4|2,4,5")))
#define SPEC_TRANSPOSE                                                                             \
    SPEC(TRANSPOSE, "TransposeBackward0", 'V',                                                     \
         VAR("a.transpose(0, 1)", p_transpose, "R", SHAPES("3,4", "2,3,4"), IV(0, 1)),             \
         VAR("a.transpose(-1, 0)", p_transpose, "R", SHAPES("2,3,4"), IV(-1, 0)),                  \
         VAR("a.transpose(0, 0)", p_transpose, "R", SHAPES("5"), IV(0, 0)),                        \
         VAR("a.transpose(0, -1)", p_transpose, "R", SHAPES("()"), IV(0, -1)))
#define SPEC_PERMUTE                                                                               \
    SPEC(PERMUTE, "PermuteBackward0", 'V',                                                         \
         VAR("a.permute(1, 0)", p_permute, "R", SHAPES("3,4"), IV(1, 0)),                          \
         VAR("a.permute(2, 0, 1)", p_permute, "R", SHAPES("2,3,4"), IV(2, 0, 1)),                  \
         VAR("a.permute(-1, 0, 1)", p_permute, "R", SHAPES("2,3,4"), IV(-1, 0, 1)),                \
         VAR("a.permute(0)", p_permute, "R", SHAPES("5"), IV(0)))
#define SPEC_UNSQUEEZE                                                                             \
    SPEC(UNSQUEEZE, "UnsqueezeBackward0", 'V',                                                     \
         VAR("a.unsqueeze(0)", p_unsqueeze, "R", SHAPES("3,4", "()"), IV(0)),                      \
         VAR("a.unsqueeze(-1)", p_unsqueeze, "R", SHAPES("3,4", "()"), IV(-1)),                    \
         VAR("a.unsqueeze(1)", p_unsqueeze, "R", SHAPES("5", "2,3,4"), IV(1)))
#define SPEC_SQUEEZE                                                                               \
    SPEC(SQUEEZE, "SqueezeBackward0", 'V',                                                         \
         VAR("a.squeeze()", p_squeeze, "R", SHAPES("1,3,1,4", "1", "()", "3,4", "1,1")))
#define SPEC_SQUEEZE_DIM                                                                           \
    SPEC(SQUEEZE_DIM, "SqueezeBackward1", 'V',                                                     \
         VAR("a.squeeze(0)", p_squeeze_dim, "R", SHAPES("1,3", "3,4", "()", "1"), IV(0)),          \
         VAR("a.squeeze(-1)", p_squeeze_dim, "R", SHAPES("3,1", "2,1,1"), IV(-1)))
#define SPEC_CUSTOM                                                                                \
    SPEC(CUSTOM, "CgExpMulBackward", 'N',                                                          \
         VAR("CgExpMul.apply(a, b)[0]", p_custom, "RR", SHAPES("3,4|3,4", "2,3|3", "()|4")))
#define SPEC_T                                                                                     \
    SPEC(T, "TBackward0", 'V', VAR("a.t()", p_t, "R", SHAPES("3,4", "5", "()", "1,1")),            \
         VAR("torch.matmul(a, b)", p_matmul, "RR", SHAPES("3,4|2,4,5")))
#define SPEC_SQUEEZE_DIMS                                                                          \
    SPEC(SQUEEZE_DIMS, "SqueezeBackward3", 'V',                                                    \
         VAR("torch.matmul(a, b)", p_matmul, "RR", SHAPES("4|4,3", "1|1,5")))
#define SPEC_EXPAND                                                                                \
    SPEC(EXPAND, "ExpandBackward0", 'V',                                                           \
         VAR("a.expand(3, 4)", p_expand, "R", SHAPES("1,4", "3,4", "4", "()"), IV(3, 4)),          \
         VAR("a.expand(2, 3, 5)", p_expand, "R", SHAPES("3,1", "1,1,5"), IV(2, 3, 5)),             \
         VAR("a.expand(2, -1)", p_expand, "R", SHAPES("4"), IV(2, -1)),                            \
         VAR("a.expand(2, -1, 3)", p_expand, "R", SHAPES("4,1"), IV(2, -1, 3)))
#define SPEC_CLONE                                                                                 \
    SPEC(CLONE, "CloneBackward0", 'V',                                                             \
         VAR("a.clone()", p_clone, "R", SHAPES("3,4", "()", "2,3,4")),                             \
         VAR("a.transpose(0, 1).clone()", p_clone_t, "R", SHAPES("3,4")))
#define SPEC_TO_COPY                                                                               \
    SPEC(TO_COPY, "ToCopyBackward0", 'V',                                                          \
         VAR("a.to(odt)", p_to_other, "Q", SHAPES("3,4", "()", "5"), .gc_eps = 0x1p-10))

/* ---------------------------------------------------- shared test helpers */

/* Parses shapes[k] ("3,4|4", "()" is 0-d) into ndim/shape per input.
 * Returns the number of inputs parsed, -1 on a malformed string. */
static inline int spec_parse_shapes(const char *s, int *ndim, int64_t (*shape)[CG_MAX_DIMS]) {
    int n = 0;
    while (n < SPEC_MAX_IN) {
        ndim[n] = 0;
        if (s[0] == '(' && s[1] == ')') {
            s += 2;
        } else {
            for (;;) {
                char *end;
                long long v = strtoll(s, &end, 10);
                if (end == s || ndim[n] == CG_MAX_DIMS) return -1;
                shape[n][ndim[n]++] = v;
                s = end;
                if (*s != ',') break;
                s++;
            }
        }
        n++;
        if (*s == '\0') return n;
        if (*s != '|') return -1;
        s++;
    }
    return -1;
}

/* Seeds the generator for one case: row (by its ID, so that a row keeps its
 * cases wherever the op table puts it), variant, shape set, dtype, input. */
static inline uint64_t spec_seed(const char *row_id, int var, int shp, int dt, int k) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the ID */
    for (const char *c = row_id; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return 0x9E3779B97F4A7C15ull ^ (h << 40) ^ ((uint64_t)var << 32) ^ ((uint64_t)shp << 24) ^
           ((uint64_t)dt << 16) ^ (uint64_t)k;
}

static inline double spec_round_dtype(double x, cg_dtype dt) {
    switch (dt) {
    case CG_FLOAT32: return (double)(float)x;
    case CG_INT64: return (double)(int64_t)llround(x);
    case CG_BOOL: return x != 0.0 ? 1.0 : 0.0;
    default: return x;
    }
}

/* Fills vals[n] with values of domain `dom` (see the top of this file), drawn
 * with cg_rand/cg_randn after cg_manual_seed(seed), rounded to dtype dt. For
 * the integer dtypes the domains are kept: P gives 1 or 2, N +-1 or +-2, D
 * distinct integers, K nonzero; bool gives all true for P, N, K, D.
 * Returns 0, or -1 when the generator failed. */
static inline int spec_fill(char dom, cg_dtype dt, int64_t n, uint64_t seed, double *vals,
                            int64_t ihi) {
    if (n == 0) return 0;
    int rc = -1;
    cg_scope_begin();
    cg_manual_seed(seed);
    const int64_t sh[1] = {n};
    cg_tensor *u = cg_rand(1, sh, CG_FLOAT64);
    cg_tensor *z = cg_randn(1, sh, CG_FLOAT64);
    cg_tensor *w = cg_rand(1, sh, CG_FLOAT64);
    if (u && z && w) {
        const double *pu = cg_data_ptr(u), *pz = cg_data_ptr(z), *pw = cg_data_ptr(w);
        bool integral = dt == CG_INT64 || dt == CG_BOOL;
        for (int64_t i = 0; i < n; i++) {
            double sgn = pw[i] < 0.5 ? -1.0 : 1.0, x;
            switch (dom) {
            case 'P': x = integral ? 1.0 + (pu[i] >= 0.5) : 0.5 + 1.5 * pu[i]; break;
            case 'N': x = sgn * (integral ? 1.0 + (pu[i] >= 0.5) : 0.5 + 1.5 * pu[i]); break;
            case 'K': x = sgn * (integral ? 1.0 + floor(2 * pu[i]) : 0.1 + fabs(pz[i])); break;
            case 'D': {
                int64_t rank = 0; /* rank of u[i] among u: a random permutation */
                for (int64_t j = 0; j < n; j++) rank += pu[j] < pu[i] || (pu[j] == pu[i] && j < i);
                x = integral ? (double)(rank - n / 2)
                             : 0.5 * ((double)rank - 0.5 * (double)(n - 1)) + 0.2 * pw[i] - 0.1;
                break;
            }
            case 'Q': x = integral ? round(2 * pz[i]) : round(pz[i] * 256.0) / 256.0; break;
            case 'I': x = floor(pu[i] * (double)ihi); break;
            default: x = integral ? round(2 * pz[i]) : pz[i]; break;
            }
            if (dt == CG_BOOL && (dom == 'R' || dom == 'C')) x = pu[i] < 0.5 ? 0.0 : 1.0;
            vals[i] = spec_round_dtype(x, dt);
        }
        rc = 0;
    }
    cg_scope_end();
    return rc;
}

/* A contiguous tensor of dtype dt holding vals (doubles, exact in dt). */
static inline cg_tensor *spec_tensor(const double *vals, cg_dtype dt, int ndim,
                                     const int64_t *shape, int opts) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    size_t es = cg_dtype_size(dt);
    void *buf = malloc((size_t)(n > 0 ? n : 1) * es);
    if (!buf) return NULL;
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case CG_FLOAT32: ((float *)buf)[i] = (float)vals[i]; break;
        case CG_FLOAT64: ((double *)buf)[i] = vals[i]; break;
        case CG_INT64: ((int64_t *)buf)[i] = (int64_t)vals[i]; break;
        case CG_BOOL: ((bool *)buf)[i] = vals[i] != 0.0; break;
        }
    }
    cg_tensor *t = cg_from_data(buf, ndim, shape, (int)dt | opts);
    free(buf);
    return t;
}

/* Reads all elements of t (any layout, any dtype) in row-major order. */
static inline void spec_read(const cg_tensor *t, double *out) {
    int nd = cg_ndim(t);
    const int64_t *sh = cg_shape(t);
    int64_t n = cg_numel(t), idx[CG_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        out[i] = cg_get(t, idx);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < sh[d]) break;
            idx[d] = 0;
        }
    }
}

static inline int spec_n_in(const spec_var *v) { return (int)strlen(v->dom); }

/* Is input k fixed: a condition (C) or an index (I)? */
static inline bool spec_fixed(const spec_var *v, int k) {
    return v->dom[k] == 'C' || v->dom[k] == 'I';
}

/* Input k's dtype in a case of dtype dt: bool for a condition, int64 for an
 * index. */
static inline cg_dtype spec_in_dtype(const spec_var *v, int k, cg_dtype dt) {
    return v->dom[k] == 'C' ? CG_BOOL : v->dom[k] == 'I' ? CG_INT64 : dt;
}

/* the specs of the op families in their own files */
#define PROBE(name) static inline cg_tensor *name(cg_tensor *const *in, const spec_var *v)
#define A in[0]
#define B in[1]
#define C in[2]
#include "op_specs_pointwise.h"
#include "op_specs_index.h"
#include "op_specs_reduce_dim.h"
#include "op_specs_nn.h"
#include "op_specs_attention.h"
#include "op_specs_loss.h"
#include "op_specs_linear_ce.h"
#include "op_specs_inplace.h"
#include "op_specs_math.h"
#include "op_specs_activation.h"
#include "op_specs_extreme.h"
#include "op_specs_scan.h"
#include "op_specs_sort.h"
#include "op_specs_rearrange.h"
#include "op_specs_product.h"
#include "op_specs_scatter.h"
#include "op_specs_advindex.h"
#undef A
#undef B
#undef C
#undef PROBE

#endif
