/* Test specs for the extreme rows of the op table (src/ops/extreme.def); the
 * format is described in tests/op_specs.h, which includes this file. */

#define EXT_PROBE(NAME)                                                                            \
    PROBE(p_##NAME) {                                                                              \
        int d[CG_MAX_DIMS];                                                                        \
        int n = spec_dims_(v, d);                                                                  \
        return cg_##NAME(A, n, d, v->keepdim);                                                     \
    }                                                                                              \
    PROBE(p_##NAME##_ties) { /* a beside itself: every extreme ties */                             \
        cg_tensor *aa[2] = {A, A};                                                                 \
        int d[CG_MAX_DIMS];                                                                        \
        int n = spec_dims_(v, d);                                                                  \
        return cg_##NAME(cg_cat(2, aa, 1), n, d, v->keepdim);                                      \
    }
EXT_PROBE(amax)
EXT_PROBE(amin)

/* R: no ties among distinct draws; the ties variants split the gradient */
#define EXT_SPEC(ID, NAME, OP, PROBE, PROBE_TIES)                                                  \
    SPEC(ID, NAME, 'R', DIMS_VARIANTS(OP, PROBE),                                                  \
         VAR("torch.cat([a, a], 1)." OP "(1)", PROBE_TIES, "R", SHAPES("3,4", "2,3,2"), IV(1)),    \
         VAR("torch.cat([a, a], 1)." OP "()", PROBE_TIES, "R", SHAPES("3,4")),                     \
         VAR("torch.cat([a, a], 1)." OP "((0, 1), keepdim=True)", PROBE_TIES, "R", SHAPES("2,3"),  \
             IV(0, 1), .keepdim = true))
#define SPEC_AMAX EXT_SPEC(AMAX, "AmaxBackward0", "amax", p_amax, p_amax_ties)
#define SPEC_AMIN EXT_SPEC(AMIN, "AminBackward0", "amin", p_amin, p_amin_ties)
