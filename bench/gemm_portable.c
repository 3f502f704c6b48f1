/* Benchmark: the kernel layer's portable SGEMM (src/kernels/kern_gemm.h) at
 * every dispatch level this CPU runs, against OpenBLAS's cblas_sgemm in the
 * same run, one thread each, on the GPT's shapes: 2048 tokens, widths 128 to
 * 512, in the three forms the model uses (NN: dX = G W, NT: Y = X W^T, TN:
 * dW = G^T X). OpenBLAS is loaded with dlopen, so that this program builds
 * and runs without it (its column then reads "-"). Prints GFLOPS per shape
 * and the largest difference between the two results. */
#include "bench.h"

#include "../src/kernels/kernels.h"

#include <dlfcn.h>
#include <string.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 }; /* cblas.h's values */
typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);
static sgemm_fn blas_sgemm;

/* cblas_sgemm from libopenblas, with its pool at one thread (or NULL) */
static void load_openblas(void) {
    void *h = dlopen("libopenblas.so.0", RTLD_NOW);
    if (!h) h = dlopen("libopenblas.so", RTLD_NOW);
    if (!h) return;
    void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    if (set_threads) set_threads(1);
    blas_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
}

typedef struct {
    const char *form; /* "NN", "NT", "TN" */
    int trans;        /* CG__GEMM_TA | CG__GEMM_TB */
    int64_t m, n, k;
} shape;

typedef struct {
    const shape *s;
    const cg__kernels *kern; /* NULL: OpenBLAS */
    const float *a, *b;      /* op(A) (m, k), op(B) (k, n), stored as trans says */
    float *c;                /* (m, n) */
} job;

static int run_job(void *p) {
    const job *j = p;
    const shape *s = j->s;
    int64_t lda = s->trans & CG__GEMM_TA ? s->m : s->k, ldb = s->trans & CG__GEMM_TB ? s->k : s->n;
    if (j->kern)
        j->kern->gemm_f32(s->trans, s->m, s->n, s->k, 1.0f, j->a, lda, j->b, ldb, 0.0f, j->c, s->n);
    else
        blas_sgemm(ROW_MAJOR, s->trans & CG__GEMM_TA ? TRANS : NO_TRANS,
                   s->trans & CG__GEMM_TB ? TRANS : NO_TRANS, (int)s->m, (int)s->n, (int)s->k, 1.0f,
                   j->a, (int)lda, j->b, (int)ldb, 0.0f, j->c, (int)s->n);
    return 0;
}

/* GFLOPS of one kernel on one shape (result in j->c) */
static double gflops(job *j) {
    double us = bench_run(run_job, j, bench_iters(50));
    return 2.0 * (double)(j->s->m * j->s->n * j->s->k) / (us * 1e3);
}

static float *rand_buf(int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

/* one table row: every level, then OpenBLAS and the largest difference */
static void bench_shape(const shape *s) {
    float *a = rand_buf(s->m * s->k), *b = rand_buf(s->k * s->n);
    float *c = malloc(sizeof(float) * (size_t)(s->m * s->n)); /* (m, n) */
    float *ref = malloc(sizeof(float) * (size_t)(s->m * s->n));
    printf("%-3s %5lld %5lld %5lld", s->form, (long long)s->m, (long long)s->n, (long long)s->k);
    for (int l = 0; l < CG__CPU_NLEVELS; l++) {
        job j = {s, cg__kern_at((cg__cpu_level)l), a, b, c};
        if (j.kern) printf(" %8.1f", gflops(&j));
    }
    double diff = 0;
    if (blas_sgemm) {
        job j = {s, NULL, a, b, ref};
        printf(" %8.1f", gflops(&j));
        for (int64_t i = 0; i < s->m * s->n; i++)
            diff = fmax(diff, fabs((double)c[i] - (double)ref[i]));
        printf("  %.1e", diff);
    } else
        printf(" %8s  -", "-");
    printf("\n");
    fflush(stdout);
    free(a), free(b), free(c), free(ref);
}

int main(void) {
    load_openblas();
    static const int64_t widths[][2] = {{128, 128}, {384, 128}, {512, 128}, {128, 512}};
    printf("GFLOPS, one thread (cgrad's kernel per level; OpenBLAS); max |diff| vs OpenBLAS\n");
    printf("%-3s %5s %5s %5s", "op", "m", "n", "k");
    for (int l = 0; l < CG__CPU_NLEVELS; l++)
        if (cg__kern_at((cg__cpu_level)l)) printf(" %8s", cg__cpu_level_name((cg__cpu_level)l));
    printf(" %8s  %s\n", "openblas", "diff");
    for (int f = 0; f < 3; f++)
        for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
            int64_t n = widths[w][0], k = widths[w][1];
            shape s = f == 0   ? (shape){"NN", 0, 2048, n, k}
                      : f == 1 ? (shape){"NT", CG__GEMM_TB, 2048, n, k}
                               : (shape){"TN", CG__GEMM_TA, n, k, 2048};
            bench_shape(&s);
        }
    return 0;
}
