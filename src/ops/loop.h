/* The strided loop behind every elementwise op: up to three operands (an
 * output and two inputs, each with its own strides, a stride of 0 meaning
 * broadcast), dims coalesced, an inner kernel called per innermost row. */
#ifndef CG_LOOP_H
#define CG_LOOP_H

#include "../core/internal.h"

/* o[i*so] = f(a[i*sa], b[i*sb]) for i < n; strides in elements. */
typedef void (*cg__kernel)(int64_t n, void *o, int64_t so, const void *a, int64_t sa,
                           const void *b, int64_t sb);

typedef struct cg__operand {
    char *p;       /* element [0,...,0] */
    size_t esize;  /* bytes per element */
    int64_t st[CG_MAX_DIMS]; /* element strides over the loop shape */
} cg__operand;

/* Strides of t viewed at a broadcast shape (0 where t is broadcast). */
void cg__broadcast_strides(const cg_tensor *t, int ndim, const int64_t *shape, int64_t *st);
/* out = broadcast shape of a and b, or -1 with PyTorch's error. */
int cg__broadcast_shape(const char *fn, int na, const int64_t *sa, int nb, const int64_t *sb,
                        int *nout, int64_t *out);
/* k over n contiguous elements (stride 1, or 0 for a broadcast scalar input),
 * split across OpenMP threads when large. */
void cg__dense(cg__kernel k, int64_t n, void *o, size_t eo, const void *a, size_t ea, int64_t sa,
               const void *b, size_t eb, int64_t sb);
void cg__loop(cg__kernel k, int ndim, const int64_t *shape, cg__operand *o, cg__operand *a,
              cg__operand *b);

#endif
