/* Test specs for the scan rows of the op table (src/ops/scan.def); the
 * format is described in tests/op_specs.h, which includes this file. */

PROBE(p_cumsum) { return cg_cumsum(A, (int)v->iv[0]); }
PROBE(p_cumsum_t) { return cg_cumsum(cg_transpose(A, 0, 1), (int)v->iv[0]); }
PROBE(p_cumprod) { return cg_cumprod(A, (int)v->iv[0]); }
PROBE(p_cumprod_relu) { return cg_cumprod(cg_relu(A), (int)v->iv[0]); }

#define SCAN_VARIANTS(OP, PROBE)                                                                   \
    VAR("a." OP "(1)", PROBE, "R", SHAPES("3,4", "2,3,4", "1,5", "0,3"), IV(1)),                   \
        VAR("a." OP "(0)", PROBE, "R", SHAPES("3,4", "7", "()", "1"), IV(0)),                      \
        VAR("a." OP "(-1)", PROBE, "R", SHAPES("2,3,4", "()"), IV(-1))
#define SPEC_CUMSUM                                                                                \
    SPEC(CUMSUM, "CumsumBackward0", 'R', SCAN_VARIANTS("cumsum", p_cumsum),                        \
         VAR("a.transpose(0, 1).cumsum(1)", p_cumsum_t, "R", SHAPES("3,4", "2,3,4"), IV(1)))
/* relu puts zeros (about half the draws) into the product: torch's gradient
 * through zeros; K keeps the draws off relu's kink */
#define SPEC_CUMPROD                                                                               \
    SPEC(CUMPROD, "CumprodBackward0", 'R', SCAN_VARIANTS("cumprod", p_cumprod),                    \
         VAR("a.relu().cumprod(1)", p_cumprod_relu, "K", SHAPES("3,4", "2,5,3", "4,6"), IV(1)),    \
         VAR("a.relu().cumprod(0)", p_cumprod_relu, "K", SHAPES("7", "5,2"), IV(0)))
