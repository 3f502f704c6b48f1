/* Test specs for the product rows of the op table (src/ops/product.def); the
 * format is described in tests/op_specs.h, which includes this file. outer
 * and einsum compose other rows: tests/test_einsum.c checks them. */

PROBE(p_baddbmm) {
    (void)v;
    return cg_baddbmm(A, B, C, 1, 1);
}
PROBE(p_baddbmm_ba) { return cg_baddbmm(A, B, C, v->s, -1.5); }
PROBE(p_baddbmm_t) { return cg_baddbmm(A, cg_transpose(B, 1, 2), C, v->s, 2); }

#define SPEC_BADDBMM                                                                               \
    SPEC(BADDBMM, "BaddbmmBackward0", 'L',                                                         \
         VAR("torch.baddbmm(a, b, c)", p_baddbmm, "RRR",                                           \
             SHAPES("2,3,5|2,3,4|2,4,5", "5|2,3,4|2,4,5", "3,1|2,3,4|2,4,5", "()|1,2,3|1,3,2",     \
                    "1,1,1|3,1,1|3,1,1", "2,3,0|2,3,4|2,4,0")),                                    \
         VAR("torch.baddbmm(a, b, c, beta=0.5, alpha=-1.5)", p_baddbmm_ba, "RRR",                  \
             SHAPES("2,3,5|2,3,4|2,4,5", "1,5|2,3,4|2,4,5"), .s = 0.5),                            \
         VAR("torch.baddbmm(a, b, c, beta=0, alpha=-1.5)", p_baddbmm_ba, "RRR",                    \
             SHAPES("2,3,5|2,3,4|2,4,5"), .s = 0.0),                                               \
         VAR("torch.baddbmm(a, b.transpose(1, 2), c, beta=-2, alpha=2)", p_baddbmm_t, "RRR",       \
             SHAPES("2,3,5|2,4,3|2,4,5"), .s = -2.0))
