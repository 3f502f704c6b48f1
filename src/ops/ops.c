/* The helpers ops.h declares for every op file. */
#include "ops.h"

cg_tensor *cg__as_contiguous(cg_tensor *t) {
    if (cg__is_contiguous(t)) return t;
    cg_tensor *c = cg__tensor_new(t->dtype, t->ndim, t->shape);
    if (c) cg__copy_into(c, t);
    return c;
}

cg_tensor *cg__same(cg_tensor *t) {
    cg__scope_add(cg_retain(t));
    return t;
}

void cg__shape_error(const char *fn, const char *fmt, int na, const int64_t *sa, int nb,
                     const int64_t *sb) {
    char a[256], b[256];
    cg__shape_str(a, sizeof a, na, sa);
    cg__shape_str(b, sizeof b, nb, sb);
    cg__error(fn, fmt, a, b);
}
