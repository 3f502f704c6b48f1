/* Layers with named parameters: Linear, Embedding, LayerNorm, Dropout, an
 * MLP, causal multi-head self-attention and a transformer block, initialised
 * as PyTorch initialises them. Each init registers its parameters in a
 * cg_params under prefix + PyTorch's name ("h.0.attn.c_attn.weight").
 *
 * Legend for the shape comments: B batch, T time, C channels, nh heads, hs
 * head size (C / nh). */
#include "cgrad.h"
#include "init.h"

#include <math.h>
#include <stdio.h>

/* prefix.name into buf */
static const char *sub(char *buf, size_t n, const char *prefix, const char *name) {
    snprintf(buf, n, "%s%s%s", prefix && *prefix ? prefix : "", prefix && *prefix ? "." : "", name);
    return buf;
}

/* a new leaf parameter, registered under prefix.name; retained by p */
static cg_tensor *param(cg_params *p, const char *prefix, const char *name, cg_tensor *init) {
    char full[256];
    sub(full, sizeof full, prefix, name);
    if (!init) return NULL;
    cg_tensor *t = cg_requires_grad_(cg_detach(init), true);
    return cg_params_add(p, full, t);
}

_Thread_local bool cg__nn_skip_init;

/* U(-bound, bound); uninitialised under cg__nn_skip_init */
static cg_tensor *uniform(int nd, const int64_t *shape, double bound) {
    if (cg__nn_skip_init) return cg_empty(nd, shape, 0);
    return cg_sub_scalar(cg_mul_scalar(cg_rand(nd, shape, 0), 2 * bound), bound);
}

int cg_linear_init(cg_linear_layer *l, cg_params *p, const char *prefix, int64_t in, int64_t out,
                   bool bias) {
    if (!l || !p || in <= 0 || out <= 0) {
        cg_error_in("cg_linear_init", "a Linear layer needs positive sizes, got %lld -> %lld",
                    (long long)in, (long long)out);
        return -1;
    }
    /* kaiming_uniform(a = sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)); the bias too */
    double bound = 1 / sqrt((double)in);
    l->in = in, l->out = out;
    l->weight = param(p, prefix, "weight", uniform(CG_SHAPE(out, in), bound));
    l->bias = bias ? param(p, prefix, "bias", uniform(CG_SHAPE(out), bound)) : NULL;
    return l->weight && (!bias || l->bias) ? 0 : -1;
}

cg_tensor *cg_linear_forward(const cg_linear_layer *l, cg_tensor *x) {
    return l ? cg_linear(x, l->weight, l->bias) : NULL;
}

int cg_embedding_init(cg_embedding_layer *e, cg_params *p, const char *prefix, int64_t num,
                      int64_t dim) {
    if (!e || !p || num <= 0 || dim <= 0) {
        cg_error_in("cg_embedding_init", "an Embedding needs positive sizes, got %lld x %lld",
                    (long long)num, (long long)dim);
        return -1;
    }
    e->num = num, e->dim = dim;
    cg_tensor *w = cg__nn_skip_init ? cg_empty(CG_SHAPE(num, dim), 0)
                                    : cg_randn(CG_SHAPE(num, dim), 0); /* N(0, 1) */
    e->weight = param(p, prefix, "weight", w);
    return e->weight ? 0 : -1;
}

cg_tensor *cg_embedding_forward(const cg_embedding_layer *e, cg_tensor *idx) {
    return e ? cg_embedding(e->weight, idx) : NULL;
}

int cg_layer_norm_init(cg_layer_norm_layer *n, cg_params *p, const char *prefix, int64_t dim,
                       double eps) {
    if (!n || !p || dim <= 0) {
        cg_error_in("cg_layer_norm_init", "a LayerNorm needs a positive size, got %lld",
                    (long long)dim);
        return -1;
    }
    n->dim = dim, n->eps = eps;
    n->weight = param(p, prefix, "weight", cg_ones(CG_SHAPE(dim), 0));
    n->bias = param(p, prefix, "bias", cg_zeros(CG_SHAPE(dim), 0));
    return n->weight && n->bias ? 0 : -1;
}

cg_tensor *cg_layer_norm_forward(const cg_layer_norm_layer *n, cg_tensor *x) {
    return n ? cg_layer_norm(x, 1, &n->dim, n->weight, n->bias, n->eps) : NULL;
}

int cg_mlp_init(cg_mlp *m, cg_params *p, const char *prefix, int64_t in, int64_t hidden,
                int64_t out) {
    char a[256], b[256];
    m->dropout = 0;
    m->gelu = CG_GELU_NONE;
    return cg_linear_init(&m->fc, p, sub(a, sizeof a, prefix, "c_fc"), in, hidden, true) == 0 &&
                   cg_linear_init(&m->proj, p, sub(b, sizeof b, prefix, "c_proj"), hidden, out,
                                  true) == 0
               ? 0
               : -1;
}

/* proj(gelu(fc(x))), then dropout */
cg_tensor *cg_mlp_forward(const cg_mlp *m, cg_tensor *x, bool training) {
    if (!m) return NULL;
    cg_tensor *h = cg_gelu(cg_linear_forward(&m->fc, x), m->gelu == CG_GELU_TANH);
    return cg_dropout(cg_linear_forward(&m->proj, h), m->dropout, training);
}

cg_tensor *cg_dropout_forward(const cg_dropout_layer *d, cg_tensor *x, bool training) {
    return d ? cg_dropout(x, d->p, training) : NULL;
}

int cg_self_attention_init(cg_self_attention *a, cg_params *p, const char *prefix, int64_t n_embd,
                           int n_head, double dropout) {
    if (!a || n_head <= 0 || n_embd <= 0 || n_embd % n_head) {
        cg_error_in("cg_self_attention_init",
                    "n_embd (%lld) must be a positive multiple of n_head (%d)", (long long)n_embd,
                    n_head);
        return -1;
    }
    char buf[256];
    a->n_head = n_head, a->dropout = dropout;
    if (cg_linear_init(&a->c_attn, p, sub(buf, sizeof buf, prefix, "c_attn"), n_embd, 3 * n_embd,
                       true) < 0)
        return -1;
    return cg_linear_init(&a->c_proj, p, sub(buf, sizeof buf, prefix, "c_proj"), n_embd, n_embd,
                          true);
}

cg_tensor *cg_self_attention_forward(const cg_self_attention *a, cg_tensor *x, bool training) {
    if (!a || !x) return NULL;
    if (cg_ndim(x) != 3 || cg_size(x, 2) != a->c_attn.in) {
        cg_error_in("cg_self_attention_forward", "x must be (B, T, %lld)", (long long)a->c_attn.in);
        return NULL;
    }
    int64_t B = cg_size(x, 0), T = cg_size(x, 1), C = a->c_attn.in, nh = a->n_head, hs = C / nh;
    cg_tensor *qkv = cg_linear_forward(&a->c_attn, x); /* (B,T,3C) */
    cg_tensor *h[3] = {NULL, NULL, NULL}; /* q, k, v: views of qkv, as nanoGPT's split */
    int n_split = 3;                      /* room in h */
    if (!qkv || cg_split(qkv, C, 2, &n_split, h) < 0) return NULL;
    for (int k = 0; k < 3; k++) /* (B,T,C) -> (B,nh,T,hs), still views */
        h[k] = cg_transpose(cg_view(h[k], CG_SHAPE(B, T, nh, hs)), 1, 2);
    cg_tensor *y = cg_scaled_dot_product_attention(h[0], h[1], h[2], NULL, true); /* (B,nh,T,hs) */
    y = cg_view(cg_contiguous(cg_transpose(y, 1, 2)), CG_SHAPE(B, T, C));
    return cg_dropout(cg_linear_forward(&a->c_proj, y), a->dropout, training);
}

int cg_transformer_block_init(cg_transformer_block *b, cg_params *p, const char *prefix,
                              int64_t n_embd, int n_head, double dropout) {
    char buf[256];
    if (!b) return -1;
    if (cg_layer_norm_init(&b->ln_1, p, sub(buf, sizeof buf, prefix, "ln_1"), n_embd, 1e-5) < 0 ||
        cg_self_attention_init(&b->attn, p, sub(buf, sizeof buf, prefix, "attn"), n_embd, n_head,
                               dropout) < 0 ||
        cg_layer_norm_init(&b->ln_2, p, sub(buf, sizeof buf, prefix, "ln_2"), n_embd, 1e-5) < 0 ||
        cg_mlp_init(&b->mlp, p, sub(buf, sizeof buf, prefix, "mlp"), n_embd, 4 * n_embd, n_embd) <
            0)
        return -1;
    b->mlp.dropout = dropout;
    return 0;
}

/* x + attn(ln_1(x)), then + mlp(ln_2(x)), in a scope of its own: what the
 * backward needs stays alive through the nodes that saved it, the other
 * intermediates go at once */
cg_tensor *cg_transformer_block_forward(const cg_transformer_block *b, cg_tensor *x,
                                        bool training) {
    if (!b || !x) return NULL;
    cg_scope_begin();
    x = cg_add(x,
               cg_self_attention_forward(&b->attn, cg_layer_norm_forward(&b->ln_1, x), training));
    x = cg_keep(cg_add(x, cg_mlp_forward(&b->mlp, cg_layer_norm_forward(&b->ln_2, x), training)));
    cg_scope_end();
    return x;
}
