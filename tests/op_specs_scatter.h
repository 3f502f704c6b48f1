/* Test specs for the scatter rows of the op table (src/ops/scatter.def); the
 * format is described in tests/op_specs.h, which includes this file. Scatter
 * indices have size 1 along the scattered dim, so no two sources land on one
 * place (where the winner's gradient would not be the loser's); src has
 * index's shape (torch's backward refuses a larger src). */

PROBE(p_index_add) { return cg_index_add(A, (int)v->iv[0], B, C, v->s); }
PROBE(p_scatter) { return cg_scatter(A, (int)v->iv[0], B, C); }
PROBE(p_scatter_t) { return cg_scatter(cg_transpose(A, 0, 1), (int)v->iv[0], B, C); }
PROBE(p_scatter_value) { return cg_scatter_value(A, (int)v->iv[0], B, v->s); }

#define SPEC_INDEX_ADD                                                                             \
    SPEC(INDEX_ADD, "IndexAddBackward0", 'B',                                                      \
         VAR("a.index_add(0, b, c)", p_index_add, "RIR",                                           \
             SHAPES("3,4|2|2,4", "3,4|5|5,4", "3|4|4"), IV(0), .s = 1.0, .ihi = 3),                \
         VAR("a.index_add(1, b, c, alpha=2.5)", p_index_add, "RIR", SHAPES("3,4|3|3,3"), IV(1),    \
             .s = 2.5, .ihi = 4),                                                                  \
         VAR("a.index_add(-1, b, c, alpha=-2)", p_index_add, "RIR",                                \
             SHAPES("2,3,4|6|2,3,6", "2,3,4|0|2,3,0"), IV(-1), .s = -2.0, .ihi = 4))
#define SPEC_SCATTER                                                                               \
    SPEC(SCATTER, "ScatterBackward0", 'B',                                                         \
         VAR("a.scatter(0, b, c)", p_scatter, "RIR", SHAPES("3,4|1,4|1,4", "3,4|1,2|1,2"), IV(0),  \
             .ihi = 3),                                                                            \
         VAR("a.scatter(1, b, c)", p_scatter, "RIR", SHAPES("3,4|3,1|3,1", "2,3,4|2,1,4|2,1,4"),   \
             IV(1), .ihi = 3),                                                                     \
         VAR("a.transpose(0, 1).scatter(-1, b, c)", p_scatter_t, "RIR",                            \
             SHAPES("4,3|3,1|3,1", "4,3|2,1|2,1"), IV(-1), .ihi = 3))
#define SPEC_SCATTER_VALUE                                                                         \
    SPEC(SCATTER_VALUE, "ScatterBackward1", 'V',                                                   \
         VAR("a.scatter(0, b, 2.5)", p_scatter_value, "RI", SHAPES("3,4|1,4", "3,4|1,2"), IV(0),   \
             .s = 2.5, .ihi = 3),                                                                  \
         VAR("a.scatter(1, b, -1.0)", p_scatter_value, "RI", SHAPES("3,4|3,1", "2,3,4|1,1,2"),     \
             IV(1), .s = -1.0, .ihi = 3))
