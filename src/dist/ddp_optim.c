/* The optimizer step of cg_ddp: AdamW over every parameter, or with ZeRO-1
 * over this rank's shard of each bucket, the parameters then all-gathered. */
#include "ddp.h"

#include <math.h>

/* bucket b's shard on this rank: elements [rank * chunk, (rank + 1) * chunk) */
static int64_t chunk_of(const cg_ddp *d, const cg__bucket *b) { return b->padded / d->world; }

int cg__zero_setup(cg_ddp *d) {
    for (int j = 0; j < d->nb; j++) {
        cg__bucket *b = &d->b[j];
        int64_t chunk = chunk_of(d, b);
        cg_tensor *s = cg_zeros(CG_SHAPE(chunk), (int)b->dtype | CG_REQUIRES_GRAD);
        cg_tensor *g = s ? cg_zeros(CG_SHAPE(chunk), (int)b->dtype) : NULL;
        if (!g) return -1;
        b->shard = cg_retain(s);
        s->grad = cg_retain(g);
    }
    return 0;
}

/* visits the parts of bucket b's parameters inside [lo, hi) of its flat
 * layout: parameter t's elements [from, from + len) at flat position at */
typedef void (*span_fn)(cg_tensor *t, int64_t from, int64_t len, void *flat);
static void spans(cg_ddp *d, cg__bucket *b, int64_t lo, int64_t hi, void *base, span_fn f) {
    size_t es = cg__esize(b->dtype);
    for (int k = 0; k < b->count; k++) {
        int i = d->order[b->first + k];
        int64_t start = d->offset[i], end = start + cg__numel(d->t[i]->ndim, d->t[i]->shape);
        int64_t a = start > lo ? start : lo, z = end < hi ? end : hi;
        if (a < z) f(d->t[i], a - start, z - a, (char *)base + (size_t)(a - lo) * es);
    }
}

static void span_out(cg_tensor *t, int64_t from, int64_t len, void *flat) {
    cg__ddp_copy_out(t, from, len, flat);
}
static void span_in(cg_tensor *t, int64_t from, int64_t len, void *flat) {
    cg__ddp_copy_in(t, from, len, flat);
    cg__bump_version(t);
}

/* the global 2-norm of the shards' gradients; scales them to max_norm as
 * cg_clip_grad_norm does */
static int clip_shards(cg_ddp *d, double max_norm, double *norm) {
    double total = 0;
    for (int j = 0; j < d->nb; j++) {
        cg_tensor *g = d->b[j].shard->grad;
        int64_t m = cg__numel(g->ndim, g->shape);
        for (int64_t k = 0; k < m; k++) {
            double v = cg__load(cg__ptr(g), g->dtype, k);
            total += v * v;
        }
    }
    if (cg__comm_allreduce(&total, 1, CG_FLOAT64, CG__COMM_SUM) < 0) return -1;
    total = sqrt(total);
    if (norm) *norm = total;
    double coef = max_norm / (total + 1e-6);
    for (int j = 0; j < d->nb && max_norm > 0 && coef < 1; j++)
        if (!cg_mul_scalar_(d->b[j].shard->grad, coef)) return -1;
    return 0;
}

int cg__zero_step(cg_ddp *d, double max_norm, double *norm) {
    if ((max_norm > 0 || norm) && clip_shards(d, max_norm, norm) < 0) return -1;
    for (int j = 0; j < d->nb; j++) { /* the shards from the parameters as they are now */
        cg__bucket *b = &d->b[j];
        int64_t c = chunk_of(d, b);
        spans(d, b, d->rank * c, (d->rank + 1) * c, cg__ptr(b->shard), span_out);
        cg__bump_version(b->shard);
    }
    if (cg_optimizer_step(d->opt) < 0) return -1;
    int rc = 0;
    for (int j = 0; j < d->nb && rc == 0; j++) { /* every rank's shard into every rank */
        cg__bucket *b = &d->b[j];
        int64_t c = chunk_of(d, b);
        size_t es = cg__esize(b->dtype);
        memcpy((char *)b->buf + (size_t)(d->rank * c) * es, cg__ptr(b->shard), (size_t)c * es);
        rc = cg__comm_iallgather(b->buf, c, b->dtype, &b->req);
    }
    for (int j = 0; j < d->nb && rc == 0; j++) rc = cg__comm_wait(&d->b[j].req);
    for (int j = 0; j < d->nb && rc == 0; j++)
        spans(d, &d->b[j], 0, d->b[j].padded, d->b[j].buf, span_in);
    return rc;
}

int cg_ddp_adamw(cg_ddp *d, double lr, double beta1, double beta2, double eps,
                 double weight_decay) {
    if (!d) return -1;
    int n = 0;
    cg_tensor **list = malloc(sizeof *list * (size_t)(d->n + d->nb + 1));
    if (!list) return -1;
    if (d->flags & CG_DDP_ZERO1)
        for (int j = 0; j < d->nb; j++) list[n++] = d->b[j].shard;
    else
        for (int i = 0; i < d->n; i++)
            if (d->bucket_of[i] >= 0) list[n++] = d->t[i];
    cg_optimizer *o = cg_adamw(n, list, lr, beta1, beta2, eps, weight_decay);
    free(list);
    if (!o) return -1;
    cg_optimizer_free(d->opt);
    d->opt = o;
    return 0;
}

cg_optimizer *cg_ddp_optimizer(cg_ddp *d) { return d ? d->opt : NULL; }

int cg_ddp_step(cg_ddp *d, double max_norm, double *norm) {
    static const char *fn = "cg_ddp_step";
    if (!d) return -1;
    if (!d->opt) {
        cg__error(fn, "no optimizer: call cg_ddp_adamw first");
        return -1;
    }
    if (!d->sync) {
        cg__error(fn, "the gradients are not synchronized (cg_ddp_set_sync(d, false), no_sync)");
        return -1;
    }
    if (cg_ddp_finish(d) < 0) return -1;
    if (d->flags & CG_DDP_ZERO1) return cg__zero_step(d, max_norm, norm);
    if (max_norm > 0 || norm) {
        int n = 0;
        for (int i = 0; i < d->n; i++) n += d->bucket_of[i] >= 0;
        cg_tensor **list = malloc(sizeof *list * (size_t)(n + 1));
        if (!list) return -1;
        n = 0;
        for (int i = 0; i < d->n; i++)
            if (d->bucket_of[i] >= 0) list[n++] = d->t[i];
        double total = cg_clip_grad_norm(n, list, max_norm > 0 ? max_norm : INFINITY, 2);
        free(list);
        if (norm) *norm = total;
    }
    return cg_optimizer_step(d->opt);
}

void cg_ddp_zero_grad(cg_ddp *d) {
    for (int i = 0; d && i < d->n; i++) cg_clear_grad(d->t[i]);
}

cg_ddp_stats cg_ddp_get_stats(const cg_ddp *d) {
    if (!d) return (cg_ddp_stats){0};
    cg_ddp_stats s = d->stats;
    s.optim_state_bytes = 0; /* AdamW's exp_avg and exp_avg_sq */
    if (d->flags & CG_DDP_ZERO1)
        for (int j = 0; j < d->nb && d->opt; j++)
            s.optim_state_bytes += 2.0 * (double)(chunk_of(d, &d->b[j]) *
                                                  (int64_t)cg__esize(d->b[j].dtype));
    else
        for (int i = 0; i < d->n && d->opt; i++)
            if (d->bucket_of[i] >= 0)
                s.optim_state_bytes += 2.0 * (double)(cg__numel(d->t[i]->ndim, d->t[i]->shape) *
                                                      (int64_t)cg__esize(d->t[i]->dtype));
    return s;
}

void cg_ddp_reset_stats(cg_ddp *d) {
    if (d) d->stats = (cg_ddp_stats){0};
}
