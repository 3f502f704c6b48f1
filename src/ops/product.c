/* The product family, forward beside backward: baddbmm (its own node) and
 * outer (composed, as torch: a.reshape(n, 1) * b); einsum is in einsum.c. */
#include "ewise.h"

#include <math.h>

enum { BADD_BATCH1, BADD_BATCH2 }; /* saved, each only for the other's gradient */
enum { BADD_BETA, BADD_ALPHA };    /* n->sc */

/* beta input + alpha (batch1 @ batch2) without a graph, in the batches'
 * dtype (input cast to it); beta 0 ignores input (NaN included), as torch */
static cg_tensor *baddbmm_compute(cg_tensor *input, cg_tensor *b1, cg_tensor *b2, double beta,
                                  double alpha) {
    if (b1->dtype == CG_BOOL) {
        cg__error("cg_baddbmm", CG_MSG_NOT_IMPLEMENTED, "baddbmm", "Bool");
        return NULL;
    }
    cg_tensor *out = NULL;
    CG_NO_GRAD {
        /* an empty result or contraction: torch checks no dtypes and gives
         * batch2's */
        bool empty = b1->ndim == 3 && b2->ndim == 3 &&
                     (b1->shape[0] * b1->shape[1] * b2->shape[2] == 0 || b1->shape[2] == 0);
        if (empty) b1 = cg__convert(b1, b2->dtype);
        cg_tensor *prod = b1 ? cg_bmm(b1, b2) : NULL;
        cg_tensor *in = prod ? cg_expand(cg__convert(input, prod->dtype), 3, prod->shape) : NULL;
        if (in && b1->dtype == CG_INT64) /* the scalars cast to the integer type */
            alpha = trunc(alpha), beta = trunc(beta);
        if (in)
            out = beta == 0 ? cg_mul_scalar(prod, alpha)
                            : cg_add(cg_mul_scalar(in, beta), cg_mul_scalar(prod, alpha));
    }
    return out;
}

cg_tensor *cg_baddbmm(cg_tensor *input, cg_tensor *batch1, cg_tensor *batch2, double beta,
                      double alpha) {
    if (!input || !batch1 || !batch2) return NULL;
    cg_tensor *out = baddbmm_compute(input, batch1, batch2, beta, alpha);
    cg_tensor *in[3] = {input, batch1, batch2};
    cg_node *n = out ? cg__record(CG_OP_BADDBMM, out, 3, in) : NULL;
    if (n) {
        n->sc[BADD_BETA] = beta, n->sc[BADD_ALPHA] = alpha;
        if ((CG_WANT(n, 2) && cg__save(n, BADD_BATCH1, batch1, false) < 0) ||
            (CG_WANT(n, 1) && cg__save(n, BADD_BATCH2, batch2, false) < 0))
            return NULL;
    }
    return cg__recorded(out);
}

/* d/dinput beta g (summed to input's shape by the engine); d/dbatch1
 * alpha g batch2^T; d/dbatch2 alpha batch1^T g */
int cg__bw_baddbmm(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *b1, *b2, *g = go[0];
    double beta = n->sc[BADD_BETA], alpha = n->sc[BADD_ALPHA];
    if (cg__unpack_if(n, 2, BADD_BATCH1, &b1) < 0 || cg__unpack_if(n, 1, BADD_BATCH2, &b2) < 0)
        return -1;
    if (CG_WANT(n, 0) && !(gi[0] = cg_mul_scalar(g, beta))) return -1;
    if (b2 && !(gi[1] = cg_mul_scalar(cg_bmm(g, cg_transpose(b2, 1, 2)), alpha))) return -1;
    if (b1 && !(gi[2] = cg_mul_scalar(cg_bmm(cg_transpose(b1, 1, 2), g), alpha))) return -1;
    return 0;
}

cg_tensor *cg_outer(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    if (a->ndim != 1 || b->ndim != 1) {
        cg__error("cg_outer", "outer: Expected 1-D argument %s, but got %d-D",
                  a->ndim != 1 ? "self" : "vec2", a->ndim != 1 ? a->ndim : b->ndim);
        return NULL;
    }
    return cg_mul(cg_reshape(a, 2, (const int64_t[]){a->shape[0], 1}), b);
}
