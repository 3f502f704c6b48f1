/* Test specs for linear_cross_entropy (src/ops/linear_ce.c); the format is
 * described in tests/op_specs.h, which includes this file.
 *
 * a is the input (N, C), b the weight (V, C) -- or, with a bias, (V, C + 1)
 * holding the weight in its first C columns and the bias in the last (the
 * spec's inputs are three) --, c the targets (N) in [0, V). iv[0] is the
 * reduction, iv[1] the ignore_index, iv[2] the rows per chunk (0: the
 * memory budget's, one chunk at these sizes). torch has no such node: py is
 * F.cross_entropy(F.linear(...)) run by the oracle's CgLinearCrossEntropy
 * as one node of cgrad's name. */
#ifndef CG_OP_SPECS_LINEAR_CE_H
#define CG_OP_SPECS_LINEAR_CE_H

#include "ops/ops.h"

/* linear_cross_entropy with the spec's chunk rows */
static inline cg_tensor *spec_lce_(cg_tensor *x, cg_tensor *w, cg_tensor *bias, cg_tensor *t,
                                   const spec_var *v) {
    cg__linear_ce_set_chunk_rows(v->iv[2]);
    cg_tensor *r = cg_linear_cross_entropy(x, w, bias, t, v->iv[1], spec_red_(v));
    cg__linear_ce_set_chunk_rows(0);
    return r;
}
/* b's first C columns: the weight; its last: the bias */
static inline cg_tensor *spec_lce_w_(cg_tensor *b) { return cg_narrow(b, 1, 0, cg_size(b, 1) - 1); }
static inline cg_tensor *spec_lce_b_(cg_tensor *b) { return cg_select(b, 1, -1); }

PROBE(p_lce) { return spec_lce_(A, B, NULL, C, v); }
PROBE(p_lce_t) { return spec_lce_(cg_t(A), B, NULL, C, v); }
PROBE(p_lce_ig) { return spec_lce_(A, B, NULL, spec_loss_ig_(C), v); }
PROBE(p_lce_b) { return spec_lce_(A, spec_lce_w_(B), spec_lce_b_(B), C, v); }
PROBE(p_lce_b_ig) { return spec_lce_(A, spec_lce_w_(B), spec_lce_b_(B), spec_loss_ig_(C), v); }

#define LCE_(F, IN) "CgLinearCrossEntropy.apply(lambda a, w, t: " F ", " IN ")"
#define LCE_B_(F, IN) "CgLinearCrossEntropy.apply(lambda a, w, bias, t: " F ", " IN ")"
#define LCE_BIN_ "a, b.narrow(1, 0, b.shape[1] - 1), b.select(1, -1)"
#define LCE_IG_ "c - 100 * (c == 0)"
#define LCE_LIN_ LOSS_F_ "linear(a, w)"
#define LCE_LIN_B_ LOSS_F_ "linear(a, w, bias)"

#define SPEC_LINEAR_CROSS_ENTROPY                                                                  \
    SPEC(LINEAR_CROSS_ENTROPY, "LinearCrossEntropyBackward0", 'L',                                 \
         VAR(LCE_(LOSS_F_ "cross_entropy(" LCE_LIN_ ", t)", "a, b, c"), p_lce, "RRI",              \
             SHAPES("4,3|5,3|4", "1,2|37,2|1", "6,5|19,5|6"), IV(1, -100, 0), .ihi = 5),           \
         VAR(LCE_(LOSS_F_ "cross_entropy(" LCE_LIN_ ", t, reduction='sum')", "a, b, c"), p_lce,    \
             "RRI", SHAPES("4,3|5,3|4", "3,2|33,2|3"), IV(2, -100, 0), .ihi = 5),                  \
         VAR(LCE_(LOSS_F_ "cross_entropy(" LCE_LIN_ ", t)", "a, b, c"), p_lce, "RRI",              \
             SHAPES("8,3|6,3|8", "10,4|21,4|10", "3,2|6,2|3"), IV(1, -100, 3), .ihi = 6),          \
         VAR(LCE_(LOSS_F_ "cross_entropy(" LCE_LIN_ ", t, reduction='sum')", "a.t(), b, c"),       \
             p_lce_t, "RRI", SHAPES("3,7|5,3|7"), IV(2, -100, 2), .ihi = 5),                       \
         VAR(LCE_(LOSS_F_ "cross_entropy(" LCE_LIN_ ", t)", "a, b, " LCE_IG_), p_lce_ig, "RRI",    \
             SHAPES("8,3|4,3|8", "9,2|7,2|9"), IV(1, -100, 4), .ihi = 4),                          \
         VAR(LCE_(LOSS_F_ "cross_entropy(" LCE_LIN_ ", t, ignore_index=1, reduction='sum')",       \
                  "a, b, c"),                                                                      \
             p_lce, "RRI", SHAPES("7,3|4,3|7"), IV(2, 1, 2), .ihi = 4),                            \
         VAR(LCE_B_(LOSS_F_ "cross_entropy(" LCE_LIN_B_ ", t)", LCE_BIN_ ", c"), p_lce_b, "RRI",   \
             SHAPES("4,3|5,4|4", "7,2|6,3|7"), IV(1, -100, 0), .ihi = 5),                          \
         VAR(LCE_B_(LOSS_F_ "cross_entropy(" LCE_LIN_B_ ", t, reduction='sum')", LCE_BIN_ ", c"),  \
             p_lce_b, "RRI", SHAPES("7,3|5,4|7"), IV(2, -100, 3), .ihi = 5),                       \
         VAR(LCE_B_(LOSS_F_ "cross_entropy(" LCE_LIN_B_ ", t)", LCE_BIN_ ", " LCE_IG_),            \
             p_lce_b_ig, "RRI", SHAPES("9,3|5,4|9"), IV(1, -100, 2), .ihi = 5))

#endif
