/* Test specs for the advanced-indexing rows of the op table
 * (src/ops/advindex.def); the format is described in tests/op_specs.h, which
 * includes this file. Without accumulate, an index has no repeats (size 1,
 * or a mask), so no place is written twice. (A 0-d int64 index is a select
 * in torch: SelectBackward0.) */

PROBE(p_index) {
    (void)v;
    return cg_index(A, 1, &B);
}
PROBE(p_index2) {
    cg_tensor *ix[2] = {B, B};
    (void)v;
    return cg_index(A, 2, ix);
}
PROBE(p_index_t) {
    (void)v;
    return cg_index(cg_transpose(A, 0, 1), 1, &B);
}
PROBE(p_masked_select) {
    (void)v;
    return cg_masked_select(A, B);
}
PROBE(p_index_put) { return cg_index_put(A, 1, &B, C, (cg_index_put_flags)v->iv[0]); }

#define SPEC_INDEX                                                                                 \
    SPEC(INDEX, "IndexBackward0", 'V',                                                             \
         VAR("a[b]", p_index, "RI", SHAPES("3,4|2", "3,2,4|2,2", "3|5", "3,4|0"), .ihi = 3),       \
         VAR("a[b, b]", p_index2, "RI", SHAPES("3,3|4", "3,3,2|2,2"), .ihi = 3),                   \
         VAR("a[b]", p_index, "RC", SHAPES("3,4|3", "3,4|3,4", "2,3,4|2,3")),                      \
         VAR("a.transpose(0, 1)[b]", p_index_t, "RI", SHAPES("3,4|5"), .ihi = 4))
#define SPEC_INDEX_PUT_VALUES                                                                      \
    SPEC(INDEX_PUT_VALUES, "IndexPutBackward0", 'B',                                               \
         VAR("a.index_put((b,), c)", p_index_put, "RIR",                                           \
             SHAPES("3,4|1|4", "3,4|1|1,4", "3|()|()"), IV(0), .ihi = 3),                          \
         VAR("a.index_put((b,), c, accumulate=True)", p_index_put, "RIR",                          \
             SHAPES("3,4|5|5,4", "3,4|5|4", "3,2,4|2,2|2,4", "3|6|()"), IV(1), .ihi = 3),          \
         VAR("a.index_put((b,), c)", p_index_put, "RCR", SHAPES("3,4|3|4", "3,4|3,4|()"), IV(0)),  \
         VAR("a.index_put((b,), c, accumulate=True)", p_index_put, "RCR", SHAPES("2,3|2,3|1"),     \
             IV(1)))
/* variants of index.def's MASKED_SELECT row (its spec is in
 * op_specs_loss.h): the mask broadcasts to a's shape */
#define MASKED_SELECT_PUBLIC                                                                       \
    VAR("a.masked_select(b)", p_masked_select, "RC",                                               \
        SHAPES("3,4|3,4", "3,4|4", "2,3,4|3,1", "()|()", "5|()", "0,3|3"))
