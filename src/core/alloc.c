/* Per-thread caches of freed small blocks (tensor structs, small storages,
 * small nodes): the ops of a training step reuse the last step's blocks
 * instead of going through malloc. Flushed by cg_root_scope_drain (so at
 * exit too). */
#include "internal.h"

#define CACHE_DEPTH 1024

typedef struct {
    void *v[CACHE_DEPTH];
    int n;
} block_cache;

static _Thread_local block_cache caches[CG_NUM_CACHES];

void *cg__cache_alloc(int cls, size_t size) {
    block_cache *c = &caches[cls];
    return c->n ? c->v[--c->n] : malloc(size);
}

void cg__cache_free(int cls, void *p) {
    block_cache *c = &caches[cls];
    if (c->n < CACHE_DEPTH)
        c->v[c->n++] = p;
    else
        free(p);
}

void cg__cache_flush(void) {
    for (int k = 0; k < CG_NUM_CACHES; k++) {
        while (caches[k].n) free(caches[k].v[--caches[k].n]);
    }
}
