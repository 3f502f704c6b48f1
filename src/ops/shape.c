/* Slicing and joining — narrow/slice, select, split/chunk (views), cat,
 * stack, repeat (copies), flatten (a reshape) — each forward beside its
 * backward. The backward of a view that drops part of its input (slice,
 * select) places the gradient among zeros with cg ops (cat, or scatter_add
 * for a step), so that it is itself differentiable (create_graph). */
#include "ops.h"

#include <stdio.h>

/* ------------------------------------------------------------- helpers */

/* PyTorch's maybe_wrap_dim for an int64 position (narrow's start): a size
 * of 0 accepts -1 and 0. -1 with PyTorch's error. */
static int wrap_pos(const char *fn, int64_t pos, int64_t size, int64_t *out) {
    int64_t n = size > 0 ? size : 1;
    if (pos < -n || pos >= n) {
        cg__error(fn,
                  "Dimension out of range (expected to be in range of [%lld, %lld], but got %lld)",
                  (long long)-n, (long long)(n - 1), (long long)pos);
        return -1;
    }
    *out = pos < 0 ? pos + n : pos;
    return 0;
}

/* Saved state (ops.h), n->iv of each node kind */
enum { SLICE_DIM, SLICE_START, SLICE_STEP };
enum { SELECT_DIM, SELECT_INDEX };
enum { CAT_DIM };
enum { STACK_DIM };
enum { SPLIT_DIM }; /* SplitBackward0, SplitWithSizesBackward0 */
/* RepeatBackward0: n->iv[i] = repeats[i], n_iv of them */

/* a[..., start : start + len * step : step, ...] along dim d, recorded as
 * SliceBackward0 (narrow and slice both record it, as in PyTorch) */
static cg_tensor *slice_view(cg_tensor *a, int d, int64_t start, int64_t len, int64_t step) {
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS]; /* (a->ndim): a's, with dim d sliced */
    memcpy(sh, a->shape, sizeof sh);
    memcpy(st, a->strides, sizeof st);
    sh[d] = len;
    st[d] *= step;
    cg_tensor *v = cg__make_view(CG_OP_SLICE, a, a->ndim, sh, st,
                                 a->offset + start * a->strides[d]);
    cg_node *n = cg__node_of(v, CG_OP_SLICE);
    if (n) n->iv[SLICE_DIM] = d, n->iv[SLICE_START] = start, n->iv[SLICE_STEP] = step, n->n_iv = 3;
    return v;
}

/* A zeros tensor shaped like meta with g written at positions start,
 * start + step, ... along dim (g is meta's shape with g->shape[dim] there):
 * a cat with zero blocks when step is 1, else zeros.scatter_add(dim, index,
 * g); either is differentiable in g (its gradient is the slice again). */
static cg_tensor *place(cg_tensor *g, const cg_meta *meta, int dim, int64_t start, int64_t step) {
    int64_t len = g->shape[dim];
    if (step == 1) { /* a contiguous block: zeros before, g, zeros after (a cat) */
        int64_t sh[CG_MAX_DIMS];
        memcpy(sh, meta->shape, sizeof sh);
        cg_tensor *parts[3];
        int n = 0;
        if (start > 0) sh[dim] = start, parts[n++] = cg_zeros(meta->ndim, sh, g->dtype);
        parts[n++] = g;
        int64_t after = meta->shape[dim] - start - len;
        if (after > 0) sh[dim] = after, parts[n++] = cg_zeros(meta->ndim, sh, g->dtype);
        return n == 1 ? g : cg_cat(n, parts, dim);
    }
    cg_tensor *z = cg_zeros(meta->ndim, meta->shape, g->dtype);
    cg_tensor *ix = cg_arange((double)start, (double)(start + len * step), (double)step, CG_INT64);
    if (!z || !ix) return NULL;
    int64_t ish[CG_MAX_DIMS]; /* (1, ..., len, ..., 1): the positions along dim */
    for (int i = 0; i < g->ndim; i++) ish[i] = i == dim ? len : 1;
    ix = cg_expand(cg_view(ix, g->ndim, ish), g->ndim, g->shape);
    return cg_scatter_add(z, dim, ix, g);
}

/* --------------------------------------------------------- narrow, slice */

cg_tensor *cg_narrow(cg_tensor *a, int dim, int64_t start, int64_t length) {
    if (!a) return NULL;
    if (a->ndim == 0) {
        cg__error("cg_narrow", "narrow() cannot be applied to a 0-dim tensor.");
        return NULL;
    }
    int d = cg__wrap_dim("cg_narrow", dim, a->ndim);
    if (d < 0) return NULL;
    int64_t cur = a->shape[d];
    /* start == size is valid (an empty narrow at the end), not a position */
    if (start != cur && wrap_pos("cg_narrow", start, cur, &start) < 0) return NULL;
    if (length < 0 || start > cur - length) {
        cg__error("cg_narrow", "start (%lld) + length (%lld) exceeds dimension size (%lld).",
                  (long long)start, (long long)length, (long long)cur);
        return NULL;
    }
    return slice_view(a, d, start, length, 1);
}

cg_tensor *cg_slice(cg_tensor *a, int dim, int64_t start, int64_t end, int64_t step) {
    if (!a) return NULL;
    if (a->ndim == 0) {
        cg__error("cg_slice", "slice() cannot be applied to a 0-dim tensor.");
        return NULL;
    }
    int d = cg__wrap_dim("cg_slice", dim, a->ndim);
    if (d < 0) return NULL;
    if (step <= 0) {
        cg__error("cg_slice", "slice step must be positive");
        return NULL;
    }
    /* Python's clamping of out-of-range bounds, as aten::slice */
    int64_t size = a->shape[d];
    if (start < 0) start = start < -size ? 0 : start + size;
    if (end < 0) end = end < -size ? 0 : end + size;
    if (start > size) start = size;
    if (end < start)
        end = start;
    else if (end > size)
        end = size;
    int64_t len = end - start;
    return slice_view(a, d, start, len == 0 ? 0 : (len - 1) / step + 1, step);
}

int cg__bw_slice(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int dim = (int)n->iv[SLICE_DIM];
    int64_t start = n->iv[SLICE_START], step = n->iv[SLICE_STEP];
    /* the gradient lands at the sliced positions, zeros elsewhere */
    return (gi[0] = place(go[0], &n->in_meta[0], dim, start, step)) ? 0 : -1;
}

/* ---------------------------------------------------------------- select */

cg_tensor *cg_select(cg_tensor *a, int dim, int64_t index) {
    if (!a) return NULL;
    if (a->ndim == 0) {
        cg__error("cg_select", "select() cannot be applied to a 0-dim tensor.");
        return NULL;
    }
    int d = cg__wrap_dim("cg_select", dim, a->ndim);
    if (d < 0) return NULL;
    int64_t size = a->shape[d];
    if (index < -size || index >= size) {
        char s[256];
        cg__shape_str(s, sizeof s, a->ndim, a->shape);
        cg__error("cg_select",
                  "select(): index %lld out of range for tensor of size %s at dimension %d",
                  (long long)index, s, d);
        return NULL;
    }
    if (index < 0) index += size;
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS]; /* (a->ndim - 1): a's without dim d */
    for (int i = 0, j = 0; i < a->ndim; i++) {
        if (i == d) continue;
        sh[j] = a->shape[i];
        st[j++] = a->strides[i];
    }
    cg_tensor *v = cg__make_view(CG_OP_SELECT, a, a->ndim - 1, sh, st,
                                 a->offset + index * a->strides[d]);
    cg_node *n = cg__node_of(v, CG_OP_SELECT);
    if (n) n->iv[SELECT_DIM] = d, n->iv[SELECT_INDEX] = index, n->n_iv = 2;
    return v;
}

int cg__bw_select(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int dim = (int)n->iv[SELECT_DIM];
    int64_t index = n->iv[SELECT_INDEX];
    /* the gradient is the input's slice at index; zeros elsewhere */
    return (gi[0] = place(cg_unsqueeze(go[0], dim), &n->in_meta[0], dim, index, 1)) ? 0 : -1;
}

/* ------------------------------------------------------------------- cat */

/* torch.cat skips 1-D empty tensors (shape (0,)): the legacy empty tensor */
static bool legacy_empty(int ndim, const int64_t *shape) { return ndim == 1 && shape[0] == 0; }

/* Copies src into the block of out that starts at off along dim d (src's
 * shape), casting. The block is a header on the stack, not a tensor: only
 * cg__copy_into reads it. */
static void copy_block(cg_tensor *out, int d, int64_t off, const cg_tensor *src) {
    if (cg__numel(src->ndim, src->shape) == 0) return;
    cg_tensor blk = *out;
    memcpy(blk.shape, src->shape, sizeof blk.shape);
    blk.offset = out->offset + off * out->strides[d];
    cg__copy_into(&blk, src);
}

/* cat's list: non-empty, no 0-d tensor; -1 with PyTorch's error */
static int check_cat_list(int n, cg_tensor *const *ts) {
    if (n <= 0) {
        cg__error("cg_cat", "torch.cat(): expected a non-empty list of Tensors");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (ts[i]->ndim == 0) {
            cg__error("cg_cat", "zero-dimensional tensor (at position %d) cannot be concatenated",
                      i);
            return -1;
        }
    return 0;
}

/* The result's shape (ts[ref]'s dims), d the wrapped dim, when every tensor
 * that is not skipped matches ts[ref] except along d; -1 with PyTorch's error */
static int cat_shape(int n, cg_tensor *const *ts, int ref, int dim, int *d, int64_t *shape) {
    const cg_tensor *r = ts[ref];
    if ((*d = cg__wrap_dim("cg_cat", dim, r->ndim)) < 0) return -1;
    int nd = r->ndim;
    memcpy(shape, r->shape, sizeof(int64_t) * CG_MAX_DIMS);
    shape[*d] = 0;
    for (int i = 0; i < n; i++) {
        const cg_tensor *t = ts[i];
        if (legacy_empty(t->ndim, t->shape)) continue;
        if (t->ndim != nd) {
            cg__error("cg_cat", "Tensors must have same number of dimensions: got %d and %d", nd,
                      t->ndim);
            return -1;
        }
        for (int k = 0; k < nd; k++)
            if (k != *d && t->shape[k] != r->shape[k]) {
                cg__error("cg_cat",
                          "Sizes of tensors must match except in dimension %d. Expected "
                          "size %lld but got size %lld for tensor number %d in the list.",
                          *d, (long long)r->shape[k], (long long)t->shape[k], i);
                return -1;
            }
        shape[*d] += t->shape[*d];
    }
    return 0;
}

cg_tensor *cg_cat(int n, cg_tensor *const *ts, int dim) {
    if (n > 0 && !ts) return NULL;
    for (int i = 0; i < n; i++)
        if (!ts[i]) return NULL;
    if (check_cat_list(n, ts) < 0) return NULL;
    int ref = -1; /* the first tensor that is not skipped: it sets the shape */
    for (int i = 0; i < n && ref < 0; i++)
        if (!legacy_empty(ts[i]->ndim, ts[i]->shape)) ref = i;
    cg_dtype dt = ts[0]->dtype;
    for (int i = 1; i < n; i++) dt = cg__promote(dt, ts[i]->dtype);
    int d = 0, nd = ref >= 0 ? ts[ref]->ndim : 1;
    int64_t shape[CG_MAX_DIMS] = {0}; /* (nd): the result's; (0) when every input is skipped */
    if (ref >= 0 && cat_shape(n, ts, ref, dim, &d, shape) < 0) return NULL;
    cg_tensor *out = cg__tensor_new(dt, nd, shape);
    if (!out) return NULL;
    int64_t off = 0;
    for (int i = 0; i < n && ref >= 0; i++) {
        if (legacy_empty(ts[i]->ndim, ts[i]->shape)) continue;
        copy_block(out, d, off, ts[i]);
        off += ts[i]->shape[d];
    }
    cg_node *node = cg__record(CG_OP_CAT, out, n, ts);
    if (node) node->iv[CAT_DIM] = d, node->n_iv = 1;
    return cg__recorded(out);
}

int cg__bw_cat(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int d = (int)n->iv[CAT_DIM];
    /* each input's gradient is its block of the output's: a narrow */
    int64_t off = 0;
    for (int i = 0; i < n->n_next; i++) {
        const cg_meta *m = &n->in_meta[i];
        if (legacy_empty(m->ndim, m->shape)) { /* skipped in the forward */
            if (n->next[i].fn && !(gi[i] = cg_zeros(1, m->shape, go[0]->dtype))) return -1;
            continue;
        }
        if (n->next[i].fn && !(gi[i] = cg_narrow(go[0], d, off, m->shape[d]))) return -1;
        off += m->shape[d];
    }
    return 0;
}

/* ----------------------------------------------------------------- stack */

/* stack's list: non-empty, tensors of one shape (at most CG_MAX_DIMS - 1
 * dims); the new dim (dim wrapped) in *d, the promoted dtype in *dt. -1 with
 * PyTorch's error */
static int check_stack(int n, cg_tensor *const *ts, int dim, int *d, cg_dtype *dt) {
    if (n <= 0) {
        cg__error("cg_stack", "stack expects a non-empty TensorList");
        return -1;
    }
    const cg_tensor *t0 = ts[0];
    if ((*d = cg__wrap_dim("cg_stack", dim, t0->ndim + 1)) < 0) return -1;
    if (t0->ndim == CG_MAX_DIMS) {
        cg__error("cg_stack", CG_MSG_MAX_DIMS, CG_MAX_DIMS);
        return -1;
    }
    *dt = t0->dtype;
    for (int i = 1; i < n; i++) {
        const cg_tensor *t = ts[i];
        if (!cg__same_shape(t->ndim, t->shape, t0->ndim, t0->shape)) {
            char s0[256], s1[256];
            cg__shape_str(s0, sizeof s0, t0->ndim, t0->shape);
            cg__shape_str(s1, sizeof s1, t->ndim, t->shape);
            cg__error("cg_stack",
                      "stack expects each tensor to be equal size, but got %s at entry 0 "
                      "and %s at entry %d",
                      s0, s1, i);
            return -1;
        }
        *dt = cg__promote(*dt, t->dtype);
    }
    return 0;
}

cg_tensor *cg_stack(int n, cg_tensor *const *ts, int dim) {
    if (n > 0 && !ts) return NULL;
    for (int i = 0; i < n; i++)
        if (!ts[i]) return NULL;
    int d;
    cg_dtype dt;
    if (check_stack(n, ts, dim, &d, &dt) < 0) return NULL;
    const cg_tensor *t0 = ts[0];
    int64_t shape[CG_MAX_DIMS]; /* (t0->ndim + 1): t0's with n inserted at d */
    for (int i = 0, j = 0; i <= t0->ndim; i++) shape[i] = i == d ? n : t0->shape[j++];
    cg_tensor *out = cg__tensor_new(dt, t0->ndim + 1, shape);
    if (!out) return NULL;
    if (cg__numel(out->ndim, out->shape)) {
        cg_tensor blk = *out; /* entry i of out: a header on the stack, read by cg__copy_into */
        blk.ndim = t0->ndim;
        for (int i = 0, j = 0; i <= t0->ndim; i++)
            if (i != d) blk.shape[j] = out->shape[i], blk.strides[j++] = out->strides[i];
        for (int i = 0; i < n; i++) {
            blk.offset = out->offset + i * out->strides[d];
            cg__copy_into(&blk, ts[i]);
        }
    }
    cg_node *node = cg__record(CG_OP_STACK, out, n, ts);
    if (node) node->iv[STACK_DIM] = d, node->n_iv = 1;
    return cg__recorded(out);
}

int cg__bw_stack(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int dim = (int)n->iv[STACK_DIM];
    /* input i's gradient is entry i of the output's */
    for (int i = 0; i < n->n_next; i++)
        if (CG_WANT(n, i) && !(gi[i] = cg_select(go[0], dim, i))) return -1;
    return 0;
}

/* ---------------------------------------------------------- split, chunk */

#define SPLIT_0D "split expects at least a 1-dimensional tensor"

/* The pieces of a along d (sizes[n]) as views, recorded as one node with n
 * outputs. */
static int split_views(cg_op op, cg_tensor *a, int d, int n, const int64_t *sizes,
                       cg_tensor **out) {
    int64_t sh[CG_MAX_DIMS], start = 0; /* sh (a->ndim): a piece's shape */
    memcpy(sh, a->shape, sizeof sh);
    for (int i = 0; i < n; i++) {
        sh[d] = sizes[i];
        out[i] = cg__tensor_view(a, a->ndim, sh, a->strides, a->offset + start * a->strides[d]);
        if (!out[i]) return -1;
        out[i]->base = cg_retain(a->base ? a->base : a); /* a view of a view views the base */
        out[i]->no_grad_view = !cg__grad_enabled || a->no_grad_view;
        out[i]->multi_view = true; /* PyTorch refuses in-place writes to these */
        start += sizes[i];
    }
    cg_node *node = n ? cg__record_n(op, n, out, 1, &a) : NULL;
    if (node) node->iv[SPLIT_DIM] = d, node->n_iv = 1;
    return n && cg__record_failed ? -1 : 0;
}

/* Room for count pieces in out (*n_out on entry)? out NULL only counts. */
static int room(const char *fn, int64_t count, int *n_out, cg_tensor **out, bool *count_only) {
    *count_only = out == NULL;
    if (count > 0x7fffffff) {
        cg__error(fn, "%lld pieces are more than cgrad can return", (long long)count);
        return -1;
    }
    int have = *n_out;
    *n_out = (int)count;
    if (*count_only || count <= have) return 0;
    cg__error(fn, "%lld pieces do not fit in out[%d]", (long long)count, have);
    return -1;
}

int cg_split(cg_tensor *a, int64_t split_size, int dim, int *n_out, cg_tensor **out) {
    if (!a) return -1;
    if (!n_out) {
        cg__error("cg_split", "n_out is NULL");
        return -1;
    }
    if (a->ndim == 0) {
        cg__error("cg_split", SPLIT_0D);
        return -1;
    }
    if (split_size < 0) {
        cg__error("cg_split", "split expects split_size be non-negative, but got split_size=%lld",
                  (long long)split_size);
        return -1;
    }
    int d = cg__wrap_dim("cg_split", dim, a->ndim);
    if (d < 0) return -1;
    int64_t size = a->shape[d];
    if (split_size == 0 && size != 0) {
        cg__error("cg_split",
                  "split_size can only be 0 if dimension size is 0, but got dimension "
                  "size of %lld",
                  (long long)size);
        return -1;
    }
    int64_t count = size == 0 ? 1 : (size - 1) / split_size + 1;
    bool count_only;
    if (room("cg_split", count, n_out, out, &count_only) < 0 || count_only)
        return count_only ? 0 : -1;
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)count); /* (count) */
    if (!sizes) return cg__oom("cg_split"), -1;
    for (int64_t i = 0; i < count; i++) sizes[i] = split_size;
    sizes[count - 1] = size - split_size * (count - 1); /* the last piece takes the rest */
    int rc = split_views(CG_OP_SPLIT, a, d, (int)count, sizes, out);
    free(sizes);
    return rc;
}

/* split_with_sizes' sizes: non-negative, summing to a's size along d; -1
 * with PyTorch's error, which prints the list as Python does: "[1, 2]" */
static int check_split_sizes(const cg_tensor *a, int n, const int64_t *sizes, int d, int dim) {
    int64_t sum = 0;
    bool negative = false;
    for (int i = 0; i < n; i++) negative |= sizes[i] < 0, sum += sizes[i];
    if (!negative && sum == a->shape[d]) return 0;
    size_t cap = 3 + (size_t)n * 22, k = 1;
    char *s = malloc(cap); /* (cap) */
    if (!s) return cg__oom("cg_split_with_sizes"), -1;
    s[0] = '[';
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s%lld", i ? ", " : "", (long long)sizes[i]);
    snprintf(s + k, cap - k, "]");
    if (negative)
        cg__error("cg_split_with_sizes",
                  "split_with_sizes expects split_sizes have only "
                  "non-negative entries, but got split_sizes=%s",
                  s);
    else
        cg__error("cg_split_with_sizes",
                  "split_with_sizes expects split_sizes to sum exactly to "
                  "%lld (input tensor's size at dimension %d), but got "
                  "split_sizes=%s",
                  (long long)a->shape[d], dim, s);
    free(s);
    return -1;
}

int cg_split_with_sizes(cg_tensor *a, int n, const int64_t *sizes, int dim, cg_tensor **out) {
    if (!a) return -1;
    if (n < 0 || (n > 0 && (!sizes || !out))) {
        cg__error("cg_split_with_sizes", "sizes and out must hold n >= 0 entries, got n = %d", n);
        return -1;
    }
    if (a->ndim == 0) {
        cg__error("cg_split_with_sizes", SPLIT_0D);
        return -1;
    }
    int d = cg__wrap_dim("cg_split_with_sizes", dim, a->ndim);
    if (d < 0 || check_split_sizes(a, n, sizes, d, dim) < 0) return -1;
    return split_views(CG_OP_SPLIT_WITH_SIZES, a, d, n, sizes, out);
}

int cg_chunk(cg_tensor *a, int chunks, int dim, int *n_out, cg_tensor **out) {
    if (!a) return -1;
    if (!n_out) {
        cg__error("cg_chunk", "n_out is NULL");
        return -1;
    }
    if (a->ndim == 0) {
        cg__error("cg_chunk", "chunk expects at least a 1-dimensional tensor");
        return -1;
    }
    if (chunks <= 0) {
        cg__error("cg_chunk", "chunk expects `chunks` to be greater than 0, got: %d", chunks);
        return -1;
    }
    int d = cg__wrap_dim("cg_chunk", dim, a->ndim);
    if (d < 0) return -1;
    int64_t size = a->shape[d], split_size = (size + chunks - 1) / chunks;
    if (split_size != 0 || size != 0) return cg_split(a, split_size, d, n_out, out);
    /* an empty dim: `chunks` empty pieces, which PyTorch makes with
     * split_with_sizes (split would make one) */
    bool count_only;
    if (room("cg_chunk", chunks, n_out, out, &count_only) < 0 || count_only)
        return count_only ? 0 : -1;
    int64_t *sizes = calloc((size_t)chunks, sizeof(int64_t)); /* (chunks) zeros */
    if (!sizes) return cg__oom("cg_chunk"), -1;
    int rc = split_views(CG_OP_SPLIT_WITH_SIZES, a, d, chunks, sizes, out);
    free(sizes);
    return rc;
}

int cg__bw_split(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int dim = (int)n->iv[SPLIT_DIM];
    /* the pieces' gradients side by side (the engine gave zeros to the
     * pieces no gradient reached) */
    return (gi[0] = cg_cat(n->n_out, go, dim)) ? 0 : -1;
}

/* --------------------------------------------------------------- flatten */

cg_tensor *cg_flatten(cg_tensor *a, int start_dim, int end_dim) {
    if (!a) return NULL;
    int s = cg__wrap_dim("cg_flatten", start_dim, a->ndim);
    int e = s < 0 ? -1 : cg__wrap_dim("cg_flatten", end_dim, a->ndim);
    if (e < 0) return NULL;
    if (a->ndim == 0) return cg_reshape(a, 1, (const int64_t[]){1});
    if (s > e) {
        cg__error("cg_flatten", "flatten() has invalid args: start_dim cannot come after end_dim");
        return NULL;
    }
    if (s == e) return cg__same(a); /* PyTorch returns the tensor itself */
    int64_t shape[CG_MAX_DIMS];     /* (nd): dims s..e merged */
    int nd = 0;
    for (int i = 0; i < a->ndim; i++) {
        if (i > s && i <= e)
            shape[nd - 1] *= a->shape[i];
        else
            shape[nd++] = a->shape[i];
    }
    return cg_reshape(a, nd, shape);
}

/* ---------------------------------------------------------------- repeat */

cg_tensor *cg_repeat(cg_tensor *a, int ndims, const int64_t *repeats) {
    if (!a) return NULL;
    if (ndims < 0 || (ndims > 0 && !repeats)) {
        cg__error("cg_repeat", "repeats is NULL but ndims is %d", ndims);
        return NULL;
    }
    if (ndims < a->ndim) {
        cg__error("cg_repeat", "Number of dimensions of repeat dims can not be smaller than number "
                               "of dimensions of tensor");
        return NULL;
    }
    if (ndims > CG_MAX_DIMS) {
        cg__error("cg_repeat", CG_MSG_MAX_DIMS ", but repeats has %d", CG_MAX_DIMS, ndims);
        return NULL;
    }
    int lead = ndims - a->ndim;
    int64_t pad[CG_MAX_DIMS], shape[CG_MAX_DIMS]; /* a's shape with leading 1s; the result's */
    for (int i = 0; i < ndims; i++) {
        pad[i] = i < lead ? 1 : a->shape[i - lead];
        shape[i] = (int64_t)((uint64_t)pad[i] * (uint64_t)repeats[i]); /* wraps, as PyTorch */
    }
    if (cg__check_shape("cg_repeat", ndims, shape) < 0) return NULL;
    cg_tensor *out = cg__tensor_new(a->dtype, ndims, shape);
    if (!out) return NULL;
    int64_t n = cg__numel(ndims, shape), idx[CG_MAX_DIMS] = {0};
    size_t es = cg__esize(a->dtype);
    const char *src = cg__ptr(a);
    char *dst = cg__ptr(out);
    for (int64_t k = 0; k < n; k++) { /* out[idx] = a[idx % pad] */
        int64_t off = 0;
        for (int i = lead; i < ndims; i++) off += (idx[i] % pad[i]) * a->strides[i - lead];
        memcpy(dst + (size_t)k * es, src + off * (int64_t)es, es);
        cg__next_index(ndims, shape, idx);
    }
    cg_node *node = cg__record(CG_OP_REPEAT, out, 1, &a);
    if (node) {
        memcpy(node->iv, repeats, sizeof(int64_t) * (size_t)ndims);
        node->n_iv = ndims;
    }
    return cg__recorded(out);
}

int cg__bw_repeat(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* The output's dim i holds repeats[i] copies of the (padded) input's:
     * split it into (repeats[i], size[i]) and sum the copies. */
    int nd = n->n_iv, lead = nd - n->in_meta[0].ndim;
    const cg_meta *m = &n->in_meta[0];
    for (int i = 0; i < nd; i++)
        if (n->iv[i] == 0) /* no copies at all: zeros, as torch (no graph, no view) */
            return (gi[0] = cg_zeros(m->ndim, m->shape, m->dtype)) ? 0 : -1;
    cg_tensor *g = go[0];
    for (int i = nd - 1; i >= 0 && g; i--) {
        int64_t r = n->iv[i], s = i < lead ? 1 : n->in_meta[0].shape[i - lead];
        if (i < lead) { /* a leading dim the input lacks: summed away */
            g = cg_sum_dims(g, 1, &i, false);
            continue;
        }
        if (r == 1) continue;
        if (s == 1) { /* the copies are the whole dim */
            g = cg_sum_dims(g, 1, &i, true);
        } else if (nd < CG_MAX_DIMS) {
            int64_t sh[CG_MAX_DIMS]; /* g's shape with dim i split into (r, s) */
            for (int k = 0, j = 0; k < nd; k++) {
                if (k == i)
                    sh[j++] = r, sh[j++] = s;
                else
                    sh[j++] = g->shape[k];
            }
            g = cg_sum_dims(cg_reshape(g, nd + 1, sh), 1, &i, false);
        } else { /* no room for a ninth dim: add the r blocks of size s */
            cg_tensor *acc = cg_narrow(g, i, 0, s);
            for (int64_t k = 1; k < r && acc; k++) acc = cg_add(acc, cg_narrow(g, i, k * s, s));
            g = acc;
        }
    }
    if (g && !cg__same_shape(g->ndim, g->shape, m->ndim, m->shape))
        g = cg_reshape(g, m->ndim, m->shape);
    return (gi[0] = g) ? 0 : -1;
}
