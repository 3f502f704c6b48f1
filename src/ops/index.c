/* Indexing with tensors — index_select, gather, scatter_add, masked_fill —
 * and the triangles triu/tril, each forward beside its backward. gather and
 * scatter_add are each other's gradient, which keeps every backward here
 * differentiable (create_graph). Also the index node kinds that only other
 * ops record (ops.h): index_put_ of 0 under a mask and masked_select. */
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
static int64_t index_at(const cg_tensor *ix, int64_t off) {
    return ((const int64_t *)cg__ptr(ix))[off];
}

/* *dst += *src in dtype dt (or for bool) */
static void add_elem(cg_dtype dt, char *dst, const char *src) {
    switch (dt) {
    case CG_FLOAT32: *(float *)dst += *(const float *)src; break;
    case CG_FLOAT64: *(double *)dst += *(const double *)src; break;
    case CG_INT64: *(int64_t *)dst += *(const int64_t *)src; break;
    case CG_BOOL: *(bool *)dst = *(bool *)dst || *(const bool *)src; break;
    }
}

/* (1, ..., k, ..., 1) view of a 0-d or 1-D index along dim, expanded to
 * shape: the index of an index_select as a gather/scatter index */
static cg_tensor *index_along(cg_tensor *ix, int dim, int nd, const int64_t *shape) {
    int64_t ish[CG_MAX_DIMS]; /* (nd): 1 everywhere but k at dim */
    for (int i = 0; i < nd; i++) ish[i] = i == dim ? cg__numel(ix->ndim, ix->shape) : 1;
    return cg_expand(cg_reshape(ix, nd, ish), nd, shape);
}

/* ---------------------------------------------------------- index_select */

enum { INDEX_SELECT_INDEX };                  /* saved */
enum { INDEX_SELECT_DIM, INDEX_SELECT_N_IV }; /* n->iv */

/* index_select's checks, in PyTorch's order (d: the wrapped dim) */
static int index_select_check(const char *fn, const cg_tensor *a, int d, const cg_tensor *index) {
    if (index->ndim > 1) {
        cg__error(fn, "index_select(): Index is supposed to be a vector");
        return -1;
    }
    if (index->dtype != CG_INT64) {
        cg__error(fn, "index_select(): Expected dtype int32 or int64 for index");
        return -1;
    }
    int64_t k = cg__numel(index->ndim, index->shape);
    if (a->ndim == 0 && k != 1) { /* PyTorch 1.13 returns a 0-d tensor whose backward fails */
        cg__error(fn, "index_select(): Index to scalar can have only 1 value, got %lld value(s)",
                  (long long)k);
        return -1;
    }
    int64_t size = a->ndim ? a->shape[d] : 1, ist = index->ndim ? index->strides[0] : 0;
    /* PyTorch's messages differ by path: the dim-1 kernel (also taken by an
     * empty input) reports the index and the size */
    bool empty = cg__numel(a->ndim, a->shape) == 0;
    if (a->ndim >= 2 && empty && size == 0 && k > 0) {
        cg__error(fn, CG_MSG_INDEX_AXIS_POSITIVE);
        return -1;
    }
    for (int64_t i = 0; i < k; i++) {
        int64_t v = index_at(index, i * ist);
        if (v >= 0 && v < size) continue;
        if (a->ndim >= 2 && (d == 1 || empty))
            cg__error(fn, CG_MSG_INDICES_OUT_OF_DATA, (long long)v, (long long)size);
        else
            cg__error(fn, CG_MSG_INDEX_RANGE);
        return -1;
    }
    return 0;
}

cg_tensor *cg_index_select(cg_tensor *a, int dim, cg_tensor *index) {
    const char *fn = "cg_index_select";
    if (!a || !index) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0 || index_select_check(fn, a, d, index) < 0) return NULL;
    int64_t k = cg__numel(index->ndim, index->shape), ist = index->ndim ? index->strides[0] : 0;
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
        node->iv[INDEX_SELECT_DIM] = d, node->n_iv = INDEX_SELECT_N_IV;
        if (cg__save(node, INDEX_SELECT_INDEX, index, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

int cg__bw_index_select(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *ix = cg__unpack(n, INDEX_SELECT_INDEX);
    int d = (int)n->iv[INDEX_SELECT_DIM];
    if (!ix) return -1;
    const cg_meta *m = &n->in_meta[0];
    if (m->ndim == 0) { /* a 0-d input was read once */
        gi[0] = go[0];
        return 0;
    }
    /* index_add: each output slice adds into the input slice it came from,
     * i.e. zeros.scatter_add(dim, index along dim, grad) */
    cg_tensor *z = cg_zeros(m->ndim, m->shape, go[0]->dtype);
    return (gi[0] = cg_scatter_add(z, d, index_along(ix, d, go[0]->ndim, go[0]->shape), go[0]))
               ? 0
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
            cg__error(fn, CG_MSG_INDEX_BOUNDS, (long long)v, d, (long long)size);
            return -1;
        }
        cg__next_index(iv.nd, iv.shape, idx);
    }
    return 0;
}

enum { GATHER_INDEX };            /* saved */
enum { GATHER_DIM, GATHER_N_IV }; /* n->iv */

/* gather's checks of a non-empty index (an empty one is not checked, as in
 * PyTorch) */
static int gather_check(const char *fn, const cg_tensor *a, int d, const cg_tensor *index) {
    desc av, iv;
    desc_of(&av, a);
    desc_of(&iv, index);
    if (index->dtype != CG_INT64) {
        cg__error(fn, "gather(): Expected dtype int64 for index");
        return -1;
    }
    if (av.nd != iv.nd) {
        cg__error(fn, "Index tensor must have the same number of dimensions as input tensor");
        return -1;
    }
    for (int i = 0; i < av.nd; i++)
        if (i != d && iv.shape[i] > av.shape[i]) {
            char si[256], sa[256];
            cg__shape_str(si, sizeof si, index->ndim, index->shape);
            cg__shape_str(sa, sizeof sa, a->ndim, a->shape);
            cg__error(fn,
                      "Size does not match at dimension %d expected index %s to be smaller "
                      "than self %s apart from dimension %d",
                      i, si, sa, d);
            return -1;
        }
    return check_bounds(fn, index, d, av.shape[d]);
}

cg_tensor *cg_gather(cg_tensor *a, int dim, cg_tensor *index) {
    const char *fn = "cg_gather";
    if (!a || !index) return NULL;
    int d = cg__wrap_dim(fn, dim, a->ndim);
    if (d < 0) return NULL;
    int64_t k = cg__numel(index->ndim, index->shape);
    if (k && gather_check(fn, a, d, index) < 0) return NULL;
    desc av, iv;
    desc_of(&av, a);
    desc_of(&iv, index);
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
        node->iv[GATHER_DIM] = d, node->n_iv = GATHER_N_IV;
        if (cg__save(node, GATHER_INDEX, index, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

int cg__bw_gather(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *ix = cg__unpack(n, GATHER_INDEX);
    int d = (int)n->iv[GATHER_DIM];
    /* each gathered element adds its gradient back where it was read */
    const cg_meta *m = &n->in_meta[0];
    cg_tensor *z = ix ? cg_zeros(m->ndim, m->shape, go[0]->dtype) : NULL;
    return (gi[0] = cg_scatter_add(z, d, ix, go[0])) ? 0 : -1;
}

/* ----------------------------------------------------------- scatter_add */

enum { SCATTER_ADD_INDEX };                 /* saved */
enum { SCATTER_ADD_DIM, SCATTER_ADD_N_IV }; /* n->iv */

/* PyTorch's scatter_shape_check of a non-empty index, in its order */
static int scatter_check(const char *fn, const cg_tensor *a, int d, const cg_tensor *index,
                         const cg_tensor *src) {
    desc av, iv, sv;
    desc_of(&av, a);
    desc_of(&iv, index);
    desc_of(&sv, src);
    if (av.nd != iv.nd) {
        cg__error(fn, "Index tensor must have the same number of dimensions as self tensor");
        return -1;
    }
    bool wrong = false;
    for (int i = 0; i < av.nd && !wrong; i++) wrong = i != d && iv.shape[i] > av.shape[i];
    for (int i = 0; i < av.nd && !wrong; i++) {
        if (src->ndim && i >= src->ndim) { /* src.size(i) of a src with fewer dims */
            cg__wrap_dim(fn, i, src->ndim);
            return -1;
        }
        wrong = iv.shape[i] > sv.shape[i];
    }
    if (sv.nd != iv.nd) {
        cg__error(fn, "Index tensor must have the same number of dimensions as src tensor");
        return -1;
    }
    if (wrong) {
        char si[256], sa[256], ss[256];
        cg__shape_str(si, sizeof si, index->ndim, index->shape);
        cg__shape_str(sa, sizeof sa, a->ndim, a->shape);
        cg__shape_str(ss, sizeof ss, src->ndim, src->shape);
        cg__error(fn,
                  "Expected index %s to be smaller than self %s apart from dimension %d and "
                  "to be smaller size than src %s",
                  si, sa, d, ss);
        return -1;
    }
    return check_bounds(fn, index, d, av.shape[d]);
}

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
    if (k && scatter_check(fn, a, d, index, src) < 0) return NULL;
    desc iv, sv;
    desc_of(&iv, index);
    desc_of(&sv, src);
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
        node->iv[SCATTER_ADD_DIM] = d, node->n_iv = SCATTER_ADD_N_IV;
        if (cg__save(node, SCATTER_ADD_INDEX, index, false) < 0) return NULL;
    }
    return cg__recorded(out);
}

int cg__bw_scatter_add(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *ix = CG_WANT(n, 1) ? cg__unpack(n, SCATTER_ADD_INDEX) : NULL;
    int d = (int)n->iv[SCATTER_ADD_DIM];
    /* self passes straight through; src's elements were each added once, at
     * the positions the index names: their gradient is the gather there */
    if (CG_WANT(n, 0)) gi[0] = go[0];
    if (CG_WANT(n, 1) && !(gi[1] = ix ? cg_gather(go[0], d, ix) : NULL)) return -1;
    return 0;
}

/* ----------------------------------------------------------- masked_fill */

enum { MASKED_FILL_MASK }; /* saved */

cg_tensor *cg_masked_fill(cg_tensor *a, cg_tensor *mask, double value) {
    const char *fn = "cg_masked_fill";
    if (!a || !mask) return NULL;
    /* PyTorch 1.13 takes integer masks (0/1 only) and silently ignores
     * floating ones; later versions refuse both, with this message */
    if (mask->dtype != CG_BOOL) {
        cg__error(fn, "masked_fill only supports boolean masks, but got dtype %s",
                  cg__scalar_type_name(mask->dtype));
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
    if (node && cg__save(node, MASKED_FILL_MASK, mask, false) < 0) return NULL;
    return cg__recorded(out);
}

int cg__bw_masked_fill(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *mask = cg__unpack(n, MASKED_FILL_MASK);
    /* the filled elements no longer depend on a */
    return (gi[0] = mask ? cg_masked_fill(go[0], mask, 0) : NULL) ? 0 : -1;
}

/* ------------------------------------------------------------ triu, tril */

enum { TRIANGLE_DIAGONAL, TRIANGLE_N_IV }; /* n->iv */

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
    if (node) node->iv[TRIANGLE_DIAGONAL] = diagonal, node->n_iv = TRIANGLE_N_IV;
    return cg__recorded(out);
}

cg_tensor *cg_triu(cg_tensor *a, int64_t diagonal) {
    return triangle("cg_triu", CG_OP_TRIU, a, diagonal, true);
}

cg_tensor *cg_tril(cg_tensor *a, int64_t diagonal) {
    return triangle("cg_tril", CG_OP_TRIL, a, diagonal, false);
}

int cg__bw_triu(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int64_t diagonal = n->iv[TRIANGLE_DIAGONAL];
    return (gi[0] = cg_triu(go[0], diagonal)) ? 0 : -1;
}

int cg__bw_tril(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int64_t diagonal = n->iv[TRIANGLE_DIAGONAL];
    return (gi[0] = cg_tril(go[0], diagonal)) ? 0 : -1;
}

/* ------------------------------------- index_put_ of 0 under a mask (ops.h) */

enum { INDEX_PUT_MASK }; /* saved */

/* a.index_put_({mask}, 0.0) on a copy of a: the elements where mask is set
 * become 0. IndexPutBackward0 with edges (self, values = None); on a 0-d
 * tensor PyTorch goes through a view and records CopySlices with the same
 * edges. */
cg_tensor *cg__masked_zero(cg_tensor *a, cg_tensor *mask) {
    if (!a || !mask) return NULL;
    cg_tensor *out = NULL;
    CG_NO_GRAD { out = cg_where(mask, cg_scalar(0, a->dtype), a); }
    if (!out) return NULL;
    cg_tensor *in[2] = {a, NULL};
    cg_node *n = cg__record(a->ndim ? CG_OP_INDEX_PUT : CG_OP_INDEX_PUT_0D, out, 2, in);
    if (n && cg__save(n, INDEX_PUT_MASK, mask, false) < 0) return NULL;
    return cg__recorded(out);
}

/* the zeroed elements get no gradient; the rest pass it through */
int cg__bw_index_put(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *mask = cg__unpack(n, INDEX_PUT_MASK);
    if (!mask) return -1;
    return (gi[0] = cg_where(mask, cg_scalar(0, go[0]->dtype), go[0])) ? 0 : -1;
}

/* ------------------------------------------------ masked_select (ops.h) */

enum { MASKED_SELECT_MASK, MASKED_SELECT_SELF }; /* saved (self only checked, as torch's) */
enum { MASKED_SCATTER_MASK };                    /* the custom function's saved tensors */

/* a.masked_select(mask) for a mask of a's shape: the selected elements in
 * row-major order, 1-D (MaskedSelectBackward0). */
cg_tensor *cg__masked_select(cg_tensor *a, cg_tensor *mask) {
    if (!a || !mask) return NULL;
    cg_tensor *ad = cg__as_contiguous(a), *md = cg__as_contiguous(mask);
    if (!ad || !md) return NULL;
    int64_t n = cg__numel(a->ndim, a->shape), k = 0;
    const bool *mp = cg__ptr(md);
    for (int64_t i = 0; i < n; i++) k += mp[i];
    cg_tensor *out = cg__tensor_new(a->dtype, 1, &k); /* (k) */
    if (!out) return NULL;
    size_t es = cg__esize(a->dtype);
    const char *src = cg__ptr(ad);
    char *dst = cg__ptr(out);
    for (int64_t i = 0, j = 0; i < n; i++)
        if (mp[i]) memcpy(dst + es * (size_t)j++, src + es * (size_t)i, es);
    cg_node *node = cg__record(CG_OP_MASKED_SELECT, out, 1, &a);
    if (node && (cg__save(node, MASKED_SELECT_MASK, mask, false) < 0 ||
                 cg__save(node, MASKED_SELECT_SELF, a, false) < 0))
        return NULL;
    return cg__recorded(out);
}

/* Its transpose, zeros(mask's shape).masked_scatter(mask, g): g's elements
 * written in order where mask is set. A custom function, so that its own
 * backward (masked_select again) is recorded under create_graph; it prints
 * as PyTorch's node for the same step, MaskedScatterBackward0. */
static int scatter_forward(cg_ctx *ctx, int n_in, cg_tensor *const *in, int n_out, cg_tensor **out,
                           void *user) {
    CG_UNUSED(n_in), CG_UNUSED(n_out);
    cg_tensor *mask = user, *g = cg__as_contiguous(in[0]), *md = cg__as_contiguous(mask);
    if (!g || !md) return -1;
    out[0] = cg__tensor_new(g->dtype, mask->ndim, mask->shape); /* (mask's shape) */
    if (!out[0]) return -1;
    int64_t n = cg__numel(mask->ndim, mask->shape), ng = cg__numel(g->ndim, g->shape);
    size_t es = cg__esize(g->dtype);
    const bool *mp = cg__ptr(md);
    const char *src = cg__ptr(g);
    char *dst = cg__ptr(out[0]);
    for (int64_t i = 0, j = 0; i < n; i++) {
        if (mp[i] && j < ng)
            memcpy(dst + es * (size_t)i, src + es * (size_t)j++, es);
        else
            memset(dst + es * (size_t)i, 0, es);
    }
    return cg_ctx_save_for_backward(ctx, 1, &mask);
}

static int scatter_backward(cg_ctx *ctx, int n_out, cg_tensor *const *go, int n_in, cg_tensor **gi,
                            void *user) {
    CG_UNUSED(n_out), CG_UNUSED(n_in), CG_UNUSED(user);
    cg_tensor *mask = cg_ctx_saved(ctx, MASKED_SCATTER_MASK);
    return (gi[0] = cg__masked_select(go[0], mask)) ? 0 : -1;
}

static const cg_function masked_scatter_fn = {"MaskedScatterBackward0", scatter_forward,
                                              scatter_backward};

int cg__bw_masked_select(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *mask = cg__unpack(n, MASKED_SELECT_MASK);
    if (!mask || !cg__unpack(n, MASKED_SELECT_SELF)) return -1; /* the version check */
    cg_tensor *out[1];
    if (cg_function_apply(&masked_scatter_fn, mask, 1, go, 1, out) < 0) return -1;
    gi[0] = out[0];
    return 0;
}
