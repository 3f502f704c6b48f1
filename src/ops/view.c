/* Views — view, reshape, transpose, permute, unsqueeze, squeeze, expand —
 * each shares its input's storage (no copy) and sits beside its backward. */
#include "ops.h"

#include <stdio.h>

cg_tensor *cg__make_view(cg_op op, cg_tensor *a, int nd, const int64_t *shape,
                         const int64_t *strides, int64_t offset) {
    cg_tensor *v = cg__tensor_view(a, nd, shape, strides, offset);
    if (!v) return NULL;
    v->base = cg_retain(a->base ? a->base : a); /* a view of a view views the base */
    v->no_grad_view = !cg__grad_enabled || a->no_grad_view;
    v->multi_view = a->multi_view;
    v->view_version = (int64_t)v->storage->version;
    cg__record(op, v, 1, &a);
    return cg__recorded(v);
}

/* Resolves one -1 in shape against numel (PyTorch's infer_size). */
static int infer_size(const char *fn, int nd, const int64_t *in, int64_t numel, int64_t *out) {
    if (nd < 0 || nd > CG_MAX_DIMS) {
        cg__error(fn, "shape must have 0 to %d dims, got %d", CG_MAX_DIMS, nd);
        return -1;
    }
    if (nd && !in) {
        cg__error(fn, "shape is NULL but ndim is %d", nd);
        return -1;
    }
    int infer = -1;
    int64_t prod = 1;
    for (int i = 0; i < nd; i++) {
        if (in[i] == -1) {
            if (infer >= 0) {
                cg__error(fn, "only one dimension can be inferred");
                return -1;
            }
            infer = i;
        } else if (in[i] < 0) {
            cg__error(fn, "invalid shape dimension %lld", (long long)in[i]);
            return -1;
        } else if (__builtin_mul_overflow(prod, in[i], &prod)) {
            prod = -1; /* larger than any numel: the shape is invalid */
        }
        out[i] = in[i];
    }
    if (infer >= 0 && prod == 0 && numel == 0) {
        char s[256];
        cg__shape_str(s, sizeof s, nd, in);
        cg__error(fn,
                  "cannot reshape tensor of 0 elements into shape %s because the unspecified "
                  "dimension size -1 can be any value and is ambiguous",
                  s);
        return -1;
    }
    bool ok = prod >= 0 && (infer >= 0 ? prod != 0 && numel % prod == 0 : prod == numel);
    if (ok && infer >= 0) out[infer] = numel / prod;
    if (!ok) {
        char s[256];
        cg__shape_str(s, sizeof s, nd, in);
        cg__error(fn, "shape '%s' is invalid for input of size %lld", s, (long long)numel);
        return -1;
    }
    return 0;
}

/* Strides for viewing a at shape ns without a copy (PyTorch's computeStride);
 * false when the dims to merge are not contiguous in memory. */
static bool view_strides(const cg_tensor *a, int nn, const int64_t *ns, int64_t *st) {
    if (a->ndim == 0 || cg__numel(a->ndim, a->shape) == 0) {
        cg__contiguous_strides(nn, ns, st);
        return true;
    }
    int vd = nn - 1;
    int64_t chunk = a->strides[a->ndim - 1], tnumel = 1, vnumel = 1;
    for (int td = a->ndim - 1; td >= 0; td--) {
        tnumel *= a->shape[td];
        if (td == 0 || (a->shape[td - 1] != 1 && a->strides[td - 1] != tnumel * chunk)) {
            while (vd >= 0 && (vnumel < tnumel || ns[vd] == 1)) {
                st[vd] = vnumel * chunk;
                vnumel *= ns[vd];
                vd--;
            }
            if (vnumel != tnumel) return false;
            if (td > 0) {
                chunk = a->strides[td - 1];
                tnumel = vnumel = 1;
            }
        }
    }
    return vd == -1;
}

cg_tensor *cg_view(cg_tensor *a, int ndim, const int64_t *shape) {
    if (!a) return NULL;
    int64_t ns[CG_MAX_DIMS], st[CG_MAX_DIMS];
    if (infer_size("cg_view", ndim, shape, cg__numel(a->ndim, a->shape), ns) < 0) return NULL;
    if (!view_strides(a, ndim, ns, st)) {
        cg__error("cg_view", "view size is not compatible with input tensor's size and stride (at "
                             "least one dimension spans across two contiguous subspaces). Use "
                             ".reshape(...) instead.");
        return NULL;
    }
    return cg__make_view(CG_OP_VIEW, a, ndim, ns, st, a->offset);
}

cg_tensor *cg_reshape(cg_tensor *a, int ndim, const int64_t *shape) {
    if (!a) return NULL;
    int64_t ns[CG_MAX_DIMS], st[CG_MAX_DIMS];
    if (infer_size("cg_reshape", ndim, shape, cg__numel(a->ndim, a->shape), ns) < 0) return NULL;
    if (view_strides(a, ndim, ns, st))
        return cg__make_view(CG_OP_RESHAPE_ALIAS, a, ndim, ns, st, a->offset);
    /* not viewable: copy, then view the copy (CloneBackward0, UnsafeViewBackward0) */
    cg_tensor *c = cg_clone(a);
    if (!c) return NULL;
    cg__contiguous_strides(ndim, ns, st);
    cg_tensor *v = cg__make_view(CG_OP_UNSAFE_VIEW, c, ndim, ns, st, c->offset);
    if (v) { /* _unsafe_view: a tensor of its own, not a view of the copy */
        cg_release(v->base);
        v->base = NULL;
        v->view_version = -1;
    }
    return v;
}

/* Saved state (ops.h): TransposeBackward0's dims (n->iv; TBackward0 needs none) */
enum { TRANSPOSE_DIM0, TRANSPOSE_DIM1 };

static cg_tensor *transpose_as(cg_op op, const char *fn, cg_tensor *a, int dim0, int dim1) {
    int d0 = cg__wrap_dim(fn, dim0, a->ndim);
    int d1 = d0 < 0 ? -1 : cg__wrap_dim(fn, dim1, a->ndim);
    if (d1 < 0) return NULL;
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS];
    memcpy(sh, a->shape, sizeof sh);
    memcpy(st, a->strides, sizeof st);
    if (a->ndim) {
        sh[d0] = a->shape[d1], sh[d1] = a->shape[d0];
        st[d0] = a->strides[d1], st[d1] = a->strides[d0];
    }
    cg_tensor *v = cg__make_view(op, a, a->ndim, sh, st, a->offset);
    cg_node *n = cg__node_of(v, op);
    if (n) n->iv[TRANSPOSE_DIM0] = d0, n->iv[TRANSPOSE_DIM1] = d1, n->n_iv = 2;
    return v;
}

cg_tensor *cg_transpose(cg_tensor *a, int dim0, int dim1) {
    return a ? transpose_as(CG_OP_TRANSPOSE, "cg_transpose", a, dim0, dim1) : NULL;
}

cg_tensor *cg_t(cg_tensor *a) {
    if (!a) return NULL;
    if (a->ndim > 2) {
        cg__error("cg_t", "t() expects a tensor with <= 2 dimensions, but self is %dD", a->ndim);
        return NULL;
    }
    return transpose_as(CG_OP_T, "cg_t", a, 0, a->ndim < 2 ? 0 : 1);
}

/* PermuteBackward0 keeps the permutation: n->iv[i] = dims[i], n_iv of them */
cg_tensor *cg_permute(cg_tensor *a, int ndims, const int *dims) {
    if (!a) return NULL;
    if (ndims && !dims) {
        cg__error("cg_permute", "dims is NULL but ndims is %d", ndims);
        return NULL;
    }
    if (ndims != a->ndim) {
        cg__error("cg_permute",
                  "permute(sparse_coo): number of dimensions in the tensor input "
                  "does not match the length of the desired ordering of dimensions "
                  "i.e. input.dim() = %d is not equal to len(dims) = %d",
                  a->ndim, ndims);
        return NULL;
    }
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS];
    unsigned seen = 0;
    int p[CG_MAX_DIMS];
    for (int i = 0; i < ndims; i++) {
        int d = cg__wrap_dim("cg_permute", dims[i], a->ndim);
        if (d < 0) return NULL;
        if (seen >> d & 1) {
            cg__error("cg_permute", "permute(): duplicate dims are not allowed.");
            return NULL;
        }
        seen |= 1u << d;
        p[i] = d;
        sh[i] = a->shape[d];
        st[i] = a->strides[d];
    }
    cg_tensor *v = cg__make_view(CG_OP_PERMUTE, a, ndims, sh, st, a->offset);
    cg_node *n = cg__node_of(v, CG_OP_PERMUTE);
    if (n) {
        for (int i = 0; i < ndims; i++) n->iv[i] = p[i];
        n->n_iv = ndims;
    }
    return v;
}

/* Saved state of UnsqueezeBackward0 (n->iv) */
enum { UNSQUEEZE_DIM };

cg_tensor *cg_unsqueeze(cg_tensor *a, int dim) {
    if (!a) return NULL;
    if (a->ndim == CG_MAX_DIMS) {
        cg__error("cg_unsqueeze", CG_MSG_MAX_DIMS, CG_MAX_DIMS);
        return NULL;
    }
    int d = cg__wrap_dim("cg_unsqueeze", dim, a->ndim + 1);
    if (d < 0) return NULL;
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS];
    for (int i = 0, j = 0; i <= a->ndim; i++) {
        if (i == d) {
            sh[i] = 1;
            st[i] = d < a->ndim ? a->shape[d] * a->strides[d] : 1;
        } else {
            sh[i] = a->shape[j];
            st[i] = a->strides[j++];
        }
    }
    cg_tensor *v = cg__make_view(CG_OP_UNSQUEEZE, a, a->ndim + 1, sh, st, a->offset);
    cg_node *n = cg__node_of(v, CG_OP_UNSQUEEZE);
    if (n) n->iv[UNSQUEEZE_DIM] = d;
    return v;
}

static cg_tensor *squeeze_mask(cg_op op, cg_tensor *a, unsigned mask) {
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < a->ndim; i++) {
        if ((mask >> i & 1) && a->shape[i] == 1) continue;
        sh[nd] = a->shape[i];
        st[nd++] = a->strides[i];
    }
    return cg__make_view(op, a, nd, sh, st, a->offset);
}

cg_tensor *cg_squeeze(cg_tensor *a) { return a ? squeeze_mask(CG_OP_SQUEEZE, a, ~0u) : NULL; }

/* squeeze over a dim list (matmul's 1-D @ 2-D records it, as PyTorch) */
cg_tensor *cg__squeeze_dims(cg_tensor *a, unsigned mask) {
    return a ? squeeze_mask(CG_OP_SQUEEZE_DIMS, a, mask) : NULL;
}

cg_tensor *cg_squeeze_dim(cg_tensor *a, int dim) {
    if (!a) return NULL;
    int d = cg__wrap_dim("cg_squeeze_dim", dim, a->ndim);
    if (d < 0) return NULL;
    return squeeze_mask(CG_OP_SQUEEZE_DIM, a, a->ndim ? 1u << d : 0);
}

/* expand takes at least a's dims, at most CG_MAX_DIMS; -1 with PyTorch's error */
static int check_expand(const cg_tensor *a, int ndim, const int64_t *shape) {
    if (ndim >= a->ndim && ndim <= CG_MAX_DIMS && (ndim == 0 || shape)) return 0;
    static const char *legacy[CG_NUM_DTYPES] = {[CG_FLOAT32] = "FloatTensor",
                                                [CG_FLOAT64] = "DoubleTensor",
                                                [CG_INT64] = "LongTensor",
                                                [CG_BOOL] = "BoolTensor"};
    int shown = ndim > 0 && shape ? (ndim > CG_MAX_DIMS ? CG_MAX_DIMS : ndim) : 0;
    char want[256], have[256];
    cg__shape_str(want, sizeof want, shown, shape);
    cg__shape_str(have, sizeof have, a->ndim, a->shape);
    cg__error("cg_expand",
              "expand(torch.%s{%s}, size=%s): the number of sizes provided (%d) must "
              "be greater or equal to the number of dimensions in the tensor (%d)",
              legacy[a->dtype], have, want, ndim, a->ndim);
    return -1;
}

/* The size and stride of dim i of a expanded to shape (ndim dims); -1 with
 * PyTorch's error */
static int expand_dim(const cg_tensor *a, int ndim, const int64_t *shape, int i, int64_t *size,
                      int64_t *stride) {
    int j = i - (ndim - a->ndim); /* a's dim, < 0 for a new leading one */
    int64_t want = shape[i];
    if (j < 0 && want < 0) {
        cg__error("cg_expand",
                  "The expanded size of the tensor (%lld) isn't allowed in a leading, "
                  "non-existing dimension %d",
                  (long long)want, i);
        return -1;
    }
    int64_t has = j < 0 ? 1 : a->shape[j];
    if (want == -1) want = has;
    if (j >= 0 && has == want) {
        *size = has, *stride = a->strides[j];
        return 0;
    }
    if (has == 1 && want >= 0) { /* broadcast: stride 0 */
        *size = want, *stride = 0;
        return 0;
    }
    char target[256], sizes[256];
    cg__shape_str(target, sizeof target, ndim, shape);
    cg__shape_str(sizes, sizeof sizes, a->ndim, a->shape);
    cg__error("cg_expand",
              "The expanded size of the tensor (%lld) must match the existing size "
              "(%lld) at non-singleton dimension %d.  Target sizes: %s.  Tensor "
              "sizes: %s",
              (long long)want, (long long)has, i, target, sizes);
    return -1;
}

cg_tensor *cg_expand(cg_tensor *a, int ndim, const int64_t *shape) {
    if (!a) return NULL;
    if (check_expand(a, ndim, shape) < 0) return NULL;
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS]; /* (ndim): the view's */
    for (int i = ndim - 1; i >= 0; i--)       /* from the last dim, as PyTorch checks */
        if (expand_dim(a, ndim, shape, i, &sh[i], &st[i]) < 0) return NULL;
    return cg__make_view(CG_OP_EXPAND, a, ndim, sh, st, a->offset);
}

/* ------------------------------------------------------------- backward */

int cg__bw_reshape(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg_reshape(go[0], n->in_meta[0].ndim, n->in_meta[0].shape)) ? 0 : -1;
}

int cg__bw_transpose(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int dim0 = (int)n->iv[TRANSPOSE_DIM0], dim1 = (int)n->iv[TRANSPOSE_DIM1];
    return (gi[0] = cg_transpose(go[0], dim0, dim1)) ? 0 : -1;
}

int cg__bw_t(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    return (gi[0] = cg_t(go[0])) ? 0 : -1;
}

int cg__bw_permute(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    const int64_t *dims = n->iv;
    int ndims = n->n_iv;
    int inv[CG_MAX_DIMS]; /* (ndims): the inverse permutation */
    for (int i = 0; i < ndims; i++) inv[dims[i]] = i;
    return (gi[0] = cg_permute(go[0], ndims, inv)) ? 0 : -1;
}

int cg__bw_unsqueeze(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int dim = (int)n->iv[UNSQUEEZE_DIM];
    return (gi[0] = cg_squeeze_dim(go[0], dim)) ? 0 : -1;
}

int cg__bw_expand(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    return (gi[0] = cg__sum_to(go[0], n->in_meta[0].ndim, n->in_meta[0].shape)) ? 0 : -1;
}
