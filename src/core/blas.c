/* OpenBLAS, loaded at the first GEMM rather than linked (CG_BLAS_DLOPEN).
 * OpenBLAS reserves its buffers in its library constructor; under an address
 * space limit (ulimit -v, RLIMIT_AS) below what they need, that constructor
 * spins in blas_memory_alloc forever, before main runs. Loaded here, it is
 * loaded only when the limit leaves room (BLAS_HEADROOM beyond what the
 * process maps already); otherwise every GEMM runs on the kernel layer's
 * portable GEMM. The build renames cblas_sgemm, cblas_dgemm, cblas_sgemv and
 * openblas_set_num_threads to the cg__ functions below (CMakeLists.txt). */
#include "internal.h"

#ifdef CG_BLAS_DLOPEN
#include "../kernels/kernels.h"

#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

/* room OpenBLAS's buffers need (it spins below ~350 MiB at one thread) */
#define BLAS_HEADROOM ((unsigned long long)1 << 30)

static __typeof__(cg__cblas_sgemm) *real_sgemm;
static __typeof__(cg__cblas_dgemm) *real_dgemm;
static __typeof__(cg__cblas_sgemv) *real_sgemv;
static void (*real_set_threads)(int);
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* bytes this process maps now (/proc/self/statm), 0 if unknown */
static unsigned long long mapped_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (f) {
        if (fscanf(f, "%llu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* Does the address space limit leave OpenBLAS room? */
static bool room_for_blas(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return true;
    unsigned long long used = mapped_bytes();
    return (unsigned long long)r.rlim_cur > used && r.rlim_cur - used >= BLAS_HEADROOM;
}

static void load(void) {
    if (!room_for_blas()) return;
    void *h = dlopen(CG_BLAS_DLOPEN, RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    __typeof__(real_sgemm) s = (__typeof__(real_sgemm))dlsym(h, "cblas_sgemm");
    __typeof__(real_dgemm) d = (__typeof__(real_dgemm))dlsym(h, "cblas_dgemm");
    __typeof__(real_sgemv) v = (__typeof__(real_sgemv))dlsym(h, "cblas_sgemv");
    real_set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    if (s && d && v) real_sgemm = s, real_dgemm = d, real_sgemv = v;
}

static bool have_blas(void) {
    pthread_once(&once, load);
    return real_sgemm != NULL;
}

static int trans_of(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb) {
    return (ta == CblasNoTrans ? 0 : CG__GEMM_TA) | (tb == CblasNoTrans ? 0 : CG__GEMM_TB);
}

/* cgrad calls these row-major only */
void cg__cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta,
                     const enum CBLAS_TRANSPOSE tb, const blasint m, const blasint n,
                     const blasint k, const float alpha, const float *a, const blasint lda,
                     const float *b, const blasint ldb, const float beta, float *c,
                     const blasint ldc) {
    if (have_blas())
        real_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        cg__kern()->gemm_f32(trans_of(ta, tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cg__cblas_dgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta,
                     const enum CBLAS_TRANSPOSE tb, const blasint m, const blasint n,
                     const blasint k, const double alpha, const double *a, const blasint lda,
                     const double *b, const blasint ldb, const double beta, double *c,
                     const blasint ldc) {
    if (have_blas())
        real_dgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        cg__kern()->gemm_f64(trans_of(ta, tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* y (rows, or cols transposed) = alpha op(A) x + beta y, A (rows, cols) */
void cg__cblas_sgemv(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta,
                     const blasint rows, const blasint cols, const float alpha, const float *a,
                     const blasint lda, const float *x, const blasint incx, const float beta,
                     float *y, const blasint incy) {
    if (have_blas()) {
        real_sgemv(order, ta, rows, cols, alpha, a, lda, x, incx, beta, y, incy);
        return;
    }
    bool tr = ta != CblasNoTrans;
    blasint n_out = tr ? cols : rows, n_in = tr ? rows : cols;
    for (blasint i = 0; i < n_out; i++) {
        float acc = 0;
        for (blasint j = 0; j < n_in; j++)
            acc += (tr ? a[(int64_t)j * lda + i] : a[(int64_t)i * lda + j]) * x[(int64_t)j * incx];
        float *yi = y + (int64_t)i * incy;
        *yi = alpha * acc + (beta == 0 ? 0 : beta * *yi);
    }
}

void cg__openblas_set_num_threads(int n) {
    if (have_blas() && real_set_threads) real_set_threads(n);
}

bool cg__blas_loaded(void) { return have_blas(); }
#else
bool cg__blas_loaded(void) {
#ifdef CG_HAVE_CBLAS
    return true;
#else
    return false;
#endif
}
#endif
