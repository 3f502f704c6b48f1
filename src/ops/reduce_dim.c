/* Reductions over a dim — max/min with their indices, argmax/argmin,
 * var/std, logsumexp, prod, the vector norm — each forward beside its
 * backward. The kernels walk the reduced elements of each output slice
 * through a precomputed list of offsets (any layout); floating results are
 * accumulated in double and rounded to the output's dtype at the end. */
#include "ops.h"

#include <math.h>

/* ------------------------------------------------------------ the walker */

/* The slices of a reduction of t over the dims set in mask: nout slices, in
 * the row-major order of the kept dims (the output's element order, keepdim
 * or not), each of nred elements visited in the row-major order of the
 * reduced dims. Offsets are in elements from cg__ptr(t); nothing is
 * allocated. Use:
 *     for (o = 0; o < w.nout; o++) {
 *         walker_slice(&w);
 *         for (r = 0; r < w.nred; r++, walker_step(&w)) ... w.off ...
 *     } */
typedef struct {
    const cg_tensor *t;
    int nk, nr;
    int kd[CG_MAX_DIMS];
    int64_t kshape[CG_MAX_DIMS], ki[CG_MAX_DIMS];
    int64_t rshape[CG_MAX_DIMS], rstr[CG_MAX_DIMS], ri[CG_MAX_DIMS];
    int64_t nout, nred;
    int64_t base; /* the current slice's first element */
    int64_t off;  /* the current element */
} walker;

static void walker_init(walker *w, const cg_tensor *t, unsigned mask) {
    w->t = t;
    w->nk = w->nr = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (mask >> d & 1) {
            w->rshape[w->nr] = t->shape[d];
            w->rstr[w->nr++] = t->strides[d];
        } else {
            w->kd[w->nk] = d;
            w->kshape[w->nk] = t->shape[d];
            w->ki[w->nk++] = 0;
        }
    }
    w->nout = cg__numel(w->nk, w->kshape);
    w->nred = cg__numel(w->nr, w->rshape);
    w->base = w->off = 0;
}

/* back to the current slice's first element */
static void walker_rewind(walker *w) {
    for (int i = 0; i < w->nr; i++) w->ri[i] = 0;
    w->off = w->base;
}

/* on to the next slice (call nout times, in order) */
static void walker_slice(walker *w) {
    int64_t o = 0;
    for (int i = 0; i < w->nk; i++) o += w->ki[i] * w->t->strides[w->kd[i]];
    cg__next_index(w->nk, w->kshape, w->ki);
    w->base = o;
    walker_rewind(w);
}

/* on to the slice's next element */
static inline void walker_step(walker *w) {
    for (int i = w->nr - 1; i >= 0; i--) {
        if (++w->ri[i] < w->rshape[i]) {
            w->off += w->rstr[i];
            return;
        }
        w->off -= (w->rshape[i] - 1) * w->rstr[i];
        w->ri[i] = 0;
    }
}

/* writes a double result to element o of a contiguous floating tensor */
static inline void wr(cg_tensor *t, int64_t o, double v) { cg__store(cg__ptr(t), t->dtype, o, v); }

/* The output of a reduction of t over mask (dtype dt) and a walker over its
 * slices. */
static cg_tensor *reduction_walk(const cg_tensor *t, unsigned mask, bool keepdim, cg_dtype dt,
                                 walker *w) {
    walker_init(w, t, mask);
    return cg__reduced_tensor(t, mask, keepdim, dt);
}

/* ------------------------------------------------------------ dims */

/* how many elements each slice of a reduction over mask holds */
static int64_t reduced_count(const cg_meta *m, unsigned mask) {
    int64_t n = 1;
    for (int d = 0; d < m->ndim; d++)
        if (mask >> d & 1) n *= m->shape[d];
    return n;
}

/* the dims of mask as a list for cg_sum_dims/cg_mean_dims (0 for 0-d) */
static int mask_dims(unsigned mask, int *dims) {
    int n = 0;
    for (int d = 0; d < CG_MAX_DIMS; d++)
        if (mask >> d & 1) dims[n++] = d;
    return n;
}

/* A reduction's gradient (or result) back at the input's rank: the reduced
 * dims re-inserted as size 1 when the forward dropped them. */
static cg_tensor *unreduce(cg_tensor *g, int ndim, unsigned mask, bool keepdim) {
    if (!keepdim)
        for (int d = 0; d < ndim && g; d++)
            if (mask >> d & 1) g = cg_unsqueeze(g, d);
    return g;
}

/* a 0-d constant of dtype dt */
static cg_tensor *constant(double v, cg_dtype dt) { return cg_scalar(v, (int)dt); }

/* ------------------------------------------- max/min along a dim, argmax */

typedef enum { EXTREME_MIN, EXTREME_MAX } extreme;

enum { MAX_DIM_INDICES };                            /* saved (MaxBackward0, MinBackward0) */
enum { MAX_DIM_DIM, MAX_DIM_KEEPDIM, MAX_DIM_N_IV }; /* n->iv */

/* For each slice: the position of the largest (smallest) element, the first
 * on ties; a NaN beats everything and the first NaN is taken. Writes idx
 * (int64) and, when val is not NULL, the value itself. */
static void extreme_kernel(const cg_tensor *a, unsigned mask, extreme which, cg_tensor *val,
                           cg_tensor *idx) {
    bool is_max = which == EXTREME_MAX;
    walker w;
    walker_init(&w, a, mask);
    const char *p = cg__ptr(a);
    size_t es = cg__esize(a->dtype);
    int64_t *ix = cg__ptr(idx);
    for (int64_t o = 0; o < w.nout; o++) {
        walker_slice(&w);
        int64_t best = 0, best_off = w.off;
        if (a->dtype == CG_INT64) {
            const int64_t *q = (const int64_t *)p;
            int64_t bv = q[w.off];
            for (int64_t r = 1; r < w.nred; r++) {
                walker_step(&w);
                int64_t v = q[w.off];
                if (is_max ? v > bv : v < bv) bv = v, best = r, best_off = w.off;
            }
        } else {
            double bv = cg__load(p, a->dtype, w.off);
            for (int64_t r = 1; r < w.nred && !isnan(bv); r++) {
                walker_step(&w);
                double v = cg__load(p, a->dtype, w.off);
                if (isnan(v) || (is_max ? v > bv : v < bv)) bv = v, best = r, best_off = w.off;
            }
        }
        ix[o] = best;
        if (val) memcpy((char *)cg__ptr(val) + (size_t)o * es, p + (size_t)best_off * es, es);
    }
}

static cg_tensor *max_min_dim(const char *fn, const char *what, cg_op op, extreme which,
                              cg_tensor *a, int dim, bool keepdim, cg_tensor **indices) {
    if (indices) *indices = NULL;
    if (!a) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0) return NULL;
    if (a->ndim && a->shape[d] == 0) {
        cg__error(fn, "%s(): Expected reduction dim %d to have non-zero size.", what, d);
        return NULL;
    }
    unsigned mask = a->ndim ? 1u << d : 0;
    cg_tensor *val = cg__reduced_tensor(a, mask, keepdim, a->dtype);
    cg_tensor *idx = cg__reduced_tensor(a, mask, keepdim, CG_INT64);
    if (!val || !idx) return NULL;
    extreme_kernel(a, mask, which, val, idx);
    cg_node *n = cg__record(op, val, 1, &a); /* the indices are not differentiable */
    if (n) {
        if (cg__save(n, MAX_DIM_INDICES, idx, false) < 0) return NULL;
        n->iv[MAX_DIM_DIM] = d;
        n->iv[MAX_DIM_KEEPDIM] = keepdim;
        n->n_iv = MAX_DIM_N_IV;
    }
    if (indices) *indices = idx;
    return cg__recorded(val);
}

cg_tensor *cg_max_dim(cg_tensor *a, int dim, bool keepdim, cg_tensor **indices) {
    return max_min_dim("cg_max_dim", "max", CG_OP_MAX_DIM, EXTREME_MAX, a, dim, keepdim, indices);
}

cg_tensor *cg_min_dim(cg_tensor *a, int dim, bool keepdim, cg_tensor **indices) {
    return max_min_dim("cg_min_dim", "min", CG_OP_MIN_DIM, EXTREME_MIN, a, dim, keepdim, indices);
}

/* argmax/argmin: dim NULL is torch's dim=None (an index into the flattened
 * tensor). PyTorch checks the dim, then emptiness, then the dtype. */
static cg_tensor *arg_extreme(const char *fn, const char *what, extreme which, cg_tensor *a,
                              const int *dim, bool keepdim) {
    if (!a) return NULL;
    unsigned mask;
    if (!dim) {
        if (cg__numel(a->ndim, a->shape) == 0) {
            cg__error(fn, "%s(): Expected reduction dim to be specified for input.numel() == 0.",
                      what);
            return NULL;
        }
        mask = (1u << a->ndim) - 1;
    } else {
        int d = cg__wrap_dim(fn, *dim, a->ndim);
        if (d < 0) return NULL;
        if (a->ndim && a->shape[d] == 0) {
            cg__error(fn, "%s(): Expected reduction dim %d to have non-zero size.", what, d);
            return NULL;
        }
        mask = a->ndim ? 1u << d : 0;
    }
    if (a->dtype == CG_BOOL) {
        cg__error(fn, "\"%s_cpu\" not implemented for 'Bool'", what);
        return NULL;
    }
    cg_tensor *idx = cg__reduced_tensor(a, mask, keepdim, CG_INT64);
    if (idx) extreme_kernel(a, mask, which, NULL, idx);
    return idx;
}

cg_tensor *cg_argmax(cg_tensor *a, int dim, bool keepdim) {
    return arg_extreme("cg_argmax", "argmax", EXTREME_MAX, a, &dim, keepdim);
}
cg_tensor *cg_argmin(cg_tensor *a, int dim, bool keepdim) {
    return arg_extreme("cg_argmin", "argmin", EXTREME_MIN, a, &dim, keepdim);
}
cg_tensor *cg_argmax_all(cg_tensor *a, bool keepdim) {
    return arg_extreme("cg_argmax_all", "argmax", EXTREME_MAX, a, NULL, keepdim);
}
cg_tensor *cg_argmin_all(cg_tensor *a, bool keepdim) {
    return arg_extreme("cg_argmin_all", "argmin", EXTREME_MIN, a, NULL, keepdim);
}

/* The gradient goes to the position the forward returned (PyTorch's
 * value_selecting_reduction_backward): grad where the one-hot mask
 * (arange along dim == index) holds, 0 elsewhere. */
int cg__bw_max_dim(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int d = (int)n->iv[MAX_DIM_DIM];
    bool keepdim = n->iv[MAX_DIM_KEEPDIM];
    const cg_meta *m = &n->in_meta[0];
    if (m->ndim == 0) { /* a 0-d input is its own maximum */
        gi[0] = go[0];
        return 0;
    }
    cg_tensor *idx = cg__unpack(n, MAX_DIM_INDICES);
    if (!idx) return -1;
    cg_tensor *g = go[0];
    if (!keepdim) {
        g = cg_unsqueeze(g, d);
        idx = cg_unsqueeze(idx, d);
    }
    /* positions along dim, shaped [n, 1, ..., 1] to broadcast against idx */
    int64_t ashape[CG_MAX_DIMS];
    int an = m->ndim - d;
    ashape[0] = m->shape[d];
    for (int i = 1; i < an; i++) ashape[i] = 1;
    cg_tensor *pos = cg_view(cg_arange(0, (double)m->shape[d], 1, CG_INT64), an, ashape);
    cg_tensor *onehot = cg_eq(idx, pos); /* bool, the input's shape */
    return (gi[0] = cg_where(onehot, g, constant(0, g ? g->dtype : CG_FLOAT32))) ? 0 : -1;
}

/* -------------------------------------------------------------- var, std */

enum { VAR_SELF, VAR_RESULT }; /* saved (VarBackward0: VAR_SELF only) */
enum { VAR_MASK, VAR_KEEPDIM, VAR_CORRECTION, VAR_ALL_DIMS, VAR_N_IV }; /* n->iv */

/* var (VAR) or std (STD) */
static cg_tensor *var_std(const char *fn, cg_op op, cg_tensor *a, int ndims, const int *dims,
                          int correction, bool keepdim) {
    bool is_std = op == CG_OP_STD;
    if (!a) return NULL;
    if (!cg_dtype_is_floating(a->dtype)) {
        cg__error(fn, "std and var only support floating point and complex dtypes");
        return NULL;
    }
    unsigned mask;
    if (cg__dim_mask(fn, a, ndims, dims, &mask) < 0) return NULL;
    walker w;
    cg_tensor *out = reduction_walk(a, mask, keepdim, a->dtype, &w);
    if (!out) return NULL;
    const char *p = cg__ptr(a);
    /* PyTorch divides by max(0, N - correction): N == correction gives inf
     * (or NaN for a constant slice) */
    double div = (double)w.nred - correction;
    if (div < 0) div = 0;
    for (int64_t o = 0; o < w.nout; o++) {
        walker_slice(&w);
        double mean = 0, m2 = 0;
        for (int64_t r = 0; r < w.nred; r++, walker_step(&w)) mean += cg__load(p, a->dtype, w.off);
        mean /= (double)w.nred;
        walker_rewind(&w);
        for (int64_t r = 0; r < w.nred; r++, walker_step(&w)) {
            double dv = cg__load(p, a->dtype, w.off) - mean;
            m2 += dv * dv;
        }
        double v = m2 / div;
        wr(out, o, is_std ? sqrt(v) : v);
    }
    cg_node *n = cg__record(op, out, 1, &a);
    if (n) {
        if (cg__save(n, VAR_SELF, a, false) < 0 ||
            (is_std && cg__save(n, VAR_RESULT, out, true) < 0))
            return NULL;
        n->iv[VAR_MASK] = mask;
        n->iv[VAR_KEEPDIM] = keepdim;
        n->iv[VAR_CORRECTION] = correction;
        n->iv[VAR_ALL_DIMS] = ndims == 0; /* PyTorch's dim=None */
        n->n_iv = VAR_N_IV;
    }
    return cg__recorded(out);
}

cg_tensor *cg_var(cg_tensor *a, int ndims, const int *dims, int correction, bool keepdim) {
    return var_std("cg_var", CG_OP_VAR, a, ndims, dims, correction, keepdim);
}

cg_tensor *cg_std(cg_tensor *a, int ndims, const int *dims, int correction, bool keepdim) {
    return var_std("cg_std", CG_OP_STD, a, ndims, dims, correction, keepdim);
}

/* var/std's arguments, as their nodes keep them */
typedef struct {
    unsigned mask;
    bool keepdim, all_dims;
    int64_t correction;
} var_args;

static var_args var_args_of(const cg_node *n) {
    return (var_args){.mask = (unsigned)n->iv[VAR_MASK],
                      .keepdim = n->iv[VAR_KEEPDIM],
                      .all_dims = n->iv[VAR_ALL_DIMS],
                      .correction = n->iv[VAR_CORRECTION]};
}

/* d var / dx = 2 (x - mean) / (N - correction), times the incoming gradient */
static cg_tensor *var_backward(const cg_meta *m, const var_args *va, cg_tensor *g, cg_tensor *x) {
    unsigned mask = va->mask;
    bool keepdim = va->keepdim, all = va->all_dims;
    int64_t corr = va->correction, cnt = reduced_count(m, mask);
    if ((m->ndim == 0 || all) && cnt == corr)
        /* PyTorch returns INFINITY * grad here; for an n-d input with dim=None
         * its engine then rejects that 0-d gradient, we expand it */
        return cg_expand(cg_mul_scalar(g, INFINITY), m->ndim, m->shape);
    int dims[CG_MAX_DIMS], nd = mask_dims(mask, dims);
    g = unreduce(g, m->ndim, mask, keepdim);
    cg_tensor *centered = cg_sub(x, cg_mean_dims(x, nd, dims, true));
    return cg_mul(cg_mul_scalar(g, 2.0 / (double)(cnt - corr)), centered);
}

int cg__bw_var(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *x = cg__unpack(n, VAR_SELF);
    var_args va = var_args_of(n);
    return x && (gi[0] = var_backward(&n->in_meta[0], &va, go[0], x)) ? 0 : -1;
}

int cg__bw_std(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *x = cg__unpack(n, VAR_SELF), *r = cg__unpack(n, VAR_RESULT);
    var_args va = var_args_of(n);
    if (!x || !r) return -1;
    /* d std = d var / (2 std); 0 where std is 0 (masked_fill, as PyTorch) */
    cg_tensor *gv = cg_where(cg_eq_scalar(r, 0), constant(0, r->dtype),
                             cg_div(go[0], cg_mul_scalar(r, 2)));
    return gv && (gi[0] = var_backward(&n->in_meta[0], &va, gv, x)) ? 0 : -1;
}

/* -------------------------------------------------------------- logsumexp */

enum { LOGSUMEXP_SELF, LOGSUMEXP_RESULT };                  /* saved */
enum { LOGSUMEXP_MASK, LOGSUMEXP_KEEPDIM, LOGSUMEXP_N_IV }; /* n->iv */

cg_tensor *cg_logsumexp(cg_tensor *a, int ndims, const int *dims, bool keepdim) {
    if (!a) return NULL;
    unsigned mask;
    if (cg__dim_mask("cg_logsumexp", a, ndims, dims, &mask) < 0) return NULL;
    /* integer and bool inputs are computed in the default dtype, as PyTorch */
    cg_tensor *x = cg__convert(a, cg_dtype_is_floating(a->dtype) ? a->dtype : CG_FLOAT32);
    if (!x) return NULL;
    walker w;
    cg_tensor *out = reduction_walk(x, mask, keepdim, x->dtype, &w);
    if (!out) return NULL;
    const char *p = cg__ptr(x);
    for (int64_t o = 0; o < w.nout; o++) {
        walker_slice(&w);
        /* shift by the slice's max (NaN propagates); an infinite max shifts
         * by 0, so all -inf gives -inf and any +inf gives +inf */
        double mx = -INFINITY;
        for (int64_t r = 0; r < w.nred; r++, walker_step(&w)) {
            double v = cg__load(p, x->dtype, w.off);
            if (isnan(v) || v > mx) mx = v;
            if (isnan(v)) break;
        }
        if (isinf(mx)) mx = 0;
        double s = 0;
        walker_rewind(&w);
        for (int64_t r = 0; r < w.nred; r++, walker_step(&w))
            s += exp(cg__load(p, x->dtype, w.off) - mx);
        wr(out, o, log(s) + mx);
    }
    cg_node *n = cg__record(CG_OP_LOGSUMEXP, out, 1, &a);
    if (n) {
        if (cg__save(n, LOGSUMEXP_SELF, a, false) < 0 ||
            cg__save(n, LOGSUMEXP_RESULT, out, true) < 0)
            return NULL;
        n->iv[LOGSUMEXP_MASK] = mask;
        n->iv[LOGSUMEXP_KEEPDIM] = keepdim;
        n->n_iv = LOGSUMEXP_N_IV;
    }
    return cg__recorded(out);
}

int cg__bw_logsumexp(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *x = cg__unpack(n, LOGSUMEXP_SELF), *r = cg__unpack(n, LOGSUMEXP_RESULT);
    unsigned mask = (unsigned)n->iv[LOGSUMEXP_MASK];
    bool keepdim = n->iv[LOGSUMEXP_KEEPDIM];
    const cg_meta *m = &n->in_meta[0];
    if (!x || !r) return -1;
    /* d lse / dx = exp(x - lse), the softmax of the slice */
    cg_tensor *g = unreduce(go[0], m->ndim, mask, keepdim);
    r = unreduce(r, m->ndim, mask, keepdim);
    return (gi[0] = cg_mul(g, cg_exp(cg_sub(x, r)))) ? 0 : -1;
}

/* ------------------------------------------------------------------- prod */

enum { PROD_SELF, PROD_RESULT };                        /* saved (both node kinds) */
enum { PROD_DIM_DIM, PROD_DIM_KEEPDIM, PROD_DIM_N_IV }; /* n->iv (ProdBackward1) */

/* The product of each slice: integers (int64, bool) multiply in int64,
 * wrapping on overflow as PyTorch's does; floats in double. */
static cg_tensor *prod_impl(cg_tensor *a, unsigned mask, bool keepdim) {
    cg_dtype odt = cg_dtype_is_floating(a->dtype) ? a->dtype : CG_INT64;
    walker w;
    cg_tensor *out = reduction_walk(a, mask, keepdim, odt, &w);
    if (!out) return NULL;
    const char *p = cg__ptr(a);
    for (int64_t o = 0; o < w.nout; o++) {
        walker_slice(&w);
        if (odt == CG_INT64) {
            uint64_t acc = 1;
            for (int64_t r = 0; r < w.nred; r++, walker_step(&w))
                acc *= a->dtype == CG_INT64 ? (uint64_t)((const int64_t *)p)[w.off]
                                            : (uint64_t)((const bool *)p)[w.off];
            ((int64_t *)cg__ptr(out))[o] = (int64_t)acc;
        } else {
            double acc = 1;
            for (int64_t r = 0; r < w.nred; r++, walker_step(&w))
                acc *= cg__load(p, a->dtype, w.off);
            wr(out, o, acc);
        }
    }
    return out;
}

cg_tensor *cg_prod(cg_tensor *a) {
    if (!a) return NULL;
    cg_tensor *out = prod_impl(a, (1u << a->ndim) - 1, false);
    if (!out) return NULL;
    cg_node *n = cg__record(CG_OP_PROD, out, 1, &a);
    if (n && (cg__save(n, PROD_SELF, a, false) < 0 || cg__save(n, PROD_RESULT, out, true) < 0))
        return NULL;
    return cg__recorded(out);
}

cg_tensor *cg_prod_dim(cg_tensor *a, int dim, bool keepdim) {
    if (!a) return NULL;
    int d = cg__wrap_dim("cg_prod_dim", dim, a->ndim);
    if (d < 0) return NULL;
    cg_tensor *out = prod_impl(a, a->ndim ? 1u << d : 0, keepdim);
    if (!out) return NULL;
    cg_node *n = cg__record(CG_OP_PROD_DIM, out, 1, &a);
    if (n) {
        if (cg__save(n, PROD_SELF, a, false) < 0 || cg__save(n, PROD_RESULT, out, true) < 0)
            return NULL;
        n->iv[PROD_DIM_DIM] = d;
        n->iv[PROD_DIM_KEEPDIM] = keepdim;
        n->n_iv = PROD_DIM_N_IV;
    }
    return cg__recorded(out);
}

static int64_t count_zeros(const cg_tensor *t) {
    int64_t n = cg__numel(t->ndim, t->shape), idx[CG_MAX_DIMS] = {0}, z = 0;
    const char *p = cg__ptr(t);
    for (int64_t k = 0; k < n; k++) {
        int64_t off = 0;
        for (int d = 0; d < t->ndim; d++) off += idx[d] * t->strides[d];
        z += cg__load(p, t->dtype, off) == 0;
        cg__next_index(t->ndim, t->shape, idx);
    }
    return z;
}

/* The product of the other elements of each slice, E[i] = prod_{j != i} x[j],
 * as the exclusive prefix product times the exclusive suffix product (no
 * division, so zeros are fine; PyTorch's prod_safe_zeros_backward). A plain
 * kernel: first order only. */
static cg_tensor *exclusive_prod(const char *fn, cg_tensor *x, unsigned mask) {
    cg_tensor *e = cg__tensor_new(x->dtype, x->ndim, x->shape);
    if (!e) return NULL;
    walker wx, we;
    walker_init(&wx, x, mask);
    walker_init(&we, e, mask);
    size_t n = (size_t)(wx.nred > 0 ? wx.nred : 1);
    double *vals = malloc(sizeof(double) * n); /* (nred) the slice */
    double *prod = malloc(sizeof(double) * n); /* (nred) prefix, then exclusive products */
    if (!vals || !prod) {
        free(vals);
        free(prod);
        return cg__oom(fn);
    }
    const char *p = cg__ptr(x);
    for (int64_t o = 0; o < wx.nout; o++) {
        walker_slice(&wx);
        walker_slice(&we);
        double acc = 1;
        for (int64_t r = 0; r < wx.nred; r++, walker_step(&wx)) {
            vals[r] = cg__load(p, x->dtype, wx.off);
            prod[r] = acc;
            acc *= vals[r];
        }
        acc = 1;
        for (int64_t r = wx.nred - 1; r >= 0; r--) {
            prod[r] *= acc;
            acc *= vals[r];
        }
        for (int64_t r = 0; r < we.nred; r++, walker_step(&we)) wr(e, we.off, prod[r]);
    }
    free(vals);
    free(prod);
    return e;
}

/* The same products, built from cgrad ops so that create_graph records them
 * (second and higher derivatives at zeros): x viewed as [outer, n, inner],
 * W[o, i, j, k] = (i == j ? 1 : x[o, j, k]), E = prod of W over j. O(n) times
 * the memory of x; PyTorch's differentiable path is O(n^2) too. */
static cg_tensor *exclusive_prod_graph(cg_tensor *x, int64_t outer, int64_t n, int64_t inner) {
    cg_tensor *x3 = cg_reshape(x, CG_SHAPE(outer, n, inner));
    cg_tensor *xw = cg_expand(cg_unsqueeze(x3, 1), CG_SHAPE(outer, n, n, inner));
    cg_tensor *pos = cg_arange(0, (double)n, 1, CG_INT64);
    cg_tensor *eye = cg_eq(cg_view(pos, CG_SHAPE(n, 1, 1)), cg_view(pos, CG_SHAPE(n, 1)));
    cg_tensor *w = cg_where(eye, constant(1, x->dtype), xw);
    return cg_reshape(cg_prod_dim(w, 2, false), x->ndim, x->shape);
}

/* Gradient of a product with zeros in x: g times the products of the other
 * elements of each slice (over all of x for prod, along dim d otherwise). */
static cg_tensor *prod_zero_grad(const char *fn, cg_tensor *g, cg_tensor *x, int d, bool all) {
    int64_t n = all ? cg__numel(x->ndim, x->shape) : x->shape[d];
    if (n == 1) /* a single factor: g itself, with no graph through x, as torch */
        return all ? cg_reshape(g, x->ndim, x->shape) : g;
    if (cg__grad_enabled) {
        int64_t outer = 1, inner = 1;
        for (int i = 0; !all && i < x->ndim; i++) {
            if (i < d) outer *= x->shape[i];
            if (i > d) inner *= x->shape[i];
        }
        return cg_mul(g, exclusive_prod_graph(x, outer, n, inner));
    }
    return cg_mul(g, exclusive_prod(fn, x, all ? (1u << x->ndim) - 1 : 1u << d));
}

int cg__bw_prod(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *x = cg__unpack(n, PROD_SELF), *r = cg__unpack(n, PROD_RESULT);
    if (!x || !r) return -1;       /* unpacked first: the version check */
    if (n->in_meta[0].ndim == 0) { /* a 0-d input is its own product */
        gi[0] = go[0];
        return 0;
    }
    int64_t zeros = count_zeros(x);
    if (zeros == 0) /* d prod / dx_i = prod / x_i */
        gi[0] = cg_mul(go[0], cg_div(r, x));
    else if (zeros > 1 && !cg__grad_enabled) /* every product of the others has a 0 */
        gi[0] = cg_zeros_like(x, 0);
    else
        gi[0] = prod_zero_grad("cg_backward", go[0], x, 0, true);
    return gi[0] ? 0 : -1;
}

int cg__bw_prod_dim(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int d = (int)n->iv[PROD_DIM_DIM];
    bool keepdim = n->iv[PROD_DIM_KEEPDIM];
    const cg_meta *m = &n->in_meta[0];
    cg_tensor *x = cg__unpack(n, PROD_SELF), *r = cg__unpack(n, PROD_RESULT);
    if (!x || !r) return -1; /* unpacked first: the version check */
    if (m->ndim == 0) {
        gi[0] = go[0];
        return 0;
    }
    cg_tensor *g = unreduce(go[0], m->ndim, 1u << d, keepdim);
    r = unreduce(r, m->ndim, 1u << d, keepdim);
    /* any zero in x: every slice takes the division-free path, as PyTorch */
    if (count_zeros(x) == 0)
        gi[0] = cg_mul(g, cg_div(r, x));
    else
        gi[0] = prod_zero_grad("cg_backward", g, x, d, false);
    return gi[0] ? 0 : -1;
}

/* ------------------------------------------------------------ vector norm */

enum { NORM_SELF, NORM_RESULT };             /* saved */
enum { NORM_P };                             /* n->sc */
enum { NORM_MASK, NORM_KEEPDIM, NORM_N_IV }; /* n->iv */

/* vector_norm's checks of the dtype and of an empty input */
static int norm_check(const char *fn, const cg_tensor *a, double p, int ndims, const int *dims) {
    if (!cg_dtype_is_floating(a->dtype)) {
        cg__error(fn,
                  "linalg.vector_norm: Expected a floating point or complex tensor as "
                  "input. Got %s",
                  cg__scalar_type_name(a->dtype));
        return -1;
    }
    /* max/min of |x| and negative powers have no value on an empty slice */
    if (cg__numel(a->ndim, a->shape) != 0 || !(p < 0 || p == INFINITY)) return 0;
    if (ndims == 0) {
        cg__error(fn,
                  "linalg.vector_norm cannot compute the %g norm on an empty tensor "
                  "because the operation does not have an identity",
                  p);
        return -1;
    }
    for (int i = 0; dims && i < ndims; i++) {
        int d = cg__wrap_dim(fn, dims[i], a->ndim);
        if (d < 0) return -1;
        if (a->ndim && a->shape[d] == 0) {
            cg__error(fn,
                      "linalg.vector_norm cannot compute the %g norm on the dimension "
                      "%dbecause this dimension is empty and the operation does not "
                      "have an identity",
                      p, dims[i]);
            return -1;
        }
    }
    return 0;
}

cg_tensor *cg_norm(cg_tensor *a, double p, int ndims, const int *dims, bool keepdim) {
    static const char *fn = "cg_norm";
    if (!a) return NULL;
    if (norm_check(fn, a, p, ndims, dims) < 0) return NULL;
    unsigned mask;
    if (cg__dim_mask(fn, a, ndims, dims, &mask) < 0) return NULL;
    walker w;
    cg_tensor *out = reduction_walk(a, mask, keepdim, a->dtype, &w);
    if (!out) return NULL;
    const char *q = cg__ptr(a);
    bool f32 = a->dtype == CG_FLOAT32;
    for (int64_t o = 0; o < w.nout; o++) {
        walker_slice(&w);
        double acc = isinf(p) && p < 0 ? INFINITY : 0;
        for (int64_t r = 0; r < w.nred; r++, walker_step(&w)) {
            double v = fabs(cg__load(q, a->dtype, w.off));
            if (isinf(p)) { /* max or min of |x|; NaN propagates */
                if (isnan(v) || (p > 0 ? v > acc : v < acc)) acc = v;
                if (isnan(v)) break;
            } else if (p == 0) {
                acc += v != 0; /* NaN counts */
            } else if (p == 1) {
                acc += v;
            } else if (p == 2) {
                acc += v * v;
            } else {
                acc += pow(v, p);
            }
        }
        /* the sum is rounded to the dtype before the root, so a float32 sum of
         * powers overflows (or underflows) as PyTorch's float32 sum does */
        if (f32) acc = (float)acc;
        if (p == 2)
            acc = f32 ? sqrtf((float)acc) : sqrt(acc);
        else if (!isinf(p) && p != 0 && p != 1)
            acc = f32 ? powf((float)acc, (float)(1.0 / p)) : pow(acc, 1.0 / p);
        wr(out, o, acc);
    }
    cg_node *n = cg__record(CG_OP_VECTOR_NORM, out, 1, &a);
    if (n) {
        if (cg__save(n, NORM_SELF, a, false) < 0 || cg__save(n, NORM_RESULT, out, true) < 0)
            return NULL;
        n->sc[NORM_P] = p;
        n->iv[NORM_MASK] = mask;
        n->iv[NORM_KEEPDIM] = keepdim;
        n->n_iv = NORM_N_IV;
    }
    return cg__recorded(out);
}

/* where(mask, 0, v): PyTorch's masked_fill_(mask, 0) */
static cg_tensor *zero_where(cg_tensor *mask, cg_tensor *v) {
    return v ? cg_where(mask, constant(0, v->dtype), v) : NULL;
}

/* PyTorch's norm_backward, branch by branch */
int cg__bw_vector_norm(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    const cg_meta *m = &n->in_meta[0];
    double p = n->sc[NORM_P];
    unsigned mask = (unsigned)n->iv[NORM_MASK];
    bool keepdim = n->iv[NORM_KEEPDIM];
    if (p == 0) { /* a count of nonzeros: no gradient (None), as PyTorch */
        gi[0] = NULL;
        return 0;
    }
    cg_tensor *x = cg__unpack(n, NORM_SELF), *norm = cg__unpack(n, NORM_RESULT);
    if (!x || !norm) return -1;
    cg_tensor *g = unreduce(go[0], m->ndim, mask, keepdim);
    norm = unreduce(norm, m->ndim, mask, keepdim);
    cg_tensor *r;
    if (p == 1) { /* d sum|x| = sgn(x) */
        r = cg_mul(cg_sign(x), g);
    } else if (p == 2) { /* d ||x|| = x / ||x||, 0 where the norm is 0 */
        r = cg_mul(g, zero_where(cg_eq_scalar(norm, 0), cg_div(x, norm)));
    } else if (isinf(p)) {
        /* the gradient is shared by the elements whose |x| is the max (min),
         * NaNs included: sgn(x) * g / count * mask */
        cg_tensor *ax = cg_abs(x);
        cg_tensor *hit = cg_where(cg_ne(ax, ax), constant(1, CG_BOOL), cg_eq(ax, norm));
        int dims[CG_MAX_DIMS], nd = mask_dims(mask, dims);
        cg_tensor *cnt = cg_sum_dims(hit, nd, dims, true);
        r = cg_mul(cg_sign(x), cg_mul(cg_div(g, cnt), hit));
    } else if (p < 1) {
        /* sgn(x) |x|^(p-1) ||x||^(1-p), the first factor 0 where x is 0 */
        cg_tensor *scaled = cg_mul(cg_sign(x),
                                   zero_where(cg_eq_scalar(x, 0), cg_pow_scalar(cg_abs(x), p - 1)));
        r = cg_mul(cg_mul(scaled, g), cg_pow_scalar(norm, 1 - p));
    } else {
        /* sgn(x) |x|^(p-1) / ||x||^(p-1) (written x |x|^(p-2) for p >= 2),
         * 0 where the norm is 0 */
        cg_tensor *scaled = p < 2 ? cg_mul(cg_sign(x), cg_pow_scalar(cg_abs(x), p - 1))
                                  : cg_mul(x, cg_pow_scalar(cg_abs(x), p - 2));
        cg_tensor *scale = zero_where(cg_eq_scalar(norm, 0), cg_div(g, cg_pow_scalar(norm, p - 1)));
        r = cg_mul(scaled, scale);
    }
    return (gi[0] = r) ? 0 : -1;
}
