/* Test specs for the nn rows of the op table (src/ops/nn.def);
 * the format is described in tests/op_specs.h, which includes this file.
 *
 * scaled_dot_product_attention's composed path (a mask, 2-D inputs, or batch
 * dims broadcast) records no node kind of its own: its variants sit under
 * SOFTMAX (SoftmaxBackward0 is in every graph it records), their py the same
 * composition in torch 1.13 (torch 2.x's documented math); its fused path's
 * are in op_specs_attention.h.
 * Dropout records MulBackward0 (torch 1.13 on CPU: input * noise) and F.linear
 * records addmm, mm or matmul + add; their other graphs and the random
 * dropout are tested in tests/test_nn.c. */

/* ----------------------------------------------------------------- probes */

PROBE(p_softmax) { return cg_softmax(A, (int)v->iv[0]); }
PROBE(p_softmax_t) { return cg_softmax(cg_transpose(A, 0, 1), (int)v->iv[0]); }
PROBE(p_log_softmax) { return cg_log_softmax(A, (int)v->iv[0]); }
PROBE(p_log_softmax_t) { return cg_log_softmax(cg_transpose(A, 0, 1), (int)v->iv[0]); }
PROBE(p_sdpa) {
    (void)v;
    return cg_scaled_dot_product_attention(A, B, C, NULL, false);
}
PROBE(p_sdpa_causal) {
    (void)v;
    return cg_scaled_dot_product_attention(A, B, C, NULL, true);
}
/* a non-contiguous query: a holds q^T */
PROBE(p_sdpa_qt) {
    (void)v;
    return cg_scaled_dot_product_attention(cg_transpose(A, -2, -1), B, C, NULL, false);
}
/* key = value = b, c the mask (bool, or float added) */
PROBE(p_sdpa_mask) {
    (void)v;
    return cg_scaled_dot_product_attention(A, B, B, C, false);
}
PROBE(p_embedding) {
    (void)v;
    return cg_embedding(A, B);
}
PROBE(p_embedding_wt) {
    (void)v;
    return cg_embedding(cg_t(A), B);
}
PROBE(p_embedding_it) {
    (void)v;
    return cg_embedding(A, cg_t(B));
}
/* the weight's gradient of embedding (b the upstream gradient, a the indices)
 * under create_graph: EmbeddingDenseBackwardBackward0. Grad mode is turned on
 * for it (gradcheck evaluates probes under no_grad). */
PROBE(p_embedding_grad) {
    int nd = cg_ndim(B);
    cg_tensor *g = NULL;
    CG_ENABLE_GRAD {
        cg_tensor *w = cg_zeros(CG_SHAPE(v->ihi, nd ? cg_shape(B)[nd - 1] : 1),
                                (int)cg_dtype_of(B) | CG_REQUIRES_GRAD);
        cg_tensor *y = cg_embedding(w, A);
        if (y && cg_autograd_grad(1, &y, &B, 1, &w, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, &g) != 0)
            g = NULL;
    }
    return g;
}
/* layer_norm: normalized_shape in iv, eps in s (0: PyTorch's 1e-5) */
static inline cg_tensor *spec_layer_norm_(cg_tensor *x, cg_tensor *w, cg_tensor *b,
                                          const spec_var *v) {
    return cg_layer_norm(x, v->n_iv, v->iv, w, b, v->s != 0 ? v->s : 1e-5);
}
PROBE(p_layer_norm) { return spec_layer_norm_(A, NULL, NULL, v); }
PROBE(p_layer_norm_w) { return spec_layer_norm_(A, B, NULL, v); }
PROBE(p_layer_norm_b) { return spec_layer_norm_(A, NULL, B, v); }
PROBE(p_layer_norm_wb) { return spec_layer_norm_(A, B, C, v); }
PROBE(p_layer_norm_wb_t) { return spec_layer_norm_(cg_transpose(A, 0, 1), B, C, v); }
/* F.dropout(a, 1.0): a * zeros({}), a MulBackward0 (for SPEC_MUL, whose file
 * is not this family's; the random p are tested in tests/test_nn.c) */
PROBE(p_dropout_p1) {
    (void)v;
    return cg_dropout(A, 1.0, true);
}
PROBE(p_addmm) {
    (void)v;
    return cg_addmm(A, B, C);
}
PROBE(p_addmm_t) {
    (void)v;
    return cg_addmm(A, cg_t(B), C);
}
PROBE(p_linear) {
    (void)v;
    return cg_linear(A, B, C);
}

/* ------------------------------------------------------------------ specs */

#define SDPA_SCORES_ "torch.matmul(a, b.transpose(-2, -1)) * (1 / a.shape[-1] ** 0.5)"
#define SDPA_NEG_INF_ "torch.tensor(float('-inf'))"
#define SDPA_CAUSAL_ "torch.ones(a.shape[-2], b.shape[-2], dtype=torch.bool).tril()"

#define SPEC_SOFTMAX                                                                               \
    SPEC(SOFTMAX, "SoftmaxBackward0", 'U',                                                         \
         VAR("torch.softmax(a, 1)", p_softmax, "R", SHAPES("3,4", "2,3,4", "1,1"), IV(1)),         \
         VAR("torch.softmax(a, -1)", p_softmax, "R",                                               \
             SHAPES("3,4", "5", "()", "2,3,4", "0,3", "3,0", "1"), IV(-1)),                        \
         VAR("torch.softmax(a, 0)", p_softmax, "R", SHAPES("3,4", "()", "2,3,4"), IV(0)),          \
         VAR("torch.softmax(a, -3)", p_softmax, "R", SHAPES("2,3,4"), IV(-3)),                     \
         VAR("torch.softmax(a.transpose(0, 1), 1)", p_softmax_t, "R", SHAPES("3,4", "2,3,4"),      \
             IV(1)),                                                                               \
         VAR("torch.softmax(a.transpose(0, 1), 0)", p_softmax_t, "R", SHAPES("3,4"),               \
             IV(0)), /* scaled_dot_product_attention */                                            \
         VAR("torch.matmul(torch.softmax(" SDPA_SCORES_ ", -1), c)", p_sdpa, "RRR",                \
             SHAPES("3,4|5,4|5,2", "1,3,4|2,5,4|5,3", "1,4|1,4|1,1", "2,3,4|5,4|2,5,3")),          \
         VAR("torch.matmul(torch.softmax(torch.where(" SDPA_CAUSAL_ ", " SDPA_SCORES_              \
             ", " SDPA_NEG_INF_ "), -1), c)",                                                      \
             p_sdpa_causal, "RRR",                                                                 \
             SHAPES("3,4|5,4|5,2", "5,4|3,4|3,2", "2,4,4|4,4|2,4,3", "1,4|1,4|1,2")),              \
         VAR("torch.matmul(torch.softmax(torch.matmul(a.transpose(-2, -1), b.transpose(-2, -1)) "  \
             "* (1 / a.shape[-2] ** 0.5), -1), c)",                                                \
             p_sdpa_qt, "RRR", SHAPES("4,3|5,4|5,2", "2,4,3|2,5,4|5,2")),                          \
         VAR("torch.matmul(torch.softmax(torch.where(c, " SDPA_SCORES_ ", " SDPA_NEG_INF_          \
             "), -1), b)",                                                                         \
             p_sdpa_mask, "RRC", SHAPES("3,4|6,4|3,6", "2,3,4|2,6,4|6")),                          \
         VAR("torch.matmul(torch.softmax(" SDPA_SCORES_ " + c, -1), b)", p_sdpa_mask, "RRR",       \
             SHAPES("3,4|5,4|3,5", "2,3,4|2,5,4|5", "2,3,4|2,5,4|2,1,5")))

#define SPEC_LOG_SOFTMAX                                                                           \
    SPEC(LOG_SOFTMAX, "LogSoftmaxBackward0", 'U',                                                  \
         VAR("torch.log_softmax(a, 1)", p_log_softmax, "R", SHAPES("3,4", "2,3,4", "1,1"), IV(1)), \
         VAR("torch.log_softmax(a, -1)", p_log_softmax, "R",                                       \
             SHAPES("3,4", "5", "()", "2,3,4", "0,3", "3,0", "1"), IV(-1)),                        \
         VAR("torch.log_softmax(a, 0)", p_log_softmax, "R", SHAPES("3,4", "()", "2,3,4"), IV(0)),  \
         VAR("torch.log_softmax(a, -3)", p_log_softmax, "R", SHAPES("2,3,4"), IV(-3)),             \
         VAR("torch.log_softmax(a.transpose(0, 1), 1)", p_log_softmax_t, "R",                      \
             SHAPES("3,4", "2,3,4"), IV(1)),                                                       \
         VAR("torch.log_softmax(a.transpose(0, 1), 0)", p_log_softmax_t, "R", SHAPES("3,4"),       \
             IV(0)))

#define SPEC_EMBEDDING                                                                             \
    SPEC(EMBEDDING, "EmbeddingBackward0", 'V',                                                     \
         VAR("torch.nn.functional.embedding(b, a)", p_embedding, "RI",                             \
             SHAPES("5,3|4", "5,3|2,3", "5,3|()", "5,3|0", "5,1|7", "5,2|2,2,3"),                  \
             .ihi = 5), /* every index 0: the gradients of repeated indices accumulate */          \
         VAR("torch.nn.functional.embedding(b, a)", p_embedding, "RI", SHAPES("1,4|3", "1,2|2,3"), \
             .ihi = 1),                                                                            \
         VAR("torch.nn.functional.embedding(b, a.t())", p_embedding_wt, "RI",                      \
             SHAPES("3,5|4", "2,5|3,2"), .ihi = 5),                                                \
         VAR("torch.nn.functional.embedding(b.t(), a)", p_embedding_it, "RI",                      \
             SHAPES("5,3|3,2", "5,2|4"), .ihi = 5))

#define SPEC_EMBEDDING_DENSE_BACKWARD                                                              \
    SPEC(EMBEDDING_DENSE_BACKWARD, "EmbeddingDenseBackwardBackward0", 'V',                         \
         VAR("torch.autograd.grad(torch.nn.functional.embedding(a, (w := torch.zeros(5, "          \
             "b.shape[-1], dtype=b.dtype, requires_grad=True))), w, b, create_graph=True)[0]",     \
             p_embedding_grad, "IR", SHAPES("4|4,3", "2,3|2,3,2", "()|3", "7|7,1"), .ihi = 5))

#define SPEC_NATIVE_LAYER_NORM                                                                     \
    SPEC(NATIVE_LAYER_NORM, "NativeLayerNormBackward0", 'U',                                       \
         VAR("torch.nn.functional.layer_norm(a, (4,), b, c)", p_layer_norm_wb, "RRR",              \
             SHAPES("2,3,4|4|4", "3,4|4|4", "4|4|4", "1,4|4|4", "0,4|4|4"), IV(4)),                \
         VAR("torch.nn.functional.layer_norm(a, (3, 4), b, c)", p_layer_norm_wb, "RRR",            \
             SHAPES("2,3,4|3,4|3,4", "3,4|3,4|3,4"), IV(3, 4)),                                    \
         VAR("torch.nn.functional.layer_norm(a, (4,))", p_layer_norm, "R",                         \
             SHAPES("2,3,4", "5,4", "4"), IV(4)),                                                  \
         VAR("torch.nn.functional.layer_norm(a, (2, 3, 4))", p_layer_norm, "R", SHAPES("2,3,4"),   \
             IV(2, 3, 4)),                                                                         \
         VAR("torch.nn.functional.layer_norm(a, (1,))", p_layer_norm, "R", SHAPES("3,1"), IV(1)),  \
         VAR("torch.nn.functional.layer_norm(a, (4,), b)", p_layer_norm_w, "RR",                   \
             SHAPES("3,4|4", "2,3,4|4"), IV(4)),                                                   \
         VAR("torch.nn.functional.layer_norm(a, (4,), None, b)", p_layer_norm_b, "RR",             \
             SHAPES("3,4|4", "2,3,4|4"), IV(4)),                                                   \
         VAR("torch.nn.functional.layer_norm(a, (4,), b, c, 0.5)", p_layer_norm_wb, "RRR",         \
             SHAPES("3,4|4|4"), IV(4), .s = 0.5),                                                  \
         VAR("torch.nn.functional.layer_norm(a.transpose(0, 1), (3,), b, c)", p_layer_norm_wb_t,   \
             "RRR", SHAPES("3,4|3|3", "4,2,3|3|3"), IV(3)))

#define SPEC_ADDMM                                                                                 \
    SPEC(ADDMM, "AddmmBackward0", 'L',                                                             \
         VAR("torch.addmm(a, b, c)", p_addmm, "RRR",                                               \
             SHAPES("5|3,4|4,5", "3,5|3,4|4,5", "()|3,4|4,5", "3,1|3,4|4,5", "1,5|2,3|3,5",        \
                    "2|1,1|1,2", "1|1,1|1,1", "3,2|3,0|0,2")),                                     \
         VAR("torch.addmm(a, b.t(), c)", p_addmm_t, "RRR", SHAPES("5|4,3|4,5")),                   \
         VAR("torch.nn.functional.linear(a, b, c)", p_linear, "RRR",                               \
             SHAPES("3,4|5,4|5", "2,3,4|5,4|5", "1,4|1,4|1", "2,1,4|3,4|3", "3,4|5,4|()",          \
                    "2,3,4|5,4|1,5")))
