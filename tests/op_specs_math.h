/* Test specs for the math rows of the op table (src/ops/math.def); the
 * format is described in tests/op_specs.h, which includes this file. */

#define MATH_PROBE1(NAME)                                                                          \
    PROBE(p_##NAME) {                                                                              \
        (void)v;                                                                                   \
        return cg_##NAME(A);                                                                       \
    }                                                                                              \
    PROBE(p_##NAME##_t) {                                                                          \
        (void)v;                                                                                   \
        return cg_##NAME(cg_transpose(A, 0, 1));                                                   \
    }
#define MATH_PROBE2(NAME)                                                                          \
    PROBE(p_##NAME) {                                                                              \
        (void)v;                                                                                   \
        return cg_##NAME(A, B);                                                                    \
    }                                                                                              \
    PROBE(p_##NAME##_t) {                                                                          \
        (void)v;                                                                                   \
        return cg_##NAME(cg_transpose(A, 0, 1), B);                                                \
    }
MATH_PROBE1(tan)
MATH_PROBE1(log2)
MATH_PROBE1(log10)
MATH_PROBE1(exp2)
MATH_PROBE2(maximum)
MATH_PROBE2(minimum)
MATH_PROBE2(atan2)
MATH_PROBE2(fmod)
MATH_PROBE2(remainder)
PROBE(p_maximum_self) {
    (void)v;
    return cg_maximum(A, A);
}
PROBE(p_fmod_s) { return cg_fmod_scalar(A, v->s); }
PROBE(p_remainder_s) { return cg_remainder_scalar(A, v->s); }
PROBE(p_lerp) { return cg_lerp(A, B, v->s); }
PROBE(p_lerp_t) {
    (void)v;
    return cg_lerp_tensor(A, B, C);
}
PROBE(p_lerp_tt) {
    (void)v;
    return cg_lerp_tensor(cg_transpose(A, 0, 1), B, C);
}
PROBE(p_addcmul) { return cg_addcmul(A, B, C, v->s); }
PROBE(p_addcmul_t) { return cg_addcmul(cg_transpose(A, 0, 1), B, C, v->s); }
PROBE(p_addcdiv) { return cg_addcdiv(A, B, C, v->s); }
PROBE(p_addcdiv_t) { return cg_addcdiv(cg_transpose(A, 0, 1), B, C, v->s); }

/* in place on a non-leaf copy, as (a * 1).tan_() in torch */
#define A1 cg_mul_scalar(A, 1)
PROBE(p_tan_ip) {
    (void)v;
    return cg_tan_(A1);
}
PROBE(p_log2_ip) {
    (void)v;
    return cg_log2_(A1);
}
PROBE(p_log10_ip) {
    (void)v;
    return cg_log10_(A1);
}
PROBE(p_exp2_ip) {
    (void)v;
    return cg_exp2_(A1);
}
PROBE(p_atan2_ip) {
    (void)v;
    return cg_atan2_(A1, B);
}
PROBE(p_fmod_ip) {
    (void)v;
    return cg_fmod_(A1, B);
}
PROBE(p_remainder_ip) {
    (void)v;
    return cg_remainder_(A1, B);
}
PROBE(p_fmod_s_ip) { return cg_fmod_scalar_(A1, v->s); }
PROBE(p_remainder_s_ip) { return cg_remainder_scalar_(A1, v->s); }
PROBE(p_lerp_ip) { return cg_lerp_(A1, B, v->s); }
/* torch's in-place addcmul_ / addcdiv_ fail an internal assert on mixed
 * dtypes (needs_dynamic_casting), so the operands are cast to a's first */
#define SAME_DT(t) cg_to(t, cg_dtype_of(A))
PROBE(p_addcmul_ip) { return cg_addcmul_(A1, SAME_DT(B), SAME_DT(C), v->s); }
PROBE(p_addcdiv_ip) { return cg_addcdiv_(A1, SAME_DT(B), SAME_DT(C), v->s); }

#define MATH_SHAPES SHAPES("3,4", "()", "2,3,4", "1", "7", "0,3")
#define MATH_T_SHAPES SHAPES("3,4", "1,5", "2,3,4")
#define MATH_UNARY(ID, NAME, PY, PROBE, PROBE_T, DOM)                                              \
    SPEC(ID, NAME, 'U', VAR("a." PY "()", PROBE, DOM, MATH_SHAPES),                                \
         VAR("a.transpose(0, 1)." PY "()", PROBE_T, DOM, MATH_T_SHAPES),                           \
         VAR("(a * 1)." PY "_()", PROBE##_ip, DOM, SHAPES("3,4", "()", "2,3,4")))
#define SPEC_TAN MATH_UNARY(TAN, "TanBackward0", "tan", p_tan, p_tan_t, "R")
#define SPEC_LOG2 MATH_UNARY(LOG2, "Log2Backward0", "log2", p_log2, p_log2_t, "P")
#define SPEC_LOG10 MATH_UNARY(LOG10, "Log10Backward0", "log10", p_log10, p_log10_t, "P")
#define SPEC_EXP2 MATH_UNARY(EXP2, "Exp2Backward0", "exp2", p_exp2, p_exp2_t, "R")

/* two inputs: broadcasting, 0-d operands, empty, a transposed first input */
#define MATH2_SHAPES                                                                               \
    SHAPES("3,4|3,4", "2,3,4|4", "3,1|1,4", "()|2,3", "5|()", "()|()", "2,1,3|4,1", "0,3|3")
#define MATH_BINARY(ID, NAME, FN, PROBE, PROBE_T, DOM)                                             \
    SPEC(ID, NAME, 'B', VAR("torch." FN "(a, b)", PROBE, DOM, MATH2_SHAPES),                       \
         VAR("torch." FN "(a.transpose(0, 1), b)", PROBE_T, DOM, SHAPES("3,4|4,3", "4,2|1")),      \
         VAR("(a * 1)." FN "_(b)", PROBE##_ip, DOM, SHAPES("3,4|4", "3,4|3,4", "()|()")))
/* R: no ties between a and b; a with itself ties everywhere (halves) */
#define SPEC_MAXIMUM                                                                               \
    SPEC(MAXIMUM, "MaximumBackward0", 'B',                                                         \
         VAR("torch.maximum(a, b)", p_maximum, "RR", MATH2_SHAPES),                                \
         VAR("torch.maximum(a.transpose(0, 1), b)", p_maximum_t, "RR", SHAPES("3,4|4,3")),         \
         VAR("torch.maximum(a, a)", p_maximum_self, "R", SHAPES("3,4", "()")))
#define SPEC_MINIMUM                                                                               \
    SPEC(MINIMUM, "MinimumBackward0", 'B',                                                         \
         VAR("torch.minimum(a, b)", p_minimum, "RR", MATH2_SHAPES),                                \
         VAR("torch.minimum(a.transpose(0, 1), b)", p_minimum_t, "RR",                             \
             SHAPES("3,4|4,3", "4,2|1")))
#define SPEC_ATAN2 MATH_BINARY(ATAN2, "Atan2Backward0", "atan2", p_atan2, p_atan2_t, "RR")
/* N: divisors away from zero (int64: +-1, +-2) */
#define SPEC_FMOD MATH_BINARY(FMOD, "FmodBackward1", "fmod", p_fmod, p_fmod_t, "RN")
#define SPEC_REMAINDER                                                                             \
    MATH_BINARY(REMAINDER, "RemainderBackward1", "remainder", p_remainder, p_remainder_t, "RN")
/* an integral scalar keeps int64 (bool becomes int64), a fractional one gives float32 */
#define MATH_SCALAR(ID, NAME, FN, PROBE)                                                           \
    SPEC(ID, NAME, 'U', VAR("torch." FN "(a, 1.5)", PROBE, "R", MATH_SHAPES, .s = 1.5),            \
         VAR("torch." FN "(a, -0.75)", PROBE, "R", SHAPES("3,4", "()"), .s = -0.75),               \
         VAR("torch." FN "(a, 2)", PROBE, "R", SHAPES("3,4", "()"), .s = 2.0),                     \
         VAR("torch." FN "(a, -3)", PROBE, "R", SHAPES("2,3,4"), .s = -3.0),                       \
         VAR("(a * 1)." FN "_(1.5)", PROBE##_ip, "R", SHAPES("3,4", "()"), .s = 1.5))
#define SPEC_FMOD_SCALAR MATH_SCALAR(FMOD_SCALAR, "FmodBackward0", "fmod", p_fmod_s)
#define SPEC_REMAINDER_SCALAR                                                                      \
    MATH_SCALAR(REMAINDER_SCALAR, "RemainderBackward0", "remainder", p_remainder_s)

/* weights below and above 0.5 take lerp's two formulas */
#define SPEC_LERP                                                                                  \
    SPEC(LERP, "LerpBackward0", 'B',                                                               \
         VAR("torch.lerp(a, b, 0.3)", p_lerp, "RR", MATH2_SHAPES, .s = 0.3),                       \
         VAR("torch.lerp(a, b, 0.75)", p_lerp, "RR", SHAPES("3,4|3,4", "4|2,4"), .s = 0.75),       \
         VAR("torch.lerp(a, b, -1.5)", p_lerp, "RR", SHAPES("3,4|1"), .s = -1.5),                  \
         VAR("(a * 1).lerp_(b, 0.3)", p_lerp_ip, "RR", SHAPES("3,4|4", "()|()"), .s = 0.3))
#define MATH3_SHAPES                                                                               \
    SHAPES("3,4|3,4|3,4", "3,4|4|3,1", "()|2,3|2,3", "2,1,3|3|2,1,1", "5|()|()", "()|()|()",       \
           "1,4|3,4|3,1", "0,3|3|1")
#define SPEC_LERP_TENSOR                                                                           \
    SPEC(LERP_TENSOR, "LerpBackward1", 'B',                                                        \
         VAR("torch.lerp(a, b, c)", p_lerp_t, "RRR", MATH3_SHAPES),                                \
         VAR("torch.lerp(a.transpose(0, 1), b, c)", p_lerp_tt, "RRR", SHAPES("4,3|3,4|3,4")))
#define SPEC_ADDCMUL                                                                               \
    SPEC(ADDCMUL, "AddcmulBackward0", 'B',                                                         \
         VAR("torch.addcmul(a, b, c, value=2)", p_addcmul, "RRR", MATH3_SHAPES, .s = 2.0),         \
         VAR("torch.addcmul(a, b, c)", p_addcmul, "RRR", SHAPES("3,4|3,4|4"), .s = 1.0),           \
         VAR("torch.addcmul(a.transpose(0, 1), b, c, value=-0.5)", p_addcmul_t, "RRR",             \
             SHAPES("4,3|3,4|3,4"), .s = -0.5),                                                    \
         VAR("(a * 1).addcmul_(b.to(a.dtype), c.to(a.dtype), value=2)", p_addcmul_ip, "RRR",       \
             SHAPES("3,4|4|3,1", "()|()|()"), .s = 2.0))
#define SPEC_ADDCDIV                                                                               \
    SPEC(ADDCDIV, "AddcdivBackward0", 'B',                                                         \
         VAR("torch.addcdiv(a, b, c, value=2)", p_addcdiv, "RRN", MATH3_SHAPES, .s = 2.0),         \
         VAR("torch.addcdiv(a, b, c, value=0.5)", p_addcdiv, "RRN", SHAPES("3,4|3,4|4"),           \
             .s = 0.5),                                                                            \
         VAR("torch.addcdiv(a.transpose(0, 1), b, c, value=-1.5)", p_addcdiv_t, "RRN",             \
             SHAPES("4,3|3,4|3,4"), .s = -1.5),                                                    \
         VAR("(a * 1).addcdiv_(b.to(a.dtype), c.to(a.dtype), value=0.5)", p_addcdiv_ip, "RRN",     \
             SHAPES("3,4|4|3,1"), .s = 0.5))
