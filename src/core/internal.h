/* Internal definitions shared by the library's source files. Not installed.
 * Internal names carry the cg__ prefix; public ones cg_. */
#ifndef CG_INTERNAL_H
#define CG_INTERNAL_H

#include "cgrad.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* NOTE [ Ownership ]
 * - Tensors, storages and nodes are reference-counted (plain ints: a tensor
 *   belongs to one thread at a time).
 * - Every function returning a new tensor registers it with the current scope,
 *   which owns that first reference (cg__scope_add). cg_scope_end releases it.
 * - A tensor holds strong references to its storage, its grad_fn and its grad.
 * - A node holds strong references to its next nodes and its saved tensors.
 *   It never holds the tensor whose grad_fn it is: an output is saved as a
 *   detached alias (cg_saved.is_output) and re-attached when unpacked.
 * - A leaf caches its AccumulateGrad node weakly (grad_acc); the node holds the
 *   leaf strongly and clears the cache when it dies.
 * - Freeing nodes is iterative (a work list in node.c): dropping the last
 *   reference to a 100,000-node chain must not recurse 100,000 deep. */

typedef struct cg_hook cg_hook;

typedef struct cg_storage {
    long refcount;
    bool small;       /* a CG_CACHE_STORAGE block */
    uint64_t version; /* bumped by every in-place write (NOTE [ Versions ]) */
    size_t nbytes;
    void *data;
} cg_storage;

struct cg_tensor {
    int refcount;
    int ndim;
    cg_dtype dtype;
    bool requires_grad; /* leaves only; results derive it from grad_fn */
    int output_nr;      /* which output of grad_fn this is */
    int64_t offset;     /* in elements */
    int64_t shape[CG_MAX_DIMS];
    int64_t strides[CG_MAX_DIMS]; /* in elements */
    cg_storage *storage;
    cg_node *grad_fn;     /* strong; NULL on leaves */
    cg_tensor *grad;      /* strong; NULL until a backward reaches this leaf */
    cg_node *grad_acc;    /* weak cache of the leaf's AccumulateGrad node */
    cg_hook *hooks;       /* a leaf's own hooks (gradient and post-accumulate) */
    bool retains_grad;    /* a non-leaf with a CG_HOOK_RETAIN on its grad_fn */
    bool inference;       /* made in inference mode */
    cg_tensor *base;      /* strong: the tensor a view op viewed (NULL otherwise) */
    bool no_grad_view;    /* a view made in no_grad mode (PyTorch's CreationMeta) */
    bool multi_view;      /* one of several views an op returned (split), or a view of one */
    int64_t view_version; /* a view: the storage version its history is for; -1: not
                             regenerated (no view, or one of several views split off) */
};

/* --------------------------------------------------------------- op table */

typedef enum cg_op {
#define CG_OP(id, name, bwd, fwd) CG_OP_##id,
#include "../ops/ops.def"
#undef CG_OP
    CG_OP_COUNT
} cg_op;

/* A backward function reads grad_out[n->n_out] and writes grad_in[n->n_next]
 * (new tensors, or NULL where an input needs no gradient). Returns 0 or -1.
 * It may build its result from cgrad ops, so create_graph records it. */
typedef int (*cg__backward_fn)(cg_node *n, cg_tensor **grad_out, cg_tensor **grad_in);

typedef struct cg_op_info {
    const char *name; /* as PyTorch prints the node */
    cg__backward_fn backward;
    const char *forward; /* the public function that records it */
} cg_op_info;
extern const cg_op_info cg__op_table[CG_OP_COUNT];

/* ------------------------------------------------------------------ nodes */

typedef struct cg_edge {
    cg_node *fn; /* strong; NULL when that input needs no gradient */
    int input_nr;
} cg_edge;

typedef struct cg_meta { /* what the engine needs to shape an input's grad */
    int ndim;
    cg_dtype dtype;
    int64_t shape[CG_MAX_DIMS];
} cg_meta;

typedef struct cg_saved {
    cg_tensor *t;     /* strong; an output is stored as a detached alias */
    uint64_t version; /* storage version when saved */
    bool is_output;
} cg_saved;

#define CG_NODE_SMALL_SAVED 3
#define CG_NODE_MAX_ARGS (CG_MAX_DIMS + 2)

/* A hook: a tensor's gradient hook (on its node's output slot, or on the
 * leaf itself), a retain_grad, or a leaf's post-accumulate hook. */
typedef enum { CG_HOOK_GRAD, CG_HOOK_RETAIN, CG_HOOK_POST_ACCUMULATE } cg_hook_kind;
struct cg_hook {
    struct cg_hook *next;
    int id;
    cg_hook_kind kind;
    int slot; /* the node output it watches */
    cg_grad_hook fn;
    cg_post_accumulate_hook post;
    void *ctx;
    cg_tensor *retain; /* CG_HOOK_RETAIN: the tensor, weakly (it unhooks when freed) */
};

/* A custom function's node (cg_function_apply). */
#define CG_CUSTOM_MAX_MARKED 16
typedef struct cg_custom {
    const cg_function *fn;
    void *user;
    bool in_forward;
    unsigned long long needs_input_grad; /* bit i: input i (the first 64) */
    int n_marked;                        /* mark_non_differentiable calls */
    cg_tensor *marked[CG_CUSTOM_MAX_MARKED];
} cg_custom;

struct cg_node {
    int refcount;
    cg_op op;
    uint64_t seq;
    int n_next;        /* inputs of the forward op = edges to next nodes */
    int n_out;         /* outputs of the forward op */
    cg_edge *next;     /* (n_next) */
    cg_meta *in_meta;  /* (n_next) */
    cg_meta *out_meta; /* (n_out) to make zeros for an output no gradient reached */
    int n_saved;
    bool released;   /* saved tensors freed after a backward */
    cg_saved *saved; /* (n_saved) saved_small, or malloc'ed when more */
    cg_saved saved_small[CG_NODE_SMALL_SAVED];
    double sc[2]; /* scalar arguments */
    int n_iv;     /* integer arguments (dims, sizes) */
    int64_t iv[CG_NODE_MAX_ARGS];
    cg_tensor *leaf;   /* AccumulateGrad: the leaf it feeds (strong) */
    cg_hook *hooks;    /* gradient hooks on this node's outputs */
    cg_custom *custom; /* CUSTOM nodes */
    cg_node *wrapped;  /* COPY_SLICES: the in-place op's own node (strong) */
    /* engine scratch, valid while eng_run is the running backward's id */
    uint64_t eng_run;
    int eng_deps;
    bool eng_needed;
    cg_tensor **eng_buf; /* (n_out) summed incoming gradients */
};

/* Makes the node for a forward op if grad mode is on and an input requires
 * grad; sets out->grad_fn. Returns it (borrowed) or NULL when none is needed,
 * or when it could not be made: then cg__record_failed is set (with "out of
 * memory"), until the next cg__record, and the op returns cg__recorded(out). */
cg_node *cg__record(cg_op op, cg_tensor *out, int n_in, cg_tensor *const *in);
/* The same for an op with several outputs (outs[i] NULL: not differentiable). */
cg_node *cg__record_n(cg_op op, int n_out, cg_tensor *const *outs, int n_in, cg_tensor *const *in);
extern _Thread_local bool cg__record_failed;
/* out, or NULL when recording its node failed: the one place an op's result
 * becomes NULL because its gradient could not be recorded (the scope still
 * owns out and releases it). */
static inline cg_tensor *cg__recorded(cg_tensor *out) { return cg__record_failed ? NULL : out; }
/* Edges and input metadata of a new node from its inputs; -1 out of memory. */
int cg__node_connect(cg_node *n, cg_tensor *const *in);
/* Makes n the grad_fn of each floating output; returns how many hold it. */
int cg__node_attach(cg_node *n, cg_tensor *const *outs);
/* g, a gradient node n produced for its input i, summed to that input's
 * shape and cast to its dtype (the engine's rule). */
cg_tensor *cg__shape_grad(cg_node *n, int i, cg_tensor *g);
/* Room for n saved tensors (custom functions); 0 or -1. */
int cg__node_reserve_saved(cg_node *n, int count);
void cg__meta_of(cg_meta *m, const cg_tensor *t);
const char *cg__node_name(const cg_node *n);
void cg__unhook_retain(cg_tensor *t); /* drops t's retain_grad hook */
/* May t be written in place? PyTorch's rules for leaves, views of leaves and
 * inference tensors; -1 with its message if not. */
int cg__check_inplace(const char *fn, const cg_tensor *t, bool through_view);
/* A view whose storage was written in place since its history was set gets
 * the history PyTorch regenerates: an AsStridedBackward0 of its base's
 * (NOTE [ In-place ops ] in src/ops/inplace.c). Called where a history is read. */
void cg__refresh_view(cg_tensor *v);
/* A recorded in-place write (grad mode on, an input requiring grad) to t:
 * PyTorch's refusals for views made under no_grad or split off by an op
 * returning several views; -1 with its message. */
int cg__check_view_write(const char *fn, const cg_tensor *t);
/* Counts an in-place write to t's storage (not in inference mode). */
void cg__bump_version(cg_tensor *t);
void cg__free_hooks(cg_tensor *t);
cg_node *cg__node_new(cg_op op, int n_next, int n_out);
void cg__node_retain(cg_node *n);
void cg__node_release(cg_node *n);
/* Saves t (may be NULL) in slot i for backward; -1 (error set) for an
 * inference tensor, which cannot be saved. */
int cg__save(cg_node *n, int i, cg_tensor *t, bool is_output);
/* A saved tensor, registered with the current scope; NULL (error set) when it
 * was freed by an earlier backward or modified in place since. */
cg_tensor *cg__unpack(cg_node *n, int i);
void cg__node_release_saved(cg_node *n);
/* n's saved non-leaf tensors on storage st become aliases with their
 * history as now (PyTorch's SavedVariable keeps the grad_fn it saw): an
 * in-place write to st is about to rebase those tensors onto a node that
 * holds n, which would make a reference cycle (t.mul_(t)). 0 or -1. */
int cg__unalias_saved(cg_node *n, const cg_storage *st);
/* false (with PyTorch's "backward through the graph a second time" error)
 * once a backward has freed n's saved state */
bool cg__saved_alive(cg_node *n);
cg_node *cg__grad_accumulator(cg_tensor *leaf);
/* t's AccumulateGrad (if any) lets go of t, which gains a history: that
 * history may hold the node, and the node would hold t, a cycle */
void cg__drop_accumulator(cg_tensor *t);
extern atomic_long cg__live_nodes;

/* ---------------------------------------------------------------- tensors */

extern atomic_long cg__live_tensors;
extern atomic_long cg__live_storages;

cg_storage *cg__storage_new(size_t nbytes);
void cg__storage_release(cg_storage *s);
/* New contiguous tensor (uninitialised), registered with the current scope. */
cg_tensor *cg__tensor_new(cg_dtype dtype, int ndim, const int64_t *shape);
/* New tensor sharing base's storage (a view), registered with the scope. */
cg_tensor *cg__tensor_view(cg_tensor *base, int ndim, const int64_t *shape, const int64_t *strides,
                           int64_t offset);
void cg__tensor_free(cg_tensor *t);
/* A view of a, recorded as op (a view op's node); it remembers its base. */
cg_tensor *cg__make_view(cg_op op, cg_tensor *a, int nd, const int64_t *shape,
                         const int64_t *strides, int64_t offset);
void cg__contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
int64_t cg__numel(int ndim, const int64_t *shape);
/* The product of sizes (each >= 0) into *out; false if it overflows int64
 * (every shape a tensor is made with passes through here). */
bool cg__mul_sizes(int n, const int64_t *sizes, int64_t *out);
bool cg__is_contiguous(const cg_tensor *t);
static inline size_t cg__esize(cg_dtype d) { return d == CG_BOOL ? 1 : d == CG_FLOAT32 ? 4 : 8; }
static inline void *cg__ptr(const cg_tensor *t) {
    return (char *)t->storage->data + (size_t)t->offset * cg__esize(t->dtype);
}
/* A view whose base requires grad requires grad too, even when it has no
 * history of its own (made under no_grad, or before the base's
 * requires_grad_): PyTorch's is_view && base.requires_grad(). */
static inline bool cg__requires_grad(const cg_tensor *t) {
    return t->requires_grad || t->grad_fn != NULL ||
           (t->base && (t->base->requires_grad || t->base->grad_fn != NULL));
}
/* Reads element i (a linear index in t's logical, row-major order). */
double cg__read_linear(const cg_tensor *t, int64_t i);
/* Element i of a buffer of dtype dt, as a double. */
static inline double cg__load(const void *p, cg_dtype dt, int64_t i) {
    switch (dt) {
    case CG_FLOAT32: return ((const float *)p)[i];
    case CG_FLOAT64: return ((const double *)p)[i];
    case CG_INT64: return (double)((const int64_t *)p)[i];
    case CG_BOOL: return ((const bool *)p)[i];
    }
    return NAN;
}
/* Element i of a buffer of dtype dt = v (cast as a C cast, bool: v != 0). */
static inline void cg__store(void *p, cg_dtype dt, int64_t i, double v) {
    switch (dt) {
    case CG_FLOAT32: ((float *)p)[i] = (float)v; break;
    case CG_FLOAT64: ((double *)p)[i] = v; break;
    case CG_INT64: ((int64_t *)p)[i] = (int64_t)v; break;
    case CG_BOOL: ((bool *)p)[i] = v != 0; break;
    }
}
/* The storage offset of t[index] (t->ndim indices, negatives wrap); -1 with
 * PyTorch's error. */
int64_t cg__index_offset(const char *fn, const cg_tensor *t, const int64_t *index);
/* Writes v, cast to t's dtype, at storage offset off. */
void cg__write_at(cg_tensor *t, int64_t off, double v);
/* Checks a shape (ndim in range, sizes >= 0); sets the error otherwise. */
int cg__check_shape(const char *fn, int ndim, const int64_t *shape);
/* Wraps a possibly negative dim into [0, ndim); -1 with PyTorch's error. */
int cg__wrap_dim(const char *fn, int dim, int ndim);
/* Do two shapes match exactly? */
static inline bool cg__same_shape(int na, const int64_t *a, int nb, const int64_t *b) {
    return na == nb && (na == 0 || memcmp(a, b, sizeof(int64_t) * (size_t)na) == 0);
}
/* Writes "[2, 3]" into buf. */
void cg__shape_str(char *buf, size_t n, int ndim, const int64_t *shape);

/* ---------------------------------------------------- small-block caches */

enum { CG_CACHE_TENSOR, CG_CACHE_STORAGE, CG_CACHE_NODE, CG_NUM_CACHES };
#define CG_SMALL_STORAGE_BYTES 256 /* data bytes of a cached storage block */
void *cg__cache_alloc(int cls, size_t size);
void cg__cache_free(int cls, void *p);
void cg__cache_flush(void);
/* Large storage blocks (64-byte aligned), recycled by exact size. */
void *cg__large_alloc(size_t size);
void cg__large_free(void *p, size_t size);

/* ------------------------------------------------------------ allocation */

/* Every allocation of the library's sources that include this header goes
 * through cg__malloc & co. (the macros below), and so do the block caches:
 * one place where a test makes the k-th allocation fail. */
void *cg__malloc(size_t n);
void *cg__calloc(size_t n, size_t size);
void *cg__realloc(void *p, size_t n);
void *cg__aligned_alloc(size_t align, size_t n);
/* Fails the k-th allocation from now (1-based; 0: none), counting from 0. */
void cg__alloc_fault_at(long k);
/* Allocations counted since cg__alloc_fault_at (while one is armed). */
long cg__alloc_count(void);
#ifndef CG_ALLOC_IMPL
#define malloc(n) cg__malloc(n)
#define calloc(n, size) cg__calloc(n, size)
#define realloc(p, n) cg__realloc(p, n)
#define aligned_alloc(align, n) cg__aligned_alloc(align, n)
#endif

/* ----------------------------------------------------------------- scopes */

/* Hands t's reference to the current scope; -1 (out of memory, the error
 * set) when it cannot be tracked: the caller still owns it. */
int cg__scope_add(cg_tensor *t);

/* ----------------------------------------------------------------- errors */

/* Records a message (printf format) for cg_last_error(). fn names the public
 * function, printed in abort-on-error mode. */
void cg__error(const char *fn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Out of memory: records the error; returns NULL. */
void *cg__oom(const char *fn);

/* -------------------------------------------------------------- grad mode */

extern _Thread_local bool cg__grad_enabled;
extern _Thread_local bool cg__inference_mode;
extern bool cg__anomaly_enabled;
/* Recording is off in no_grad and in inference mode (which turns grad off). */

/* ------------------------------------------------------------- internals */

cg_dtype cg__promote(cg_dtype a, cg_dtype b);
/* The dtype categories of type promotion: bool 0 < integer 1 < floating 2. */
static inline int cg__category(cg_dtype d) { return d == CG_BOOL ? 0 : d == CG_INT64 ? 1 : 2; }
/* torch.result_type of n tensors (NULLs skipped): 0-d tensors decide only
 * when of a higher category than the others. */
cg_dtype cg__result_type(int n, cg_tensor *const *t);
/* "Float", "Double", "Long", "Bool": the names in PyTorch's messages */
const char *cg__scalar_type_name(cg_dtype d);
/* squeeze of the size-1 dims in mask, recorded as SqueezeBackward3 */
cg_tensor *cg__squeeze_dims(cg_tensor *a, unsigned mask);
/* A new tensor of dtype dt shaped as a reduced over the dims in mask. */
cg_tensor *cg__reduced_tensor(const cg_tensor *a, unsigned mask, bool keepdim, cg_dtype dt);
/* A dim list as a bit mask (ndims 0: every dim), with PyTorch's errors. */
int cg__dim_mask(const char *fn, const cg_tensor *a, int ndims, const int *dims, unsigned *mask);
/* Gradient of shape g reduced to `shape` (sum over broadcast dims). */
cg_tensor *cg__sum_to(cg_tensor *g, int ndim, const int64_t *shape);
/* Copies src into dst elementwise (same numel, any layout, casting dtype). */
void cg__copy_into(cg_tensor *dst, const cg_tensor *src);
/* t in dtype d without recording a graph: t itself (borrowed) when it already
 * is, else a new contiguous copy owned by the scope. */
cg_tensor *cg__convert(cg_tensor *t, cg_dtype d);
/* dst += src in place (same shape), no graph; bumps dst's version. */
int cg__add_into(cg_tensor *dst, cg_tensor *src);
/* out op= y, or op= s when y is NULL (op one of + - * /), in place without
 * a graph, with PyTorch's casting and broadcasting rules; bumps the version. */
int cg__binary_into(const char *fn, char op, cg_tensor *out, cg_tensor *y, double s);
/* The global generator's next 64 bits; call it between cg__rng_lock and
 * cg__rng_unlock (one lock for all of an op's draws). */
uint64_t cg__rng_next(void);
/* Is OpenBLAS in use? A build that loads it at the first GEMM (CG_BLAS_DLOPEN)
 * loads it now, if the address space limit leaves it room (src/core/blas.c). */
bool cg__blas_loaded(void);
void cg__rng_lock(void);
void cg__rng_unlock(void);
/* Walks every index of a shape in row-major order: idx is updated in place;
 * returns false after the last index. */
static inline bool cg__next_index(int ndim, const int64_t *shape, int64_t *idx) {
    for (int d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) return true;
        idx[d] = 0;
    }
    return false;
}

#define CG_UNUSED(x) (void)(x)

/* ------------------------------------------------------------------ UTF-8 */

/* Decodes the code point at s[i] (i < n) into *cp; returns its length in
 * bytes, or 0 for invalid UTF-8 (overlong, surrogate, > U+10FFFF, a stray
 * continuation byte, a truncated sequence). */
size_t cg__utf8_next(const unsigned char *s, size_t n, size_t i, uint32_t *cp);
/* Length of the valid UTF-8 prefix of s[0, n). */
size_t cg__utf8_valid_prefix(const unsigned char *s, size_t n);
/* cp as UTF-8 into out (room for 4 bytes); the byte count. */
size_t cg__utf8_put(uint32_t cp, char *out);

/* exp for float32 kernels: 2^k exp(r), k = round(x / ln 2), |r| <= ln 2 / 2,
 * exp(r) by its Taylor series to r^7/7! — within 1.2e-7 relative of expf
 * (an ulp), without a call, so that the loops around it vectorise */
static inline float cg__expf(float x) {
    if (!(x <= 88.0f)) return x != x ? x : INFINITY;
    if (x < -103.0f) return 0.0f;
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = x - k * 0.693145751953125f - k * 1.428606765330187e-06f;
    float p = 1.0f +
              r * (1.0f +
                   r * (0.5f + r * (1.0f / 6 +
                                    r * (1.0f / 24 + r * (1.0f / 120 +
                                                          r * (1.0f / 720 + r * (1.0f / 5040)))))));
    int32_t ki = (int32_t)k;
    if (ki < -126) { /* a subnormal result: scale in two steps */
        p *= 0x1p-64f;
        ki += 64;
    }
    union {
        uint32_t u;
        float f;
    } s = {.u = (uint32_t)(ki + 127) << 23};
    return p * s.f;
}

#endif
