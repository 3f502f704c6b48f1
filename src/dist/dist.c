/* torch.distributed's basics over MPI: the process group, all-reduce,
 * broadcast, barrier, and ending the whole job from one rank. */
#include "../core/internal.h"
#include "comm.h"

#include <stdarg.h>

int cg_dist_init(int *argc, char ***argv) { return cg__comm_init(argc, argv); }
int cg_dist_finalize(void) { return cg__comm_finalize(); }
int cg_dist_rank(void) { return cg__comm_rank(); }
int cg_dist_world_size(void) { return cg__comm_size(); }
int cg_dist_barrier(void) { return cg__comm_barrier(); }

int cg_dist_launched(void) { return cg__comm_launched(NULL); }

bool cg_dist_has_mpi(void) {
#ifdef CG_HAVE_MPI
    return true;
#else
    return false;
#endif
}

/* t can travel as a raw buffer: contiguous, and float or int64 */
static int check_buffer(const char *fn, const cg_tensor *t) {
    if (!t) return -1;
    if (!cg__is_contiguous(t)) {
        cg__error(fn, "expected a contiguous tensor");
        return -1;
    }
    if (t->dtype == CG_BOOL) {
        cg__error(fn, "torch.bool tensors are not supported");
        return -1;
    }
    return 0;
}

int cg_dist_all_reduce(cg_tensor *t, cg_reduce_op op) {
    static const char *fn = "cg_dist_all_reduce";
    if (check_buffer(fn, t) < 0) return -1;
    if (op != CG_REDUCE_SUM && op != CG_REDUCE_MEAN) {
        cg__error(fn, "unknown reduce op %d", (int)op);
        return -1;
    }
    if (op == CG_REDUCE_MEAN && t->dtype == CG_INT64) {
        cg__error(fn, "the mean of a torch.int64 tensor is not supported");
        return -1;
    }
    int64_t n = cg__numel(t->ndim, t->shape);
    void *p = cg__ptr(t);
    if (cg__comm_allreduce(p, n, t->dtype, CG__COMM_SUM) < 0) return -1;
    if (op == CG_REDUCE_MEAN) {
        double w = cg__comm_size();
        for (int64_t i = 0; i < n; i++) cg__store(p, t->dtype, i, cg__load(p, t->dtype, i) / w);
    }
    cg__bump_version(t);
    return 0;
}

int cg_dist_broadcast(cg_tensor *t, int root) {
    static const char *fn = "cg_dist_broadcast";
    if (check_buffer(fn, t) < 0) return -1;
    if (root < 0 || root >= cg__comm_size()) {
        cg__error(fn, "root %d is not a rank of a world of %d", root, cg__comm_size());
        return -1;
    }
    if (cg__comm_bcast(cg__ptr(t), cg__numel(t->ndim, t->shape), t->dtype, root) < 0) return -1;
    cg__bump_version(t);
    return 0;
}

/* a fingerprint of p's names, shapes and dtypes, the same on every rank
 * when the models match (FNV-1a) */
static int64_t layout_hash(const cg_params *p) {
    uint64_t h = 14695981039346656037u;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211u)
    for (int i = 0; i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        for (const char *s = name; *s; s++) MIX((unsigned char)*s);
        MIX(t->dtype);
        for (int d = 0; d < t->ndim; d++) MIX(t->shape[d]);
    }
#undef MIX
    return (int64_t)(h >> 1);
}

int cg_dist_broadcast_params(cg_params *p) {
    static const char *fn = "cg_dist_broadcast_params";
    if (!p) return -1;
    int64_t mine = layout_hash(p), root = mine;
    if (cg__comm_bcast(&root, 1, CG_INT64, 0) < 0) return -1;
    int64_t differs = root != mine;
    if (cg__comm_allreduce(&differs, 1, CG_INT64, CG__COMM_SUM) < 0) return -1;
    if (differs) {
        cg__error(fn,
                  "the parameters (names, shapes, dtypes) differ between ranks (%lld of %d "
                  "differ from rank 0's)",
                  (long long)differs, cg__comm_size());
        return -1;
    }
    for (int i = 0; i < cg_params_count(p); i++) {
        cg_tensor *t = cg_params_get(p, i, NULL);
        if (t->dtype != CG_BOOL && cg_dist_broadcast(t, 0) < 0) return -1;
    }
    return 0;
}

_Noreturn void cg_dist_abort(int code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt ? fmt : "aborted", ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "rank %d of %d: %s\n", cg__comm_rank(), cg__comm_size(), msg);
    cg__comm_abort(code ? code : 1);
}
