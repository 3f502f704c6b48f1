/* Neural-net functions — softmax, log_softmax, dropout, embedding, layer_norm,
 * addmm and linear — each forward beside its backward. The backwards are
 * written with cgrad ops, so create_graph records them (higher-order
 * gradients). */
#include "ops.h"

#include "../kernels/kernels.h"

#include <math.h>
#include <stdio.h>

#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------- rows on threads */

/* Below this many elements a row kernel runs on one thread: a thread team
 * costs more than it saves. softmax's backward does a third of the work of
 * the others per element, so it waits for four times as many. */
#define NN_PARALLEL_MIN 32768
#define NN_PARALLEL_MIN_LIGHT (4 * NN_PARALLEL_MIN)

/* One row-kernel call over contiguous (rows, len) arrays: each range of rows
 * reads and writes its own rows; what a kernel does not use is NULL. */
typedef struct rows_job {
    cg_dtype dtype;
    int64_t len;               /* elements per row (layer_norm: D) */
    const void *x, *g, *w, *b; /* (rows, len), (rows, len), (len), (len) */
    void *y, *mean, *rstd;     /* (rows, len), (rows), (rows) */
    double *acc, eps;          /* layer_norm backward: dw, db sums per thread (ln_acc_stride) */
    bool log_, want_dw, want_db;
} rows_job;

typedef void (*rows_fn)(const rows_job *j, int64_t lo, int64_t hi, int thread);

/* How many threads split rows of len elements: 1 below min elements. */
static int rows_threads(int64_t rows, int64_t len, int64_t min) {
#ifdef CG_HAVE_OPENMP
    if (rows > 1 && rows * len >= min) {
        int nt = omp_get_max_threads();
        return rows < nt ? (int)rows : nt;
    }
#else
    CG_UNUSED(rows), CG_UNUSED(len), CG_UNUSED(min);
#endif
    return 1;
}

/* f over rows [0, rows), in nt ranges (thread t takes range t), as cg__dense */
static void rows_run(rows_fn f, const rows_job *j, int64_t rows, int nt) {
#ifdef CG_HAVE_OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        {
            int n = omp_get_num_threads(), t = omp_get_thread_num();
            f(j, rows * t / n, rows * (t + 1) / n, t);
        }
        return;
    }
#else
    CG_UNUSED(nt);
#endif
    f(j, 0, rows, 0);
}

/* ------------------------------------------------------ softmax, log_softmax */

enum { SOFTMAX_RESULT };            /* saved */
enum { SOFTMAX_DIM, SOFTMAX_N_IV }; /* n->iv */

/* out = softmax (or log_softmax) of x along dim: exp(x - max) / sum, in
 * T's arithmetic (EXP, LOG) with the sum in double; a NaN in a row makes the
 * row NaN. The exponentials go into out first, then are scaled. */
#define SOFTMAX_ROWS(T, EXP, LOG)                                                                  \
    do {                                                                                           \
        const T *xp = (const T *)cg__ptr(x);                                                       \
        T *op = (T *)cg__ptr(out);                                                                 \
        for (int64_t r = 0; r < rows; r++) {                                                       \
            int64_t xo = 0, oo = 0;                                                                \
            for (int d = 0; d < nd; d++)                                                           \
                xo += idx[d] * x->strides[d], oo += idx[d] * out->strides[d];                      \
            T m = -INFINITY;                                                                       \
            for (int64_t i = 0; i < len; i++) {                                                    \
                T v = xp[xo + i * xs];                                                             \
                if (v > m || isnan(v)) m = isnan(m) ? m : v;                                       \
            }                                                                                      \
            double sum = 0;                                                                        \
            for (int64_t i = 0; i < len; i++) sum += op[oo + i * os] = EXP(xp[xo + i * xs] - m);   \
            T lse = (T)LOG(sum), inv = (T)(1 / sum);                                               \
            for (int64_t i = 0; i < len; i++)                                                      \
                op[oo + i * os] = log_ ? xp[xo + i * xs] - m - lse : op[oo + i * os] * inv;        \
            cg__next_index(nd, rest, idx);                                                         \
        }                                                                                          \
    } while (0)

/* softmax (or log_softmax) of rows [lo, hi) by the kernel table */
static void softmax_range(const rows_job *j, int64_t lo, int64_t hi, int thread) {
    const cg__kernels *k = cg__kern();
    int64_t o = lo * j->len;
    CG_UNUSED(thread);
    if (j->dtype == CG_FLOAT32)
        k->softmax_f32(hi - lo, j->len, (const float *)j->x + o, (float *)j->y + o, j->log_);
    else
        k->softmax_f64(hi - lo, j->len, (const double *)j->x + o, (double *)j->y + o, j->log_);
}

/* the backward of rows [lo, hi): j->x the forward's output, j->g the
 * gradient, j->y the input's gradient */
static void softmax_bw_range(const rows_job *j, int64_t lo, int64_t hi, int thread) {
    const cg__kernels *k = cg__kern();
    int64_t o = lo * j->len;
    CG_UNUSED(thread);
    if (j->dtype == CG_FLOAT32)
        k->softmax_bw_f32(hi - lo, j->len, (const float *)j->x + o, (const float *)j->g + o,
                          (float *)j->y + o, j->log_);
    else
        k->softmax_bw_f64(hi - lo, j->len, (const double *)j->x + o, (const double *)j->g + o,
                          (double *)j->y + o, j->log_);
}

/* A contiguous x along its last dim takes the kernel table's rows; any
 * other dim or layout the strided SOFTMAX_ROWS. */
static void softmax_kernel(const cg_tensor *x, int dim, bool log_, cg_tensor *out) {
    int nd = x->ndim;
    int64_t len = nd ? x->shape[dim] : 1, numel = cg__numel(nd, x->shape);
    if ((nd == 0 || dim == nd - 1) && cg__is_contiguous(x)) {
        int64_t rows = numel ? numel / len : 0;
        rows_job j = {.dtype = x->dtype,
                      .len = len,
                      .x = cg__ptr(x),
                      .y = cg__ptr(out),
                      .log_ = log_};
        rows_run(softmax_range, &j, rows, rows_threads(rows, len, NN_PARALLEL_MIN));
        return;
    }
    int64_t rest[CG_MAX_DIMS], idx[CG_MAX_DIMS] = {0};
    memcpy(rest, x->shape, sizeof rest);
    int64_t xs = nd ? x->strides[dim] : 0, os = nd ? out->strides[dim] : 0;
    if (nd) rest[dim] = 1;
    int64_t rows = cg__numel(nd, rest);
    if (x->dtype == CG_FLOAT32)
        SOFTMAX_ROWS(float, cg__expf, log);
    else
        SOFTMAX_ROWS(double, exp, log);
}

static cg_tensor *softmax_like(const char *fn, cg_op op, cg_tensor *a, int dim, bool log_) {
    if (!a) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0) return NULL;
    bool empty = cg__numel(a->ndim, a->shape) == 0;
    if (!cg_dtype_is_floating(a->dtype)) {
        if (empty) return cg__tensor_new(a->dtype, a->ndim, a->shape); /* as PyTorch */
        bool last = a->ndim == 0 || d == a->ndim - 1;
        /* PyTorch's kernel names: log_softmax shares softmax's off the last dim */
        const char *kernel = !last  ? "softmax_kernel_impl"
                             : log_ ? "log_softmax_lastdim_kernel_impl"
                                    : "softmax_lastdim_kernel_impl";
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED, kernel, cg__scalar_type_name(a->dtype));
        return NULL;
    }
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape); /* a's shape */
    if (!out) return NULL;
    softmax_kernel(a, d, log_, out);
    cg_node *n = cg__record(op, out, 1, &a);
    if (n) {
        n->iv[SOFTMAX_DIM] = d;
        n->n_iv = SOFTMAX_N_IV;
        if (cg__save(n, SOFTMAX_RESULT, out, true) < 0) return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_softmax(cg_tensor *a, int dim) {
    return softmax_like("cg_softmax", CG_OP_SOFTMAX, a, dim, false);
}

cg_tensor *cg_log_softmax(cg_tensor *a, int dim) {
    return softmax_like("cg_log_softmax", CG_OP_LOG_SOFTMAX, a, dim, true);
}

/* NOTE [ Fused backward ]
 * A plain backward (grad mode off) of softmax, log_softmax and layer_norm
 * runs the kernel table's fused backward over contiguous rows (softmax's
 * dim when it is the last, layer_norm's normalized dims), split across
 * threads when there are many; a create_graph backward builds the same
 * formula from cgrad ops, so it can be differentiated again. rows_of gives
 * softmax's contiguous (rows, len) views: 0, or 1 to take the ops, or -1 on
 * an error (so are the fused backwards' results). */
static int rows_of(cg_tensor **t, int dim, int64_t *rows, int64_t *len) {
    if (cg__grad_enabled || (*t)->ndim == 0 || dim != (*t)->ndim - 1) return 1;
    if (!cg__is_contiguous(*t) && !(*t = cg_contiguous(*t))) return -1;
    *len = (*t)->shape[dim];
    *rows = *len ? cg__numel((*t)->ndim, (*t)->shape) / *len : 0;
    return 0;
}

static int softmax_backward_fused(cg_tensor *y, cg_tensor *g, int d, bool log_, cg_tensor **res) {
    int64_t rows, len, rows2, len2;
    int rc = y->dtype != g->dtype ? 1 : rows_of(&y, d, &rows, &len);
    if (rc == 0) rc = rows_of(&g, d, &rows2, &len2);
    if (rc != 0) return rc;
    cg_tensor *out = *res = cg__tensor_new(y->dtype, y->ndim, y->shape);
    if (!out) return -1;
    rows_job j = {.dtype = y->dtype,
                  .len = len,
                  .x = cg__ptr(y),
                  .g = cg__ptr(g),
                  .y = cg__ptr(out),
                  .log_ = log_};
    rows_run(softmax_bw_range, &j, rows, rows_threads(rows, len, NN_PARALLEL_MIN_LIGHT));
    return 0;
}

int cg__bw_softmax(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *y = cg__unpack(n, SOFTMAX_RESULT);
    int d = (int)n->iv[SOFTMAX_DIM];
    if (!y) return -1;
    int rc = softmax_backward_fused(y, go[0], d, false, &gi[0]);
    if (rc <= 0) return rc;
    /* dx = y * (g - sum(g * y, dim)) */
    cg_tensor *s = cg_sum_dims(cg_mul(go[0], y), 1, &d, true);
    return (gi[0] = cg_mul(y, cg_sub(go[0], s))) ? 0 : -1;
}

int cg__bw_log_softmax(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *y = cg__unpack(n, SOFTMAX_RESULT);
    int d = (int)n->iv[SOFTMAX_DIM];
    if (!y) return -1;
    int rc = softmax_backward_fused(y, go[0], d, true, &gi[0]);
    if (rc <= 0) return rc;
    /* dx = g - softmax * sum(g, dim), softmax = exp(y) */
    cg_tensor *s = cg_sum_dims(go[0], 1, &d, true);
    return (gi[0] = cg_sub(go[0], cg_mul(cg_exp(y), s))) ? 0 : -1;
}

/* ----------------------------------------------------------------- dropout */

/* Python's repr of a float ("1.5", "2.0", "1e-20", "nan"), for messages
 * that PyTorch formats in Python. */
static void py_float_repr(char *buf, size_t size, double x) {
    if (isnan(x)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, size, x < 0 ? "-inf" : "inf");
        return;
    }
    char e[64];
    int prec = 0;
    for (; prec < 17; prec++) { /* the shortest digits that read back as x */
        snprintf(e, sizeof e, "%.*e", prec, x);
        if (strtod(e, NULL) == x) break;
    }
    snprintf(e, sizeof e, "%.*e", prec, x);
    const char *p = e, *sign = "";
    if (*p == '-') sign = "-", p++;
    char dig[32];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') dig[nd++] = *p;
    dig[nd] = '\0';
    int ex = *p ? atoi(p + 1) : 0;
    if (ex < -4 || ex >= 16) { /* scientific, as repr: 1e-20, 1.5e+16 */
        snprintf(buf, size, "%s%c%s%se%c%02d", sign, dig[0], nd > 1 ? "." : "", dig + 1,
                 ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    } else if (ex < 0) { /* 0.05 */
        snprintf(buf, size, "%s0.%.*s%s", sign, -ex - 1, "0000", dig);
    } else {
        char ip[32], fp[32];
        int ni = ex + 1;
        for (int i = 0; i < ni; i++) ip[i] = i < nd ? dig[i] : '0';
        ip[ni] = '\0';
        snprintf(fp, sizeof fp, "%s", nd > ni ? dig + ni : "0");
        snprintf(buf, size, "%s%s.%s", sign, ip, fp);
    }
}

cg_tensor *cg_dropout(cg_tensor *a, double p, bool training) {
    if (!a) return NULL;
    if (!(p >= 0 && p <= 1)) {
        char r[96];
        py_float_repr(r, sizeof r, p);
        cg__error("cg_dropout", "dropout probability has to be between 0 and 1, but got %s", r);
        return NULL;
    }
    int64_t numel = cg__numel(a->ndim, a->shape);
    if (p == 0 || !training || numel == 0) return cg__same(a);
    if (p == 1) /* input * zeros({}), as PyTorch: MulBackward0 with an empty edge */
        return cg_mul(a, cg_zeros(CG_SCALAR_SHAPE, (int)a->dtype));
    if (!cg_dtype_is_floating(a->dtype)) {
        cg__error("cg_dropout", CG_MSG_RESULT_TYPE_CAST, "Float", cg__scalar_type_name(a->dtype));
        return NULL;
    }
    /* noise = bernoulli(1 - p) / (1 - p); out = a * noise (MulBackward0, so the
     * gradient is g * mask / (1 - p)) */
    cg_tensor *u = cg_rand(a->ndim, a->shape, CG_FLOAT64);          /* a's shape, U[0, 1) */
    cg_tensor *noise = cg__tensor_new(a->dtype, a->ndim, a->shape); /* a's shape */
    if (!u || !noise) return NULL;
    const double *up = cg__ptr(u);
    double q = 1 - p, scale = 1 / q;
    if (a->dtype == CG_FLOAT32) {
        float *np = cg__ptr(noise);
        for (int64_t i = 0; i < numel; i++) np[i] = up[i] < q ? (float)scale : 0.0f;
    } else {
        double *np = cg__ptr(noise);
        for (int64_t i = 0; i < numel; i++) np[i] = up[i] < q ? scale : 0.0;
    }
    return cg_mul(a, noise);
}

/* --------------------------------------------------------------- embedding */

enum { EMBEDDING_INDICES };                     /* saved, both node kinds */
enum { EMBEDDING_NUM_WEIGHTS, EMBEDDING_N_IV }; /* n->iv, both node kinds: V */

/* The dense gradient of embedding: (V, D) zeros, row indices[k] += g[k, :].
 * g is (*indices.shape, D). Recorded (EmbeddingDenseBackwardBackward0), so a
 * create_graph backward can differentiate it again. */
static cg_tensor *embedding_dense_backward(cg_tensor *g, cg_tensor *indices, int64_t V) {
    int64_t nidx = cg__numel(indices->ndim, indices->shape);
    int64_t D = g->ndim ? g->shape[g->ndim - 1] : 1;
    if (!cg_dtype_is_floating(g->dtype) || g->ndim != indices->ndim + 1 ||
        cg__numel(g->ndim, g->shape) != nidx * D) {
        cg__error("cg_backward", "embedding_dense_backward: a gradient of shape [*indices, D] "
                                 "in a floating dtype expected");
        return NULL;
    }
    int64_t shape[2] = {V, D};
    cg_tensor *out = cg__tensor_new(g->dtype, 2, shape); /* (V, D) */
    cg_tensor *gc = cg__as_contiguous(g), *ic = cg__as_contiguous(indices);
    if (!out || !gc || !ic) return NULL;
    memset(cg__ptr(out), 0, (size_t)(V * D) * cg__esize(g->dtype));
    const cg__kernels *kern = cg__kern();
    if (g->dtype == CG_FLOAT32)
        kern->scatter_add_rows_f32(nidx, D, cg__ptr(ic), cg__ptr(gc), cg__ptr(out));
    else
        kern->scatter_add_rows_f64(nidx, D, cg__ptr(ic), cg__ptr(gc), cg__ptr(out));
    cg_node *n = cg__record(CG_OP_EMBEDDING_DENSE_BACKWARD, out, 1, &g);
    if (n) {
        n->iv[EMBEDDING_NUM_WEIGHTS] = V;
        n->n_iv = EMBEDDING_N_IV;
        if (cg__save(n, EMBEDDING_INDICES, indices, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_embedding(cg_tensor *weight, cg_tensor *indices) {
    if (!weight || !indices) return NULL;
    const char *fn = "cg_embedding";
    if (weight->ndim != 2) {
        cg__error(fn, "'weight' must be 2-D");
        return NULL;
    }
    if (indices->dtype != CG_INT64) {
        static const char *got[CG_NUM_DTYPES] = {"torch.FloatTensor", "torch.DoubleTensor", "",
                                                 "CPUBoolType"};
        cg__error(fn,
                  "Expected tensor for argument #1 'indices' to have one of the following "
                  "scalar types: Long, Int; but got %s instead (while checking arguments "
                  "for embedding)",
                  got[indices->dtype]);
        return NULL;
    }
    int64_t V = weight->shape[0], D = weight->shape[1];
    int64_t nidx = cg__numel(indices->ndim, indices->shape);
    if (V == 0 && nidx > 0) {
        cg__error(fn, CG_MSG_INDEX_AXIS_POSITIVE);
        return NULL;
    }
    if (indices->ndim + 1 > CG_MAX_DIMS) {
        cg__error(fn, "embedding: indices of %d dims give a result of more than %d dims",
                  indices->ndim, CG_MAX_DIMS);
        return NULL;
    }
    cg_tensor *ic = cg__as_contiguous(indices);
    if (!ic) return NULL;
    const int64_t *ip = cg__ptr(ic);
    for (int64_t k = 0; k < nidx; k++)
        if (ip[k] < 0 || ip[k] >= V) {
            if (D == 0) /* PyTorch's index_select of empty rows checks elsewhere */
                cg__error(fn, CG_MSG_INDICES_OUT_OF_DATA, (long long)ip[k], (long long)V);
            else
                cg__error(fn, CG_MSG_INDEX_RANGE);
            return NULL;
        }
    int64_t shape[CG_MAX_DIMS];
    memcpy(shape, indices->shape, sizeof(int64_t) * (size_t)indices->ndim);
    shape[indices->ndim] = D;
    cg_tensor *out = cg__tensor_new(weight->dtype, indices->ndim + 1, shape); /* (*idx, D) */
    if (!out) return NULL;
    size_t es = cg__esize(weight->dtype);
    const char *w = cg__ptr(weight);
    char *o = cg__ptr(out);
    for (int64_t k = 0; k < nidx; k++) { /* row ip[k], whole when its elements are adjacent */
        const char *row = w + ip[k] * weight->strides[0] * (int64_t)es;
        if (weight->strides[1] == 1)
            memcpy(o + k * D * (int64_t)es, row, (size_t)D * es);
        else
            for (int64_t j = 0; j < D; j++)
                memcpy(o + (k * D + j) * (int64_t)es, row + j * weight->strides[1] * (int64_t)es,
                       es);
    }
    /* the indices are not differentiable: one edge, to the weight */
    cg_node *n = cg__record(CG_OP_EMBEDDING, out, 1, &weight);
    if (n) {
        n->iv[EMBEDDING_NUM_WEIGHTS] = V;
        n->n_iv = EMBEDDING_N_IV;
        if (cg__save(n, EMBEDDING_INDICES, indices, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

int cg__bw_embedding(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *idx = cg__unpack(n, EMBEDDING_INDICES);
    int64_t V = n->iv[EMBEDDING_NUM_WEIGHTS];
    if (!idx) return -1;
    /* repeated indices accumulate into their row */
    return (gi[0] = embedding_dense_backward(go[0], idx, V)) ? 0 : -1;
}

int cg__bw_embedding_dense_backward(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *idx = cg__unpack(n, EMBEDDING_INDICES);
    if (!idx) return -1;
    /* the dense backward is linear in g: its gradient gathers go's rows back
     * (PyTorch records index_select + view here; this records EmbeddingBackward0) */
    return (gi[0] = cg_embedding(go[0], idx)) ? 0 : -1;
}

/* -------------------------------------------------------------- layer_norm */

/* "[3, 4]" -> "[*, 3, 4]" */
static void star_shape_str(char *buf, size_t size, int nd, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, size, "[*");
    for (int i = 0; i < nd && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, ", %lld", (long long)shape[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

/* PyTorch's checks, in its order: weight and bias shapes, input shape, dtypes. */
static int check_layer_norm(const char *fn, const cg_tensor *a, int nn, const int64_t *ns,
                            const cg_tensor *w, const cg_tensor *b) {
    char s1[300], s2[300], s3[300];
    if (nn < 1 || nn > CG_MAX_DIMS || !ns) {
        if (nn < 1)
            cg__error(fn, "Expected normalized_shape to be at least 1-dimensional, i.e., "
                          "containing at least one element, but got normalized_shape = []");
        else if (!ns)
            cg__error(fn, "normalized_shape is NULL but n_normalized is %d", nn);
        else
            cg__error(fn, "normalized_shape must have 1 to %d dims, got %d", CG_MAX_DIMS, nn);
        return -1;
    }
    cg__shape_str(s1, sizeof s1, nn, ns);
    const cg_tensor *wb[2] = {w, b};
    for (int i = 0; i < 2; i++) {
        if (wb[i] && !cg__same_shape(wb[i]->ndim, wb[i]->shape, nn, ns)) {
            cg__shape_str(s2, sizeof s2, wb[i]->ndim, wb[i]->shape);
            cg__error(fn,
                      "Expected %s to be of same shape as normalized_shape, but got %s of "
                      "shape %s and normalized_shape = %s",
                      i ? "bias" : "weight", i ? "bias" : "weight", s2, s1);
            return -1;
        }
    }
    if (a->ndim < nn || !cg__same_shape(nn, a->shape + a->ndim - nn, nn, ns)) {
        star_shape_str(s2, sizeof s2, nn, ns);
        cg__shape_str(s3, sizeof s3, a->ndim, a->shape);
        cg__error(fn,
                  "Given normalized_shape=%s, expected input with shape %s, but got input "
                  "of size%s",
                  s1, s2, s3);
        return -1;
    }
    if (!cg_dtype_is_floating(a->dtype)) {
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED, "LayerNormKernelImpl",
                  cg__scalar_type_name(a->dtype));
        return -1;
    }
    for (int i = 0; i < 2; i++)
        if (wb[i] && wb[i]->dtype != a->dtype) {
            cg__error(fn, CG_MSG_EXPECTED_SCALAR_TYPE, cg__scalar_type_name(a->dtype),
                      cg__scalar_type_name(wb[i]->dtype));
            return -1;
        }
    return 0;
}

enum {
    LAYER_NORM_INPUT,
    LAYER_NORM_WEIGHT,
    LAYER_NORM_BIAS,
    LAYER_NORM_MEAN,
    LAYER_NORM_RSTD,
    LAYER_NORM_N_SAVED
};                       /* saved */
enum { LAYER_NORM_EPS }; /* n->sc */
enum {
    LAYER_NORM_N_NORMALIZED,
    LAYER_NORM_HAS_WEIGHT,
    LAYER_NORM_HAS_BIAS,
    LAYER_NORM_N_IV
}; /* n->iv */

#define ROWS_AT(T, p, i) ((p) ? (T *)(p) + (i) : NULL) /* row i of an optional array */

/* layer_norm of rows [lo, hi) by the kernel table: the output, and each row's
 * mean and rstd where wanted. The kernel computes PyTorch's CPU formula:
 * moments in double, then fma(fma(x, rstd, -rstd mean), w, b) in T. */
static void layer_norm_range(const rows_job *j, int64_t lo, int64_t hi, int thread) {
    const cg__kernels *k = cg__kern();
    int64_t o = lo * j->len;
    CG_UNUSED(thread);
    if (j->dtype == CG_FLOAT32)
        k->layer_norm_f32(hi - lo, j->len, (const float *)j->x + o, j->w, j->b, j->eps,
                          (float *)j->y + o, ROWS_AT(float, j->mean, lo),
                          ROWS_AT(float, j->rstd, lo));
    else
        k->layer_norm_f64(hi - lo, j->len, (const double *)j->x + o, j->w, j->b, j->eps,
                          (double *)j->y + o, ROWS_AT(double, j->mean, lo),
                          ROWS_AT(double, j->rstd, lo));
}

/* A per-row statistic in PyTorch's shape (*, 1...): a's leading dims, then
 * a 1 for each normalized dim. */
static cg_tensor *row_stat_new(const cg_tensor *a, int nn) {
    int64_t shape[CG_MAX_DIMS];
    memcpy(shape, a->shape, sizeof(int64_t) * (size_t)a->ndim);
    for (int i = a->ndim - nn; i < a->ndim; i++) shape[i] = 1;
    return cg__tensor_new(a->dtype, a->ndim, shape);
}

/* Records NativeLayerNormBackward0 with what PyTorch saves: the input, weight,
 * bias and each row's mean and rstd (not the output). 0, or -1. */
static int layer_norm_record(cg_tensor *out, cg_tensor *const in[3], cg_tensor *mean,
                             cg_tensor *rstd, int nn, double eps) {
    cg_node *n = cg__record(CG_OP_NATIVE_LAYER_NORM, out, 3, in);
    if (!n) return cg__record_failed ? -1 : 0;
    n->sc[LAYER_NORM_EPS] = eps;
    n->iv[LAYER_NORM_N_NORMALIZED] = nn;
    n->iv[LAYER_NORM_HAS_WEIGHT] = in[1] != NULL;
    n->iv[LAYER_NORM_HAS_BIAS] = in[2] != NULL;
    n->n_iv = LAYER_NORM_N_IV;
    if (cg__node_reserve_saved(n, LAYER_NORM_N_SAVED) < 0) {
        cg__oom("cg_layer_norm");
        return -1;
    }
    if (cg__save(n, LAYER_NORM_INPUT, in[0], false) < 0 ||
        cg__save(n, LAYER_NORM_WEIGHT, in[1], false) < 0 ||
        cg__save(n, LAYER_NORM_BIAS, in[2], false) < 0 ||
        cg__save(n, LAYER_NORM_MEAN, mean, false) < 0 ||
        cg__save(n, LAYER_NORM_RSTD, rstd, false) < 0)
        return -1;
    return 0;
}

cg_tensor *cg_layer_norm(cg_tensor *a, int n_normalized, const int64_t *normalized_shape,
                         cg_tensor *weight, cg_tensor *bias, double eps) {
    if (!a) return NULL;
    if (check_layer_norm("cg_layer_norm", a, n_normalized, normalized_shape, weight, bias) < 0)
        return NULL;
    int64_t N = cg__numel(n_normalized, normalized_shape);
    int64_t M = cg__numel(a->ndim - n_normalized, a->shape);
    cg_tensor *x = cg__as_contiguous(a), *w = weight ? cg__as_contiguous(weight) : NULL;
    cg_tensor *b = bias ? cg__as_contiguous(bias) : NULL;
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape); /* a's shape: (M, N) rows */
    /* each row's mean and rstd, for a backward (none without grad mode) */
    bool stats = cg__grad_enabled;
    cg_tensor *mean = stats ? row_stat_new(a, n_normalized) : NULL;
    cg_tensor *rstd = stats ? row_stat_new(a, n_normalized) : NULL;
    if (!x || !out || (weight && !w) || (bias && !b) || (stats && (!mean || !rstd))) return NULL;
    rows_job j = {.dtype = a->dtype,
                  .len = N,
                  .x = cg__ptr(x),
                  .w = w ? cg__ptr(w) : NULL,
                  .b = b ? cg__ptr(b) : NULL,
                  .y = cg__ptr(out),
                  .mean = mean ? cg__ptr(mean) : NULL,
                  .rstd = rstd ? cg__ptr(rstd) : NULL,
                  .eps = eps};
    rows_run(layer_norm_range, &j, M, rows_threads(M, N, NN_PARALLEL_MIN));
    cg_tensor *in[3] = {a, weight, bias};
    return layer_norm_record(out, in, mean, rstd, n_normalized, eps) < 0 ? NULL : out;
}

/* The doubles between two threads' dw, db sums (2 D) in the backward's acc:
 * a cache line or more apart, so that no two threads write one line */
static int64_t ln_acc_stride(int64_t D) { return (2 * D + 15) & ~(int64_t)7; }

/* The layer_norm backward of rows [lo, hi) by the kernel table: dx where
 * wanted, and this thread's sums of the weight's and bias's gradients. */
static void layer_norm_bw_range(const rows_job *j, int64_t lo, int64_t hi, int thread) {
    const cg__kernels *k = cg__kern();
    int64_t D = j->len, o = lo * D;
    double *acc = j->acc ? j->acc + ln_acc_stride(D) * thread : NULL;
    double *dw = j->want_dw ? acc : NULL, *db = j->want_db ? acc + D : NULL;
    if (j->dtype == CG_FLOAT32)
        k->layer_norm_bw_f32(hi - lo, D, (const float *)j->x + o, (const float *)j->mean + lo,
                             (const float *)j->rstd + lo, j->w, (const float *)j->g + o,
                             ROWS_AT(float, j->y, o), dw, db);
    else
        k->layer_norm_bw_f64(hi - lo, D, (const double *)j->x + o, (const double *)j->mean + lo,
                             (const double *)j->rstd + lo, j->w, (const double *)j->g + o,
                             ROWS_AT(double, j->y, o), dw, db);
}

/* out (D elements) = the threads' sums (dw: which 0, db: 1), added in
 * thread order in double, then rounded to out's dtype */
static void fold_sums(const double *acc, int nt, int64_t D, int which, cg_tensor *out) {
    for (int64_t i = 0; i < D; i++) {
        double s = 0;
        for (int t = 0; t < nt; t++) s += acc[ln_acc_stride(D) * t + which * D + i];
        if (out->dtype == CG_FLOAT32)
            ((float *)cg__ptr(out))[i] = (float)s;
        else
            ((double *)cg__ptr(out))[i] = s;
    }
}

/* A gradient of input i, or NULL when it is not wanted; false when it is
 * wanted and cannot be allocated. */
static bool ln_grad_new(const cg_node *n, int i, const cg_tensor *like, int nd,
                        const int64_t *shape, cg_tensor **out) {
    *out = CG_WANT(n, i) ? cg__tensor_new(like->dtype, nd, shape) : NULL;
    return !CG_WANT(n, i) || *out;
}
/* The fused layer_norm backward (NOTE [ Fused backward ]) from the forward's
 * mean and rstd: dx = rstd (gx - mean(gx) - xhat mean(gx xhat)), gx = g w;
 * the weight's gradient sums g xhat over the rows and the bias's g, in
 * double, then rounds. 1 when it does not apply (the op formula runs), -1 on
 * an error. */
static int layer_norm_backward_fused(const cg_node *n, cg_tensor *x, cg_tensor *w, cg_tensor *mean,
                                     cg_tensor *rstd, cg_tensor *g, cg_tensor **gi) {
    int nn = (int)n->iv[LAYER_NORM_N_NORMALIZED], nd = x->ndim;
    if (cg__grad_enabled || x->dtype != g->dtype ||
        !cg__same_shape(nd, x->shape, g->ndim, g->shape))
        return 1;
    const int64_t *ns = x->shape + nd - nn; /* the normalized shape: weight's and bias's */
    int64_t D = cg__numel(nn, ns), rows = cg__numel(nd - nn, x->shape);
    int nt = rows_threads(rows, D, NN_PARALLEL_MIN);
    cg_tensor *xc = cg__as_contiguous(x), *gc = cg__as_contiguous(g);
    cg_tensor *wc = w ? cg__as_contiguous(w) : NULL, *dx, *dw, *db;
    if (!xc || !gc || (w && !wc) || !ln_grad_new(n, 0, x, nd, x->shape, &dx) ||
        !ln_grad_new(n, 1, x, nn, ns, &dw) || !ln_grad_new(n, 2, x, nn, ns, &db))
        return -1;
    double *acc = dw || db ? calloc((size_t)(ln_acc_stride(D) * nt), sizeof(double)) : NULL;
    if ((dw || db) && !acc) {
        cg__oom("cg_backward");
        return -1;
    }
    rows_job j = {.dtype = x->dtype,
                  .len = D,
                  .x = cg__ptr(xc),
                  .g = cg__ptr(gc),
                  .w = wc ? cg__ptr(wc) : NULL,
                  .y = dx ? cg__ptr(dx) : NULL,
                  .mean = cg__ptr(mean),
                  .rstd = cg__ptr(rstd),
                  .acc = acc,
                  .want_dw = dw != NULL,
                  .want_db = db != NULL};
    rows_run(layer_norm_bw_range, &j, rows, nt);
    if (dw) fold_sums(acc, nt, D, 0, dw);
    if (db) fold_sums(acc, nt, D, 1, db);
    free(acc);
    gi[0] = dx, gi[1] = dw, gi[2] = db;
    return 0;
}

/* The backward in cgrad ops, so that a create_graph backward records it:
 * xhat and rstd recomputed from x, then the fused kernel's formula. */
static int layer_norm_backward_ops(const cg_node *n, cg_tensor *x, cg_tensor *w, cg_tensor *g,
                                   cg_tensor **gi) {
    int nn = (int)n->iv[LAYER_NORM_N_NORMALIZED], dims[CG_MAX_DIMS];
    double eps = n->sc[LAYER_NORM_EPS];
    if (CG_WANT(n, 2)) gi[2] = g; /* d out / d bias = 1 */
    if (!CG_WANT(n, 0) && !CG_WANT(n, 1)) return 0;
    for (int i = 0; i < nn; i++) dims[i] = i - nn; /* the normalized dims, -nn .. -1 */
    /* xhat = (x - mean) * rstd, rstd = (var + eps)^-1/2 */
    cg_tensor *xc = cg_sub(x, cg_mean_dims(x, nn, dims, true));
    cg_tensor *rstd =
        cg_pow_scalar(cg_add_scalar(cg_mean_dims(cg_mul(xc, xc), nn, dims, true), eps), -0.5);
    cg_tensor *xhat = cg_mul(xc, rstd);
    if (!xhat) return -1;
    /* weight's gradient: the engine sums it to weight's shape */
    if (CG_WANT(n, 1) && !(gi[1] = cg_mul(g, xhat))) return -1;
    if (CG_WANT(n, 0)) {
        cg_tensor *gx = w ? cg_mul(g, w) : g; /* d loss / d xhat */
        if (!gx) return -1;
        /* dx = rstd * (gx - mean(gx) - xhat * mean(gx * xhat)), means over the
         * normalized dims */
        cg_tensor *m1 = cg_mean_dims(gx, nn, dims, true);
        cg_tensor *m2 = cg_mean_dims(cg_mul(gx, xhat), nn, dims, true);
        if (!(gi[0] = cg_mul(rstd, cg_sub(cg_sub(gx, m1), cg_mul(xhat, m2))))) return -1;
    }
    return 0;
}

int cg__bw_native_layer_norm(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    bool has_weight = n->iv[LAYER_NORM_HAS_WEIGHT], has_bias = n->iv[LAYER_NORM_HAS_BIAS];
    /* every saved tensor is unpacked, as PyTorch's node does: an in-place
     * change to any of them (the bias too) is an error */
    cg_tensor *x = cg__unpack(n, LAYER_NORM_INPUT), *w = NULL, *mean = NULL, *rstd = NULL;
    if (!x || (has_weight && !(w = cg__unpack(n, LAYER_NORM_WEIGHT))) ||
        (has_bias && !cg__unpack(n, LAYER_NORM_BIAS)) || !(mean = cg__unpack(n, LAYER_NORM_MEAN)) ||
        !(rstd = cg__unpack(n, LAYER_NORM_RSTD)))
        return -1;
    int rc = layer_norm_backward_fused(n, x, w, mean, rstd, go[0], gi);
    return rc <= 0 ? rc : layer_norm_backward_ops(n, x, w, go[0], gi);
}

/* ------------------------------------------------------------ addmm, linear */

/* Runs f(a, b) with grad mode off (the result records nothing). */
static cg_tensor *no_grad2(cg_tensor *(*f)(cg_tensor *, cg_tensor *), cg_tensor *a, cg_tensor *b) {
    bool prev = cg_set_grad_enabled(false);
    cg_tensor *r = f(a, b);
    cg_set_grad_enabled(prev);
    return r;
}

enum { ADDMM_MAT2, ADDMM_MAT1 }; /* saved */

/* bias (n, m, expanded) + mat1 @ mat2: floating types start C from the bias
 * and let the GEMM add the product (beta 1), so no pass adds it after */
static cg_tensor *addmm_forward(cg_tensor *bias, cg_tensor *mat1, cg_tensor *mat2) {
    if (!cg_dtype_is_floating(bias->dtype))
        return no_grad2(cg_add, no_grad2(cg_mm, mat1, mat2), bias);
    cg_tensor *out = cg__tensor_new(bias->dtype, 2, bias->shape);
    if (!out) return NULL;
    cg__copy_into(out, bias);
    cg__mm_add_into(out, mat1, mat2);
    return out;
}

cg_tensor *cg_addmm(cg_tensor *input, cg_tensor *mat1, cg_tensor *mat2) {
    if (!input || !mat1 || !mat2) return NULL;
    const char *fn = "cg_addmm";
    /* PyTorch's order: dtypes, matrix dims, shapes, input's broadcast, Bool */
    if (input->dtype != mat2->dtype) {
        cg__error(fn, "self and mat2 must have the same dtype");
        return NULL;
    }
    if (mat1->dtype != mat2->dtype) {
        cg__error(fn, "mat1 and mat2 must have the same dtype");
        return NULL;
    }
    if (mat1->ndim != 2 || mat2->ndim != 2) {
        const cg_tensor *m = mat1->ndim != 2 ? mat1 : mat2;
        cg__error(fn, "%s must be a matrix, got %d-D tensor", m == mat1 ? "mat1" : "mat2", m->ndim);
        return NULL;
    }
    if (mat1->shape[1] != mat2->shape[0]) {
        cg__error(fn, CG_MSG_MAT_SHAPES, (long long)mat1->shape[0], (long long)mat1->shape[1],
                  (long long)mat2->shape[0], (long long)mat2->shape[1]);
        return NULL;
    }
    int64_t shape[2] = {mat1->shape[0], mat2->shape[1]};
    bool prev = cg_set_grad_enabled(false);
    cg_tensor *bi = cg_expand(input, 2, shape); /* PyTorch's expand errors */
    cg_set_grad_enabled(prev);
    if (!bi) return NULL;
    if (input->dtype == CG_BOOL) {
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED, "addmm_impl_cpu_", "Bool");
        return NULL;
    }
    cg_tensor *out = addmm_forward(bi, mat1, mat2); /* (n, m) */
    if (!out) return NULL;
    cg_tensor *in[3] = {input, mat1, mat2};
    cg_node *n = cg__record(CG_OP_ADDMM, out, 3, in);
    if (n) { /* mat2 for mat1's gradient, mat1 for mat2's */
        if (cg__save(n, ADDMM_MAT2, CG_WANT(n, 1) ? mat2 : NULL, false) < 0 ||
            cg__save(n, ADDMM_MAT1, CG_WANT(n, 2) ? mat1 : NULL, false) < 0)
            return NULL;
    }
    return cg__recorded(out);
}

int cg__bw_addmm(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *mat2 = CG_WANT(n, 1) ? cg__unpack(n, ADDMM_MAT2) : NULL;
    if (CG_WANT(n, 1) && !mat2) return -1;
    cg_tensor *mat1 = CG_WANT(n, 2) ? cg__unpack(n, ADDMM_MAT1) : NULL;
    if (CG_WANT(n, 2) && !mat1) return -1;
    /* d input = g (the engine sums it back to input's shape), d mat1 = g mat2^T,
     * d mat2 = mat1^T g */
    if (CG_WANT(n, 0)) gi[0] = go[0];
    if (CG_WANT(n, 1) && !(gi[1] = cg_mm(go[0], cg_transpose(mat2, 0, 1)))) return -1;
    if (CG_WANT(n, 2) && !(gi[2] = cg_mm(cg_transpose(mat1, 0, 1), go[0]))) return -1;
    return 0;
}

/* out.add_(b) as PyTorch's linear does it: b broadcasts to out's shape, the
 * result keeps out's dtype; recorded as AddBackward0 (out, b). */
static cg_tensor *add_inplace_like(cg_tensor *out, cg_tensor *b) {
    cg_tensor *r = no_grad2(cg_add, out, b);
    if (!r) return NULL;
    if (!cg__same_shape(r->ndim, r->shape, out->ndim, out->shape)) {
        cg__shape_error("cg_linear", CG_MSG_OUTPUT_BROADCAST, out->ndim, out->shape, r->ndim,
                        r->shape);
        return NULL;
    }
    if (cg__category(r->dtype) > cg__category(out->dtype)) {
        cg__error("cg_linear", CG_MSG_RESULT_TYPE_CAST, cg__scalar_type_name(r->dtype),
                  cg__scalar_type_name(out->dtype));
        return NULL;
    }
    if (r->dtype != out->dtype) {
        cg_tensor *c = cg__tensor_new(out->dtype, r->ndim, r->shape);
        if (!c) return NULL;
        cg__copy_into(c, r);
        r = c;
    }
    cg_tensor *in[2] = {out, b};
    cg__record(CG_OP_ADD, r, 2, in);
    return cg__recorded(r);
}

/* torch.nn.functional.linear, recording PyTorch's graph:
 *   2-D x with bias               addmm(b, x, w.t())
 *   contiguous 3-D x with bias    addmm(b, x.view(-1, in), w.t()).view(..)
 *   otherwise                     matmul(x, w.t()), then out.add_(b) */
cg_tensor *cg_linear(cg_tensor *x, cg_tensor *w, cg_tensor *b) {
    if (!x || !w) return NULL;
    if (b && x->ndim == 2) return cg_addmm(b, x, cg_t(w));
    if (b && x->ndim == 3 && cg__is_contiguous(x)) {
        cg_tensor *r = cg_addmm(b, cg_view(x, CG_SHAPE(x->shape[0] * x->shape[1], x->shape[2])),
                                cg_t(w));
        return r ? cg_view(r, CG_SHAPE(x->shape[0], x->shape[1], r->shape[1])) : NULL;
    }
    cg_tensor *out = cg_matmul(x, cg_t(w));
    return out && b ? add_inplace_like(out, b) : out;
}
