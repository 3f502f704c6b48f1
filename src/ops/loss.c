/* Losses — nll_loss, cross_entropy, mse_loss, binary_cross_entropy_with_logits
 * — each forward beside its backward, recording the graphs PyTorch 1.13
 * records (src/ops/loss.def). cross_entropy is composed as torch composes
 * it: log_softmax then nll_loss, and with label smoothing or class
 * probabilities a composition of cgrad ops and ops.h's node kinds
 * (MulBackward1, AddBackward1, DivBackward1 for a C++ scalar operand;
 * IndexPutBackward0 / CopySlices for its masked_fill_, MaskedSelectBackward0).
 * Every backward is written with cgrad ops, so each loss can be differentiated
 * twice (create_graph). */
#include "ops.h"

#include "../kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- helpers */

#define NOT_DIFFERENTIABLE                                                                         \
    "The function '%s' is not differentiable with respect to argument '%s'. This input "           \
    "cannot have requires_grad True."
#define NO_DIMENSIONS "Dimension specified as 0 but tensor has no dimensions"
#define LABEL_SMOOTHING_RANGE "label_smoothing must be between 0.0 and 1.0. Got: %g"

/* PyTorch's _Reduction.get_enum: only its three values */
static int check_reduction(const char *fn, cg_reduction r) {
    if (r == CG_REDUCTION_NONE || r == CG_REDUCTION_MEAN || r == CG_REDUCTION_SUM) return 0;
    cg__error(fn, "%d is not a valid value for reduction", (int)r);
    return -1;
}

/* t broadcast to shape (which it must broadcast to), as a contiguous copy */
static cg_tensor *dense_at(cg_tensor *t, int nd, const int64_t *shape) {
    if (cg__same_shape(t->ndim, t->shape, nd, shape)) return cg__as_contiguous(t);
    int64_t st[CG_MAX_DIMS];
    cg__broadcast_strides(t, nd, shape, st);
    cg_tensor *v = cg__tensor_view(t, nd, shape, st, t->offset);
    return v ? cg__as_contiguous(v) : NULL;
}

/* element i of a contiguous tensor, as a double */
static inline double get(const cg_tensor *t, int64_t i) {
    return cg__load(cg__ptr(t), t->dtype, i);
}

/* writes element i of a contiguous floating tensor */
static inline void put(cg_tensor *t, int64_t i, double v) { cg__store(cg__ptr(t), t->dtype, i, v); }

static cg_tensor *scalar_of(double v, cg_dtype d) {
    cg_tensor *t = cg__tensor_new(d, 0, NULL);
    if (t) put(t, 0, v);
    return t;
}

/* ---------------------------------------------------------------- nll_loss */

enum { NLL_TARGET, NLL_WEIGHT }; /* saved */
enum { NLL_TOTAL_WEIGHT };       /* n->sc */
/* n->iv; NLL_FUSED: the input is cross_entropy's own log_softmax */
enum { NLL_REDUCTION, NLL_IGNORE_INDEX, NLL_HAS_WEIGHT, NLL_FUSED, NLL_N_IV };

/* nll_loss's view of its input: (N, C, K), the target (N, K) */
typedef struct {
    int64_t N, C, K;
} nll_dims;

/* nll_loss's shape checks (1-D/2-D input, 0-d/1-D target) */
static int nll_check_shapes(const char *fn, const cg_tensor *x, const cg_tensor *target,
                            const cg_tensor *weight, nll_dims *dm) {
    if (target->ndim > 1) {
        cg__error(fn, "0D or 1D target tensor expected, multi-target not supported");
        return -1;
    }
    bool no_batch = x->ndim == 1 && target->ndim == 0;
    if (!no_batch && (target->ndim == 0 || x->shape[0] != target->shape[0])) {
        cg__shape_error(fn, "size mismatch (got input: %s, target: %s)", x->ndim, x->shape,
                        target->ndim, target->shape);
        return -1;
    }
    dm->C = x->shape[x->ndim - 1];
    if (weight && !(weight->ndim == 1 && cg__numel(1, weight->shape) == dm->C)) {
        char sw[256];
        cg__shape_str(sw, sizeof sw, weight->ndim, weight->shape);
        cg__error(fn,
                  "weight tensor should be defined either for all %lld classes or no "
                  "classes but got weight tensor of shape: %s",
                  (long long)dm->C, sw);
        return -1;
    }
    dm->N = x->ndim == 1 ? 1 : x->shape[0];
    dm->K = 1;
    return 0;
}

/* nll_loss2d's shape checks (4-D input, 3-D target) */
static int nll2d_check_shapes(const char *fn, const cg_tensor *x, const cg_tensor *target,
                              const cg_tensor *weight, nll_dims *dm) {
    if (target->ndim != 3) {
        cg__error(fn,
                  "only batches of spatial targets supported (3D tensors) but got "
                  "targets of dimension: %d",
                  target->ndim);
        return -1;
    }
    dm->C = x->shape[1];
    if (weight && cg__numel(weight->ndim, weight->shape) != dm->C) {
        cg__error(fn, "weight tensor should be defined either for all or no classes");
        return -1;
    }
    if (x->shape[0] != target->shape[0] || x->shape[2] != target->shape[1] ||
        x->shape[3] != target->shape[2]) {
        cg__shape_error(fn, "size mismatch (got input: %s , target: %s", x->ndim, x->shape,
                        target->ndim, target->shape);
        return -1;
    }
    dm->N = x->shape[0];
    dm->K = x->shape[2] * x->shape[3];
    return 0;
}

/* nll_loss's checks, in PyTorch's order: weight's requires_grad, shapes,
 * dtypes */
static int nll_check(const char *fn, bool twod, const cg_tensor *x, const cg_tensor *target,
                     const cg_tensor *weight, nll_dims *dm) {
    if (weight && cg__grad_enabled && cg__requires_grad(weight)) {
        cg__error(fn, NOT_DIFFERENTIABLE, twod ? "nll_loss2d_forward" : "nll_loss_forward",
                  "weight");
        return -1;
    }
    if ((twod ? nll2d_check_shapes : nll_check_shapes)(fn, x, target, weight, dm) < 0) return -1;
    if (!cg_dtype_is_floating(x->dtype)) {
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED,
                  twod ? "nll_loss2d_forward_out_frame" : "nll_loss_out_frame",
                  cg__scalar_type_name(x->dtype));
        return -1;
    }
    if (weight && weight->dtype != x->dtype) {
        cg__error(fn, CG_MSG_EXPECTED_SCALAR_TYPE, cg__scalar_type_name(x->dtype),
                  cg__scalar_type_name(weight->dtype));
        return -1;
    }
    if (target->dtype != CG_INT64) {
        cg__error(fn, CG_MSG_EXPECTED_SCALAR_TYPE, "Long", cg__scalar_type_name(target->dtype));
        return -1;
    }
    return 0;
}

/* out = -x[n, target, k] * weight[target] into out (the target's shape for
 * reduction 'none', else 0-d), ignore_index skipped (and not counted in
 * *total, the mean's total weight) */
static int nll_compute(const char *fn, const nll_dims *dm, cg_tensor *x, cg_tensor *target,
                       cg_tensor *weight, int64_t ignore_index, cg_reduction red, cg_tensor *out,
                       double *total) {
    cg_tensor *xd = cg__as_contiguous(x), *td = cg__as_contiguous(target);
    cg_tensor *wd = weight ? cg__as_contiguous(weight) : NULL;
    if (!xd || !td || (weight && !wd)) return -1;
    bool none = red == CG_REDUCTION_NONE && x->ndim != 1; /* as nll_core's out */
    const int64_t *tp = cg__ptr(td);
    int64_t nt = cg__numel(td->ndim, td->shape), C = dm->C, K = dm->K;
    double sum = 0, tw = 0;
    for (int64_t n = 0; n < dm->N; n++)
        for (int64_t k = 0; k < K; k++) {
            int64_t j = n * K + k; /* the target's element (the first, for 1-D input) */
            int64_t t = j < nt ? tp[j] : 0;
            if (j < nt && t == ignore_index) {
                if (none) put(out, j, 0);
                continue;
            }
            if (j >= nt || t < 0 || t >= C) {
                cg__error(fn, "Target %lld is out of bounds.", (long long)t);
                return -1;
            }
            double w = wd ? get(wd, t) : 1;
            double v = -get(xd, (n * C + t) * K + k) * w;
            if (x->dtype == CG_FLOAT32) v = (float)v; /* torch's float product */
            if (none)
                put(out, j, v);
            else
                sum += v, tw += w;
        }
    if (x->dtype == CG_FLOAT32) tw = (float)tw;
    if (!none) put(out, 0, red == CG_REDUCTION_MEAN ? sum / tw : sum);
    *total = tw;
    return 0;
}

/* nll_loss (1-D/2-D input, NllLossBackward0) or nll_loss2d (4-D input,
 * NllLoss2DBackward0) on input x seen as (N, C, K) and target as (N, K):
 * out = -x[n, target, k] * weight[target], ignore_index skipped (and not
 * counted in the mean's total weight). */
static cg_tensor *nll_core(const char *fn, bool twod, cg_tensor *x, cg_tensor *target,
                           cg_tensor *weight, int64_t ignore_index, cg_reduction red) {
    nll_dims dm;
    if (nll_check(fn, twod, x, target, weight, &dm) < 0) return NULL;
    /* 1-D input: one sample, and a 0-d result even for reduction 'none' */
    bool none = red == CG_REDUCTION_NONE && x->ndim != 1;
    cg_tensor *out = none ? cg__tensor_new(x->dtype, target->ndim, target->shape)
                          : cg__tensor_new(x->dtype, 0, NULL);
    double total;
    if (!out || nll_compute(fn, &dm, x, target, weight, ignore_index, red, out, &total) < 0)
        return NULL;
    cg_node *node = cg__record(twod ? CG_OP_NLL_LOSS2D : CG_OP_NLL_LOSS, out, 1, &x);
    if (node) {
        node->sc[NLL_TOTAL_WEIGHT] = total;
        node->iv[NLL_REDUCTION] = red;
        node->iv[NLL_IGNORE_INDEX] = ignore_index;
        node->iv[NLL_HAS_WEIGHT] = weight != NULL;
        node->iv[NLL_FUSED] = 0;
        node->n_iv = NLL_N_IV;
        if (cg__save(node, NLL_TARGET, target, false) < 0 ||
            cg__save(node, NLL_WEIGHT, weight, false) < 0)
            return NULL;
    }
    return cg__recorded(out);
}

/* torch's nll_loss_nd: 1-D/2-D input to nll_loss, 4-D to nll_loss2d, 3-D and
 * 5+-D viewed as (N, C, 1, -1) for nll_loss2d (the result viewed back). */
static cg_tensor *nll_nd(const char *fn, cg_tensor *x, cg_tensor *target, cg_tensor *weight,
                         int64_t ignore_index, cg_reduction red) {
    if (!x) return NULL;
    if (x->ndim < 1) {
        cg__error(fn, "Expected 1 or more dimensions (got %d)", x->ndim);
        return NULL;
    }
    if (x->ndim != 1) {
        if (target->ndim == 0 && x->shape[0] == 0) {
            cg__error(fn, NO_DIMENSIONS);
            return NULL;
        }
        int64_t tb = target->ndim ? target->shape[0] : 0;
        if (x->shape[0] != tb) {
            cg__error(fn, "Expected input batch_size (%lld) to match target batch_size (%lld).",
                      (long long)x->shape[0], (long long)tb);
            return NULL;
        }
    }
    if (x->ndim <= 2) return nll_core(fn, false, x, target, weight, ignore_index, red);
    if (x->ndim == 4) return nll_core(fn, true, x, target, weight, ignore_index, red);
    int64_t N = x->shape[0], C = x->shape[1], out_size[CG_MAX_DIMS];
    out_size[0] = N;
    for (int d = 2; d < x->ndim; d++) out_size[d - 1] = x->shape[d];
    if (target->ndim != x->ndim - 1 ||
        memcmp(target->shape + 1, out_size + 1, sizeof(int64_t) * (size_t)(x->ndim - 2))) {
        cg__shape_error(fn, "Expected target size %s, got %s", x->ndim - 1, out_size, target->ndim,
                        target->shape);
        return NULL;
    }
    int64_t nx = cg__numel(x->ndim, x->shape), nt = cg__numel(target->ndim, target->shape);
    const int64_t xs[4] = {N, C, nx ? 1 : 0, nx ? nx / (N * C) : 0};
    const int64_t ts[3] = {N, nt ? 1 : 0, nt ? nt / N : 0};
    cg_tensor *xv = cg_view(cg_contiguous(x), 4, xs), *tv = cg_view(cg_contiguous(target), 3, ts);
    if (!xv || !tv) return NULL;
    cg_tensor *out = nll_core(fn, true, xv, tv, weight, ignore_index, red);
    if (out && red == CG_REDUCTION_NONE) out = cg_view(out, x->ndim - 1, out_size);
    return out;
}

cg_tensor *cg_nll_loss(cg_tensor *log_probs, cg_tensor *target, cg_tensor *weight,
                       int64_t ignore_index, cg_reduction reduction) {
    if (!log_probs || !target) return NULL;
    if (check_reduction("cg_nll_loss", reduction) < 0) return NULL;
    return nll_nd("cg_nll_loss", log_probs, target, weight, ignore_index, reduction);
}

/* ------------------------------------------- cross_entropy's fused path
 *
 * NOTE [ Fused cross_entropy ]
 * A class-index cross_entropy without label smoothing on a 1-D or 2-D input
 * records PyTorch's graph, NllLossBackward0 -> LogSoftmaxBackward0, the
 * second a node kind of its own (CE_LOG_SOFTMAX: log_softmax's name, saved
 * result and dim, whose backward serves it). Its output is internal to
 * cross_entropy, so the NLL node is its only consumer. A plain backward of
 * the NLL node (grad mode off, no hook on the log_softmax node) writes the
 * input's gradient at once, in one pass over the rows (the kernel table's
 * ce_bw):
 *     dx = c_r (exp(y) - onehot(t_r)),  c_r = g_r w[t_r] / total (mean),
 *                                             g_r w[t_r] (sum, none)
 * (c_r = 0 for an ignored target), stamps the log_softmax node with the
 * running backward's id, and that node passes the gradient through. The
 * values are those of the two backwards run one after the other: c_r is
 * rounded as nll's g * M is, exp(y) c as log_softmax's g - exp(y) sum(g).
 * Any other case (create_graph, a hook) runs both plain backwards. */

enum { CE_LSM_RESULT };                              /* saved, as log_softmax's */
enum { CE_LSM_DIM, CE_LSM_HANDED_RUN, CE_LSM_N_IV }; /* n->iv, the dim as log_softmax's */

int cg__bw_log_softmax(cg_node *n, cg_tensor **go, cg_tensor **gi);

int cg__bw_ce_log_softmax(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    if (n->iv[CE_LSM_HANDED_RUN] != (int64_t)n->eng_run) return cg__bw_log_softmax(n, go, gi);
    n->iv[CE_LSM_HANDED_RUN] = -1; /* go[0] is already the input's gradient */
    gi[0] = go[0];
    return 0;
}

/* log_softmax(x) recorded as CE_LOG_SOFTMAX, for cross_entropy */
static cg_tensor *ce_log_softmax(cg_tensor *x, int dim) {
    bool prev = cg_set_grad_enabled(false);
    cg_tensor *y = cg_log_softmax(x, dim);
    cg_set_grad_enabled(prev);
    cg_node *n = y ? cg__record(CG_OP_CE_LOG_SOFTMAX, y, 1, &x) : NULL;
    if (n) {
        n->iv[CE_LSM_DIM] = dim;
        n->iv[CE_LSM_HANDED_RUN] = -1;
        n->n_iv = CE_LSM_N_IV;
        if (cg__save(n, CE_LSM_RESULT, y, true) < 0) return NULL;
    }
    return cg__recorded(y);
}

/* c_r and t_r of each of the N rows (t_r -1: none), as T: the NLL gradient
 * at the target, g_r * (-w / total), rounded as the plain path rounds it */
#define CE_COEFS(T)                                                                                \
    for (int64_t r = 0; r < N; r++) {                                                              \
        int64_t t = r < nt ? tp[r] : -1;                                                           \
        if (t == ignore_index || t < 0 || t >= C) t = -1;                                          \
        T m = (T)(t < 0 ? 0 : -(weight ? cg__read_linear(weight, t) : 1) * scale);                 \
        ((T *)coef)[r] = -((T)cg__read_linear(g, none ? r : 0) * m);                               \
        tgt[r] = t;                                                                                \
    }

/* the kernel table's ce_bw over rows (N, C), on threads when large */
static void ce_bw_rows(cg_tensor *y, const int64_t *tgt, const void *coef, cg_tensor *dx, int64_t N,
                       int64_t C) {
    const cg__kernels *k = cg__kern();
    bool f32 = y->dtype == CG_FLOAT32;
    size_t es = cg__esize(y->dtype);
    const char *yp = cg__ptr(y), *cp = coef;
    char *dp = cg__ptr(dx);
#ifdef CG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if (N * C >= (1 << 16))
#endif
    for (int64_t r0 = 0; r0 < N; r0 += 64) {
        int64_t nr = N - r0 < 64 ? N - r0 : 64;
        size_t o = (size_t)(r0 * C) * es;
        if (f32)
            k->ce_bw_f32(nr, C, (const float *)(yp + o), tgt + r0,
                         (const float *)(cp + (size_t)r0 * es), (float *)(dp + o));
        else
            k->ce_bw_f64(nr, C, (const double *)(yp + o), tgt + r0,
                         (const double *)(cp + (size_t)r0 * es), (double *)(dp + o));
    }
}

/* NLL_FUSED's plain backward (NOTE [ Fused cross_entropy ]); -1 when it does
 * not apply, having done nothing */
static int ce_fused_backward(cg_node *n, cg_tensor *target, cg_tensor *weight, cg_tensor *g,
                             cg_tensor **gi) {
    cg_node *ls = n->next[0].fn;
    if (!n->iv[NLL_FUSED] || cg__grad_enabled || !ls || ls->op != CG_OP_CE_LOG_SOFTMAX || ls->hooks)
        return -1;
    cg_tensor *y = cg__unpack(ls, CE_LSM_RESULT), *td = cg__as_contiguous(target);
    if (!y || !td || !cg__is_contiguous(y) || g->dtype != y->dtype) return -1;
    bool none = (cg_reduction)n->iv[NLL_REDUCTION] == CG_REDUCTION_NONE && y->ndim == 2;
    int64_t N = y->ndim == 1 ? 1 : y->shape[0], C = y->shape[y->ndim - 1];
    int64_t ignore_index = n->iv[NLL_IGNORE_INDEX], nt = cg__numel(td->ndim, td->shape);
    double scale = n->iv[NLL_REDUCTION] == CG_REDUCTION_MEAN ? 1 / n->sc[NLL_TOTAL_WEIGHT] : 1;
    const int64_t *tp = cg__ptr(td);
    cg_tensor *dx = cg__tensor_new(y->dtype, y->ndim, y->shape);
    int64_t *tgt = malloc(sizeof(int64_t) * (size_t)(N ? N : 1));   /* (N) */
    void *coef = malloc(cg__esize(y->dtype) * (size_t)(N ? N : 1)); /* (N) */
    if (!dx || !tgt || !coef) {
        free(tgt), free(coef);
        return -1;
    }
    if (y->dtype == CG_FLOAT32)
        CE_COEFS(float)
    else
        CE_COEFS(double)
    ce_bw_rows(y, tgt, coef, dx, N, C);
    free(tgt), free(coef);
    ls->iv[CE_LSM_HANDED_RUN] = (int64_t)ls->eng_run;
    gi[0] = dx;
    return 0;
}

/* NllLossBackward0 / NllLoss2DBackward0. The loss is linear in the input:
 * d loss / d input[n, t, k] = -weight[t] (over the total weight for a mean)
 * at each counted target t, 0 elsewhere — a constant M, so the gradient is
 * grad * M (grad gets the class dim back for reduction 'none'). */
int cg__bw_nll_loss(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    bool has_weight = n->iv[NLL_HAS_WEIGHT];
    cg_tensor *target = cg__unpack(n, NLL_TARGET);
    cg_tensor *weight = has_weight ? cg__unpack(n, NLL_WEIGHT) : NULL;
    double total = n->sc[NLL_TOTAL_WEIGHT];
    cg_reduction red = (cg_reduction)n->iv[NLL_REDUCTION];
    int64_t ignore_index = n->iv[NLL_IGNORE_INDEX];
    if (!target || (has_weight && !weight)) return -1;
    if (ce_fused_backward(n, target, weight, go[0], gi) == 0) return 0;
    const cg_meta *m = &n->in_meta[0];
    int64_t N = m->ndim == 1 ? 1 : m->shape[0], C = m->shape[m->ndim == 1 ? 0 : 1], K = 1;
    for (int d = 2; d < m->ndim; d++) K *= m->shape[d];
    cg_tensor *M = cg_zeros(m->ndim, m->shape, m->dtype); /* (input's shape) */
    cg_tensor *td = cg__as_contiguous(target);
    if (!M || !td) return -1;
    const int64_t *tp = cg__ptr(td);
    int64_t nt = cg__numel(td->ndim, td->shape);
    double scale = red == CG_REDUCTION_MEAN ? 1 / total : 1;
    for (int64_t i = 0; i < N; i++)
        for (int64_t k = 0; k < K; k++) {
            int64_t j = i * K + k, t = j < nt ? tp[j] : -1;
            if (j >= nt || t == ignore_index || t < 0 || t >= C) continue;
            double w = weight ? cg__read_linear(weight, t) : 1;
            put(M, (i * C + t) * K + k, -w * scale);
        }
    cg_tensor *g = go[0];
    if (red == CG_REDUCTION_NONE && m->ndim >= 2) g = cg_unsqueeze(g, 1);
    return (gi[0] = cg_mul(g, M)) ? 0 : -1;
}

/* ----------------------------------------------------------- cross_entropy */

/* the class dim's sizes for viewing a (C) weight against the input */
static void weight_view_shape(const cg_tensor *x, int cd, int64_t c, int64_t *shape) {
    for (int d = 0; d < x->ndim; d++) shape[d] = 1;
    shape[cd] = c;
}

/* torch's cross_entropy_loss_label_smoothing (1.13):
 *   input = log_softmax(self, class_dim); nll = nll_loss_nd(input, ...)
 *   smooth = -(input [* weight]).sum(class_dim), 0 where target == ignore_index
 *   mean: smooth.sum() / (weight of the counted targets), or without weight
 *         smooth.masked_select(target != ignore_index).mean(); sum: smooth.sum()
 *   (1 - ls) * nll + ret * (ls / n_classes) */
static cg_tensor *ce_smoothed(const char *fn, cg_tensor *x, cg_tensor *target, cg_tensor *weight,
                              int64_t ignore_index, cg_reduction red, double ls) {
    int cd = x->ndim == 1 ? 0 : 1;
    cg_tensor *input = cg_log_softmax(x, cd);
    cg_tensor *nll = nll_nd(fn, input, target, weight, ignore_index, red);
    if (!nll) return NULL;
    int64_t C = input->shape[cd];
    cg_tensor *p = input;
    if (weight) { /* weight.view(...) with weight.size(0) at the class dim */
        if (weight->ndim == 0) {
            cg__error(fn, NO_DIMENSIONS);
            return NULL;
        }
        int64_t shape[CG_MAX_DIMS];
        weight_view_shape(input, cd, weight->shape[0], shape);
        p = cg_mul(input, cg_view(weight, input->ndim, shape));
    }
    cg_tensor *smooth = cg__masked_zero(cg_neg(cg_sum_dims(p, 1, &cd, false)),
                                        cg_eq_scalar(target, (double)ignore_index));
    if (!smooth) return NULL;
    cg_tensor *ret = smooth;
    if (red == CG_REDUCTION_SUM) {
        ret = cg_sum(smooth);
    } else if (red == CG_REDUCTION_MEAN && !weight) {
        ret = cg_mean(cg__masked_select(smooth, cg_ne_scalar(target, (double)ignore_index)));
    } else if (red == CG_REDUCTION_MEAN) {
        /* weight.gather(0, counted targets).sum(), accumulated as torch does, in
         * the weight's dtype */
        cg_tensor *td = cg__as_contiguous(target), *wd = cg__as_contiguous(weight);
        if (!td || !wd) return NULL;
        const int64_t *tp = cg__ptr(td);
        double wsum = 0;
        for (int64_t i = 0, nt = cg__numel(td->ndim, td->shape); i < nt; i++)
            if (tp[i] != ignore_index) wsum += get(wd, tp[i]);
        ret = cg_div(cg_sum(smooth), scalar_of(wsum, weight->dtype));
    }
    return cg_add(cg__mul_scalar1(nll, 1 - ls), cg__mul_scalar1(ret, ls / (double)C));
}

/* torch's cross_entropy_loss_prob_target (1.13): a floating target of the
 * input's shape holds class probabilities. */
static cg_tensor *ce_probs(const char *fn, cg_tensor *x, cg_tensor *target, cg_tensor *weight,
                           cg_reduction red, double ls) {
    int cd = x->ndim == 1 ? 0 : 1;
    if (cg__wrap_dim(fn, cd, x->ndim) < 0) return NULL;
    int64_t C = x->shape[cd];
    if (weight && !(weight->ndim == 1 && cg__numel(1, weight->shape) == C)) {
        char s[256];
        cg__shape_str(s, sizeof s, weight->ndim, weight->shape);
        cg__error(fn,
                  "cross_entropy: weight tensor should be defined either for all %lld "
                  "classes or no classes but got weight tensor of shape: %s",
                  (long long)C, s);
        return NULL;
    }
    cg_tensor *input = cg_log_softmax(x, cd);
    if (!input) return NULL;
    cg_tensor *t = target;
    if (ls > 0) {
        if (ls > 1) {
            cg__error(fn, LABEL_SMOOTHING_RANGE, ls);
            return NULL;
        }
        t = cg__add_scalar1(cg__mul_scalar1(target, 1 - ls), ls / (double)C);
    }
    cg_tensor *p = cg_mul(input, t);
    if (weight) {
        int64_t shape[CG_MAX_DIMS];
        weight_view_shape(input, 1, C, shape);
        p = cg_mul(p, input->ndim > 1 ? cg_view(weight, input->ndim, shape) : weight);
    }
    if (!p) return NULL;
    int64_t numel = cg__numel(x->ndim, x->shape);
    switch (red) {
    case CG_REDUCTION_NONE: return cg_neg(cg_sum_dims(p, 1, &cd, false));
    case CG_REDUCTION_SUM: return cg_neg(cg_sum(p));
    default:
        if (numel == 0) return cg_neg(cg_fill_(cg_sum(p), NAN));
        /* an integer division in torch, then a true division by it */
        return cg__div_scalar1(cg_neg(cg_sum(p)), (double)(numel / C));
    }
}

cg_tensor *cg_cross_entropy(cg_tensor *logits, cg_tensor *target, cg_tensor *weight,
                            int64_t ignore_index, cg_reduction reduction, double label_smoothing) {
    const char *fn = "cg_cross_entropy";
    if (!logits || !target) return NULL;
    if (check_reduction(fn, reduction) < 0) return NULL;
    if (cg__same_shape(logits->ndim, logits->shape, target->ndim, target->shape)) {
        if (!cg_dtype_is_floating(target->dtype)) {
            cg__error(fn,
                      "Expected floating point type for target with class probabilities, "
                      "got %s",
                      cg__scalar_type_name(target->dtype));
            return NULL;
        }
        if (ignore_index >= 0) {
            cg__error(fn, "ignore_index is not supported for floating point target");
            return NULL;
        }
        return ce_probs(fn, logits, target, weight, reduction, label_smoothing);
    }
    if (label_smoothing > 0) {
        if (label_smoothing > 1) {
            cg__error(fn, LABEL_SMOOTHING_RANGE, label_smoothing);
            return NULL;
        }
        return ce_smoothed(fn, logits, target, weight, ignore_index, reduction, label_smoothing);
    }
    if (logits->ndim > 2 || !cg_dtype_is_floating(logits->dtype))
        return nll_nd(fn, cg_log_softmax(logits, logits->ndim == 1 ? 0 : 1), target, weight,
                      ignore_index, reduction);
    cg_tensor *out = nll_nd(fn, ce_log_softmax(logits, logits->ndim == 1 ? 0 : 1), target, weight,
                            ignore_index, reduction);
    if (out && out->grad_fn) out->grad_fn->iv[NLL_FUSED] = 1; /* its input is internal */
    return out;
}

/* ---------------------------------------------------------------- mse_loss */

enum { MSE_SELF, MSE_TARGET };    /* saved */
enum { MSE_REDUCTION, MSE_N_IV }; /* n->iv */

/* (x - y)^2 into out (x's shape for reduction 'none', else 0-d) */
static void mse_compute(cg_tensor *xd, cg_tensor *yd, cg_reduction red, cg_tensor *out) {
    bool none = red == CG_REDUCTION_NONE;
    int64_t n = cg__numel(xd->ndim, xd->shape);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (out->dtype == CG_FLOAT32) { /* as torch: the difference and its square in float */
            float d = (float)get(xd, i) - (float)get(yd, i);
            v = d * d;
        } else {
            double d = get(xd, i) - get(yd, i);
            v = d * d;
        }
        if (none)
            put(out, i, v);
        else
            sum += v;
    }
    if (!none) put(out, 0, red == CG_REDUCTION_MEAN ? sum / (double)n : sum);
}

cg_tensor *cg_mse_loss(cg_tensor *a, cg_tensor *b, cg_reduction reduction) {
    const char *fn = "cg_mse_loss";
    if (!a || !b) return NULL;
    int nd;
    int64_t shape[CG_MAX_DIMS];
    if (cg__broadcast_shape(fn, a->ndim, a->shape, b->ndim, b->shape, &nd, shape) < 0) return NULL;
    if (check_reduction(fn, reduction) < 0) return NULL;
    /* F.mse_loss broadcasts with torch.broadcast_tensors: an ExpandBackward0
     * for each input that grows */
    cg_tensor *x = cg__same_shape(a->ndim, a->shape, nd, shape) ? a : cg_expand(a, nd, shape);
    cg_tensor *y = cg__same_shape(b->ndim, b->shape, nd, shape) ? b : cg_expand(b, nd, shape);
    if (!x || !y) return NULL;
    cg_dtype dt = cg__promote(a->dtype, b->dtype);
    if (!cg_dtype_is_floating(dt)) {
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED, "mse_cpu", cg__scalar_type_name(dt));
        return NULL;
    }
    cg_tensor *xd = cg__as_contiguous(x), *yd = cg__as_contiguous(y);
    if (!xd || !yd) return NULL;
    bool none = reduction == CG_REDUCTION_NONE;
    cg_tensor *out = none ? cg__tensor_new(dt, nd, shape) : cg__tensor_new(dt, 0, NULL);
    if (!out) return NULL;
    mse_compute(xd, yd, reduction, out);
    cg_tensor *in[2] = {x, y};
    cg_node *node = cg__record(CG_OP_MSE_LOSS, out, 2, in);
    if (node) {
        node->iv[MSE_REDUCTION] = reduction;
        node->n_iv = MSE_N_IV;
        if (cg__save(node, MSE_SELF, x, false) < 0 || cg__save(node, MSE_TARGET, y, false) < 0)
            return NULL;
    }
    return cg__recorded(out);
}

/* d/da (a - b)^2 = 2 (a - b), over numel for a mean; d/db is its negation */
int cg__bw_mse_loss(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *x = cg__unpack(n, MSE_SELF), *y = cg__unpack(n, MSE_TARGET);
    cg_reduction red = (cg_reduction)n->iv[MSE_REDUCTION];
    if (!x || !y) return -1;
    double norm = red == CG_REDUCTION_MEAN ? 2.0 / (double)cg__numel(x->ndim, x->shape) : 2.0;
    cg_tensor *g = cg_mul(cg_mul_scalar(cg_sub(x, y), norm), go[0]);
    if (!g) return -1;
    if (CG_WANT(n, 0)) gi[0] = g;
    if (CG_WANT(n, 1) && !(gi[1] = cg_neg(g))) return -1;
    return 0;
}

/* ---------------------------------------- binary_cross_entropy_with_logits */

enum { BCE_SELF, BCE_TARGET, BCE_WEIGHT, BCE_POS_WEIGHT, BCE_N_SAVED }; /* saved */
enum { BCE_REDUCTION, BCE_HAS_WEIGHT, BCE_HAS_POS_WEIGHT, BCE_N_IV };   /* n->iv */

/* out (x's shape) broadcast with b's shape must stay x's shape, as an
 * in-place op on out requires */
static int check_inplace_broadcast(const char *fn, const cg_tensor *x, int nb, const int64_t *sb) {
    int nd;
    int64_t shape[CG_MAX_DIMS];
    if (cg__broadcast_shape(fn, x->ndim, x->shape, nb, sb, &nd, shape) < 0) return -1;
    if (cg__same_shape(nd, shape, x->ndim, x->shape)) return 0;
    cg__shape_error(fn, CG_MSG_OUTPUT_BROADCAST, x->ndim, x->shape, nd, shape);
    return -1;
}

/* binary_cross_entropy_with_logits's checks: shapes, requires_grad, then
 * the checks in the order torch's kernel meets them: -input,
 * (pos_weight - 1).mul(target), (1 - target).mul_(input), exp_ on the
 * input's dtype, loss.add_(log_weight * ...), loss.mul_(weight) */
static int bce_check(const char *fn, const cg_tensor *x, const cg_tensor *t,
                     const cg_tensor *weight, const cg_tensor *pos_weight) {
    if (!cg__same_shape(x->ndim, x->shape, t->ndim, t->shape)) {
        cg__shape_error(fn,
                        "Target size (torch.Size(%s)) must be the same as input size "
                        "(torch.Size(%s))",
                        t->ndim, t->shape, x->ndim, x->shape);
        return -1;
    }
    const char *what = "binary_cross_entropy_with_logits";
    if (cg__grad_enabled && weight && cg__requires_grad(weight)) {
        cg__error(fn, NOT_DIFFERENTIABLE, what, "weight");
        return -1;
    }
    if (cg__grad_enabled && pos_weight && cg__requires_grad(pos_weight)) {
        cg__error(fn, NOT_DIFFERENTIABLE, what, "pos_weight");
        return -1;
    }
    if (x->dtype == CG_BOOL) {
        cg__error(fn, CG_MSG_NEG_BOOL);
        return -1;
    }
    int nl = 0;
    int64_t lshape[CG_MAX_DIMS]; /* log_weight's shape */
    if (pos_weight) {
        if (pos_weight->dtype == CG_BOOL) {
            cg__error(fn, CG_MSG_SUB_BOOL);
            return -1;
        }
        if (cg__broadcast_shape(fn, pos_weight->ndim, pos_weight->shape, t->ndim, t->shape, &nl,
                                lshape) < 0)
            return -1;
    }
    if (t->dtype == CG_BOOL) {
        cg__error(fn, CG_MSG_SUB_BOOL);
        return -1;
    }
    if (!cg_dtype_is_floating(x->dtype) || !cg_dtype_is_floating(t->dtype)) {
        cg__error(fn, CG_MSG_RESULT_TYPE_CAST,
                  cg_dtype_is_floating(x->dtype) ? cg__scalar_type_name(x->dtype) : "Float",
                  "Long");
        return -1;
    }
    if (pos_weight && !cg__same_shape(nl, lshape, x->ndim, x->shape)) {
        cg__shape_error(fn, CG_MSG_OUTPUT_BROADCAST, x->ndim, x->shape, nl, lshape);
        return -1;
    }
    if (weight && check_inplace_broadcast(fn, x, weight->ndim, weight->shape) < 0) return -1;
    return 0;
}

/* the loss of each element into out (x's shape for reduction 'none', else
 * 0-d): (1 - t) x + lw log(1 + exp(-x)), lw = 1 + (pos_weight - 1) t, times
 * weight */
static int bce_compute(cg_tensor *x, cg_tensor *t, cg_tensor *weight, cg_tensor *pos_weight,
                       cg_reduction red, cg_tensor *out) {
    int nd = x->ndim;
    const int64_t *shape = x->shape;
    cg_tensor *xd = cg__as_contiguous(x), *td = cg__as_contiguous(t);
    cg_tensor *wd = weight ? dense_at(weight, nd, shape) : NULL;
    cg_tensor *pd = pos_weight ? dense_at(pos_weight, nd, shape) : NULL;
    if (!xd || !td || (weight && !wd) || (pos_weight && !pd)) return -1;
    bool none = red == CG_REDUCTION_NONE;
    int64_t n = cg__numel(nd, shape);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double xv = get(xd, i), tv = get(td, i);
        /* log(1 + exp(-x)), stably */
        double sp = log1p(exp(-fabs(xv))) + (xv < 0 ? -xv : 0);
        double lw = pd ? 1 + (get(pd, i) - 1) * tv : 1;
        double v = (1 - tv) * xv + lw * sp;
        if (wd) v *= get(wd, i);
        if (none)
            put(out, i, v);
        else
            sum += v;
    }
    if (!none) put(out, 0, red == CG_REDUCTION_MEAN ? sum / (double)n : sum);
    return 0;
}

cg_tensor *cg_binary_cross_entropy_with_logits(cg_tensor *x, cg_tensor *t, cg_tensor *weight,
                                               cg_tensor *pos_weight, cg_reduction reduction) {
    const char *fn = "cg_binary_cross_entropy_with_logits";
    if (!x || !t) return NULL;
    if (check_reduction(fn, reduction) < 0) return NULL;
    if (bce_check(fn, x, t, weight, pos_weight) < 0) return NULL;
    bool none = reduction == CG_REDUCTION_NONE;
    cg_dtype dt = t->dtype; /* torch computes the loss in (1 - target)'s dtype */
    cg_tensor *out = none ? cg__tensor_new(dt, x->ndim, x->shape) : cg__tensor_new(dt, 0, NULL);
    if (!out || bce_compute(x, t, weight, pos_weight, reduction, out) < 0) return NULL;
    cg_tensor *in[2] = {x, t};
    cg_node *node = cg__record(CG_OP_BCE_WITH_LOGITS, out, 2, in);
    if (node) {
        node->iv[BCE_REDUCTION] = reduction;
        node->iv[BCE_HAS_WEIGHT] = weight != NULL;
        node->iv[BCE_HAS_POS_WEIGHT] = pos_weight != NULL;
        node->n_iv = BCE_N_IV;
        if (cg__node_reserve_saved(node, BCE_N_SAVED) < 0) {
            cg__oom(fn);
            return NULL;
        }
        if (cg__save(node, BCE_SELF, x, false) < 0 || cg__save(node, BCE_TARGET, t, false) < 0 ||
            cg__save(node, BCE_WEIGHT, weight, false) < 0 ||
            cg__save(node, BCE_POS_WEIGHT, pos_weight, false) < 0)
            return NULL;
    }
    return cg__recorded(out);
}

/* log(sigmoid(z)) = min(z, 0) - log(1 + exp(-|z|)), in cgrad ops */
static cg_tensor *log_sigmoid(cg_tensor *z) {
    cg_tensor *az = cg_abs(z);
    return cg_sub(cg_mul_scalar(cg_sub(z, az), 0.5), cg_log(cg_add_scalar(cg_exp(cg_neg(az)), 1)));
}

int cg__bw_bce_with_logits(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    bool has_w = n->iv[BCE_HAS_WEIGHT], has_pw = n->iv[BCE_HAS_POS_WEIGHT];
    cg_tensor *x = cg__unpack(n, BCE_SELF), *t = cg__unpack(n, BCE_TARGET);
    cg_tensor *w = has_w ? cg__unpack(n, BCE_WEIGHT) : NULL;
    cg_tensor *pw = has_pw ? cg__unpack(n, BCE_POS_WEIGHT) : NULL;
    bool mean = n->iv[BCE_REDUCTION] == CG_REDUCTION_MEAN;
    if (!x || !t || (has_w && !w) || (has_pw && !pw)) return -1;
    double cnt = (double)cg__numel(x->ndim, x->shape);
    if (CG_WANT(n, 0)) {
        /* d/dx = (1 + (pw - 1) t) sigmoid(x) - pw t; sigmoid(x) - t without pos_weight */
        cg_tensor *g;
        if (pw) {
            cg_tensor *tp = cg_mul(pw, t);
            g = cg_sub(cg_mul(cg_sub(cg_add_scalar(tp, 1), t), cg_sigmoid(x)), tp);
        } else {
            g = cg_sub(cg_sigmoid(x), t);
        }
        if (w) g = cg_mul(g, w);
        g = cg_mul(g, go[0]);
        if (mean) g = cg_div_scalar(g, cnt);
        if (!(gi[0] = g)) return -1;
    }
    if (CG_WANT(n, 1)) {
        /* d/dt = -x + (pw - 1) log(1 + exp(-x)) = log_sigmoid(-x) - pw log_sigmoid(x);
         * -x without pos_weight */
        cg_tensor *g = pw ? cg_sub(log_sigmoid(cg_neg(x)), cg_mul(log_sigmoid(x), pw)) : cg_neg(x);
        if (w) g = cg_mul(g, w);
        g = cg_mul(g, go[0]);
        if (mean) g = cg_div_scalar(g, cnt);
        if (!(gi[1] = g)) return -1;
    }
    return 0;
}
