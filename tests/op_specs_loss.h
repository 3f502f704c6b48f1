/* Test specs for the loss rows of the op table (src/ops/loss.def);
 * the format is described in tests/op_specs.h, which includes this file.
 *
 * iv[0] is the reduction (0 'none', 1 'mean', 2 'sum', cg_reduction's values),
 * iv[1] the ignore_index, s the label smoothing. Class targets are index
 * inputs (domain I, ihi = the classes). A weight (or pos_weight) cannot
 * require grad (PyTorch refuses it), so it is made from a fixed index input c:
 * (c + 1).to(a.dtype) / 4. Ignored targets: "b - 100 * (b == 0)" turns the
 * class-0 targets into PyTorch's default ignore_index -100.
 *
 * cross_entropy has no node kind of its own: its class-index variants sit
 * under NLL_LOSS / NLL_LOSS2D (log_softmax then nll_loss), its label-smoothing
 * and class-probability variants under the node kinds their graphs hold
 * (MulBackward1, AddBackward1, DivBackward1, IndexPutBackward0, CopySlices,
 * MaskedSelectBackward0). */

/* ----------------------------------------------------------------- probes */

#define LOSS_F_ "torch.nn.functional."
#define LOSS_W_ "(c + 1).to(a.dtype) / 4"
#define LOSS_PW_ "(c + 2).to(a.dtype) / 2"
#define LOSS_IG_ "b - 100 * (b == 0)"

static inline cg_reduction spec_red_(const spec_var *v) { return (cg_reduction)v->iv[0]; }
/* (c + 1).to(a.dtype) / 4 */
static inline cg_tensor *spec_loss_w_(cg_tensor *c, cg_tensor *a) {
    return cg_div_scalar(cg_to(cg_add_scalar(c, 1), cg_dtype_of(a)), 4);
}
/* (c + 2).to(a.dtype) / 2 */
static inline cg_tensor *spec_loss_pw_(cg_tensor *c, cg_tensor *a) {
    return cg_div_scalar(cg_to(cg_add_scalar(c, 2), cg_dtype_of(a)), 2);
}
/* b - 100 * (b == 0) */
static inline cg_tensor *spec_loss_ig_(cg_tensor *b) {
    return cg_sub(b, cg_mul_scalar(cg_eq_scalar(b, 0), 100));
}

PROBE(p_nll) { return cg_nll_loss(A, B, NULL, v->iv[1], spec_red_(v)); }
PROBE(p_nll_w) { return cg_nll_loss(A, B, spec_loss_w_(C, A), v->iv[1], spec_red_(v)); }
PROBE(p_nll_ig) { return cg_nll_loss(A, spec_loss_ig_(B), NULL, v->iv[1], spec_red_(v)); }
PROBE(p_nll_ig_w) {
    return cg_nll_loss(A, spec_loss_ig_(B), spec_loss_w_(C, A), v->iv[1], spec_red_(v));
}
PROBE(p_nll_t) { return cg_nll_loss(cg_t(A), B, NULL, v->iv[1], spec_red_(v)); }
PROBE(p_nll_t12) { return cg_nll_loss(cg_transpose(A, 1, 2), B, NULL, v->iv[1], spec_red_(v)); }
PROBE(p_ce) { return cg_cross_entropy(A, B, NULL, v->iv[1], spec_red_(v), v->s); }
PROBE(p_ce_w) { return cg_cross_entropy(A, B, spec_loss_w_(C, A), v->iv[1], spec_red_(v), v->s); }
PROBE(p_ce_ig) { return cg_cross_entropy(A, spec_loss_ig_(B), NULL, v->iv[1], spec_red_(v), v->s); }
PROBE(p_ce_ig_w) {
    return cg_cross_entropy(A, spec_loss_ig_(B), spec_loss_w_(C, A), v->iv[1], spec_red_(v), v->s);
}
PROBE(p_ce_t) { return cg_cross_entropy(cg_t(A), B, NULL, v->iv[1], spec_red_(v), v->s); }
PROBE(p_ce_t12) {
    return cg_cross_entropy(cg_transpose(A, 1, 2), B, NULL, v->iv[1], spec_red_(v), v->s);
}
PROBE(p_mse) { return cg_mse_loss(A, B, spec_red_(v)); }
PROBE(p_mse_t) { return cg_mse_loss(cg_t(A), B, spec_red_(v)); }
PROBE(p_bce) { return cg_binary_cross_entropy_with_logits(A, B, NULL, NULL, spec_red_(v)); }
PROBE(p_bce_t) {
    return cg_binary_cross_entropy_with_logits(cg_t(A), cg_t(B), NULL, NULL, spec_red_(v));
}
PROBE(p_bce_w) {
    return cg_binary_cross_entropy_with_logits(A, B, spec_loss_w_(C, A), NULL, spec_red_(v));
}
PROBE(p_bce_pw) {
    return cg_binary_cross_entropy_with_logits(A, B, NULL, spec_loss_pw_(C, A), spec_red_(v));
}
PROBE(p_bce_wpw) {
    return cg_binary_cross_entropy_with_logits(A, B, spec_loss_w_(C, A), spec_loss_pw_(C, A),
                                               spec_red_(v));
}

/* ------------------------------------------------------------------ specs */

#define SPEC_NLL_LOSS                                                                              \
    SPEC(NLL_LOSS, "NllLossBackward0", 'B',                                                        \
         VAR(LOSS_F_ "nll_loss(a, b)", p_nll, "RI", SHAPES("4,3|4", "1,3|1", "3|()", "6,5|6"),     \
             IV(1, -100), .ihi = 3),                                                               \
         VAR(LOSS_F_ "nll_loss(a, b, reduction='sum')", p_nll, "RI",                               \
             SHAPES("4,3|4", "3|()", "0,3|0"), IV(2, -100), .ihi = 3),                             \
         VAR(LOSS_F_ "nll_loss(a, b, reduction='none')", p_nll, "RI",                              \
             SHAPES("4,3|4", "3|()", "0,3|0", "1,4|1"), IV(0, -100), .ihi = 3),                    \
         VAR(LOSS_F_ "nll_loss(a, b, weight=" LOSS_W_ ")", p_nll_w, "RII",                         \
             SHAPES("4,3|4|3", "3|()|3"), IV(1, -100), .ihi = 3),                                  \
         VAR(LOSS_F_ "nll_loss(a, b, weight=" LOSS_W_ ", reduction='sum')", p_nll_w, "RII",        \
             SHAPES("4,3|4|3", "3|()|3"), IV(2, -100), .ihi = 3),                                  \
         VAR(LOSS_F_ "nll_loss(a, b, weight=" LOSS_W_ ", reduction='none')", p_nll_w, "RII",       \
             SHAPES("4,3|4|3", "3|()|3"), IV(0, -100), .ihi = 3),                                  \
         VAR(LOSS_F_ "nll_loss(a, " LOSS_IG_ ")", p_nll_ig, "RI", SHAPES("8,3|8"), IV(1, -100),    \
             .ihi = 3),                                                                            \
         VAR(LOSS_F_ "nll_loss(a, " LOSS_IG_ ", reduction='none')", p_nll_ig, "RI",                \
             SHAPES("8,3|8", "3|()"), IV(0, -100), .ihi = 3),                                      \
         VAR(LOSS_F_ "nll_loss(a, " LOSS_IG_ ", weight=" LOSS_W_ ")", p_nll_ig_w, "RII",           \
             SHAPES("8,3|8|3"), IV(1, -100), .ihi = 3),                                            \
         VAR(LOSS_F_ "nll_loss(a, b, ignore_index=1, reduction='sum')", p_nll, "RI",               \
             SHAPES("8,3|8", "3|()"), IV(2, 1), .ihi = 3),                                         \
         VAR(LOSS_F_ "nll_loss(a.t(), b)", p_nll_t, "RI", SHAPES("3,4|4"), IV(1, -100), .ihi = 3), \
         VAR(LOSS_F_ "cross_entropy(a, b)", p_ce, "RI", SHAPES("4,3|4", "3|()", "1,3|1"),          \
             IV(1, -100), .ihi = 3),                                                               \
         VAR(LOSS_F_ "cross_entropy(a, b, reduction='none')", p_ce, "RI", SHAPES("4,3|4", "3|()"), \
             IV(0, -100), .ihi = 3),                                                               \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_ ", reduction='sum')", p_ce_w, "RII",    \
             SHAPES("4,3|4|3", "3|()|3"), IV(2, -100), .ihi = 3),                                  \
         VAR(LOSS_F_ "cross_entropy(a, " LOSS_IG_ ", weight=" LOSS_W_ ")", p_ce_ig_w, "RII",       \
             SHAPES("8,3|8|3"), IV(1, -100), .ihi = 3),                                            \
         VAR(LOSS_F_ "cross_entropy(a.t(), b)", p_ce_t, "RI", SHAPES("3,4|4"), IV(1, -100),        \
             .ihi = 3))

/* cross_entropy's own log_softmax node (NOTE [ Fused cross_entropy ] in
 * src/ops/loss.c): its class-index cases of 1-D and 2-D input, many classes
 * (the kernels' vector body and tail) and every option */
#define SPEC_CE_LOG_SOFTMAX                                                                        \
    SPEC(CE_LOG_SOFTMAX, "LogSoftmaxBackward0", 'B',                                               \
         VAR(LOSS_F_ "cross_entropy(a, b)", p_ce, "RI", SHAPES("6,37|6", "37|()", "0,5|0"),        \
             IV(1, -100), .ihi = 37),                                                              \
         VAR(LOSS_F_ "cross_entropy(a, b, reduction='sum')", p_ce, "RI", SHAPES("5,19|5"),         \
             IV(2, -100), .ihi = 19),                                                              \
         VAR(LOSS_F_ "cross_entropy(a, b, reduction='none')", p_ce, "RI",                          \
             SHAPES("6,21|6", "21|()"), IV(0, -100), .ihi = 21),                                   \
         VAR(LOSS_F_ "cross_entropy(a, " LOSS_IG_ ", weight=" LOSS_W_ ", reduction='none')",       \
             p_ce_ig_w, "RII", SHAPES("8,3|8|3"), IV(0, -100), .ihi = 3),                          \
         VAR(LOSS_F_ "cross_entropy(a, " LOSS_IG_ ")", p_ce_ig, "RI", SHAPES("8,3|8"),             \
             IV(1, -100), .ihi = 3),                                                               \
         VAR(LOSS_F_ "cross_entropy(a, b, ignore_index=2, reduction='sum')", p_ce, "RI",           \
             SHAPES("8,3|8"), IV(2, 2), .ihi = 3),                                                 \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_ ")", p_ce_w, "RII",                     \
             SHAPES("7,17|7|17", "17|()|17"), IV(1, -100), .ihi = 17),                             \
         VAR(LOSS_F_ "cross_entropy(a.t(), b)", p_ce_t, "RI", SHAPES("3,4|4"), IV(1, -100),        \
             .ihi = 3))

/* nll_loss(a.transpose(1, 2), b) is 3-D only: a non-contiguous 4-D input fails in
 * torch 1.13's nll_loss2d backward ("grad_input must be contiguous"); cgrad makes the
 * input contiguous, then views it. */
#define SPEC_NLL_LOSS2D                                                                            \
    SPEC(NLL_LOSS2D, "NllLoss2DBackward0", 'B',                                                    \
         VAR(LOSS_F_ "nll_loss(a, b)", p_nll, "RI",                                                \
             SHAPES("2,3,4|2,4", "2,3,2,2|2,2,2", "2,3,2,1,2|2,2,1,2", "1,3,1|1,1"), IV(1, -100),  \
             .ihi = 3),                                                                            \
         VAR(LOSS_F_ "nll_loss(a, b, reduction='sum')", p_nll, "RI",                               \
             SHAPES("2,3,4|2,4", "2,3,2,2|2,2,2", "0,3,2|0,2", "2,3,0,2|2,0,2"), IV(2, -100),      \
             .ihi = 3),                                                                            \
         VAR(LOSS_F_ "nll_loss(a, b, reduction='none')", p_nll, "RI",                              \
             SHAPES("2,3,4|2,4", "2,3,2,2|2,2,2", "2,3,2,1,2|2,2,1,2", "2,3,0|2,0"), IV(0, -100),  \
             .ihi = 3),                                                                            \
         VAR(LOSS_F_ "nll_loss(a, b, weight=" LOSS_W_ ")", p_nll_w, "RII",                         \
             SHAPES("2,3,4|2,4|3", "2,3,2,2|2,2,2|3"), IV(1, -100), .ihi = 3),                     \
         VAR(LOSS_F_ "nll_loss(a, b, weight=" LOSS_W_ ", reduction='none')", p_nll_w, "RII",       \
             SHAPES("2,3,4|2,4|3", "2,3,2,2|2,2,2|3"), IV(0, -100), .ihi = 3),                     \
         VAR(LOSS_F_ "nll_loss(a, " LOSS_IG_ ", weight=" LOSS_W_ ")", p_nll_ig_w, "RII",           \
             SHAPES("2,3,4|2,4|3", "2,3,3,2|2,3,2|3"), IV(1, -100), .ihi = 3),                     \
         VAR(LOSS_F_ "nll_loss(a, b, ignore_index=2, reduction='none')", p_nll, "RI",              \
             SHAPES("2,3,4|2,4", "2,3,2,2|2,2,2"), IV(0, 2), .ihi = 3),                            \
         VAR(LOSS_F_ "nll_loss(a.transpose(1, 2), b)", p_nll_t12, "RI", SHAPES("2,4,3|2,4"),       \
             IV(1, -100), .ihi = 3),                                                               \
         VAR(LOSS_F_ "nll_loss(a.transpose(1, 2), b, reduction='none')", p_nll_t12, "RI",          \
             SHAPES("2,4,3|2,4", "1,5,3|1,5"), IV(0, -100), .ihi = 3),                             \
         VAR(LOSS_F_ "cross_entropy(a, b)", p_ce, "RI",                                            \
             SHAPES("2,3,4|2,4", "2,3,2,2|2,2,2", "2,3,2,1,2|2,2,1,2"), IV(1, -100), .ihi = 3),    \
         VAR(LOSS_F_ "cross_entropy(a, b, reduction='none')", p_ce, "RI",                          \
             SHAPES("2,3,4|2,4", "2,3,2,2|2,2,2"), IV(0, -100), .ihi = 3),                         \
         VAR(LOSS_F_ "cross_entropy(a, " LOSS_IG_ ", weight=" LOSS_W_ ", reduction='sum')",        \
             p_ce_ig_w, "RII", SHAPES("2,3,4|2,4|3", "2,3,2,2|2,2,2|3"), IV(2, -100), .ihi = 3),   \
         VAR(LOSS_F_ "cross_entropy(a.transpose(1, 2), b)", p_ce_t12, "RI",                        \
             SHAPES("2,4,3|2,4", "2,2,3,2|2,2,2"), IV(1, -100), .ihi = 3))

/* F.mse_loss warns when the shapes differ (cgrad does not): the broadcasting
 * shape sets call it on torch.broadcast_tensors(a, b), which records the same
 * ExpandBackward0 nodes as F.mse_loss's own call of it, without the warning */
#define LOSS_BT_ "(*torch.broadcast_tensors(a, b)"
#define SPEC_MSE_LOSS                                                                              \
    SPEC(MSE_LOSS, "MseLossBackward0", 'B',                                                        \
         VAR(LOSS_F_ "mse_loss(a, b)", p_mse, "RR", SHAPES("3,4|3,4", "()|()", "5|5"), IV(1)),     \
         VAR(LOSS_F_ "mse_loss" LOSS_BT_ ")", p_mse, "RR",                                         \
             SHAPES("3,4|4", "()|3", "2,1,3|4,1", "5|()", "1,4|3,1", "4|2,4"), IV(1)),             \
         VAR(LOSS_F_ "mse_loss(a, b, reduction='sum')", p_mse, "RR",                               \
             SHAPES("3,4|3,4", "()|()", "0,3|0,3"), IV(2)),                                        \
         VAR(LOSS_F_ "mse_loss" LOSS_BT_ ", reduction='sum')", p_mse, "RR",                        \
             SHAPES("3,4|4", "0,3|3", "3|2,1"), IV(2)),                                            \
         VAR(LOSS_F_ "mse_loss(a, b, reduction='none')", p_mse, "RR",                              \
             SHAPES("3,4|3,4", "()|()", "2,3,2|2,3,2"), IV(0)),                                    \
         VAR(LOSS_F_ "mse_loss" LOSS_BT_ ", reduction='none')", p_mse, "RR",                       \
             SHAPES("3,4|4", "()|3", "2,1,3|4,1"), IV(0)),                                         \
         VAR(LOSS_F_ "mse_loss(a.t(), b)", p_mse_t, "RR", SHAPES("3,4|4,3"), IV(1)),               \
         VAR(LOSS_F_ "mse_loss(*torch.broadcast_tensors(a.t(), b))", p_mse_t, "RR",                \
             SHAPES("4,3|4"), IV(1)))

/* 'R', not 'B': with a float32 input and a float64 target torch computes part
 * of the loss in float32 (exp_/log_ in the input's dtype) and returns float64,
 * which the forward-only dtype matrix would compare at float64's tolerance;
 * tests/test_loss_errors.c checks those dtypes (the same for DIV_SCALAR1 and
 * ADD_SCALAR1: log_softmax in float32, times a float64 target) */
#define SPEC_BCE_WITH_LOGITS                                                                       \
    SPEC(BCE_WITH_LOGITS, "BinaryCrossEntropyWithLogitsBackward0", 'R',                            \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a, b)", p_bce, "RR",                        \
             SHAPES("3,4|3,4", "()|()", "5|5", "2,3,2|2,3,2"), IV(1)),                             \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a, b, reduction='sum')", p_bce, "RR",       \
             SHAPES("3,4|3,4", "()|()", "0,2|0,2"), IV(2)),                                        \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a, b, reduction='none')", p_bce, "RR",      \
             SHAPES("3,4|3,4", "()|()", "2,3,2|2,3,2"), IV(0)),                                    \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a.t(), b.t())", p_bce_t, "RR",              \
             SHAPES("4,3|4,3"), IV(1)),                                                            \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a, b, weight=" LOSS_W_ ")", p_bce_w, "RRI", \
             SHAPES("3,4|3,4|4", "3,4|3,4|3,1", "()|()|()", "3|3|()"), IV(1), .ihi = 3),           \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a, b, pos_weight=" LOSS_PW_                 \
                     ", reduction='none')",                                                        \
             p_bce_pw, "RRI", SHAPES("3,4|3,4|4", "3,4|3,4|3,1", "()|()|()"), IV(0), .ihi = 3),    \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a, b, pos_weight=" LOSS_PW_ ")", p_bce_pw,  \
             "RRI", SHAPES("3,4|3,4|4", "5|5|5"), IV(1), .ihi = 3),                                \
         VAR(LOSS_F_ "binary_cross_entropy_with_logits(a, b, weight=" LOSS_W_                      \
                     ", pos_weight=" LOSS_PW_ ", reduction='sum')",                                \
             p_bce_wpw, "RRI", SHAPES("3,4|3,4|4", "2,3|2,3|2,1"), IV(2), .ihi = 3))

/* cross_entropy with label smoothing: (1 - ls) * nll and ret * (ls / C) */
#define SPEC_MUL_SCALAR1                                                                           \
    SPEC(MUL_SCALAR1, "MulBackward1", 'B',                                                         \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2, reduction='sum')", p_ce, "RI",      \
             SHAPES("4,3|4", "2,3,4|2,4", "2,3,2,2|2,2,2"), IV(2, -100), .s = 0.2, .ihi = 3),      \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_                                         \
                     ", label_smoothing=0.2, reduction='sum')",                                    \
             p_ce_w, "RII", SHAPES("4,3|4|3", "2,3,4|2,4|3"), IV(2, -100), .s = 0.2, .ihi = 3),    \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=1.0)", p_ce, "RI", SHAPES("4,3|4"),      \
             IV(1, -100), .s = 1.0, .ihi = 3),                                                     \
         VAR(LOSS_F_ "cross_entropy(a.t(), b, label_smoothing=0.3, reduction='none')", p_ce_t,     \
             "RI", SHAPES("3,4|4"), IV(0, -100), .s = 0.3, .ihi = 3))

/* index.def's rows that only cross_entropy records (label smoothing):
 * its masked_fill_ of the ignored targets (input of 2 or more dims) */
#define SPEC_INDEX_PUT                                                                             \
    SPEC(INDEX_PUT, "IndexPutBackward0", 'B',                                                      \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2, reduction='none')", p_ce, "RI",     \
             SHAPES("4,3|4", "2,3,4|2,4", "2,3,2,2|2,2,2", "2,3,2,1,2|2,2,1,2"), IV(0, -100),      \
             .s = 0.2, .ihi = 3),                                                                  \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_ ", label_smoothing=0.2)", p_ce_w,       \
             "RII", SHAPES("4,3|4|3", "2,3,4|2,4|3", "2,3,2,2|2,2,2|3"), IV(1, -100), .s = 0.2,    \
             .ihi = 3),                                                                            \
         VAR(LOSS_F_ "cross_entropy(a, " LOSS_IG_ ", weight=" LOSS_W_ ", label_smoothing=0.2)",    \
             p_ce_ig_w, "RII", SHAPES("8,3|8|3", "2,3,4|2,4|3"), IV(1, -100), .s = 0.2, .ihi = 3), \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_                                         \
                     ", ignore_index=1, label_smoothing=0.2, reduction='none')",                   \
             p_ce_w, "RII", SHAPES("8,3|8|3", "2,3,4|2,4|3"), IV(0, 1), .s = 0.2, .ihi = 3),       \
         VAR(LOSS_F_ "cross_entropy(a.transpose(1, 2), b, label_smoothing=0.2)", p_ce_t12, "RI",   \
             SHAPES("2,4,3|2,4"), IV(1, -100), .s = 0.2, .ihi = 3))

/* the same on the 0-d smooth loss of a 1-D input */
#define SPEC_INDEX_PUT_0D                                                                          \
    SPEC(INDEX_PUT_0D, "torch::autograd::CopySlices", 'B',                                         \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2, reduction='sum')", p_ce, "RI",      \
             SHAPES("3|()", "5|()"), IV(2, -100), .s = 0.2, .ihi = 3),                             \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2, reduction='none')", p_ce, "RI",     \
             SHAPES("3|()"), IV(0, -100), .s = 0.2, .ihi = 3),                                     \
         VAR(LOSS_F_ "cross_entropy(a, " LOSS_IG_ ", label_smoothing=0.2, reduction='none')",      \
             p_ce_ig, "RI", SHAPES("3|()", "4|()"), IV(0, -100), .s = 0.2, .ihi = 3),              \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_ ", label_smoothing=0.2)", p_ce_w,       \
             "RII", SHAPES("3|()|3"), IV(1, -100), .s = 0.2, .ihi = 3))

/* its unweighted mean over the targets not ignored */
#define SPEC_MASKED_SELECT                                                                         \
    SPEC(MASKED_SELECT, "MaskedSelectBackward0", 'B',                                              \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2)", p_ce, "RI",                       \
             SHAPES("4,3|4", "3|()", "2,3,4|2,4", "2,3,2,2|2,2,2", "1,5|1"), IV(1, -100),          \
             .s = 0.2, .ihi = 3),                                                                  \
         VAR(LOSS_F_ "cross_entropy(a, " LOSS_IG_ ", label_smoothing=0.2)", p_ce_ig, "RI",         \
             SHAPES("8,3|8", "2,3,4|2,4"), IV(1, -100), .s = 0.2, .ihi = 3),                       \
         VAR(LOSS_F_ "cross_entropy(a, b, ignore_index=2, label_smoothing=0.1)", p_ce, "RI",       \
             SHAPES("8,3|8"), IV(1, 2), .s = 0.1, .ihi = 3),                                       \
         MASKED_SELECT_PUBLIC /* cg_masked_select: op_specs_advindex.h */)

/* class probabilities, mean: -(input * target).sum() / (numel / C) */
#define SPEC_DIV_SCALAR1                                                                           \
    SPEC(DIV_SCALAR1, "DivBackward1", 'R',                                                         \
         VAR(LOSS_F_ "cross_entropy(a, b)", p_ce, "RP",                                            \
             SHAPES("4,3|4,3", "3|3", "2,3,4|2,3,4", "1,1|1,1"), IV(1, -100)),                     \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_ ")", p_ce_w, "RPI",                     \
             SHAPES("4,3|4,3|3", "3|3|3", "2,3,2|2,3,2|3"), IV(1, -100), .ihi = 3),                \
         VAR(LOSS_F_ "cross_entropy(a.t(), b)", p_ce_t, "RP", SHAPES("3,4|4,3"), IV(1, -100)))

/* class probabilities with label smoothing: target * (1 - ls) + ls / C */
#define SPEC_ADD_SCALAR1                                                                           \
    SPEC(ADD_SCALAR1, "AddBackward1", 'R',                                                         \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2)", p_ce, "RP",                       \
             SHAPES("4,3|4,3", "3|3", "2,3,4|2,3,4", "0,3|0,3"), IV(1, -100), .s = 0.2),           \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2, reduction='sum')", p_ce, "RP",      \
             SHAPES("4,3|4,3", "3|3"), IV(2, -100), .s = 0.2),                                     \
         VAR(LOSS_F_ "cross_entropy(a, b, label_smoothing=0.2, reduction='none')", p_ce, "RP",     \
             SHAPES("4,3|4,3", "3|3", "2,3,2|2,3,2"), IV(0, -100), .s = 0.2),                      \
         VAR(LOSS_F_ "cross_entropy(a, b, weight=" LOSS_W_                                         \
                     ", label_smoothing=0.2, reduction='none')",                                   \
             p_ce_w, "RPI", SHAPES("4,3|4,3|3", "2,3,2|2,3,2|3"), IV(0, -100), .s = 0.2,           \
             .ihi = 3))
