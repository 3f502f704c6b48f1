/* What the op files of src/ops/ share: the strided elementwise loop and
 * broadcasting, small tensor helpers, the named-slot convention for saved
 * state, the PyTorch messages that more than one op uses, and the
 * "shape mismatch" error. Included by op files only, never by src/nn/. */
#ifndef CG_OPS_H
#define CG_OPS_H

#include "../core/internal.h"

/* ------------------------------------------------------------ the loop */

/* The strided loop behind every elementwise op: up to three operands (an
 * output and two inputs, each with its own strides, a stride of 0 meaning
 * broadcast), dims coalesced, an inner kernel called per innermost row. */

/* o[i*so] = f(a[i*sa], b[i*sb]) for i < n; strides in elements. */
typedef void (*cg__kernel)(int64_t n, void *o, int64_t so, const void *a, int64_t sa, const void *b,
                           int64_t sb);

typedef struct cg__operand {
    char *p;                 /* element [0,...,0] */
    size_t esize;            /* bytes per element */
    int64_t st[CG_MAX_DIMS]; /* element strides over the loop shape */
} cg__operand;

/* Strides of t viewed at a broadcast shape (0 where t is broadcast). */
void cg__broadcast_strides(const cg_tensor *t, int ndim, const int64_t *shape, int64_t *st);
/* out = broadcast shape of a and b, or -1 with PyTorch's error. */
int cg__broadcast_shape(const char *fn, int na, const int64_t *sa, int nb, const int64_t *sb,
                        int *nout, int64_t *out);
/* k over n contiguous elements (stride 1, or 0 for a broadcast scalar input),
 * split across OpenMP threads when large. */
void cg__dense(cg__kernel k, int64_t n, void *o, size_t eo, const void *a, size_t ea, int64_t sa,
               const void *b, size_t eb, int64_t sb);
void cg__loop(cg__kernel k, int ndim, const int64_t *shape, cg__operand *o, cg__operand *a,
              cg__operand *b);

/* ------------------------------------------------------ tensor helpers */

/* t itself when contiguous, else a contiguous copy (no graph; scope-owned). */
cg_tensor *cg__as_contiguous(cg_tensor *t);
/* A new reference to t itself, owned by the scope (what PyTorch returns when
 * an op is the identity: the same tensor). */
cg_tensor *cg__same(cg_tensor *t);

/* ------------------------------------------- ops other families compose */

/* a * s, a + s, a / s with a C++ scalar, as ATen records them:
 * MulBackward1, AddBackward1, DivBackward1 (one edge; binary.c) */
cg_tensor *cg__mul_scalar1(cg_tensor *a, double s);
cg_tensor *cg__add_scalar1(cg_tensor *a, double s);
cg_tensor *cg__div_scalar1(cg_tensor *a, double s);

/* ------------------------------------------------ saved state, by name
 *
 * A node's saved tensors (cg__save / cg__unpack), scalars (n->sc) and integer
 * arguments (n->iv) are read back by name, never by number: each node kind
 * names its slots in an enum beside its forward, e.g.
 *     enum { MM_SELF, MM_MAT2 };           saved tensors
 *     enum { POW_EXPONENT };               n->sc
 * and every backward unpacks them into named locals on its first lines. */

/* Does backward need the gradient of input i? (n is the node) */
#define CG_WANT(n, i) ((n)->next[i].fn != NULL)

/* *t = the tensor saved in slot when input i wants a gradient, else NULL
 * (saved only then); -1 when unpacking fails. */
static inline int cg__unpack_if(cg_node *n, int i, int slot, cg_tensor **t) {
    *t = NULL;
    return CG_WANT(n, i) && !(*t = cg__unpack(n, slot)) ? -1 : 0;
}

/* Records out = op(a, b) for a product (a * b, a @ b): b saved in slot
 * other_slot for a's gradient, a in self_slot for b's, each only when that
 * gradient is wanted. 0, or -1 when saving fails. */
/* c (n, m, contiguous) += a (n, k) @ b (k, m), all of one floating dtype; no
 * graph (addmm's forward: the bias is C's start, so no pass adds it after) */
void cg__mm_add_into(cg_tensor *c, cg_tensor *a, cg_tensor *b);
/* c = a @ b + beta c, beta 0 (c overwritten) or 1, as cg__mm_add_into */
void cg__mm_into(cg_tensor *c, cg_tensor *a, cg_tensor *b, double beta);
int cg__record_product(cg_op op, cg_tensor *out, cg_tensor *a, cg_tensor *b, int other_slot,
                       int self_slot);

/* t's node when t was just recorded as op, else NULL (no graph); where a
 * forward stores its node's arguments. */
static inline cg_node *cg__node_of(const cg_tensor *t, cg_op op) {
    return t && t->grad_fn && t->grad_fn->op == op ? t->grad_fn : NULL;
}

/* linear_cross_entropy's rows per chunk (linear_ce.c) for this thread: rows
 * > 0 overrides the memory budget (tests use it to run many chunks on small
 * shapes), 0 restores it */
void cg__linear_ce_set_chunk_rows(int64_t rows);

/* ------------------------------ PyTorch's messages used by several ops */

#define CG_MSG_NOT_IMPLEMENTED "\"%s\" not implemented for '%s'" /* kernel, dtype name */
#define CG_MSG_OUTPUT_BROADCAST "output with shape %s doesn't match the broadcast shape %s"
#define CG_MSG_RESULT_TYPE_CAST "result type %s can't be cast to the desired output type %s"
#define CG_MSG_EXPECTED_SCALAR_TYPE "expected scalar type %s but found %s"
#define CG_MSG_MAT_SHAPES "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)"
#define CG_MSG_INDEX_RANGE "index out of range in self"
#define CG_MSG_INDEX_BOUNDS "index %lld is out of bounds for dimension %d with size %lld"
#define CG_MSG_INDICES_OUT_OF_DATA "INDICES element is out of DATA bounds, id=%lld axis_dim=%lld"
#define CG_MSG_INDEX_AXIS_POSITIVE "index_select(): self indexing axis dim should be positive"
#define CG_MSG_NEG_BOOL                                                                            \
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "         \
    "invert a mask, use the `~` or `logical_not()` operator instead."
#define CG_MSG_SUB_BOOL                                                                            \
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "              \
    "trying to invert a mask, use the `~` or `logical_not()` operator instead."
#define CG_MSG_MAX_DIMS "cgrad supports at most %d dimensions" /* CG_MAX_DIMS */

/* "shape mismatch" errors: cg__error(fn, fmt, "[a's shape]", "[b's shape]");
 * fmt takes the two shapes as its two %s, in that order. */
void cg__shape_error(const char *fn, const char *fmt, int na, const int64_t *sa, int nb,
                     const int64_t *sb);

/* ------------------- index-family ops other families compose (index.c) */

/* a.index_put_({mask}, 0.0) on a copy of a, for a bool mask of a's shape:
 * IndexPutBackward0 (CopySlices when a is 0-d), edges (a, values = None) */
cg_tensor *cg__masked_zero(cg_tensor *a, cg_tensor *mask);
/* a.masked_select(mask), a bool mask of a's shape: MaskedSelectBackward0 */
cg_tensor *cg__masked_select(cg_tensor *a, cg_tensor *mask);

/* ------------------------ the in-place engine (inplace.c; inplace_more.c) */

/* an op on self (and other, or the scalars s[0], s[1]) */
typedef cg_tensor *(*cg__inplace_fn)(cg_tensor *self, cg_tensor *other, const double *s);
/* a = f(a, other, s) in place, as NOTE [ In-place ops ] in inplace.c */
cg_tensor *cg__inplace(const char *fn, cg_tensor *a, cg_tensor *other, const double *s,
                       cg__inplace_fn f);

#endif
