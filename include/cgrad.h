/*
 * cgrad — PyTorch's autograd for C.
 *
 * TUTORIAL
 * ========
 * A cgrad tensor is an n-dimensional array (up to 8 dims) of float32, float64,
 * int64 or bool. Every operation on tensors that require gradients records a
 * backward node; cg_backward() walks that graph and accumulates gradients into
 * the leaves' .grad, exactly as torch.Tensor.backward() does.
 *
 *     #include <cgrad.h>
 *
 *     int main(void) {
 *         cg_tensor *x   = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
 *         cg_tensor *y   = cg_add_scalar(x, 2);               // y = x + 2
 *         cg_tensor *z   = cg_mul_scalar(cg_mul(y, y), 3);    // z = y * y * 3
 *         cg_tensor *out = cg_mean(z);                        // out = z.mean()
 *         cg_print(out);            // tensor(27., grad_fn=<MeanBackward0>)
 *         cg_backward(out, NULL, false);
 *         cg_print(cg_grad(x));     // tensor([[4.5000, 4.5000], [4.5000, 4.5000]])
 *         return 0;
 *     }
 *
 * Ownership (see docs/ownership.md). Every function that returns a new tensor
 * hands it to the current *scope*, which owns one reference. A root scope
 * always exists, so a plain main() needs no scope calls; everything in it is
 * freed at exit. In loops, bracket each iteration:
 *
 *     for (int step = 0; step < n; step++) {
 *         cg_scope_begin();
 *         cg_tensor *loss = model_loss(params, batch);   // temporaries ...
 *         cg_backward(loss, NULL, false);
 *         cg_scope_end();                                // ... all freed here
 *     }
 *
 * cg_keep(t) moves t out of the current scope into the enclosing one;
 * cg_retain(t) / cg_release(t) add and drop references of your own.
 *
 * Errors. A failing function returns NULL (or -1) and records a message that
 * cg_last_error() returns; the texts are PyTorch's where PyTorch has one. A
 * function given a NULL tensor returns NULL without touching the message, so
 * a whole expression can be checked once at its end:
 *
 *     cg_tensor *r = cg_mean(cg_matmul(a, b));
 *     if (!r) fprintf(stderr, "%s\n", cg_last_error());
 *
 * Set CGRAD_ABORT_ON_ERROR=1 (or call cg_set_abort_on_error(true)) to print
 * the message and the failing function, then abort — handy under a debugger.
 *
 * Grad mode is thread-local, as in PyTorch:
 *
 *     CG_NO_GRAD { w2 = cg_sub(w, cg_mul_scalar(cg_grad(w), lr)); }
 *
 * Threads: grad mode and scopes are per thread; a tensor must not be used by
 * two threads at once.
 */
#ifndef CGRAD_H
#define CGRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CG_VERSION_MAJOR 0
#define CG_VERSION_MINOR 1
#define CG_VERSION_PATCH 0
#define CG_MAX_DIMS 8

/* Layout: the types; the ops by family, as the .def files in src/ops (binary,
 * pointwise, reductions, matmul, views, copies, shape, indexing, nn functions,
 * losses, in-place); then the rest (tensors, creation, autograd, hooks, custom
 * functions, grad mode, errors, printing, scopes, nn modules, optimizers,
 * safetensors, text data).
 *
 * Public structs: a struct's fields are in this header when the user fills
 * them in (cg_function, cg_gpt_config) or embeds the struct and composes its
 * parameter tensors into a model of their own (the layers, cg_linear_layer ...
 * cg_transformer_block). Anything that owns memory or keeps invariants
 * (tensor, node, parameter registry, GPT, optimizer, tokenizer, dataset,
 * state dict) is opaque, made, read and freed through functions. */

/* ------------------------------------------------------------------ types */

typedef enum cg_dtype {
    CG_FLOAT32 = 0, /* the default, like torch.get_default_dtype() */
    CG_FLOAT64 = 1,
    CG_INT64 = 2,
    CG_BOOL = 3,
} cg_dtype;
#define CG_NUM_DTYPES 4

typedef struct cg_tensor cg_tensor; /* opaque, reference-counted */
typedef struct cg_node cg_node;     /* a backward node (grad_fn) */

/* Creation options: a dtype, optionally or'ed with CG_REQUIRES_GRAD.
 * 0 means float32 without grad. Example: CG_FLOAT64 | CG_REQUIRES_GRAD. */
#define CG_REQUIRES_GRAD 0x100
#define CG_DTYPE_MASK 0xff

/* Shape literal: cg_zeros(CG_SHAPE(2, 3), 0) passes ndim and a shape array. */
#define CG_SHAPE(...)                                                                              \
    (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]) {           \
        __VA_ARGS__                                                                                \
    }
/* Scalar (0-d) shape for functions taking (ndim, shape). */
#define CG_SCALAR_SHAPE 0, NULL

const char *cg_dtype_name(cg_dtype dtype); /* "torch.float32", ... */
size_t cg_dtype_size(cg_dtype dtype);      /* bytes per element */
bool cg_dtype_is_floating(cg_dtype dtype);

/* =================================================================== ops */
/* Unless noted, an op returns a new tensor (owned by the current scope), or
 * NULL on error, and records a backward node when grad mode is on and an input
 * requires grad. Dims and positions may be negative (counted from the end), as
 * in PyTorch. Index tensors are int64; masks are bool. */

/* ---------------------------------------------------------------- binary */
/* Broadcasting and type promotion as PyTorch. A C double scalar counts as a
 * Python int when it has no fractional part (int64 tensor + 2 stays int64)
 * and as a Python float otherwise (int64 tensor + 2.5 is float32). */

cg_tensor *cg_add(cg_tensor *a, cg_tensor *b); /* a + b (torch.add) */
cg_tensor *cg_sub(cg_tensor *a, cg_tensor *b); /* a - b (torch.sub) */
cg_tensor *cg_mul(cg_tensor *a, cg_tensor *b); /* a * b (torch.mul) */
cg_tensor *cg_div(cg_tensor *a, cg_tensor *b); /* a / b, true division (torch.div) */
cg_tensor *cg_pow(cg_tensor *a, cg_tensor *b); /* a ** b (torch.pow) */
/* torch.where(cond, x, y): x where cond (a bool tensor) is true, else y. */
cg_tensor *cg_where(cg_tensor *cond, cg_tensor *x, cg_tensor *y);
cg_tensor *cg_add_scalar(cg_tensor *a, double s);  /* a + s */
cg_tensor *cg_sub_scalar(cg_tensor *a, double s);  /* a - s */
cg_tensor *cg_rsub_scalar(cg_tensor *a, double s); /* s - a (torch.rsub) */
cg_tensor *cg_mul_scalar(cg_tensor *a, double s);  /* a * s */
cg_tensor *cg_div_scalar(cg_tensor *a, double s);  /* a / s */
cg_tensor *cg_rdiv_scalar(cg_tensor *a, double s); /* s / a */
cg_tensor *cg_pow_scalar(cg_tensor *a, double e);  /* a ** e */
cg_tensor *cg_rpow_scalar(cg_tensor *a, double s); /* s ** a */

/* Comparisons: bool results, no gradient. */
cg_tensor *cg_eq(cg_tensor *a, cg_tensor *b);    /* a == b (torch.eq) */
cg_tensor *cg_ne(cg_tensor *a, cg_tensor *b);    /* a != b (torch.ne) */
cg_tensor *cg_lt(cg_tensor *a, cg_tensor *b);    /* a < b (torch.lt) */
cg_tensor *cg_le(cg_tensor *a, cg_tensor *b);    /* a <= b (torch.le) */
cg_tensor *cg_gt(cg_tensor *a, cg_tensor *b);    /* a > b (torch.gt) */
cg_tensor *cg_ge(cg_tensor *a, cg_tensor *b);    /* a >= b (torch.ge) */
cg_tensor *cg_eq_scalar(cg_tensor *a, double s); /* a == s */
cg_tensor *cg_ne_scalar(cg_tensor *a, double s); /* a != s */
cg_tensor *cg_lt_scalar(cg_tensor *a, double s); /* a < s */
cg_tensor *cg_le_scalar(cg_tensor *a, double s); /* a <= s */
cg_tensor *cg_gt_scalar(cg_tensor *a, double s); /* a > s */
cg_tensor *cg_ge_scalar(cg_tensor *a, double s); /* a >= s */
/* torch.equal: same shape and same values. false (no error) otherwise. */
bool cg_equal(const cg_tensor *a, const cg_tensor *b);

/* ------------------------------------------------------------- pointwise */
/* int64/bool inputs: sin, cos, log1p, expm1, rsqrt, erf and atan compute in float32;
 * floor/ceil/round keep int64 (and refuse bool); gelu, silu, leaky_relu and
 * softplus refuse both. */

cg_tensor *cg_neg(cg_tensor *a);        /* -a (torch.neg) */
cg_tensor *cg_exp(cg_tensor *a);        /* e^a (torch.exp) */
cg_tensor *cg_log(cg_tensor *a);        /* natural log (torch.log) */
cg_tensor *cg_sqrt(cg_tensor *a);       /* square root (torch.sqrt) */
cg_tensor *cg_abs(cg_tensor *a);        /* |a| (torch.abs) */
cg_tensor *cg_sign(cg_tensor *a);       /* -1, 0 or 1 (torch.sign) */
cg_tensor *cg_reciprocal(cg_tensor *a); /* 1 / a (torch.reciprocal) */
cg_tensor *cg_tanh(cg_tensor *a);       /* torch.tanh */
cg_tensor *cg_sigmoid(cg_tensor *a);    /* 1 / (1 + exp(-a)) (torch.sigmoid) */
cg_tensor *cg_relu(cg_tensor *a);       /* max(a, 0), NaN kept (torch.relu) */
cg_tensor *cg_sin(cg_tensor *a);        /* torch.sin */
cg_tensor *cg_cos(cg_tensor *a);        /* torch.cos */
cg_tensor *cg_log1p(cg_tensor *a);      /* log(1 + a) */
cg_tensor *cg_expm1(cg_tensor *a);      /* exp(a) - 1 */
cg_tensor *cg_rsqrt(cg_tensor *a);      /* 1 / sqrt(a) */
cg_tensor *cg_erf(cg_tensor *a);        /* the error function */
cg_tensor *cg_atan(cg_tensor *a);       /* the arctangent (torch.atan) */
/* torch.clamp(a, min, max); min = -INFINITY / max = INFINITY mean no bound
 * (None); at least one bound is needed. */
cg_tensor *cg_clamp(cg_tensor *a, double min, double max);
/* torch.clamp(a, min, max) with tensor bounds (NULL: none; broadcast); the
 * bounds get gradients too. */
cg_tensor *cg_clamp_tensor(cg_tensor *a, cg_tensor *min, cg_tensor *max);
/* F.gelu(a, approximate='tanh' if tanh_approximation else 'none') */
cg_tensor *cg_gelu(cg_tensor *a, bool tanh_approximation);
cg_tensor *cg_silu(cg_tensor *a); /* a * sigmoid(a) (F.silu) */
/* a where a > 0, else negative_slope * a (F.leaky_relu) */
cg_tensor *cg_leaky_relu(cg_tensor *a, double negative_slope);
/* F.softplus(a, beta, threshold): log(1 + exp(beta a)) / beta, a where
 * beta a > threshold */
cg_tensor *cg_softplus(cg_tensor *a, double beta, double threshold);
cg_tensor *cg_floor(cg_tensor *a); /* torch.floor */
cg_tensor *cg_ceil(cg_tensor *a);  /* torch.ceil */
cg_tensor *cg_round(cg_tensor *a); /* half to even, as torch.round */
/* more elementwise math (int64 and bool inputs of the one-input ones compute
 * in float32; the two-input ones broadcast and promote) */
cg_tensor *cg_tan(cg_tensor *a);                     /* torch.tan */
cg_tensor *cg_log2(cg_tensor *a);                    /* torch.log2 */
cg_tensor *cg_log10(cg_tensor *a);                   /* torch.log10 */
cg_tensor *cg_exp2(cg_tensor *a);                    /* 2^a (torch.exp2) */
cg_tensor *cg_maximum(cg_tensor *a, cg_tensor *b);   /* elementwise max, NaN kept (torch.maximum) */
cg_tensor *cg_minimum(cg_tensor *a, cg_tensor *b);   /* elementwise min (torch.minimum) */
cg_tensor *cg_atan2(cg_tensor *a, cg_tensor *b);     /* atan(a / b) by quadrant (torch.atan2) */
cg_tensor *cg_fmod(cg_tensor *a, cg_tensor *b);      /* a - trunc(a / b) b (torch.fmod) */
cg_tensor *cg_remainder(cg_tensor *a, cg_tensor *b); /* a - floor(a / b) b (torch.remainder) */
cg_tensor *cg_fmod_scalar(cg_tensor *a, double s);   /* torch.fmod(a, s) */
cg_tensor *cg_remainder_scalar(cg_tensor *a, double s); /* torch.remainder(a, s) */
/* start + weight (end - start), one floating dtype for all (torch.lerp) */
cg_tensor *cg_lerp(cg_tensor *start, cg_tensor *end, double weight);
cg_tensor *cg_lerp_tensor(cg_tensor *start, cg_tensor *end, cg_tensor *weight);
/* a + value * t1 * t2 (torch.addcmul), a + value * t1 / t2 (torch.addcdiv) */
cg_tensor *cg_addcmul(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value);
cg_tensor *cg_addcdiv(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value);
/* activations (F.hardtanh(a, min, max), F.elu(a, alpha), F.logsigmoid,
 * F.mish, F.hardswish); all but hardtanh floating only */
cg_tensor *cg_hardtanh(cg_tensor *a, double min_val, double max_val);
cg_tensor *cg_elu(cg_tensor *a, double alpha);
cg_tensor *cg_logsigmoid(cg_tensor *a);
cg_tensor *cg_mish(cg_tensor *a);
cg_tensor *cg_hardswish(cg_tensor *a);

/* ------------------------------------------------------------ reductions */
/* Over all elements: a 0-d result. */
cg_tensor *cg_sum(cg_tensor *a);  /* sum of all elements (torch.sum(a)) */
cg_tensor *cg_mean(cg_tensor *a); /* mean of all elements (torch.mean(a)) */
cg_tensor *cg_max(cg_tensor *a);  /* largest element (torch.max(a)) */
cg_tensor *cg_min(cg_tensor *a);  /* smallest element (torch.min(a)) */
cg_tensor *cg_all(cg_tensor *a);  /* 0-d bool: every element nonzero (torch.all) */
cg_tensor *cg_any(cg_tensor *a);  /* 0-d bool: some element nonzero (torch.any) */
cg_tensor *cg_prod(cg_tensor *a); /* product of all elements (int64 for int64/bool input) */

/* Over dims. A dim list (ndims, dims) with ndims 0 means every dim (PyTorch's
 * dim=None), e.g. cg_var(x, CG_DIMS(0, -1), 1, true). */
/* Dim list literal: cg_sum_dims(x, CG_DIMS(0, -1), true). */
#define CG_DIMS(...)                                                                               \
    (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)), (const int[]) { __VA_ARGS__ }
/* a.sum(dims, keepdim) */
cg_tensor *cg_sum_dims(cg_tensor *a, int ndims, const int *dims, bool keepdim);
/* a.mean(dims, keepdim) */
cg_tensor *cg_mean_dims(cg_tensor *a, int ndims, const int *dims, bool keepdim);
/* torch.max(a, dim, keepdim): the values; *indices (if not NULL) gets their
 * int64 positions along dim: the first on ties, the first NaN if any. */
cg_tensor *cg_max_dim(cg_tensor *a, int dim, bool keepdim, cg_tensor **indices);
/* torch.min(a, dim, keepdim), as cg_max_dim */
cg_tensor *cg_min_dim(cg_tensor *a, int dim, bool keepdim, cg_tensor **indices);
cg_tensor *cg_argmax(cg_tensor *a, int dim, bool keepdim); /* torch.argmax: int64 positions */
cg_tensor *cg_argmin(cg_tensor *a, int dim, bool keepdim); /* torch.argmin(a, dim, keepdim) */
/* torch.argmax(a) (dim=None): the index into the flattened tensor (0-d, or
 * every dim of size 1 with keepdim). */
cg_tensor *cg_argmax_all(cg_tensor *a, bool keepdim);
cg_tensor *cg_argmin_all(cg_tensor *a, bool keepdim); /* torch.argmin(a) */
/* torch.var(a, dims, correction=c, keepdim=k): sum((x - mean)^2) / (N - c);
 * c = 1 is the unbiased estimate, 0 the population variance. */
cg_tensor *cg_var(cg_tensor *a, int ndims, const int *dims, int correction, bool keepdim);
/* torch.std(a, dims, correction=c, keepdim=k): sqrt(var) */
cg_tensor *cg_std(cg_tensor *a, int ndims, const int *dims, int correction, bool keepdim);
/* torch.logsumexp(a, dims, keepdim): log(sum(exp(a))), computed stably. */
cg_tensor *cg_logsumexp(cg_tensor *a, int ndims, const int *dims, bool keepdim);
cg_tensor *cg_prod_dim(cg_tensor *a, int dim, bool keepdim); /* torch.prod(a, dim, keepdim) */
/* torch.linalg.vector_norm(a, p, dims, keepdim): (sum |x|^p)^(1/p); p may be
 * INFINITY (max |x|), -INFINITY (min |x|) or 0 (count of nonzeros). */
cg_tensor *cg_norm(cg_tensor *a, double p, int ndims, const int *dims, bool keepdim);
/* torch.amax / torch.amin(a, dims, keepdim): the extreme over the dims (none:
 * all), NaN kept; the gradient splits evenly among ties */
cg_tensor *cg_amax(cg_tensor *a, int ndims, const int *dims, bool keepdim);
cg_tensor *cg_amin(cg_tensor *a, int ndims, const int *dims, bool keepdim);
/* torch.cumsum / torch.cumprod(a, dim): int64 for int64 and bool input */
cg_tensor *cg_cumsum(cg_tensor *a, int dim);
cg_tensor *cg_cumprod(cg_tensor *a, int dim);
/* torch.sort(a, dim, descending): the values; *indices (int64) when not NULL.
 * NaN sorts as the largest value; ties keep their order. */
cg_tensor *cg_sort(cg_tensor *a, int dim, bool descending, cg_tensor **indices);
cg_tensor *cg_argsort(cg_tensor *a, int dim, bool descending); /* torch.argsort */
/* torch.topk(a, k, dim, largest, sorted): flags 0 = the largest, sorted */
typedef enum { CG_TOPK_SMALLEST = 1, CG_TOPK_UNSORTED = 2 } cg_topk_flags;
cg_tensor *cg_topk(cg_tensor *a, int64_t k, int dim, cg_topk_flags flags, cg_tensor **indices);

/* ---------------------------------------------------------------- matmul */

cg_tensor *cg_matmul(cg_tensor *a, cg_tensor *b); /* a @ b, any ranks (torch.matmul) */
cg_tensor *cg_mm(cg_tensor *a, cg_tensor *b);     /* (n,k) @ (k,m) (torch.mm) */
cg_tensor *cg_bmm(cg_tensor *a, cg_tensor *b);    /* (B,n,k) @ (B,k,m) (torch.bmm) */
cg_tensor *cg_mv(cg_tensor *a, cg_tensor *v);     /* (n,k) @ (k) (torch.mv) */
cg_tensor *cg_dot(cg_tensor *a, cg_tensor *b);    /* (k) . (k) (torch.dot) */
cg_tensor *cg_outer(cg_tensor *a, cg_tensor *b);  /* (n) x (m) -> (n, m) (torch.outer) */
/* beta input + alpha (batch1 @ batch2), input broadcast (torch.baddbmm) */
cg_tensor *cg_baddbmm(cg_tensor *input, cg_tensor *batch1, cg_tensor *batch2, double beta,
                      double alpha);
/* torch.einsum(equation, operands...): labels a-zA-Z, "..." and "->";
 * composed of permute, reshape, sums and bmm, so every order differentiates */
cg_tensor *cg_einsum(const char *equation, int n, cg_tensor *const *operands);

/* ----------------------------------------------------------------- views */
/* The result shares a's storage (cg_reshape copies when it must). */

cg_tensor *cg_view(cg_tensor *a, int ndim, const int64_t *shape);    /* a.view; one -1 allowed */
cg_tensor *cg_reshape(cg_tensor *a, int ndim, const int64_t *shape); /* a.reshape */
cg_tensor *cg_transpose(cg_tensor *a, int dim0, int dim1);           /* dims swapped */
cg_tensor *cg_t(cg_tensor *a); /* Tensor.t(): transposes a 2-D tensor; 0-D/1-D as is */
cg_tensor *cg_permute(cg_tensor *a, int ndims, const int *dims);    /* a.permute(dims) */
cg_tensor *cg_unsqueeze(cg_tensor *a, int dim);                     /* size-1 dim inserted */
cg_tensor *cg_squeeze(cg_tensor *a);                                /* all size-1 dims removed */
cg_tensor *cg_squeeze_dim(cg_tensor *a, int dim);                   /* a.squeeze(dim) */
cg_tensor *cg_expand(cg_tensor *a, int ndim, const int64_t *shape); /* a.expand; -1 keeps */

/* ---------------------------------------------------------------- copies */

cg_tensor *cg_contiguous(cg_tensor *t);         /* t.contiguous(): t itself (new ref) if already */
cg_tensor *cg_clone(cg_tensor *t);              /* t.clone(): a copy in new storage */
cg_tensor *cg_to(cg_tensor *t, cg_dtype dtype); /* t.to(dtype): t itself if same dtype */

/* ------------------------------------------------ shape: slicing, joining */

/* a.narrow(dim, start, length): a view of length elements from start. */
cg_tensor *cg_narrow(cg_tensor *a, int dim, int64_t start, int64_t length);
/* a[..., start:end:step] along dim, a view; bounds clamp as in Python, step > 0,
 * end = INT64_MAX for "to the end". */
cg_tensor *cg_slice(cg_tensor *a, int dim, int64_t start, int64_t end, int64_t step);
/* a.select(dim, index): the view at index along dim, without that dim. */
cg_tensor *cg_select(cg_tensor *a, int dim, int64_t index);
/* a.split(split_size, dim): views of split_size along dim (the last may be
 * smaller), recorded as one node. *n_out: on entry the room in out, on
 * return the number of pieces (ceil(size / split_size), at least 1); with
 * out NULL only the count is returned. 0, or -1 (also when out is too small). */
int cg_split(cg_tensor *a, int64_t split_size, int dim, int *n_out, cg_tensor **out);
/* a.split([sizes...], dim): n views (out has room for n); sizes sum to the dim's size. */
int cg_split_with_sizes(cg_tensor *a, int n, const int64_t *sizes, int dim, cg_tensor **out);
/* a.chunk(chunks, dim): at most `chunks` views, as cg_split (out room: chunks). */
int cg_chunk(cg_tensor *a, int chunks, int dim, int *n_out, cg_tensor **out);
/* torch.cat(ts[0..n), dim): dtypes promoted; 1-D empty tensors are skipped. */
cg_tensor *cg_cat(int n, cg_tensor *const *ts, int dim);
/* torch.stack(ts[0..n), dim): equal shapes joined along a new dim. */
cg_tensor *cg_stack(int n, cg_tensor *const *ts, int dim);
/* a.flatten(start_dim, end_dim): those dims merged (a reshape); cg_flatten(a, 0, -1) for all. */
cg_tensor *cg_flatten(cg_tensor *a, int start_dim, int end_dim);
/* a.repeat(repeats...): ndims >= a's dims; a is tiled repeats[i] times along dim i. */
cg_tensor *cg_repeat(cg_tensor *a, int ndims, const int64_t *repeats);
/* torch.flip(a, dims) (a copy), torch.roll(a, shifts, dims) (ndims 0: over
 * the flattened tensor, one shift) */
cg_tensor *cg_flip(cg_tensor *a, int ndims, const int *dims);
cg_tensor *cg_roll(cg_tensor *a, int nshifts, const int64_t *shifts, int ndims, const int *dims);
/* torch.unbind(a, dim): a->shape[dim] views in out, their count in *n_out
 * (out NULL: only counts; on entry *n_out is out's room) */
int cg_unbind(cg_tensor *a, int dim, int *n_out, cg_tensor **out);
/* torch.movedim(a, source, destination) for n dims: a permute */
cg_tensor *cg_movedim(cg_tensor *a, int n, const int *source, const int *destination);

/* -------------------------------------------------------------- indexing */

/* a.index_select(dim, index): the slices named by a 0-d or 1-D index. */
cg_tensor *cg_index_select(cg_tensor *a, int dim, cg_tensor *index);
/* a.gather(dim, index): out[i][j] = a[index[i][j]][j] for dim 0; index's shape. */
cg_tensor *cg_gather(cg_tensor *a, int dim, cg_tensor *index);
/* a.scatter_add(dim, index, src): a copy of a with out[index[i][j]][j] += src[i][j]. */
cg_tensor *cg_scatter_add(cg_tensor *a, int dim, cg_tensor *index, cg_tensor *src);
/* a.masked_fill(mask, value): value where the bool mask (broadcast with a) is true. */
cg_tensor *cg_masked_fill(cg_tensor *a, cg_tensor *mask, double value);
/* a.triu(diagonal) / a.tril(diagonal): the upper / lower triangle of the last two dims. */
cg_tensor *cg_triu(cg_tensor *a, int64_t diagonal);
cg_tensor *cg_tril(cg_tensor *a, int64_t diagonal);
/* a.index_add(dim, index, src, alpha=alpha): src's slices added at index */
cg_tensor *cg_index_add(cg_tensor *a, int dim, cg_tensor *index, cg_tensor *src, double alpha);
/* a.scatter(dim, index, src) / a.scatter(dim, index, value) (no reduce) */
cg_tensor *cg_scatter(cg_tensor *a, int dim, cg_tensor *index, cg_tensor *src);
cg_tensor *cg_scatter_value(cg_tensor *a, int dim, cg_tensor *index, double value);
/* a[indices]: n int64 or bool index tensors for a's leading dims (torch's
 * a[i, j] advanced indexing; the int64 ones broadcast together) */
cg_tensor *cg_index(cg_tensor *a, int n, cg_tensor *const *indices);
/* a.index_put(indices, values, accumulate): a copy of a with a[indices] =
 * values (+= with CG_INDEX_PUT_ACCUMULATE; 0: plain) */
typedef enum { CG_INDEX_PUT_ACCUMULATE = 1 } cg_index_put_flags;
cg_tensor *cg_index_put(cg_tensor *a, int n, cg_tensor *const *indices, cg_tensor *values,
                        cg_index_put_flags flags);
/* a.masked_select(mask): 1-D, the elements where the (broadcast) mask is set */
cg_tensor *cg_masked_select(cg_tensor *a, cg_tensor *mask);

/* --------------------------------------------------------- nn functions */

/* torch.softmax(a, dim): exp(a) / exp(a).sum(dim), computed stably. */
cg_tensor *cg_softmax(cg_tensor *a, int dim);
/* torch.log_softmax(a, dim): a - logsumexp(a, dim), computed stably. */
cg_tensor *cg_log_softmax(cg_tensor *a, int dim);
/* F.dropout: global-generator mask, kept values * 1/(1-p); a itself if !training or p == 0. */
cg_tensor *cg_dropout(cg_tensor *a, double p, bool training);
/* F.embedding: rows of weight (V, D) picked by int64 indices of any shape. */
cg_tensor *cg_embedding(cg_tensor *weight, cg_tensor *indices);
/* F.layer_norm over the last n_normalized dims; weight, bias may be NULL (PyTorch's eps: 1e-5). */
cg_tensor *cg_layer_norm(cg_tensor *a, int n_normalized, const int64_t *normalized_shape,
                         cg_tensor *weight, cg_tensor *bias, double eps);
/* torch.addmm(input, mat1, mat2): input (broadcast) + mat1 @ mat2. */
cg_tensor *cg_addmm(cg_tensor *input, cg_tensor *mat1, cg_tensor *mat2);
/* F.linear: x @ w^T + b; w (out, in), b (out) or NULL. */
cg_tensor *cg_linear(cg_tensor *x, cg_tensor *w, cg_tensor *b);
/* F.scaled_dot_product_attention: softmax(q k^T / sqrt(E) + mask) v, torch 2.x's math;
 * attn_mask NULL, bool (true: attend) or float. Without a mask a 4-D (B, H, L, E)
 * result is stored as (B, L, H, E), as torch's CPU flash kernel stores it: its
 * transpose(1, 2) is contiguous, the result itself is not. */
cg_tensor *cg_scaled_dot_product_attention(cg_tensor *q, cg_tensor *k, cg_tensor *v,
                                           cg_tensor *attn_mask, bool is_causal);

/* ---------------------------------------------------------------- losses */
/* torch.nn.functional's losses, with PyTorch 1.13's semantics, errors and
 * autograd graphs. weight / pos_weight: NULL for None; they cannot require
 * grad (PyTorch's error) while grad mode is on. PyTorch's default
 * ignore_index is -100; a mean over no counted element is NaN. */
typedef enum cg_reduction {
    CG_REDUCTION_NONE = 0, /* reduction='none' (PyTorch's enum values) */
    CG_REDUCTION_MEAN = 1, /* 'mean', the default */
    CG_REDUCTION_SUM = 2,  /* 'sum' */
} cg_reduction;
/* F.nll_loss: log_probs (N, C), (N, C, d1, ...) or (C); target int64 class
 * indices (N), (N, d1, ...) or 0-d; weight (C) or NULL. */
cg_tensor *cg_nll_loss(cg_tensor *log_probs, cg_tensor *target, cg_tensor *weight,
                       int64_t ignore_index, cg_reduction reduction);
/* F.cross_entropy: nll_loss(log_softmax(logits, class dim)); int64 class
 * indices, or class probabilities (a floating target shaped like logits). */
cg_tensor *cg_cross_entropy(cg_tensor *logits, cg_tensor *target, cg_tensor *weight,
                            int64_t ignore_index, cg_reduction reduction, double label_smoothing);
/* F.cross_entropy(F.linear(input, weight, bias), target, ...) without the
 * (N, V) logits: input (N, C), weight (V, C), bias (V) or NULL, target (N)
 * int64; reduction mean or sum ('none' is an error). It runs over chunks of
 * rows; with grad mode on and an input that requires grad, the forward
 * computes the gradients too (the backward only scales them), so a forward
 * that is never differentiated costs the backward's products as well. Its
 * node, LinearCrossEntropyBackward0, has no PyTorch counterpart. */
cg_tensor *cg_linear_cross_entropy(cg_tensor *input, cg_tensor *weight, cg_tensor *bias,
                                   cg_tensor *target, int64_t ignore_index, cg_reduction reduction);
/* F.mse_loss: (a - b)^2, a and b broadcast together (without PyTorch's warning). */
cg_tensor *cg_mse_loss(cg_tensor *a, cg_tensor *b, cg_reduction reduction);
/* F.binary_cross_entropy_with_logits, computed stably; target shaped like
 * logits (the loss takes its dtype, as in PyTorch), weight and pos_weight
 * broadcast to it. */
cg_tensor *cg_binary_cross_entropy_with_logits(cg_tensor *logits, cg_tensor *target,
                                               cg_tensor *weight, cg_tensor *pos_weight,
                                               cg_reduction reduction);

/* -------------------------------------------------------------- in-place */
/* a.add_(b) and friends: write into a and return a (no new reference).
 * PyTorch's rules: refused on a leaf that requires grad (or a view of one)
 * while grad mode is on — fine under CG_NO_GRAD, as optimizers do —; the
 * result must keep a's shape and dtype category; the storage's version is
 * bumped, so a tensor saved for backward and then overwritten is caught.
 * Through a view, the base's history records the write (CopySlices). */
cg_tensor *cg_add_(cg_tensor *a, cg_tensor *b);      /* a += b (a.add_(b)) */
cg_tensor *cg_sub_(cg_tensor *a, cg_tensor *b);      /* a -= b (a.sub_(b)) */
cg_tensor *cg_mul_(cg_tensor *a, cg_tensor *b);      /* a *= b (a.mul_(b)) */
cg_tensor *cg_div_(cg_tensor *a, cg_tensor *b);      /* a /= b (a.div_(b)) */
cg_tensor *cg_add_scalar_(cg_tensor *a, double s);   /* a += s */
cg_tensor *cg_sub_scalar_(cg_tensor *a, double s);   /* a -= s */
cg_tensor *cg_mul_scalar_(cg_tensor *a, double s);   /* a *= s */
cg_tensor *cg_div_scalar_(cg_tensor *a, double s);   /* a /= s */
cg_tensor *cg_zero_(cg_tensor *a);                   /* a = 0 (a.zero_()) */
cg_tensor *cg_fill_(cg_tensor *a, double value);     /* a = value (a.fill_(value)) */
cg_tensor *cg_copy_(cg_tensor *dst, cg_tensor *src); /* dst = src, broadcast and cast (copy_) */
cg_tensor *cg_relu_(cg_tensor *a);                   /* a = relu(a) (a.relu_()) */
cg_tensor *cg_sigmoid_(cg_tensor *a);                /* a = sigmoid(a) (a.sigmoid_()) */
cg_tensor *cg_tanh_(cg_tensor *a);                   /* a = tanh(a) (a.tanh_()) */
cg_tensor *cg_exp_(cg_tensor *a);                    /* a = exp(a) (a.exp_()) */
cg_tensor *cg_neg_(cg_tensor *a);                    /* a = -a (a.neg_()) */
cg_tensor *cg_clamp_(cg_tensor *a, double min, double max); /* a = clamp(a), as cg_clamp */
/* a = value where mask (a.masked_fill_(mask, value)) */
cg_tensor *cg_masked_fill_(cg_tensor *a, cg_tensor *mask, double value);
/* more in-place forms, each as its out-of-place op (a.pow_(b), a.sqrt_(), ...) */
cg_tensor *cg_pow_(cg_tensor *a, cg_tensor *b);
cg_tensor *cg_pow_scalar_(cg_tensor *a, double e);
cg_tensor *cg_sqrt_(cg_tensor *a);
cg_tensor *cg_abs_(cg_tensor *a);
cg_tensor *cg_tan_(cg_tensor *a);
cg_tensor *cg_log2_(cg_tensor *a);
cg_tensor *cg_log10_(cg_tensor *a);
cg_tensor *cg_exp2_(cg_tensor *a);
cg_tensor *cg_atan2_(cg_tensor *a, cg_tensor *b);
cg_tensor *cg_fmod_(cg_tensor *a, cg_tensor *b);
cg_tensor *cg_fmod_scalar_(cg_tensor *a, double s);
cg_tensor *cg_remainder_(cg_tensor *a, cg_tensor *b);
cg_tensor *cg_remainder_scalar_(cg_tensor *a, double s);
cg_tensor *cg_lerp_(cg_tensor *a, cg_tensor *end, double weight);
cg_tensor *cg_addcmul_(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value);
cg_tensor *cg_addcdiv_(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value);
cg_tensor *cg_hardtanh_(cg_tensor *a, double min_val, double max_val); /* F.hardtanh_ */
cg_tensor *cg_elu_(cg_tensor *a, double alpha); /* F.elu_: EluBackward1 (saves the result) */
cg_tensor *cg_hardswish_(cg_tensor *a);         /* F.hardswish(a, inplace=True) */
cg_tensor *cg_mish_(cg_tensor *a);              /* F.mish(a, inplace=True) */

/* =============================================================== the rest */

/* --------------------------------------------------------------- tensors */

int cg_ndim(const cg_tensor *t);
int64_t cg_size(const cg_tensor *t, int dim); /* negative dims allowed; -1 on error */
const int64_t *cg_shape(const cg_tensor *t);
const int64_t *cg_strides(const cg_tensor *t); /* in elements */
int64_t cg_storage_offset(const cg_tensor *t);
int64_t cg_numel(const cg_tensor *t);
cg_dtype cg_dtype_of(const cg_tensor *t);
bool cg_is_contiguous(const cg_tensor *t);
/* The single element of a one-element tensor (error, NaN returned, otherwise). */
double cg_item(const cg_tensor *t);
/* Element at a full index (ndim entries, negatives count from the end). */
double cg_get(const cg_tensor *t, const int64_t *index);
int cg_set(cg_tensor *t, const int64_t *index, double value); /* 0 or -1 */
/* Pointer to element [0,...,0]; walk it with cg_strides(). */
void *cg_data_ptr(const cg_tensor *t);
/* Version counter of the tensor's storage: bumped by every in-place write. */
uint64_t cg_version(const cg_tensor *t);
bool cg_shares_storage(const cg_tensor *a, const cg_tensor *b);

/* -------------------------------------------------------------- creation */

/* Copies numel elements from data, whose C type matches the dtype
 * (float, double, int64_t, bool). */
cg_tensor *cg_from_data(const void *data, int ndim, const int64_t *shape, int opts);
cg_tensor *cg_scalar(double value, int opts); /* 0-d tensor */
cg_tensor *cg_empty(int ndim, const int64_t *shape, int opts);
cg_tensor *cg_zeros(int ndim, const int64_t *shape, int opts);
cg_tensor *cg_ones(int ndim, const int64_t *shape, int opts);
cg_tensor *cg_full(int ndim, const int64_t *shape, double value, int opts);
cg_tensor *cg_arange(double start, double end, double step, int opts);
cg_tensor *cg_linspace(double start, double end, int64_t steps, int opts);
cg_tensor *cg_rand(int ndim, const int64_t *shape, int opts);  /* U[0,1) */
cg_tensor *cg_randn(int ndim, const int64_t *shape, int opts); /* N(0,1) */
/* *_like: same shape; same dtype as t unless opts names one with
 * CG_LIKE_DTYPE | dtype. */
#define CG_LIKE_DTYPE 0x200
cg_tensor *cg_empty_like(const cg_tensor *t, int opts);
cg_tensor *cg_zeros_like(const cg_tensor *t, int opts);
cg_tensor *cg_ones_like(const cg_tensor *t, int opts);
cg_tensor *cg_full_like(const cg_tensor *t, double value, int opts);
cg_tensor *cg_rand_like(const cg_tensor *t, int opts);
cg_tensor *cg_randn_like(const cg_tensor *t, int opts);

/* Seeds the global generator used by rand/randn (like torch.manual_seed). */
void cg_manual_seed(uint64_t seed);
/* The generator's whole state, to save and restore (exact resumption). */
int cg_get_rng_state(uint64_t state[4]);       /* 0, or -1 (NULL state) */
int cg_set_rng_state(const uint64_t state[4]); /* 0, or -1 (NULL state) */
/* Threads for kernels (OpenMP) and matmul (OpenBLAS); 0 or -1. */
int cg_set_num_threads(int n);
int cg_get_num_threads(void);
/* The kernel level in use, picked once from the CPU: "default", "avx2" or
 * "avx512" (as torch.backends.cpu.get_cpu_capability()); the environment
 * variable CGRAD_CPU_CAPABILITY=default|avx2|avx512 forces one. */
const char *cg_cpu_capability(void);

/* -------------------------------------------------------------- autograd */

bool cg_requires_grad(const cg_tensor *t);
cg_tensor *cg_requires_grad_(cg_tensor *t, bool requires_grad); /* returns t */
bool cg_is_leaf(const cg_tensor *t);
cg_node *cg_grad_fn(const cg_tensor *t); /* NULL (None) on leaves */
cg_tensor *cg_grad(const cg_tensor *t);  /* NULL until a backward reaches t */
int cg_zero_grad(cg_tensor *t);          /* fill .grad with zeros, if any */
void cg_clear_grad(cg_tensor *t);        /* .grad = None */
cg_tensor *cg_detach(cg_tensor *t);      /* shares storage, no grad */
cg_tensor *cg_detach_(cg_tensor *t);     /* in place; returns t */

/* Accumulates d(t)/d(leaves) into the leaves' .grad. grad may be NULL for a
 * one-element t. Frees the graph's saved tensors unless retain_graph. */
int cg_backward(cg_tensor *t, cg_tensor *grad, bool retain_graph);

/* Flags of cg_backward_ex and cg_autograd_grad, or'ed together; 0 is PyTorch's
 * defaults; a flag the function does not take is an error. Unlike PyTorch's
 * retain_graph=None, CG_CREATE_GRAPH does not imply CG_RETAIN_GRAPH: pass both
 * to keep the graph for another backward. */
typedef enum cg_backward_flags {
    CG_RETAIN_GRAPH = 1 << 0, /* retain_graph=True: keep the saved tensors */
    CG_CREATE_GRAPH = 1 << 1, /* create_graph=True: record the backward (higher order) */
    CG_ALLOW_UNUSED = 1 << 2, /* allow_unused=True (cg_autograd_grad only) */
} cg_backward_flags;
/* t.backward(grad, inputs=..., retain_graph, create_graph): gradients
 * accumulate only into the given inputs (leaves or not; NULL/0 means every
 * leaf). With CG_CREATE_GRAPH the backward itself is recorded, for
 * higher-order gradients. flags: CG_RETAIN_GRAPH, CG_CREATE_GRAPH. */
int cg_backward_ex(cg_tensor *t, cg_tensor *grad, int flags, int n_inputs,
                   cg_tensor *const *inputs);
/* torch.autograd.grad: d(sum of outputs . grad_outputs)/d(inputs), written to
 * grads[n_inputs] (scope-owned; NULL for an unused input with CG_ALLOW_UNUSED).
 * grad_outputs may be NULL (one-element outputs). Leaves' .grad untouched.
 * Example: cg_autograd_grad(1, &y, NULL, 1, &x, CG_CREATE_GRAPH, g). */
int cg_autograd_grad(int n_outputs, cg_tensor *const *outputs, cg_tensor *const *grad_outputs,
                     int n_inputs, cg_tensor *const *inputs, int flags, cg_tensor **grads);

/* Backward nodes. */
const char *cg_node_name(const cg_node *n); /* "AddBackward0" */
int cg_node_num_next(const cg_node *n);
/* next_functions[i]: the node (NULL = None) and which of its inputs. */
cg_node *cg_node_next(const cg_node *n, int i, int *input_nr);
/* Sequence number: nodes made later run earlier in backward. */
uint64_t cg_node_seq(const cg_node *n);
/* Writes the backward graph of t as Graphviz DOT (nodes named as PyTorch
 * names them; leaves with their shapes). */
int cg_graph_dot(const cg_tensor *t, FILE *f);

/* Anomaly mode: a backward producing NaN fails, naming the node and the
 * forward function that recorded it. */
void cg_set_detect_anomaly(bool on);
bool cg_is_anomaly_enabled(void);

/* Finite-difference checks, float64 inputs, PyTorch's defaults
 * (eps 1e-6, atol 1e-5, rtol 1e-3). f maps inputs to one output tensor. */
typedef cg_tensor *(*cg_func)(cg_tensor *const *inputs, void *ctx);
bool cg_gradcheck(cg_func f, void *ctx, int n, cg_tensor *const *inputs, double eps, double atol,
                  double rtol);
bool cg_gradgradcheck(cg_func f, void *ctx, int n, cg_tensor *const *inputs, double eps,
                      double atol, double rtol);

/* ----------------------------------------------------------------- hooks */
/* A gradient hook sees the gradient flowing into t during backward and may
 * return a replacement (NULL keeps it). Registering returns a handle (> 0)
 * for cg_remove_hook, or -1. */
typedef cg_tensor *(*cg_grad_hook)(cg_tensor *grad, void *ctx);
int cg_register_hook(cg_tensor *t, cg_grad_hook fn, void *ctx);
/* Runs after a backward accumulated into leaf t's .grad. */
typedef void (*cg_post_accumulate_hook)(cg_tensor *t, void *ctx);
int cg_register_post_accumulate_grad_hook(cg_tensor *t, cg_post_accumulate_hook fn, void *ctx);
int cg_remove_hook(cg_tensor *t, int handle); /* 0, or -1 if unknown */
/* Keep .grad on a non-leaf too (accumulated like a leaf's). */
int cg_retain_grad(cg_tensor *t);
bool cg_retains_grad(const cg_tensor *t);

/* ------------------------------------------------------ custom functions */
/* torch.autograd.Function. forward runs without grad recording and fills
 * outputs[n_out] (new tensors); backward gets the output gradients and fills
 * grad_inputs[n_in] (NULL for none). Both return 0 or -1 (after cg_error for
 * a message). The node prints as `name`, which must stay valid (a string
 * literal). */
typedef struct cg_node cg_ctx;
typedef struct cg_function {
    const char *name; /* e.g. "MyExpBackward" */
    int (*forward)(cg_ctx *ctx, int n_in, cg_tensor *const *inputs, int n_out, cg_tensor **outputs,
                   void *user);
    int (*backward)(cg_ctx *ctx, int n_out, cg_tensor *const *grad_outputs, int n_in,
                    cg_tensor **grad_inputs, void *user);
} cg_function;
int cg_function_apply(const cg_function *fn, void *user, int n_in, cg_tensor *const *inputs,
                      int n_out, cg_tensor **outputs);
int cg_ctx_save_for_backward(cg_ctx *ctx, int n, cg_tensor *const *tensors);
cg_tensor *cg_ctx_saved(cg_ctx *ctx, int i); /* in backward */
int cg_ctx_mark_non_differentiable(cg_ctx *ctx, cg_tensor *output);
bool cg_ctx_needs_input_grad(const cg_ctx *ctx, int i);

/* ------------------------------------------------------------- grad mode */
/* Grad mode (thread-local). set returns the previous state. */
bool cg_is_grad_enabled(void);
bool cg_set_grad_enabled(bool enabled);
#define CG_GRAD_MODE_(on)                                                                          \
    for (int cg__g = cg_set_grad_enabled(on) ? 2 : 1; cg__g;                                       \
         cg__g = (cg_set_grad_enabled(cg__g == 2), 0))
/* CG_NO_GRAD { ... }: like `with torch.no_grad():`. Leave it normally (no
 * goto/return out of the block), or the previous mode is not restored. */
#define CG_NO_GRAD CG_GRAD_MODE_(false)
#define CG_ENABLE_GRAD CG_GRAD_MODE_(true)

/* Inference mode (thread-local): no graph, no version counting; tensors made
 * inside are inference tensors, which cannot be saved for backward later. */
bool cg_is_inference_mode_enabled(void);
bool cg_set_inference_mode(bool on); /* returns the previous state */
bool cg_is_inference(const cg_tensor *t);
#define CG_INFERENCE_MODE                                                                          \
    for (int cg__i = cg_set_inference_mode(true) ? 2 : 1; cg__i;                                   \
         cg__i = (cg_set_inference_mode(cg__i == 2), 0))

/* ---------------------------------------------------------------- errors */

const char *cg_last_error(void); /* NULL when no error is recorded */
void cg_clear_error(void);
void cg_set_abort_on_error(bool on);
/* Records an error raised by fn (printf format), as library functions do: for models, tools. */
void cg_error_in(const char *fn, const char *fmt, ...);
/* Records an error message, e.g. from a custom function (printf format). */
void cg_error(const char *fmt, ...);

/* -------------------------------------------------------------- printing */

/* PyTorch's repr, e.g. "tensor([1., 2.], requires_grad=True)". The string
 * is malloc'ed: free() it. NULL on error. */
char *cg_to_string(const cg_tensor *t);
int cg_print(const cg_tensor *t); /* repr + newline on stdout */
int cg_fprint(FILE *f, const cg_tensor *t);
/* "<AddBackward0 object at 0x...>", or "None" for NULL. malloc'ed. */
char *cg_node_repr(const cg_node *n);
int cg_node_print(const cg_node *n);

/* ------------------------------------------------------------ scopes */

/* 0, or -1 with "out of memory" when the scope could not be recorded: it
 * still opens (close it with cg_scope_end as usual), but what it makes goes
 * to the enclosing scope. */
int cg_scope_begin(void);
int cg_scope_end(void);             /* -1 if no scope is open */
int cg_scope_depth(void);           /* 0 at the root scope */
cg_tensor *cg_keep(cg_tensor *t);   /* move t to the enclosing scope */
cg_tensor *cg_retain(cg_tensor *t); /* +1 reference, owned by the caller */
void cg_release(cg_tensor *t);      /* -1 reference */
long cg_live_tensors(void);         /* tensors alive in this process */
long cg_live_nodes(void);           /* backward nodes alive in this process */
long cg_live_storages(void);
/* Releases everything the calling thread's root scope holds (done at exit). */
void cg_root_scope_drain(void);
#define CG_SCOPE for (int cg__s = (cg_scope_begin(), 1); cg__s; cg__s = (cg_scope_end(), 0))

/* ------------------------------------------------------------ nn modules */
/* A registry of named parameters (PyTorch's state_dict keys), each retained;
 * a tensor is registered once (a tied weight appears under its first name). */
typedef struct cg_params cg_params;
cg_params *cg_params_new(void);
void cg_params_free(cg_params *p);
cg_tensor *cg_params_add(cg_params *p, const char *name, cg_tensor *t);
int cg_params_count(const cg_params *p);
int64_t cg_params_numel(const cg_params *p);
cg_tensor *cg_params_get(const cg_params *p, int i, const char **name);
cg_tensor *cg_params_find(const cg_params *p, const char *name);
cg_tensor *const *cg_params_tensors(const cg_params *p); /* for optimizers */
void cg_params_zero_grad(cg_params *p, bool set_to_none);

/* F.gelu's approximate= ('none', 'tanh'): what an MLP or a GPT uses */
typedef enum cg_gelu_approximate { CG_GELU_NONE = 0, CG_GELU_TANH = 1 } cg_gelu_approximate;
/* Layers, initialised as PyTorch does (Linear: U(+-1/sqrt(in)), Embedding:
 * N(0,1), LayerNorm: ones and zeros); init registers prefix.weight etc. */
typedef struct {
    cg_tensor *weight, *bias;
    int64_t in, out;
} cg_linear_layer;
typedef struct {
    cg_tensor *weight;
    int64_t num, dim;
} cg_embedding_layer;
typedef struct {
    cg_tensor *weight, *bias;
    int64_t dim;
    double eps;
} cg_layer_norm_layer;
typedef struct {
    cg_linear_layer fc, proj;
    double dropout;
    cg_gelu_approximate gelu; /* CG_GELU_NONE (init's) or CG_GELU_TANH */
} cg_mlp;                     /* proj(gelu(fc(x))) */
int cg_linear_init(cg_linear_layer *l, cg_params *p, const char *prefix, int64_t in, int64_t out,
                   bool bias);
cg_tensor *cg_linear_forward(const cg_linear_layer *l, cg_tensor *x);
int cg_embedding_init(cg_embedding_layer *e, cg_params *p, const char *prefix, int64_t num,
                      int64_t dim);
cg_tensor *cg_embedding_forward(const cg_embedding_layer *e, cg_tensor *idx);
int cg_layer_norm_init(cg_layer_norm_layer *n, cg_params *p, const char *prefix, int64_t dim,
                       double eps);
cg_tensor *cg_layer_norm_forward(const cg_layer_norm_layer *n, cg_tensor *x);
int cg_mlp_init(cg_mlp *m, cg_params *p, const char *prefix, int64_t in, int64_t hidden,
                int64_t out);
cg_tensor *cg_mlp_forward(const cg_mlp *m, cg_tensor *x, bool training);

/* Dropout as a layer: cg_dropout with p, in training mode only. */
typedef struct {
    double p;
} cg_dropout_layer;
cg_tensor *cg_dropout_forward(const cg_dropout_layer *d, cg_tensor *x, bool training);
/* Causal multi-head self-attention: x (B,T,C) -> (B,T,C); c_attn (C -> 3C)
 * gives q, k, v; c_proj (C -> C) after the heads; dropout on the output. */
typedef struct {
    cg_linear_layer c_attn, c_proj;
    int n_head;
    double dropout;
} cg_self_attention;
int cg_self_attention_init(cg_self_attention *a, cg_params *p, const char *prefix, int64_t n_embd,
                           int n_head, double dropout);
cg_tensor *cg_self_attention_forward(const cg_self_attention *a, cg_tensor *x, bool training);
/* A pre-norm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)) with
 * a 4x GELU MLP (names: prefix.ln_1, .attn, .ln_2, .mlp, as nanoGPT). */
typedef struct {
    cg_layer_norm_layer ln_1, ln_2;
    cg_self_attention attn;
    cg_mlp mlp;
} cg_transformer_block;
int cg_transformer_block_init(cg_transformer_block *b, cg_params *p, const char *prefix,
                              int64_t n_embd, int n_head, double dropout);
cg_tensor *cg_transformer_block_forward(const cg_transformer_block *b, cg_tensor *x, bool training);

/* A GPT (nanoGPT's layout and GPT-2's initialisation): token + position
 * embeddings, n_layer pre-norm blocks (causal multi-head self-attention, GELU
 * MLP), a final LayerNorm and the LM head (tied to the token embedding when
 * tie_weights). Parameter names match nanoGPT's state_dict. */
typedef struct cg_gpt_config {
    int64_t vocab_size, block_size, n_embd;
    int n_layer, n_head;
    double dropout;
    bool tie_weights;
    double layer_norm_eps;    /* every LayerNorm's eps; 0: 1e-5 */
    cg_gelu_approximate gelu; /* the MLP's GELU: CG_GELU_NONE (0, exact) or CG_GELU_TANH */
} cg_gpt_config;
typedef struct cg_gpt cg_gpt;
cg_gpt *cg_gpt_new(const cg_gpt_config *cfg); /* parameters drawn from the global generator */
void cg_gpt_free(cg_gpt *m);
cg_params *cg_gpt_params(cg_gpt *m);
const cg_gpt_config *cg_gpt_get_config(const cg_gpt *m);
void cg_gpt_train(cg_gpt *m, bool training); /* dropout on (the default) or off */
/* logits (B,T,V) for idx (B,T) int64; with targets (B,T), *loss is the mean
 * cross-entropy */
cg_tensor *cg_gpt_forward(cg_gpt *m, cg_tensor *idx, cg_tensor *targets, cg_tensor **loss);
/* the mean cross-entropy of cg_gpt_forward's logits against targets (B,T),
 * without making the logits: the LM head and the loss are one
 * cg_linear_cross_entropy (gradients computed in the forward when grad mode
 * is on) */
cg_tensor *cg_gpt_loss(cg_gpt *m, cg_tensor *idx, cg_tensor *targets);
/* idx (1,T) followed by max_new_tokens sampled tokens (temperature <= 0:
 * greedy; top_k <= 0: all) */
cg_tensor *cg_gpt_generate(cg_gpt *m, cg_tensor *idx, int max_new_tokens, double temperature,
                           int top_k);

/* ------------------------------------------------------------- optimizers */
/* PyTorch's update rules (torch.optim, 1.13), applied without a graph to
 * leaf parameters (contiguous, float32/float64), which the optimizer
 * retains. A parameter whose .grad is None is skipped, as in PyTorch. */
typedef struct cg_optimizer cg_optimizer;
cg_optimizer *cg_sgd(int n, cg_tensor *const *params, double lr, double momentum, double dampening,
                     double weight_decay, bool nesterov);
cg_optimizer *cg_adam(int n, cg_tensor *const *params, double lr, double beta1, double beta2,
                      double eps, double weight_decay);
/* AdamW: decoupled weight decay (PyTorch's default weight_decay is 0.01) */
cg_optimizer *cg_adamw(int n, cg_tensor *const *params, double lr, double beta1, double beta2,
                       double eps, double weight_decay);
int cg_optimizer_step(cg_optimizer *o);
void cg_optimizer_zero_grad(cg_optimizer *o, bool set_to_none);
void cg_optimizer_free(cg_optimizer *o);
double cg_optimizer_lr(const cg_optimizer *o);
void cg_optimizer_set_lr(cg_optimizer *o, double lr);
/* State for checkpoints: which 0 is the momentum buffer (SGD) or exp_avg
 * (Adam/AdamW), 1 is exp_avg_sq; the optimizer owns it (write into it to
 * restore). steps is the step count Adam's bias correction uses. */
cg_tensor *cg_optimizer_state(cg_optimizer *o, int param, int which);
int64_t cg_optimizer_steps(const cg_optimizer *o);
int cg_optimizer_set_steps(cg_optimizer *o, int64_t steps);
/* torch.nn.utils.clip_grad_norm_: scales the gradients so that their joint
 * norm is at most max_norm; returns the norm before clipping. */
double cg_clip_grad_norm(int n, cg_tensor *const *params, double max_norm, double norm_type);
/* Learning-rate schedules, as functions of the step: StepLR, the closed form
 * of CosineAnnealingLR, and a linear warm-up (lr * (step+1)/warmup) into it. */
double cg_lr_step(double base_lr, int64_t step, int64_t step_size, double gamma);
double cg_lr_cosine(double base_lr, double min_lr, int64_t step, int64_t total);
double cg_lr_warmup_cosine(double base_lr, double min_lr, int64_t step, int64_t warmup,
                           int64_t total);

/* ------------------------------------------------ weights on disk (safetensors) */
/* A state dict: named tensors in insertion order, plus string metadata, as
 * the safetensors format stores them (huggingface/safetensors). The dict
 * holds one reference to each tensor (no copy) and is freed explicitly,
 * which releases them; pointers it returns are borrowed and valid while it
 * lives (cg_retain one to keep it longer). */
typedef struct cg_state_dict cg_state_dict;
cg_state_dict *cg_state_dict_new(void);
void cg_state_dict_free(cg_state_dict *d); /* releases its tensors */
/* Adds t under a new name (retained, not copied: later in-place changes to t
 * are what is saved). A repeated name or "__metadata__" is an error. 0 or -1. */
int cg_state_dict_add(cg_state_dict *d, const char *name, cg_tensor *t);
cg_tensor *cg_state_dict_get(const cg_state_dict *d, const char *name); /* NULL + error if absent */
int cg_state_dict_count(const cg_state_dict *d);
const char *cg_state_dict_name(const cg_state_dict *d, int i); /* i in [0, count) */
cg_tensor *cg_state_dict_tensor(const cg_state_dict *d, int i);
/* Sets (or replaces) a metadata string. 0 or -1. */
int cg_state_dict_set_metadata(cg_state_dict *d, const char *key, const char *value);
const char *cg_state_dict_metadata(const cg_state_dict *d, const char *key); /* NULL if absent */
int cg_state_dict_metadata_count(const cg_state_dict *d);
const char *cg_state_dict_metadata_key(const cg_state_dict *d, int i); /* i in [0, count) */
/* Writes d as the reference writer does: float32/float64/int64/bool as
 * F32/F64/I64/BOOL, any layout written row-major; 0 or -1. */
int cg_save_safetensors(const char *path, const cg_state_dict *d);
/* The same bytes in a malloc'ed buffer (free() it); NULL on error. */
void *cg_save_safetensors_buffer(const cg_state_dict *d, size_t *size);
/* Reads a file into a new dict (free it with cg_state_dict_free), tensors in
 * the header's order: F32, F64, I64 and BOOL as they are, F16 and BF16 as
 * float32, I8/I16/I32/U8/U16/U32 as int64. Any malformed file is an error
 * (NULL), never a crash. */
cg_state_dict *cg_load_safetensors(const char *path);
cg_state_dict *cg_load_safetensors_buffer(const void *data, size_t size); /* from memory */

/* -------------------------------------------------------------- text data */
/* Character-level language-model data. Text is UTF-8 and a character is one
 * Unicode code point, so any script works. Invalid UTF-8 is an error naming
 * the byte offset. Tokenizers and datasets are freed explicitly; the tensors
 * they return belong to the current scope. */
typedef struct cg_char_tokenizer cg_char_tokenizer;
/* The vocabulary of text[0, len): its distinct characters sorted by code
 * point, id i being the i-th (as char-level GPT scripts build it). */
cg_char_tokenizer *cg_char_tokenizer_new(const char *text, size_t len);
void cg_char_tokenizer_free(cg_char_tokenizer *tok);
int64_t cg_char_tokenizer_vocab_size(const cg_char_tokenizer *tok);
/* The vocabulary as UTF-8, characters in id order (owned by tok; *len, if
 * not NULL, gets its bytes): cg_char_tokenizer_new of it gives the same ids. */
const char *cg_char_tokenizer_vocab(const cg_char_tokenizer *tok, size_t *len);
/* id of a code point, or -1 if absent (no error recorded). */
int64_t cg_char_tokenizer_id(const cg_char_tokenizer *tok, uint32_t codepoint);
/* code point of an id, or -1 if out of range (no error recorded). */
int64_t cg_char_tokenizer_char(const cg_char_tokenizer *tok, int64_t id);
/* text[0, len) -> 1-D int64 tensor of ids; a character outside the
 * vocabulary is an error. */
cg_tensor *cg_char_tokenizer_encode(const cg_char_tokenizer *tok, const char *text, size_t len);
/* int64 ids (any shape, row-major order) -> malloc'ed NUL-terminated UTF-8
 * (free() it); *len, if not NULL, gets its length in bytes. */
char *cg_char_tokenizer_decode(const cg_char_tokenizer *tok, const cg_tensor *ids, size_t *len);

/* A text encoded with its own vocabulary, split into train (the first part)
 * and val (the rest). */
typedef struct cg_text_dataset cg_text_dataset;
typedef enum cg_data_split { CG_SPLIT_TRAIN = 0, CG_SPLIT_VAL = 1 } cg_data_split;
/* Reads a whole UTF-8 file (a missing or empty file is an error naming the
 * path); everything is train until cg_text_dataset_split. */
cg_text_dataset *cg_text_dataset_load(const char *path);
cg_text_dataset *cg_text_dataset_load_limit(const char *path, size_t max_bytes); /* load: 1 GiB */
cg_text_dataset *cg_text_dataset_from_text(const char *text, size_t len);
void cg_text_dataset_free(cg_text_dataset *ds);
const cg_char_tokenizer *cg_text_dataset_tokenizer(const cg_text_dataset *ds); /* owned by ds */
/* train = the first floor(train_fraction * n) tokens, val = the rest. */
int cg_text_dataset_split(cg_text_dataset *ds, double train_fraction);
int64_t cg_text_dataset_len(const cg_text_dataset *ds, cg_data_split split); /* in tokens */
/* The split's tokens: a 1-D int64 copy. */
cg_tensor *cg_text_dataset_tokens(const cg_text_dataset *ds, cg_data_split split);
/* A random batch: x and y, int64 (batch, block), row b being the split's
 * tokens [i, i + block) and [i + 1, i + block + 1) for i uniform in
 * [0, len - block), drawn from cg_manual_seed's generator. A split of at most
 * block tokens is an error. 0 or -1. */
int cg_text_dataset_batch(const cg_text_dataset *ds, cg_data_split split, int64_t batch,
                          int64_t block, cg_tensor **x, cg_tensor **y);

/* ------------------------------------------------- distributed training */
/* Data parallelism over MPI, as torch.distributed and DistributedDataParallel
 * do it: every process (rank) holds the whole model, trains on its own part
 * of each batch, and the gradients are averaged across ranks during backward.
 * Start N processes with `mpirun -np N prog`. Built without MPI, or run
 * without a launcher, the world is one process and every collective is the
 * identity.
 *
 *     cg_dist_init(&argc, &argv);
 *     cg_ddp *ddp = cg_ddp_new(cg_gpt_params(m), NULL); // rank 0's weights everywhere
 *     cg_ddp_adamw(ddp, 1e-3, 0.9, 0.999, 1e-8, 0.01);
 *     for (int step = 0; step < n; step++) {
 *         cg_scope_begin();
 *         cg_text_dataset_batch_rank(ds, CG_SPLIT_TRAIN, b, block, cg_dist_rank(),
 *                                    cg_dist_world_size(), &x, &y);
 *         cg_gpt_forward(m, x, y, &loss);
 *         cg_backward(loss, NULL, false);  // buckets all-reduce as gradients arrive
 *         cg_ddp_step(ddp, 1.0);           // wait, average, clip, AdamW
 *         cg_scope_end();
 *     }
 *     cg_ddp_free(ddp);
 *     cg_dist_finalize();
 *
 * MPI calls come from the thread that called cg_dist_init. A failing rank
 * should call cg_dist_abort, which ends every process of the job. */
int cg_dist_init(int *argc, char ***argv); /* 0, or -1 (e.g. N > 1 without MPI) */
int cg_dist_finalize(void);                /* 0 or -1 */
bool cg_dist_has_mpi(void);                /* cgrad was built with MPI */
/* The job size when an MPI launcher (mpirun, mpiexec, srun) started this
 * process, else 0: a program may skip cg_dist_init (MPI's singleton start
 * takes a while) when it is 0. */
int cg_dist_launched(void);
int cg_dist_rank(void);       /* 0 .. world size - 1 (0 before init) */
int cg_dist_world_size(void); /* 1 before init and without MPI */
int cg_dist_barrier(void);    /* 0 or -1 */
typedef enum cg_reduce_op { CG_REDUCE_SUM = 0, CG_REDUCE_MEAN = 1 } cg_reduce_op;
/* dist.all_reduce: t (contiguous float32/float64/int64; int64 only with SUM)
 * becomes the sum or mean over ranks, in place. 0 or -1. */
int cg_dist_all_reduce(cg_tensor *t, cg_reduce_op op);
int cg_dist_broadcast(cg_tensor *t, int root); /* t = root's t, in place; 0 or -1 */
/* Every parameter of p becomes rank 0's (same names, shapes and dtypes on
 * every rank, else an error). 0 or -1. */
int cg_dist_broadcast_params(cg_params *p);
/* Prints "rank R: message" on stderr and ends the whole job (MPI_Abort); a
 * single process exits with code. */
_Noreturn void cg_dist_abort(int code, const char *fmt, ...);

/* DistributedDataParallel over a parameter set. Post-accumulate gradient
 * hooks copy each gradient into a bucket (parameters in reverse registration
 * order, as backward produces them; the first bucket small, the others up to
 * bucket_cap_bytes); a full bucket starts an MPI_Iallreduce while backward
 * goes on. cg_ddp_finish waits for them and writes the mean into .grad. */
typedef struct cg_ddp cg_ddp;
typedef enum cg_ddp_flags {
    /* find_unused_parameters: a parameter no rank's backward reached keeps
     * .grad None (costs one small all-reduce per step); without it, it gets
     * a zero gradient. A parameter some ranks did not reach counts as zero
     * there either way: no deadlock. */
    CG_DDP_FIND_UNUSED = 1 << 0,
    /* ZeRO stage 1: each rank keeps the optimizer's state for its shard
     * (1/N of the parameters) only; gradients are reduce-scattered, each rank
     * updates its shard, and the parameters are all-gathered. A parameter
     * no rank used is updated as one with a zero gradient. */
    CG_DDP_ZERO1 = 1 << 1,
} cg_ddp_flags;
typedef struct cg_ddp_options {
    size_t bucket_cap_bytes;   /* 0: 25 MiB (bucket_cap_mb=25) */
    size_t first_bucket_bytes; /* 0: 1 MiB, so communication starts early */
    int flags;                 /* cg_ddp_flags */
} cg_ddp_options;
/* Broadcasts rank 0's parameters, then hooks p's floating leaves (which must
 * stay alive and registered while the cg_ddp lives). opts may be NULL. */
cg_ddp *cg_ddp_new(cg_params *p, const cg_ddp_options *opts);
void cg_ddp_free(cg_ddp *d); /* removes the hooks */
/* no_sync: false keeps the gradients local (accumulated over micro-batches);
 * the first backward after setting it back to true all-reduces the sum.
 * Returns the previous setting. */
bool cg_ddp_set_sync(cg_ddp *d, bool sync);
/* Waits for the buckets and writes the mean gradient into each .grad (in
 * ZeRO-1 mode into this rank's shard only). 0 or -1. */
int cg_ddp_finish(cg_ddp *d);
/* The optimizer cg_ddp_step runs: AdamW as cg_adamw (over this rank's shard
 * with CG_DDP_ZERO1). 0 or -1. */
int cg_ddp_adamw(cg_ddp *d, double lr, double beta1, double beta2, double eps, double weight_decay);
cg_optimizer *cg_ddp_optimizer(cg_ddp *d); /* its optimizer (set_lr, state), or NULL */
/* cg_ddp_finish, clipping to the global gradient norm max_norm (<= 0: none;
 * *norm, if not NULL, gets the norm before), the optimizer's step and in
 * ZeRO-1 mode the all-gather. 0 or -1. */
int cg_ddp_step(cg_ddp *d, double max_norm, double *norm);
void cg_ddp_zero_grad(cg_ddp *d); /* every .grad = None */
/* What a step cost on this rank, summed since the last reset. */
typedef struct cg_ddp_stats {
    int64_t steps, buckets, bytes; /* bytes all-reduced (or reduce-scattered) */
    double wait_s;                 /* in cg_ddp_finish waiting for communication */
    double optim_state_bytes;      /* this rank's optimizer state now */
} cg_ddp_stats;
cg_ddp_stats cg_ddp_get_stats(const cg_ddp *d);
void cg_ddp_reset_stats(cg_ddp *d);
int cg_ddp_num_buckets(const cg_ddp *d);

/* cg_text_dataset_batch for one rank of world: the batch the whole world
 * draws together (batch * world rows from the generator, which every rank
 * seeds alike) is split, rank taking rows [rank * batch, (rank + 1) * batch).
 * The ranks' rows are disjoint draws, the generator stays the same on every
 * rank (so one checkpoint resumes them all), and world 1 is
 * cg_text_dataset_batch. 0 or -1. */
int cg_text_dataset_batch_rank(const cg_text_dataset *ds, cg_data_split split, int64_t batch,
                               int64_t block, int rank, int world, cg_tensor **x, cg_tensor **y);

/* ----------------------------------------------- GPT-2's tokenizer (BPE) */

/* GPT-2's byte-level BPE, as OpenAI's encoder.py and tiktoken's "gpt2":
 * GPT-2's pattern cuts the text into pieces, each piece's bytes are merged
 * by rank. Needs PCRE2 at build time (else loading is an error). Invalid
 * UTF-8 round-trips: a stray byte is a piece character of its own class
 * (docs/design.md). One cg_bpe encodes on one thread at a time (its cache). */
typedef struct cg_bpe cg_bpe;
/* encoder.json/vocab.json + vocab.bpe/merges.txt; NULL and an error on failure */
cg_bpe *cg_bpe_load(const char *vocab_json_path, const char *merges_path);
/* a directory holding vocab.json + merges.txt (Hugging Face) or encoder.json + vocab.bpe (OpenAI)
 */
cg_bpe *cg_bpe_load_dir(const char *dir);
void cg_bpe_free(cg_bpe *bpe);
#define CG_BPE_ALLOW_SPECIAL 1 /* "<|endoftext|>" in the text becomes its id */
/* ids malloc'd into *ids (free with free()); returns the count, or -1 and an error */
int64_t cg_bpe_encode(cg_bpe *bpe, const char *text, size_t len, int flags, int32_t **ids);
/* bytes malloc'd (NUL-terminated, free with free()), length in *len; NULL and an error on a bad id
 */
char *cg_bpe_decode(const cg_bpe *bpe, const int32_t *ids, size_t n, size_t *len);
int32_t cg_bpe_vocab_size(const cg_bpe *bpe);
int32_t cg_bpe_token_id(const cg_bpe *bpe,
                        const char *token); /* -1 if absent, e.g. "<|endoftext|>" */

/* ------------------------------------------ GPT-2 checkpoints (Hugging Face) */
/* A Hugging Face GPT-2 model directory: config.json (GPT2Config) and
 * model.safetensors (the state dict of GPT2LMHeadModel or GPT2Model, names
 * with or without "transformer."), read into a cg_gpt and written back the
 * same way, so transformers' from_pretrained loads what cgrad saves. GPT-2's
 * Conv1D stores its weights (in, out): c_attn, c_proj and c_fc are
 * transposed both ways. The mask buffers attn.bias / attn.masked_bias are
 * skipped. Read from config.json: vocab_size, n_positions (block_size),
 * n_embd, n_layer, n_head, layer_norm_epsilon, activation_function (gelu_new,
 * gelu_pytorch_tanh, gelu_fast: CG_GELU_TANH; gelu: CG_GELU_NONE),
 * tie_word_embeddings; a value cgrad cannot compute (n_inner other than
 * 4 n_embd, scale_attn_weights false, scale_attn_by_inverse_layer_idx or
 * add_cross_attention true, another model_type or activation) is an error
 * naming the key, and so is a missing, unknown, misshapen or integer
 * tensor. Keys that do not change the forward (dropouts, token ids,
 * architectures, ...) are not read: a loaded model has dropout 0. Weights in
 * F16/BF16/F64 are read as float32. */
int cg_gpt2_read_config(const char *config_json_path, cg_gpt_config *cfg); /* 0 or -1 */
cg_gpt *cg_gpt2_load_dir(const char *dir);
/* m's weights from a state dict in GPT-2's layout; 0 or -1 */
int cg_gpt2_load_state_dict(cg_gpt *m, const cg_state_dict *sd);
/* m's weights in GPT-2's layout ("transformer.h.0.attn.c_attn.weight" (C, 3C),
 * ...; lm_head.weight only when untied): views of the parameters, no copies;
 * metadata {"format": "pt"}. Free it with cg_state_dict_free. */
cg_state_dict *cg_gpt2_state_dict(cg_gpt *m);
/* Writes dir/model.safetensors and dir/config.json (each atomically), making
 * dir when it does not exist; 0 or -1. */
int cg_gpt2_save_dir(cg_gpt *m, const char *dir);

/* ------------------------------------------------- generation (KV cache) */
/* Options of cg_gpt_generate_cached; zero-initialised fields are the
 * defaults except max_new_tokens. */
typedef struct cg_generate_options {
    int max_new_tokens;
    double temperature; /* 0: greedy (the first largest logit) */
    int top_k;          /* keep the k largest logits; 0: all */
    double top_p;       /* nucleus: the most probable tokens up to mass top_p; 0 or 1: all */
    bool seeded;        /* draw from a generator of its own seeded with seed, */
    uint64_t seed;      /* else from one seeded by a draw of the global generator */
    /* Called after each step with the new token of every row (batch of
     * them); a non-zero return stops the generation after that step (for
     * stop strings: decode and compare in the callback). NULL: none. */
    int (*on_token)(void *user, const int64_t *tokens, int64_t batch);
    void *user;
} cg_generate_options;
/* idx (B, T) int64 followed by up to max_new_tokens tokens: (B, T + n).
 * The prompt runs once (prefill), then each step runs only the new tokens
 * against the keys and values cached per layer, in inference mode, without
 * dropout. Every row of a batch has the same prompt length (pad or group
 * prompts yourself) and all rows step together. T + max_new_tokens beyond
 * block_size (n_positions) is an error. Greedy equals cg_gpt_generate's
 * greedy (which recomputes the whole window each step), token for token. */
cg_tensor *cg_gpt_generate_cached(cg_gpt *m, cg_tensor *idx, const cg_generate_options *o);

#ifdef __cplusplus
}
#endif
#endif /* CGRAD_H */
