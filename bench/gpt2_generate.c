/* Benchmark: greedy generation with the KV cache (cg_gpt_generate_cached),
 * batch 1, at GPT-2 small's size (12 layers, 768 wide, random weights;
 * GPT2_BENCH_SIZE=tiny for a smaller one): an 8-token prompt, then 32 new
 * tokens. bench/gpt2_generate.py is the same loop in PyTorch with its own
 * past keys and values.
 * Prints "cgrad gpt2_generate: X us/token" (the whole call over the new
 * tokens) and the tokens per second. */
#include "gpt2_bench.h"

enum { PROMPT = 8, NEW = 32 };

typedef struct {
    cg_gpt *m;
    cg_tensor *prompt; /* (1, PROMPT) */
} gen_bench;

static int generate(void *p) {
    gen_bench *g = p;
    cg_generate_options o = {.max_new_tokens = NEW};
    cg_scope_begin();
    cg_tensor *out = cg_gpt_generate_cached(g->m, g->prompt, &o);
    cg_scope_end();
    return out ? 0 : -1;
}

int main(void) {
    cg_gpt_config cfg;
    if (gpt2_bench_config("small", &cfg) < 0) return 1;
    cg_manual_seed(0);
    gen_bench g = {.m = cg_gpt_new(&cfg)};
    g.prompt = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(1, PROMPT), 0), 50257), CG_INT64);
    double us = g.m && g.prompt ? bench_run(generate, &g, bench_iters(3)) : -1;
    if (us < 0) {
        fprintf(stderr, "gpt2_generate: %s\n", cg_last_error() ? cg_last_error() : "error");
        return 1;
    }
    printf("cgrad gpt2_generate: %.0f us/token\n", us / NEW);
    printf("cgrad gpt2_generate_rate: %.1f tok/s\n", NEW / us * 1e6);
    cg_gpt_free(g.m);
    return 0;
}
