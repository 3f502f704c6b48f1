/* Test specs for the rearrange rows of the op table (src/ops/rearrange.def);
 * the format is described in tests/op_specs.h, which includes this file. */

PROBE(p_flip) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_flip(A, n, d);
}
PROBE(p_flip_t) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_flip(cg_transpose(A, 0, 1), n, d);
}
/* movedim(iv[0], iv[1]) then flip(iv[2]) */
PROBE(p_movedim_flip) {
    int s = (int)v->iv[0], t = (int)v->iv[1], f = (int)v->iv[2];
    return cg_flip(cg_movedim(A, 1, &s, &t), 1, &f);
}
PROBE(p_movedim2_flip) {
    const int s[2] = {0, 1}, t[2] = {2, 0}, f = 0;
    (void)v;
    return cg_flip(cg_movedim(A, 2, s, t), 1, &f);
}
/* iv: the shifts (the first half) and the dims */
PROBE(p_roll) {
    int k = v->n_iv / 2, d[CG_MAX_DIMS];
    for (int i = 0; i < k; i++) d[i] = (int)v->iv[k + i];
    return cg_roll(A, k, v->iv, k, d);
}
PROBE(p_roll_flat) { return cg_roll(A, 1, v->iv, 0, NULL); }
PROBE(p_roll_t) {
    int k = v->n_iv / 2, d[CG_MAX_DIMS];
    for (int i = 0; i < k; i++) d[i] = (int)v->iv[k + i];
    return cg_roll(cg_transpose(A, 0, 1), k, v->iv, k, d);
}
/* piece iv[1] of unbind(iv[0]) */
PROBE(p_unbind) {
    cg_tensor *out[16];
    int n = 16;
    return cg_unbind(A, (int)v->iv[0], &n, out) == 0 ? out[v->iv[1]] : NULL;
}
PROBE(p_unbind_stack) {
    cg_tensor *out[16];
    int n = 16;
    return cg_unbind(A, (int)v->iv[0], &n, out) == 0 ? cg_stack(n, out, 0) : NULL;
}

#define SPEC_FLIP                                                                                  \
    SPEC(FLIP, "FlipBackward0", 'V',                                                               \
         VAR("a.flip(0)", p_flip, "R", SHAPES("3,4", "7", "2,3,4", "()", "0,3"), IV(0)),           \
         VAR("a.flip(-1, 0)", p_flip, "R", SHAPES("3,4", "2,3,4"), IV(-1, 0)),                     \
         VAR("a.flip(())", p_flip, "R", SHAPES("3,4")),                                            \
         VAR("a.transpose(0, 1).flip(1)", p_flip_t, "R", SHAPES("3,4", "2,3,4"), IV(1)),           \
         VAR("a.movedim(0, 1).flip(0)", p_movedim_flip, "R", SHAPES("3,4", "2,3,4"), IV(0, 1, 0)), \
         VAR("a.movedim(-1, 0).flip(1)", p_movedim_flip, "R", SHAPES("2,3,4"), IV(-1, 0, 1)),      \
         VAR("a.movedim((0, 1), (2, 0)).flip(0)", p_movedim2_flip, "R", SHAPES("2,3,4")))
#define SPEC_ROLL                                                                                  \
    SPEC(ROLL, "RollBackward0", 'V',                                                               \
         VAR("a.roll(1, 0)", p_roll, "R", SHAPES("3,4", "7", "2,3,4"), IV(1, 0)),                  \
         VAR("a.roll(-2, 1)", p_roll, "R", SHAPES("3,4", "2,3,4", "0,3"), IV(-2, 1)),              \
         VAR("a.roll((1, 5), (0, -1))", p_roll, "R", SHAPES("3,4", "2,3,4"), IV(1, 5, 0, -1)),     \
         VAR("a.roll((1, 2), (0, 0))", p_roll, "R", SHAPES("3,4"), IV(1, 2, 0, 0)),                \
         VAR("a.roll(3)", p_roll_flat, "R", SHAPES("3,4", "7", "()", "0,3"), IV(3)),               \
         VAR("a.roll(-5)", p_roll_flat, "R", SHAPES("2,3,4"), IV(-5)),                             \
         VAR("a.transpose(0, 1).roll(1, 1)", p_roll_t, "R", SHAPES("3,4"), IV(1, 1)))
#define SPEC_UNBIND                                                                                \
    SPEC(UNBIND, "UnbindBackward0", 'V',                                                           \
         VAR("a.unbind(0)[1]", p_unbind, "R", SHAPES("3,4", "2,3,4", "3"), IV(0, 1)),              \
         VAR("a.unbind(-1)[0]", p_unbind, "R", SHAPES("3,4", "2,3,1"), IV(-1, 0)),                 \
         VAR("torch.stack(a.unbind(1), 0)", p_unbind_stack, "R", SHAPES("3,4", "2,3,4"), IV(1)))
