/* linear_cross_entropy: cross_entropy(linear(input, weight, bias), target)
 * as one op that never holds the (N, V) logits (NOTE [ Fused linear
 * cross-entropy ]); its row is LinearCrossEntropyBackward0 in
 * src/ops/linear_ce.def. */
#include "ops.h"

#include "../kernels/kernels.h"

#include <math.h>
#include <stdlib.h>

/* NOTE [ Fused linear cross-entropy ]
 * A language model's head turns (N, C) hidden states into (N, V) logits,
 * V the vocabulary (GPT-2: 1024 x 50257, 206 MB in float32), and the
 * loss holds them, their log-softmax and their gradient. The fused op
 * walks the rows in chunks of R (R V elements within LCE_CHUNK_BYTES, at
 * least LCE_MIN_ROWS rows), one chunk buffer reused:
 *     z = bias + x_chunk W^T                       (a GEMM, beta 1)
 *     loss_r = logsumexp(z_r) - z_r[t_r]           (the kernel's lce_rows)
 * and, when a gradient is wanted, in the same pass:
 *     dz = c_r (softmax(z_r) - onehot(t_r))        (c_r: 1 / count for a
 *                                                   mean, 1 for a sum, 0
 *                                                   for an ignored target)
 *     dx_chunk = dz W,  dW += dz^T x_chunk,  db += column sums of dz
 * as Liger-Kernel's FusedLinearCrossEntropy does. The node keeps dx, dW and
 * db; its backward scales them by the incoming scalar gradient, or hands
 * them on as they are when that is exactly 1 (only the node holds them, so
 * without retain_graph AccumulateGrad takes them without a copy). A forward
 * with grad mode on and no backward therefore costs the backward's GEMMs.
 * Under create_graph the backward composes cgrad ops (linear, softmax, mm)
 * on the saved inputs instead, so the gradient differentiates again. */

enum {
    LCE_INPUT,
    LCE_WEIGHT,
    LCE_BIAS,
    LCE_TARGET,
    LCE_GRAD_INPUT,
    LCE_GRAD_WEIGHT,
    LCE_GRAD_BIAS,
    LCE_N_SAVED
};                                                                /* saved */
enum { LCE_REDUCTION, LCE_IGNORE_INDEX, LCE_HAS_BIAS, LCE_N_IV }; /* n->iv */
enum { LCE_COUNT };                                               /* n->sc: counted targets */

/* within the large-block cache; 32 MiB: 7% less CPU on the tiny GPT-2 step,
 * 30 MB more peak memory on GPT-2 small's */
#define LCE_CHUNK_BYTES ((int64_t)16 << 20)
#define LCE_MIN_ROWS 16

static _Thread_local int64_t chunk_rows_override; /* 0: from LCE_CHUNK_BYTES */

void cg__linear_ce_set_chunk_rows(int64_t rows) { chunk_rows_override = rows > 0 ? rows : 0; }

static int64_t chunk_rows(int64_t N, int64_t V, cg_dtype d) {
    int64_t row = V * (int64_t)cg__esize(d), r = chunk_rows_override;
    if (!r) r = row ? LCE_CHUNK_BYTES / row : N;
    if (r < LCE_MIN_ROWS && !chunk_rows_override) r = LCE_MIN_ROWS;
    return r < N ? r : N > 0 ? N : 1;
}

/* ------------------------------------------------------------------ checks */

/* linear's checks in PyTorch's order (addmm with a bias, mm without), then
 * the log_softmax's dtype; *bx = bias expanded to (N, V), no graph */
static int check_linear(const char *fn, cg_tensor *x, cg_tensor *w, cg_tensor *b, cg_tensor **bx) {
    if (x->ndim != 2 || w->ndim != 2) {
        cg__error(fn, "%s must be a matrix, got %d-D tensor", x->ndim != 2 ? "input" : "weight",
                  x->ndim != 2 ? x->ndim : w->ndim);
        return -1;
    }
    if (b && b->dtype != w->dtype) {
        cg__error(fn, "self and mat2 must have the same dtype");
        return -1;
    }
    if (b && x->dtype != w->dtype) {
        cg__error(fn, "mat1 and mat2 must have the same dtype");
        return -1;
    }
    if (x->shape[1] != w->shape[1]) {
        cg__error(fn, CG_MSG_MAT_SHAPES, (long long)x->shape[0], (long long)x->shape[1],
                  (long long)w->shape[1], (long long)w->shape[0]);
        return -1;
    }
    if (x->dtype != w->dtype) {
        cg__error(fn, CG_MSG_EXPECTED_SCALAR_TYPE, cg__scalar_type_name(x->dtype),
                  cg__scalar_type_name(w->dtype));
        return -1;
    }
    *bx = NULL;
    if (b) {
        bool prev = cg_set_grad_enabled(false);
        *bx = cg_expand(b, CG_SHAPE(x->shape[0], w->shape[0])); /* PyTorch's expand errors */
        cg_set_grad_enabled(prev);
        if (!*bx) return -1;
    }
    if (!cg_dtype_is_floating(x->dtype)) {
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED,
                  x->dtype == CG_BOOL ? "addmm_impl_cpu_" : "log_softmax_lastdim_kernel_impl",
                  cg__scalar_type_name(x->dtype));
        return -1;
    }
    return 0;
}

/* reduction, then cross_entropy's target checks (nll_loss's) */
static int check_target(const char *fn, const cg_tensor *x, const cg_tensor *t, cg_reduction r) {
    if (r == CG_REDUCTION_NONE) {
        cg__error(fn, "reduction 'none' is not supported: the fused loss is a mean or a sum");
        return -1;
    }
    if (r != CG_REDUCTION_MEAN && r != CG_REDUCTION_SUM) {
        cg__error(fn, "%d is not a valid value for reduction", (int)r);
        return -1;
    }
    if (t->ndim > 1) {
        cg__error(fn, "0D or 1D target tensor expected, multi-target not supported");
        return -1;
    }
    int64_t tb = t->ndim ? t->shape[0] : 0;
    if (x->shape[0] != tb) {
        cg__error(fn, "Expected input batch_size (%lld) to match target batch_size (%lld).",
                  (long long)x->shape[0], (long long)tb);
        return -1;
    }
    if (t->dtype != CG_INT64) {
        cg__error(fn, CG_MSG_EXPECTED_SCALAR_TYPE, "Long", cg__scalar_type_name(t->dtype));
        return -1;
    }
    return 0;
}

/* tgt[r] = the class of row r, -1 when ignored; the counted rows, or -1 with
 * PyTorch's error for a class out of [0, V) */
static int64_t read_targets(const char *fn, cg_tensor *target, int64_t ignore_index, int64_t V,
                            int64_t *tgt) {
    cg_tensor *td = cg__as_contiguous(target);
    if (!td) return -1;
    const int64_t *tp = cg__ptr(td);
    int64_t count = 0;
    for (int64_t r = 0, n = cg__numel(td->ndim, td->shape); r < n; r++) {
        int64_t t = tp[r];
        if (t == ignore_index) {
            tgt[r] = -1;
            continue;
        }
        if (t < 0 || t >= V) {
            cg__error(fn, "Target %lld is out of bounds.", (long long)t);
            return -1;
        }
        tgt[r] = t;
        count++;
    }
    return count;
}

/* ----------------------------------------------------------------- forward */

/* One fused forward: its operands, targets and the gradients it fills. */
typedef struct {
    cg_tensor *x, *w, *wt, *bx; /* x (N, C), w (V, C), wt = w^T, bx (N, V) or NULL */
    const int64_t *tgt;         /* (N) classes, -1 ignored */
    int64_t N, V;
    double scale;                  /* dz's factor for counted rows */
    cg_tensor *dx, *dw, *db, *one; /* (N, C), (V, C), (V), ones (R); NULL: not wanted */
} lce_job;

/* rows [r0, r0 + nr) of a 2-D t, a view (no graph) */
static cg_tensor *rows_of(cg_tensor *t, int64_t r0, int64_t nr) {
    return cg__tensor_view(t, CG_SHAPE(nr, t->shape[1]), t->strides,
                           t->offset + r0 * t->strides[0]);
}

static cg_tensor *transposed(cg_tensor *t) {
    return cg__tensor_view(t, CG_SHAPE(t->shape[1], t->shape[0]),
                           (int64_t[]){t->strides[1], t->strides[0]}, t->offset);
}

/* a contiguous 1-D t's first n elements as a (1, n) row */
static cg_tensor *as_row(cg_tensor *t, int64_t n) {
    return cg__tensor_view(t, CG_SHAPE(1, n), (int64_t[]){n, 1}, t->offset);
}

/* the kernel's lce_rows over the nr rows of z, on threads when large */
static void row_pass(cg_dtype d, int64_t nr, int64_t V, void *z, const int64_t *tgt,
                     const void *coef, double *loss) {
    const cg__kernels *k = cg__kern();
    size_t es = cg__esize(d);
#ifdef CG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if (nr * V >= (1 << 16))
#endif
    for (int64_t r = 0; r < nr; r++) {
        char *zr = (char *)z + (size_t)(r * V) * es;
        const char *cr = coef ? (const char *)coef + (size_t)r * es : NULL;
        if (d == CG_FLOAT32)
            k->lce_rows_f32(1, V, (float *)zr, tgt + r, (const float *)cr, loss + r);
        else
            k->lce_rows_f64(1, V, (double *)zr, tgt + r, (const double *)cr, loss + r);
    }
}

/* rows [r0, r0 + nr) through z = buf's first nr rows: losses into loss, and
 * the wanted gradients; coef (nr): c_r, or NULL without gradients */
static int run_chunk(lce_job *j, int64_t r0, int64_t nr, cg_tensor *buf, const void *coef,
                     double *loss) {
    cg_tensor *z = rows_of(buf, 0, nr), *xr = rows_of(j->x, r0, nr); /* (nr, V), (nr, C) */
    if (!z || !xr) return -1;
    if (j->bx) {
        cg_tensor *br = rows_of(j->bx, r0, nr);
        if (!br) return -1;
        cg__copy_into(z, br);
    }
    cg__mm_into(z, xr, j->wt, j->bx ? 1 : 0);
    row_pass(z->dtype, nr, j->V, cg__ptr(z), j->tgt + r0, coef, loss);
    if (!coef) return 0;
    double beta = r0 ? 1 : 0;
    if (j->dx) {
        cg_tensor *dxr = rows_of(j->dx, r0, nr);
        if (!dxr) return -1;
        cg__mm_into(dxr, z, j->w, 0);
    }
    if (j->dw) {
        cg_tensor *zt = transposed(z);
        if (!zt) return -1;
        cg__mm_into(j->dw, zt, xr, beta);
    }
    if (j->db) { /* (1, V) += ones (1, nr) @ z */
        cg_tensor *ones = as_row(j->one, nr), *db = as_row(j->db, j->V);
        if (!ones || !db) return -1;
        cg__mm_into(db, ones, z, beta);
    }
    return 0;
}

/* c_r for rows [r0, r0 + nr) into coef, as T */
#define LCE_COEFS(T)                                                                               \
    for (int64_t r = 0; r < nr; r++) ((T *)coef)[r] = (T)(j->tgt[r0 + r] < 0 ? 0 : j->scale)

/* every chunk; the summed loss into *sum */
static int run_chunks(lce_job *j, bool grad, double *sum) {
    cg_dtype d = j->x->dtype;
    int64_t R = chunk_rows(j->N, j->V, d);
    cg_tensor *buf = cg__tensor_new(d, CG_SHAPE(R, j->V));       /* (R, V) */
    double *loss = malloc(sizeof(double) * (size_t)R);           /* (R) */
    void *coef = grad ? malloc(cg__esize(d) * (size_t)R) : NULL; /* (R) */
    int rc = buf && loss && (coef || !grad) ? 0 : -1;
    *sum = 0;
    for (int64_t r0 = 0; r0 < j->N && rc == 0; r0 += R) {
        int64_t nr = j->N - r0 < R ? j->N - r0 : R;
        if (grad && d == CG_FLOAT32)
            LCE_COEFS(float);
        else if (grad)
            LCE_COEFS(double);
        rc = run_chunk(j, r0, nr, buf, coef, loss);
        for (int64_t r = 0; r < nr && rc == 0; r++) *sum += loss[r];
    }
    if (rc < 0 && !cg_last_error()) cg__oom("cg_linear_cross_entropy");
    free(loss), free(coef);
    return rc;
}

/* the wanted gradients' buffers (zeros where no chunk will write them) */
static int alloc_grads(lce_job *j, bool gx, bool gw, bool gb) {
    cg_dtype d = j->x->dtype;
    int64_t C = j->x->shape[1], R = chunk_rows(j->N, j->V, d);
    if (gx && !(j->dx = cg__tensor_new(d, CG_SHAPE(j->N, C)))) return -1;
    if (gw &&
        !(j->dw = j->N ? cg__tensor_new(d, CG_SHAPE(j->V, C)) : cg_zeros(CG_SHAPE(j->V, C), d)))
        return -1;
    if (gb && !(j->db = j->N ? cg__tensor_new(d, CG_SHAPE(j->V)) : cg_zeros(CG_SHAPE(j->V), d)))
        return -1;
    if (gb && !(j->one = cg_ones(CG_SHAPE(R), d))) return -1;
    return 0;
}

/* ---------------------------------------------------------------- recording */

static int save_all(cg_node *n, cg_tensor *const *in, bool has_b, const lce_job *j) {
    if (cg__node_reserve_saved(n, LCE_N_SAVED) < 0) {
        cg__oom("cg_linear_cross_entropy");
        return -1;
    }
    return cg__save(n, LCE_INPUT, in[0], false) < 0 || cg__save(n, LCE_WEIGHT, in[1], false) < 0 ||
                   cg__save(n, LCE_BIAS, has_b ? in[2] : NULL, false) < 0 ||
                   cg__save(n, LCE_TARGET, in[has_b ? 3 : 2], false) < 0 ||
                   cg__save(n, LCE_GRAD_INPUT, j->dx, false) < 0 ||
                   cg__save(n, LCE_GRAD_WEIGHT, j->dw, false) < 0 ||
                   cg__save(n, LCE_GRAD_BIAS, j->db, false) < 0
               ? -1
               : 0;
}

/* the loss (0-d), gradients computed when grad; recorded */
static cg_tensor *lce_forward(lce_job *j, cg_tensor *const *in, bool has_b, int64_t ignore_index,
                              cg_reduction red, int64_t count) {
    bool grad = cg__grad_enabled && (cg__requires_grad(j->x) || cg__requires_grad(j->w) ||
                                     (has_b && cg__requires_grad(in[2])));
    cg_dtype d = j->x->dtype;
    j->scale = red == CG_REDUCTION_MEAN ? 1.0 / (double)count : 1.0;
    if (grad && alloc_grads(j, cg__requires_grad(j->x), cg__requires_grad(j->w),
                            has_b && cg__requires_grad(in[2])) < 0)
        return NULL;
    double sum;
    if (run_chunks(j, grad, &sum) < 0) return NULL;
    cg_tensor *out = cg__tensor_new(d, 0, NULL);
    if (!out) return NULL;
    cg__store(cg__ptr(out), d, 0, red == CG_REDUCTION_MEAN ? sum / (double)count : sum);
    cg_node *n = cg__record(CG_OP_LINEAR_CROSS_ENTROPY, out, has_b ? 4 : 3, in);
    if (n) {
        n->iv[LCE_REDUCTION] = red;
        n->iv[LCE_IGNORE_INDEX] = ignore_index;
        n->iv[LCE_HAS_BIAS] = has_b;
        n->n_iv = LCE_N_IV;
        n->sc[LCE_COUNT] = (double)count;
        if (save_all(n, in, has_b, j) < 0) return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_linear_cross_entropy(cg_tensor *input, cg_tensor *weight, cg_tensor *bias,
                                   cg_tensor *target, int64_t ignore_index,
                                   cg_reduction reduction) {
    const char *fn = "cg_linear_cross_entropy";
    if (!input || !weight || !target) return NULL;
    lce_job j = {.x = input, .w = weight};
    if (check_linear(fn, input, weight, bias, &j.bx) < 0 ||
        check_target(fn, input, target, reduction) < 0)
        return NULL;
    j.N = input->shape[0], j.V = weight->shape[0];
    int64_t *tgt = malloc(sizeof(int64_t) * (size_t)(j.N ? j.N : 1)); /* (N) */
    if (!tgt) return cg__oom(fn);
    int64_t count = read_targets(fn, target, ignore_index, j.V, tgt);
    cg_tensor *out = NULL;
    if (count >= 0) {
        j.tgt = tgt;
        /* the buffers go with this scope; the gradients live on in the node */
        cg_scope_begin();
        cg_tensor *in[4] = {input, weight, bias ? bias : target, target};
        if ((j.wt = transposed(weight)))
            out = cg_keep(lce_forward(&j, in, bias != NULL, ignore_index, reduction, count));
        cg_scope_end();
    }
    free(tgt);
    return out;
}

/* ---------------------------------------------------------------- backward */

/* c_r per row (N, 1) and c_r onehot(t_r) (N, V), constants of the target */
static int grad_consts(cg_node *n, cg_tensor *t, int64_t V, cg_dtype d, cg_tensor **k,
                       cg_tensor **M) {
    cg_tensor *td = cg__as_contiguous(t);
    int64_t N = cg__numel(t->ndim, t->shape), ign = n->iv[LCE_IGNORE_INDEX];
    double c = n->iv[LCE_REDUCTION] == CG_REDUCTION_MEAN ? 1 / n->sc[LCE_COUNT] : 1;
    *k = cg_zeros(CG_SHAPE(N, 1), d);
    *M = cg_zeros(CG_SHAPE(N, V), d);
    if (!td || !*k || !*M) return -1;
    const int64_t *tp = cg__ptr(td);
    for (int64_t r = 0; r < N; r++) {
        if (tp[r] == ign) continue;
        cg__store(cg__ptr(*k), d, r, c);
        cg__store(cg__ptr(*M), d, r * V + tp[r], c);
    }
    return 0;
}

/* create_graph: dz = (softmax(x W^T + b) c - c onehot(t)) g in cgrad ops,
 * dx = dz W, dW = dz^T x, db = dz summed over rows */
static int backward_composed(cg_node *n, cg_tensor *x, cg_tensor *w, cg_tensor *b, cg_tensor *t,
                             cg_tensor *g, cg_tensor **gi) {
    cg_tensor *k, *M;
    if (grad_consts(n, t, w->shape[0], x->dtype, &k, &M) < 0) return -1;
    cg_tensor *dz = cg_mul(cg_sub(cg_mul(cg_softmax(cg_linear(x, w, b), 1), k), M), g);
    if (!dz) return -1;
    if (CG_WANT(n, 0) && !(gi[0] = cg_mm(dz, w))) return -1;
    if (CG_WANT(n, 1) && !(gi[1] = cg_mm(cg_t(dz), x))) return -1;
    if (b && CG_WANT(n, 2) && !(gi[2] = cg_sum_dims(dz, CG_DIMS(0), false))) return -1;
    return 0;
}

/* the forward's gradients times g (as they are when g is exactly 1), or the
 * composed formula under create_graph */
int cg__bw_linear_ce(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    bool has_b = n->iv[LCE_HAS_BIAS];
    cg_tensor *x = cg__unpack(n, LCE_INPUT), *w = cg__unpack(n, LCE_WEIGHT);
    cg_tensor *b = has_b ? cg__unpack(n, LCE_BIAS) : NULL, *t = cg__unpack(n, LCE_TARGET);
    if (!x || !w || (has_b && !b) || !t) return -1;
    cg_tensor *g = go[0];
    if (cg__grad_enabled) return backward_composed(n, x, w, b, t, g, gi);
    const int slot[3] = {LCE_GRAD_INPUT, LCE_GRAD_WEIGHT, LCE_GRAD_BIAS};
    bool one = g->dtype == x->dtype && cg__read_linear(g, 0) == 1;
    for (int i = 0; i < (has_b ? 3 : 2); i++) {
        if (!CG_WANT(n, i)) continue;
        cg_tensor *d = cg__unpack(n, slot[i]);
        if (!d || !(gi[i] = one ? d : cg_mul(d, g))) return -1;
    }
    return 0;
}
