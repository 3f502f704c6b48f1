/* scaled_dot_product_attention. PyTorch 1.13 has no such function; this is
 * the math that torch 2.x documents for F.scaled_dot_product_attention
 * (without dropout and scale arguments), composed from cgrad ops, so its
 * graph is theirs: MmBackward0/BmmBackward0 ... MulBackward0, WhereBackward0
 * (bool masks) or AddBackward0 (float masks), SoftmaxBackward0, and the
 * second matmul. No node kind of its own. */
#include "ops.h"

#include <math.h>

/* dtype names as torch 2.x prints a TypeMeta in these messages */
static const char *type_meta_name(cg_dtype d) {
    static const char *names[CG_NUM_DTYPES] = {"float", "double", "long int", "bool"};
    return names[d];
}

/* The causal mask: (L, S) bool, true on and below the diagonal (tril). */
static cg_tensor *causal_mask(int64_t L, int64_t S) {
    cg_tensor *m = cg_empty(CG_SHAPE(L, S), CG_BOOL);
    if (!m) return NULL;
    bool *p = cg_data_ptr(m);
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < S; j++) p[i * S + j] = j <= i;
    return m;
}

/* torch 2.x's checks (validate_sdpa_input), then the math:
 *   s = q @ k^T * (1 / sqrt(E))
 *   s = where(mask, s, -inf)  (bool mask or is_causal)  |  s + mask  (float mask)
 *   out = softmax(s, -1) @ v */
cg_tensor *cg_scaled_dot_product_attention(cg_tensor *q, cg_tensor *k, cg_tensor *v,
                                           cg_tensor *attn_mask, bool is_causal) {
    if (!q || !k || !v) return NULL;
    const char *fn = "cg_scaled_dot_product_attention";
    if (q->dtype != k->dtype || q->dtype != v->dtype) {
        cg__error(fn,
                  "Expected query, key, and value to have the same dtype, but got "
                  "query.dtype: %s key.dtype: %s and value.dtype: %s instead.",
                  type_meta_name(q->dtype), type_meta_name(k->dtype), type_meta_name(v->dtype));
        return NULL;
    }
    if (q->ndim < 2 || k->ndim < 2 || v->ndim < 2) {
        cg__error(fn,
                  "Expected query, key, and value to all be  at least 2 dimensional, but got "
                  "query.dim: %d key.dim: %d and value.dim: %d instead.",
                  q->ndim, k->ndim, v->ndim);
        return NULL;
    }
    if (attn_mask && attn_mask->dtype != CG_BOOL && attn_mask->dtype != CG_FLOAT32 &&
        attn_mask->dtype != q->dtype) {
        cg__error(fn,
                  "Expected attn_mask dtype to be bool or float or to match query dtype, but "
                  "got attn_mask.dtype: %s and  query.dtype: %s instead.",
                  type_meta_name(attn_mask->dtype), type_meta_name(q->dtype));
        return NULL;
    }
    if (is_causal && attn_mask) {
        cg__error(fn, "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                      "is_causal=True");
        return NULL;
    }
    int64_t E = q->shape[q->ndim - 1], L = q->shape[q->ndim - 2], S = k->shape[k->ndim - 2];
    cg_tensor *s = cg_mul_scalar(cg_matmul(q, cg_transpose(k, -2, -1)), 1.0 / sqrt((double)E));
    if (!s) return NULL;
    cg_tensor *mask = is_causal ? causal_mask(L, S) : attn_mask;
    if (mask && mask->dtype == CG_BOOL) /* masked out (false): -inf, weight 0 after softmax */
        s = cg_where(mask, s, cg_scalar(-INFINITY, CG_FLOAT32));
    else if (mask)
        s = cg_add(s, mask);
    return cg_matmul(cg_softmax(s, -1), v);
}
