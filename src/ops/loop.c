/* The strided elementwise loop and broadcasting rules (see ops.h). */
#include "ops.h"

#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

/* below this many elements a thread team costs more than it saves */
#define CG_PARALLEL_MIN 32768

void cg__dense(cg__kernel k, int64_t n, void *o, size_t eo, const void *a, size_t ea, int64_t sa,
               const void *b, size_t eb, int64_t sb) {
#ifdef CG_HAVE_OPENMP
    if (n >= CG_PARALLEL_MIN && omp_get_max_threads() > 1) {
#pragma omp parallel
        {
            int nt = omp_get_num_threads(), t = omp_get_thread_num();
            int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
            k(hi - lo, (char *)o + lo * (int64_t)eo, 1, (const char *)a + lo * sa * (int64_t)ea, sa,
              b ? (const char *)b + lo * sb * (int64_t)eb : NULL, sb);
        }
        return;
    }
#else
    CG_UNUSED(eo), CG_UNUSED(ea), CG_UNUSED(eb); /* element sizes split the work only */
#endif
    k(n, o, 1, a, sa, b, sb);
}

void cg__broadcast_strides(const cg_tensor *t, int ndim, const int64_t *shape, int64_t *st) {
    int off = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        int td = d - off;
        st[d] = (td < 0 || t->shape[td] != shape[d]) ? 0 : t->strides[td];
    }
}

int cg__broadcast_shape(const char *fn, int na, const int64_t *sa, int nb, const int64_t *sb,
                        int *nout, int64_t *out_) {
    int n = na > nb ? na : nb;
    int64_t out[CG_MAX_DIMS];          /* out_ may alias sa or sb */
    for (int i = n - 1; i >= 0; i--) { /* from the right: PyTorch names the last mismatch */
        int ia = na - n + i, ib = nb - n + i;
        int64_t x = ia >= 0 ? sa[ia] : 1, y = ib >= 0 ? sb[ib] : 1;
        if (x != y && x != 1 && y != 1) {
            cg__error(fn,
                      "The size of tensor a (%lld) must match the size of tensor b (%lld) at "
                      "non-singleton dimension %d",
                      (long long)x, (long long)y, i);
            return -1;
        }
        out[i] = x == 1 ? y : x;
    }
    memcpy(out_, out, sizeof(int64_t) * (size_t)n);
    *nout = n;
    return 0;
}

void cg__loop(cg__kernel k, int ndim, const int64_t *shape, cg__operand *o, cg__operand *a,
              cg__operand *b) {
    cg__operand *ops[3] = {o, a, b};
    int nops = b ? 3 : 2;
    /* coalesce: drop size-1 dims, merge dims contiguous for every operand */
    int64_t sh[CG_MAX_DIMS], st[3][CG_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) return;
        if (shape[d] == 1) continue;
        bool merge = nd > 0;
        for (int j = 0; j < nops && merge; j++) merge = st[j][nd - 1] == ops[j]->st[d] * shape[d];
        if (merge) {
            sh[nd - 1] *= shape[d];
            for (int j = 0; j < nops; j++) st[j][nd - 1] = ops[j]->st[d];
        } else {
            sh[nd] = shape[d];
            for (int j = 0; j < nops; j++) st[j][nd] = ops[j]->st[d];
            nd++;
        }
    }
    const char *bp = b ? b->p : NULL;
    if (nd == 0) { /* a single element */
        k(1, o->p, 1, a->p, 1, bp, 1);
        return;
    }
    int64_t n = sh[nd - 1];
    int64_t so = st[0][nd - 1], sa = st[1][nd - 1], sb = b ? st[2][nd - 1] : 0;
    int64_t idx[CG_MAX_DIMS] = {0};
    char *po = o->p;
    const char *pa = a->p, *pb = bp;
    for (;;) {
        k(n, po, so, pa, sa, pb, sb);
        /* advance the outer index (dims 0..nd-2) and the three pointers */
        int d = nd - 2;
        for (; d >= 0; d--) {
            po += st[0][d] * (int64_t)o->esize;
            pa += st[1][d] * (int64_t)a->esize;
            if (pb) pb += st[2][d] * (int64_t)b->esize;
            if (++idx[d] < sh[d]) break;
            po -= st[0][d] * sh[d] * (int64_t)o->esize;
            pa -= st[1][d] * sh[d] * (int64_t)a->esize;
            if (pb) pb -= st[2][d] * sh[d] * (int64_t)b->esize;
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}
