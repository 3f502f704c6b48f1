/* The autograd face of a tensor: requires_grad, is_leaf, grad_fn, .grad,
 * detach. */
#include "../core/internal.h"

bool cg_requires_grad(const cg_tensor *t) { return t && cg__requires_grad(t); }

cg_tensor *cg_requires_grad_(cg_tensor *t, bool requires_grad) {
    if (!t) return NULL;
    if (t->grad_fn) {
        if (requires_grad) return t; /* already requires grad */
        cg__error("cg_requires_grad_",
                  "you can only change requires_grad flags of leaf variables. If you want to use a "
                  "computed variable in a subgraph that doesn't require differentiation use "
                  "var_no_grad = var.detach().");
        return NULL;
    }
    if (requires_grad && t->inference && !cg__inference_mode) {
        cg__error(
            "cg_requires_grad_",
            "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.");
        return NULL;
    }
    if (requires_grad && !cg_dtype_is_floating(t->dtype)) {
        cg__error("cg_requires_grad_",
                  "only Tensors of floating point dtype can require gradients");
        return NULL;
    }
    t->requires_grad = requires_grad;
    return t;
}

static bool leaf_requiring_grad(const cg_tensor *t) { return t->requires_grad && !t->grad_fn; }

#define MULTI_VIEW_TAIL                                                                            \
    "This view is the output of a function that returns multiple views. Such functions do not "    \
    "allow the output views to be modified inplace. You should replace the inplace operation by "  \
    "an out-of-place one."
#define NO_GRAD_VIEW_HEAD                                                                          \
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "

int cg__check_view_write(const char *fn, const cg_tensor *t) {
    if (!t->base) return 0;
    if (t->no_grad_view) {
        cg__error(
            fn, NO_GRAD_VIEW_HEAD
            "Given that this use case is ambiguous and error-prone, it is forbidden. You can "
            "clarify your code by moving both the view and the inplace either both inside the "
            "no_grad block (if you don't want the inplace to be tracked) or both outside (if "
            "you want the inplace to be tracked).");
        return -1;
    }
    if (t->multi_view && t->grad_fn) {
        cg__error(fn, "Output %d of %s is a view and is being modified inplace. " MULTI_VIEW_TAIL,
                  t->output_nr, cg__node_name(t->grad_fn));
        return -1;
    }
    if (t->multi_view) {
        cg__error(fn, NO_GRAD_VIEW_HEAD MULTI_VIEW_TAIL);
        return -1;
    }
    return 0;
}

int cg__check_inplace(const char *fn, const cg_tensor *t, bool through_view) {
    if (t->inference && !cg__inference_mode) {
        cg__error(fn, "Inplace update to inference tensor outside InferenceMode is not allowed.You "
                      "can make a clone to get a normal tensor before doing inplace update.See "
                      "https://github.com/pytorch/rfcs/pull/17 for more details.");
        return -1;
    }
    if (!cg__grad_enabled || !cg__requires_grad(t)) return 0;
    /* PyTorch: a view (that requires grad) of a leaf, requiring grad or not */
    if ((t->base && !t->base->grad_fn) || (through_view && leaf_requiring_grad(t))) {
        cg__error(fn, "a view of a leaf Variable that requires grad is being used in an in-place "
                      "operation.");
        return -1;
    }
    if (leaf_requiring_grad(t)) {
        cg__error(fn, "a leaf Variable that requires grad is being used in an in-place operation.");
        return -1;
    }
    return 0;
}

void cg__bump_version(cg_tensor *t) {
    if (!(t->inference && cg__inference_mode)) t->storage->version++;
}

bool cg_is_leaf(const cg_tensor *t) { return t && !t->grad_fn; }
cg_node *cg_grad_fn(const cg_tensor *t) {
    if (t) cg__refresh_view((cg_tensor *)t); /* a tensor's history may be stale, not its value */
    return t ? t->grad_fn : NULL;
}
cg_tensor *cg_grad(const cg_tensor *t) { return t ? t->grad : NULL; }

int cg_zero_grad(cg_tensor *t) {
    if (!t) return -1;
    if (t->grad) {
        memset(cg__ptr(t->grad), 0,
               (size_t)cg__numel(t->grad->ndim, t->grad->shape) * cg__esize(t->grad->dtype));
        t->grad->storage->version++;
    }
    return 0;
}

void cg_clear_grad(cg_tensor *t) {
    if (!t || !t->grad) return;
    cg_tensor *g = t->grad;
    t->grad = NULL;
    cg_release(g);
}

cg_tensor *cg_detach(cg_tensor *t) {
    if (!t) return NULL;
    return cg__tensor_view(t, t->ndim, t->shape, t->strides, t->offset);
}

cg_tensor *cg_detach_(cg_tensor *t) {
    if (!t) return NULL;
    if (t->base) {
        cg__error("cg_detach_",
                  "Can't detach views in-place. Use detach() instead. If you are using "
                  "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                  "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                  "called on these gradients. To fix this error, please refer to the "
                  "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.");
        return NULL;
    }
    cg__unhook_retain(t);
    /* its AccumulateGrad stays, as PyTorch's: it adds nothing while t needs
     * no grad, and again once t requires grad (cg__drop_accumulator lets go
     * of t if t gains a history instead) */
    cg_node *fn = t->grad_fn;
    t->grad_fn = NULL;
    t->requires_grad = false;
    t->output_nr = 0;
    cg__node_release(fn);
    return t;
}
