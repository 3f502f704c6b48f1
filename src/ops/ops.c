/* The helpers ops.h declares for every op file. */
#include "ops.h"

cg_tensor *cg__as_contiguous(cg_tensor *t) {
    if (cg__is_contiguous(t)) return t;
    cg_tensor *c = cg__tensor_new(t->dtype, t->ndim, t->shape);
    if (c) cg__copy_into(c, t);
    return c;
}

cg_tensor *cg__same(cg_tensor *t) {
    if (cg__scope_add(cg_retain(t)) < 0) {
        cg_release(t);
        return NULL;
    }
    return t;
}

int cg__record_product(cg_op op, cg_tensor *out, cg_tensor *a, cg_tensor *b, int other_slot,
                       int self_slot) {
    cg_tensor *in[2] = {a, b};
    cg_node *n = cg__record(op, out, 2, in);
    if (!n) return cg__record_failed ? -1 : 0;
    if (cg__save(n, other_slot, CG_WANT(n, 0) ? b : NULL, false) < 0 ||
        cg__save(n, self_slot, CG_WANT(n, 1) ? a : NULL, false) < 0)
        return -1;
    return 0;
}

void cg__shape_error(const char *fn, const char *fmt, int na, const int64_t *sa, int nb,
                     const int64_t *sb) {
    char a[256], b[256];
    cg__shape_str(a, sizeof a, na, sa);
    cg__shape_str(b, sizeof b, nb, sb);
    cg__error(fn, fmt, a, b);
}
