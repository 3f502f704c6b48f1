/* Neural-net functions — softmax, log_softmax, dropout, embedding, layer_norm,
 * addmm and linear — each forward beside its backward. The backwards are
 * written with cgrad ops, so create_graph records them (higher-order
 * gradients). */
#include "ops.h"

#include <math.h>
#include <stdio.h>

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

static void softmax_kernel(const cg_tensor *x, int dim, bool log_, cg_tensor *out) {
    int nd = x->ndim;
    int64_t rest[CG_MAX_DIMS], idx[CG_MAX_DIMS] = {0};
    memcpy(rest, x->shape, sizeof rest);
    int64_t len = nd ? x->shape[dim] : 1, xs = nd ? x->strides[dim] : 0;
    int64_t os = nd ? out->strides[dim] : 0;
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
    return out;
}

cg_tensor *cg_softmax(cg_tensor *a, int dim) {
    return softmax_like("cg_softmax", CG_OP_SOFTMAX, a, dim, false);
}

cg_tensor *cg_log_softmax(cg_tensor *a, int dim) {
    return softmax_like("cg_log_softmax", CG_OP_LOG_SOFTMAX, a, dim, true);
}

/* NOTE [ Fused backward ]
 * A plain backward (grad mode off) of softmax, log_softmax and layer_norm
 * runs one fused kernel over rows of the last dim; a create_graph backward
 * builds the same formula from cgrad ops, so it can be differentiated again.
 * rows_of gives contiguous (rows, len) views, or false to take the ops. */
static bool rows_of(cg_tensor **t, int dim, int64_t *rows, int64_t *len) {
    if (cg__grad_enabled || (*t)->ndim == 0 || dim != (*t)->ndim - 1) return false;
    if (!cg__is_contiguous(*t) && !(*t = cg_contiguous(*t))) return false;
    *len = (*t)->shape[dim];
    *rows = *len ? cg__numel((*t)->ndim, (*t)->shape) / *len : 0;
    return true;
}

/* gi = y * (g - sum(g y)) for softmax, g - exp(y) sum(g) for log_softmax */
#define SOFTMAX_BW(T, EXP)                                                                         \
    do {                                                                                           \
        const T *yp = cg__ptr(y), *gp = cg__ptr(g);                                                \
        T *op = cg__ptr(out);                                                                      \
        for (int64_t r = 0; r < rows; r++, yp += len, gp += len, op += len) {                      \
            double s = 0;                                                                          \
            for (int64_t i = 0; i < len; i++) s += log_ ? gp[i] : gp[i] * yp[i];                   \
            T ts = (T)s;                                                                           \
            for (int64_t i = 0; i < len; i++)                                                      \
                op[i] = log_ ? gp[i] - EXP(yp[i]) * ts : yp[i] * (gp[i] - ts);                     \
        }                                                                                          \
    } while (0)

static cg_tensor *softmax_backward_fused(cg_tensor *y, cg_tensor *g, int d, bool log_) {
    int64_t rows, len, rows2, len2;
    if (y->dtype != g->dtype || !rows_of(&y, d, &rows, &len) || !rows_of(&g, d, &rows2, &len2))
        return NULL;
    cg_tensor *out = cg__tensor_new(y->dtype, y->ndim, y->shape);
    if (!out) return NULL;
    if (y->dtype == CG_FLOAT32)
        SOFTMAX_BW(float, cg__expf);
    else
        SOFTMAX_BW(double, exp);
    return out;
}

int cg__bw_softmax(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *y = cg__unpack(n, SOFTMAX_RESULT);
    int d = (int)n->iv[SOFTMAX_DIM];
    if (!y) return -1;
    if ((gi[0] = softmax_backward_fused(y, go[0], d, false))) return 0;
    /* dx = y * (g - sum(g * y, dim)) */
    cg_tensor *s = cg_sum_dims(cg_mul(go[0], y), 1, &d, true);
    return (gi[0] = cg_mul(y, cg_sub(go[0], s))) ? 0 : -1;
}

int cg__bw_log_softmax(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *y = cg__unpack(n, SOFTMAX_RESULT);
    int d = (int)n->iv[SOFTMAX_DIM];
    if (!y) return -1;
    if ((gi[0] = softmax_backward_fused(y, go[0], d, true))) return 0;
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
    const int64_t *ip = cg__ptr(ic);
    if (g->dtype == CG_FLOAT32) {
        float *o = cg__ptr(out);
        const float *s = cg__ptr(gc);
        for (int64_t k = 0; k < nidx; k++)
            for (int64_t j = 0; j < D; j++) o[ip[k] * D + j] += s[k * D + j];
    } else {
        double *o = cg__ptr(out);
        const double *s = cg__ptr(gc);
        for (int64_t k = 0; k < nidx; k++)
            for (int64_t j = 0; j < D; j++) o[ip[k] * D + j] += s[k * D + j];
    }
    cg_node *n = cg__record(CG_OP_EMBEDDING_DENSE_BACKWARD, out, 1, &g);
    if (n) {
        n->iv[EMBEDDING_NUM_WEIGHTS] = V;
        n->n_iv = EMBEDDING_N_IV;
        if (cg__save(n, EMBEDDING_INDICES, indices, false) < 0) return NULL;
    }
    return out;
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
    for (int64_t k = 0; k < nidx; k++) {
        const char *row = w + ip[k] * weight->strides[0] * (int64_t)es;
        for (int64_t j = 0; j < D; j++)
            memcpy(o + (k * D + j) * (int64_t)es, row + j * weight->strides[1] * (int64_t)es, es);
    }
    /* the indices are not differentiable: one edge, to the weight */
    cg_node *n = cg__record(CG_OP_EMBEDDING, out, 1, &weight);
    if (n) {
        n->iv[EMBEDDING_NUM_WEIGHTS] = V;
        n->n_iv = EMBEDDING_N_IV;
        if (cg__save(n, EMBEDDING_INDICES, indices, false) < 0) return NULL;
    }
    return out;
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

/* out = (x - mean) / sqrt(var + eps) * w + b over rows of N elements: the
 * moments in double (the biased variance, two passes), then PyTorch's CPU
 * formula in the tensor's type, fma((x * scale + bias), w, b) with
 * scale = rstd, bias = -rstd * mean, fused as its build fuses them (so a row
 * of one element gives its rounding residue, as PyTorch's does). */
#define LAYER_NORM_ROWS(T, FMA)                                                                    \
    do {                                                                                           \
        const T *xp = cg__ptr(x), *wp = w ? (const T *)cg__ptr(w) : NULL;                          \
        const T *bp = b ? (const T *)cg__ptr(b) : NULL;                                            \
        T *op = cg__ptr(out);                                                                      \
        for (int64_t r = 0; r < M; r++) {                                                          \
            const T *row = xp + r * N;                                                             \
            double mean = 0, var = 0;                                                              \
            for (int64_t j = 0; j < N; j++) mean += row[j];                                        \
            mean /= (double)N;                                                                     \
            for (int64_t j = 0; j < N; j++) var += (row[j] - mean) * (row[j] - mean);              \
            T scale = (T)1 / (T)sqrt((T)(var / (double)N) + (T)eps);                               \
            T bias = -scale * (T)mean;                                                             \
            for (int64_t j = 0; j < N; j++)                                                        \
                op[r * N + j] = FMA(FMA(row[j], scale, bias), wp ? wp[j] : (T)1,                   \
                                    bp ? bp[j] : (T)0);                                            \
        }                                                                                          \
    } while (0)

enum { LAYER_NORM_INPUT, LAYER_NORM_WEIGHT };                             /* saved */
enum { LAYER_NORM_EPS };                                                  /* n->sc */
enum { LAYER_NORM_N_NORMALIZED, LAYER_NORM_HAS_WEIGHT, LAYER_NORM_N_IV }; /* n->iv */

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
    if (!x || !out || (weight && !w) || (bias && !b)) return NULL;
    if (a->dtype == CG_FLOAT32)
        LAYER_NORM_ROWS(float, fmaf);
    else
        LAYER_NORM_ROWS(double, fma);
    cg_tensor *in[3] = {a, weight, bias};
    cg_node *n = cg__record(CG_OP_NATIVE_LAYER_NORM, out, 3, in);
    if (n) {
        n->sc[LAYER_NORM_EPS] = eps;
        n->iv[LAYER_NORM_N_NORMALIZED] = n_normalized;
        n->iv[LAYER_NORM_HAS_WEIGHT] = weight != NULL;
        n->n_iv = LAYER_NORM_N_IV;
        /* x for the gradients of x and weight; weight for x's */
        bool want_x = CG_WANT(n, 0), want_w = CG_WANT(n, 1);
        if (cg__save(n, LAYER_NORM_INPUT, want_x || want_w ? a : NULL, false) < 0 ||
            cg__save(n, LAYER_NORM_WEIGHT, want_x ? weight : NULL, false) < 0)
            return NULL;
    }
    return out;
}

/* The fused layer_norm backward over the last dim (NOTE [ Fused backward ]):
 * per row, xhat and rstd from x, then gx = g w, dx = rstd (gx - mean(gx) -
 * xhat mean(gx xhat)); weight's gradient is g xhat (summed by the engine).
 * -1 when it does not apply (the op formula runs instead). */
#define LN_BW(T)                                                                                   \
    do {                                                                                           \
        const T *xp = cg__ptr(x), *gp = cg__ptr(g), *wp = w ? (const T *)cg__ptr(w) : NULL;        \
        T *dx = gx_out ? (T *)cg__ptr(gx_out) : NULL, *dw = gw_out ? (T *)cg__ptr(gw_out) : NULL;  \
        for (int64_t r = 0; r < rows; r++) {                                                       \
            const T *xr = xp + r * len, *gr = gp + r * len;                                        \
            double mean = 0, var = 0;                                                              \
            for (int64_t i = 0; i < len; i++) mean += xr[i];                                       \
            mean /= (double)len;                                                                   \
            for (int64_t i = 0; i < len; i++) var += (xr[i] - mean) * (xr[i] - mean);              \
            double rstd = 1 / sqrt(var / (double)len + eps), m1 = 0, m2 = 0;                       \
            for (int64_t i = 0; i < len; i++) {                                                    \
                double xh = (xr[i] - mean) * rstd, gxi = wp ? gr[i] * wp[i] : gr[i];               \
                m1 += gxi, m2 += gxi * xh;                                                         \
                if (dw) dw[r * len + i] = (T)(gr[i] * xh);                                         \
            }                                                                                      \
            m1 /= (double)len, m2 /= (double)len;                                                  \
            for (int64_t i = 0; dx && i < len; i++) {                                              \
                double xh = (xr[i] - mean) * rstd, gxi = wp ? gr[i] * wp[i] : gr[i];               \
                dx[r * len + i] = (T)(rstd * (gxi - m1 - xh * m2));                                \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static int layer_norm_backward_fused(const cg_node *n, cg_tensor *x, cg_tensor *w, cg_tensor *g,
                                     int nn, double eps, cg_tensor **gi) {
    int64_t rows, len, rows2, len2;
    if (nn != 1 || x->dtype != g->dtype || !rows_of(&x, x->ndim - 1, &rows, &len) ||
        !rows_of(&g, g->ndim - 1, &rows2, &len2) || rows != rows2 || len != len2)
        return -1;
    if (w && (w->dtype != x->dtype || !(w = cg_contiguous(w)))) return -1;
    cg_tensor *gx_out = CG_WANT(n, 0) ? cg__tensor_new(x->dtype, x->ndim, x->shape) : NULL;
    cg_tensor *gw_out = CG_WANT(n, 1) ? cg__tensor_new(x->dtype, x->ndim, x->shape) : NULL;
    if ((CG_WANT(n, 0) && !gx_out) || (CG_WANT(n, 1) && !gw_out)) return -1;
    if (x->dtype == CG_FLOAT32)
        LN_BW(float);
    else
        LN_BW(double);
    gi[0] = gx_out, gi[1] = gw_out;
    return 0;
}

int cg__bw_native_layer_norm(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int nn = (int)n->iv[LAYER_NORM_N_NORMALIZED], dims[CG_MAX_DIMS];
    bool has_weight = n->iv[LAYER_NORM_HAS_WEIGHT];
    double eps = n->sc[LAYER_NORM_EPS];
    cg_tensor *g = go[0];
    if (CG_WANT(n, 2)) gi[2] = g; /* d out / d bias = 1 */
    if (!CG_WANT(n, 0) && !CG_WANT(n, 1)) return 0;
    /* x for both gradients; weight only matters for x's */
    cg_tensor *x = cg__unpack(n, LAYER_NORM_INPUT);
    if (!x) return -1;
    bool need_w = has_weight && CG_WANT(n, 0);
    cg_tensor *w = need_w ? cg__unpack(n, LAYER_NORM_WEIGHT) : NULL;
    if (need_w && !w) return -1;
    if (layer_norm_backward_fused(n, x, w, g, nn, eps, gi) == 0) return 0;
    for (int i = 0; i < nn; i++) dims[i] = i - nn; /* the normalized dims, -nn .. -1 */
    /* xhat = (x - mean) * rstd, rstd = (var + eps)^-1/2, recomputed from x with
     * cgrad ops so that a create_graph backward differentiates it too */
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

/* ------------------------------------------------------------ addmm, linear */

/* Runs f(a, b) with grad mode off (the result records nothing). */
static cg_tensor *no_grad2(cg_tensor *(*f)(cg_tensor *, cg_tensor *), cg_tensor *a, cg_tensor *b) {
    bool prev = cg_set_grad_enabled(false);
    cg_tensor *r = f(a, b);
    cg_set_grad_enabled(prev);
    return r;
}

enum { ADDMM_MAT2, ADDMM_MAT1 }; /* saved */

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
    cg_tensor *out = no_grad2(cg_add, no_grad2(cg_mm, mat1, mat2), bi); /* (n, m) */
    if (!out) return NULL;
    cg_tensor *in[3] = {input, mat1, mat2};
    cg_node *n = cg__record(CG_OP_ADDMM, out, 3, in);
    if (n) { /* mat2 for mat1's gradient, mat1 for mat2's */
        if (cg__save(n, ADDMM_MAT2, CG_WANT(n, 1) ? mat2 : NULL, false) < 0 ||
            cg__save(n, ADDMM_MAT1, CG_WANT(n, 2) ? mat1 : NULL, false) < 0)
            return NULL;
    }
    return out;
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
    return r;
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
