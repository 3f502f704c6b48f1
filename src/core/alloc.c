/* Per-thread caches of freed blocks, so that the ops of a training step
 * reuse the last step's blocks instead of going through malloc (and, for
 * large buffers, through mmap, page faults and munmap):
 * - fixed-size classes: tensor structs, small storages, small nodes;
 * - large storage blocks, binned by exact size, up to a byte budget.
 * Flushed by cg_root_scope_drain (so at exit too). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#define CG_ALLOC_IMPL   /* the real malloc & co. below */
#include "internal.h"

#include <sys/mman.h>

/* ------------------------------------------------------- fault injection */

/* Allocations counted since cg__alloc_fault_at; the one numbered fail_at
 * (1-based) fails. Atomic: threads may allocate while a test counts. */
static atomic_long alloc_count, fail_at;

void cg__alloc_fault_at(long k) {
    atomic_store(&alloc_count, 0);
    atomic_store(&fail_at, k);
}

long cg__alloc_count(void) { return atomic_load(&alloc_count); }

/* Counts one allocation; true when it is the one to fail. */
static bool fault(void) {
    long k = atomic_load_explicit(&fail_at, memory_order_relaxed);
    if (k <= 0) return false;
    return atomic_fetch_add(&alloc_count, 1) + 1 == k;
}

void *cg__malloc(size_t n) { return fault() ? NULL : malloc(n); }
void *cg__calloc(size_t n, size_t size) { return fault() ? NULL : calloc(n, size); }
void *cg__realloc(void *p, size_t n) { return fault() ? NULL : realloc(p, n); }
void *cg__aligned_alloc(size_t align, size_t n) { return fault() ? NULL : aligned_alloc(align, n); }

/* CGRAD_POISON=1 in the environment (or a -DCGRAD_POISON=ON build): no
 * block is cached, so every freed block goes back to malloc, where ASan and
 * valgrind see a use after release. */
static atomic_int poison = -1;
static bool poisoning(void) {
    if (poison < 0) {
#ifdef CGRAD_POISON
        poison = 1;
#else
        const char *e = getenv("CGRAD_POISON");
        poison = e && e[0] && strcmp(e, "0") != 0;
#endif
    }
    return poison == 1;
}

/* ---------------------------------------------------------- block caches */

#define CACHE_DEPTH 1024

typedef struct {
    void *v[CACHE_DEPTH];
    int n;
} block_cache;

static _Thread_local block_cache caches[CG_NUM_CACHES];

void *cg__cache_alloc(int cls, size_t size) {
    block_cache *c = &caches[cls];
    if (fault()) return NULL;
    return c->n ? c->v[--c->n] : malloc(size);
}

void cg__cache_free(int cls, void *p) {
    block_cache *c = &caches[cls];
    if (c->n < CACHE_DEPTH && !poisoning())
        c->v[c->n++] = p;
    else
        free(p);
}

/* large blocks: a few blocks for each of a few sizes, within a budget */
#define LARGE_BINS 64
#define LARGE_PER_BIN 8
#define LARGE_BUDGET ((size_t)48 << 20)

typedef struct {
    size_t size; /* 0: an empty bin */
    int n;
    void *v[LARGE_PER_BIN];
} large_bin;

static _Thread_local large_bin large[LARGE_BINS];
static _Thread_local size_t large_bytes;

/* Blocks from LARGE_MAP_MIN bytes are mapped and unmapped directly, so a
 * freed one goes back to the system at once: through malloc, glibc raises
 * its mmap threshold as such blocks are freed (up to 32 MiB) and then keeps
 * them in its heap, where freed pages stay resident (a GPT-2 small step
 * peaked 160 MB higher so). Smaller blocks stay with malloc, whose heap
 * reuses them without page faults (1 MiB here doubled chargpt_step's page
 * faults). Not when poisoning, for ASan's reports. */
#define LARGE_MAP_MIN ((size_t)8 << 20)

static bool mapped(size_t size) { return size >= LARGE_MAP_MIN && !poisoning(); }

static void *block_new(size_t size) {
    if (!mapped(size)) return aligned_alloc(64, size);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE); /* fewer faults and TLB misses; advice only */
#endif
    return p;
}

static void block_free(void *p, size_t size) {
    if (mapped(size))
        munmap(p, size);
    else
        free(p);
}

void *cg__large_alloc(size_t size) {
    if (fault()) return NULL;
    for (int i = 0; i < LARGE_BINS; i++)
        if (large[i].size == size && large[i].n) {
            large_bytes -= size;
            return large[i].v[--large[i].n];
        }
    return block_new(size);
}

void cg__large_free(void *p, size_t size) {
    if (large_bytes + size <= LARGE_BUDGET && !poisoning()) {
        large_bin *spare = NULL;
        for (int i = 0; i < LARGE_BINS; i++) {
            if (large[i].size == size && large[i].n < LARGE_PER_BIN) {
                large[i].v[large[i].n++] = p;
                large_bytes += size;
                return;
            }
            if (!spare && large[i].n == 0) spare = &large[i];
        }
        if (spare) {
            spare->size = size;
            spare->v[0] = p;
            spare->n = 1;
            large_bytes += size;
            return;
        }
    }
    block_free(p, size);
}

void cg__cache_flush(void) {
    for (int k = 0; k < CG_NUM_CACHES; k++) {
        while (caches[k].n) free(caches[k].v[--caches[k].n]);
    }
    for (int i = 0; i < LARGE_BINS; i++) {
        while (large[i].n) block_free(large[i].v[--large[i].n], large[i].size);
        large[i].size = 0;
    }
    large_bytes = 0;
}
