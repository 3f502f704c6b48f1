/* Benchmark: data-parallel training over MPI at 2 ranks on one machine
 * (loopback / shared memory), chargpt's GPT (4 layers, 4 heads, 128 wide,
 * block 64, vocabulary 65), 4 sequences per rank, AdamW.
 *
 *   ddp_compute         one rank's step alone (no communication)
 *   ddp_step            a DDP step, buckets as cg_ddp's defaults (1 MiB
 *                       first, then 25 MiB)
 *   ddp_step_small      buckets of 256 KiB: more, earlier all-reduces
 *   ddp_step_one        one all-reduce of every gradient after backward
 *   ddp_step_zero1      a ZeRO-1 step (reduce-scatter, AdamW on this rank's
 *                       shard, all-gather); ddp_optim_state(_zero1): AdamW's
 *                       state on one rank, in kB
 *   ddp_allreduce       a blocking all-reduce of all the gradients, alone
 *   ddp_exposed_*       the communication left after backward: from the
 *                       end of the last rank's backward to the averaged
 *                       gradients (the best step; one machine, one clock)
 *   ddp_hidden_*        the share of the communication that buckets hide
 *                       behind backward, against one all-reduce after it:
 *                       1 - exposed / exposed_one
 *   allreduce_bw_S      cg_dist_all_reduce's bandwidth on S bytes (float32),
 *                       beside "openmpi allreduce_bw_S", a bare MPI_Allreduce
 *                       loop on the same sizes (bytes / time)
 *
 * Run by hand: mpirun -np 2 build/bench/ddp_step. Started without a
 * launcher (bench/run.sh), it runs itself under mpiexec -np 2. The twin
 * bench/ddp_step.py is torch's DDP over gloo, 2 processes. */
#include "gpt_bench.h"

#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<mpi.h>)
#include <mpi.h>
#define HAVE_MPI_H 1
#endif
#endif

enum { PER_RANK = 4, STEPS = 30 };

/* a DDP training step, with the moments each call's backward ended and its
 * gradients were averaged (CLOCK_MONOTONIC: one clock for all the ranks of
 * one machine) */
enum { CALLS = STEPS + 1 }; /* bench_run's warm-up, then STEPS */
typedef struct {
    gpt_bench g;
    cg_ddp *ddp;
    bool zero; /* ZeRO-1: cg_ddp_step, no exposure timed */
    int calls;
    double state_bytes; /* AdamW's state on this rank */
    double bwd_end[CALLS], synced[CALLS];
} ddp_bench;

static int ddp_step(void *p) {
    ddp_bench *b = p;
    cg_scope_begin();
    cg_ddp_zero_grad(b->ddp);
    cg_tensor *loss = cg_gpt_loss(b->g.model, b->g.x, b->g.y);
    int rc = loss ? cg_backward(loss, NULL, false) : -1;
    if (b->zero) { /* reduce-scatter, AdamW on the shard, all-gather */
        rc = rc == 0 ? cg_ddp_step(b->ddp, 0, NULL) : -1;
    } else {
        double t = now_s();
        rc = rc == 0 ? cg_ddp_finish(b->ddp) : -1;
        if (b->calls < CALLS) b->bwd_end[b->calls] = t, b->synced[b->calls++] = now_s();
        rc = rc == 0 ? cg_optimizer_step(cg_ddp_optimizer(b->ddp)) : -1;
    }
    cg_scope_end();
    return rc;
}

/* the communication left exposed: from the last rank's end of backward to
 * the averaged gradients, the least over the timed steps (the step the
 * other processes of this machine disturbed least, as bench_run's best) */
static double exposed_us(ddp_bench *b) {
    double e[CALLS - 1]; /* the latest end of backward over the ranks, then the exposed time */
    cg_scope_begin();
    for (int r = 0; r < cg_dist_world_size(); r++) { /* each rank's ends in turn */
        cg_tensor *t = cg_from_data(b->bwd_end, CG_SHAPE(CALLS), CG_FLOAT64);
        cg_dist_broadcast(t, r);
        for (int k = 1; k < CALLS; k++) {
            double v = cg_get(t, (int64_t[]){k});
            if (r == 0 || v > e[k - 1]) e[k - 1] = v;
        }
    }
    cg_scope_end();
    for (int k = 1; k < CALLS; k++) e[k - 1] = (b->synced[k] - e[k - 1]) * 1e6;
    qsort(e, CALLS - 1, sizeof e[0], cmp_double);
    return e[0] > 0 ? e[0] : 0;
}

/* the median time of STEPS DDP steps with options o (every rank runs the
 * same number: bench_run's short form); the exposed communication per step
 * (without ZeRO-1) and AdamW's state on this rank */
static double time_ddp(ddp_bench *b, cg_ddp_options o, double *exposed) {
    b->ddp = cg_ddp_new(cg_gpt_params(b->g.model), &o);
    if (!b->ddp || cg_ddp_adamw(b->ddp, 1e-3, 0.9, 0.99, 1e-8, 0.1) != 0) return -1;
    cg_dist_barrier();
    b->calls = 0;
    b->zero = o.flags & CG_DDP_ZERO1;
    double us = bench_run(ddp_step, b, STEPS);
    *exposed = b->zero ? 0 : exposed_us(b);
    b->state_bytes = cg_ddp_get_stats(b->ddp).optim_state_bytes;
    cg_ddp_free(b->ddp);
    b->ddp = NULL;
    return us;
}

/* the best of reps timings of f on a float32 buffer of n elements, in us */
static double best_us(int (*f)(cg_tensor *), cg_tensor *t, int reps) {
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        cg_dist_barrier();
        double t0 = now_s();
        if (f(t) != 0) return -1;
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    return best * 1e6;
}

static int cg_sum_all(cg_tensor *t) { return cg_dist_all_reduce(t, CG_REDUCE_SUM); }

#ifdef HAVE_MPI_H
static int mpi_sum_all(cg_tensor *t) {
    return MPI_Allreduce(MPI_IN_PLACE, cg_data_ptr(t), (int)cg_numel(t), MPI_FLOAT, MPI_SUM,
                         MPI_COMM_WORLD) == MPI_SUCCESS
               ? 0
               : -1;
}
#endif

static void bandwidth(bool rank0) {
    static const int64_t sizes[] = {64 << 10, 1 << 20, 4 << 20, 16 << 20}; /* bytes */
    static const char *names[] = {"64KiB", "1MiB", "4MiB", "16MiB"};
    for (int i = 0; i < 4; i++) {
        cg_scope_begin();
        cg_tensor *t = cg_ones(CG_SHAPE(sizes[i] / 4), CG_FLOAT32);
        double us = best_us(cg_sum_all, t, 10);
        if (rank0)
            printf("cgrad allreduce_bw_%s: %.3f GB/s\n", names[i], (double)sizes[i] / us * 1e-3);
#ifdef HAVE_MPI_H
        double mus = best_us(mpi_sum_all, t, 10);
        if (rank0)
            printf("openmpi allreduce_bw_%s: %.3f GB/s\n", names[i], (double)sizes[i] / mus * 1e-3);
#endif
        cg_scope_end();
    }
}

/* not started by a launcher: again under mpiexec -np 2 (loopback only) */
static void relaunch(char **argv) {
    char *args[] = {"mpiexec",
                    "--allow-run-as-root",
                    "--oversubscribe",
                    "--mca",
                    "btl",
                    "self,vader,tcp",
                    "--mca",
                    "btl_tcp_if_include",
                    "lo",
                    "--mca",
                    "oob_tcp_if_include",
                    "lo",
                    "-np",
                    "2",
                    argv[0],
                    NULL};
    execvp(args[0], args);
    perror("ddp_step: mpiexec");
    exit(1);
}

int main(int argc, char **argv) {
    (void)argc;
    if (!cg_dist_launched() && cg_dist_has_mpi()) relaunch(argv);
    if (cg_dist_init(&argc, &argv) != 0) goto error;
    bool rank0 = cg_dist_rank() == 0;
    cg_set_num_threads(1);
    cg_gpt_config cfg = {.vocab_size = 65,
                         .block_size = 64,
                         .n_embd = 128,
                         .n_layer = 4,
                         .n_head = 4};
    ddp_bench b = {0};
    if (gpt_bench_init(&b.g, cfg, PER_RANK) < 0) goto error;
    cg_dist_barrier();
    double compute = bench_run(gpt_bench_step, &b.g, STEPS), w_def, w_small, w_one;
    const size_t small_b = 256 << 10, all = (size_t)1 << 30;
    double def = time_ddp(&b, (cg_ddp_options){0}, &w_def);
    double small = time_ddp(&b, (cg_ddp_options){small_b, small_b, 0}, &w_small);
    double one = time_ddp(&b, (cg_ddp_options){all, all, 0}, &w_one), state = b.state_bytes, w0;
    double zero = time_ddp(&b, (cg_ddp_options){.flags = CG_DDP_ZERO1}, &w0),
           zero_state = b.state_bytes;
    int64_t n = cg_params_numel(cg_gpt_params(b.g.model));
    cg_scope_begin();
    double ar = best_us(cg_sum_all, cg_zeros(CG_SHAPE(n), CG_FLOAT32), 10);
    cg_scope_end();
    if (compute < 0 || def < 0 || small < 0 || one < 0 || zero < 0 || ar < 0) goto error;
    if (rank0) {
        printf("ddp_step: %d ranks, %lld parameters (%.2f MB of gradients), %d sequences of %lld "
               "per rank\n",
               cg_dist_world_size(), (long long)n, (double)n * 4e-6, PER_RANK,
               (long long)cfg.block_size);
        printf("cgrad ddp_compute: %.0f us/iter\n", compute);
        printf("cgrad ddp_step: %.0f us/iter\n", def);
        printf("cgrad ddp_step_small: %.0f us/iter\n", small);
        printf("cgrad ddp_step_one: %.0f us/iter\n", one);
        printf("cgrad ddp_step_zero1: %.0f us/iter\n", zero);
        printf("cgrad ddp_optim_state: %.0f kB\n", state / 1024);
        printf("cgrad ddp_optim_state_zero1: %.0f kB\n", zero_state / 1024);
        printf("cgrad ddp_allreduce: %.0f us/iter\n", ar);
        printf("cgrad ddp_exposed_default: %.0f us/iter\n", w_def);
        printf("cgrad ddp_exposed_small: %.0f us/iter\n", w_small);
        printf("cgrad ddp_exposed_one: %.0f us/iter\n", w_one);
        printf("cgrad ddp_hidden_default: %.2f frac\n", w_def < w_one ? 1 - w_def / w_one : 0);
        printf("cgrad ddp_hidden_small: %.2f frac\n", w_small < w_one ? 1 - w_small / w_one : 0);
    }
    bandwidth(rank0);
    gpt_bench_free(&b.g);
    cg_dist_finalize();
    return 0;
error:
    fprintf(stderr, "ddp_step: %s\n", cg_last_error() ? cg_last_error() : "error");
    return 1;
}
