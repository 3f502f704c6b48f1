/* Test specs for the index rows of the op table (src/ops/index.def);
 * the format is described in tests/op_specs.h, which includes this file.
 * Probes read their integer arguments from iv (dims, starts, sizes) so one
 * probe serves several variants. */

/* narrow / slice: iv = (dim, start, length) / (dim, start, end, step) */
PROBE(pi_narrow) { return cg_narrow(A, (int)v->iv[0], v->iv[1], v->iv[2]); }
PROBE(pi_slice) { return cg_slice(A, (int)v->iv[0], v->iv[1], v->iv[2], v->iv[3]); }
PROBE(pi_slice_t) {
    return cg_slice(cg_transpose(A, 0, 1), (int)v->iv[0], v->iv[1], v->iv[2], v->iv[3]);
}
PROBE(pi_slice_slice) { /* a view of a view */
    return cg_slice(cg_slice(A, 0, 1, INT64_MAX, 1), (int)v->iv[0], v->iv[1], v->iv[2], v->iv[3]);
}
/* flatten (a reshape: ReshapeAliasBackward0, or CloneBackward0 and
 * UnsafeViewBackward0 when it copies), then narrow: iv = (start_dim,
 * end_dim, dim, start, length) */
PROBE(pi_flatten_narrow) {
    return cg_narrow(cg_flatten(A, (int)v->iv[0], (int)v->iv[1]), (int)v->iv[2], v->iv[3],
                     v->iv[4]);
}
PROBE(pi_t_flatten_narrow) {
    return cg_narrow(cg_flatten(cg_transpose(A, 0, 1), (int)v->iv[0], (int)v->iv[1]), (int)v->iv[2],
                     v->iv[3], v->iv[4]);
}
/* select: iv = (dim, index) */
PROBE(pi_select) { return cg_select(A, (int)v->iv[0], v->iv[1]); }
PROBE(pi_select_t) { return cg_select(cg_transpose(A, 0, 1), (int)v->iv[0], v->iv[1]); }
/* piece iv[2] (negative: from the end) of split(iv[0], dim iv[1]) */
static inline cg_tensor *pi_piece_(int rc, int n, cg_tensor **out, int64_t which) {
    if (rc != 0) return NULL;
    if (which < 0) which += n;
    return which >= 0 && which < n ? out[which] : NULL;
}
PROBE(pi_split_at) {
    cg_tensor *out[16];
    int n = 16;
    int rc = cg_split(A, v->iv[0], (int)v->iv[1], &n, out);
    return pi_piece_(rc, n, out, v->iv[2]);
}
PROBE(pi_chunk_at) {
    cg_tensor *out[16];
    int n = 16;
    int rc = cg_chunk(A, (int)v->iv[0], (int)v->iv[1], &n, out);
    return pi_piece_(rc, n, out, v->iv[2]);
}
/* two pieces of one split: out[0] * out[2] (one node, two of its outputs) */
static inline cg_tensor *pi_split_mul_(cg_tensor *a, const spec_var *v) {
    cg_tensor *out[16];
    int n = 16;
    if (cg_split(a, v->iv[0], (int)v->iv[1], &n, out) != 0 || n < 3) return NULL;
    return cg_mul(out[0], out[2]);
}
PROBE(pi_split_mul) { return pi_split_mul_(A, v); }
PROBE(pi_split_mul_t) { return pi_split_mul_(cg_transpose(A, 0, 1), v); }
/* split_with_sizes: iv = (dim, which, sizes...) */
PROBE(pi_split_sizes_at) {
    cg_tensor *out[CG_MAX_DIMS];
    int n = v->n_iv - 2;
    int rc = cg_split_with_sizes(A, n, v->iv + 2, (int)v->iv[0], out);
    return pi_piece_(rc, n, out, v->iv[1]);
}
PROBE(pi_split_sizes_add) {
    cg_tensor *out[CG_MAX_DIMS];
    int n = v->n_iv - 2;
    if (cg_split_with_sizes(A, n, v->iv + 2, (int)v->iv[0], out) != 0 || n < 2) return NULL;
    return cg_add(out[0], out[1]);
}
/* cat / stack: iv = (dim) */
PROBE(pi_cat1) { return cg_cat(1, in, (int)v->iv[0]); }
PROBE(pi_cat2) { return cg_cat(2, in, (int)v->iv[0]); }
PROBE(pi_cat3) { return cg_cat(3, in, (int)v->iv[0]); }
PROBE(pi_cat_at) {
    cg_tensor *ts[2] = {cg_t(A), B};
    return cg_cat(2, ts, (int)v->iv[0]);
}
PROBE(pi_cat_self) {
    cg_tensor *ts[3] = {A, A, A};
    return cg_cat(3, ts, (int)v->iv[0]);
}
PROBE(pi_stack1) { return cg_stack(1, in, (int)v->iv[0]); }
PROBE(pi_stack2) { return cg_stack(2, in, (int)v->iv[0]); }
PROBE(pi_stack3) { return cg_stack(3, in, (int)v->iv[0]); }
PROBE(pi_stack_at) {
    cg_tensor *ts[2] = {cg_t(A), B};
    return cg_stack(2, ts, (int)v->iv[0]);
}
/* repeat: iv = repeats */
PROBE(pi_repeat) { return cg_repeat(A, v->n_iv, v->iv); }
PROBE(pi_repeat_t) { return cg_repeat(cg_t(A), v->n_iv, v->iv); }
/* index_select / gather: iv = (dim); B is the index */
PROBE(pi_index_select) { return cg_index_select(A, (int)v->iv[0], B); }
PROBE(pi_index_select_t) { return cg_index_select(cg_t(A), (int)v->iv[0], B); }
PROBE(pi_gather) { return cg_gather(A, (int)v->iv[0], B); }
PROBE(pi_gather_t) { return cg_gather(cg_t(A), (int)v->iv[0], B); }
/* scatter_add: A self, B index, C src */
PROBE(pi_scatter_add) { return cg_scatter_add(A, (int)v->iv[0], B, C); }
PROBE(pi_scatter_add_t) { return cg_scatter_add(cg_t(A), (int)v->iv[0], B, C); }
/* masked_fill: B is the mask, s the value */
PROBE(pi_masked_fill) { return cg_masked_fill(A, B, v->s); }
PROBE(pi_masked_fill_t) { return cg_masked_fill(cg_t(A), B, v->s); }
/* triu / tril: iv = (diagonal) */
PROBE(pi_triu) { return cg_triu(A, v->iv[0]); }
PROBE(pi_triu_t) { return cg_triu(cg_t(A), v->iv[0]); }
PROBE(pi_tril) { return cg_tril(A, v->iv[0]); }
PROBE(pi_tril_t) { return cg_tril(cg_t(A), v->iv[0]); }

/* views */
#define SPEC_SLICE                                                                                 \
    SPEC(SLICE, "SliceBackward0", 'V',                                                             \
         VAR("a.narrow(1, 1, 2)", pi_narrow, "R", SHAPES("3,4", "2,4,5"), IV(1, 1, 2)),            \
         VAR("a.narrow(-1, -3, 2)", pi_narrow, "R", SHAPES("3,4", "5", "2,3,3"), IV(-1, -3, 2)),   \
         VAR("a.narrow(0, 0, 1)", pi_narrow, "R", SHAPES("3,4", "1"), IV(0, 0, 1)),                \
         VAR("a.narrow(0, 3, 0)", pi_narrow, "R", SHAPES("3,4", "3"), IV(0, 3, 0)),                \
         VAR("a[1:3]", pi_slice, "R", SHAPES("4,3", "5", "3,2,2"), IV(0, 1, 3, 1)),                \
         VAR("a[..., -3:-1]", pi_slice, "R", SHAPES("3,4", "2,3,5", "3"), IV(-1, -3, -1, 1)),      \
         VAR("a[..., ::2]", pi_slice, "R", SHAPES("3,4", "2,5", "1"), IV(-1, 0, INT64_MAX, 2)),    \
         VAR("a[-100:100:3]", pi_slice, "R", SHAPES("7", "5,2"), IV(0, -100, 100, 3)),             \
         VAR("a[3:1]", pi_slice, "R", SHAPES("4,2"), IV(0, 3, 1, 1)),                              \
         VAR("a.transpose(0, 1)[1:]", pi_slice_t, "R", SHAPES("3,4", "2,3,2"),                     \
             IV(0, 1, INT64_MAX, 1)),                                                              \
         VAR("a[1:][..., 1::2]", pi_slice_slice, "R", SHAPES("3,4", "2,2,5"),                      \
             IV(-1, 1, INT64_MAX, 2)),                                                             \
         VAR("a.flatten(1).narrow(-1, 2, 6)", pi_flatten_narrow, "R", SHAPES("2,3,4"),             \
             IV(1, -1, -1, 2, 6)),                                                                 \
         VAR("a.flatten().narrow(0, 0, 1)", pi_flatten_narrow, "R", SHAPES("()", "3"),             \
             IV(0, -1, 0, 0, 1)),                                                                  \
         VAR("a.flatten(0, 1).narrow(0, 1, 2)", pi_flatten_narrow, "R", SHAPES("2,2,3"),           \
             IV(0, 1, 0, 1, 2)),                                                                   \
         VAR("a.flatten(1, 1).narrow(1, 0, 2)", pi_flatten_narrow, "R", SHAPES("2,3,4"),           \
             IV(1, 1, 1, 0, 2)),                                                                   \
         VAR("a.transpose(0, 1).flatten(0, -1).narrow(0, 1, 3)", pi_t_flatten_narrow, "R",         \
             SHAPES("3,4", "2,3,2"), IV(0, -1, 0, 1, 3)))
#define SPEC_SELECT                                                                                \
    SPEC(SELECT, "SelectBackward0", 'V',                                                           \
         VAR("a.select(0, 1)", pi_select, "R", SHAPES("3,4", "2,3,4", "5"), IV(0, 1)),             \
         VAR("a.select(-1, -1)", pi_select, "R", SHAPES("3,4", "2,3,4", "4", "1"), IV(-1, -1)),    \
         VAR("a.select(1, 2)", pi_select, "R", SHAPES("3,4", "2,3,2"), IV(1, 2)),                  \
         VAR("a.select(0, 0)", pi_select, "R", SHAPES("1,0"), IV(0, 0)),                           \
         VAR("a.transpose(0, 1).select(0, 1)", pi_select_t, "R", SHAPES("3,4", "2,3,2"),           \
             IV(0, 1)))
#define SPEC_SPLIT                                                                                 \
    SPEC(SPLIT, "SplitBackward0", 'V',                                                             \
         VAR("a.split(2, 1)[1]", pi_split_at, "R", SHAPES("3,4", "2,5", "1,3"), IV(2, 1, 1)),      \
         VAR("a.split(2, -1)[-1]", pi_split_at, "R", SHAPES("3,5", "2,2,3", "4"), IV(2, -1, -1)),  \
         VAR("a.split(3, 0)[0]", pi_split_at, "R", SHAPES("7", "3,2", "2"), IV(3, 0, 0)),          \
         VAR("a.split(2, 0)[0]", pi_split_at, "R", SHAPES("0,3"), IV(2, 0, 0)),                    \
         VAR("a.split(0, 0)[0]", pi_split_at, "R", SHAPES("0,2"), IV(0, 0, 0)),                    \
         VAR("a.chunk(3, 0)[1]", pi_chunk_at, "R", SHAPES("5,2", "6", "4,3"), IV(3, 0, 1)),        \
         VAR("a.chunk(2, -1)[0]", pi_chunk_at, "R", SHAPES("3,5", "2,1"), IV(2, -1, 0)),           \
         VAR("(lambda t: t[0] * t[2])(a.split(1, 0))", pi_split_mul, "R", SHAPES("3,4", "3"),      \
             IV(1, 0)),                                                                            \
         VAR("(lambda t: t[0] * t[2])(a.transpose(0, 1).split(2, 1))", pi_split_mul_t, "R",        \
             SHAPES("5,3", "6,2,2"), IV(2, 1)))
#define SPEC_SPLIT_WITH_SIZES                                                                      \
    SPEC(SPLIT_WITH_SIZES, "SplitWithSizesBackward0", 'V',                                         \
         VAR("a.split([1, 3], 1)[1]", pi_split_sizes_at, "R", SHAPES("3,4", "2,4,2"),              \
             IV(1, 1, 1, 3)),                                                                      \
         VAR("a.split([2, 0, 3], 0)[2]", pi_split_sizes_at, "R", SHAPES("5", "5,2"),               \
             IV(0, 2, 2, 0, 3)),                                                                   \
         VAR("a.split([2, 2], -1)[0]", pi_split_sizes_at, "R", SHAPES("3,4", "4"),                 \
             IV(-1, 0, 2, 2)),                                                                     \
         VAR("(lambda t: t[0] + t[1])(a.split([2, 2], -1))", pi_split_sizes_add, "R",              \
             SHAPES("3,4", "4", "2,1,4"), IV(-1, 0, 2, 2)),                                        \
         VAR("a.chunk(2, 0)[1]", pi_chunk_at, "R", SHAPES("0,3", "0"), IV(2, 0, 1)))

/* joining; 'B' runs every dtype combination of the inputs (promotion) */
#define SPEC_CAT                                                                                   \
    SPEC(CAT, "CatBackward0", 'B',                                                                 \
         VAR("torch.cat([a, b], 0)", pi_cat2, "RR",                                                \
             SHAPES("2,3|4,3", "1|3", "2,3,4|1,3,4", "0,3|2,3"), IV(0)),                           \
         VAR("torch.cat([a, b, c], -1)", pi_cat3, "RRR",                                           \
             SHAPES("3,1|3,2|3,4", "2,2,1|2,2,3|2,2,1", "2|3|1"), IV(-1)),                         \
         VAR("torch.cat([a, b], 1)", pi_cat2, "RR", SHAPES("2,0|2,3", "1,2,2|1,3,2"), IV(1)),      \
         VAR("torch.cat([a, b, c], 0)", pi_cat3, "RRR", SHAPES("0|2,3|1,3", "2,3|0|1,3"), IV(0)),  \
         VAR("torch.cat([a], 0)", pi_cat1, "R", SHAPES("3,2", "4"), IV(0)),                        \
         VAR("torch.cat([a.t(), b], 0)", pi_cat_at, "RR", SHAPES("3,2|4,3"), IV(0)),               \
         VAR("torch.cat([a, a, a], 1)", pi_cat_self, "R", SHAPES("2,3"), IV(1)))
#define SPEC_STACK                                                                                 \
    SPEC(STACK, "StackBackward0", 'B',                                                             \
         VAR("torch.stack([a, b], 0)", pi_stack2, "RR",                                            \
             SHAPES("3,4|3,4", "()|()", "5|5", "0,2|0,2"), IV(0)),                                 \
         VAR("torch.stack([a, b, c], -1)", pi_stack3, "RRR",                                       \
             SHAPES("2,3|2,3|2,3", "4|4|4", "()|()|()"), IV(-1)),                                  \
         VAR("torch.stack([a, b], 1)", pi_stack2, "RR", SHAPES("2,3|2,3", "2,1,2|2,1,2"), IV(1)),  \
         VAR("torch.stack([a], 0)", pi_stack1, "R", SHAPES("2,2", "()"), IV(0)),                   \
         VAR("torch.stack([a.t(), b], 2)", pi_stack_at, "RR", SHAPES("3,2|2,3"), IV(2)))
#define SPEC_REPEAT                                                                                \
    SPEC(REPEAT, "RepeatBackward0", 'V',                                                           \
         VAR("a.repeat(2, 3)", pi_repeat, "R", SHAPES("2,3", "1,4", "2,1", "()", "3"), IV(2, 3)),  \
         VAR("a.repeat(2, 1, 3)", pi_repeat, "R", SHAPES("3,4", "4", "1,2,1"), IV(2, 1, 3)),       \
         VAR("a.repeat(1, 1)", pi_repeat, "R", SHAPES("3,4"), IV(1, 1)),                           \
         VAR("a.repeat(3)", pi_repeat, "R", SHAPES("()", "4"), IV(3)),                             \
         VAR("a.repeat(())", pi_repeat, "R", SHAPES("()")),                                        \
         VAR("a.repeat(0, 2)", pi_repeat, "R", SHAPES("2,3"), IV(0, 2)),                           \
         VAR("a.t().repeat(2, 2)", pi_repeat_t, "R", SHAPES("3,2"), IV(2, 2)),                     \
         VAR("a.repeat(1, 1, 1, 1, 1, 1, 2, 2)", pi_repeat, "R", SHAPES("1,1,1,1,1,1,2,3", "2,3"), \
             IV(1, 1, 1, 1, 1, 1, 2, 2)),                                                          \
         VAR("a.repeat(1, 1, 1, 1, 1, 1, 0, 2)", pi_repeat, "R", SHAPES("1,1,1,1,1,1,2,3"),        \
             IV(1, 1, 1, 1, 1, 1, 0, 2)))

/* indexing with tensors: 'I' inputs are int64 indices in [0, ihi) */
#define SPEC_INDEX_SELECT                                                                          \
    SPEC(INDEX_SELECT, "IndexSelectBackward0", 'V',                                                \
         VAR("a.index_select(0, b)", pi_index_select, "RI",                                        \
             SHAPES("3,4|5", "3|2", "3,2,2|3", "3,4|0"), IV(0), .ihi = 3),                         \
         VAR("a.index_select(1, b)", pi_index_select, "RI", SHAPES("3,4|6", "2,4,3|2", "3,4|()"),  \
             IV(1), .ihi = 4),                                                                     \
         VAR("a.index_select(-1, b)", pi_index_select, "RI", SHAPES("3,2|3", "2|4"), IV(-1),       \
             .ihi = 2),                                                                            \
         VAR("a.index_select(0, b)", pi_index_select, "RI", SHAPES("()|1", "()|()"), IV(0),        \
             .ihi = 1),                                                                            \
         VAR("a.t().index_select(0, b)", pi_index_select_t, "RI", SHAPES("3,4|5"), IV(0),          \
             .ihi = 4))
#define SPEC_GATHER                                                                                \
    SPEC(GATHER, "GatherBackward0", 'V',                                                           \
         VAR("a.gather(1, b)", pi_gather, "RI", SHAPES("3,4|3,6", "3,4|2,2", "2,4,3|2,5,3"),       \
             IV(1), .ihi = 4),                                                                     \
         VAR("a.gather(0, b)", pi_gather, "RI", SHAPES("3,4|5,4", "3|7", "3,2|1,1", "3,2|0,2"),    \
             IV(0), .ihi = 3),                                                                     \
         VAR("a.gather(-1, b)", pi_gather, "RI", SHAPES("3,2|3,5"), IV(-1), .ihi = 2),             \
         VAR("a.gather(0, b)", pi_gather, "RI", SHAPES("()|()", "()|3", "2|()"), IV(0), .ihi = 1), \
         VAR("a.t().gather(0, b)", pi_gather_t, "RI", SHAPES("3,4|2,3"), IV(0), .ihi = 4))
#define SPEC_SCATTER_ADD                                                                           \
    SPEC(SCATTER_ADD, "ScatterAddBackward0", 'B',                                                  \
         VAR("a.scatter_add(1, b, c)", pi_scatter_add, "RIR",                                      \
             SHAPES("3,4|3,2|3,2", "3,4|2,6|2,6", "2,4,3|2,5,3|2,5,3"), IV(1), .ihi = 4),          \
         VAR("a.scatter_add(0, b, c)", pi_scatter_add, "RIR",                                      \
             SHAPES("3,4|5,4|5,4", "3|6|6", "3,2|2,1|2,1", "3,2|0,2|0,2"), IV(0), .ihi = 3),       \
         VAR("a.scatter_add(-1, b, c)", pi_scatter_add, "RIR", SHAPES("3,2|3,5|3,5"), IV(-1),      \
             .ihi = 2),                                                                            \
         VAR("a.scatter_add(0, b, c)", pi_scatter_add, "RIR", SHAPES("()|()|()", "()|3|3"), IV(0), \
             .ihi = 1),                                                                            \
         VAR("a.t().scatter_add(0, b, c)", pi_scatter_add_t, "RIR", SHAPES("3,4|3,3|3,3"), IV(0),  \
             .ihi = 4))
#define SPEC_MASKED_FILL                                                                           \
    SPEC(MASKED_FILL, "MaskedFillBackward0", 'V',                                                  \
         VAR("a.masked_fill(b, 2.5)", pi_masked_fill, "RC",                                        \
             SHAPES("3,4|3,4", "3,4|4", "3,1|1,4", "()|2,3", "2,3|()", "5|5", "()|()",             \
                    "2,1,3|4,1"),                                                                  \
             .s = 2.5),                                                                            \
         VAR("a.masked_fill(b, -1)", pi_masked_fill, "RC", SHAPES("3,4|3,4", "0,2|2"), .s = -1.0), \
         VAR("(a * 1).masked_fill_(b, 2.5)", p_masked_fill_ip, "RC", SHAPES("3,4|3,4", "3,4|4"),   \
             .s = 2.5),                                                                            \
         VAR("a.t().masked_fill(b, 0.5)", pi_masked_fill_t, "RC", SHAPES("3,4|4,3", "3,4|3"),      \
             .s = 0.5))
#define TRIANGLE_VARS(OP, PROBE, PROBE_T)                                                          \
    VAR("a." OP "()", PROBE, "R", SHAPES("3,4", "4,3", "2,3,4", "1,1", "0,2"), IV(0)),             \
        VAR("a." OP "(1)", PROBE, "R", SHAPES("3,4", "4,4", "2,2,2,3"), IV(1)),                    \
        VAR("a." OP "(-1)", PROBE, "R", SHAPES("3,4", "2,2,3"), IV(-1)),                           \
        VAR("a." OP "(5)", PROBE, "R", SHAPES("3,4"), IV(5)),                                      \
        VAR("a." OP "(-5)", PROBE, "R", SHAPES("3,4"), IV(-5)),                                    \
        VAR("a.t()." OP "(1)", PROBE_T, "R", SHAPES("3,4", "2,2"), IV(1))
#define SPEC_TRIU SPEC(TRIU, "TriuBackward0", 'V', TRIANGLE_VARS("triu", pi_triu, pi_triu_t))
#define SPEC_TRIL SPEC(TRIL, "TrilBackward0", 'V', TRIANGLE_VARS("tril", pi_tril, pi_tril_t))
