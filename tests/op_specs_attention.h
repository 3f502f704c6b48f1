/* Test specs for scaled_dot_product_attention's fused path (src/ops/attention.c):
 * float32/float64, no mask or is_causal, q, k, v of the same rank >= 3 with the
 * same batch dims. torch 1.13 has no F.scaled_dot_product_attention: py is the
 * math torch 2.x documents, composed (the probes and SDPA_ macros are
 * op_specs_nn.h's), run by the oracle's CgFlashAttention as one node named as
 * torch 2.x's (SDPA_FLASH_(math, inputs)). Shapes past one block (32 query rows, 64 keys) cover the
 * online softmax's rescaling and, causal, the skipped key blocks. */
#ifndef CG_OP_SPECS_ATTENTION_H
#define CG_OP_SPECS_ATTENTION_H

/* heads split by views, as the GPT's: a, b, c hold (B, L, H, E), attention
 * runs on their (B, H, L, E) transposes, read in place (causal) */
PROBE(p_sdpa_heads) {
    (void)v;
    return cg_scaled_dot_product_attention(cg_transpose(A, 1, 2), cg_transpose(B, 1, 2),
                                           cg_transpose(C, 1, 2), NULL, true);
}

#define SDPA_FLASH_(F, IN) "CgFlashAttention.apply(lambda a, b, c: " F ", " IN ")"

#define SPEC_SCALED_DOT_PRODUCT_FLASH_ATTENTION                                                    \
    SPEC(SCALED_DOT_PRODUCT_FLASH_ATTENTION, "ScaledDotProductFlashAttentionForCpuBackward0", 'L', \
         VAR(SDPA_FLASH_("torch.matmul(torch.softmax(" SDPA_SCORES_ ", -1), c)", "a, b, c"),       \
             p_sdpa, "RRR",                                                                        \
             SHAPES("2,3,4|2,5,4|2,5,3", "2,2,3,4|2,2,5,4|2,2,5,4", "2,3,3|2,5,3|2,5,2",           \
                    "1,1,1|1,1,1|1,1,1", "1,40,3|1,70,3|1,70,2")),                                 \
         VAR(SDPA_FLASH_("torch.matmul(torch.softmax(torch.where(" SDPA_CAUSAL_ ", " SDPA_SCORES_  \
                         ", " SDPA_NEG_INF_ "), -1), c)",                                          \
                         "a, b, c"),                                                               \
             p_sdpa_causal, "RRR",                                                                 \
             SHAPES("2,4,4|2,4,4|2,4,3", "2,3,4|2,5,4|2,5,2", "2,5,4|2,3,4|2,3,2",                 \
                    "1,70,2|1,70,2|1,70,3")),                                                      \
         VAR(SDPA_FLASH_("torch.matmul(torch.softmax(" SDPA_SCORES_ ", -1), c)",                   \
                         "a.transpose(-2, -1), b, c"),                                             \
             p_sdpa_qt, "RRR", SHAPES("2,4,3|2,5,4|2,5,2")),                                       \
         VAR(SDPA_FLASH_("torch.matmul(torch.softmax(torch.where(" SDPA_CAUSAL_ ", " SDPA_SCORES_  \
                         ", " SDPA_NEG_INF_ "), -1), c)",                                          \
                         "a.transpose(1, 2), b.transpose(1, 2), c.transpose(1, 2)"),               \
             p_sdpa_heads, "RRR",                                                                  \
             SHAPES("2,40,3,4|2,40,3,4|2,40,3,2", "1,5,2,3|1,5,2,3|1,5,2,3")))

#endif
