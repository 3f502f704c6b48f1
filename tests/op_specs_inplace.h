/* Test specs for the rows of ops that exist only in place (src/ops/ops_inplace.def). */
PROBE(p_clamp_ip) { (void)v; return cg_clamp_(cg_mul_scalar(A, 1), -0.5, 0.5); }
PROBE(p_masked_fill_ip) { return cg_masked_fill_(cg_mul_scalar(A, 1), B, v->s); }
#define SPEC_ZERO                                                              \
    SPEC(ZERO, "ZeroBackward0", 'U', VAR("(a * 1).zero_()", p_zero_ip, "R", SHAPES("3,4", "()", "0,2")))
#define SPEC_FILL                                                              \
    SPEC(FILL, "FillBackward2", 'U',                                           \
         VAR("(a * 1).fill_(2.5)", p_fill_ip, "R", SHAPES("3,4", "()"), .s = 2.5))
#define SPEC_COPY                                                              \
    SPEC(COPY, "torch::autograd::CopyBackwards", 'B',                          \
         VAR("(a * 1).copy_(b)", p_copy_ip, "RR", SHAPES("3,4|4", "3,4|3,4", "2,3|()", "2,3|1,3")))
