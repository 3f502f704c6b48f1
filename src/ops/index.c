/* Indexing with tensors — index_select, gather, scatter_add, masked_fill —
 * and the triangles triu/tril, each forward beside its backward. gather and
 * scatter_add are each other's gradient, which keeps every backward here
 * differentiable (create_graph). */
#include "ops.h"

#include <float.h>
#include <math.h>

/* ------------------------------------------------------------- helpers */

/* A tensor's shape and strides with a 0-d tensor seen as 1-D of size 1
 * (PyTorch's ensure_nonempty_dim / ensure_nonempty_size). */
typedef struct {
    int nd;
    int64_t shape[CG_MAX_DIMS], st[CG_MAX_DIMS];
} desc;

static void desc_of(desc *v, const cg_tensor *t) {
    if (t->ndim == 0) {
        v->nd = 1, v->shape[0] = 1, v->st[0] = 0;
        return;
    }
    v->nd = t->ndim;
    memcpy(v->shape, t->shape, sizeof v->shape);
    memcpy(v->st, t->strides, sizeof v->st);
}

static int64_t offset_of(const desc *v, const int64_t *idx) {
    int64_t off = 0;
    for (int i = 0; i < v->nd; i++) off += idx[i] * v->st[i];
    return off;
}

/* The int64 at element offset off of an index tensor. */
static int64_t index_at(const cg_tensor *ix, int64_t off) { return ((const int64_t *)cg__ptr(ix))[off]; }

/* *dst += *src in dtype dt (or for bool) */
static void add_elem(cg_dtype dt, char *dst, const char *src) {
    switch (dt) {
    case CG_FLOAT32: *(float *)dst += *(const float *)src; break;
    case CG_FLOAT64: *(double *)dst += *(const double *)src; break;
    case CG_INT64: *(int64_t *)dst += *(const int64_t *)src; break;
    case CG_BOOL: *(bool *)dst = *(bool *)dst || *(const bool *)src; break;
    }
}

static const char *scalar_name(cg_dtype d) {
    static const char *names[CG_NUM_DTYPES] = {"Float", "Double", "Long", "Bool"};
    return names[d];
}

/* (1, ..., k, ..., 1) view of a 0-d or 1-D index along dim, expanded to
 * shape: the index of an index_select as a gather/scatter index */
static cg_tensor *index_along(cg_tensor *ix, int dim, int nd, const int64_t *shape) {
    int64_t ish[CG_MAX_DIMS]; /* (nd): 1 everywhere but k at dim */
    for (int i = 0; i < nd; i++) ish[i] = i == dim ? cg__numel(ix->ndim, ix->shape) : 1;
    return cg_expand(cg_reshape(ix, nd, ish), nd, shape);
}

/* ---------------------------------------------------------- index_select */

cg_tensor *cg_index_select(cg_tensor *a, int dim, cg_tensor *index) {
    const char *fn = "cg_index_select";
    if (!a || !index) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0) return NULL;
    if (index->ndim > 1) {
        cg__error(fn, "index_select(): Index is supposed to be a vector");
        return NULL;
    }
    if (index->dtype != CG_INT64) {
        cg__error(fn, "index_select(): Expected dtype int32 or int64 for index");
        return NULL;
    }
    int64_t k = cg__numel(index->ndim, index->shape);
    if (a->ndim == 0 && k != 1) { /* PyTorch 1.13 returns a 0-d tensor whose backward fails */
        cg__error(fn, "index_select(): Index to scalar can have only 1 value, got %lld value(s)",
                  (long long)k);
        return NULL;
    }
    int64_t size = a->ndim ? a->shape[d] : 1, ist = index->ndim ? index->strides[0] : 0;
    /* PyTorch's messages differ by path: the dim-1 kernel (also taken by an
     * empty input) reports the index and the size */
    bool empty = cg__numel(a->ndim, a->shape) == 0;
    if (a->ndim >= 2 && empty && size == 0 && k > 0) {
        cg__error(fn, "index_select(): self indexing axis dim should be positive");
        return NULL;
    }
    for (int64_t i = 0; i < k; i++) {
        int64_t v = index_at(index, i * ist);
        if (v >= 0 && v < size) continue;
        if (a->ndim >= 2 && (d == 1 || empty))
            cg__error(fn, "INDICES element is out of DATA bounds, id=%lld axis_dim=%lld", (long long)v,
                      (long long)size);
        else
            cg__error(fn, "index out of range in self");
        return NULL;
    }
    int64_t shape[CG_MAX_DIMS]; /* (a->ndim): a's shape with k at dim */
    memcpy(shape, a->shape, sizeof shape);
    if (a->ndim) shape[d] = k;
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, shape);
    if (!out) return NULL;
    int64_t n = cg__numel(out->ndim, out->shape), idx[CG_MAX_DIMS] = {0};
    size_t es = cg__esize(a->dtype);
    const char *src = cg__ptr(a);
    char *dst = cg__ptr(out);
    for (int64_t e = 0; e < n; e++) { /* out[..., i, ...] = a[..., index[i], ...] */
        int64_t off = 0;
        for (int i = 0; i < a->ndim; i++)
            off += (i == d ? index_at(index, idx[i] * ist) : idx[i]) * a->strides[i];
        memcpy(dst + (size_t)e * es, src + off * (int64_t)es, es);
        cg__next_index(out->ndim, out->shape, idx);
    }
    cg_node *node = cg__record(CG_OP_INDEX_SELECT, out, 1, &a);
    if (node) {
        node->iv[0] = d, node->n_iv = 1;
        if (cg__save(node, 0, index, false) < 0) return NULL;
    }
    return out;
}

int cg__bw_index_select(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *ix = cg__unpack(n, 0);
    if (!ix) return -1;
    const cg_meta *m = &n->in_meta[0];
    if (m->ndim == 0) { /* a 0-d input was read once */
        gi[0] = go[0];
        return 0;
    }
    /* index_add: each output slice adds into the input slice it came from,
     * i.e. zeros.scatter_add(dim, index along dim, grad) */
    int d = (int)n->iv[0];
    cg_tensor *z = cg_zeros(m->ndim, m->shape, go[0]->dtype);
    return (gi[0] = cg_scatter_add(z, d, index_along(ix, d, go[0]->ndim, go[0]->shape), go[0])) ? 0
                                                                                                : -1;
}

/* ---------------------------------------------------------------- gather */

/* index values within [0, size) of dim d; PyTorch's message otherwise */
static int check_bounds(const char *fn, const cg_tensor *index, int d, int64_t size) {
    desc iv;
    desc_of(&iv, index);
    int64_t n = cg__numel(index->ndim, index->shape), idx[CG_MAX_DIMS] = {0};
    for (int64_t e = 0; e < n; e++) {
        int64_t v = index_at(index, offset_of(&iv, idx));
        if (v < 0 || v >= size) {
            cg__error(fn, "index %lld is out of bounds for dimension %d with size %lld", (long long)v, d,
                      (long long)size);
            return -1;
        }
        cg__next_index(iv.nd, iv.shape, idx);
    }
    return 0;
}

cg_tensor *cg_gather(cg_tensor *a, int dim, cg_tensor *index) {
    const char *fn = "cg_gather";
    if (!a || !index) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0) return NULL;
    int64_t k = cg__numel(index->ndim, index->shape);
    desc av, iv;
    desc_of(&av, a);
    desc_of(&iv, index);
    if (k) { /* an empty index is not checked, as in PyTorch */
        if (index->dtype != CG_INT64) {
            cg__error(fn, "gather(): Expected dtype int64 for index");
            return NULL;
        }
        if (av.nd != iv.nd) {
            cg__error(fn, "Index tensor must have the same number of dimensions as input tensor");
            return NULL;
        }
        for (int i = 0; i < av.nd; i++)
            if (i != d && iv.shape[i] > av.shape[i]) {
                char si[256], sa[256];
                cg__shape_str(si, sizeof si, index->ndim, index->shape);
                cg__shape_str(sa, sizeof sa, a->ndim, a->shape);
                cg__error(fn, "Size does not match at dimension %d expected index %s to be smaller "
                              "than self %s apart from dimension %d", i, si, sa, d);
                return NULL;
            }
        if (check_bounds(fn, index, d, av.shape[d]) < 0) return NULL;
    }
    cg_tensor *out = cg__tensor_new(a->dtype, index->ndim, index->shape);
    if (!out) return NULL;
    int64_t idx[CG_MAX_DIMS] = {0};
    size_t es = cg__esize(a->dtype);
    const char *src = cg__ptr(a);
    char *dst = cg__ptr(out);
    for (int64_t e = 0; e < k; e++) { /* out[i][j] = a[index[i][j]][j] (dim 0) */
        int64_t off = 0;
        for (int i = 0; i < av.nd; i++)
            off += (i == d ? index_at(index, offset_of(&iv, idx)) : idx[i]) * av.st[i];
        memcpy(dst + (size_t)e * es, src + off * (int64_t)es, es);
        cg__next_index(iv.nd, iv.shape, idx);
    }
    cg_node *node = cg__record(CG_OP_GATHER, out, 1, &a);
    if (node) {
        node->iv[0] = d, node->n_iv = 1;
        if (cg__save(node, 0, index, false) < 0) return NULL;
    }
    return out;
}

int cg__bw_gather(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* each gathered element adds its gradient back where it was read */
    cg_tensor *ix = cg__unpack(n, 0);
    const cg_meta *m = &n->in_meta[0];
    cg_tensor *z = ix ? cg_zeros(m->ndim, m->shape, go[0]->dtype) : NULL;
    return (gi[0] = cg_scatter_add(z, (int)n->iv[0], ix, go[0])) ? 0 : -1;
}

/* ----------------------------------------------------------- scatter_add */

cg_tensor *cg_scatter_add(cg_tensor *a, int dim, cg_tensor *index, cg_tensor *src) {
    const char *fn = "cg_scatter_add";
    if (!a || !index || !src) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0) return NULL;
    int64_t k = cg__numel(index->ndim, index->shape);
    if (k && index->dtype != CG_INT64) {
        cg__error(fn, "scatter(): Expected dtype int64 for index");
        return NULL;
    }
    if (a->dtype != src->dtype) {
        cg__error(fn, "scatter(): Expected self.dtype to be equal to src.dtype");
        return NULL;
    }
    desc av, iv, sv;
    desc_of(&av, a);
    desc_of(&iv, index);
    desc_of(&sv, src);
    if (k) { /* PyTorch's scatter_shape_check, in its order */
        if (av.nd != iv.nd) {
            cg__error(fn, "Index tensor must have the same number of dimensions as self tensor");
            return NULL;
        }
        bool wrong = false;
        for (int i = 0; i < av.nd && !wrong; i++) wrong = i != d && iv.shape[i] > av.shape[i];
        for (int i = 0; i < av.nd && !wrong; i++) {
            if (src->ndim && i >= src->ndim) { /* src.size(i) of a src with fewer dims */
                cg__wrap_dim(fn, i, src->ndim);
                return NULL;
            }
            wrong = iv.shape[i] > sv.shape[i];
        }
        if (sv.nd != iv.nd) {
            cg__error(fn, "Index tensor must have the same number of dimensions as src tensor");
            return NULL;
        }
        if (wrong) {
            char si[256], sa[256], ss[256];
            cg__shape_str(si, sizeof si, index->ndim, index->shape);
            cg__shape_str(sa, sizeof sa, a->ndim, a->shape);
            cg__shape_str(ss, sizeof ss, src->ndim, src->shape);
            cg__error(fn, "Expected index %s to be smaller than self %s apart from dimension %d and "
                          "to be smaller size than src %s", si, sa, d, ss);
            return NULL;
        }
        if (check_bounds(fn, index, d, av.shape[d]) < 0) return NULL;
    }
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!out) return NULL;
    cg__copy_into(out, a);
    desc ov;
    desc_of(&ov, out);
    int64_t idx[CG_MAX_DIMS] = {0};
    size_t es = cg__esize(a->dtype);
    const char *s = cg__ptr(src);
    char *o = cg__ptr(out);
    for (int64_t e = 0; e < k; e++) { /* out[index[i][j]][j] += src[i][j] (dim 0) */
        int64_t off = 0;
        for (int i = 0; i < ov.nd; i++)
            off += (i == d ? index_at(index, offset_of(&iv, idx)) : idx[i]) * ov.st[i];
        add_elem(a->dtype, o + off * (int64_t)es, s + offset_of(&sv, idx) * (int64_t)es);
        cg__next_index(iv.nd, iv.shape, idx);
    }
    cg_tensor *in[2] = {a, src};
    cg_node *node = cg__record(CG_OP_SCATTER_ADD, out, 2, in);
    if (node) {
        node->iv[0] = d, node->n_iv = 1;
        if (cg__save(node, 0, index, false) < 0) return NULL;
    }
    return out;
}

int cg__bw_scatter_add(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* self passes straight through; src's elements were each added once, at
     * the positions the index names: their gradient is the gather there */
    if (n->next[0].fn) gi[0] = go[0];
    if (n->next[1].fn) {
        cg_tensor *ix = cg__unpack(n, 0);
        if (!(gi[1] = ix ? cg_gather(go[0], (int)n->iv[0], ix) : NULL)) return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- masked_fill */

cg_tensor *cg_masked_fill(cg_tensor *a, cg_tensor *mask, double value) {
    const char *fn = "cg_masked_fill";
    if (!a || !mask) return NULL;
    /* PyTorch 1.13 takes integer masks (0/1 only) and silently ignores
     * floating ones; later versions refuse both, with this message */
    if (mask->dtype != CG_BOOL) {
        cg__error(fn, "masked_fill only supports boolean masks, but got dtype %s",
                  scalar_name(mask->dtype));
        return NULL;
    }
    int nd;
    int64_t shape[CG_MAX_DIMS]; /* (nd): mask and a broadcast */
    if (cg__broadcast_shape(fn, mask->ndim, mask->shape, a->ndim, a->shape, &nd, shape) < 0)
        return NULL;
    if (a->dtype == CG_INT64 && !(value >= -0x1p63 && value < 0x1p63)) {
        cg__error(fn, "value cannot be converted to type int64_t without overflow");
        return NULL;
    }
    if (a->dtype == CG_FLOAT32 && isfinite(value) && fabs(value) > FLT_MAX) {
        cg__error(fn, "value cannot be converted to type float without overflow");
        return NULL;
    }
    cg_tensor *out = cg__tensor_new(a->dtype, nd, shape);
    if (!out) return NULL;
    cg_tensor ab = *a; /* a broadcast to the result: a header on the stack for cg__copy_into */
    ab.ndim = nd;
    memcpy(ab.shape, shape, sizeof ab.shape);
    cg__broadcast_strides(a, nd, shape, ab.strides);
    cg__copy_into(out, &ab);
    int64_t mst[CG_MAX_DIMS]; /* (nd): the mask's strides, broadcast */
    int64_t idx[CG_MAX_DIMS] = {0}, n = cg__numel(nd, shape);
    cg__broadcast_strides(mask, nd, shape, mst);
    const bool *m = cg__ptr(mask);
    char *o = cg__ptr(out);
    for (int64_t e = 0; e < n; e++) {
        int64_t off = 0;
        for (int i = 0; i < nd; i++) off += idx[i] * mst[i];
        if (m[off]) {
            switch (out->dtype) {
            case CG_FLOAT32: ((float *)o)[e] = (float)value; break;
            case CG_FLOAT64: ((double *)o)[e] = value; break;
            case CG_INT64: ((int64_t *)o)[e] = (int64_t)value; break;
            case CG_BOOL: ((bool *)o)[e] = value != 0; break;
            }
        }
        cg__next_index(nd, shape, idx);
    }
    cg_node *node = cg__record(CG_OP_MASKED_FILL, out, 1, &a);
    if (node && cg__save(node, 0, mask, false) < 0) return NULL;
    return out;
}

int cg__bw_masked_fill(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* the filled elements no longer depend on a */
    cg_tensor *mask = cg__unpack(n, 0);
    return (gi[0] = mask ? cg_masked_fill(go[0], mask, 0) : NULL) ? 0 : -1;
}

/* ------------------------------------------------------------ triu, tril */

static cg_tensor *triangle(const char *fn, cg_op op, cg_tensor *a, int64_t diagonal, bool upper) {
    if (!a) return NULL;
    if (a->ndim == 0) {
        cg__error(fn, "Dimension specified as -2 but tensor has no dimensions");
        return NULL;
    }
    if (cg__wrap_dim(fn, -2, a->ndim) < 0) return NULL;
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!out) return NULL;
    int nd = a->ndim;
    int64_t n = cg__numel(nd, a->shape), idx[CG_MAX_DIMS] = {0};
    size_t es = cg__esize(a->dtype);
    const char *src = cg__ptr(a);
    char *dst = cg__ptr(out);
    for (int64_t e = 0; e < n; e++) { /* keep (i, j) with j - i >= diagonal (triu), <= (tril) */
        int64_t j_i = idx[nd - 1] - idx[nd - 2], off = 0;
        if (upper ? j_i >= diagonal : j_i <= diagonal) {
            for (int i = 0; i < nd; i++) off += idx[i] * a->strides[i];
            memcpy(dst + (size_t)e * es, src + off * (int64_t)es, es);
        } else {
            memset(dst + (size_t)e * es, 0, es);
        }
        cg__next_index(nd, a->shape, idx);
    }
    cg_node *node = cg__record(op, out, 1, &a);
    if (node) node->iv[0] = diagonal, node->n_iv = 1;
    return out;
}

cg_tensor *cg_triu(cg_tensor *a, int64_t diagonal) {
    return triangle("cg_triu", CG_OP_TRIU, a, diagonal, true);
}

cg_tensor *cg_tril(cg_tensor *a, int64_t diagonal) {
    return triangle("cg_tril", CG_OP_TRIL, a, diagonal, false);
}

int cg__bw_triu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg_triu(go[0], n->iv[0])) ? 0 : -1;
}

int cg__bw_tril(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg_tril(go[0], n->iv[0])) ? 0 : -1;
}
