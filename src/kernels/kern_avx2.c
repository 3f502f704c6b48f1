/* The kernels at the AVX2 + FMA level, when cmake/kernels.cmake compiles
 * this file with -mavx2 -mfma (and defines CG_KERN_AVX2); else empty. */
#if defined(CG_KERN_AVX2) && defined(__AVX2__) && defined(__FMA__)
#define CG_KERN_TABLE cg__kernels_avx2
#define CG_KERN_NAME "avx2"
#include "kern_impl.h"
#elif defined(CG_KERN_AVX2)
#error "CG_KERN_AVX2 is defined but kern_avx2.c lacks -mavx2 -mfma"
#else
typedef int cg__kern_avx2_absent; /* ISO C wants a declaration in every unit */
#endif
