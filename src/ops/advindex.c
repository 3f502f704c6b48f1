/* The advanced-indexing family, each forward beside its backward: a[indices]
 * (torch's a[i, j] with int64 or bool index tensors for the leading dims),
 * index_put (with or without accumulate) and masked_select with a
 * broadcasting mask. Each is the other's gradient. */
#include "ewise.h"

#include <stdlib.h>

#define MAX_INDEX CG_MAX_DIMS

/* Where a[indices] reads in a contiguous copy of a: element (b, r) of the
 * result (b over the broadcast index shape, r over a's unindexed trailing
 * dims, rn of them) is at base[b] + r. */
typedef struct {
    int nb;
    int64_t bshape[CG_MAX_DIMS]; /* the indices' broadcast shape */
    int m;                       /* a's dims the indices consume */
    int64_t nbase, rn;
    int64_t *base;            /* (nbase), malloc'ed */
    cg_tensor *ix[MAX_INDEX]; /* the indices, masks expanded (m of them) */
} plan;

/* bool masks expanded into one int64 index per mask dim (nonzero); others as
 * given; *k of them in out. -1 with torch's error */
static int expand_masks(const char *fn, const cg_tensor *a, int n, cg_tensor *const *in,
                        cg_tensor **out, int *k) {
    *k = 0;
    for (int i = 0; i < n; i++) {
        cg_tensor *t = in[i];
        if (!t) return -1;
        if (t->dtype == CG_INT64) {
            if (*k >= MAX_INDEX) break;
            out[(*k)++] = t;
            continue;
        }
        if (t->dtype != CG_BOOL) {
            cg__error(fn, "tensors used as indices must be long, byte or bool tensors");
            return -1;
        }
        for (int d = 0; d < t->ndim; d++)
            if (*k + d >= a->ndim || t->shape[d] != a->shape[*k + d]) {
                char sm[64], sa[64];
                cg__shape_str(sm, sizeof sm, t->ndim, t->shape);
                cg__shape_str(sa, sizeof sa, a->ndim, a->shape);
                cg__error(fn,
                          "The shape of the mask %s at index %d does not match the shape of the "
                          "indexed tensor %s at index %d",
                          sm, d, sa, *k + d);
                return -1;
            }
        cg_tensor *mc = cg__as_contiguous(t);
        int64_t cnt = 0, total = cg__numel(t->ndim, t->shape), idx[CG_MAX_DIMS] = {0};
        for (int64_t j = 0; mc && j < total; j++) cnt += ((const bool *)cg__ptr(mc))[j];
        for (int d = 0; d < t->ndim; d++)
            if (!(out[*k + d] = cg__tensor_new(CG_INT64, 1, &cnt))) return -1;
        for (int64_t j = 0, w = 0; mc && j < total; j++, cg__next_index(t->ndim, t->shape, idx))
            if (((const bool *)cg__ptr(mc))[j]) {
                for (int d = 0; d < t->ndim; d++) ((int64_t *)cg__ptr(out[*k + d]))[w] = idx[d];
                w++;
            }
        *k += t->ndim;
    }
    return 0;
}

/* torch's error for indices (masks expanded) that do not broadcast */
static void shape_mismatch(const char *fn, const plan *p) {
    char msg[512] = "shape mismatch: indexing tensors could not be broadcast together with shapes ";
    for (int i = 0; i < p->m; i++) {
        char sh[64];
        cg__shape_str(sh, sizeof sh, p->ix[i]->ndim, p->ix[i]->shape);
        size_t k = strlen(msg);
        snprintf(msg + k, sizeof msg - k, "%s%s", i ? ", " : "", sh);
    }
    cg__error(fn, "%s", msg);
}

/* The shape part of the plan of a[indices] (masks expanded, indices
 * broadcast, kept in ix); -1 with torch's error. torch counts the indices as
 * given before it expands the masks. */
static int plan_shape(const char *fn, const cg_tensor *a, int n, cg_tensor *const *indices,
                      plan *p) {
    p->base = NULL;
    if (n < 0 || n > MAX_INDEX) return -1;
    if (n > a->ndim) {
        cg__error(fn, "too many indices for tensor of dimension %d (got %d)", a->ndim, n);
        return -1;
    }
    if (expand_masks(fn, a, n, indices, p->ix, &p->m) < 0) return -1;
    p->nb = 0;
    for (int i = 0; i < p->m; i++) {
        int64_t next[CG_MAX_DIMS];
        if (cg__broadcast_shape(fn, p->nb, p->bshape, p->ix[i]->ndim, p->ix[i]->shape, &p->nb,
                                next) < 0)
            return shape_mismatch(fn, p), -1;
        memcpy(p->bshape, next, sizeof next);
    }
    p->nbase = cg__numel(p->nb, p->bshape);
    p->rn = cg__numel(a->ndim - p->m, a->shape + p->m);
    return 0;
}

/* The offsets part: where each indexed row starts; -1 with torch's error
 * (an index out of bounds, which torch's kernel finds last) */
static int plan_offsets(const char *fn, const cg_tensor *a, plan *p) {
    p->base = calloc((size_t)(p->nbase ? p->nbase : 1), sizeof(int64_t));
    if (!p->base) return cg__oom(fn), -1;
    int64_t cst[CG_MAX_DIMS];
    cg__contiguous_strides(a->ndim, a->shape, cst);
    for (int i = 0; i < p->m; i++) {
        cg_tensor *e = cg__as_contiguous(cg_expand(cg_detach(p->ix[i]), p->nb, p->bshape));
        if (!e) return -1;
        const int64_t *v = cg__ptr(e);
        for (int64_t b = 0; b < p->nbase; b++) {
            int64_t t = v[b], len = a->shape[i];
            if (t < -len || t >= len) {
                cg__error(fn, CG_MSG_INDEX_BOUNDS, (long long)t, i, (long long)len);
                return -1;
            }
            p->base[b] += (t < 0 ? t + len : t) * cst[i];
        }
    }
    return 0;
}

/* the result's shape: the indices' broadcast shape, then a's trailing dims */
static int result_shape(const cg_tensor *a, const plan *p, int64_t *shape) {
    int nd = p->nb + a->ndim - p->m;
    if (nd > CG_MAX_DIMS) return cg__error("cg_index", CG_MSG_MAX_DIMS, CG_MAX_DIMS), -1;
    memcpy(shape, p->bshape, sizeof(int64_t) * (size_t)p->nb);
    memcpy(shape + p->nb, a->shape + p->m, sizeof(int64_t) * (size_t)(a->ndim - p->m));
    return nd;
}

/* saves the indices (slots 0..n-1) and their count in n->iv */
enum { IDX_COUNT, IDX_ACCUMULATE }; /* n->iv */

static int save_indices(cg_node *n, int count, cg_tensor *const *indices) {
    n->iv[IDX_COUNT] = count, n->n_iv = 2;
    for (int i = 0; i < count; i++)
        if (cg__save(n, i, indices[i], false) < 0) return -1;
    return 0;
}

static int unpack_indices(cg_node *n, cg_tensor **indices) {
    for (int i = 0; i < n->iv[IDX_COUNT]; i++)
        if (!(indices[i] = cg__unpack(n, i))) return -1;
    return (int)n->iv[IDX_COUNT];
}

/* a[indices] with no 0-d bool index */
static cg_tensor *index_plain(cg_tensor *a, int n, cg_tensor *const *indices) {
    plan p = {0};
    int64_t shape[CG_MAX_DIMS];
    cg_tensor *ac = cg__as_contiguous(a), *out = NULL;
    int nd = ac && plan_shape("cg_index", a, n, indices, &p) == 0 &&
                     plan_offsets("cg_index", a, &p) == 0
                 ? result_shape(a, &p, shape)
                 : -1;
    if (nd >= 0 && (out = cg__tensor_new(a->dtype, nd, shape))) {
        size_t es = cg__esize(a->dtype);
        for (int64_t b = 0; b < p.nbase; b++)
            memcpy((char *)cg__ptr(out) + (size_t)(b * p.rn) * es,
                   (const char *)cg__ptr(ac) + (size_t)p.base[b] * es, (size_t)p.rn * es);
    }
    free(p.base);
    cg_node *node = out ? cg__record(CG_OP_INDEX, out, 1, &a) : NULL;
    if (node && save_indices(node, n, indices) < 0) return NULL;
    return cg__recorded(out);
}

/* A 0-d bool index adds a dim, as PyTorch's a[mask]: a is unsqueezed there
 * (recorded, UnsqueezeBackward0) and the index becomes the 1-element mask
 * [value] of that dim, so true keeps one slice and false none. Other
 * indices pass as given; *pa is the unsqueezed a. 0, or -1 */
static int lift_0d_masks(cg_tensor **pa, int n, cg_tensor *const *in, cg_tensor **out) {
    int dim = 0;
    for (int i = 0; i < n; i++) {
        cg_tensor *t = in[i];
        if (!t) return -1;
        out[i] = t;
        if (t->dtype == CG_BOOL && t->ndim == 0) {
            if (!(*pa = cg_unsqueeze(*pa, dim)) || !(out[i] = cg_view(t, 1, (int64_t[]){1})))
                return -1;
        }
        dim += t->dtype == CG_BOOL && t->ndim > 0 ? t->ndim : 1;
    }
    return 0;
}

cg_tensor *cg_index(cg_tensor *a, int n, cg_tensor *const *indices) {
    if (!a || (n && !indices)) return NULL;
    if (n < 0 || n > MAX_INDEX) return index_plain(a, n, indices);
    cg_tensor *lifted[MAX_INDEX];
    if (lift_0d_masks(&a, n, indices, lifted) < 0) return NULL;
    return index_plain(a, n, lifted);
}

/* the gradient of a[indices]: zeros with g added at the indexed places */
int cg__bw_index(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *indices[MAX_INDEX];
    int k = unpack_indices(n, indices);
    const cg_meta *m = &n->in_meta[0];
    if (k < 0) return -1;
    cg_tensor *zeros = cg_zeros(m->ndim, m->shape, (int)go[0]->dtype);
    return (gi[0] = cg_index_put(zeros, k, indices, go[0], CG_INDEX_PUT_ACCUMULATE)) ? 0 : -1;
}

/* values of a's dtype broadcast to the indexing result, contiguous; or NULL
 * with torch's error (shape first, then dtype). A one-element value under
 * one mask, not accumulated, fills the mask: any shape, cast. */
static cg_tensor *put_values(const cg_tensor *a, cg_tensor *values, int nd, const int64_t *shape,
                             bool fills) {
    const char *fn = "cg_index_put";
    if (fills) /* torch's masked_fill_ with value.item(): any shape, any dtype */
        return cg__as_contiguous(
            cg_expand(cg__convert(cg_reshape(cg_detach(values), 0, NULL), a->dtype), nd, shape));
    bool fits = values->ndim <= nd;
    for (int i = 1; fits && i <= values->ndim; i++) {
        int64_t v = values->shape[values->ndim - i];
        fits = v == 1 || v == shape[nd - i];
    }
    if (!fits) {
        cg__shape_error(fn,
                        "shape mismatch: value tensor of shape %s cannot be broadcast to indexing "
                        "result of shape %s",
                        values->ndim, values->shape, nd, shape);
        return NULL;
    }
    if (values->dtype != a->dtype) {
        cg__error(fn,
                  "Index put requires the source and destination dtypes match, got %s for the "
                  "destination and %s for the source.",
                  cg__scalar_type_name(a->dtype), cg__scalar_type_name(values->dtype));
        return NULL;
    }
    return cg__as_contiguous(cg_expand(cg__convert(cg_detach(values), a->dtype), nd, shape));
}

/* out = a with out[indices] = values (+= with accumulate), no graph; the
 * checks in torch's order */
static cg_tensor *put(cg_tensor *a, int n, cg_tensor *const *indices, cg_tensor *values,
                      cg_index_put_flags flags) {
    const char *fn = "cg_index_put";
    plan p = {0};
    int64_t shape[CG_MAX_DIMS];
    cg_tensor *out = NULL;
    int nd = plan_shape(fn, a, n, indices, &p) == 0 ? result_shape(a, &p, shape) : -1;
    bool fills = n == 1 && indices[0]->dtype == CG_BOOL && !(flags & CG_INDEX_PUT_ACCUMULATE) &&
                 cg__numel(values->ndim, values->shape) == 1;
    cg_tensor *v = nd >= 0 ? put_values(a, values, nd, shape, fills) : NULL;
    if (v && plan_offsets(fn, a, &p) == 0 && (out = cg__tensor_new(a->dtype, a->ndim, a->shape))) {
        cg__copy_into(out, a);
        void *o = cg__ptr(out);
        const void *s = cg__ptr(v);
        for (int64_t b = 0; b < p.nbase; b++)
            for (int64_t r = 0; r < p.rn; r++) {
                int64_t at = p.base[b] + r;
                double x = cg__load(s, a->dtype, b * p.rn + r);
                if (flags & CG_INDEX_PUT_ACCUMULATE) x += cg__load(o, a->dtype, at);
                cg__store(o, a->dtype, at, x);
            }
    }
    free(p.base);
    return out;
}

cg_tensor *cg_index_put(cg_tensor *a, int n, cg_tensor *const *indices, cg_tensor *values,
                        cg_index_put_flags flags) {
    if (!a || !values || (n && !indices)) return NULL;
    cg_tensor *out = put(a, n, indices, values, flags);
    cg_tensor *in[2] = {a, values};
    cg_node *node = out ? cg__record(CG_OP_INDEX_PUT_VALUES, out, 2, in) : NULL;
    if (node) {
        if (save_indices(node, n, indices) < 0) return NULL;
        node->iv[IDX_ACCUMULATE] = (flags & CG_INDEX_PUT_ACCUMULATE) != 0;
    }
    return cg__recorded(out);
}

/* d/da g (with the overwritten places zeroed unless accumulating); d/dvalues
 * g[indices] (summed to values' shape by the engine) */
int cg__bw_index_put_values(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *indices[MAX_INDEX], *g = go[0];
    int k = unpack_indices(n, indices);
    if (k < 0) return -1;
    if (CG_WANT(n, 0)) {
        gi[0] = n->iv[IDX_ACCUMULATE] ? g
                                      : cg_index_put(g, k, indices, cg_scalar(0, (int)g->dtype), 0);
        if (!gi[0]) return -1;
    }
    if (CG_WANT(n, 1) && !(gi[1] = cg_index(g, k, indices))) return -1;
    return 0;
}

cg_tensor *cg_masked_select(cg_tensor *a, cg_tensor *mask) {
    if (!a || !mask) return NULL;
    if (mask->dtype != CG_BOOL) {
        cg__error("cg_masked_select", "masked_select: expected BoolTensor or ByteTensor for mask");
        return NULL;
    }
    int nd;
    int64_t shape[CG_MAX_DIMS];
    if (cg__broadcast_shape("cg_masked_select", mask->ndim, mask->shape, a->ndim, a->shape, &nd,
                            shape) < 0) /* torch names the mask first */
        return NULL;
    cg_tensor *m = cg__as_contiguous(cg_expand(mask, nd, shape));
    /* a broadcast by the mask goes through an expand (torch expands inside
     * its node) */
    cg_tensor *x = cg__same_shape(a->ndim, a->shape, nd, shape) ? a : cg_expand(a, nd, shape);
    return m && x ? cg__masked_select(x, m) : NULL;
}
