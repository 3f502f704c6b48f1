/* Custom functions (torch.autograd.Function): a user's forward and backward
 * callbacks, recorded as one node named by the function. The node is the
 * ctx the callbacks see. */
#include "../core/internal.h"

static int fail(const char *fn, const char *fmt, const char *name) {
    if (!cg_last_error()) cg__error(fn, fmt, name);
    return -1;
}

int cg_function_apply(const cg_function *fn, void *user, int n_in, cg_tensor *const *inputs,
                      int n_out, cg_tensor **outputs) {
    if (!fn || !fn->name || !fn->forward || !fn->backward) {
        cg__error("cg_function_apply", "a cg_function needs a name, a forward and a backward");
        return -1;
    }
    if (n_in < 0 || n_out <= 0 || (n_in && !inputs) || !outputs) {
        cg__error("cg_function_apply", "%s: bad input/output counts (%d, %d)", fn->name, n_in,
                  n_out);
        return -1;
    }
    for (int i = 0; i < n_in; i++) {
        if (!inputs[i]) return -1;
        cg__refresh_view(inputs[i]); /* before the node: its nexts are older */
    }
    cg_node *n = cg__node_new(CG_OP_CUSTOM, n_in, n_out);
    cg_custom *c = calloc(1, sizeof *c);
    if (!n || !c) {
        free(c);
        cg__node_release(n);
        cg__oom("cg_function_apply");
        return -1;
    }
    n->custom = c;
    c->fn = fn;
    c->user = user;
    bool record = false;
    for (int i = 0; i < n_in; i++) {
        bool rg = cg__grad_enabled && cg__requires_grad(inputs[i]);
        record |= rg;
        if (rg && i < 64) c->needs_input_grad |= 1ull << i;
    }
    for (int i = 0; i < n_out; i++) outputs[i] = NULL;
    bool prev = cg_set_grad_enabled(false);
    c->in_forward = true;
    int rc = fn->forward(n, n_in, inputs, n_out, outputs, user);
    c->in_forward = false;
    cg_set_grad_enabled(prev);
    for (int i = 0; rc == 0 && i < n_out; i++)
        if (!outputs[i])
            rc = fail("cg_function_apply", "%s: forward left an output NULL", fn->name);
    if (rc != 0) {
        fail("cg_function_apply", "%s: forward failed", fn->name);
        cg__node_release(n);
        for (int i = 0; i < n_out; i++) outputs[i] = NULL;
        return -1;
    }
    /* an input returned as is becomes a new alias, which can carry the node */
    for (int i = 0; i < n_out; i++)
        for (int k = 0; k < n_in; k++)
            if (outputs[i] == inputs[k]) {
                cg_tensor *o = outputs[i];
                if (!(outputs[i] = cg__tensor_view(o, o->ndim, o->shape, o->strides, o->offset)))
                    rc = -1;
            }
    if (!record || rc != 0) {
        cg__node_release(n);
        return rc;
    }
    /* saved outputs must not hold their own node: keep aliases instead */
    for (int s = 0; s < n->n_saved; s++)
        for (int i = 0; i < n_out; i++)
            if (n->saved[s].t == outputs[i]) {
                cg_release(n->saved[s].t);
                n->saved[s].t = NULL;
                if (cg__save(n, s, outputs[i], true) < 0) rc = -1;
            }
    if (cg__node_connect(n, inputs) < 0) rc = -1;
    cg_tensor **outs = calloc((size_t)n_out, sizeof *outs); /* marked outputs: NULL */
    if (!outs) rc = -1;
    for (int i = 0; i < n_out && rc == 0; i++) {
        bool marked = false;
        for (int k = 0; k < c->n_marked; k++) marked |= c->marked[k] == outputs[i];
        outs[i] = marked ? NULL : outputs[i];
    }
    if (rc == 0) cg__node_attach(n, outs);
    free(outs);
    cg__node_release(n); /* the creation reference */
    return rc;
}

int cg_ctx_save_for_backward(cg_ctx *ctx, int count, cg_tensor *const *tensors) {
    if (!ctx || !ctx->custom || !ctx->custom->in_forward) {
        cg__error("cg_ctx_save_for_backward", "save_for_backward can only be called in forward");
        return -1;
    }
    if (count < 0 || (count && !tensors)) {
        cg__error("cg_ctx_save_for_backward", "bad tensor count %d", count);
        return -1;
    }
    if (cg__node_reserve_saved(ctx, ctx->n_saved + count) < 0) {
        cg__oom("cg_ctx_save_for_backward");
        return -1;
    }
    int base = ctx->n_saved;
    for (int i = 0; i < count; i++) {
        if (!tensors[i]) { /* None is allowed, as in PyTorch */
            if (ctx->n_saved <= base + i) ctx->n_saved = base + i + 1;
            ctx->saved[base + i].t = NULL;
            continue;
        }
        if (cg__save(ctx, base + i, tensors[i], false) < 0) return -1;
    }
    return 0;
}

cg_tensor *cg_ctx_saved(cg_ctx *ctx, int i) {
    if (!ctx || !ctx->custom) {
        cg__error("cg_ctx_saved", "not a custom function's ctx");
        return NULL;
    }
    if (i < 0 || (i >= ctx->n_saved && !ctx->released)) {
        cg__error("cg_ctx_saved", "saved tensor index %d out of range (%d saved)", i, ctx->n_saved);
        return NULL;
    }
    if (!ctx->released && !ctx->saved[i].t) return NULL; /* saved None */
    return cg__unpack(ctx, i);
}

int cg_ctx_mark_non_differentiable(cg_ctx *ctx, cg_tensor *output) {
    if (!ctx || !ctx->custom || !ctx->custom->in_forward || !output) {
        cg__error("cg_ctx_mark_non_differentiable",
                  "mark_non_differentiable takes an output, in forward");
        return -1;
    }
    cg_custom *c = ctx->custom;
    if (c->n_marked == CG_CUSTOM_MAX_MARKED) {
        cg__error("cg_ctx_mark_non_differentiable", "at most %d outputs can be marked",
                  CG_CUSTOM_MAX_MARKED);
        return -1;
    }
    c->marked[c->n_marked++] = output;
    return 0;
}

bool cg_ctx_needs_input_grad(const cg_ctx *ctx, int i) {
    if (!ctx || !ctx->custom || i < 0) return false;
    if (ctx->custom->in_forward) return i < 64 && (ctx->custom->needs_input_grad >> i & 1);
    return i < ctx->n_next && ctx->next[i].fn != NULL;
}

int cg__bw_custom(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    const cg_function *fn = n->custom->fn;
    if (fn->backward(n, n->n_out, go, n->n_next, gi, n->custom->user) != 0)
        return fail("cg_backward", "%s: backward failed", fn->name);
    return 0;
}
