/* The scan family, each forward beside its backward: cumsum and cumprod
 * along a dim (int64 and bool inputs give int64, as torch). */
#include "ewise.h"

/* out = the running sum (is_prod false) or product of a along d, in out's
 * dtype (contiguous, a's shape) */
static void scan(const cg_tensor *a, int d, bool is_prod, cg_tensor *out) {
    int64_t outer, len, inner;
    cg__dim_split(a->ndim, a->shape, d, &outer, &len, &inner);
    cg__copy_into(out, a);
    void *p = cg__ptr(out);
    cg_dtype dt = out->dtype;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            for (int64_t l = 1; l < len; l++) {
                int64_t at = (o * len + l) * inner + i, prev = at - inner;
                if (dt == CG_INT64) { /* exact beyond 2^53 */
                    int64_t *q = p;
                    q[at] = is_prod ? q[prev] * q[at] : q[prev] + q[at];
                } else {
                    double x = cg__load(p, dt, prev), y = cg__load(p, dt, at);
                    cg__store(p, dt, at, is_prod ? x * y : x + y);
                }
            }
}

/* float32 accumulates in float32 (each step rounded), as torch's CPU kernel */
static void scan_f32(const cg_tensor *a, int d, bool is_prod, cg_tensor *out) {
    int64_t outer, len, inner;
    cg__dim_split(a->ndim, a->shape, d, &outer, &len, &inner);
    cg__copy_into(out, a);
    float *q = cg__ptr(out);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t l = 1; l < len; l++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (o * len + l) * inner + i;
                q[at] = is_prod ? q[at - inner] * q[at] : q[at - inner] + q[at];
            }
}

enum { CUMPROD_SELF, CUMPROD_RESULT }; /* saved (cumprod) */
enum { SCAN_DIM };                     /* n->iv */

static cg_tensor *cum(cg_op op, cg_tensor *a, int dim) {
    const char *fn = op == CG_OP_CUMSUM ? "cg_cumsum" : "cg_cumprod";
    if (!a) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0) return NULL;
    cg_dtype dt = cg_dtype_is_floating(a->dtype) ? a->dtype : CG_INT64;
    cg_tensor *out = cg__tensor_new(dt, a->ndim, a->shape);
    if (!out) return NULL;
    (dt == CG_FLOAT32 ? scan_f32 : scan)(a, d, op == CG_OP_CUMPROD, out);
    cg_node *n = cg__record(op, out, 1, &a);
    if (n) {
        n->iv[SCAN_DIM] = d, n->n_iv = 1;
        if (op == CG_OP_CUMPROD &&
            (cg__save(n, CUMPROD_SELF, a, false) < 0 || cg__save(n, CUMPROD_RESULT, out, true) < 0))
            return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_cumsum(cg_tensor *a, int dim) { return cum(CG_OP_CUMSUM, a, dim); }
cg_tensor *cg_cumprod(cg_tensor *a, int dim) { return cum(CG_OP_CUMPROD, a, dim); }

/* sum_{j >= i} g[j] along d: flip, cumsum, flip */
static cg_tensor *reverse_cumsum(cg_tensor *g, int d) {
    if (g && g->ndim == 0) return g;
    int dims[1] = {d};
    return cg_flip(cg_cumsum(cg_flip(g, 1, dims), d), 1, dims);
}

int cg__bw_cumsum(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = reverse_cumsum(go[0], (int)n->iv[SCAN_DIM])) ? 0 : -1;
}

/* the cumprod gradient where a has zeros, composed (so it differentiates
 * again): along d, moved last, gi[k] = sum_{j >= k} g[j] P[k, j] with
 * P[k, j] = prod_{i <= j, i != k} a[i], the product taken over an (L, L, L)
 * where-mask: memory numel * L */
static cg_tensor *cumprod_grad_zeros(cg_tensor *a, cg_tensor *g, int d) {
    int nd = a->ndim;
    int64_t len = a->shape[d];
    cg_tensor *al = cg_movedim(a, 1, (const int[]){d}, (const int[]){-1});
    cg_tensor *gl = cg_movedim(g, 1, (const int[]){d}, (const int[]){-1});
    cg_tensor *keep = cg_empty(3, (const int64_t[]){len, len, len}, CG_BOOL);
    if (!al || !gl || !keep) return NULL;
    bool *m = cg__ptr(keep); /* m[k, j, i]: a[i] is a factor of P[k, j] */
    for (int64_t k = 0; k < len; k++)
        for (int64_t j = 0; j < len; j++)
            for (int64_t i = 0; i < len; i++)
                m[(k * len + j) * len + i] = i <= j && i != k && j >= k;
    cg_tensor *upper = cg_triu(cg_ones(2, (const int64_t[]){len, len}, (int)a->dtype), 0);
    cg_tensor *ai = cg_unsqueeze(cg_unsqueeze(al, -2), -2); /* (..., 1, 1, L) */
    cg_tensor *p = cg_prod_dim(cg_where(keep, ai, cg_scalar(1, (int)a->dtype)), -1, false);
    /* (..., L k, L j) * (..., 1, L j), zero below the diagonal, summed over j */
    cg_tensor *r = cg_sum_dims(cg_mul(cg_mul(p, upper), cg_unsqueeze(gl, -2)), 1, (const int[]){-1},
                               false);
    return cg_movedim(r, 1, (const int[]){nd - 1}, (const int[]){d});
}

int cg__bw_cumprod(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, CUMPROD_SELF), *r = cg__unpack(n, CUMPROD_RESULT);
    int d = (int)n->iv[SCAN_DIM];
    if (!a || !r) return -1;
    if (a->ndim == 0) return (gi[0] = go[0]) ? 0 : -1;
    cg_tensor *zeros = cg_any(cg_eq_scalar(a, 0));
    if (!zeros) return -1;
    /* no zeros: d out[j] / d a[k] = out[j] / a[k] for j >= k */
    if (cg_item(zeros) == 0)
        gi[0] = cg_div(reverse_cumsum(cg_mul(go[0], r), d), a);
    else
        gi[0] = cumprod_grad_zeros(a, go[0], d);
    return gi[0] ? 0 : -1;
}
