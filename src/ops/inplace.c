/* In-place ops: a.add_(b), a.relu_(), a.zero_(), a.copy_(src), ..., and cg_set (t[i] = v)
 *
 * NOTE [ In-place ops ]
 * - PyTorch's rules first (cg__check_inplace): no in-place write to a leaf
 *   that requires grad, or to a view of one, while grad mode is on; none to
 *   an inference tensor outside inference mode.
 * - Without a graph to record, the result is written straight into a's
 *   storage (the arithmetic ops run their kernel in place).
 * - With one, the op runs out of place on a snapshot of a — a copy of its
 *   values carrying a's autograd identity, so whatever the backward saves
 *   is the value before the write (PyTorch's original_self) — the result is
 *   copied into a, and a's history is rebased onto the new node: y = x * 2;
 *   y.add_(1) leaves y.grad_fn an AddBackward0 whose next is the MulBackward0.
 * - Every write bumps the storage's version, so a tensor saved for backward
 *   and then overwritten fails the backward with PyTorch's message.
 * - On a view, the base's history must see the write too (PyTorch's
 *   CopySlices): the base's grad_fn becomes a COPY_SLICES node wrapping the
 *   op's own node — its backward takes the base's gradient, runs the op's
 *   backward on the view's positions and puts the result back in place — and
 *   the view's grad_fn becomes an AS_STRIDED view of the base. The base must
 *   be contiguous (views of views resolve to their root base).
 * - What the op saved as its output (tanh_, sigmoid_, exp_, relu_ save the
 *   result) is re-saved as a itself, at a's version after the write, so a
 *   later write to a fails the backward as in PyTorch (resave_output).
 * - Views taken earlier, and views of a base written without a graph, have
 *   stale history: cg__refresh_view regenerates it on their next use, as
 *   PyTorch does (an AS_STRIDED view of the base's current history).
 * - Before all that, PyTorch's refusals: writes into overlapping memory
 *   (an expanded tensor; zero_, fill_ and masked_fill_ allow it), and, in
 *   grad mode, writes to views made under no_grad or split off by an op
 *   returning several views (cg__check_inplace). */
#include "ops.h"

#include <math.h>

/* an op on self (and other, or the scalars s[0], s[1]) */
typedef cg_tensor *(*op_fn)(cg_tensor *self, cg_tensor *other, const double *s);

/* Is t's memory a dense block in some order of its dims (PyTorch's
 * is_non_overlapping_and_dense)? */
static bool dense(const cg_tensor *t) {
    int ord[CG_MAX_DIMS], n = 0; /* (n): t's dims of size > 1, by increasing stride */
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 1) continue;
        int k = n++;
        for (; k > 0 && t->strides[ord[k - 1]] > t->strides[d]; k--) ord[k] = ord[k - 1];
        ord[k] = d;
    }
    int64_t expect = 1;
    for (int k = 0; k < n; expect *= t->shape[ord[k++]])
        if (t->strides[ord[k]] != expect) return false;
    return true;
}

/* Do a and b share some, not all, of their memory (PyTorch's PARTIAL
 * overlap: judged only when both are dense)? */
static bool partial_overlap(const cg_tensor *a, const cg_tensor *b) {
    int64_t na = cg__numel(a->ndim, a->shape), nb = cg__numel(b->ndim, b->shape);
    if (a->storage != b->storage || !na || !nb || !dense(a) || !dense(b)) return false;
    int64_t a0 = a->offset, a1 = a0 + na, b0 = b->offset, b1 = b0 + nb;
    if (a0 == b0 && a1 == b1)
        return a->ndim != b->ndim ||
               memcmp(a->strides, b->strides, sizeof(int64_t) * (size_t)a->ndim);
    return a0 < b1 && b0 < a1;
}

/* PyTorch's checks before an in-place write through TensorIterator (every
 * op here but zero_, fill_ and masked_fill_): no two of a's elements share a
 * memory location (a dim of size > 1 with stride 0), and the input b (may
 * be NULL) is all of a's memory or none of it; -1 if not */
static int check_overlap(const char *fn, const cg_tensor *a, const cg_tensor *b) {
    if (cg__numel(a->ndim, a->shape) == 0) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] > 1 && a->strides[d] == 0) {
            cg__error(fn, "unsupported operation: more than one element of the written-to tensor "
                          "refers to a single memory location. Please clone() the tensor before "
                          "performing the operation.");
            return -1;
        }
    if (b && partial_overlap(a, b)) {
        cg__error(fn, "unsupported operation: some elements of the input tensor and the written-to "
                      "tensor refer to a single memory location. Please clone() the tensor before "
                      "performing the operation.");
        return -1;
    }
    return 0;
}

/* a's values with a's autograd identity (grad_fn, output_nr, requires_grad) */
static cg_tensor *snapshot(cg_tensor *a) {
    cg_tensor *s = cg__tensor_new(a->dtype, a->ndim, a->shape);
    if (!s) return NULL;
    cg__copy_into(s, a);
    s->requires_grad = a->requires_grad;
    s->grad_fn = a->grad_fn;
    s->output_nr = a->output_nr;
    cg__node_retain(a->grad_fn);
    return s;
}

/* Can a hold the out-of-place result r? -1 with PyTorch's error. */
static int check_result(const char *fn, const cg_tensor *a, const cg_tensor *r) {
    if (!cg__same_shape(r->ndim, r->shape, a->ndim, a->shape)) {
        cg__shape_error(fn, CG_MSG_OUTPUT_BROADCAST, a->ndim, a->shape, r->ndim, r->shape);
        return -1;
    }
    if (cg__category(r->dtype) > cg__category(a->dtype)) {
        cg__error(fn, CG_MSG_RESULT_TYPE_CAST, cg__scalar_type_name(r->dtype),
                  cg__scalar_type_name(a->dtype));
        return -1;
    }
    return 0;
}

/* The positions of view a's elements in its contiguous base: int64, a's shape */
static cg_tensor *positions(const cg_tensor *a, const cg_tensor *b) {
    cg_tensor *idx = cg__tensor_new(CG_INT64, a->ndim, a->shape);
    if (!idx) return NULL;
    int64_t *p = cg__ptr(idx), n = cg__numel(a->ndim, a->shape), k[CG_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t off = a->offset - b->offset;
        for (int d = 0; d < a->ndim; d++) off += k[d] * a->strides[d];
        p[i] = off;
        cg__next_index(a->ndim, a->shape, k);
    }
    return idx;
}

/* a's history becomes node n (a new reference), keeping a retain_grad */
static void set_history(cg_tensor *a, cg_node *n) {
    cg__drop_accumulator(a);
    bool retained = a->retains_grad;
    if (retained) cg__unhook_retain(a);
    cg_node *old = a->grad_fn;
    a->grad_fn = n;
    a->output_nr = 0;
    cg__node_release(old);
    if (retained) cg_retain_grad(a);
}

/* The op's node F saved its output r (tanh_, sigmoid_, exp_, relu_ save
 * their result, as PyTorch): r's values now live in a, so F saves a instead,
 * at a's version after the write; a later write to a then fails F's backward
 * with PyTorch's "modified by an inplace operation". */
static int resave_output(cg_node *F, cg_tensor *r, cg_tensor *a) {
    for (int k = 0; F && k < F->n_saved; k++) {
        cg_saved *s = &F->saved[k];
        if (!s->t || !s->is_output || s->t->storage != r->storage) continue;
        cg_release(s->t);
        s->t = NULL;
        if (cg__save(F, k, a, true) < 0) return -1;
    }
    return 0;
}

/* Saved state (ops.h): the view's positions in its base */
enum { COPY_SLICES_POSITIONS };
enum { AS_STRIDED_POSITIONS };

/* The base b's new history, wrapping the op's node F: edge 0 is the base's
 * old history, the others are F's own (an in-place op has at most three
 * inputs); NULL with the error set */
static cg_node *copy_slices_node(const char *fn, cg_tensor *b, cg_node *F, cg_tensor *idx) {
    if (F->n_next > 4) {
        cg__error(fn, "an in-place op with %d inputs cannot write through a view", F->n_next);
        return NULL;
    }
    cg_node *C = cg__node_new(CG_OP_COPY_SLICES, F->n_next, 1);
    if (!C) return cg__oom(fn);
    cg_tensor *bin[4] = {b, NULL, NULL, NULL};
    if (cg__node_connect(C, bin) < 0) { /* edge 0 when b requires grad; the rest below */
        cg__node_release(C);
        return cg__oom(fn);
    }
    for (int k = 1; k < F->n_next; k++) {
        C->next[k] = F->next[k];
        cg__node_retain(F->next[k].fn);
        C->in_meta[k] = F->in_meta[k];
    }
    cg__meta_of(&C->out_meta[0], b);
    C->wrapped = F;
    cg__node_retain(F);
    if (cg__save(C, COPY_SLICES_POSITIONS, idx, false) < 0) {
        cg__node_release(C);
        return NULL;
    }
    return C;
}

/* The view a's new history: a view of the base after the write (C) */
static cg_node *as_strided_node(const char *fn, cg_tensor *a, cg_tensor *b, cg_node *C,
                                cg_tensor *idx) {
    cg_node *V = cg__node_new(CG_OP_AS_STRIDED, 1, 1);
    if (!V) return cg__oom(fn);
    V->next[0].fn = C;
    cg__node_retain(C);
    cg__meta_of(&V->in_meta[0], b);
    cg__meta_of(&V->out_meta[0], a);
    if (cg__save(V, AS_STRIDED_POSITIONS, idx, false) < 0) {
        cg__node_release(V);
        return NULL;
    }
    return V;
}

/* NOTE [ In-place ops ]: the recorded write r into view a of base b */
static int copy_slices(const char *fn, cg_tensor *a, cg_tensor *r) {
    cg_tensor *b = a->base;
    cg_node *F = r->grad_fn;
    cg_tensor *idx = positions(a, b);
    if (!idx) return -1;
    cg__copy_into(a, r);
    cg__bump_version(a);
    if (!F) return 0; /* nothing differentiable was written */
    if (cg__unalias_saved(F, a->storage) < 0 || resave_output(F, r, a) < 0) return -1;
    cg_node *C = copy_slices_node(fn, b, F, idx);
    cg_node *V = C ? as_strided_node(fn, a, b, C, idx) : NULL;
    if (!V) {
        cg__node_release(C);
        return -1;
    }
    set_history(b, C);
    set_history(a, V);
    a->view_version = (int64_t)a->storage->version;
    return 0;
}

/* NOTE [ In-place ops ]: a view whose base was written in place after the
 * view was taken (or after its last write) has the stale history of the
 * values before; PyTorch regenerates it on use as an AsStridedBackward0 of
 * the base's current history, and so does this; a view with history whose
 * base no longer needs grad (detach_()ed) gets that node without an edge.
 * Not for a view made under no_grad (PyTorch refuses it), one without
 * history of a base that needs no grad, or one of a non-contiguous base (its
 * positions are offsets in a contiguous base). */
void cg__refresh_view(cg_tensor *v) {
    cg_tensor *b = v->base;
    if (v->view_version < 0 || (uint64_t)v->view_version == v->storage->version) return;
    if (!b || (!v->grad_fn && !cg__requires_grad(b))) return; /* stale until b requires grad */
    v->view_version = (int64_t)v->storage->version;
    if (v->no_grad_view || !cg__is_contiguous(b)) return;
    bool ends = !cg__requires_grad(b); /* b left the graph (detach_): no edge, as PyTorch */
    cg_tensor *idx = positions(v, b);
    cg_node *acc = b->grad_fn || ends ? NULL : cg__grad_accumulator(b);
    cg_node *edge = acc ? acc : b->grad_fn;
    cg_node *V = idx && (edge || ends) ? as_strided_node("cg_backward", v, b, edge, idx) : NULL;
    cg__node_release(acc); /* V holds it */
    if (!V) return;        /* out of memory: the old history stays */
    if (b->grad_fn) V->next[0].input_nr = b->output_nr;
    set_history(v, V);
}

/* the ops PyTorch lets write into overlapping memory (defined below) */
static cg_tensor *f_zero(cg_tensor *a, cg_tensor *b, const double *s);
static cg_tensor *f_fill(cg_tensor *a, cg_tensor *b, const double *s);
static cg_tensor *f_masked_fill(cg_tensor *a, cg_tensor *mask, const double *s);
static cg_tensor *f_copy(cg_tensor *a, cg_tensor *src, const double *s);

/* a = src (broadcast) with no graph, when src does not share a's storage */
static cg_tensor *plain_copy(cg_tensor *a, cg_tensor *src) {
    cg_tensor *b = cg_expand(cg_detach(src), a->ndim, a->shape);
    if (!b) return NULL;
    cg__copy_into(a, b);
    cg__bump_version(a);
    return a;
}

static cg_tensor *inplace(const char *fn, cg_tensor *a, cg_tensor *other, const double *s,
                          op_fn f) {
    cg__refresh_view(a);
    bool record = cg__grad_enabled && (cg__requires_grad(a) || (other && cg__requires_grad(other)));
    if (record && cg__check_view_write(fn, a) < 0) return NULL;
    if (cg__check_inplace(fn, a, false) < 0) return NULL;
    bool may_overlap = f == f_zero || f == f_fill || f == f_masked_fill; /* as PyTorch */
    if (!may_overlap && check_overlap(fn, a, other) < 0) return NULL;
    if (record && a->base && !cg__is_contiguous(a->base)) {
        cg__error(fn, "an in-place operation recorded on a view of a non-contiguous tensor is not "
                      "supported by cgrad; apply it to a clone");
        return NULL;
    }
    if (!record && f == f_copy && other->storage != a->storage) /* straight into a */
        return plain_copy(a, other);
    cg_tensor *self = record ? snapshot(a) : a, *r = NULL;
    if (!self) return NULL;
    if (record) {
        r = f(self, other, s);
    } else {
        CG_NO_GRAD { r = f(self, other, s); }
    }
    if (!r || check_result(fn, a, r) < 0) return NULL;
    if (record && a->base) return copy_slices(fn, a, r) == 0 ? a : NULL;
    cg__copy_into(a, r);
    cg__bump_version(a);
    if (record) { /* a's grad_fn becomes the node that made r */
        if (cg__unalias_saved(r->grad_fn, a->storage) < 0) return NULL;
        cg__node_retain(r->grad_fn);
        set_history(a, r->grad_fn);
        a->output_nr = r->output_nr;
        if (resave_output(r->grad_fn, r, a) < 0) return NULL;
    }
    return a;
}

/* ------------------------------------------------------------ arithmetic */

static cg_tensor *f_add(cg_tensor *a, cg_tensor *b, const double *s) {
    return b ? cg_add(a, b) : cg_add_scalar(a, *s);
}
static cg_tensor *f_sub(cg_tensor *a, cg_tensor *b, const double *s) {
    return b ? cg_sub(a, b) : cg_sub_scalar(a, *s);
}
static cg_tensor *f_mul(cg_tensor *a, cg_tensor *b, const double *s) {
    return b ? cg_mul(a, b) : cg_mul_scalar(a, *s);
}
static cg_tensor *f_div(cg_tensor *a, cg_tensor *b, const double *s) {
    return b ? cg_div(a, b) : cg_div_scalar(a, *s);
}

/* a op= b (or s): straight into a's storage when there is no graph to record */
static cg_tensor *arith(const char *fn, char op, op_fn f, cg_tensor *a, cg_tensor *b, double s) {
    bool record = cg__grad_enabled && (cg__requires_grad(a) || (b && cg__requires_grad(b)));
    if (record) return inplace(fn, a, b, (const double[2]){s, 0}, f);
    if (cg__check_inplace(fn, a, false) < 0 || check_overlap(fn, a, b) < 0) return NULL;
    return cg__binary_into(fn, op, a, b, s) == 0 ? a : NULL;
}

#define ARITH(name, op)                                                                            \
    cg_tensor *cg_##name##_(cg_tensor *a, cg_tensor *b) {                                          \
        return a && b ? arith("cg_" #name "_", op, f_##name, a, b, 0) : NULL;                      \
    }                                                                                              \
    cg_tensor *cg_##name##_scalar_(cg_tensor *a, double s) {                                       \
        return a ? arith("cg_" #name "_scalar_", op, f_##name, a, NULL, s) : NULL;                 \
    }
ARITH(add, '+')
ARITH(sub, '-')
ARITH(mul, '*')
ARITH(div, '/')

/* ----------------------------------------------------------- activations */

#define ACTIVATION(name)                                                                           \
    static cg_tensor *f_##name(cg_tensor *a, cg_tensor *b, const double *s) {                      \
        CG_UNUSED(b), CG_UNUSED(s);                                                                \
        return cg_##name(a);                                                                       \
    }                                                                                              \
    cg_tensor *cg_##name##_(cg_tensor *a) {                                                        \
        if (!a) return NULL;                                                                       \
        return inplace("cg_" #name "_", a, NULL, (const double[2]){0, 0}, f_##name);               \
    }
ACTIVATION(relu)
ACTIVATION(sigmoid)
ACTIVATION(tanh)
ACTIVATION(exp)
ACTIVATION(neg)

/* ---------------------------------------------- zero_, fill_ and copy_ */

/* a tensor like self holding v (or src broadcast), recorded as op */
static cg_tensor *filled(cg_op op, cg_tensor *self, cg_tensor *src, double v) {
    cg_tensor *out = src ? cg__tensor_new(self->dtype, self->ndim, self->shape) /* all written */
                         : cg_full(self->ndim, self->shape, v, self->dtype);
    if (!out) return NULL;
    if (src) {
        cg_tensor *b = cg_expand(cg_detach(src), self->ndim, self->shape);
        if (!b) return NULL;
        cg__copy_into(out, b);
    }
    cg_tensor *in[2] = {self, src};
    cg__record(op, out, src ? 2 : 1, in);
    return cg__recorded(out);
}

static cg_tensor *f_zero(cg_tensor *a, cg_tensor *b, const double *s) {
    CG_UNUSED(b), CG_UNUSED(s);
    return filled(CG_OP_ZERO, a, NULL, 0);
}
static cg_tensor *f_fill(cg_tensor *a, cg_tensor *b, const double *s) {
    CG_UNUSED(b);
    return filled(CG_OP_FILL, a, NULL, s[0]);
}
static cg_tensor *f_copy(cg_tensor *a, cg_tensor *src, const double *s) {
    CG_UNUSED(s);
    return filled(CG_OP_COPY, a, src, 0);
}
static cg_tensor *f_clamp(cg_tensor *a, cg_tensor *b, const double *s) {
    CG_UNUSED(b);
    return cg_clamp(a, s[0], s[1]);
}
static cg_tensor *f_masked_fill(cg_tensor *a, cg_tensor *mask, const double *s) {
    return cg_masked_fill(a, mask, s[0]);
}

cg_tensor *cg_zero_(cg_tensor *a) {
    return a ? inplace("cg_zero_", a, NULL, (const double[2]){0, 0}, f_zero) : NULL;
}
cg_tensor *cg_fill_(cg_tensor *a, double v) {
    return a ? inplace("cg_fill_", a, NULL, (const double[2]){v, 0}, f_fill) : NULL;
}
cg_tensor *cg_copy_(cg_tensor *dst, cg_tensor *src) {
    if (!dst || !src) return NULL;
    int nd;
    int64_t shape[CG_MAX_DIMS]; /* (nd): dst and src broadcast, which must be dst's */
    if (cg__broadcast_shape("cg_copy_", dst->ndim, dst->shape, src->ndim, src->shape, &nd, shape) <
        0)
        return NULL;
    if (!cg__same_shape(nd, shape, dst->ndim, dst->shape)) {
        cg__shape_error("cg_copy_", CG_MSG_OUTPUT_BROADCAST, dst->ndim, dst->shape, nd, shape);
        return NULL;
    }
    return inplace("cg_copy_", dst, src, (const double[2]){0, 0}, f_copy);
}
cg_tensor *cg_clamp_(cg_tensor *a, double min, double max) {
    return a ? inplace("cg_clamp_", a, NULL, (const double[2]){min, max}, f_clamp) : NULL;
}
cg_tensor *cg_masked_fill_(cg_tensor *a, cg_tensor *mask, double value) {
    return a && mask
               ? inplace("cg_masked_fill_", a, mask, (const double[2]){value, 0}, f_masked_fill)
               : NULL;
}

/* copy_: the old values of dst get no gradient; src gets it all (the engine
 * sums it to src's shape and casts it to src's dtype) */
int cg__bw_copy(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    if (CG_WANT(n, 0) && !(gi[0] = cg_zeros_like(go[0], 0))) return -1;
    gi[1] = go[0];
    return 0;
}

/* CopySlices: g (the base's shape) -> the base's old values get g except at
 * the view's positions, which get the wrapped op's gradient for the view's
 * old values; the op's other inputs get theirs */
int cg__bw_copy_slices(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *idx = cg__unpack(n, COPY_SLICES_POSITIONS);
    cg_node *F = n->wrapped;
    if (!idx) return -1;
    cg_tensor *gflat = cg_reshape(go[0], CG_SHAPE(-1)), *ix = cg_reshape(idx, CG_SHAPE(-1));
    cg_tensor *gs = cg_reshape(cg_gather(gflat, 0, ix), F->out_meta[0].ndim, F->out_meta[0].shape);
    if (!gs) return -1;
    cg_tensor *small[4] = {0},
              **gF = F->n_next <= 4 ? small : calloc((size_t)F->n_next, sizeof *gF);
    if (!gF) return cg__oom("cg_backward"), -1;
    int rc = cg__op_table[F->op].backward(F, &gs, gF);
    if (rc == 0 && gF[0] && !(gF[0] = cg__shape_grad(F, 0, gF[0]))) rc = -1;
    if (rc == 0 && CG_WANT(n, 0)) { /* g with the view's part replaced by the write's input's */
        cg_tensor *g = gF[0] ? cg_scatter(gflat, 0, ix, cg_reshape(gF[0], CG_SHAPE(-1)))
                             : cg_scatter_value(gflat, 0, ix, 0.0);
        if (!(gi[0] = cg_reshape(g, n->in_meta[0].ndim, n->in_meta[0].shape))) rc = -1;
    }
    for (int k = 1; k < F->n_next && rc == 0; k++) gi[k] = gF[k];
    if (gF != small) free(gF);
    return rc;
}

/* AsStrided (a view of the base after an in-place write): its gradient, at
 * its positions in a zero base */
int cg__bw_as_strided(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *idx = cg__unpack(n, AS_STRIDED_POSITIONS);
    if (!idx) return -1;
    const cg_meta *m = &n->in_meta[0];
    int64_t total = cg__numel(m->ndim, m->shape);
    cg_tensor *z = cg_zeros(CG_SHAPE(total), go[0]->dtype);
    gi[0] = cg_reshape(cg_scatter_add(z, 0, cg_reshape(idx, CG_SHAPE(-1)),
                                      cg_reshape(go[0], CG_SHAPE(-1))),
                       m->ndim, m->shape);
    return gi[0] ? 0 : -1;
}

/* ------------------------------------------------------------- cg_set */

/* t[index] = value: like x[i, j] = v in PyTorch, which writes through a view
 * of x (so the in-place rules for views apply); records nothing */
int cg_set(cg_tensor *t, const int64_t *index, double value) {
    if (!t) return -1;
    if (cg__check_inplace("cg_set", t, t->ndim > 0) < 0) return -1;
    int64_t off = cg__index_offset("cg_set", t, index);
    if (off < 0) return -1;
    cg__write_at(t, off, value);
    cg__bump_version(t);
    return 0;
}

/* ------------------------------------- the engine for inplace_more.c (ops.h) */

cg_tensor *cg__inplace(const char *fn, cg_tensor *a, cg_tensor *other, const double *s,
                       cg__inplace_fn f) {
    return a ? inplace(fn, a, other, s, f) : NULL;
}
