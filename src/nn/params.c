/* A registry of named parameters: what a model exposes to optimizers and to
 * checkpoints (names follow PyTorch's state_dict keys). */
#include "cgrad.h"

#include <stdlib.h>
#include <string.h>

struct cg_params {
    int n, cap;
    char **names;        /* (n) */
    cg_tensor **tensors; /* (n) retained */
};

cg_params *cg_params_new(void) {
    cg_params *p = calloc(1, sizeof *p);
    if (!p) cg_error_in("cg_params_new", "out of memory");
    return p;
}

void cg_params_free(cg_params *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        free(p->names[i]);
        cg_release(p->tensors[i]);
    }
    free(p->names);
    free(p->tensors);
    free(p);
}

/* room for one more entry; 0 or -1 */
static int grow(cg_params *p) {
    if (p->n < p->cap) return 0;
    int c = p->cap ? 2 * p->cap : 16;
    char **nn = realloc(p->names, (size_t)c * sizeof *nn);
    if (!nn) return -1;
    p->names = nn;
    cg_tensor **nt = realloc(p->tensors, (size_t)c * sizeof *nt);
    if (!nt) return -1;
    p->tensors = nt;
    p->cap = c;
    return 0;
}

cg_tensor *cg_params_add(cg_params *p, const char *name, cg_tensor *t) {
    if (!p || !name || !t) return NULL;
    if (cg_params_find(p, name)) {
        cg_error_in("cg_params_add", "attribute '%s' already exists", name);
        return NULL;
    }
    for (int i = 0; i < p->n; i++)
        if (p->tensors[i] == t) { /* a tied weight is registered once, like parameters() */
            cg_error_in("cg_params_add", "'%s' is already registered as '%s'", name, p->names[i]);
            return NULL;
        }
    size_t len = strlen(name) + 1;
    char *copy = grow(p) == 0 ? malloc(len) : NULL;
    if (!copy) {
        cg_error_in("cg_params_add", "out of memory");
        return NULL;
    }
    memcpy(copy, name, len);
    p->names[p->n] = copy;
    p->tensors[p->n++] = cg_retain(t);
    return t;
}

int cg_params_count(const cg_params *p) { return p ? p->n : 0; }

int64_t cg_params_numel(const cg_params *p) {
    int64_t total = 0;
    for (int i = 0; p && i < p->n; i++) total += cg_numel(p->tensors[i]);
    return total;
}

cg_tensor *cg_params_get(const cg_params *p, int i, const char **name) {
    if (!p || i < 0 || i >= p->n) {
        cg_error_in("cg_params_get", "parameter index %d out of range", i);
        return NULL;
    }
    if (name) *name = p->names[i];
    return p->tensors[i];
}

cg_tensor *cg_params_find(const cg_params *p, const char *name) {
    for (int i = 0; p && name && i < p->n; i++)
        if (!strcmp(p->names[i], name)) return p->tensors[i];
    return NULL;
}

cg_tensor *const *cg_params_tensors(const cg_params *p) { return p ? p->tensors : NULL; }

void cg_params_zero_grad(cg_params *p, bool set_to_none) {
    for (int i = 0; p && i < p->n; i++) {
        if (set_to_none)
            cg_clear_grad(p->tensors[i]);
        else
            cg_zero_grad(p->tensors[i]);
    }
}
