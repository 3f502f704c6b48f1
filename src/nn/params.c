/* A registry of named parameters: what a model exposes to optimizers and to
 * checkpoints (names follow PyTorch's state_dict keys). */
#include "cgrad.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Names and tensors are indexed by two open-addressing hash tables of entry
 * indices (-1: empty), 2 cap slots each, so that adding n parameters is O(n). */
struct cg_params {
    int n, cap;
    char **names;        /* (n) */
    cg_tensor **tensors; /* (n) retained */
    int *by_name;        /* (2 cap) */
    int *by_tensor;      /* (2 cap) */
};

static size_t hash_name(const char *s) { /* FNV-1a */
    uint64_t h = 14695981039346656037u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

static size_t hash_tensor(const cg_tensor *t) {
    uint64_t h = (uint64_t)(uintptr_t)t * 0x9e3779b97f4a7c15u;
    return (size_t)(h ^ h >> 32);
}

/* the slot of name in p->by_name, or the empty slot where it would go */
static size_t name_slot(const cg_params *p, const char *name) {
    size_t mask = 2 * (size_t)p->cap - 1, i = hash_name(name) & mask;
    while (p->by_name[i] >= 0 && strcmp(p->names[p->by_name[i]], name) != 0) i = (i + 1) & mask;
    return i;
}

static size_t tensor_slot(const cg_params *p, const cg_tensor *t) {
    size_t mask = 2 * (size_t)p->cap - 1, i = hash_tensor(t) & mask;
    while (p->by_tensor[i] >= 0 && p->tensors[p->by_tensor[i]] != t) i = (i + 1) & mask;
    return i;
}

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
    free(p->by_name);
    free(p->by_tensor);
    free(p);
}

/* room for one more entry, the hash tables rebuilt for the new capacity; 0 or -1 */
static int grow(cg_params *p) {
    if (p->n < p->cap) return 0;
    if (p->cap > INT32_MAX / 4) return -1;
    int c = p->cap ? 2 * p->cap : 16;
    char **nn = realloc(p->names, (size_t)c * sizeof *nn);
    if (!nn) return -1;
    p->names = nn;
    cg_tensor **nt = realloc(p->tensors, (size_t)c * sizeof *nt);
    if (!nt) return -1;
    p->tensors = nt;
    int *bn = malloc(2 * (size_t)c * sizeof *bn), *bt = malloc(2 * (size_t)c * sizeof *bt);
    if (!bn || !bt) {
        free(bn);
        free(bt);
        return -1;
    }
    free(p->by_name);
    free(p->by_tensor);
    p->by_name = bn, p->by_tensor = bt, p->cap = c;
    memset(bn, -1, 2 * (size_t)c * sizeof *bn); /* all bytes 0xff: -1 */
    memset(bt, -1, 2 * (size_t)c * sizeof *bt);
    for (int i = 0; i < p->n; i++) {
        bn[name_slot(p, p->names[i])] = i;
        bt[tensor_slot(p, p->tensors[i])] = i;
    }
    return 0;
}

cg_tensor *cg_params_add(cg_params *p, const char *name, cg_tensor *t) {
    if (!p || !name || !t) return NULL;
    if (cg_params_find(p, name)) {
        cg_error_in("cg_params_add", "attribute '%s' already exists", name);
        return NULL;
    }
    int same = p->n ? p->by_tensor[tensor_slot(p, t)] : -1;
    if (same >= 0) { /* a tied weight is registered once, like parameters() */
        cg_error_in("cg_params_add", "'%s' is already registered as '%s'", name, p->names[same]);
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
    p->tensors[p->n] = cg_retain(t);
    p->by_name[name_slot(p, copy)] = p->n;
    p->by_tensor[tensor_slot(p, t)] = p->n;
    p->n++;
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
    if (!p || !name || !p->n) return NULL;
    int i = p->by_name[name_slot(p, name)];
    return i >= 0 ? p->tensors[i] : NULL;
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
