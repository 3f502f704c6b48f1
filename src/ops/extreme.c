/* The extreme family, forward beside backward: amax and amin over a list of
 * dims (none: all), keepdim; NaN propagates; the gradient is split evenly
 * among the elements that tie for the extreme, as torch. */
#include "ewise.h"

#include <math.h>
#include <stdlib.h>

/* out[j] = the max (is_max) or min of a over the dims in mask; out is
 * contiguous with a's shape reduced (keepdim or not: the same order) */
static int extreme_kernel(const cg_tensor *a, unsigned mask, bool is_max, cg_tensor *out) {
    int nd = a->ndim;
    int64_t ost[CG_MAX_DIMS], keep[CG_MAX_DIMS], idx[CG_MAX_DIMS] = {0};
    for (int d = 0; d < nd; d++) keep[d] = mask >> d & 1 ? 1 : a->shape[d];
    cg__contiguous_strides(nd, keep, ost);
    int64_t n = cg__numel(nd, a->shape), nout = cg__numel(nd, keep);
    bool *seen = calloc((size_t)(nout ? nout : 1), 1);
    if (!seen) return cg__oom(is_max ? "cg_amax" : "cg_amin"), -1;
    void *o = cg__ptr(out);
    for (int64_t k = 0; k < n; k++) {
        int64_t at = 0, off = a->offset;
        for (int d = 0; d < nd; d++) {
            off += idx[d] * a->strides[d];
            if (!(mask >> d & 1)) at += idx[d] * ost[d];
        }
        double v = cg__load(a->storage->data, a->dtype, off);
        double cur = seen[at] ? cg__load(o, a->dtype, at) : NAN;
        bool better = is_max ? v > cur : v < cur;
        if (!seen[at] || (cur == cur && (better || v != v))) cg__store(o, a->dtype, at, v);
        seen[at] = true;
        cg__next_index(nd, a->shape, idx);
    }
    free(seen);
    return 0;
}

enum { EXT_SELF, EXT_RESULT };  /* saved */
enum { EXT_MASK, EXT_KEEPDIM }; /* n->iv */

static cg_tensor *extreme(cg_op op, cg_tensor *a, int ndims, const int *dims, bool keepdim) {
    bool is_max = op == CG_OP_AMAX;
    const char *fn = is_max ? "cg_amax" : "cg_amin";
    unsigned mask;
    if (!a || cg__dim_mask(fn, a, ndims, dims, &mask) < 0) return NULL;
    for (int d = 0; d < a->ndim; d++)
        if (mask >> d & 1 && a->shape[d] == 0) {
            cg__error(fn, "%s(): Expected reduction dim %d to have non-zero size.",
                      is_max ? "amax" : "amin", d);
            return NULL;
        }
    cg_tensor *out = cg__reduced_tensor(a, mask, keepdim, a->dtype);
    if (!out || extreme_kernel(a, mask, is_max, out) < 0) return NULL;
    cg_node *n = cg__record(op, out, 1, &a);
    if (n) {
        n->iv[EXT_MASK] = mask, n->iv[EXT_KEEPDIM] = keepdim, n->n_iv = 2;
        if (cg__save(n, EXT_SELF, a, false) < 0 || cg__save(n, EXT_RESULT, out, true) < 0)
            return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_amax(cg_tensor *a, int ndims, const int *dims, bool keepdim) {
    return extreme(CG_OP_AMAX, a, ndims, dims, keepdim);
}
cg_tensor *cg_amin(cg_tensor *a, int ndims, const int *dims, bool keepdim) {
    return extreme(CG_OP_AMIN, a, ndims, dims, keepdim);
}

/* amax, amin: g / count on the elements equal to the result */
int cg__bw_extreme(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *a = cg__unpack(n, EXT_SELF), *r = cg__unpack(n, EXT_RESULT), *g = go[0];
    unsigned mask = (unsigned)n->iv[EXT_MASK];
    if (!a || !r) return -1;
    int64_t keep[CG_MAX_DIMS]; /* a's shape with 1 at the reduced dims */
    int dims[CG_MAX_DIMS], nd = 0;
    for (int d = 0; d < a->ndim; d++) {
        keep[d] = mask >> d & 1 ? 1 : a->shape[d];
        if (mask >> d & 1) dims[nd++] = d;
    }
    if (!n->iv[EXT_KEEPDIM]) {
        r = cg_reshape(r, a->ndim, keep);
        g = cg_reshape(g, a->ndim, keep);
    }
    cg_tensor *hit = cg_eq(a, r);
    cg_tensor *count = nd ? cg_sum_dims(hit, nd, dims, true) : cg_to(hit, CG_INT64);
    return (gi[0] = cg_div(cg_mul(g, hit), count)) ? 0 : -1;
}
