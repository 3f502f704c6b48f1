/* DistributedDataParallel's state, shared by ddp.c (buckets, hooks, the
 * all-reduce) and zero.c (ZeRO-1's sharded update). */
#ifndef CG_DIST_DDP_H
#define CG_DIST_DDP_H

#include "../core/internal.h"
#include "comm.h"

typedef struct cg__bucket {
    cg_dtype dtype;
    int first, count;      /* its parameters: d->order[first, first + count) */
    int64_t numel, padded; /* padded: numel rounded up to a multiple of the world */
    void *buf;             /* (padded) the gradients, flat; ZeRO-1: then the all-gather */
    int pending;           /* parameters whose gradient has not arrived */
    bool launched;
    cg__req req;
    cg_tensor *shard; /* ZeRO-1: (padded / world) leaf, this rank's part of the parameters */
} cg__bucket;

typedef struct cg__ddp_hook {
    cg_ddp *d;
    int i; /* the parameter */
} cg__ddp_hook;

struct cg_ddp {
    int n;               /* parameters */
    cg_tensor **t;       /* (n) retained */
    cg__ddp_hook *ctx;   /* (n) */
    int *handle;         /* (n) hook handles, 0: none */
    int *bucket_of;      /* (n) -1: not a floating leaf that requires grad */
    int64_t *offset;     /* (n) in its bucket, in elements */
    bool *ready;         /* (n) the gradient arrived in this backward */
    int64_t *used;       /* (n) 1 if it arrived (all-reduced with CG_DDP_FIND_UNUSED) */
    int *order;          /* (n) parameter indices, bucket by bucket */
    cg__bucket *b;       /* (nb) */
    int nb, next_launch; /* buckets start in order: the same on every rank */
    int flags, world, rank;
    bool sync;
    char error[256]; /* what a hook found wrong, reported by cg_ddp_finish */
    cg_optimizer *opt;
    cg_ddp_stats stats;
};

/* ZeRO-1 (zero.c): the shard tensors made at setup; the step after the
 * reduce-scatter (clip, update the shard, all-gather) */
int cg__zero_setup(cg_ddp *d);
int cg__zero_step(cg_ddp *d, double max_norm, double *norm);
/* parameter i's elements [from, from + len) <-> the flat buffer at dst */
void cg__ddp_copy_out(const cg_tensor *t, int64_t from, int64_t len, void *dst);
void cg__ddp_copy_in(cg_tensor *t, int64_t from, int64_t len, const void *src);
double cg__now_s(void);

#endif
