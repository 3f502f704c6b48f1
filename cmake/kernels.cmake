# The CPU kernel layer (src/kernels): one implementation, kern_impl.h,
# compiled by three wrappers at three levels, picked at run time
# (src/kernels/dispatch.c). This file gives each wrapper its ISA flags.
# Included from CMakeLists.txt right after the cgrad_obj target: the source
# properties set here apply to every target of that directory that compiles
# these files (the fuzz library too).
#
#   kern_default.c  no flags: the baseline of the target (SSE2 on x86-64)
#   kern_avx2.c     -mavx2 -mfma                                  (CG_KERN_AVX2)
#   kern_avx512.c   -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma (CG_KERN_AVX512)
#
# The AVX levels exist only for GCC or Clang targeting x86-64; elsewhere their
# files compile to empty units and the default table is the only one.

option(CGRAD_CPU_DISPATCH "Compile the AVX2 and AVX-512 kernel levels (x86-64, GCC/Clang)" ON)

set(CGRAD_KERNEL_DIR ${PROJECT_SOURCE_DIR}/src/kernels)
set(CGRAD_KERNEL_FILES ${CGRAD_KERNEL_DIR}/kern_default.c ${CGRAD_KERNEL_DIR}/kern_avx2.c
  ${CGRAD_KERNEL_DIR}/kern_avx512.c ${CGRAD_KERNEL_DIR}/dispatch.c)

if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  # `#pragma omp simd` in the kernels, without OpenMP's runtime; and no
  # trapping math (Clang's default), so that GCC turns the kernels' selects
  # into blends rather than branches: results are the same, vectorised
  set_property(SOURCE ${CGRAD_KERNEL_FILES} APPEND PROPERTY COMPILE_OPTIONS
    -fopenmp-simd -fno-trapping-math)
  set_property(SOURCE ${CGRAD_KERNEL_FILES} APPEND PROPERTY COMPILE_DEFINITIONS CG_OPENMP_SIMD=1)
endif()

set(CGRAD_KERNEL_LEVELS default)
if(CGRAD_CPU_DISPATCH AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang"
   AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|x64)$"
   AND CMAKE_SIZEOF_VOID_P EQUAL 8)
  include(CheckCCompilerFlag)
  check_c_compiler_flag("-mavx2 -mfma" CGRAD_HAVE_MAVX2)
  check_c_compiler_flag("-mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma" CGRAD_HAVE_MAVX512)
  if(CGRAD_HAVE_MAVX2)
    set_property(SOURCE ${CGRAD_KERNEL_DIR}/kern_avx2.c APPEND PROPERTY COMPILE_OPTIONS
      -mavx2 -mfma)
    set_property(SOURCE ${CGRAD_KERNEL_DIR}/kern_avx2.c ${CGRAD_KERNEL_DIR}/dispatch.c
      APPEND PROPERTY COMPILE_DEFINITIONS CG_KERN_AVX2=1)
    list(APPEND CGRAD_KERNEL_LEVELS avx2)
  endif()
  if(CGRAD_HAVE_MAVX512)
    set_property(SOURCE ${CGRAD_KERNEL_DIR}/kern_avx512.c APPEND PROPERTY COMPILE_OPTIONS
      -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma)
    set_property(SOURCE ${CGRAD_KERNEL_DIR}/kern_avx512.c ${CGRAD_KERNEL_DIR}/dispatch.c
      APPEND PROPERTY COMPILE_DEFINITIONS CG_KERN_AVX512=1)
    list(APPEND CGRAD_KERNEL_LEVELS avx512)
  endif()
endif()
message(STATUS "cgrad: CPU kernel levels: ${CGRAD_KERNEL_LEVELS}")
