/* The sort family, each forward beside its backward: sort, argsort and topk
 * along a dim (NaN sorts as the largest value, ties keep their order, as
 * torch's CPU sort), values and int64 indices. */
#include "ewise.h"
#include "stl_order.h"

#include <math.h>
#include <stdlib.h>

typedef cg__keyed keyed;

/* ascending, NaN last, ties by position */
static int cmp_up(const void *p, const void *q) {
    const keyed *x = p, *y = q;
    bool nx = isnan(x->v), ny = isnan(y->v);
    if (nx != ny) return nx ? 1 : -1;
    if (!nx && x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}
/* descending, NaN first, ties by position */
static int cmp_down(const void *p, const void *q) {
    const keyed *x = p, *y = q;
    bool nx = isnan(x->v), ny = isnan(y->v);
    if (nx != ny) return nx ? -1 : 1;
    if (!nx && x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* How a row is ordered: sort's stable order, or torch's CPU topk's (its
 * libstdc++ nth_element then sort of the first k - 1, or partial_sort when
 * k * 64 <= len; ties in their order) */
typedef enum { ROW_SORT, ROW_TOPK, ROW_TOPK_UNSORTED } row_order;

static void order_row(keyed *row, int64_t len, int64_t k, bool down, row_order how) {
    cg__stl_cmp c = {down};
    if (how == ROW_SORT)
        qsort(row, (size_t)len, sizeof *row, down ? cmp_down : cmp_up);
    else if (k == 0)
        return;
    else if (k * 64 <= len)
        cg__stl_partial_sort(row, k, len, c);
    else {
        cg__stl_nth_element(row, k - 1, len, c);
        if (how == ROW_TOPK) cg__stl_sort(row, k - 1, c);
    }
}

/* The first k of each row of a along d, ordered (descending when down):
 * values (a's dtype) and indices, shaped as a with d's size k. 0, or -1. */
static int sort_rows(const cg_tensor *a, int d, int64_t k, bool down, row_order how,
                     cg_tensor **values, cg_tensor **indices) {
    int64_t shape[CG_MAX_DIMS], outer, len, inner;
    memcpy(shape, a->shape, sizeof shape);
    if (a->ndim) shape[d] = k;
    cg__dim_split(a->ndim, a->shape, d, &outer, &len, &inner);
    cg_tensor *x = cg__as_contiguous((cg_tensor *)a);
    *values = cg__tensor_new(a->dtype, a->ndim, shape);
    *indices = cg__tensor_new(CG_INT64, a->ndim, shape);
    keyed *row = malloc(sizeof(keyed) * (size_t)(len ? len : 1));
    if (!x || !*values || !*indices || !row) return free(row), cg__oom("cg_sort"), -1;
    const void *src = cg__ptr(x);
    void *dst = cg__ptr(*values);
    int64_t *ix = cg__ptr(*indices);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            for (int64_t l = 0; l < len; l++)
                row[l] = (keyed){cg__load(src, a->dtype, (o * len + l) * inner + i), l};
            order_row(row, len, k, down, how);
            for (int64_t l = 0; l < k; l++) {
                int64_t at = (o * k + l) * inner + i;
                ix[at] = row[l].i;
                cg__store(dst, a->dtype, at, row[l].v);
            }
        }
    free(row);
    return 0;
}

enum { SORT_INDICES }; /* saved */
enum { SORT_DIM };     /* n->iv */

/* records op (SortBackward0 / TopkBackward0) for values; indices saved */
static int record_sorted(cg_op op, cg_tensor *a, int d, cg_tensor *values, cg_tensor *indices) {
    cg_node *n = cg__record(op, values, 1, &a);
    if (!n) return cg__record_failed ? -1 : 0;
    n->iv[SORT_DIM] = d, n->n_iv = 1;
    return cg__save(n, SORT_INDICES, indices, false);
}

cg_tensor *cg_sort(cg_tensor *a, int dim, bool descending, cg_tensor **indices) {
    if (!a) return NULL;
    int d = cg__wrap_dim("cg_sort", dim, a->ndim);
    cg_tensor *values, *ix;
    if (d < 0 || sort_rows(a, d, a->ndim ? a->shape[d] : 1, descending, ROW_SORT, &values, &ix) < 0)
        return NULL;
    if (record_sorted(CG_OP_SORT, a, d, values, ix) < 0) return NULL;
    if (indices) *indices = ix;
    return values;
}

cg_tensor *cg_argsort(cg_tensor *a, int dim, bool descending) {
    cg_tensor *ix = NULL;
    cg_tensor *values = NULL;
    CG_NO_GRAD { values = cg_sort(a, dim, descending, &ix); }
    return values ? ix : NULL;
}

cg_tensor *cg_topk(cg_tensor *a, int64_t k, int dim, cg_topk_flags flags, cg_tensor **indices) {
    if (!a) return NULL;
    int d = cg__wrap_dim("cg_topk", dim, a->ndim);
    if (d < 0) return NULL;
    if (a->dtype == CG_BOOL && a->ndim) { /* a 0-d tensor needs no kernel */
        cg__error("cg_topk", CG_MSG_NOT_IMPLEMENTED, "topk_cpu", "Bool");
        return NULL;
    }
    int64_t len = a->ndim ? a->shape[d] : 1;
    if (k < 0 || k > len) {
        cg__error("cg_topk", "selected index k out of range");
        return NULL;
    }
    cg_tensor *values, *ix;
    row_order how = flags & CG_TOPK_UNSORTED ? ROW_TOPK_UNSORTED : ROW_TOPK;
    if (sort_rows(a, d, k, !(flags & CG_TOPK_SMALLEST), how, &values, &ix) < 0) return NULL;
    if (record_sorted(CG_OP_TOPK, a, d, values, ix) < 0) return NULL;
    if (indices) *indices = ix;
    return values;
}

/* sort and topk: the gradient goes back to where each value came from */
int cg__bw_sort(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *ix = cg__unpack(n, SORT_INDICES);
    const cg_meta *m = &n->in_meta[0];
    if (!ix) return -1;
    cg_tensor *zeros = cg_zeros(m->ndim, m->shape, (int)go[0]->dtype);
    if (m->ndim == 0) return (gi[0] = go[0]) ? 0 : -1;
    return (gi[0] = cg_scatter_add(zeros, (int)n->iv[SORT_DIM], ix, go[0])) ? 0 : -1;
}
