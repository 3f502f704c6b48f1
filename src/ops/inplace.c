/* In-place ops: a.add_(b), a.relu_(), a.zero_(), a.copy_(src), ...
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
 * - An in-place op recorded on a view of a tensor that requires grad would
 *   need PyTorch's CopySlices to reach the base's history; it is refused. */
#include "../core/internal.h"

#include <math.h>

/* an op on self (and other, or the scalars s[0], s[1]) */
typedef cg_tensor *(*op_fn)(cg_tensor *self, cg_tensor *other, const double *s);

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

static int check_result(const char *fn, const cg_tensor *a, const cg_tensor *r) {
    if (r->ndim != a->ndim || memcmp(r->shape, a->shape, sizeof(int64_t) * (size_t)a->ndim)) {
        char o[256], b[256];
        cg__shape_str(o, sizeof o, a->ndim, a->shape);
        cg__shape_str(b, sizeof b, r->ndim, r->shape);
        cg__error(fn, "output with shape %s doesn't match the broadcast shape %s", o, b);
        return -1;
    }
    if (cg__category(r->dtype) > cg__category(a->dtype)) {
        cg__error(fn, "result type %s can't be cast to the desired output type %s",
                  cg__scalar_type_name(r->dtype), cg__scalar_type_name(a->dtype));
        return -1;
    }
    return 0;
}

/* a's grad_fn becomes the node that made r */
static void rebase(cg_tensor *a, cg_tensor *r) {
    bool retained = a->retains_grad;
    if (retained) cg__unhook_retain(a);
    cg_node *old = a->grad_fn;
    a->grad_fn = r->grad_fn;
    a->output_nr = r->output_nr;
    cg__node_retain(a->grad_fn);
    cg__node_release(old);
    if (retained) cg_retain_grad(a);
}

static cg_tensor *inplace(const char *fn, cg_tensor *a, cg_tensor *other, const double *s, op_fn f) {
    if (cg__check_inplace(fn, a, false) < 0) return NULL;
    bool record = cg__grad_enabled && (cg__requires_grad(a) || (other && cg__requires_grad(other)));
    if (record && a->base && cg__requires_grad(a->base)) {
        cg__error(fn, "an in-place operation on a view of a tensor that requires grad is not "
                      "supported by cgrad; apply it to a clone of the view");
        return NULL;
    }
    cg_tensor *self = record ? snapshot(a) : a, *r = NULL;
    if (!self) return NULL;
    if (record) {
        r = f(self, other, s);
    } else {
        CG_NO_GRAD { r = f(self, other, s); }
    }
    if (!r || check_result(fn, a, r) < 0) return NULL;
    cg__copy_into(a, r);
    cg__bump_version(a);
    if (record) rebase(a, r);
    return a;
}

/* ------------------------------------------------------------ arithmetic */

static cg_tensor *f_add(cg_tensor *a, cg_tensor *b, const double *s) { return b ? cg_add(a, b) : cg_add_scalar(a, *s); }
static cg_tensor *f_sub(cg_tensor *a, cg_tensor *b, const double *s) { return b ? cg_sub(a, b) : cg_sub_scalar(a, *s); }
static cg_tensor *f_mul(cg_tensor *a, cg_tensor *b, const double *s) { return b ? cg_mul(a, b) : cg_mul_scalar(a, *s); }
static cg_tensor *f_div(cg_tensor *a, cg_tensor *b, const double *s) { return b ? cg_div(a, b) : cg_div_scalar(a, *s); }

/* a op= b (or s): straight into a's storage when there is no graph to record */
static cg_tensor *arith(const char *fn, char op, op_fn f, cg_tensor *a, cg_tensor *b, double s) {
    bool record = cg__grad_enabled && (cg__requires_grad(a) || (b && cg__requires_grad(b)));
    if (record) return inplace(fn, a, b, (const double[2]){s, 0}, f);
    if (cg__check_inplace(fn, a, false) < 0) return NULL;
    return cg__binary_into(fn, op, a, b, s) == 0 ? a : NULL;
}

#define ARITH(name, op)                                                                    \
    cg_tensor *cg_##name##_(cg_tensor *a, cg_tensor *b) {                                  \
        return a && b ? arith("cg_" #name "_", op, f_##name, a, b, 0) : NULL;              \
    }                                                                                      \
    cg_tensor *cg_##name##_scalar_(cg_tensor *a, double s) {                               \
        return a ? arith("cg_" #name "_scalar_", op, f_##name, a, NULL, s) : NULL;         \
    }
ARITH(add, '+')
ARITH(sub, '-')
ARITH(mul, '*')
ARITH(div, '/')

/* ----------------------------------------------------------- activations */

#define ACTIVATION(name)                                                                   \
    static cg_tensor *f_##name(cg_tensor *a, cg_tensor *b, const double *s) {              \
        CG_UNUSED(b), CG_UNUSED(s);                                                        \
        return cg_##name(a);                                                               \
    }                                                                                      \
    cg_tensor *cg_##name##_(cg_tensor *a) {                                                \
        return a ? inplace("cg_" #name "_", a, NULL, (const double[2]){0, 0}, f_##name) : NULL; \
    }
ACTIVATION(relu)
ACTIVATION(sigmoid)
ACTIVATION(tanh)
ACTIVATION(exp)
ACTIVATION(neg)

/* ---------------------------------------------- zero_, fill_ and copy_ */

/* a tensor like self holding v (or src broadcast), recorded as op */
static cg_tensor *filled(cg_op op, cg_tensor *self, cg_tensor *src, double v) {
    cg_tensor *out = cg_full(self->ndim, self->shape, v, self->dtype);
    if (!out) return NULL;
    if (src) {
        cg_tensor *b = cg_expand(cg_detach(src), self->ndim, self->shape);
        if (!b) return NULL;
        cg__copy_into(out, b);
    }
    cg_tensor *in[2] = {self, src};
    cg__record(op, out, src ? 2 : 1, in);
    return out;
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
    return dst && src ? inplace("cg_copy_", dst, src, (const double[2]){0, 0}, f_copy) : NULL;
}
cg_tensor *cg_clamp_(cg_tensor *a, double min, double max) {
    return a ? inplace("cg_clamp_", a, NULL, (const double[2]){min, max}, f_clamp) : NULL;
}
cg_tensor *cg_masked_fill_(cg_tensor *a, cg_tensor *mask, double value) {
    return a && mask ? inplace("cg_masked_fill_", a, mask, (const double[2]){value, 0}, f_masked_fill)
                     : NULL;
}

/* copy_: the old values of dst get no gradient; src gets it all (the engine
 * sums it to src's shape and casts it to src's dtype) */
int cg__bw_copy(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    if (n->next[0].fn && !(gi[0] = cg_zeros_like(go[0], 0))) return -1;
    gi[1] = go[0];
    return 0;
}
