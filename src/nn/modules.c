/* Layers with named parameters: Linear, Embedding, LayerNorm, Dropout and an
 * MLP, initialised as PyTorch initialises them. Each init registers its
 * parameters in a cg_params under prefix + PyTorch's name ("fc.weight"). */
#include "../core/internal.h"

#include <math.h>
#include <stdio.h>

/* a new leaf parameter, registered under prefix.name; retained by p */
static cg_tensor *param(cg_params *p, const char *prefix, const char *name, cg_tensor *init) {
    char full[256];
    snprintf(full, sizeof full, "%s%s%s", prefix && *prefix ? prefix : "",
             prefix && *prefix ? "." : "", name);
    if (!init) return NULL;
    cg_tensor *t = cg_requires_grad_(cg_detach(init), true);
    return cg_params_add(p, full, t);
}

/* U(-bound, bound) */
static cg_tensor *uniform(int nd, const int64_t *shape, double bound) {
    return cg_sub_scalar(cg_mul_scalar(cg_rand(nd, shape, 0), 2 * bound), bound);
}

int cg_linear_init(cg_linear_layer *l, cg_params *p, const char *prefix, int64_t in, int64_t out,
                   bool bias) {
    if (!l || !p || in <= 0 || out <= 0) {
        cg__error("cg_linear_init", "a Linear layer needs positive sizes, got %lld -> %lld",
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
        cg__error("cg_embedding_init", "an Embedding needs positive sizes, got %lld x %lld",
                  (long long)num, (long long)dim);
        return -1;
    }
    e->num = num, e->dim = dim;
    e->weight = param(p, prefix, "weight", cg_randn(CG_SHAPE(num, dim), 0)); /* N(0, 1) */
    return e->weight ? 0 : -1;
}

cg_tensor *cg_embedding_forward(const cg_embedding_layer *e, cg_tensor *idx) {
    return e ? cg_embedding(e->weight, idx) : NULL;
}

int cg_layer_norm_init(cg_layer_norm_layer *n, cg_params *p, const char *prefix, int64_t dim,
                       double eps) {
    if (!n || !p || dim <= 0) {
        cg__error("cg_layer_norm_init", "a LayerNorm needs a positive size, got %lld", (long long)dim);
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
    snprintf(a, sizeof a, "%s%sc_fc", prefix && *prefix ? prefix : "", prefix && *prefix ? "." : "");
    snprintf(b, sizeof b, "%s%sc_proj", prefix && *prefix ? prefix : "", prefix && *prefix ? "." : "");
    m->dropout = 0;
    return cg_linear_init(&m->fc, p, a, in, hidden, true) == 0 &&
                   cg_linear_init(&m->proj, p, b, hidden, out, true) == 0
               ? 0
               : -1;
}

/* proj(gelu(fc(x))), then dropout */
cg_tensor *cg_mlp_forward(const cg_mlp *m, cg_tensor *x, bool training) {
    if (!m) return NULL;
    cg_tensor *h = cg_gelu(cg_linear_forward(&m->fc, x), false);
    return cg_dropout(cg_linear_forward(&m->proj, h), m->dropout, training);
}
