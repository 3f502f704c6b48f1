/* Generation: the next-token sampler (temperature, top-k, top-p) that
 * cg_gpt_generate and cg_gpt_generate_cached share, and the KV-cache
 * inference of a GPT: the prompt is run once (prefill), then each step runs
 * only the new token against the keys and values cached per layer, in
 * inference mode (no graph); for a float32 model that step is fused, on
 * plain arrays and the kernel layer (docs/design.md, "The decode step is
 * fused").
 *
 * Legend for the shape comments: B batch, T time, C channels (n_embd),
 * nh heads, hs head size (C / nh), V vocabulary, N the cache's length. */
#define _POSIX_C_SOURCE 200809L /* sched_yield */
#include "gpt_impl.h"

#include "../kernels/kernels.h"

#include <math.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

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

/* the first index of the largest logit: greedy, without exponentials (exp
 * is increasing, so the largest weight is the largest logit's) */
static int64_t argmax_f32(const float *l, int64_t V) {
    int64_t best = 0;
    for (int64_t i = 1; i < V; i++)
        if (l[i] > l[best]) best = i;
    return best;
}

int64_t cg__sample_token(const char *fn, const float *logits, int64_t V, const cg__sampling *s) {
    if (check_logits(fn, logits, V) < 0) return -1;
    if (s->temperature <= 0) return argmax_f32(logits, V);
    double *p = malloc((size_t)V * sizeof *p), t = s->temperature > 0 ? s->temperature : 1;
    if (!p) goto oom;
    for (int64_t i = 0; i < V; i++) p[i] = logits[i] / t;
    if (s->top_k > 0 && s->top_k < V && cut_top_k(p, V, s->top_k) < 0) goto fail;
    double mx = -INFINITY, z = 0;
    for (int64_t i = 0; i < V; i++) mx = p[i] > mx ? p[i] : mx;
    for (int64_t i = 0; i < V; i++) z += p[i] = exp(p[i] - mx);
    int64_t choice = V - 1;
    if (s->top_p > 0 && s->top_p < 1 && cut_top_p(p, V, s->top_p, &z) < 0) goto fail;
    double u = s->uniform(s->state) * z, acc = 0; /* U[0, z) */
    for (int64_t i = 0; i < V; i++)
        if ((acc += p[i]) > u) {
            choice = i;
            break;
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

/* ------------------------------------------------------ the fused decode */

/* A decode step (one new token per row) of a float32 model runs on plain
 * arrays: each linear layer is one pass over its weight (kernel linear_f32),
 * its output features split over the threads; layer norms, GELU and the
 * softmax are the kernels the ops use; no tensor is made. */
typedef struct {
    int64_t B, C, H, V; /* batch, n_embd, the MLP's width, vocabulary */
    int64_t R, T;       /* rows room (B times the prompt's length); this step's
                           tokens per row: R >= B T, rows b T + t */
    float *x;           /* (R,C) the residual stream */
    float *in;          /* (4L+1, R, max(C,H)) each linear layer's input (phase q's
                           at q - 1), never rewritten within a step */
    float *qkv;         /* (R,3C) */
    float *f;           /* (R,H) the MLP's hidden layer, before GELU */
    float *y;           /* (R,C) a projection's output */
    float *s, *p;       /* (N) one head's scores and weights */
    float *logits;      /* (B,V) the last position's */
    /* the team's (see below): a state per chunk of a phase, and an output
     * of the widest layer per thread other than thread 0 */
    _Atomic uint32_t *state; /* (chunks) */
    float *shadow;           /* (helpers, R, wide) */
    int64_t chunks, wide, in_wide;
    int helpers;
} decode_buf;

static bool plain_f32(const cg_tensor *t) {
    return t && cg_dtype_of(t) == CG_FLOAT32 && cg_is_contiguous(t);
}

static bool plain_linear(const cg_linear_layer *l) {
    return plain_f32(l->weight) && (!l->bias || plain_f32(l->bias));
}

static bool plain_norm(const cg_layer_norm_layer *n) {
    return (!n->weight || plain_f32(n->weight)) && (!n->bias || plain_f32(n->bias));
}

/* can the decode step run fused: every weight and the cache float32 and
 * contiguous */
static bool decode_fusable(const cg_gpt *m, const kv_cache *c) {
    bool ok = plain_f32(m->wte.weight) && plain_f32(m->wpe.weight) && plain_norm(&m->ln_f) &&
              plain_f32(m->lm_head);
    for (int i = 0; ok && i < m->cfg.n_layer; i++) {
        const cg_transformer_block *b = &m->h[i];
        ok = plain_norm(&b->ln_1) && plain_norm(&b->ln_2) && plain_linear(&b->attn.c_attn) &&
             plain_linear(&b->attn.c_proj) && plain_linear(&b->mlp.fc) &&
             plain_linear(&b->mlp.proj) && plain_f32(c->k[i]) && plain_f32(c->v[i]);
    }
    return ok;
}

static void decode_free(decode_buf *d) {
    free(d->x), free(d->in), free(d->qkv), free(d->f), free(d->y);
    free(d->s), free(d->p), free(d->logits);
    free((void *)d->state), free(d->shadow);
    *d = (decode_buf){0};
}

/* the buffers of fused steps of B rows, up to T tokens each, N positions;
 * -1 out of memory */
static int decode_alloc(decode_buf *d, const cg_gpt *m, int64_t B, int64_t T, int64_t N) {
    int64_t C = m->cfg.n_embd, H = m->h[0].mlp.fc.out, V = m->cfg.vocab_size, R = B * T;
    *d = (decode_buf){.B = B, .C = C, .H = H, .V = V, .R = R};
    size_t f = sizeof(float);
    d->in_wide = C > H ? C : H;
    d->x = malloc(f * (size_t)(R * C));
    d->in = malloc(f * (size_t)((4 * m->cfg.n_layer + 1) * R * d->in_wide));
    d->qkv = malloc(f * (size_t)(R * 3 * C));
    d->f = malloc(f * (size_t)(R * H)), d->y = malloc(f * (size_t)(R * C));
    d->s = malloc(f * (size_t)N), d->p = malloc(f * (size_t)N);
    d->logits = malloc(f * (size_t)(B * V));
    int64_t wide = V > 3 * C ? V : 3 * C;
    d->wide = wide > H ? wide : H, d->chunks = d->wide / 16 + 1;
#ifdef CG_HAVE_OPENMP
    d->helpers = omp_get_max_threads() - 1;
#endif
    d->state = malloc(sizeof *d->state * (size_t)d->chunks);
    d->shadow = malloc(f * (size_t)((d->helpers > 0 ? d->helpers : 1) * R * d->wide));
    if (d->x && d->in && d->qkv && d->f && d->y && d->s && d->p && d->logits && d->state &&
        d->shadow)
        return 0;
    decode_free(d);
    return -1;
}

static const float *f32(const cg_tensor *t) { return t ? cg_data_ptr(t) : NULL; }

/* phase q's input (rows, k) (q >= 1: see the team below) */
static float *phase_in(const decode_buf *d, uint32_t q) {
    return d->in + (int64_t)(q - 1) * d->R * d->in_wide;
}

/* ------------------------------------------------ the decode step's team */

/* The step's linear layers are its phases, numbered from 1 in order: four
 * per block (c_attn, c_proj, c_fc, the MLP's c_proj), then the LM head, each
 * cut into chunks of output features. One OpenMP team runs the whole step,
 * and no thread ever waits for another inside it: thread 0 runs the step and
 * takes the chunks of each phase in ascending order; the others take free
 * chunks from the top down into their own output (shadow) and mark them
 * done. Thread 0 copies a chunk marked done, and computes itself one that is
 * free or still being computed (the kernel gives the same bits whoever runs
 * it), so a thread the system has descheduled costs nothing but its chunk
 * (a barrier per layer would wait for it at every layer). A chunk's state
 * holds its phase, so a late thread's claims on a past phase fail. */
typedef struct {
    const float *x, *w, *b; /* x (m,k), w (n,k), b (n) or NULL */
    float *y;               /* (m,n) */
    int64_t m, n, k, rows;  /* rows: output features per chunk */
} decode_job;

/* a chunk's state: phase << 16 | one of these (DONE + h: helper h's) */
enum { CHUNK_FREE, CHUNK_BUSY, CHUNK_MINE, CHUNK_DONE };

#define TEAM_END UINT32_MAX /* the phase when the step is over */
#define CHUNK_WEIGHTS 65536 /* about this many weights per chunk */
#define IDLE_SPINS 256      /* a helper waiting for a phase spins, then yields */

#if defined(__x86_64__) || defined(__i386__)
#define SPIN_PAUSE() __builtin_ia32_pause()
#else
#define SPIN_PAUSE() ((void)0)
#endif

static decode_job job_for(const cg_linear_layer *l, const float *x, float *y) {
    decode_job j = {.x = x, .w = f32(l->weight), .b = f32(l->bias), .y = y};
    j.n = cg_size(l->weight, 0), j.k = cg_size(l->weight, 1);
    return j;
}

/* phase q's linear layer (q >= 1) */
static decode_job phase_job(const cg_gpt *m, const decode_buf *d, uint32_t q) {
    decode_job j;
    int i = (int)(q - 1) / 4;
    if (i >= m->cfg.n_layer) {
        j = (decode_job){.x = phase_in(d, q), .w = f32(m->lm_head), .y = d->logits, .m = d->B};
        j.n = cg_size(m->lm_head, 0), j.k = cg_size(m->lm_head, 1);
    } else {
        const cg_transformer_block *b = &m->h[i];
        switch ((q - 1) % 4) {
        case 0: j = job_for(&b->attn.c_attn, phase_in(d, q), d->qkv); break;
        case 1: j = job_for(&b->attn.c_proj, phase_in(d, q), d->y); break;
        case 2: j = job_for(&b->mlp.fc, phase_in(d, q), d->f); break;
        default: j = job_for(&b->mlp.proj, phase_in(d, q), d->y); break;
        }
        j.m = d->B * d->T;
    }
    int64_t rows = (CHUNK_WEIGHTS / (j.k > 0 ? j.k : 1) + 15) / 16 * 16;
    j.rows = rows > 16 ? rows : 16;
    return j;
}

static int64_t job_chunks(const decode_job *j) { return (j->n + j->rows - 1) / j->rows; }

/* chunk c of the job into y (m,n) */
static void run_chunk(const decode_job *j, int64_t c, float *y) {
    int64_t lo = c * j->rows, hi = lo + j->rows < j->n ? lo + j->rows : j->n;
    cg__kern()->linear_f32(j->m, hi - lo, j->k, j->x, j->w + lo * j->k, j->b ? j->b + lo : NULL,
                           y + lo, j->n);
}

#ifdef CG_HAVE_OPENMP /* helpers exist only in a team */
/* helper h (from 0) in phase q: free chunks from the top down into its
 * shadow, until thread 0 has reached them */
static void help_phase(const cg_gpt *m, decode_buf *d, uint32_t q, int h) {
    decode_job j = phase_job(m, d, q);
    float *y = d->shadow + (int64_t)h * d->R * d->wide;
    for (int64_t c = job_chunks(&j) - 1; c >= 0; c--) {
        uint32_t s = q << 16 | CHUNK_FREE;
        if (!atomic_compare_exchange_strong_explicit(&d->state[c], &s, q << 16 | CHUNK_BUSY,
                                                     memory_order_acquire, memory_order_relaxed)) {
            if (s >> 16 != q || (s & 0xffff) == CHUNK_MINE) return;
            continue; /* another helper's */
        }
        run_chunk(&j, c, y);
        s = q << 16 | CHUNK_BUSY;
        if (!atomic_compare_exchange_strong_explicit(&d->state[c], &s,
                                                     q << 16 | (uint32_t)(CHUNK_DONE + h),
                                                     memory_order_release, memory_order_relaxed))
            return; /* thread 0 took it over */
    }
}

/* a thread other than 0 (helper h): helps with every phase until the step
 * is over */
static void team_help(_Atomic uint32_t *phase, const cg_gpt *m, decode_buf *d, int h) {
    uint32_t seen = 0;
    for (int idle = 0;; idle++) {
        uint32_t q = atomic_load_explicit(phase, memory_order_acquire);
        if (q == TEAM_END) return;
        if (q == seen || h >= d->helpers) {
            if (idle < IDLE_SPINS)
                SPIN_PAUSE();
            else
                sched_yield(); /* let thread 0 (or anyone) have the core */
            continue;
        }
        help_phase(m, d, q, h);
        seen = q, idle = 0;
    }
}

#endif

/* chunk c of phase q on thread 0: its own, or a helper's copied */
static void take_chunk(decode_buf *d, const decode_job *j, uint32_t q, int64_t c) {
    uint32_t s = q << 16 | CHUNK_FREE;
    for (;;) { /* s: the state expected; a failed exchange loads it */
        if ((s & 0xffff) >= CHUNK_DONE) break;
        if (atomic_compare_exchange_strong_explicit(&d->state[c], &s, q << 16 | CHUNK_MINE,
                                                    memory_order_acquire, memory_order_acquire)) {
            run_chunk(j, c, j->y);
            return;
        }
    }
    const float *y = d->shadow + (int64_t)((s & 0xffff) - CHUNK_DONE) * d->R * d->wide;
    int64_t lo = c * j->rows, hi = lo + j->rows < j->n ? lo + j->rows : j->n;
    for (int64_t b = 0; b < j->m; b++)
        memcpy(j->y + b * j->n + lo, y + b * j->n + lo, sizeof(float) * (size_t)(hi - lo));
}

/* phase q on thread 0: opens it, then takes every chunk in turn */
static void decode_linear(_Atomic uint32_t *phase, const cg_gpt *m, decode_buf *d, uint32_t q) {
    decode_job j = phase_job(m, d, q);
    int64_t n = job_chunks(&j);
    for (int64_t c = 0; c < n; c++)
        atomic_store_explicit(&d->state[c], q << 16 | CHUNK_FREE, memory_order_relaxed);
    atomic_store_explicit(phase, q, memory_order_release);
    for (int64_t c = 0; c < n; c++) take_chunk(d, &j, q, c);
}

static void decode_norm(const cg_layer_norm_layer *n, const float *x, int64_t B, float *y) {
    cg__kern()->layer_norm_f32(B, n->dim, x, f32(n->weight), f32(n->bias), n->eps, y, NULL, NULL);
}

/* x += y, both (n) */
static void add_into(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

/* head h's output o (hs) of row r = b T + t of d->qkv (R,3C) at position
 * pos: its key and value are stored in the caches ks, vs (N,hs), then its
 * query attends to positions [0, pos] */
static void attend(decode_buf *d, int64_t r, int64_t h, int64_t hs, int64_t pos, float *ks,
                   float *vs, float *o) {
    const cg__kernels *K = cg__kern();
    const float *q = d->qkv + r * 3 * d->C + h * hs;
    int64_t len = pos + 1;
    memcpy(ks + pos * hs, q + d->C, sizeof(float) * (size_t)hs);
    memcpy(vs + pos * hs, q + 2 * d->C, sizeof(float) * (size_t)hs);
    K->linear_f32(1, len, hs, q, ks, NULL, d->s, len); /* q . k_t */
    float scale = 1.0f / sqrtf((float)hs);
    for (int64_t t = 0; t < len; t++) d->s[t] *= scale;
    K->softmax_f32(1, len, d->s, d->p, false);
    memset(o, 0, sizeof(float) * (size_t)hs);
    for (int64_t t = 0; t < len; t++)
        for (int64_t e = 0; e < hs; e++) o[e] += d->p[t] * vs[t * hs + e];
}

/* the heads' outputs a (R,C) at positions [pos, pos + T) of layer i's
 * cache, causal: each token in turn */
static void decode_attention(decode_buf *d, const cg_self_attention *at, kv_cache *c, int i,
                             int64_t pos, float *a) {
    int64_t C = d->C, nh = at->n_head, hs = C / nh, N = c->N;
    float *kc = cg_data_ptr(c->k[i]), *vc = cg_data_ptr(c->v[i]); /* (B,nh,N,hs) */
    for (int64_t b = 0; b < d->B; b++)
        for (int64_t t = 0; t < d->T; t++)
            for (int64_t h = 0; h < nh; h++) {
                int64_t r = b * d->T + t, kv = (b * nh + h) * N * hs;
                attend(d, r, h, hs, pos + t, kc + kv, vc + kv, a + r * C + h * hs);
            }
}

/* one block on d->x (R,C) at position pos (phases 4i + 1 to 4i + 4) */
static void decode_block(_Atomic uint32_t *phase, const cg_gpt *m, decode_buf *d, kv_cache *c,
                         int i, int64_t pos) {
    const cg_transformer_block *b = &m->h[i];
    int64_t rows = d->B * d->T, C = d->C;
    uint32_t q = 4 * (uint32_t)i;
    decode_norm(&b->ln_1, d->x, rows, phase_in(d, q + 1));
    decode_linear(phase, m, d, q + 1); /* qkv */
    decode_attention(d, &b->attn, c, i, pos, phase_in(d, q + 2));
    decode_linear(phase, m, d, q + 2); /* y = c_proj(a) */
    add_into(d->x, d->y, rows * C);
    decode_norm(&b->ln_2, d->x, rows, phase_in(d, q + 3));
    decode_linear(phase, m, d, q + 3); /* f = c_fc(h) */
    cg__kern()->gelu_f32(rows * d->H, d->f, phase_in(d, q + 4), b->mlp.gelu == CG_GELU_TANH);
    decode_linear(phase, m, d, q + 4); /* y = c_proj(f) */
    add_into(d->x, d->y, rows * C);
}

/* the step on thread 0 */
static void decode_run(_Atomic uint32_t *phase, const cg_gpt *m, kv_cache *c, decode_buf *d,
                       const int64_t *ids) {
    int64_t B = d->B, T = d->T, C = d->C, pos = c->len;
    uint32_t head = 4 * (uint32_t)m->cfg.n_layer + 1; /* the LM head's phase */
    const float *wte = f32(m->wte.weight), *wpe = f32(m->wpe.weight) + pos * C;
    for (int64_t r = 0; r < B * T; r++)
        for (int64_t j = 0; j < C; j++)
            d->x[r * C + j] = wte[ids[r] * C + j] + wpe[(r % T) * C + j];
    for (int i = 0; i < m->cfg.n_layer; i++) decode_block(phase, m, d, c, i, pos);
    for (int64_t b = 0; b < B; b++) /* the last position of each row */
        decode_norm(&m->ln_f, d->x + (b * T + T - 1) * C, 1, phase_in(d, head) + b * C);
    decode_linear(phase, m, d, head); /* the logits */
    atomic_store_explicit(phase, TEAM_END, memory_order_release);
}

/* the logits d->logits (B,V) after tokens ids (B,T) at positions
 * [c->len, c->len + T), which the cache then holds; one team for the step */
static void decode_step(const cg_gpt *m, kv_cache *c, decode_buf *d, const int64_t *ids,
                        int64_t T) {
    _Atomic uint32_t phase = 0; /* the phase open now */
    d->T = T;
#ifdef CG_HAVE_OPENMP
    if (omp_get_max_threads() > 1 && d->helpers > 0) {
#pragma omp parallel
        {
            int t = omp_get_thread_num();
            if (t == 0)
                decode_run(&phase, m, c, d, ids);
            else
                team_help(&phase, m, d, t - 1);
        }
    } else
#endif
        decode_run(&phase, m, c, d, ids);
    c->len += T;
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
static int choose(const gen_state *g, const float *logits, int64_t V, int64_t t) {
    for (int64_t b = 0; b < g->B; b++)
        if ((g->ids[b * g->n + t] = cg__sample_token(GEN, logits + b * V, V, g->s)) < 0) return -1;
    return 0;
}

/* the tokens of step t (B) into ids[:, t]; the callback may ask to stop (1) */
static int step_tokens(const cg_gpt *m, const float *logits, gen_state *g, int64_t t) {
    if (choose(g, logits, m->cfg.vocab_size, t) < 0) return -1;
    for (int64_t b = 0; b < g->B; b++) g->col[b] = g->ids[b * g->n + t];
    const cg_generate_options *o = g->o;
    return o->on_token && o->on_token(o->user, g->col, g->B) != 0 ? 1 : 0;
}

/* cached_step's logits (B,V) as float32, contiguous, a reference of ours,
 * for the prompt, or without one for the last step's tokens g->col (B) */
static cg_tensor *cached_logits(cg_gpt *m, kv_cache *c, cg_tensor *prompt, const gen_state *g) {
    cg_tensor *l = NULL;
    CG_SCOPE {
        cg_tensor *ids = prompt ? prompt : cg_from_data(g->col, CG_SHAPE(g->B, 1), CG_INT64);
        l = cg_retain(cg_contiguous(cg_to(cached_step(m, c, ids), CG_FLOAT32)));
    }
    return l;
}

/* every id of the prompt (B,T) a row of the embedding (else the op path
 * reports it) */
static bool ids_in_range(const cg_gpt *m, const cg_tensor *prompt) {
    const int64_t *ids = cg_data_ptr(prompt);
    for (int64_t i = 0; i < cg_numel(prompt); i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size) return false;
    return true;
}

/* the generation loop: the prompt (B,T), then a token per step into
 * g->ids, fused (decode_step) where the model allows; the number of
 * columns filled, or -1 */
static int64_t run(cg_gpt *m, cg_tensor *prompt, gen_state *g) {
    kv_cache c = {0};
    decode_buf d = {0};
    int64_t t = cg_size(prompt, 1);
    bool cached = cache_init(&c, m, g->B, g->n) == 0;
    bool fused = cached && ids_in_range(m, prompt) && decode_fusable(m, &c) &&
                 decode_alloc(&d, m, g->B, t, g->n) == 0;
    cg_tensor *logits = cached && !fused ? cached_logits(m, &c, prompt, g) : NULL;
    if (fused) decode_step(m, &c, &d, cg_data_ptr(prompt), t);
    const float *l = fused ? d.logits : logits ? cg_data_ptr(logits) : NULL; /* (B,V) */
    int rc = l ? 0 : -1;
    while (rc == 0 && t < g->n) {
        rc = step_tokens(m, l, g, t++);
        if (rc != 0 || t == g->n) break;
        if (fused) {
            decode_step(m, &c, &d, g->col, 1);
            continue;
        }
        cg_release(logits);
        logits = cached_logits(m, &c, NULL, g);
        l = logits ? cg_data_ptr(logits) : NULL;
        rc = logits ? 0 : -1;
    }
    cg_release(logits);
    decode_free(&d);
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
