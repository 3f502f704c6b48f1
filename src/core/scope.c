/* Scopes: autorelease pools of tensors (NOTE [ Ownership ] in internal.h).
 * Per thread: one array of owned tensors; each open scope remembers where it
 * began. A kept tensor gets an extra reference, handed to the enclosing scope
 * when the inner one ends. */
#include "internal.h"

typedef struct {
    cg_tensor *t;
    int depth;
} kept_entry;

typedef struct {
    cg_tensor **items; /* (n) owned references, oldest first */
    size_t n, cap;
    size_t *marks; /* (depth) start of each open scope in items */
    int depth, mcap;
    int phantom;      /* scopes opened when marks could not grow: they own nothing */
    kept_entry *kept; /* (nkept) pending moves to the enclosing scope */
    size_t nkept, kcap;
    bool atexit_registered;
} scope_state;

static _Thread_local scope_state S;

static void drain_at_exit(void) { cg_root_scope_drain(); }

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

int cg__scope_add(cg_tensor *t) {
    if (!grow((void **)&S.items, &S.cap, S.n + 1, sizeof *S.items)) {
        cg__oom("cg_scope_add");
        return -1;
    }
    if (!S.atexit_registered) {
        S.atexit_registered = true;
        atexit(drain_at_exit);
    }
    S.items[S.n++] = t;
    return 0;
}

/* Out of memory, a scope still opens, as a phantom: it records nothing and
 * its tensors stay with the enclosing scope, so cg_scope_end stays balanced. */
int cg_scope_begin(void) {
    size_t mc = (size_t)S.mcap;
    if (S.phantom || !grow((void **)&S.marks, &mc, (size_t)S.depth + 1, sizeof *S.marks)) {
        S.phantom++;
        cg__oom("cg_scope_begin");
        return -1;
    }
    S.mcap = (int)mc;
    S.marks[S.depth++] = S.n;
    return 0;
}

static void release_from(size_t mark) {
    /* newest first: results die before the inputs they were built from */
    while (S.n > mark) cg_release(S.items[--S.n]);
}

int cg_scope_end(void) {
    if (S.phantom) {
        S.phantom--;
        return 0;
    }
    if (S.depth == 0) {
        cg__error("cg_scope_end", "cg_scope_end() called without a matching cg_scope_begin()");
        return -1;
    }
    int d = S.depth--;
    release_from(S.marks[d - 1]);
    /* kept tensors: their extra reference now belongs to the enclosing scope */
    while (S.nkept && S.kept[S.nkept - 1].depth == d) {
        cg_tensor *t = S.kept[--S.nkept].t;
        if (grow((void **)&S.items, &S.cap, S.n + 1, sizeof *S.items)) S.items[S.n++] = t;
    }
    if (S.depth == 0 && S.n == 0) {
        free(S.items);
        S.items = NULL;
        S.cap = 0;
    }
    return 0;
}

int cg_scope_depth(void) { return S.depth + S.phantom; }

cg_tensor *cg_keep(cg_tensor *t) {
    if (!t || S.depth == 0) return t;
    if (!grow((void **)&S.kept, &S.kcap, S.nkept + 1, sizeof *S.kept)) return cg__oom("cg_keep");
    t->refcount++;
    S.kept[S.nkept++] = (kept_entry){t, S.depth};
    return t;
}

void cg_root_scope_drain(void) {
    S.phantom = 0;
    while (S.depth > 0) cg_scope_end();
    release_from(0);
    free(S.items);
    free(S.marks);
    free(S.kept);
    S.items = NULL;
    S.marks = NULL;
    S.kept = NULL;
    S.cap = S.n = S.nkept = S.kcap = 0;
    S.mcap = 0;
    cg__cache_flush();
}
