/* Tensor hooks: gradient hooks (on a non-leaf's grad_fn output slot, or on a
 * leaf itself), retain_grad, and post-accumulate hooks on leaves. */
#include "../core/internal.h"

static int next_id = 1;

static cg_hook *add(cg_hook **list, cg_hook_kind kind, int slot) {
    cg_hook *h = calloc(1, sizeof *h);
    if (!h) return cg__oom("cg_register_hook");
    h->id = next_id++;
    h->kind = kind;
    h->slot = slot;
    cg_hook **p = list; /* hooks run in the order they were registered */
    while (*p) p = &(*p)->next;
    *p = h;
    return h;
}

static int check(const char *fn, const cg_tensor *t) {
    if (!t) {
        cg__error(fn, "expected a tensor, got NULL");
        return -1;
    }
    if (!cg__requires_grad(t)) {
        cg__error(fn, "cannot register a hook on a tensor that doesn't require gradient");
        return -1;
    }
    return 0;
}

int cg_register_hook(cg_tensor *t, cg_grad_hook fn, void *ctx) {
    if (check("cg_register_hook", t) < 0) return -1;
    if (!fn) {
        cg__error("cg_register_hook", "hook function is NULL");
        return -1;
    }
    cg_hook *h = t->grad_fn ? add(&t->grad_fn->hooks, CG_HOOK_GRAD, t->output_nr)
                            : add(&t->hooks, CG_HOOK_GRAD, 0);
    if (!h) return -1;
    h->fn = fn;
    h->ctx = ctx;
    return h->id;
}

int cg_register_post_accumulate_grad_hook(cg_tensor *t, cg_post_accumulate_hook fn, void *ctx) {
    if (check("cg_register_post_accumulate_grad_hook", t) < 0) return -1;
    if (t->grad_fn) {
        cg__error("cg_register_post_accumulate_grad_hook",
                  "post accumulate grad hooks cannot be registered on non-leaf tensors");
        return -1;
    }
    if (!fn) {
        cg__error("cg_register_post_accumulate_grad_hook", "hook function is NULL");
        return -1;
    }
    cg_hook *h = add(&t->hooks, CG_HOOK_POST_ACCUMULATE, 0);
    if (!h) return -1;
    h->post = fn;
    h->ctx = ctx;
    return h->id;
}

static bool unlink_hook(cg_hook **list, int id) {
    for (cg_hook **p = list; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            cg_hook *h = *p;
            *p = h->next;
            free(h);
            return true;
        }
    }
    return false;
}

int cg_remove_hook(cg_tensor *t, int handle) {
    if (!t) return -1;
    if (unlink_hook(&t->hooks, handle) || (t->grad_fn && unlink_hook(&t->grad_fn->hooks, handle)))
        return 0;
    cg__error("cg_remove_hook", "no hook with handle %d on this tensor", handle);
    return -1;
}

int cg_retain_grad(cg_tensor *t) {
    if (!t) return -1;
    if (!cg__requires_grad(t)) {
        cg__error("cg_retain_grad", "can't retain_grad on Tensor that has requires_grad=False");
        return -1;
    }
    if (!t->grad_fn || t->retains_grad) return 0; /* leaves keep .grad anyway */
    cg_hook *h = add(&t->grad_fn->hooks, CG_HOOK_RETAIN, t->output_nr);
    if (!h) return -1;
    h->retain = t;
    t->retains_grad = true;
    return 0;
}

bool cg_retains_grad(const cg_tensor *t) { return t && t->retains_grad; }

/* A tensor that dies (or is detached) stops retaining its gradient. */
void cg__unhook_retain(cg_tensor *t) {
    if (!t->retains_grad || !t->grad_fn) return;
    for (cg_hook **p = &t->grad_fn->hooks; *p;) {
        if ((*p)->kind == CG_HOOK_RETAIN && (*p)->retain == t) {
            cg_hook *h = *p;
            *p = h->next;
            free(h);
        } else {
            p = &(*p)->next;
        }
    }
    t->retains_grad = false;
}

void cg__free_hooks(cg_tensor *t) {
    for (cg_hook *h = t->hooks, *nx; h; h = nx) {
        nx = h->next;
        free(h);
    }
    t->hooks = NULL;
}
