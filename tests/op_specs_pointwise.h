/* Test specs for the pointwise rows of the op table (src/ops/pointwise.def);
 * the format is described in tests/op_specs.h, which includes this file. */

PROBE(p_sin) {
    (void)v;
    return cg_sin(A);
}
PROBE(p_sin_t) {
    (void)v;
    return cg_sin(cg_transpose(A, 0, 1));
}
PROBE(p_cos) {
    (void)v;
    return cg_cos(A);
}
PROBE(p_cos_t) {
    (void)v;
    return cg_cos(cg_transpose(A, 0, 1));
}
PROBE(p_log1p) {
    (void)v;
    return cg_log1p(A);
}
PROBE(p_expm1) {
    (void)v;
    return cg_expm1(A);
}
PROBE(p_expm1_t) {
    (void)v;
    return cg_expm1(cg_transpose(A, 0, 1));
}
PROBE(p_rsqrt) {
    (void)v;
    return cg_rsqrt(A);
}
PROBE(p_rsqrt_t) {
    (void)v;
    return cg_rsqrt(cg_transpose(A, -1, 0));
}
PROBE(p_erf) {
    (void)v;
    return cg_erf(A);
}
PROBE(p_erf_t) {
    (void)v;
    return cg_erf(cg_transpose(A, 0, 1));
}
PROBE(p_atan) {
    (void)v;
    return cg_atan(A);
}
PROBE(p_atan_t) {
    (void)v;
    return cg_atan(cg_transpose(A, 0, 1));
}
/* clamp, scalar bounds: -INFINITY / INFINITY stand for None */
PROBE(p_clamp_both) {
    (void)v;
    return cg_clamp(A, -0.5, 0.5);
}
PROBE(p_clamp_min) {
    (void)v;
    return cg_clamp(A, -0.5, INFINITY);
}
PROBE(p_clamp_max) {
    (void)v;
    return cg_clamp(A, -INFINITY, 0.5);
}
PROBE(p_clamp_int) {
    (void)v;
    return cg_clamp(A, -1, 1);
}
PROBE(p_clamp_min_int) {
    (void)v;
    return cg_clamp(A, 0, INFINITY);
}
PROBE(p_clamp_crossed) {
    (void)v;
    return cg_clamp(A, 0.5, -0.25);
}
PROBE(p_clamp_t) {
    (void)v;
    return cg_clamp(cg_transpose(A, 0, 1), -0.75, 0.25);
}
/* clamp, tensor bounds */
PROBE(p_clamp_tt) {
    (void)v;
    return cg_clamp_tensor(A, B, C);
}
PROBE(p_clamp_tmin) {
    (void)v;
    return cg_clamp_tensor(A, B, NULL);
}
PROBE(p_clamp_tmax) {
    (void)v;
    return cg_clamp_tensor(A, NULL, B);
}
PROBE(p_clamp_tt_t) {
    (void)v;
    return cg_clamp_tensor(cg_transpose(A, 0, 1), B, C);
}
PROBE(p_clamp_tt_self) {
    (void)v;
    return cg_clamp_tensor(A, B, A);
}
/* activations */
PROBE(p_gelu) {
    (void)v;
    return cg_gelu(A, false);
}
PROBE(p_gelu_tanh) {
    (void)v;
    return cg_gelu(A, true);
}
PROBE(p_gelu_t) {
    (void)v;
    return cg_gelu(cg_transpose(A, 0, 1), false);
}
PROBE(p_gelu_tanh_t) {
    (void)v;
    return cg_gelu(cg_transpose(A, 0, 1), true);
}
PROBE(p_silu) {
    (void)v;
    return cg_silu(A);
}
PROBE(p_silu_t) {
    (void)v;
    return cg_silu(cg_transpose(A, 0, 1));
}
PROBE(p_leaky) { return cg_leaky_relu(A, v->s); }
PROBE(p_leaky_t) { return cg_leaky_relu(cg_transpose(A, 0, 1), v->s); }
PROBE(p_softplus) {
    (void)v;
    return cg_softplus(A, 1, 20);
}
PROBE(p_softplus_2_1) {
    (void)v;
    return cg_softplus(A, 2, 1);
}
PROBE(p_softplus_neg) {
    (void)v;
    return cg_softplus(A, -1.5, 0.5);
}
PROBE(p_softplus_t) {
    (void)v;
    return cg_softplus(cg_transpose(A, 0, 1), 0.5, 0.25);
}
/* rounding */
PROBE(p_floor) {
    (void)v;
    return cg_floor(A);
}
PROBE(p_floor_t) {
    (void)v;
    return cg_floor(cg_transpose(A, 0, 1));
}
PROBE(p_ceil) {
    (void)v;
    return cg_ceil(A);
}
PROBE(p_ceil_t) {
    (void)v;
    return cg_ceil(cg_transpose(A, 0, 1));
}
PROBE(p_round) {
    (void)v;
    return cg_round(A);
}
PROBE(p_round_t) {
    (void)v;
    return cg_round(cg_transpose(A, 0, 1));
}

/* unary shapes: 0-d, 1-d, empty */
#define PW_SHAPES SHAPES("3,4", "()", "2,3,4", "1", "7", "0,3")
/* a transposed (non-contiguous) input */
#define PW_T_SHAPES SHAPES("3,4", "1,5", "2,3,4")
#define PW_UNARY(ID, NAME, PY, PROBE, PROBE_T, DOM)                                                \
    SPEC(ID, NAME, 'U', VAR("a." PY "()", PROBE, DOM, PW_SHAPES),                                  \
         VAR("a.transpose(0, 1)." PY "()", PROBE_T, DOM, PW_T_SHAPES))
#define SPEC_SIN PW_UNARY(SIN, "SinBackward0", "sin", p_sin, p_sin_t, "R")
#define SPEC_COS PW_UNARY(COS, "CosBackward0", "cos", p_cos, p_cos_t, "R")
#define SPEC_LOG1P SPEC(LOG1P, "Log1PBackward0", 'U', VAR("a.log1p()", p_log1p, "P", PW_SHAPES))
#define SPEC_EXPM1 PW_UNARY(EXPM1, "Expm1Backward0", "expm1", p_expm1, p_expm1_t, "R")
#define SPEC_RSQRT                                                                                 \
    SPEC(RSQRT, "RsqrtBackward0", 'U', VAR("a.rsqrt()", p_rsqrt, "P", PW_SHAPES),                  \
         VAR("a.transpose(-1, 0).rsqrt()", p_rsqrt_t, "P", PW_T_SHAPES))
#define SPEC_ERF PW_UNARY(ERF, "ErfBackward0", "erf", p_erf, p_erf_t, "R")
#define SPEC_ATAN PW_UNARY(ATAN, "AtanBackward0", "atan", p_atan, p_atan_t, "R")

/* clamp: bounds between typical values of R, so finite differences stay off
 * the kinks; int bounds keep int64 inputs int64 (bool becomes int64) */
#define SPEC_CLAMP                                                                                 \
    SPEC(CLAMP, "ClampBackward1", 'U', VAR("a.clamp(-0.5, 0.5)", p_clamp_both, "R", PW_SHAPES),    \
         VAR("(a * 1).clamp_(-0.5, 0.5)", p_clamp_ip, "R", SHAPES("3,4", "()")),                   \
         VAR("a.clamp(min=-0.5)", p_clamp_min, "R", SHAPES("3,4", "()", "2,3,4")),                 \
         VAR("a.clamp(max=0.5)", p_clamp_max, "R", SHAPES("3,4", "()", "2,3,4")),                  \
         VAR("a.clamp(-1, 1)", p_clamp_int, "R", SHAPES("3,4", "()", "5")),                        \
         VAR("a.clamp(min=0)", p_clamp_min_int, "K", SHAPES("3,4", "()")),                         \
         VAR("a.clamp(0.5, -0.25)", p_clamp_crossed, "R", SHAPES("3,4", "()")),                    \
         VAR("a.transpose(0, 1).clamp(-0.75, 0.25)", p_clamp_t, "R", PW_T_SHAPES))
#define PW_CLAMP2_SHAPES                                                                           \
    SHAPES("3,4|3,4", "2,3,4|4", "3,1|1,4", "()|2,3", "5|()", "()|()", "2,1,3|4,1")
/* With both bounds, torch 1.13's backward fails ("output with shape [3] doesn't
 * match the broadcast shape [2, 3]", an in-place logical_and_/or_ in
 * clamp_backward_min_max) unless a >= min and a <= max (and a < min, min < max,
 * ...) have nested broadcast shapes, so the three-tensor shape sets keep to
 * those; cgrad's gradients hold for any broadcast. */
#define SPEC_CLAMP_TENSOR                                                                          \
    SPEC(CLAMP_TENSOR, "ClampBackward0", 'B',                                                      \
         VAR("torch.clamp(a, b, c)", p_clamp_tt, "RRR",                                            \
             SHAPES("3,4|3,4|3,4", "3,4|4|3,1", "()|2,3|2,3", "2,1,3|3|2,1,1", "5|()|()",          \
                    "()|()|()", "1,4|3,4|3,1", "3|2,3|2,3")),                                      \
         VAR("torch.clamp(a, b)", p_clamp_tmin, "RR", PW_CLAMP2_SHAPES),                           \
         VAR("torch.clamp(a, None, b)", p_clamp_tmax, "RR", PW_CLAMP2_SHAPES),                     \
         VAR("torch.clamp(a.transpose(0, 1), b, c)", p_clamp_tt_t, "RRR",                          \
             SHAPES("4,3|3,4|3,4", "3,2|3|2,1")),                                                  \
         VAR("torch.clamp(a, b, a)", p_clamp_tt_self, "RR", SHAPES("3,4|3,4", "3,4|4")))

#define SPEC_GELU                                                                                  \
    SPEC(GELU, "GeluBackward0", 'U', VAR("torch.nn.functional.gelu(a)", p_gelu, "R", PW_SHAPES),   \
         VAR("torch.nn.functional.gelu(a, approximate='tanh')", p_gelu_tanh, "R", PW_SHAPES),      \
         VAR("torch.nn.functional.gelu(a.transpose(0, 1))", p_gelu_t, "R", PW_T_SHAPES),           \
         VAR("torch.nn.functional.gelu(a.transpose(0, 1), approximate='tanh')", p_gelu_tanh_t,     \
             "R", SHAPES("3,4")))
#define SPEC_SILU                                                                                  \
    SPEC(SILU, "SiluBackward0", 'U', VAR("torch.nn.functional.silu(a)", p_silu, "R", PW_SHAPES),   \
         VAR("torch.nn.functional.silu(a.transpose(0, 1))", p_silu_t, "R", PW_T_SHAPES))
/* K: away from the kink at 0 */
#define SPEC_LEAKY_RELU                                                                            \
    SPEC(LEAKY_RELU, "LeakyReluBackward0", 'U',                                                    \
         VAR("torch.nn.functional.leaky_relu(a)", p_leaky, "K", PW_SHAPES, .s = 0.01),             \
         VAR("torch.nn.functional.leaky_relu(a, 0.2)", p_leaky, "K", SHAPES("3,4", "()"),          \
             .s = 0.2),                                                                            \
         VAR("torch.nn.functional.leaky_relu(a, -1.5)", p_leaky, "K", SHAPES("3,4"), .s = -1.5),   \
         VAR("torch.nn.functional.leaky_relu(a, 2)", p_leaky, "K", SHAPES("3,4"), .s = 2.0),       \
         VAR("torch.nn.functional.leaky_relu(a.transpose(0, 1), 0.1)", p_leaky_t, "K",             \
             PW_T_SHAPES, .s = 0.1))
/* thresholds 1 and 0.5 put both branches among R's values */
#define SPEC_SOFTPLUS                                                                              \
    SPEC(SOFTPLUS, "SoftplusBackward0", 'U',                                                       \
         VAR("torch.nn.functional.softplus(a)", p_softplus, "R", PW_SHAPES),                       \
         VAR("torch.nn.functional.softplus(a, 2, 1)", p_softplus_2_1, "R",                         \
             SHAPES("3,4", "()", "2,3,4")),                                                        \
         VAR("torch.nn.functional.softplus(a, -1.5, 0.5)", p_softplus_neg, "R",                    \
             SHAPES("3,4", "7")),                                                                  \
         VAR("torch.nn.functional.softplus(a.transpose(0, 1), 0.5, 0.25)", p_softplus_t, "R",      \
             PW_T_SHAPES))

/* D: values off the integers (and off the halves for an even numel), away
 * from rounding's jumps */
#define PW_ROUND_SHAPES SHAPES("3,4", "()", "2,3,4", "1", "6", "0,3")
#define PW_ROUNDING(ID, NAME, PY, PROBE, PROBE_T)                                                  \
    SPEC(ID, NAME, 'U', VAR("a." PY "()", PROBE, "D", PW_ROUND_SHAPES),                            \
         VAR("a.transpose(0, 1)." PY "()", PROBE_T, "D", SHAPES("3,4", "2,3,2")))
#define SPEC_FLOOR PW_ROUNDING(FLOOR, "FloorBackward0", "floor", p_floor, p_floor_t)
#define SPEC_CEIL PW_ROUNDING(CEIL, "CeilBackward0", "ceil", p_ceil, p_ceil_t)
#define SPEC_ROUND PW_ROUNDING(ROUND, "RoundBackward0", "round", p_round, p_round_t)
