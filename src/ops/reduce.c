/* Reductions — sum, mean, max, min, all, any — forward beside backward, and
 * cg__sum_to, the one place gradients are un-broadcast. */
#include "ops.h"

#include <math.h>

typedef enum { R_SUM, R_MAX, R_MIN, R_ALL, R_ANY } rop;

/* acc with v folded in by op (for max and min NaN wins and stays) */
static double fold(rop op, double acc, double v, bool first) {
    switch (op) {
    case R_SUM: return acc + v;
    case R_MAX: return first || isnan(v) || (!isnan(acc) && v > acc) ? v : acc;
    case R_MIN: return first || isnan(v) || (!isnan(acc) && v < acc) ? v : acc;
    case R_ALL: return v == 0 ? 0 : acc;
    case R_ANY: return v != 0 ? 1 : acc;
    }
    return acc;
}

/* out's element o = acc (an integer sum: iacc, exact) */
static void store(cg_tensor *out, int64_t o, rop op, double acc, int64_t iacc) {
    char *q = (char *)cg__ptr(out) + o * (int64_t)cg__esize(out->dtype);
    switch (out->dtype) {
    case CG_FLOAT32: *(float *)q = (float)acc; break;
    case CG_FLOAT64: *(double *)q = acc; break;
    case CG_INT64: *(int64_t *)q = op == R_SUM ? iacc : (int64_t)acc; break;
    case CG_BOOL: *(bool *)q = acc != 0; break;
    }
}

/* Sums (or extremes) over the dims set in `mask`. out has the keepdim shape's
 * element order. Accumulates floats in double, integers in int64. */
static void reduce_kernel(const cg_tensor *a, unsigned mask, rop op, cg_tensor *out) {
    int kd[CG_MAX_DIMS], rd[CG_MAX_DIMS], nk = 0, nr = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (mask >> d & 1)
            rd[nr++] = d;
        else
            kd[nk++] = d;
    }
    int64_t kshape[CG_MAX_DIMS], rshape[CG_MAX_DIMS];
    for (int i = 0; i < nk; i++) kshape[i] = a->shape[kd[i]];
    for (int i = 0; i < nr; i++) rshape[i] = a->shape[rd[i]];
    int64_t nout = cg__numel(nk, kshape), nred = cg__numel(nr, rshape);
    const char *base = cg__ptr(a);
    size_t es = cg__esize(a->dtype);
    bool contiguous_tail = nr == a->ndim && cg__is_contiguous(a); /* everything, in order */
    int64_t ki[CG_MAX_DIMS] = {0};
    for (int64_t o = 0; o < nout; o++) {
        int64_t off0 = 0;
        for (int i = 0; i < nk; i++) off0 += ki[i] * a->strides[kd[i]];
        double acc = op == R_SUM ? 0 : op == R_ALL ? 1 : op == R_ANY ? 0 : NAN;
        int64_t iacc = 0;
        bool first = true;
        int64_t ri[CG_MAX_DIMS] = {0};
        for (int64_t r = 0; r < nred; r++) {
            int64_t off = off0;
            if (contiguous_tail)
                off = r;
            else
                for (int i = 0; i < nr; i++) off += ri[i] * a->strides[rd[i]];
            const char *p = base + off * (int64_t)es;
            double v;
            switch (a->dtype) {
            case CG_FLOAT32: v = *(const float *)p; break;
            case CG_FLOAT64: v = *(const double *)p; break;
            case CG_INT64:
                v = (double)*(const int64_t *)p;
                iacc += *(const int64_t *)p;
                break;
            default:
                v = *(const bool *)p;
                iacc += *(const bool *)p;
                break;
            }
            acc = fold(op, acc, v, first);
            first = false;
            if (!contiguous_tail) cg__next_index(nr, rshape, ri);
        }
        store(out, o, op, acc, iacc);
        cg__next_index(nk, kshape, ki);
    }
}

/* A dim list as a bit mask; ndims == 0 means every dim. A 0-d tensor takes
 * dim 0 or -1 (once) and has the empty mask. */
int cg__dim_mask(const char *fn, const cg_tensor *a, int ndims, const int *dims, unsigned *mask) {
    *mask = 0;
    if (ndims == 0) {
        *mask = (1u << a->ndim) - 1;
        return 0;
    }
    if (ndims < 0) {
        cg__error(fn, "ndims must not be negative, got %d", ndims);
        return -1;
    }
    if (!dims) {
        cg__error(fn, "dims is NULL but ndims is %d", ndims);
        return -1;
    }
    unsigned seen = 0;
    for (int i = 0; i < ndims; i++) {
        int d = cg__wrap_dim(fn, dims[i], a->ndim);
        if (d < 0) return -1;
        if (seen >> d & 1) {
            cg__error(fn, "dim %d appears multiple times in the list of dims", d);
            return -1;
        }
        seen |= 1u << d;
    }
    *mask = a->ndim ? seen : 0;
    return 0;
}

/* a's dims (size-1 dims dropped) grouped into runs of reduced or kept dims:
 * run g has gsize[g] elements, reduced when gred[g]; returns the count */
static int group_runs(const cg_tensor *a, unsigned mask, int64_t *gsize, bool *gred) {
    int ng = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] == 1) continue;
        bool r = mask >> d & 1;
        if (ng && gred[ng - 1] == r)
            gsize[ng - 1] *= a->shape[d];
        else
            gsize[ng] = a->shape[d], gred[ng++] = r;
    }
    return ng;
}

/* The sum over the dims in mask of a contiguous float tensor, reading a's
 * memory once in order: the dims are grouped into runs of reduced and kept
 * dims; an innermost reduced run sums rows, an innermost kept run adds rows
 * elementwise into the output (vectorisable). Accumulates in double.
 * false when a does not qualify (the generic kernel then runs). */
static bool sum_fast(const cg_tensor *a, unsigned mask, cg_tensor *out) {
    if ((a->dtype != CG_FLOAT32 && a->dtype != CG_FLOAT64) || !cg__is_contiguous(a)) return false;
    int64_t gsize[CG_MAX_DIMS];
    bool gred[CG_MAX_DIMS];
    int ng = group_runs(a, mask, gsize, gred);
    int64_t nout = cg__numel(out->ndim, out->shape), n = cg__numel(a->ndim, a->shape);
    double *acc = calloc((size_t)(nout > 0 ? nout : 1), sizeof *acc); /* (nout) */
    if (!acc) return false;
    int64_t ostride[CG_MAX_DIMS]; /* each run's step in the output (0 when reduced) */
    int64_t step = 1;
    for (int g = ng - 1; g >= 0; g--) {
        ostride[g] = gred[g] ? 0 : step;
        if (!gred[g]) step *= gsize[g];
    }
    int64_t inner = ng ? gsize[ng - 1] : 1, idx[CG_MAX_DIMS] = {0}, off = 0;
    bool rows = ng && gred[ng - 1];
    const float *f = a->dtype == CG_FLOAT32 ? cg__ptr(a) : NULL;
    const double *d = a->dtype == CG_FLOAT64 ? cg__ptr(a) : NULL;
    for (int64_t base = 0; n > 0 && base < n; base += inner) {
        if (rows) {
            double t = 0;
            if (f)
                for (int64_t k = 0; k < inner; k++) t += f[base + k];
            else
                for (int64_t k = 0; k < inner; k++) t += d[base + k];
            acc[off] += t;
        } else {
            double *o = acc + off;
            if (f)
                for (int64_t k = 0; k < inner; k++) o[k] += f[base + k];
            else
                for (int64_t k = 0; k < inner; k++) o[k] += d[base + k];
        }
        for (int g = ng - 2; g >= 0; g--) { /* the odometer over the outer runs */
            off += ostride[g];
            if (++idx[g] < gsize[g]) break;
            off -= ostride[g] * gsize[g];
            idx[g] = 0;
        }
    }
    void *q = cg__ptr(out);
    for (int64_t i = 0; i < nout; i++) {
        if (out->dtype == CG_FLOAT32)
            ((float *)q)[i] = (float)acc[i];
        else
            ((double *)q)[i] = acc[i];
    }
    free(acc);
    return true;
}

cg_tensor *cg__reduced_tensor(const cg_tensor *a, unsigned mask, bool keepdim, cg_dtype dt) {
    int64_t shape[CG_MAX_DIMS]; /* a's shape without (or with 1 at) the reduced dims */
    int nd = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (!(mask >> d & 1))
            shape[nd++] = a->shape[d];
        else if (keepdim)
            shape[nd++] = 1;
    }
    return cg__tensor_new(dt, nd, shape);
}

static cg_tensor *reduce(const char *fn, cg_tensor *a, unsigned mask, bool keepdim, rop op,
                         cg_dtype out_dt) {
    CG_UNUSED(fn);
    cg_tensor *out = cg__reduced_tensor(a, mask, keepdim, out_dt);
    if (out && !(op == R_SUM && out_dt == a->dtype && sum_fast(a, mask, out)))
        reduce_kernel(a, mask, op, out);
    return out;
}

static cg_dtype sum_dtype(cg_dtype d) { return cg_dtype_is_floating(d) ? d : CG_INT64; }

static int check_mean(const char *fn, const cg_tensor *a) {
    if (!cg_dtype_is_floating(a->dtype)) {
        cg__error(fn,
                  "mean(): could not infer output dtype. Input dtype must be either a "
                  "floating point or complex dtype. Got: %s",
                  cg__scalar_type_name(a->dtype));
        return -1;
    }
    return 0;
}

cg_tensor *cg_sum(cg_tensor *a) {
    if (!a) return NULL;
    cg_tensor *out = reduce("cg_sum", a, (1u << a->ndim) - 1, false, R_SUM, sum_dtype(a->dtype));
    if (out) cg__record(CG_OP_SUM, out, 1, &a);
    return cg__recorded(out);
}

cg_tensor *cg_mean(cg_tensor *a) {
    if (!a || check_mean("cg_mean", a) < 0) return NULL;
    cg_tensor *out = reduce("cg_mean", a, (1u << a->ndim) - 1, false, R_SUM, a->dtype);
    if (!out) return NULL;
    int64_t n = cg__numel(a->ndim, a->shape);
    if (out->dtype == CG_FLOAT32)
        *(float *)cg__ptr(out) /= (float)n;
    else
        *(double *)cg__ptr(out) /= (double)n;
    cg__record(CG_OP_MEAN, out, 1, &a);
    return cg__recorded(out);
}

/* Saved state (ops.h) of SumBackward1 and MeanBackward1 (n->iv) */
enum { DIMS_KEEPDIM, DIMS_MASK };

enum { MEAN_DIMS_SELF }; /* saved by MeanBackward1 */

static cg_tensor *sum_or_mean_dims(const char *fn, cg_op op, cg_tensor *a, int ndims,
                                   const int *dims, bool keepdim) {
    unsigned mask;
    if (cg__dim_mask(fn, a, ndims, dims, &mask) < 0) return NULL;
    bool mean = op == CG_OP_MEAN_DIMS;
    cg_tensor *out = reduce(fn, a, mask, keepdim, R_SUM, mean ? a->dtype : sum_dtype(a->dtype));
    if (!out) return NULL;
    if (mean) {
        int64_t cnt = 1;
        for (int d = 0; d < a->ndim; d++)
            if (mask >> d & 1) cnt *= a->shape[d];
        int64_t m = cg__numel(out->ndim, out->shape);
        if (out->dtype == CG_FLOAT32)
            for (int64_t i = 0; i < m; i++) ((float *)cg__ptr(out))[i] /= (float)cnt;
        else
            for (int64_t i = 0; i < m; i++) ((double *)cg__ptr(out))[i] /= (double)cnt;
    }
    cg_node *n = cg__record(op, out, 1, &a);
    if (n) {
        n->iv[DIMS_KEEPDIM] = keepdim;
        n->iv[DIMS_MASK] = mask;
        n->n_iv = 2;
        /* torch 1.13's MeanBackward1 saves self (only its numel is used): an
         * in-place write to it fails the backward's version check */
        if (mean && cg__save(n, MEAN_DIMS_SELF, a, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_sum_dims(cg_tensor *a, int ndims, const int *dims, bool keepdim) {
    if (!a) return NULL;
    return sum_or_mean_dims("cg_sum_dims", CG_OP_SUM_DIMS, a, ndims, dims, keepdim);
}

cg_tensor *cg_mean_dims(cg_tensor *a, int ndims, const int *dims, bool keepdim) {
    if (!a || check_mean("cg_mean_dims", a) < 0) return NULL;
    return sum_or_mean_dims("cg_mean_dims", CG_OP_MEAN_DIMS, a, ndims, dims, keepdim);
}

/* Saved state of MaxBackward1 and MinBackward1 */
enum { EXTREMUM_SELF, EXTREMUM_RESULT };

static cg_tensor *extremum(const char *fn, const char *what, cg_op op, rop r, cg_tensor *a) {
    if (!a) return NULL;
    if (cg__numel(a->ndim, a->shape) == 0) {
        cg__error(fn,
                  "%s(): Expected reduction dim to be specified for input.numel() == 0. "
                  "Specify the reduction dim with the 'dim' argument.",
                  what);
        return NULL;
    }
    cg_tensor *out = reduce(fn, a, (1u << a->ndim) - 1, false, r, a->dtype);
    if (!out) return NULL;
    cg_node *n = cg__record(op, out, 1, &a);
    if (n &&
        (cg__save(n, EXTREMUM_SELF, a, false) < 0 || cg__save(n, EXTREMUM_RESULT, out, true) < 0))
        return NULL;
    return cg__recorded(out);
}

cg_tensor *cg_max(cg_tensor *a) { return extremum("cg_max", "max", CG_OP_MAX, R_MAX, a); }
cg_tensor *cg_min(cg_tensor *a) { return extremum("cg_min", "min", CG_OP_MIN, R_MIN, a); }

cg_tensor *cg_all(cg_tensor *a) {
    return a ? reduce("cg_all", a, (1u << a->ndim) - 1, false, R_ALL, CG_BOOL) : NULL;
}
cg_tensor *cg_any(cg_tensor *a) {
    return a ? reduce("cg_any", a, (1u << a->ndim) - 1, false, R_ANY, CG_BOOL) : NULL;
}

cg_tensor *cg__sum_to(cg_tensor *g, int ndim, const int64_t *shape) {
    int lead = g->ndim - ndim, dims[CG_MAX_DIMS], nd = 0;
    for (int d = 0; d < g->ndim; d++)
        if (d < lead || (shape[d - lead] == 1 && g->shape[d] != 1)) dims[nd++] = d;
    if (nd) g = cg_sum_dims(g, nd, dims, true);
    return cg_view(g, ndim, shape);
}

/* ------------------------------------------------------------- backward */

int cg__bw_sum(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    const cg_meta *in = &n->in_meta[0];
    return (gi[0] = cg_expand(go[0], in->ndim, in->shape)) ? 0 : -1;
}

int cg__bw_mean(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    const cg_meta *in = &n->in_meta[0];
    double cnt = (double)cg__numel(in->ndim, in->shape);
    return (gi[0] = cg_expand(cg_div_scalar(go[0], cnt), in->ndim, in->shape)) ? 0 : -1;
}

/* Re-inserts the reduced dims (when not kept) and expands to the input's shape. */
static cg_tensor *unreduce(cg_tensor *g, const cg_meta *in, unsigned mask, bool keepdim) {
    if (!keepdim)
        for (int d = 0; d < in->ndim && g; d++)
            if (mask >> d & 1) g = cg_unsqueeze(g, d);
    return cg_expand(g, in->ndim, in->shape);
}

int cg__bw_sum_dims(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    bool keepdim = n->iv[DIMS_KEEPDIM];
    unsigned mask = (unsigned)n->iv[DIMS_MASK];
    return (gi[0] = unreduce(go[0], &n->in_meta[0], mask, keepdim)) ? 0 : -1;
}

int cg__bw_mean_dims(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    bool keepdim = n->iv[DIMS_KEEPDIM];
    unsigned mask = (unsigned)n->iv[DIMS_MASK];
    const cg_meta *in = &n->in_meta[0];
    if (!cg__unpack(n, MEAN_DIMS_SELF)) return -1; /* the version check */
    double cnt = 1;
    for (int d = 0; d < in->ndim; d++)
        if (mask >> d & 1) cnt *= (double)in->shape[d];
    return (gi[0] = unreduce(cg_div_scalar(go[0], cnt), in, mask, keepdim)) ? 0 : -1;
}

/* max/min: the gradient is shared evenly among the elements equal to it */
int cg__bw_extremum(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *self = cg__unpack(n, EXTREMUM_SELF), *result = cg__unpack(n, EXTREMUM_RESULT);
    if (!self || !result) return -1;
    /* PyTorch's evenly_distribute_backward: a NaN maximum is shared by the
     * NaNs; the gradient is selected, so a NaN or inf never leaks to the rest */
    bool nan = isnan(cg_item(result));
    cg_tensor *mask = nan ? cg_ne(self, self) : cg_eq(self, result);
    cg_tensor *zero = cg_scalar(0, (int)go[0]->dtype);
    return (gi[0] = cg_where(mask, cg_div(go[0], cg_sum(mask)), zero)) ? 0 : -1;
}
