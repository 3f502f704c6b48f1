/* A GPT (as nanoGPT and llm.c build it): token and position embeddings,
 * pre-norm transformer blocks of causal multi-head self-attention and a GELU
 * MLP, a final LayerNorm and the LM head, optionally tied to the token
 * embedding. Parameter names are PyTorch's state_dict keys of that model, so
 * checkpoints move between the two.
 *
 * Legend for the shape comments: B batch, T time, C channels (n_embd),
 * nh heads, hs head size (C / nh), V vocabulary. */
#include "gpt_impl.h"
#include "init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_config(const cg_gpt_config *c) {
    if (!c || c->vocab_size <= 0 || c->block_size <= 0 || c->n_layer <= 0 || c->n_head <= 0 ||
        c->n_embd <= 0 || c->n_embd % c->n_head || !(c->dropout >= 0 && c->dropout < 1)) {
        cg_error_in("cg_gpt_new", "invalid GPT configuration: n_embd must be a positive multiple "
                                  "of n_head, sizes positive, 0 <= dropout < 1");
        return -1;
    }
    if (!(c->layer_norm_eps >= 0 && c->layer_norm_eps < INFINITY) ||
        (c->gelu != CG_GELU_NONE && c->gelu != CG_GELU_TANH)) {
        cg_error_in("cg_gpt_new", "invalid GPT configuration: layer_norm_eps must be finite and "
                                  ">= 0 (0: 1e-5), gelu CG_GELU_NONE or CG_GELU_TANH");
        return -1;
    }
    return 0;
}

/* the configuration's eps and GELU in every LayerNorm and MLP */
static void set_eps_gelu(cg_gpt *m) {
    double eps = m->cfg.layer_norm_eps;
    for (int i = 0; i < m->cfg.n_layer; i++) {
        m->h[i].ln_1.eps = m->h[i].ln_2.eps = eps;
        m->h[i].mlp.gelu = m->cfg.gelu;
    }
    m->ln_f.eps = eps;
}

/* t = N(0, std), in place under no_grad; the draws freed at once */
static void normal_(cg_tensor *t, double std) {
    cg_scope_begin();
    CG_NO_GRAD { cg_copy_(t, cg_mul_scalar(cg_randn_like(t, 0), std)); }
    cg_scope_end();
}

static void gpt2_init(cg_gpt *m) {
    /* GPT-2's: weights N(0, 0.02), biases 0, residual projections scaled by
     * 1/sqrt(2 n_layer) */
    double proj_std = 0.02 / sqrt(2.0 * m->cfg.n_layer);
    normal_(m->wte.weight, 0.02);
    normal_(m->wpe.weight, 0.02);
    for (int i = 0; i < m->cfg.n_layer; i++) {
        cg_transformer_block *b = &m->h[i];
        cg_linear_layer *lin[4] = {&b->attn.c_attn, &b->attn.c_proj, &b->mlp.fc, &b->mlp.proj};
        for (int k = 0; k < 4; k++) {
            normal_(lin[k]->weight, k == 1 || k == 3 ? proj_std : 0.02);
            CG_NO_GRAD { cg_zero_(lin[k]->bias); }
        }
    }
    if (!m->cfg.tie_weights) normal_(m->lm_head, 0.02);
}

cg_gpt *cg_gpt_new(const cg_gpt_config *cfg) {
    if (check_config(cfg) < 0) return NULL;
    cg_gpt *m = calloc(1, sizeof *m);
    if (!m || !(m->h = calloc((size_t)cfg->n_layer, sizeof *m->h)) ||
        !(m->params = cg_params_new())) {
        if (m) free(m->h);
        free(m);
        cg_error_in("cg_gpt_new", "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    if (m->cfg.layer_norm_eps == 0) m->cfg.layer_norm_eps = 1e-5;
    m->training = true;
    int rc = 0;
    cg_scope_begin();
    int64_t C = cfg->n_embd;
    /* a scope per layer: an init's draws go before the next layer's */
    cg_scope_begin();
    rc |= cg_embedding_init(&m->wte, m->params, "transformer.wte", cfg->vocab_size, C);
    cg_scope_end();
    rc |= cg_embedding_init(&m->wpe, m->params, "transformer.wpe", cfg->block_size, C);
    for (int i = 0; i < cfg->n_layer && rc == 0; i++) {
        char pre[128];
        snprintf(pre, sizeof pre, "transformer.h.%d", i);
        cg_scope_begin();
        rc |= cg_transformer_block_init(&m->h[i], m->params, pre, C, cfg->n_head, cfg->dropout);
        cg_scope_end();
    }
    if (rc == 0) rc |= cg_layer_norm_init(&m->ln_f, m->params, "transformer.ln_f", C, 1e-5);
    if (rc == 0) {
        cg_tensor *w = NULL;
        if (cfg->tie_weights) {
            w = m->wte.weight;
        } else {
            cg_linear_layer head;
            if (cg_linear_init(&head, m->params, "lm_head", C, cfg->vocab_size, false) == 0)
                w = head.weight;
        }
        if (!(m->lm_head = cg_retain(w))) rc = -1;
    }
    if (rc == 0) set_eps_gelu(m);
    if (rc == 0 && !cg__nn_skip_init) gpt2_init(m);
    cg_scope_end();
    if (rc != 0) {
        cg_gpt_free(m);
        return NULL;
    }
    return m;
}

void cg_gpt_free(cg_gpt *m) {
    if (!m) return;
    cg_release(m->lm_head);
    cg_params_free(m->params);
    free(m->h);
    free(m);
}

cg_params *cg_gpt_params(cg_gpt *m) { return m ? m->params : NULL; }
const cg_gpt_config *cg_gpt_get_config(const cg_gpt *m) { return m ? &m->cfg : NULL; }
void cg_gpt_train(cg_gpt *m, bool training) {
    if (m) m->training = training;
}

/* the final hidden state ln_f(x) (B,T,C) for idx (B,T), in the caller's
 * scope; fn names the caller in errors */
static cg_tensor *gpt_hidden(cg_gpt *m, cg_tensor *idx, const char *fn) {
    if (!m || !idx) return NULL;
    if (cg_ndim(idx) != 2 || cg_dtype_of(idx) != CG_INT64) {
        cg_error_in(fn, "idx must be a (B, T) int64 tensor");
        return NULL;
    }
    int64_t T = cg_size(idx, 1);
    if (T > m->cfg.block_size) {
        cg_error_in(fn, "Cannot forward sequence of length %lld, block size is only %lld",
                    (long long)T, (long long)m->cfg.block_size);
        return NULL;
    }
    cg_tensor *pos = cg_arange(0, (double)T, 1, CG_INT64); /* (T) */
    cg_tensor *x = cg_add(cg_embedding_forward(&m->wte, idx), cg_embedding_forward(&m->wpe, pos));
    x = cg_dropout(x, m->cfg.dropout, m->training); /* (B,T,C) */
    for (int i = 0; i < m->cfg.n_layer; i++)
        x = cg_transformer_block_forward(&m->h[i], x, m->training);
    return cg_layer_norm_forward(&m->ln_f, x);
}

cg_tensor *cg_gpt_forward(cg_gpt *m, cg_tensor *idx, cg_tensor *targets, cg_tensor **loss) {
    if (loss) *loss = NULL;
    cg_tensor *h = gpt_hidden(m, idx, "cg_gpt_forward"); /* (B,T,C) */
    if (!h) return NULL;
    int64_t B = cg_size(idx, 0), T = cg_size(idx, 1), V = m->cfg.vocab_size;
    cg_scope_begin();
    cg_tensor *logits = cg_keep(cg_linear(h, m->lm_head, NULL)); /* (B,T,V) */
    if (targets && loss)
        *loss = cg_keep(cg_cross_entropy(cg_view(logits, CG_SHAPE(B * T, V)),
                                         cg_view(targets, CG_SHAPE(B * T)), NULL, -100,
                                         CG_REDUCTION_MEAN, 0.0));
    cg_scope_end();
    return logits;
}

cg_tensor *cg_gpt_loss(cg_gpt *m, cg_tensor *idx, cg_tensor *targets) {
    if (!targets) return NULL;
    cg_tensor *h = gpt_hidden(m, idx, "cg_gpt_loss"); /* (B,T,C) */
    if (!h) return NULL;
    int64_t B = cg_size(idx, 0), T = cg_size(idx, 1), C = m->cfg.n_embd;
    if (cg_ndim(targets) != 2 || cg_size(targets, 0) != B || cg_size(targets, 1) != T) {
        cg_error_in("cg_gpt_loss", "targets must be a (B, T) tensor, as idx");
        return NULL;
    }
    cg_scope_begin();
    cg_tensor *loss = cg_keep(cg_linear_cross_entropy(cg_reshape(h, CG_SHAPE(B * T, C)), m->lm_head,
                                                      NULL, cg_reshape(targets, CG_SHAPE(B * T)),
                                                      -100, CG_REDUCTION_MEAN));
    cg_scope_end();
    return loss;
}

/* U[0, 1) from the global generator */
static double global_uniform(void *state) {
    (void)state;
    return cg_item(cg_rand(CG_SCALAR_SHAPE, CG_FLOAT64));
}

cg_tensor *cg_gpt_generate(cg_gpt *m, cg_tensor *idx, int max_new_tokens, double temperature,
                           int top_k) {
    if (!m || !idx) return NULL;
    if (cg_ndim(idx) != 2 || cg_size(idx, 0) != 1 || cg_dtype_of(idx) != CG_INT64 ||
        max_new_tokens < 0) {
        cg_error_in("cg_gpt_generate", "idx must be a (1, T) int64 tensor and max_new_tokens >= 0");
        return NULL;
    }
    if (!(temperature >= 0 && temperature < INFINITY)) {
        cg_error_in("cg_gpt_generate", "temperature must be a finite number >= 0, but got %g",
                    temperature);
        return NULL;
    }
    int64_t T0 = cg_size(idx, 1), n = T0 + max_new_tokens, V = m->cfg.vocab_size;
    int64_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids); /* (n) */
    if (!ids) {
        cg_error_in("cg_gpt_generate", "out of memory");
        return NULL;
    }
    for (int64_t i = 0; i < T0; i++) ids[i] = (int64_t)cg_get(idx, (int64_t[]){0, i});
    bool was_training = m->training;
    m->training = false;
    int rc = 0;
    for (int64_t t = T0; t < n && rc == 0; t++) {
        cg_scope_begin();
        int64_t start = t > m->cfg.block_size ? t - m->cfg.block_size : 0;
        cg_tensor *ctx = cg_from_data(ids + start, CG_SHAPE(1, t - start), CG_INT64),
                  *logits = NULL;
        CG_NO_GRAD { logits = cg_gpt_forward(m, ctx, NULL, NULL); } /* (1,t,V) */
        cg_tensor *last = logits ? cg_contiguous(
                                       cg_to(cg_select(cg_select(logits, 0, 0), 0, -1), CG_FLOAT32))
                                 : NULL;
        cg__sampling smp = {.temperature = temperature, .top_k = top_k, .uniform = global_uniform};
        if (!last || (ids[t] = cg__sample_token("cg_gpt_generate", cg_data_ptr(last), V, &smp)) < 0)
            rc = -1;
        cg_scope_end();
    }
    m->training = was_training;
    cg_tensor *out = rc == 0 ? cg_from_data(ids, CG_SHAPE(1, n), CG_INT64) : NULL;
    free(ids);
    return out;
}
