/* DistributedDataParallel: gradient buckets filled by post-accumulate hooks
 * and all-reduced while backward goes on (torch.nn.parallel's Reducer). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "ddp.h"

#include <time.h>

#define MIB ((size_t)1 << 20)

double cg__now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cg__ddp_copy_out(const cg_tensor *t, int64_t from, int64_t len, void *dst) {
    size_t es = cg__esize(t->dtype);
    if (cg__is_contiguous(t)) {
        memcpy(dst, (char *)cg__ptr(t) + (size_t)from * es, (size_t)len * es);
        return;
    }
    for (int64_t k = 0; k < len; k++) cg__store(dst, t->dtype, k, cg__read_linear(t, from + k));
}

void cg__ddp_copy_in(cg_tensor *t, int64_t from, int64_t len, const void *src) {
    /* parameters and gradients are contiguous (cg_ddp_new checks the former) */
    size_t es = cg__esize(t->dtype);
    memcpy((char *)cg__ptr(t) + (size_t)from * es, src, (size_t)len * es);
}

/* parameter i goes into the buckets: a floating leaf that requires grad */
static bool bucketed(const cg_tensor *t) {
    return !t->grad_fn && t->requires_grad && cg_dtype_is_floating(t->dtype);
}

/* d->order and the buckets' extents: reverse registration order, a new
 * bucket when the dtype changes or the cap would be passed (the first bucket
 * capped at first_cap) */
static int plan_buckets(cg_ddp *d, size_t first_cap, size_t cap) {
    int k = 0;
    size_t bytes = 0;
    for (int i = d->n - 1; i >= 0; i--) {
        cg_tensor *t = d->t[i];
        d->bucket_of[i] = -1;
        if (!bucketed(t)) continue;
        int64_t numel = cg__numel(t->ndim, t->shape);
        size_t nbytes = (size_t)numel * cg__esize(t->dtype);
        cg__bucket *b = d->nb ? &d->b[d->nb - 1] : NULL;
        size_t limit = d->nb <= 1 ? first_cap : cap;
        if (!b || b->dtype != t->dtype || (bytes + nbytes > limit && b->count)) {
            b = &d->b[d->nb++];
            *b = (cg__bucket){.dtype = t->dtype, .first = k};
            bytes = 0;
        }
        d->order[k++] = i;
        d->bucket_of[i] = d->nb - 1;
        d->offset[i] = b->numel;
        b->numel += numel, b->count++, bytes += nbytes;
        if (b->numel > INT32_MAX / 2) {
            cg__error("cg_ddp_new", "a parameter of %lld elements is too large for one bucket",
                      (long long)numel);
            return -1;
        }
    }
    for (int j = 0; j < d->nb; j++) {
        cg__bucket *b = &d->b[j];
        b->padded = (b->numel + d->world - 1) / d->world * d->world;
        b->pending = b->count;
        if (!(b->buf = calloc((size_t)b->padded, cg__esize(b->dtype)))) return -1;
    }
    return 0;
}

static void on_grad(cg_tensor *t, void *ctx);

static int alloc_arrays(cg_ddp *d, cg_params *p) {
    d->n = cg_params_count(p);
    size_t n = (size_t)(d->n ? d->n : 1);
    d->t = calloc(n, sizeof *d->t), d->ctx = calloc(n, sizeof *d->ctx);
    d->handle = calloc(n, sizeof *d->handle), d->bucket_of = calloc(n, sizeof *d->bucket_of);
    d->offset = calloc(n, sizeof *d->offset), d->ready = calloc(n, sizeof *d->ready);
    d->used = calloc(n, sizeof *d->used), d->order = calloc(n, sizeof *d->order);
    d->b = calloc(n, sizeof *d->b);
    if (!d->t || !d->ctx || !d->handle || !d->bucket_of || !d->offset || !d->ready || !d->used ||
        !d->order || !d->b)
        return -1;
    for (int i = 0; i < d->n; i++) {
        d->t[i] = cg_retain(cg_params_get(p, i, NULL));
        if (bucketed(d->t[i]) && !cg__is_contiguous(d->t[i])) {
            cg__error("cg_ddp_new", "parameter %d is not contiguous", i);
            return -1;
        }
    }
    return 0;
}

static int hook_all(cg_ddp *d) {
    for (int i = 0; i < d->n; i++) {
        if (d->bucket_of[i] < 0) continue;
        d->ctx[i] = (cg__ddp_hook){d, i};
        d->handle[i] = cg_register_post_accumulate_grad_hook(d->t[i], on_grad, &d->ctx[i]);
        if (d->handle[i] < 0) return d->handle[i] = 0, -1;
    }
    return 0;
}

cg_ddp *cg_ddp_new(cg_params *p, const cg_ddp_options *opts) {
    static const char *fn = "cg_ddp_new";
    if (!p) return NULL;
    cg_ddp_options o = opts ? *opts : (cg_ddp_options){0};
    if (o.flags & ~(CG_DDP_FIND_UNUSED | CG_DDP_ZERO1)) {
        cg__error(fn, "unknown flags 0x%x", (unsigned)o.flags);
        return NULL;
    }
    if (cg_dist_broadcast_params(p) < 0) return NULL;
    cg_ddp *d = calloc(1, sizeof *d);
    if (!d) return cg__oom(fn);
    *d =
        (cg_ddp){.flags = o.flags, .world = cg__comm_size(), .rank = cg__comm_rank(), .sync = true};
    size_t cap = o.bucket_cap_bytes ? o.bucket_cap_bytes : 25 * MIB;
    size_t first = o.first_bucket_bytes ? o.first_bucket_bytes : MIB;
    if (alloc_arrays(d, p) < 0 || plan_buckets(d, first < cap ? first : cap, cap) < 0 ||
        hook_all(d) < 0 || ((d->flags & CG_DDP_ZERO1) && cg__zero_setup(d) < 0)) {
        if (!cg_last_error()) cg__oom(fn);
        cg_ddp_free(d);
        return NULL;
    }
    return d;
}

void cg_ddp_free(cg_ddp *d) {
    if (!d) return;
    for (int i = 0; i < d->n && d->t; i++) {
        if (d->handle && d->handle[i] > 0) cg_remove_hook(d->t[i], d->handle[i]);
        cg_release(d->t[i]);
    }
    for (int j = 0; j < d->nb; j++) {
        free(d->b[j].buf);
        cg_release(d->b[j].shard);
    }
    cg_optimizer_free(d->opt);
    free(d->t), free(d->ctx), free(d->handle), free(d->bucket_of), free(d->offset);
    free(d->ready), free(d->used), free(d->order), free(d->b);
    free(d);
}

bool cg_ddp_set_sync(cg_ddp *d, bool sync) {
    if (!d) return false;
    bool was = d->sync;
    d->sync = sync;
    return was;
}

int cg_ddp_num_buckets(const cg_ddp *d) { return d ? d->nb : -1; }

/* starts bucket j's reduction: an all-reduce, or with ZeRO-1 a
 * reduce-scatter into the shard's gradient */
static int launch(cg_ddp *d, cg__bucket *b) {
    int rc;
    if (d->flags & CG_DDP_ZERO1)
        rc = cg__comm_ireduce_scatter_sum(b->buf, cg__ptr(b->shard->grad), b->padded / d->world,
                                          b->dtype, &b->req);
    else
        rc = cg__comm_iallreduce_sum(b->buf, b->padded, b->dtype, &b->req);
    b->launched = true;
    d->stats.buckets++;
    d->stats.bytes += b->padded * (int64_t)cg__esize(b->dtype);
    return rc;
}

/* starts the ready buckets in order, stopping at the first one still waiting */
static int launch_ready(cg_ddp *d) {
    for (; d->next_launch < d->nb && d->b[d->next_launch].pending == 0; d->next_launch++)
        if (launch(d, &d->b[d->next_launch]) < 0) return -1;
    return 0;
}

/* the post-accumulate hook: parameter c->i's gradient into its bucket */
static void on_grad(cg_tensor *t, void *ctx) {
    cg__ddp_hook *c = ctx;
    cg_ddp *d = c->d;
    int i = c->i;
    if (!d->sync || d->error[0]) return;
    if (d->ready[i]) {
        snprintf(d->error, sizeof d->error,
                 "parameter %d received a gradient twice before cg_ddp_finish (two backwards "
                 "need cg_ddp_set_sync(d, false) on the first, as no_sync)",
                 i);
        return;
    }
    cg__bucket *b = &d->b[d->bucket_of[i]];
    size_t es = cg__esize(b->dtype);
    cg__ddp_copy_out(t->grad, 0, cg__numel(t->ndim, t->shape),
                     (char *)b->buf + (size_t)d->offset[i] * es);
    d->ready[i] = true, d->used[i] = 1;
    if (--b->pending == 0 && launch_ready(d) < 0)
        snprintf(d->error, sizeof d->error, "%s", cg_last_error());
    for (int j = 0; j < d->next_launch; j++) cg__comm_poke(&d->b[j].req); /* progress */
}

/* parameters no gradient reached on this rank contribute zeros */
static int fill_unused(cg_ddp *d) {
    for (int i = 0; i < d->n; i++) {
        if (d->bucket_of[i] < 0 || d->ready[i]) continue;
        cg__bucket *b = &d->b[d->bucket_of[i]];
        size_t es = cg__esize(b->dtype);
        memset((char *)b->buf + (size_t)d->offset[i] * es, 0,
               (size_t)cg__numel(d->t[i]->ndim, d->t[i]->shape) * es);
        d->ready[i] = true, d->used[i] = 0;
        b->pending--;
    }
    return launch_ready(d);
}

/* buf[0, n) /= w: the sum of the ranks' gradients to their mean */
static void divide(void *buf, cg_dtype dt, int64_t n, int w) {
    if (dt == CG_FLOAT32)
        for (float *p = buf, *e = p + n; p < e; p++) *p /= (float)w;
    else
        for (double *p = buf, *e = p + n; p < e; p++) *p /= (double)w;
}

/* the mean of bucket b into its parameters' .grad (None made zeros); a
 * parameter no rank used keeps None with CG_DDP_FIND_UNUSED */
static int write_back(cg_ddp *d, cg__bucket *b) {
    divide(b->buf, b->dtype, b->numel, d->world);
    for (int k = 0; k < b->count; k++) {
        int i = d->order[b->first + k];
        cg_tensor *t = d->t[i];
        if ((d->flags & CG_DDP_FIND_UNUSED) && !d->used[i]) continue;
        if (!t->grad) {
            cg_tensor *g = cg__tensor_new(t->dtype, t->ndim, t->shape);
            if (!g) return -1;
            t->grad = cg_retain(g);
        }
        size_t es = cg__esize(b->dtype);
        cg__ddp_copy_in(t->grad, 0, cg__numel(t->ndim, t->shape),
                        (char *)b->buf + (size_t)d->offset[i] * es);
    }
    return 0;
}

/* ready for the next backward */
static void reset(cg_ddp *d) {
    for (int i = 0; i < d->n; i++) d->ready[i] = false;
    for (int j = 0; j < d->nb; j++) d->b[j].pending = d->b[j].count, d->b[j].launched = false;
    d->next_launch = 0;
    d->error[0] = '\0';
}

int cg_ddp_finish(cg_ddp *d) {
    static const char *fn = "cg_ddp_finish";
    if (!d) return -1;
    if (!d->sync) return 0; /* no_sync: the gradients stay local */
    double t0 = cg__now_s();
    int rc = fill_unused(d);
    for (int j = 0; j < d->nb && rc == 0; j++) rc = cg__comm_wait(&d->b[j].req);
    if (rc == 0 && (d->flags & CG_DDP_FIND_UNUSED))
        rc = cg__comm_allreduce(d->used, d->n, CG_INT64, CG__COMM_MAX);
    d->stats.wait_s += cg__now_s() - t0;
    for (int j = 0; j < d->nb && rc == 0; j++) {
        cg__bucket *b = &d->b[j];
        if (d->flags & CG_DDP_ZERO1) {
            cg_tensor *g = b->shard->grad;
            divide(cg__ptr(g), g->dtype, cg__numel(g->ndim, g->shape), d->world);
        } else {
            rc = write_back(d, b);
        }
    }
    if (rc == 0 && d->error[0]) { /* after the collectives, which the other ranks wait in */
        cg__error(fn, "%s", d->error);
        rc = -1;
    }
    reset(d);
    d->stats.steps++;
    return rc;
}
