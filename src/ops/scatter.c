/* The scatter family, each forward beside its backward: index_add and
 * scatter (a source tensor or a value; no reduce), out of place. */
#include "ewise.h"

#include <math.h>

/* -------------------------------------------------------------- index_add */

/* index_add's checks, in torch's order; 0 or -1 with its message */
static int index_add_check(const cg_tensor *a, int d, const cg_tensor *index,
                           const cg_tensor *src) {
    const char *fn = "cg_index_add";
    if (index->ndim > 1) {
        char s[64];
        cg__shape_str(s, sizeof s, index->ndim, index->shape);
        cg__error(fn,
                  "index_add_(): Index is supposed to be a vector, but got dim: %d with type: %s "
                  "and size: %s",
                  index->ndim, cg__scalar_type_name(index->dtype), s);
        return -1;
    }
    if (index->dtype != CG_INT64)
        return cg__error(fn, "index_add_(): Expected dtype int32/int64 for index"), -1;
    if (a->dtype != src->dtype) {
        cg__error(fn, "index_add_(): self (%s) and source (%s) must have the same scalar type",
                  cg__scalar_type_name(a->dtype), cg__scalar_type_name(src->dtype));
        return -1;
    }
    int64_t n = cg__numel(index->ndim, index->shape), ssz = src->ndim ? src->shape[d] : 1;
    if (n != ssz) {
        cg__error(fn,
                  "index_add_(): Number of indices (%lld) should be equal to source.size(dim): "
                  "(%lld), for dim: %d",
                  (long long)n, (long long)ssz, d);
        return -1;
    }
    for (int k = 0; a->ndim && k < a->ndim; k++)
        if (k != d && (src->ndim != a->ndim || src->shape[k] != a->shape[k])) {
            cg__shape_error(fn, "index_add_(): source %s and self %s must match apart from the dim",
                            src->ndim, src->shape, a->ndim, a->shape);
            return -1;
        }
    return 0;
}

enum { IA_INDEX }; /* saved */
enum { IA_DIM };   /* n->iv */
enum { IA_ALPHA }; /* n->sc */

/* out (a clone of a) along d at index[j] += alpha src's j-th slice */
static int index_add_into(cg_tensor *out, int d, const cg_tensor *index, const cg_tensor *src,
                          double alpha) {
    int64_t outer, len, inner, ns = cg__numel(index->ndim, index->shape);
    cg__dim_split(out->ndim, out->shape, d, &outer, &len, &inner);
    cg_tensor *ic = cg__as_contiguous((cg_tensor *)index),
              *sc = cg__as_contiguous((cg_tensor *)src);
    if (!ic || !sc) return -1;
    const int64_t *ix = cg__ptr(ic);
    for (int64_t j = 0; j < ns; j++)
        if (ix[j] < -len || ix[j] >= len) return cg__error("cg_index_add", CG_MSG_INDEX_RANGE), -1;
    void *o = cg__ptr(out);
    const void *s = cg__ptr(sc);
    cg_dtype dt = out->dtype;
    for (int64_t b = 0; b < outer; b++)
        for (int64_t j = 0; j < ns; j++) {
            int64_t t = ix[j] < 0 ? ix[j] + len : ix[j];
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (b * len + t) * inner + i;
                double v = cg__load(s, dt, (b * ns + j) * inner + i);
                cg__store(o, dt, at, cg__load(o, dt, at) + alpha * v);
            }
        }
    return 0;
}

cg_tensor *cg_index_add(cg_tensor *a, int dim, cg_tensor *index, cg_tensor *src, double alpha) {
    if (!a || !index || !src) return NULL;
    int d = cg__wrap_dim("cg_index_add", dim, a->ndim);
    if (d < 0 || index_add_check(a, d, index, src) < 0) return NULL;
    if (a->dtype == CG_INT64) alpha = trunc(alpha); /* cast to the integer type */
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!out) return NULL;
    cg__copy_into(out, a);
    if (index_add_into(out, d, index, src, alpha) < 0) return NULL;
    cg_tensor *in[2] = {a, src};
    cg_node *n = cg__record(CG_OP_INDEX_ADD, out, 2, in);
    if (n) {
        n->iv[IA_DIM] = d, n->n_iv = 1, n->sc[IA_ALPHA] = alpha;
        if (cg__save(n, IA_INDEX, index, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

/* d/da g; d/dsrc alpha g's slices at index */
int cg__bw_index_add(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *index = cg__unpack(n, IA_INDEX), *g = go[0];
    if (!index) return -1;
    if (CG_WANT(n, 0)) gi[0] = g;
    if (CG_WANT(n, 1)) {
        cg_tensor *sel = g->ndim ? cg_index_select(g, (int)n->iv[IA_DIM], index) : g;
        if (!(gi[1] = cg_mul_scalar(sel, n->sc[IA_ALPHA]))) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- scatter */

/* scatter's checks; src NULL for the value form. 0 or -1 with torch's error */
static int scatter_check(const cg_tensor *a, int d, const cg_tensor *index, const cg_tensor *src) {
    const char *fn = "cg_scatter";
    bool src_dtype = !src || src->dtype == a->dtype;
    if (cg__numel(index->ndim, index->shape) == 0 && src_dtype) return 0; /* torch checks no more */
    if (index->ndim != a->ndim && (index->ndim > 1 || a->ndim > 1))
        return cg__error(fn, "Index tensor must have the same number of dimensions as self tensor"),
               -1;
    if (index->dtype != CG_INT64)
        return cg__error(fn, "scatter(): Expected dtype int64 for index"), -1;
    if (!src_dtype)
        return cg__error(fn, "scatter(): Expected self.dtype to be equal to src.dtype"), -1;
    bool fits = true;
    for (int k = 0; k < index->ndim; k++) {
        int64_t as = a->ndim ? a->shape[k] : 1, ss = src && src->ndim ? src->shape[k] : 1;
        if ((k != d && index->shape[k] > as) || (src && index->shape[k] > ss)) fits = false;
    }
    if (fits) return 0;
    char si[64], sa[64], ss[64];
    cg__shape_str(si, sizeof si, index->ndim, index->shape);
    cg__shape_str(sa, sizeof sa, a->ndim, a->shape);
    if (src) {
        cg__shape_str(ss, sizeof ss, src->ndim, src->shape);
        cg__error(fn,
                  "Expected index %s to be smaller than self %s apart from dimension %d and to be "
                  "smaller size than src %s",
                  si, sa, d, ss);
    } else {
        cg__error(fn, "Expected index %s to be smaller than self %s apart from dimension %d", si,
                  sa, d);
    }
    return -1;
}

/* out (a contiguous clone) at index's positions, dim d replaced by the
 * index, = src at the same position (or value when src is NULL) */
static int scatter_into(cg_tensor *out, int d, const cg_tensor *index, const cg_tensor *src,
                        double value) {
    int nd = index->ndim;
    int64_t n = cg__numel(nd, index->shape), idx[CG_MAX_DIMS] = {0},
            len = out->ndim ? out->shape[d] : 1;
    const char *ip = (const char *)index->storage->data;
    for (int64_t k = 0; k < n; k++) {
        int64_t ioff = index->offset, ooff = 0, soff = src ? src->offset : 0;
        for (int j = 0; j < nd; j++) ioff += idx[j] * index->strides[j];
        int64_t t = ((const int64_t *)ip)[ioff];
        if (t < -len || t >= len) {
            cg__error("cg_scatter", CG_MSG_INDEX_BOUNDS, (long long)t, d, (long long)len);
            return -1;
        }
        for (int j = 0; j < nd && out->ndim; j++) {
            ooff += (j == d ? (t < 0 ? t + len : t) : idx[j]) * out->strides[j];
            if (src && src->ndim) soff += idx[j] * src->strides[j];
        }
        double v = src ? cg__load(src->storage->data, src->dtype, soff) : value;
        cg__store(cg__ptr(out), out->dtype, ooff, v);
        cg__next_index(nd, index->shape, idx);
    }
    return 0;
}

enum { SC_INDEX }; /* saved */
enum { SC_DIM };   /* n->iv */

static cg_tensor *scatter(cg_tensor *a, int dim, cg_tensor *index, cg_tensor *src, double value) {
    int d = cg__wrap_dim("cg_scatter", dim, a->ndim);
    if (d < 0 || scatter_check(a, d, index, src) < 0) return NULL;
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!out) return NULL;
    cg__copy_into(out, a);
    if (scatter_into(out, d, index, src, value) < 0) return NULL;
    cg_tensor *in[2] = {a, src};
    cg_node *n = cg__record(src ? CG_OP_SCATTER : CG_OP_SCATTER_VALUE, out, src ? 2 : 1, in);
    if (n) {
        n->iv[SC_DIM] = d, n->n_iv = 1;
        if (cg__save(n, SC_INDEX, index, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

cg_tensor *cg_scatter(cg_tensor *a, int dim, cg_tensor *index, cg_tensor *src) {
    return a && index && src ? scatter(a, dim, index, src, 0) : NULL;
}

cg_tensor *cg_scatter_value(cg_tensor *a, int dim, cg_tensor *index, double value) {
    return a && index ? scatter(a, dim, index, NULL, value) : NULL;
}

/* d/da g with the overwritten positions zeroed; d/dsrc g gathered at index */
int cg__bw_scatter(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *index = cg__unpack(n, SC_INDEX), *g = go[0];
    int d = (int)n->iv[SC_DIM];
    if (!index) return -1;
    if (CG_WANT(n, 0) && !(gi[0] = cg_scatter_value(g, d, index, 0))) return -1;
    if (n->n_next > 1 && CG_WANT(n, 1) && !(gi[1] = cg_gather(g, d, index))) return -1;
    return 0;
}
