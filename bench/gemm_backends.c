/* Benchmark: the candidate GEMM backends for cgrad's matmul, side by side in
 * one run, on the GPT's own sgemm shapes: 2048 tokens (batch x block) through
 * each linear layer of width C (attention qkv C -> 3C, attention out C -> C,
 * MLP C -> 4C and 4C -> C, the tied LM head C -> 65), in the three forms
 * that forward and backward use:
 *     NT  Y  = X W^T    (2048, out, in)    forward
 *     NN  dX = G W      (2048, in, out)    backward, input gradient
 *     TN  dW = G^T X    (out, in, 2048)    backward, weight gradient
 * (as (m, n, k), row-major). The backends:
 *     openblas  cblas_sgemm, the OpenBLAS cgrad links (else libopenblas.so.0)
 *     blis      bli_sgemm from libblis.so.4
 *     onednn    dnnl_sgemm from libdnnl.so.2
 *     libxsmm   libxsmm_sgemm_omp (libxsmmext), linked in where CMake found it
 *     openblas1 (at 2 threads or more) OpenBLAS's, one thread per block of C,
 *               split as cgrad's: its kernels without its own threading
 *     cgrad     the kernel layer's GEMM (src/kernels/kern_gemm.h) at the
 *               level this CPU runs, split over the OpenMP team by blocks of
 *               C as matmul.c does without BLAS
 * The shared libraries are loaded with dlopen: a missing one is skipped.
 * Threads: OMP_NUM_THREADS (bench/run.sh sets it), applied to every backend.
 * Timing: per shape, a warm-up call of each backend (and a check of its
 * result against the first backend's), then rounds in which every backend,
 * in rotating order, runs a batch of calls (>= 2 ms): BENCH_ITERS (9)
 * rounds, or up to 41 while they take under 0.25 s per backend. Each
 * backend's time is the median of its rounds (the fastest round, beside it
 * in the table, shows how much a busy machine took).
 *
 * Usage: gemm_backends [--table]
 *   --table  also prints the header (library versions) and one row per shape:
 *            GFLOPS per backend, from the median and the fastest round
 * Env: GEMM_WIDTHS ("128 384": chargpt's and gpt_medium_step's C) the widths;
 *      GEMM_BACKENDS (all) the backends to run, by name ("openblas,cgrad").
 * Prints per backend (names with _Nt at N threads, N > 1, as bench/run.sh)
 *     <backend> gemm_gflops: X GFLOP/s    total flops / total median time
 *     RATIO gemm_<backend> R              its rate / OpenBLAS's (> 1: faster)
 */
#include "bench.h"

#include "../src/kernels/kernels.h"

#include <dlfcn.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef CG_BENCH_LIBXSMM
#include <libxsmm.h>
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CG_BENCH_ASAN 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define CG_BENCH_ASAN 1
#endif
#ifdef CG_BENCH_ASAN
/* LeakSanitizer's tracking of dynamic TLS crashes at exit on the OpenMP
 * workers of the libraries loaded with dlopen (BLIS, oneDNN): off here */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "intercept_tls_get_addr=0"; }
#endif

enum { TOKENS = 2048, VOCAB = 65, MAX_BACKENDS = 6, MAX_WIDTHS = 16 };
enum { MIN_BATCH_US = 2000, ROUND_BUDGET_US = 250000, MAX_ROUNDS = 41 };

/* one GEMM: C (m, n) = op(A) (m, k) op(B) (k, n), all row-major */
typedef struct {
    const char *layer, *form;
    int trans; /* CG__GEMM_TA | CG__GEMM_TB */
    int64_t m, n, k;
    int64_t lda, ldb, ldc; /* A (m, k) or (k, m) with TA, B (k, n) or (n, k) with TB */
} shape;

/* a GEMM on whole, contiguous operands */
static shape whole(const char *layer, const char *form, int trans, int64_t m, int64_t n,
                   int64_t k) {
    return (shape){layer,
                   form,
                   trans,
                   m,
                   n,
                   k,
                   trans & CG__GEMM_TA ? m : k,
                   trans & CG__GEMM_TB ? k : n,
                   n};
}

typedef void (*gemm_fn)(const shape *s, const float *a, const float *b, float *c);
typedef struct {
    const char *name;
    gemm_fn run;
} backend;

/* --- the backends ------------------------------------------------------- */

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 }; /* cblas.h */
static void (*cblas_sgemm_p)(int order, int ta, int tb, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c,
                             int ldc);
static void (*openblas_threads_p)(int n);
static char *(*openblas_config_p)(void), *(*openblas_core_p)(void);

static void openblas_gemm(const shape *s, const float *a, const float *b, float *c) {
    cblas_sgemm_p(CBLAS_ROW_MAJOR, s->trans & CG__GEMM_TA ? CBLAS_TRANS : CBLAS_NO_TRANS,
                  s->trans & CG__GEMM_TB ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)s->m, (int)s->n,
                  (int)s->k, 1.0f, a, (int)s->lda, b, (int)s->ldb, 0.0f, c, (int)s->ldc);
}

enum { BLIS_NO_TRANS = 0, BLIS_TRANS = 1 << 3 }; /* blis.h's trans_t */
static void (*bli_sgemm_p)(int ta, int tb, int64_t m, int64_t n, int64_t k, float *alpha,
                           const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb,
                           int64_t csb, float *beta, float *c, int64_t rsc, int64_t csc);
static void (*blis_threads_p)(int64_t n);
static const char *(*blis_version_p)(void), *(*blis_arch_p)(int id);
static int (*blis_arch_id_p)(void);

/* strides name the stored matrices; trans says op() transposes them */
static void blis_gemm(const shape *s, const float *a, const float *b, float *c) {
    float one = 1.0f, zero = 0.0f;
    bli_sgemm_p(s->trans & CG__GEMM_TA ? BLIS_TRANS : BLIS_NO_TRANS,
                s->trans & CG__GEMM_TB ? BLIS_TRANS : BLIS_NO_TRANS, s->m, s->n, s->k, &one, a,
                s->lda, 1, b, s->ldb, 1, &zero, c, s->ldc, 1);
}

typedef struct {
    int major, minor, patch;
    const char *hash;
    unsigned cpu_runtime; /* 1 sequential, 2 OpenMP, 4 TBB, 8 threadpool */
} dnnl_version_t;         /* the leading fields of dnnl_types.h's */
static int (*dnnl_sgemm_p)(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                           float *c, int64_t ldc);
static const dnnl_version_t *(*dnnl_version_p)(void);

static void onednn_gemm(const shape *s, const float *a, const float *b, float *c) {
    if (dnnl_sgemm_p(s->trans & CG__GEMM_TA ? 'T' : 'N', s->trans & CG__GEMM_TB ? 'T' : 'N', s->m,
                     s->n, s->k, 1.0f, a, s->lda, b, s->ldb, 0.0f, c, s->ldc) != 0) {
        fprintf(stderr, "gemm_backends: dnnl_sgemm failed\n");
        exit(1);
    }
}

#ifdef CG_BENCH_LIBXSMM
/* column-major: C^T (n, m) = op(B)^T op(A)^T */
static void libxsmm_gemm(const shape *s, const float *a, const float *b, float *c) {
    const char ta = s->trans & CG__GEMM_TB ? 'T' : 'N', tb = s->trans & CG__GEMM_TA ? 'T' : 'N';
    const libxsmm_blasint m = (libxsmm_blasint)s->n, n = (libxsmm_blasint)s->m,
                          k = (libxsmm_blasint)s->k, lda = (libxsmm_blasint)s->ldb,
                          ldb = (libxsmm_blasint)s->lda, ldc = (libxsmm_blasint)s->ldc;
    const float one = 1.0f, zero = 0.0f;
    libxsmm_sgemm_omp(&ta, &tb, &m, &n, &k, &one, b, &lda, a, &ldb, &zero, c, &ldc);
}
#endif

/* thread t of nt: f on its rows (or columns, when C is wider than tall) of
 * C, in blocks of whole cache lines, as matmul.c splits cgrad's GEMM */
static void part(gemm_fn f, const shape *s, const float *a, const float *b, float *c, int t,
                 int nt) {
    bool rows = s->m >= s->n;
    int64_t len = rows ? s->m : s->n, step = ((len + nt - 1) / nt + 31) / 32 * 32;
    int64_t lo = t * step, hi = lo + step < len ? lo + step : len;
    if (lo >= hi) return;
    shape p = *s;
    *(rows ? &p.m : &p.n) = hi - lo;
    const float *ap = a + (rows ? lo * (s->trans & CG__GEMM_TA ? 1 : s->lda) : 0);
    const float *bp = b + (rows ? 0 : lo * (s->trans & CG__GEMM_TB ? s->ldb : 1));
    f(&p, ap, bp, c + (rows ? lo * s->ldc : lo));
}

/* f on the OpenMP team, each thread on its block of C */
static void split(gemm_fn f, const shape *s, const float *a, const float *b, float *c) {
#ifdef _OPENMP
#pragma omp parallel
    part(f, s, a, b, c, omp_get_thread_num(), omp_get_num_threads());
#else
    part(f, s, a, b, c, 0, 1);
#endif
}

static void cgrad_gemm1(const shape *s, const float *a, const float *b, float *c) {
    cg__kern()->gemm_f32(s->trans, s->m, s->n, s->k, 1.0f, a, s->lda, b, s->ldb, 0.0f, c, s->ldc);
}

static void cgrad_gemm(const shape *s, const float *a, const float *b, float *c) {
    split(cgrad_gemm1, s, a, b, c);
}

/* OpenBLAS on one thread per block of C (inside a parallel region its OpenMP
 * build runs serially): its kernels without its threading */
static void openblas_split_gemm(const shape *s, const float *a, const float *b, float *c) {
    split(openblas_gemm, s, a, b, c);
}

/* the first of names that dlopen loads (its own symbols kept local) */
static void *open_first(const char *const *names) {
    for (; *names; names++) {
        void *h = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}

/* the OpenBLAS cgrad is linked with, else the system's; found: 0 */
static int load_openblas(void) {
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
    bool linked = dlsym(RTLD_DEFAULT, "cblas_sgemm") != NULL;
    void *h = linked ? RTLD_DEFAULT : open_first(names); /* RTLD_DEFAULT is NULL */
    if (!linked && !h) return -1;
    *(void **)&cblas_sgemm_p = dlsym(h, "cblas_sgemm");
    *(void **)&openblas_threads_p = dlsym(h, "openblas_set_num_threads");
    *(void **)&openblas_config_p = dlsym(h, "openblas_get_config");
    *(void **)&openblas_core_p = dlsym(h, "openblas_get_corename");
    return cblas_sgemm_p ? 0 : -1;
}

static int load_blis(void) {
    static const char *const names[] = {"libblis.so.4", "libblis.so", NULL};
    void *h = open_first(names);
    if (!h) return -1;
    *(void **)&bli_sgemm_p = dlsym(h, "bli_sgemm");
    *(void **)&blis_threads_p = dlsym(h, "bli_thread_set_num_threads");
    *(void **)&blis_version_p = dlsym(h, "bli_info_get_version_str");
    *(void **)&blis_arch_p = dlsym(h, "bli_arch_string");
    *(void **)&blis_arch_id_p = dlsym(h, "bli_arch_query_id");
    return bli_sgemm_p ? 0 : -1;
}

static int load_onednn(void) {
    static const char *const names[] = {"libdnnl.so.2", "libdnnl.so", NULL};
    void *h = open_first(names);
    if (!h) return -1;
    *(void **)&dnnl_sgemm_p = dlsym(h, "dnnl_sgemm");
    *(void **)&dnnl_version_p = dlsym(h, "dnnl_version");
    return dnnl_sgemm_p ? 0 : -1;
}

/* whether GEMM_BACKENDS (a list of names; unset: all) names this one */
static bool wanted(const char *name) {
    const char *list = getenv("GEMM_BACKENDS"), *p = list;
    size_t len = strlen(name);
    if (!list || !*list) return true;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == list || strchr(", ", p[-1])) && (p[len] == 0 || strchr(", ", p[len])))
            return true;
        p += len;
    }
    return false;
}

/* the backends found and wanted, OpenBLAS first where it is; their count */
static int load_backends(backend *bk) {
    int n = 0;
    bool openblas = (wanted("openblas") || wanted("openblas1")) && load_openblas() == 0;
    if (openblas && wanted("openblas")) bk[n++] = (backend){"openblas", openblas_gemm};
    if (wanted("blis") && load_blis() == 0) bk[n++] = (backend){"blis", blis_gemm};
    if (wanted("onednn") && load_onednn() == 0) bk[n++] = (backend){"onednn", onednn_gemm};
#ifdef CG_BENCH_LIBXSMM
    if (wanted("libxsmm")) {
        libxsmm_init();
        bk[n++] = (backend){"libxsmm", libxsmm_gemm};
    }
#endif
    if (openblas && cg_get_num_threads() > 1 && wanted("openblas1"))
        bk[n++] = (backend){"openblas1", openblas_split_gemm};
    if (wanted("cgrad") || n == 0) bk[n++] = (backend){"cgrad", cgrad_gemm};
    return n;
}

/* every backend's thread count (the OpenMP ones follow the team's size) */
static void set_threads(int n) {
    cg_set_num_threads(n);
    if (openblas_threads_p) openblas_threads_p(n);
    if (blis_threads_p) blis_threads_p(n);
}

static void print_versions(int threads) {
    printf("# threads %d; cgrad kernel level %s\n", threads, cg__cpu_capability());
    if (openblas_config_p)
        printf("# openblas: %s, core %s\n", openblas_config_p(),
               openblas_core_p ? openblas_core_p() : "?");
    if (blis_version_p)
        printf("# blis: %s, config %s\n", blis_version_p(),
               blis_arch_p && blis_arch_id_p ? blis_arch_p(blis_arch_id_p()) : "?");
    if (dnnl_version_p)
        printf("# onednn: %d.%d.%d, cpu runtime %s\n", dnnl_version_p()->major,
               dnnl_version_p()->minor, dnnl_version_p()->patch,
               dnnl_version_p()->cpu_runtime == 2 ? "OpenMP" : "not OpenMP");
#ifdef CG_BENCH_LIBXSMM
    if (wanted("libxsmm"))
        printf("# libxsmm: %s, target %s\n", LIBXSMM_VERSION, libxsmm_get_target_arch());
#endif
}

/* --- timing --------------------------------------------------------------- */

/* n floats uniform in [-0.5, 0.5) (xorshift32: rand() took longer than the GEMMs) */
static float *rand_buf(int64_t n) {
    static uint32_t x = 2463534242u;
    float *p = malloc(sizeof(float) * (size_t)n);
    if (!p) {
        fprintf(stderr, "gemm_backends: out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (float)(x >> 8) * 0x1p-24f - 0.5f;
    }
    return p;
}

static double max_diff(const float *x, const float *y, int64_t n) {
    double d = 0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs((double)x[i] - (double)y[i]));
    return d;
}

/* microseconds per call of calls calls */
static double time_calls(const backend *b, const shape *s, const float *a, const float *bm,
                         float *c, long calls) {
    double t0 = now_s();
    for (long i = 0; i < calls; i++) b->run(s, a, bm, c);
    return (now_s() - t0) * 1e6 / (double)calls;
}

/* one backend's time per call on a shape, in microseconds */
typedef struct {
    double med, best; /* the median and the fastest of its rounds */
} timing;

/* us[i]: backend i's timing on s; returns the largest difference of a
 * backend's result from backend 0's */
static double measure(const shape *s, const backend *bk, int nb, timing *us) {
    float *a = rand_buf(s->m * s->k), *b = rand_buf(s->k * s->n);
    float *ref = rand_buf(s->m * s->n), *c = rand_buf(s->m * s->n); /* (m, n) */
    double diff = 0;
    bk[0].run(s, a, b, ref);
    for (int i = 1; i < nb; i++) { /* warm-up and check */
        bk[i].run(s, a, b, c);
        diff = fmax(diff, max_diff(ref, c, s->m * s->n));
    }
    double once = time_calls(&bk[0], s, a, b, c, 1);
    long calls = once >= MIN_BATCH_US ? 1 : (long)ceil(MIN_BATCH_US / fmax(once, 1.0));
    /* BENCH_ITERS rounds, more (up to MAX_ROUNDS) while they take under
     * ROUND_BUDGET_US per backend: short shapes get many */
    long budget = ROUND_BUDGET_US / ((double)calls * fmax(once, 1.0));
    int rounds = (int)(budget > MAX_ROUNDS ? MAX_ROUNDS : budget);
    if (rounds < bench_iters(9)) rounds = (int)bench_iters(9);
    double *t = malloc(sizeof(double) * (size_t)(nb * rounds)); /* (nb, rounds) */
    for (int r = 0; r < rounds; r++)
        for (int j = 0; j < nb; j++) {
            int i = (j + r) % nb;
            t[i * rounds + r] = time_calls(&bk[i], s, a, b, c, calls);
        }
    for (int i = 0; i < nb; i++) {
        double *ti = t + i * rounds;
        qsort(ti, (size_t)rounds, sizeof(double), cmp_double);
        us[i] = (timing){(ti[(rounds - 1) / 2] + ti[rounds / 2]) / 2, ti[0]};
    }
    free(t), free(a), free(b), free(ref), free(c);
    return diff;
}

/* the 15 GEMMs of width c: each layer (in, out) in its three forms */
static int width_shapes(int64_t c, shape *out) {
    static const char *const layers[] = {"qkv", "attn_out", "mlp_up", "mlp_down", "head"};
    const int64_t io[][2] = {{c, 3 * c}, {c, c}, {c, 4 * c}, {4 * c, c}, {c, VOCAB}};
    int n = 0;
    for (int l = 0; l < 5; l++) {
        int64_t in = io[l][0], o = io[l][1];
        out[n++] = whole(layers[l], "NT", CG__GEMM_TB, TOKENS, o, in);
        out[n++] = whole(layers[l], "NN", 0, TOKENS, in, o);
        out[n++] = whole(layers[l], "TN", CG__GEMM_TA, o, in, TOKENS);
    }
    return n;
}

/* GEMM_WIDTHS (default chargpt's and gpt_medium_step's); their count */
static int widths(int64_t *w) {
    const char *s = getenv("GEMM_WIDTHS");
    char *end;
    int n = 0;
    for (s = s && *s ? s : "128 384"; n < MAX_WIDTHS; s = end) {
        long v = strtol(s, &end, 10);
        if (end == s) break;
        if (v < 1 || v > 8192) {
            fprintf(stderr, "gemm_backends: GEMM_WIDTHS: %ld is not in 1..8192\n", v);
            exit(1);
        }
        w[n++] = v;
    }
    return n;
}

/* one table row: GFLOPS per backend, median/fastest round */
static void print_row(int64_t c, const shape *s, int nb, const timing *us, double diff) {
    printf("%4lld %-8s %s %5lld %5lld %5lld", (long long)c, s->layer, s->form, (long long)s->m,
           (long long)s->n, (long long)s->k);
    double flops = 2.0 * (double)(s->m * s->n * s->k);
    for (int i = 0; i < nb; i++)
        printf(" %5.1f/%5.1f", flops / us[i].med * 1e-3, flops / us[i].best * 1e-3);
    printf("  %.1e\n", diff);
    fflush(stdout);
}

/* the summary: each backend's rate over every shape (total flops / total
 * median time), and its ratio to OpenBLAS's; with the table, the same from
 * the fastest rounds, as a check that busy rounds did not decide it */
static void print_summary(int threads, const backend *bk, int nb, const timing *total, double flops,
                          bool table) {
    char sfx[16] = "";
    if (threads > 1) snprintf(sfx, sizeof sfx, "_%dt", threads);
    for (int i = 0; i < nb; i++)
        printf("%s gemm_gflops%s: %.1f GFLOP/s\n", bk[i].name, sfx, flops / total[i].med * 1e-3);
    bool vs_openblas = strcmp(bk[0].name, "openblas") == 0;
    for (int i = 1; i < nb && vs_openblas; i++)
        printf("RATIO gemm_%s%s %.3g\n", bk[i].name, sfx, total[0].med / total[i].med);
    if (!table) return;
    printf("# fastest rounds, GFLOP/s:");
    for (int i = 0; i < nb; i++)
        printf(" %s %.1f%s", bk[i].name, flops / total[i].best * 1e-3, i + 1 < nb ? "," : "\n");
}

int main(int argc, char **argv) {
    bool table = argc > 1 && strcmp(argv[1], "--table") == 0;
    backend bk[MAX_BACKENDS];
    int nb = load_backends(bk), threads = cg_get_num_threads();
    set_threads(threads);
    int64_t w[MAX_WIDTHS];
    int nw = widths(w);
    if (table) {
        print_versions(threads);
        printf("%4s %-8s %-2s %5s %5s %5s", "C", "layer", "op", "m", "n", "k");
        for (int i = 0; i < nb; i++) printf(" %11s", bk[i].name);
        printf("  %s\n", "maxdiff");
    }
    timing total[MAX_BACKENDS] = {{0, 0}}, us[MAX_BACKENDS];
    double flops = 0;
    for (int iw = 0; iw < nw; iw++) {
        shape sh[15];
        for (int j = 0, n = width_shapes(w[iw], sh); j < n; j++) {
            double diff = measure(&sh[j], bk, nb, us);
            for (int i = 0; i < nb; i++) total[i].med += us[i].med, total[i].best += us[i].best;
            flops += 2.0 * (double)(sh[j].m * sh[j].n * sh[j].k);
            if (table) print_row(w[iw], &sh[j], nb, us, diff);
        }
    }
    print_summary(threads, bk, nb, total, flops, table);
    return 0;
}
