/* Test specs for the activation rows of the op table (src/ops/activation.def);
 * the format is described in tests/op_specs.h, which includes this file. */

PROBE(p_hardtanh) {
    (void)v;
    return cg_hardtanh(A, -1, 1);
}
PROBE(p_hardtanh_half) {
    (void)v;
    return cg_hardtanh(A, -0.5, 0.75);
}
PROBE(p_hardtanh_t) {
    (void)v;
    return cg_hardtanh(cg_transpose(A, 0, 1), -0.25, 0.5);
}
PROBE(p_elu) { return cg_elu(A, v->s); }
PROBE(p_elu_t) { return cg_elu(cg_transpose(A, 0, 1), v->s); }
PROBE(p_hardtanh_ip) {
    (void)v;
    return cg_hardtanh_(A1, -0.5, 0.75);
}
PROBE(p_elu_ip) { return cg_elu_(A1, v->s); }
PROBE(p_hardswish_ip) {
    (void)v;
    return cg_hardswish_(A1);
}
PROBE(p_mish_ip) {
    (void)v;
    return cg_mish_(A1);
}
MATH_PROBE1(logsigmoid)
MATH_PROBE1(mish)
MATH_PROBE1(hardswish)

/* R: the kinks (hardtanh's bounds, hardswish's +-3) are rarely within a
 * finite-difference step; K keeps elu off 0 */
#define SPEC_HARDTANH                                                                              \
    SPEC(HARDTANH, "HardtanhBackward0", 'U',                                                       \
         VAR("torch.nn.functional.hardtanh(a)", p_hardtanh, "R", MATH_SHAPES),                     \
         VAR("torch.nn.functional.hardtanh(a, -0.5, 0.75)", p_hardtanh_half, "R",                  \
             SHAPES("3,4", "()", "2,3,4")),                                                        \
         VAR("torch.nn.functional.hardtanh(a.transpose(0, 1), -0.25, 0.5)", p_hardtanh_t, "R",     \
             MATH_T_SHAPES),                                                                       \
         VAR("torch.nn.functional.hardtanh_(a * 1, -0.5, 0.75)", p_hardtanh_ip, "R",               \
             SHAPES("3,4", "()")))
/* elu_ saves its result */
#define SPEC_ELU_RESULT                                                                            \
    SPEC(ELU_RESULT, "EluBackward1", 'U',                                                          \
         VAR("torch.nn.functional.elu_(a * 1)", p_elu_ip, "K", SHAPES("3,4", "()", "2,3,4"),       \
             .s = 1.0),                                                                            \
         VAR("torch.nn.functional.elu(a * 1, 0.5, inplace=True)", p_elu_ip, "K", SHAPES("3,4"),    \
             .s = 0.5))
#define SPEC_ELU                                                                                   \
    SPEC(ELU, "EluBackward0", 'U',                                                                 \
         VAR("torch.nn.functional.elu(a)", p_elu, "K", MATH_SHAPES, .s = 1.0),                     \
         VAR("torch.nn.functional.elu(a, 0.5)", p_elu, "K", SHAPES("3,4", "()"), .s = 0.5),        \
         VAR("torch.nn.functional.elu(a.transpose(0, 1), 2.5)", p_elu_t, "K", MATH_T_SHAPES,       \
             .s = 2.5))
#define ACT_UNARY(ID, NAME, FN, PROBE, PROBE_T)                                                    \
    SPEC(ID, NAME, 'U', VAR("torch.nn.functional." FN "(a)", PROBE, "R", MATH_SHAPES),             \
         VAR("torch.nn.functional." FN "(a.transpose(0, 1))", PROBE_T, "R", MATH_T_SHAPES))
#define SPEC_LOGSIGMOID                                                                            \
    ACT_UNARY(LOGSIGMOID, "LogSigmoidBackward0", "logsigmoid", p_logsigmoid, p_logsigmoid_t)
#define ACT_UNARY_IP(ID, NAME, FN, PROBE, PROBE_T)                                                 \
    SPEC(ID, NAME, 'U', VAR("torch.nn.functional." FN "(a)", PROBE, "R", MATH_SHAPES),             \
         VAR("torch.nn.functional." FN "(a.transpose(0, 1))", PROBE_T, "R", MATH_T_SHAPES),        \
         VAR("torch.nn.functional." FN "(a * 1, inplace=True)", PROBE##_ip, "R",                   \
             SHAPES("3,4", "()")))
#define SPEC_MISH ACT_UNARY_IP(MISH, "MishBackward0", "mish", p_mish, p_mish_t)
#define SPEC_HARDSWISH                                                                             \
    ACT_UNARY_IP(HARDSWISH, "HardswishBackward0", "hardswish", p_hardswish, p_hardswish_t)
