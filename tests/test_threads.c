/* Threads: the global generator (rand, randn, dropout, text batches) drawn
 * from several threads at once gives each op a run of the one sequence, and
 * backward passes on separate graphs run in 4 threads at once. make test's
 * test-tsan phase runs this under ThreadSanitizer. */
#include "test.h"

#include <pthread.h>

enum { THREADS = 4, CALLS = 50, LEN = 64 };

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double values[CALLS * LEN]; /* this thread's draws */
    const cg_text_dataset *ds;
    int failed;
} draw_job;

/* CALLS x (rand of LEN), with randn, dropout and batches between them */
static void *draw(void *arg) {
    draw_job *j = arg;
    for (int c = 0; c < CALLS && !j->failed; c++) {
        cg_scope_begin();
        cg_tensor *u = cg_rand(1, (int64_t[]){LEN}, CG_FLOAT64), *x, *y;
        if (!u)
            j->failed = 1;
        else
            memcpy(j->values + c * LEN, cg_data_ptr(u), sizeof(double) * LEN);
        cg_tensor *d = cg_dropout(cg_randn(1, (int64_t[]){LEN}, CG_FLOAT32), 0.5, true);
        if (!d || cg_text_dataset_batch(j->ds, CG_SPLIT_TRAIN, 2, 8, &x, &y) < 0) j->failed = 1;
        cg_scope_end();
    }
    cg_root_scope_drain(); /* this thread's scope and caches */
    return NULL;
}

TEST(one_generator_shared_by_threads) {
    static const char text[] = "a small text for batches, long enough for a block of eight.";
    cg_text_dataset *ds = cg_text_dataset_from_text(text, sizeof text - 1);
    ASSERT_NOT_NULL(ds);
    static draw_job jobs[THREADS];
    pthread_t th[THREADS];
    cg_manual_seed(99);
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (draw_job){.ds = ds};
        ASSERT_EQ(pthread_create(&th[i], NULL, draw, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    cg_text_dataset_free(ds);
    /* the rand draws of all threads are rand draws of the one sequence:
     * each call a run of LEN values, as one thread drawing them would */
    static double all[THREADS * CALLS * LEN];
    for (int i = 0; i < THREADS; i++) {
        ASSERT_EQ(jobs[i].failed, 0);
        memcpy(all + i * CALLS * LEN, jobs[i].values, sizeof jobs[i].values);
    }
    int unique = 1;
    qsort(all, THREADS * CALLS * LEN, sizeof *all, cmp_double);
    for (int i = 1; i < THREADS * CALLS * LEN; i++) unique &= all[i] != all[i - 1];
    ASSERT_EQ(unique, 1); /* no draw handed out twice */
}

typedef struct {
    int seed;
    double grad_sum;
    int failed;
} graph_job;

/* a small MLP's loss and the sum of its first layer's gradient */
static int mlp_grad(int seed, double *sum) {
    cg_scope_begin();
    double w[12], x[8];
    for (int i = 0; i < 12; i++) w[i] = 0.1 * ((i * 7 + seed) % 11) - 0.5;
    for (int i = 0; i < 8; i++) x[i] = 0.25 * ((i * 3 + seed) % 5) - 0.5;
    cg_tensor *W = cg_requires_grad_(cg_from_data(w, 2, (int64_t[]){4, 3}, CG_FLOAT64), true);
    cg_tensor *X = cg_from_data(x, 2, (int64_t[]){2, 4}, CG_FLOAT64);
    cg_tensor *loss = cg_sum(
        cg_tanh(cg_matmul(cg_gelu(cg_matmul(X, W), false), cg_transpose(W, 0, 1))));
    int rc = loss && cg_backward(loss, NULL, false) == 0 ? 0 : -1;
    if (rc == 0) *sum = cg_item(cg_sum(cg_grad(W)));
    cg_scope_end();
    return rc;
}

static void *backward_job(void *arg) {
    graph_job *j = arg;
    for (int r = 0; r < 20 && !j->failed; r++) {
        double s;
        if (mlp_grad(j->seed, &s) < 0 || (r && s != j->grad_sum)) j->failed = 1;
        j->grad_sum = s;
    }
    cg_root_scope_drain();
    return NULL;
}

TEST(backward_on_separate_graphs_in_4_threads) {
    double want[THREADS];
    for (int i = 0; i < THREADS; i++) ASSERT_EQ(mlp_grad(i, &want[i]), 0);
    graph_job jobs[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (graph_job){.seed = i};
        ASSERT_EQ(pthread_create(&th[i], NULL, backward_job, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        ASSERT_EQ(jobs[i].failed, 0);
        ASSERT_EQ(jobs[i].grad_sum, want[i]);
    }
}

TEST_MAIN(one_generator_shared_by_threads, backward_on_separate_graphs_in_4_threads)
