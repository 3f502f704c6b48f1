/* The kernels at the AVX-512 (F, BW, DQ, VL) level, when cmake/kernels.cmake
 * compiles this file with those flags and -mfma (and defines CG_KERN_AVX512);
 * else empty. */
#if defined(CG_KERN_AVX512) && defined(__AVX512F__) && defined(__AVX512BW__) &&                    \
    defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__FMA__)
#define CG_KERN_TABLE cg__kernels_avx512
#define CG_KERN_NAME "avx512"
#include "kern_impl.h"
#elif defined(CG_KERN_AVX512)
#error "CG_KERN_AVX512 is defined but kern_avx512.c lacks -mavx512f/bw/dq/vl -mfma"
#else
typedef int cg__kern_avx512_absent; /* ISO C wants a declaration in every unit */
#endif
