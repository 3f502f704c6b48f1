/* Test specs for the sort rows of the op table (src/ops/sort.def); the
 * format is described in tests/op_specs.h, which includes this file.
 * Indices are checked by adding them to the values (int64 + float). */

PROBE(p_sort) { return cg_sort(A, (int)v->iv[0], v->iv[1], NULL); }
PROBE(p_sort_ix) {
    cg_tensor *ix = NULL, *values = cg_sort(A, (int)v->iv[0], v->iv[1], &ix);
    return cg_add(values, ix);
}
PROBE(p_sort_argsort) {
    return cg_add(cg_sort(A, (int)v->iv[0], false, NULL), cg_argsort(A, (int)v->iv[0], true));
}
PROBE(p_topk) { return cg_topk(A, v->iv[0], (int)v->iv[1], (cg_topk_flags)v->iv[2], NULL); }
PROBE(p_topk_ix) {
    cg_tensor *ix = NULL,
              *values = cg_topk(A, v->iv[0], (int)v->iv[1], (cg_topk_flags)v->iv[2], &ix);
    return cg_add(values, ix);
}

/* D: distinct values, so the order (and the indices) is unique */
#define SPEC_SORT                                                                                  \
    SPEC(SORT, "SortBackward0", 'R',                                                               \
         VAR("a.sort(1)[0]", p_sort, "D", SHAPES("3,4", "2,3,4", "1,5", "0,3"), IV(1, 0)),         \
         VAR("a.sort(0, True)[0]", p_sort, "D", SHAPES("3,4", "7", "()"), IV(0, 1)),               \
         VAR("a.sort(-1)[0]", p_sort, "D", SHAPES("6", "2,3,4"), IV(-1, 0)),                       \
         VAR("(lambda r: r[0] + r[1])(a.sort(1, True))", p_sort_ix, "D", SHAPES("3,4", "2,5,3"),   \
             IV(1, 1)),                                                                            \
         VAR("a.sort(0)[0] + a.argsort(0, descending=True)", p_sort_argsort, "D",                  \
             SHAPES("5,3", "4"), IV(0)))
#define SPEC_TOPK                                                                                  \
    SPEC(TOPK, "TopkBackward0", 'R',                                                               \
         VAR("a.topk(2, 1)[0]", p_topk, "D", SHAPES("3,4", "2,3,4", "1,5"), IV(2, 1, 0)),          \
         VAR("a.topk(3, 0, largest=False)[0]", p_topk, "D", SHAPES("3,4", "7"), IV(3, 0, 1)),      \
         VAR("a.topk(1)[0]", p_topk, "D", SHAPES("()", "4", "2,3"), IV(1, -1, 0)),                 \
         VAR("a.topk(0, 1)[0]", p_topk, "D", SHAPES("3,4"), IV(0, 1, 0)),                          \
         VAR("(lambda r: r[0] + r[1])(a.topk(3, -1))", p_topk_ix, "D", SHAPES("3,4", "2,2,5"),     \
             IV(3, -1, 0)),                                                                        \
         VAR("(lambda r: r[0] + r[1])(a.topk(2, 0, largest=False))", p_topk_ix, "D",               \
             SHAPES("5,3"), IV(2, 0, 1)))
