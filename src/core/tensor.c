/* Tensor and storage lifecycle, shapes and element access. */
#include "internal.h"

#include <math.h>
#include <stdio.h>

atomic_long cg__live_tensors;
atomic_long cg__live_storages;

long cg_live_tensors(void) { return atomic_load(&cg__live_tensors); }
long cg_live_storages(void) { return atomic_load(&cg__live_storages); }

/* ---------------------------------------------------------------- storage */

cg_storage *cg__storage_new(size_t nbytes) {
    /* one block: header, then data (aligned to 64 bytes when large) */
    size_t head = (sizeof(cg_storage) + 63) & ~(size_t)63;
    if (nbytes > SIZE_MAX - head - 64) return NULL;
    bool small = nbytes <= CG_SMALL_STORAGE_BYTES;
    cg_storage *s = small ? cg__cache_alloc(CG_CACHE_STORAGE, head + CG_SMALL_STORAGE_BYTES)
                          : cg__large_alloc((head + nbytes + 63) & ~(size_t)63);
    if (!s) return NULL;
    s->small = small;
    s->refcount = 1;
    s->version = 0;
    s->nbytes = nbytes;
    s->data = (char *)s + head;
    atomic_fetch_add_explicit(&cg__live_storages, 1, memory_order_relaxed);
    return s;
}

void cg__storage_release(cg_storage *s) {
    if (!s || --s->refcount > 0) return;
    atomic_fetch_sub_explicit(&cg__live_storages, 1, memory_order_relaxed);
    if (s->small)
        cg__cache_free(CG_CACHE_STORAGE, s);
    else
        cg__large_free(s,
                       (((sizeof(cg_storage) + 63) & ~(size_t)63) + s->nbytes + 63) & ~(size_t)63);
}

/* ----------------------------------------------------------------- shapes */

int64_t cg__numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

bool cg__mul_sizes(int n, const int64_t *sizes, int64_t *out) {
    int64_t p = 1;
    bool overflow = false, empty = false;
    for (int i = 0; i < n; i++) {
        overflow |= __builtin_mul_overflow(p, sizes[i], &p);
        empty |= sizes[i] == 0;
    }
    *out = empty ? 0 : p;
    return empty || !overflow;
}

void cg__contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i] > 1 ? shape[i] : 1;
    }
}

bool cg__is_contiguous(const cg_tensor *t) {
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) return true; /* no elements: any strides */
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

void cg__shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

int cg__check_shape(const char *fn, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > CG_MAX_DIMS) {
        cg__error(fn, "cgrad supports tensors of 0 to %d dimensions, but got %d", CG_MAX_DIMS,
                  ndim);
        return -1;
    }
    if (ndim > 0 && !shape) {
        cg__error(fn, "shape is NULL but ndim is %d", ndim);
        return -1;
    }
    int64_t total = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            char s[256];
            cg__shape_str(s, sizeof s, ndim, shape);
            cg__error(fn, "Trying to create tensor with negative dimension %lld: %s",
                      (long long)shape[i], s);
            return -1;
        }
        if (shape[i] > 0 && total > (INT64_MAX / 16) / shape[i]) {
            cg__error(fn, "tensor of %d dims is too large to allocate", ndim);
            return -1;
        }
        total *= shape[i];
    }
    return 0;
}

int cg__wrap_dim(const char *fn, int dim, int ndim) {
    int n = ndim > 0 ? ndim : 1; /* a 0-d tensor accepts dims -1 and 0 */
    if (dim < -n || dim >= n) {
        cg__error(fn, "Dimension out of range (expected to be in range of [%d, %d], but got %d)",
                  -n, n - 1, dim);
        return -1;
    }
    return dim < 0 ? dim + n : dim;
}

/* ---------------------------------------------------------------- tensors */

static cg_tensor *tensor_struct(cg_dtype dtype, int ndim, const int64_t *shape) {
    cg_tensor *t = cg__cache_alloc(CG_CACHE_TENSOR, sizeof *t);
    if (!t) return NULL;
    t->refcount = 1;
    t->ndim = ndim;
    t->dtype = dtype;
    t->requires_grad = false;
    t->output_nr = 0;
    t->offset = 0;
    if (ndim) memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    t->storage = NULL;
    t->grad_fn = NULL;
    t->grad = NULL;
    t->grad_acc = NULL;
    t->hooks = NULL;
    t->retains_grad = false;
    t->inference = cg__inference_mode;
    t->base = NULL;
    t->no_grad_view = false;
    t->multi_view = false;
    t->view_version = -1;
    atomic_fetch_add_explicit(&cg__live_tensors, 1, memory_order_relaxed);
    return t;
}

/* PyTorch's message when a new tensor's bytes do not fit in an int64 */
static bool storage_fits(int ndim, const int64_t *shape, cg_dtype dtype) {
    int64_t n, bytes;
    if (cg__mul_sizes(ndim, shape, &n) &&
        !__builtin_mul_overflow(n, (int64_t)cg__esize(dtype), &bytes))
        return true;
    char s[256];
    cg__shape_str(s, sizeof s, ndim, shape);
    cg__error("cg_empty", "Storage size calculation overflowed with sizes=%s", s);
    return false;
}

cg_tensor *cg__tensor_new(cg_dtype dtype, int ndim, const int64_t *shape) {
    if (!storage_fits(ndim, shape, dtype)) return NULL;
    cg_tensor *t = tensor_struct(dtype, ndim, shape);
    if (!t) return cg__oom("cg_empty");
    cg__contiguous_strides(ndim, shape, t->strides);
    t->storage = cg__storage_new((size_t)cg__numel(ndim, shape) * cg__esize(dtype));
    if (!t->storage) {
        cg__tensor_free(t);
        return cg__oom("cg_empty");
    }
    if (cg__scope_add(t) < 0) {
        cg__tensor_free(t);
        return NULL;
    }
    return t;
}

cg_tensor *cg__tensor_view(cg_tensor *base, int ndim, const int64_t *shape, const int64_t *strides,
                           int64_t offset) {
    int64_t n;
    if (!cg__mul_sizes(ndim, shape, &n)) {
        cg__error("view", "numel: integer multiplication overflow");
        return NULL;
    }
    cg_tensor *t = tensor_struct(base->dtype, ndim, shape);
    if (!t) return cg__oom("view");
    if (ndim) memcpy(t->strides, strides, sizeof(int64_t) * (size_t)ndim);
    t->offset = offset;
    t->storage = base->storage;
    base->storage->refcount++;
    if (cg__scope_add(t) < 0) {
        cg__tensor_free(t);
        return NULL;
    }
    return t;
}

void cg__tensor_free(cg_tensor *t) {
    cg__unhook_retain(t);
    cg__free_hooks(t);
    cg__storage_release(t->storage);
    cg_tensor *g = t->grad, *base = t->base;
    cg_node *fn = t->grad_fn;
    cg__cache_free(CG_CACHE_TENSOR, t);
    atomic_fetch_sub_explicit(&cg__live_tensors, 1, memory_order_relaxed);
    if (g) cg_release(g);
    if (base) cg_release(base);
    cg__node_release(fn);
}

cg_tensor *cg_retain(cg_tensor *t) {
    if (t) t->refcount++;
    return t;
}

void cg_release(cg_tensor *t) {
    if (!t) return;
    if (t->refcount <= 0) {
        fprintf(stderr, "cgrad: cg_release on a tensor with refcount %d (double release?)\n",
                t->refcount);
        abort();
    }
    if (--t->refcount == 0) cg__tensor_free(t);
}

/* ----------------------------------------------------------------- access */

/* A NULL tensor gives the sentinel and leaves the first error message. */
#define CHECK_T(fn, t, ret)                                                                        \
    do {                                                                                           \
        (void)(fn);                                                                                \
        if (!(t)) return ret;                                                                      \
    } while (0)

int cg_ndim(const cg_tensor *t) {
    CHECK_T("cg_ndim", t, -1);
    return t->ndim;
}

int64_t cg_size(const cg_tensor *t, int dim) {
    CHECK_T("cg_size", t, -1);
    if (t->ndim == 0) {
        cg__error("cg_size", "Dimension specified as %d but tensor has no dimensions", dim);
        return -1;
    }
    int d = cg__wrap_dim("cg_size", dim, t->ndim);
    if (d < 0) return -1;
    return t->ndim ? t->shape[d] : 1;
}

const int64_t *cg_shape(const cg_tensor *t) { return t ? t->shape : NULL; }
const int64_t *cg_strides(const cg_tensor *t) { return t ? t->strides : NULL; }
int64_t cg_storage_offset(const cg_tensor *t) { return t ? t->offset : -1; }

int64_t cg_numel(const cg_tensor *t) {
    CHECK_T("cg_numel", t, -1);
    return cg__numel(t->ndim, t->shape);
}

cg_dtype cg_dtype_of(const cg_tensor *t) { return t ? t->dtype : CG_FLOAT32; }
bool cg_is_contiguous(const cg_tensor *t) { return t && cg__is_contiguous(t); }
void *cg_data_ptr(const cg_tensor *t) { return t ? cg__ptr(t) : NULL; }
uint64_t cg_version(const cg_tensor *t) { return t ? t->storage->version : 0; }

bool cg_shares_storage(const cg_tensor *a, const cg_tensor *b) {
    return a && b && a->storage == b->storage;
}

static double read_at(const cg_tensor *t, int64_t off) {
    return cg__load(t->storage->data, t->dtype, off);
}

void cg__write_at(cg_tensor *t, int64_t off, double v) {
    cg__store(t->storage->data, t->dtype, off, v);
}

double cg__read_linear(const cg_tensor *t, int64_t i) {
    int64_t off = t->offset;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->strides[d];
        i /= t->shape[d];
    }
    return read_at(t, off);
}

double cg_item(const cg_tensor *t) {
    CHECK_T("cg_item", t, NAN);
    if (cg__numel(t->ndim, t->shape) != 1) {
        cg__error("cg_item", "only one element tensors can be converted to Python scalars");
        return NAN;
    }
    return read_at(t, t->offset);
}

int64_t cg__index_offset(const char *fn, const cg_tensor *t, const int64_t *index) {
    if (t->ndim && !index) {
        cg__error(fn, "index is NULL but the tensor has %d dimensions", t->ndim);
        return -1;
    }
    int64_t off = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t i = index[d], n = t->shape[d];
        if (i < -n || i >= n) {
            cg__error(fn, "index %lld is out of bounds for dimension %d with size %lld",
                      (long long)i, d, (long long)n);
            return -1;
        }
        off += (i < 0 ? i + n : i) * t->strides[d];
    }
    return off;
}

double cg_get(const cg_tensor *t, const int64_t *index) {
    CHECK_T("cg_get", t, NAN);
    int64_t off = cg__index_offset("cg_get", t, index);
    return off < 0 ? NAN : read_at(t, off);
}
