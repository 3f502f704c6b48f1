/* The GPT-2 that bench/gpt2_generate.c and bench/gpt2_train_step.c time
 * (their PyTorch twins share bench/gpt2_bench.py): GPT-2's architecture
 * (tanh GELU, LayerNorm eps 1e-5, tied head, vocabulary 50257) with random
 * weights, at the size GPT2_BENCH_SIZE names: "small" (GPT-2 small: 12
 * layers, 12 heads, 768 wide, 1024 positions) or "tiny" (4 layers, 4 heads,
 * 256 wide, 256 positions). */
#ifndef CG_GPT2_BENCH_H
#define CG_GPT2_BENCH_H

#include "bench.h"

#include <string.h>

/* the configuration GPT2_BENCH_SIZE names (dflt when unset); 0 or -1 */
static inline int gpt2_bench_config(const char *dflt, cg_gpt_config *cfg) {
    const char *size = getenv("GPT2_BENCH_SIZE");
    if (!size || !*size) size = dflt;
    *cfg = (cg_gpt_config){.vocab_size = 50257, .tie_weights = true, .gelu = CG_GELU_TANH};
    if (!strcmp(size, "small"))
        cfg->block_size = 1024, cfg->n_embd = 768, cfg->n_layer = 12, cfg->n_head = 12;
    else if (!strcmp(size, "tiny"))
        cfg->block_size = 256, cfg->n_embd = 256, cfg->n_layer = 4, cfg->n_head = 4;
    else {
        fprintf(stderr, "GPT2_BENCH_SIZE must be small or tiny, not %s\n", size);
        return -1;
    }
    return 0;
}

#endif
