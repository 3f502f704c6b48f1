/* The GPT's fields, shared by gpt.c (the model) and generate.c (its
 * KV-cache inference). Internal to src/nn. */
#ifndef CG_NN_GPT_IMPL_H
#define CG_NN_GPT_IMPL_H

#include "cgrad.h"

struct cg_gpt {
    cg_gpt_config cfg;
    cg_params *params;
    cg_embedding_layer wte, wpe; /* (V, C), (block_size, C) */
    cg_transformer_block *h;     /* (n_layer) */
    cg_layer_norm_layer ln_f;
    cg_tensor *lm_head; /* (V, C): wte.weight when tied */
    bool training;
};

/* How the next token is drawn: temperature (<= 0: greedy, the first
 * largest logit), top_k (0: all), top_p (0 or 1: all); uniform(state) gives
 * U[0, 1), drawn once per sampled token (never when greedy). */
typedef struct cg__sampling {
    double temperature;
    int top_k;
    double top_p;
    double (*uniform)(void *state);
    void *state;
} cg__sampling;

/* The next token from logits (V); -1 with an error naming fn (NaN logits,
 * none finite, out of memory). */
int64_t cg__sample_token(const char *fn, const float *logits, int64_t V, const cg__sampling *s);

#endif
