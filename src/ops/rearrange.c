/* The rearrange family, each forward beside its backward: flip and roll
 * (copies, as torch), unbind (views, one node with an output per piece) and
 * movedim (a permute). */
#include "ewise.h"

/* out (contiguous, a's shape and dtype)[idx] = a[src(idx)], where src
 * reverses the dims in flip_mask and shifts dim k back by shift[k] */
static void gather_copy(const cg_tensor *a, unsigned flip_mask, const int64_t *shift,
                        cg_tensor *out) {
    int nd = a->ndim;
    int64_t n = cg__numel(nd, a->shape), idx[CG_MAX_DIMS] = {0};
    size_t es = cg__esize(a->dtype);
    const char *src = cg__ptr(a);
    char *dst = cg__ptr(out);
    for (int64_t k = 0; k < n; k++) {
        int64_t off = 0;
        for (int d = 0; d < nd; d++) {
            int64_t i = flip_mask >> d & 1 ? a->shape[d] - 1 - idx[d] : idx[d];
            if (shift[d]) i = ((i - shift[d]) % a->shape[d] + a->shape[d]) % a->shape[d];
            off += i * a->strides[d];
        }
        memcpy(dst + (size_t)k * es, src + (size_t)off * es, es);
        cg__next_index(nd, a->shape, idx);
    }
}

enum { FLIP_MASK }; /* n->iv */

cg_tensor *cg_flip(cg_tensor *a, int ndims, const int *dims) {
    if (!a) return NULL;
    unsigned mask = 0;
    if (ndims && cg__dim_mask("cg_flip", a, ndims, dims, &mask) < 0) return NULL;
    cg_tensor *out = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!out) return NULL;
    const int64_t none[CG_MAX_DIMS] = {0};
    gather_copy(a, mask, none, out);
    cg_node *n = cg__record(CG_OP_FLIP, out, 1, &a);
    if (n) n->iv[FLIP_MASK] = mask, n->n_iv = 1;
    return cg__recorded(out);
}

/* the dims of a mask, in order; returns their count */
static int mask_dims(unsigned mask, int *dims) {
    int k = 0;
    for (int d = 0; d < CG_MAX_DIMS; d++)
        if (mask >> d & 1) dims[k++] = d;
    return k;
}

int cg__bw_flip(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int dims[CG_MAX_DIMS];
    int k = mask_dims((unsigned)n->iv[FLIP_MASK], dims);
    return (gi[0] = cg_flip(go[0], k, dims)) ? 0 : -1;
}

/* ----------------------------------------------------------------- roll */

/* shifts per dim of a (summed when a dim repeats, as torch rolls in turn),
 * or -1 with torch's error */
static int roll_shifts(cg_tensor *a, int nshifts, const int64_t *shifts, int ndims, const int *dims,
                       int64_t *per_dim) {
    memset(per_dim, 0, sizeof(int64_t) * CG_MAX_DIMS);
    if (nshifts == 0) {
        cg__error("cg_roll", "`shifts` required");
        return -1;
    }
    if (ndims != nshifts && !(ndims == 0 && nshifts == 1)) {
        cg__error("cg_roll", "shifts and dimensions must align. shifts: %d, dims:%d", nshifts,
                  ndims);
        return -1;
    }
    for (int i = 0; i < ndims; i++) {
        int d = cg__wrap_dim("cg_roll", dims[i], a->ndim);
        if (d < 0) return -1;
        if (a->shape[d]) per_dim[d] = (per_dim[d] + shifts[i] % a->shape[d]) % a->shape[d];
    }
    return 0;
}

cg_tensor *cg_roll(cg_tensor *a, int nshifts, const int64_t *shifts, int ndims, const int *dims) {
    if (!a) return NULL;
    int64_t per_dim[CG_MAX_DIMS];
    if (roll_shifts(a, nshifts, shifts, ndims, dims, per_dim) < 0) return NULL;
    cg_tensor *out;
    if (ndims == 0) { /* over the flattened tensor */
        cg_tensor *flat = cg__as_contiguous(a);
        int64_t n = cg__numel(a->ndim, a->shape);
        cg_tensor *f = flat ? cg__tensor_view(flat, 1, &n, (const int64_t[]){1}, flat->offset)
                            : NULL;
        out = f ? cg__tensor_new(a->dtype, 1, &n) : NULL;
        if (!out) return NULL;
        int64_t s[CG_MAX_DIMS] = {n ? shifts[0] % n : 0};
        gather_copy(f, 0, s, out);
        out->ndim = a->ndim; /* the same contiguous buffer, a's shape */
        memcpy(out->shape, a->shape, sizeof out->shape);
        cg__contiguous_strides(a->ndim, a->shape, out->strides);
    } else {
        if (!(out = cg__tensor_new(a->dtype, a->ndim, a->shape))) return NULL;
        gather_copy(a, 0, per_dim, out);
    }
    cg_node *n = cg__record(CG_OP_ROLL, out, 1, &a);
    if (n) { /* iv: the dims (none: flattened), then the shifts */
        n->n_iv = 2 * (ndims ? ndims : 1);
        if (n->n_iv > CG_NODE_MAX_ARGS) return cg__error("cg_roll", "too many dims"), NULL;
        for (int i = 0; i < (ndims ? ndims : 1); i++) {
            n->iv[2 * i] = ndims ? cg__wrap_dim("cg_roll", dims[i], a->ndim) : -1;
            n->iv[2 * i + 1] = shifts[i];
        }
    }
    return cg__recorded(out);
}

int cg__bw_roll(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    int k = n->n_iv / 2, dims[CG_MAX_DIMS];
    int64_t back[CG_MAX_DIMS];
    for (int i = 0; i < k; i++) dims[i] = (int)n->iv[2 * i], back[i] = -n->iv[2 * i + 1];
    bool flat = dims[0] == -1 && k == 1;
    return (gi[0] = cg_roll(go[0], k, back, flat ? 0 : k, dims)) ? 0 : -1;
}

/* --------------------------------------------------------------- unbind */

enum { UNBIND_DIM }; /* n->iv */

int cg_unbind(cg_tensor *a, int dim, int *n_out, cg_tensor **out) {
    if (!a) return -1;
    if (!n_out) return cg__error("cg_unbind", "n_out is NULL"), -1;
    if (a->ndim == 0) {
        cg__error("cg_unbind", "Dimension specified as 0 but tensor has no dimensions");
        return -1;
    }
    int d = cg__wrap_dim("cg_unbind", dim, a->ndim);
    if (d < 0) return -1;
    int64_t count = a->shape[d];
    if (!out || count > *n_out) {
        if (out)
            cg__error("cg_unbind", "%lld pieces do not fit in out[%d]", (long long)count, *n_out);
        *n_out = (int)count;
        return out ? -1 : 0;
    }
    *n_out = (int)count;
    int64_t sh[CG_MAX_DIMS], st[CG_MAX_DIMS]; /* a's shape and strides without d */
    for (int i = 0, j = 0; i < a->ndim; i++)
        if (i != d) sh[j] = a->shape[i], st[j++] = a->strides[i];
    for (int64_t i = 0; i < count; i++) {
        out[i] = cg__tensor_view(a, a->ndim - 1, sh, st, a->offset + i * a->strides[d]);
        if (!out[i]) return -1;
        out[i]->base = cg_retain(a->base ? a->base : a); /* a view of a view views the base */
        out[i]->no_grad_view = !cg__grad_enabled || a->no_grad_view;
        out[i]->multi_view = true; /* PyTorch refuses in-place writes to these */
    }
    cg_node *node = count ? cg__record_n(CG_OP_UNBIND, (int)count, out, 1, &a) : NULL;
    if (node) node->iv[UNBIND_DIM] = d, node->n_iv = 1;
    return count && cg__record_failed ? -1 : 0;
}

int cg__bw_unbind(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    /* the pieces' gradients stacked (the engine gave zeros to the pieces no
     * gradient reached) */
    return (gi[0] = cg_stack(n->n_out, go, (int)n->iv[UNBIND_DIM])) ? 0 : -1;
}

/* -------------------------------------------------------------- movedim */

#define MOVEDIM_REPEAT "movedim: repeated dim in `%s` (%s)"

/* "[0, 1]" */
static void list_str(char *buf, size_t size, int n, const int *v) {
    int64_t w[CG_MAX_DIMS];
    for (int i = 0; i < n && i < CG_MAX_DIMS; i++) w[i] = v[i];
    cg__shape_str(buf, size, n, w);
}

/* wraps n dims into d, or -1 with torch's error (which names them as given) */
static int movedim_dims(const cg_tensor *a, int n, const int *v, const char *what, int *d) {
    unsigned seen = 0;
    for (int i = 0; i < n; i++) {
        if ((d[i] = cg__wrap_dim("cg_movedim", v[i], a->ndim)) < 0) return -1;
        if (seen >> d[i] & 1) {
            char s[128];
            list_str(s, sizeof s, n, v);
            cg__error("cg_movedim", MOVEDIM_REPEAT, what, s);
            return -1;
        }
        seen |= 1u << d[i];
    }
    return 0;
}

cg_tensor *cg_movedim(cg_tensor *a, int n, const int *source, const int *destination) {
    if (!a) return NULL;
    if (n < 0 || n > CG_MAX_DIMS) {
        cg__error("cg_movedim", "movedim: %d dims given; cgrad supports 0 to %d", n, CG_MAX_DIMS);
        return NULL;
    }
    int src[CG_MAX_DIMS], dst[CG_MAX_DIMS], perm[CG_MAX_DIMS];
    if (movedim_dims(a, n, source, "source", src) < 0 ||
        movedim_dims(a, n, destination, "destination", dst) < 0)
        return NULL;
    if (a->ndim == 0) return cg__same(a);
    /* the moved dims at their destinations, the others in order in the rest */
    bool taken[CG_MAX_DIMS] = {false}, moved[CG_MAX_DIMS] = {false};
    for (int i = 0; i < a->ndim; i++) perm[i] = -1;
    for (int i = 0; i < n; i++) perm[dst[i]] = src[i], moved[src[i]] = taken[dst[i]] = true;
    for (int i = 0, next = 0; i < a->ndim; i++) {
        if (moved[i]) continue;
        while (taken[next]) next++;
        perm[next] = i, taken[next] = true;
    }
    return cg_permute(a, a->ndim, perm);
}
