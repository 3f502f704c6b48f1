/* What the families added beside pointwise.c (math.c, activation.c, and the
 * dim-wise scan.c, sort.c, extreme.c) share: a kernel macro, one runner over
 * the strided loop, the split of a shape around a dim. */
#ifndef CG_OPS_EWISE_H
#define CG_OPS_EWISE_H

#include "ops.h"

/* A kernel's scalar arguments, handed to it as its second operand (stride 0) */
typedef struct {
    double s1, s2;  /* bounds, alpha, weight, slope, softplus's beta and threshold */
    int64_t i1, i2; /* clamp's int64 bounds */
} cg__ew_prm;

/* o = EXPR with x = a's element (T) and y = b's (Y: another T for two-input
 * kernels and clamp's bounds, a cg__ew_prm for one-input ones); a contiguous
 * loop when o and a are dense */
#define CG_EW_KERNEL(NAME, T, Y, EXPR)                                                             \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa, const void *b_,  \
                     int64_t sb) {                                                                 \
        T *o = o_;                                                                                 \
        const T *a = a_;                                                                           \
        const Y *b = b_;                                                                           \
        if (so == 1 && sa == 1)                                                                    \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i];                                                                        \
                Y y = b[i * sb];                                                                   \
                (void)y;                                                                           \
                o[i] = (T)(EXPR);                                                                  \
            }                                                                                      \
        else                                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i * sa];                                                                   \
                Y y = b[i * sb];                                                                   \
                (void)y;                                                                           \
                o[i * so] = (T)(EXPR);                                                             \
            }                                                                                      \
    }
/* one-input kernels for float32 and float64 */
#define CG_EW_FLOATING(NAME, EXPRF, EXPRD)                                                         \
    CG_EW_KERNEL(NAME##_f32, float, cg__ew_prm, EXPRF)                                             \
    CG_EW_KERNEL(NAME##_f64, double, cg__ew_prm, EXPRD)

/* out = k(x, y) over out's shape (contiguous, new), x and y broadcast to it
 * and of out's dtype; y NULL: k(x; p), p read at stride 0. */
void cg__ew_run(cg__kernel k, cg_tensor *out, const cg_tensor *x, const cg_tensor *y,
                const cg__ew_prm *p);

/* A new tensor k(a; p) of dtype d (a converted to it first), or NULL. */
cg_tensor *cg__ew_map(cg__kernel k, cg_tensor *a, cg_dtype d, const cg__ew_prm *p);

/* The dtype a one-input floating op (tan, log2, ...) computes a in: floating
 * kept, int64 and bool in float32 */
static inline cg_dtype cg__ew_float_dtype(cg_dtype d) {
    return cg_dtype_is_floating(d) ? d : CG_FLOAT32;
}

/* F.elu(a, alpha) recorded as EluBackward1, which saves the result (what
 * elu_ records: activation.c) */
cg_tensor *cg__elu_result(cg_tensor *a, double alpha);

/* shape split around dim d: outer (dims before d), len (d's size), inner
 * (dims after d); a contiguous tensor's element (o, l, i) is at
 * (o * len + l) * inner + i */
static inline void cg__dim_split(int nd, const int64_t *shape, int d, int64_t *outer, int64_t *len,
                                 int64_t *inner) {
    *outer = cg__numel(d, shape);
    *len = nd ? shape[d] : 1;
    *inner = nd ? cg__numel(nd - d - 1, shape + d + 1) : 1;
}

#endif
