/* The activation family, each forward beside its backward: hardtanh (int64
 * kept, bool refused), elu, logsigmoid, mish and hardswish (floating only).
 * Each node saves its input. */
#include "ewise.h"

#include <math.h>

/* max(x, lo) then min(., hi); NaN stays NaN */
#define HARDTANH(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))
CG_EW_FLOATING(hardtanh, HARDTANH(x, (float)y.s1, (float)y.s2), HARDTANH(x, y.s1, y.s2))
CG_EW_KERNEL(hardtanh_i64, int64_t, cg__ew_prm, HARDTANH(x, y.i1, y.i2))
CG_EW_FLOATING(elu, x > 0 ? x : (float)y.s1 * expm1f(x), x > 0 ? x : y.s1 * expm1(x))
/* min(x, 0) - log1p(exp(-|x|)), stable both ways */
CG_EW_FLOATING(logsigmoid, fminf(x, 0.0f) - log1pf(expf(-fabsf(x))),
               fmin(x, 0.0) - log1p(exp(-fabs(x))))
CG_EW_FLOATING(mish, x *tanhf(log1pf(expf(x))), x *tanh(log1p(exp(x))))
/* x relu6(x + 3) / 6, evaluated as torch's kernel: -0 below -3, NaN at -inf */
CG_EW_FLOATING(hardswish, x *fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f,
               x *fmin(fmax(x + 3.0, 0.0), 6.0) / 6.0)

typedef struct {
    const char *fn, *kname; /* kname: torch's kernel in its "not implemented" error */
    cg_op op;
    cg__kernel k[CG_NUM_DTYPES];
} act_info;

static const act_info A_HARDTANH = {"cg_hardtanh",
                                    "hardtanh",
                                    CG_OP_HARDTANH,
                                    {hardtanh_f32, hardtanh_f64, hardtanh_i64}};
static const act_info A_ELU = {"cg_elu", "elu_cpu", CG_OP_ELU, {elu_f32, elu_f64}};
static const act_info A_LOGSIGMOID = {"cg_logsigmoid",
                                      "log_sigmoid_cpu",
                                      CG_OP_LOGSIGMOID,
                                      {logsigmoid_f32, logsigmoid_f64}};
static const act_info A_MISH = {"cg_mish", "mish_cpu", CG_OP_MISH, {mish_f32, mish_f64}};
static const act_info A_HARDSWISH = {"cg_hardswish",
                                     "hardswish_cpu",
                                     CG_OP_HARDSWISH,
                                     {hardswish_f32, hardswish_f64}};

enum { ACT_SELF }; /* saved */

/* Runs u on a: a kernel for a's dtype or torch's error; the node saves a and
 * is returned in *node (NULL when none was recorded). */
static cg_tensor *activation(const act_info *u, cg_tensor *a, const cg__ew_prm *p, cg_node **node) {
    *node = NULL;
    if (!a) return NULL;
    if (a->dtype == CG_BOOL && u->op == CG_OP_HARDTANH) {
        cg__error(u->fn, "Bool inputs not supported for hardtanh");
        return NULL;
    }
    if (!u->k[a->dtype]) {
        cg__error(u->fn, CG_MSG_NOT_IMPLEMENTED, u->kname, cg__scalar_type_name(a->dtype));
        return NULL;
    }
    cg_tensor *out = cg__ew_map(u->k[a->dtype], a, a->dtype, p);
    cg_node *n = out ? cg__record(u->op, out, 1, &a) : NULL;
    if (n && cg__save(n, ACT_SELF, a, false) < 0) return NULL;
    *node = n;
    return cg__recorded(out);
}

enum { HT_MIN, HT_MAX }; /* n->sc */
enum { ELU_ALPHA };      /* n->sc */

cg_tensor *cg_hardtanh(cg_tensor *a, double min_val, double max_val) {
    /* int64: the bounds cast to the integer type, as torch */
    cg__ew_prm p = {.s1 = min_val, .s2 = max_val, .i1 = (int64_t)min_val, .i2 = (int64_t)max_val};
    cg_node *n;
    cg_tensor *out = activation(&A_HARDTANH, a, &p, &n);
    if (n) n->sc[HT_MIN] = min_val, n->sc[HT_MAX] = max_val;
    return out;
}

cg_tensor *cg_elu(cg_tensor *a, double alpha) {
    cg__ew_prm p = {.s1 = alpha};
    cg_node *n;
    cg_tensor *out = activation(&A_ELU, a, &p, &n);
    if (n) n->sc[ELU_ALPHA] = alpha;
    return out;
}

enum { ELU_RESULT }; /* saved by EluBackward1 */

cg_tensor *cg__elu_result(cg_tensor *a, double alpha) {
    cg_tensor *out = NULL;
    CG_NO_GRAD { out = cg_elu(a, alpha); }
    cg_node *n = out ? cg__record(CG_OP_ELU_RESULT, out, 1, &a) : NULL;
    if (n) {
        n->sc[ELU_ALPHA] = alpha;
        if (cg__save(n, ELU_RESULT, out, true) < 0) return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_logsigmoid(cg_tensor *a) {
    cg_node *n;
    return activation(&A_LOGSIGMOID, a, NULL, &n);
}

cg_tensor *cg_mish(cg_tensor *a) {
    cg_node *n;
    return activation(&A_MISH, a, NULL, &n);
}

cg_tensor *cg_hardswish(cg_tensor *a) {
    cg_node *n;
    return activation(&A_HARDSWISH, a, NULL, &n);
}

/* ------------------------------------------------------------- backward */

/* g where cond, else 0 */
static cg_tensor *masked(cg_tensor *cond, cg_tensor *g) {
    return cond && g ? cg_where(cond, g, cg_scalar(0, (int)g->dtype)) : NULL;
}

/* torch's hardtanh_backward(g, a, lo, hi): g strictly inside (lo, hi) */
static cg_tensor *hardtanh_backward(cg_tensor *g, cg_tensor *a, const double *sc) {
    cg_tensor *inside = cg_mul(cg_gt_scalar(a, sc[HT_MIN]), cg_lt_scalar(a, sc[HT_MAX]));
    return masked(inside, g); /* (bool and) */
}

enum { HT_BW_SELF }; /* HardtanhBackwardBackward0's saved tensor; (lo, hi) in sc */

static int hardtanh_bw_forward(cg_ctx *ctx, int n_in, cg_tensor *const *in, int n_out,
                               cg_tensor **out, void *user) {
    CG_UNUSED(n_in), CG_UNUSED(n_out);
    memcpy(ctx->sc, user, sizeof ctx->sc);
    out[0] = hardtanh_backward(in[0], in[1], ctx->sc);
    return out[0] ? cg_ctx_save_for_backward(ctx, 1, &in[1]) : -1;
}

/* its inputs (g, a): the same selection of gg for g, zeros for a */
static int hardtanh_bw_backward(cg_ctx *ctx, int n_out, cg_tensor *const *gg, int n_in,
                                cg_tensor **gi, void *user) {
    CG_UNUSED(n_out), CG_UNUSED(n_in), CG_UNUSED(user);
    cg_tensor *a = cg_ctx_saved(ctx, HT_BW_SELF);
    gi[0] = a ? hardtanh_backward(gg[0], a, ctx->sc) : NULL;
    gi[1] = cg_zeros_like(gg[0], 0);
    return gi[0] && gi[1] ? 0 : -1;
}

static const cg_function hardtanh_bw_fn = {"HardtanhBackwardBackward0", hardtanh_bw_forward,
                                           hardtanh_bw_backward};

/* the gradient selects; under create_graph it is a node of its own over g
 * and a, as torch's, so it requires grad whenever a does */
int cg__bw_hardtanh(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, ACT_SELF);
    if (!a) return -1;
    if (!cg__grad_enabled) return (gi[0] = hardtanh_backward(go[0], a, n->sc)) ? 0 : -1;
    cg_tensor *in[2] = {go[0], a};
    return cg_function_apply(&hardtanh_bw_fn, n->sc, 2, in, 1, gi);
}

int cg__bw_elu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, ACT_SELF);
    double alpha = n->sc[ELU_ALPHA];
    if (!a) return -1;
    /* 1 for a > 0, alpha exp(a) elsewhere */
    cg_tensor *neg = cg_mul(go[0], cg_mul_scalar(cg_exp(a), alpha));
    return (gi[0] = cg_where(cg_gt_scalar(a, 0), go[0], neg)) ? 0 : -1;
}

int cg__bw_elu_result(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *r = cg__unpack(n, ELU_RESULT);
    double alpha = n->sc[ELU_ALPHA];
    if (!r) return -1;
    /* from the result: 1 where r > 0, alpha exp(a) = r + alpha elsewhere */
    cg_tensor *neg = cg_mul(go[0], cg_add_scalar(r, alpha));
    return (gi[0] = cg_where(cg_gt_scalar(r, 0), go[0], neg)) ? 0 : -1;
}

int cg__bw_logsigmoid(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, ACT_SELF);
    /* d log(sigmoid(a)) = 1 - sigmoid(a) = sigmoid(-a) */
    return (gi[0] = cg_mul(go[0], cg_sigmoid(cg_neg(a)))) ? 0 : -1;
}

int cg__bw_mish(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, ACT_SELF);
    if (!a) return -1;
    /* t = tanh(softplus(a)): d (a t) = t + a sigmoid(a) (1 - t^2) */
    cg_tensor *t = cg_tanh(cg_softplus(a, 1, INFINITY));
    cg_tensor *d = cg_add(t, cg_mul(cg_mul(a, cg_sigmoid(a)), cg_rsub_scalar(cg_mul(t, t), 1)));
    return (gi[0] = cg_mul(go[0], d)) ? 0 : -1;
}

int cg__bw_hardswish(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, ACT_SELF);
    if (!a) return -1;
    /* 0 below -3, a / 3 + 1 / 2 up to 3 (included), 1 above */
    cg_tensor *mid = cg_mul(go[0], cg_add_scalar(cg_div_scalar(a, 3), 0.5));
    cg_tensor *g = cg_where(cg_gt_scalar(a, 3), go[0], mid);
    return (gi[0] = masked(cg_ge_scalar(a, -3), g)) ? 0 : -1;
}
