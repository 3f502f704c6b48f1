/* The number of threads the kernels use (OpenMP's team and OpenBLAS's pool),
 * and the kernel level picked for this CPU. */
#include "internal.h"

#include "../kernels/kernels.h"

#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif
#ifdef CG_HAVE_CBLAS
void openblas_set_num_threads(int num_threads); /* OpenBLAS's own API */
#endif

int cg_set_num_threads(int n) {
    if (n < 1) {
        cg__error("cg_set_num_threads", "the number of threads must be at least 1, got %d", n);
        return -1;
    }
#ifdef CG_HAVE_OPENMP
    omp_set_num_threads(n);
#endif
#ifdef CG_HAVE_CBLAS
    openblas_set_num_threads(n);
#endif
    return 0;
}

int cg_get_num_threads(void) {
#ifdef CG_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

const char *cg_cpu_capability(void) { return cg__cpu_capability(); }
