/* Generation: the next-token sampler (temperature, top-k, top-p) that
 * cg_gpt_generate and cg_gpt_generate_cached share, and the KV-cache
 * inference of a GPT: the prompt is run once (prefill), then each step runs
 * only the new token against the keys and values cached per layer, in
 * inference mode (no graph).
 *
 * Legend for the shape comments: B batch, T time, C channels (n_embd),
 * nh heads, hs head size (C / nh), V vocabulary, N the cache's length. */
#include "gpt_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- the sampler */

/* 0, or -1 with the error set when logits (V) have a NaN or no finite maximum */
static int check_logits(const char *fn, const float *logits, int64_t V) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < V; i++) {
        if (isnan(logits[i])) {
            cg_error_in(fn, "the logits are nan (are the model's weights finite?)");
            return -1;
        }
        if (logits[i] > mx) mx = logits[i];
    }
    if (!isfinite(mx)) {
        cg_error_in(fn, "the logits have no finite maximum (%g)", (double)mx);
        return -1;
    }
    return 0;
}

/* p (V) of scaled logits: those below the k-th largest (cg_topk) become
 * -inf; -1 with the error set */
static int cut_top_k(double *p, int64_t V, int k) {
    cg_scope_begin();
    cg_tensor *top = cg_topk(cg_from_data(p, CG_SHAPE(V), CG_FLOAT64), k, 0, 0, NULL);
    double cut = top ? cg_get(top, (int64_t[]){k - 1}) : 0;
    cg_scope_end();
    if (!top) return -1;
    for (int64_t i = 0; i < V; i++)
        if (p[i] < cut) p[i] = -INFINITY;
    return 0;
}

/* p (V) of weights summing to z: the smallest set of the largest (cg_sort)
 * whose mass reaches top_p is kept (the one that crosses it included), the
 * rest zeroed; z becomes the kept mass. -1 with the error set */
static int cut_top_p(double *p, int64_t V, double top_p, double *z) {
    cg_scope_begin();
    cg_tensor *sorted = cg_sort(cg_from_data(p, CG_SHAPE(V), CG_FLOAT64), 0, true, NULL);
    const double *d = sorted ? cg_data_ptr(sorted) : NULL;
    double acc = 0, cut = d ? d[0] : 0;
    for (int64_t i = 0; d && i < V && acc < top_p * *z; i++) acc += cut = d[i];
    cg_scope_end();
    if (!d) return -1;
    *z = 0;
    for (int64_t i = 0; i < V; i++) *z += p[i] = p[i] >= cut ? p[i] : 0;
    return 0;
}

/* the first index of the largest weight */
static int64_t argmax_of(const double *p, int64_t V) {
    int64_t best = 0;
    for (int64_t i = 1; i < V; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

int64_t cg__sample_token(const char *fn, const float *logits, int64_t V, const cg__sampling *s) {
    if (check_logits(fn, logits, V) < 0) return -1;
    double *p = malloc((size_t)V * sizeof *p), t = s->temperature > 0 ? s->temperature : 1;
    if (!p) goto oom;
    for (int64_t i = 0; i < V; i++) p[i] = logits[i] / t;
    if (s->top_k > 0 && s->top_k < V && cut_top_k(p, V, s->top_k) < 0) goto fail;
    double mx = -INFINITY, z = 0;
    for (int64_t i = 0; i < V; i++) mx = p[i] > mx ? p[i] : mx;
    for (int64_t i = 0; i < V; i++) z += p[i] = exp(p[i] - mx);
    int64_t choice = V - 1;
    if (s->temperature <= 0) {
        choice = argmax_of(p, V);
    } else {
        if (s->top_p > 0 && s->top_p < 1 && cut_top_p(p, V, s->top_p, &z) < 0) goto fail;
        double u = s->uniform(s->state) * z, acc = 0; /* U[0, z) */
        for (int64_t i = 0; i < V; i++)
            if ((acc += p[i]) > u) {
                choice = i;
                break;
            }
    }
    free(p);
    return choice;
oom:
    cg_error_in(fn, "out of memory");
fail:
    free(p);
    return -1;
}

/* ------------------------------------------------------ the KV-cache steps */

/* the keys and values of every layer, for positions [0, len) of N */
typedef struct {
    cg_tensor **k, **v; /* (n_layer) each (B, nh, N, hs) */
    int64_t len, N;
} kv_cache;

/* y (B,T,C) of one attention layer for x (B,T,C) at positions [len, len+T):
 * the new keys and values go into the cache first. T > 1 only from position
 * 0 (the prefill, causal); a single token attends to every cached position. */
static cg_tensor *cached_attention(const cg_self_attention *a, kv_cache *c, int layer,
                                   cg_tensor *x) {
    int64_t B = cg_size(x, 0), T = cg_size(x, 1), C = a->c_attn.in, nh = a->n_head, hs = C / nh;
    cg_tensor *qkv = cg_linear_forward(&a->c_attn, x); /* (B,T,3C) */
    cg_tensor *h[3];
    for (int k = 0; k < 3; k++) /* q, k, v: (B,T,C) -> (B,nh,T,hs) */
        h[k] = cg_transpose(cg_view(cg_narrow(qkv, 2, k * C, C), CG_SHAPE(B, T, nh, hs)), 1, 2);
    cg_tensor *ks = cg_narrow(c->k[layer], 2, 0, c->len + T); /* (B,nh,len+T,hs) */
    cg_tensor *vs = cg_narrow(c->v[layer], 2, 0, c->len + T);
    if (!cg_copy_(cg_narrow(ks, 2, c->len, T), h[1]) ||
        !cg_copy_(cg_narrow(vs, 2, c->len, T), h[2]))
        return NULL;
    cg_tensor *y = cg_scaled_dot_product_attention(h[0], ks, vs, NULL, T > 1); /* (B,nh,T,hs) */
    y = cg_view(cg_contiguous(cg_transpose(y, 1, 2)), CG_SHAPE(B, T, C));
    return cg_linear_forward(&a->c_proj, y);
}

/* the logits (B,V) of the last position after ids (B,T) at positions
 * [c->len, c->len + T), which the cache then holds */
static cg_tensor *cached_step(cg_gpt *m, kv_cache *c, cg_tensor *ids) {
    int64_t T = cg_size(ids, 1);
    cg_tensor *pos = cg_arange((double)c->len, (double)(c->len + T), 1, CG_INT64); /* (T) */
    cg_tensor *x = cg_add(cg_embedding_forward(&m->wte, ids), cg_embedding_forward(&m->wpe, pos));
    for (int i = 0; i < m->cfg.n_layer && x; i++) {
        const cg_transformer_block *b = &m->h[i];
        cg_scope_begin();
        x = cg_add(x, cached_attention(&b->attn, c, i, cg_layer_norm_forward(&b->ln_1, x)));
        x = cg_keep(cg_add(x, cg_mlp_forward(&b->mlp, cg_layer_norm_forward(&b->ln_2, x), false)));
        cg_scope_end();
    }
    if (!x) return NULL;
    c->len += T;
    cg_tensor *last = cg_select(x, 1, T - 1); /* (B,C) */
    return cg_contiguous(cg_linear(cg_layer_norm_forward(&m->ln_f, last), m->lm_head, NULL));
}

/* zeroed caches of N positions for every layer (in the current scope) */
static int cache_init(kv_cache *c, const cg_gpt *m, int64_t B, int64_t N) {
    int L = m->cfg.n_layer, nh = m->cfg.n_head;
    int64_t hs = m->cfg.n_embd / nh;
    c->len = 0, c->N = N;
    c->k = calloc((size_t)L, sizeof *c->k);
    c->v = calloc((size_t)L, sizeof *c->v);
    if (!c->k || !c->v) return -1;
    for (int i = 0; i < L; i++)
        if (!(c->k[i] = cg_zeros(CG_SHAPE(B, nh, N, hs), 0)) ||
            !(c->v[i] = cg_zeros(CG_SHAPE(B, nh, N, hs), 0)))
            return -1;
    return 0;
}

/* ---------------------------------------------------------- the generation */

static const char *GEN = "cg_gpt_generate_cached";

/* splitmix64: the private generator of a seeded generation */
static double splitmix_uniform(void *state) {
    uint64_t *s = state, z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

static int check_options(const cg_gpt *m, const cg_tensor *idx, const cg_generate_options *o) {
    if (cg_ndim(idx) != 2 || cg_dtype_of(idx) != CG_INT64 || cg_numel(idx) == 0) {
        cg_error_in(GEN, "idx must be a (B, T) int64 tensor with B, T >= 1");
        return -1;
    }
    if (o->max_new_tokens < 0 || !(o->temperature >= 0 && o->temperature < INFINITY) ||
        o->top_k < 0 || !(o->top_p >= 0 && o->top_p <= 1)) {
        cg_error_in(GEN, "invalid options: max_new_tokens >= 0, temperature finite and >= 0, "
                         "top_k >= 0, 0 <= top_p <= 1");
        return -1;
    }
    int64_t T = cg_size(idx, 1), n = m->cfg.block_size;
    if (T + o->max_new_tokens > n) {
        cg_error_in(GEN,
                    "the prompt (%lld tokens) and max_new_tokens (%d) exceed the model's "
                    "n_positions (%lld)",
                    (long long)T, o->max_new_tokens, (long long)n);
        return -1;
    }
    return 0;
}

/* a generation under way: ids (B, n) row-major, the prompt's T columns
 * first; col (B) the last step's tokens */
typedef struct {
    const cg_generate_options *o;
    cg__sampling *s;
    int64_t B, n;
    int64_t *ids, *col;
} gen_state;

/* a seed drawn from the global generator (an unseeded generation) */
static uint64_t draw_seed(void) {
    double u = cg_item(cg_rand(CG_SCALAR_SHAPE, CG_FLOAT64)); /* U[0, 1) */
    return (uint64_t)(u * 0x1p53) * 2048u;
}

/* ids[:, t] (B rows of stride n) sampled from logits (B,V) */
static int choose(const cg_gpt *m, cg_tensor *logits, const cg__sampling *s, int64_t *ids,
                  int64_t n, int64_t t) {
    int64_t B = cg_size(logits, 0), V = m->cfg.vocab_size;
    cg_tensor *l32 = cg_contiguous(cg_to(logits, CG_FLOAT32));
    if (!l32) return -1;
    const float *p = cg_data_ptr(l32);
    for (int64_t b = 0; b < B; b++)
        if ((ids[b * n + t] = cg__sample_token(GEN, p + b * V, V, s)) < 0) return -1;
    return 0;
}

/* the tokens of step t (B) into ids[:, t]; the callback may ask to stop (1) */
static int step_tokens(const cg_gpt *m, cg_tensor *logits, gen_state *g, int64_t t) {
    if (choose(m, logits, g->s, g->ids, g->n, t) < 0) return -1;
    for (int64_t b = 0; b < g->B; b++) g->col[b] = g->ids[b * g->n + t];
    const cg_generate_options *o = g->o;
    return o->on_token && o->on_token(o->user, g->col, g->B) != 0 ? 1 : 0;
}

/* the generation loop: the prompt (B,T), then a token per step into
 * g->ids; the number of columns filled, or -1 */
static int64_t run(cg_gpt *m, cg_tensor *prompt, gen_state *g) {
    kv_cache c = {0};
    int64_t T = cg_size(prompt, 1), t = T;
    cg_tensor *logits = NULL; /* (B,V), a reference of ours */
    if (cache_init(&c, m, g->B, g->n) == 0) CG_SCOPE {
            logits = cg_retain(cached_step(m, &c, prompt));
        }
    int rc = logits ? 0 : -1;
    while (rc == 0 && t < g->n) {
        rc = step_tokens(m, logits, g, t++);
        if (rc != 0 || t == g->n) break;
        cg_tensor *next = NULL;
        CG_SCOPE {
            next = cg_retain(cached_step(m, &c, cg_from_data(g->col, CG_SHAPE(g->B, 1), CG_INT64)));
        }
        cg_release(logits);
        rc = (logits = next) ? 0 : -1;
    }
    cg_release(logits);
    free(c.k);
    free(c.v);
    return rc >= 0 ? t : -1;
}

cg_tensor *cg_gpt_generate_cached(cg_gpt *m, cg_tensor *idx, const cg_generate_options *o) {
    if (!m || !idx || !o) return NULL;
    if (check_options(m, idx, o) < 0) return NULL;
    int64_t B = cg_size(idx, 0), T = cg_size(idx, 1), n = T + o->max_new_tokens;
    uint64_t state = o->seed;
    if (!o->seeded) CG_SCOPE {
            state = draw_seed();
        }
    cg__sampling s = {.temperature = o->temperature,
                      .top_k = o->top_k,
                      .top_p = o->top_p,
                      .uniform = splitmix_uniform,
                      .state = &state};
    gen_state g = {.o = o, .s = &s, .B = B, .n = n};
    g.ids = calloc((size_t)(B * n), sizeof *g.ids); /* (B, n) */
    g.col = malloc((size_t)B * sizeof *g.col);      /* (B) */
    cg_tensor *out = NULL;
    cg_scope_begin();
    cg_tensor *prompt = g.ids && g.col ? cg_contiguous(idx) : NULL;
    for (int64_t b = 0; prompt && b < B; b++)
        memcpy(g.ids + b * n, (const int64_t *)cg_data_ptr(prompt) + b * T,
               (size_t)T * sizeof *g.ids);
    int64_t end = -1;
    if (prompt) CG_INFERENCE_MODE {
            end = run(m, prompt, &g);
        }
    else if (!g.ids || !g.col)
        cg_error_in(GEN, "out of memory");
    if (end >= 0) {
        cg_tensor *all = cg_from_data(g.ids, CG_SHAPE(B, n), CG_INT64);
        out = cg_keep(cg_contiguous(cg_narrow(all, 1, 0, end)));
    }
    cg_scope_end();
    free(g.ids);
    free(g.col);
    return out;
}
