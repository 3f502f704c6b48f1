/* Test specs for the rows of ops that exist only in place (src/ops/inplace.def). */
PROBE(p_clamp_ip) {
    (void)v;
    return cg_clamp_(cg_mul_scalar(A, 1), -0.5, 0.5);
}
PROBE(p_masked_fill_ip) { return cg_masked_fill_(cg_mul_scalar(A, 1), B, v->s); }
/* in-place writes through views: t = a * 1; t[0] *= s / t[1:3] += b; then t or the view */
PROBE(p_view_mul_ip) {
    cg_tensor *t = cg_mul_scalar(A, 1);
    return cg_mul_scalar_(cg_select(t, 0, 0), v->s) ? t : NULL;
}
PROBE(p_view_add_ip) {
    (void)v;
    cg_tensor *t = cg_mul_scalar(A, 1);
    return cg_add_(cg_narrow(t, 0, 1, 2), B) ? t : NULL;
}
PROBE(p_view_mul_ip_view) { return cg_mul_scalar_(cg_select(cg_mul_scalar(A, 1), 0, 0), v->s); }
PROBE(p_view_exp_ip_view) {
    (void)v;
    return cg_exp_(cg_transpose(cg_mul_scalar(A, 1), 0, 1));
}
#define SPEC_ZERO                                                                                  \
    SPEC(ZERO, "ZeroBackward0", 'U',                                                               \
         VAR("(a * 1).zero_()", p_zero_ip, "R", SHAPES("3,4", "()", "0,2")))
#define SPEC_FILL                                                                                  \
    SPEC(FILL, "FillBackward2", 'U',                                                               \
         VAR("(a * 1).fill_(2.5)", p_fill_ip, "R", SHAPES("3,4", "()"), .s = 2.5))
#define SPEC_COPY                                                                                  \
    SPEC(COPY, "torch::autograd::CopyBackwards", 'B',                                              \
         VAR("(a * 1).copy_(b)", p_copy_ip, "RR",                                                  \
             SHAPES("3,4|4", "3,4|3,4", "2,3|()", "2,3|1,3")))
#define SPEC_COPY_SLICES                                                                           \
    SPEC(COPY_SLICES, "torch::autograd::CopySlices", 'U',                                          \
         VAR("(lambda t: (t[0].mul_(2.5), t)[1])(a * 1)", p_view_mul_ip, "R",                      \
             SHAPES("3,4", "4", "2,3,2"), .s = 2.5),                                               \
         VAR("(lambda t: (t[1:3].add_(b), t)[1])(a * 1)", p_view_add_ip, "RR",                     \
             SHAPES("4,3|2,3", "4,3|3", "5,2|()")))
#define SPEC_AS_STRIDED                                                                            \
    SPEC(AS_STRIDED, "AsStridedBackward0", 'U',                                                    \
         VAR("(lambda v: (v.mul_(2.5), v)[1])((a * 1)[0])", p_view_mul_ip_view, "R",               \
             SHAPES("3,4", "2,3,2"), .s = 2.5),                                                    \
         VAR("(a * 1).t().exp_()", p_view_exp_ip_view, "R", SHAPES("3,4", "1,5")))
