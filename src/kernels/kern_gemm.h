/* GEMM for one element type, C = alpha op(A) op(B) + beta C (kernels.h).
 * kern_impl.h includes this twice, with T (float, double), SFX(name)
 * (name_f32, name_f64) and FMA_T defined.
 *
 * The BLIS loop nest: for each NC-column block of B and KC-deep slice, pack
 * it into NR-wide panels; for each MC-row block of A, pack it into MR-tall
 * panels; a register-blocked micro-kernel multiplies each MR x KC panel by
 * each KC x NR panel. Packed panels are contiguous, aligned and zero-padded
 * to whole tiles, so the micro-kernel has no edge cases; partial tiles of C
 * go through a small buffer. The micro-kernel is written with the compiler's
 * vector extension at the level's vector width. */

#ifndef CG_KERN_GEMM_COMMON
#define CG_KERN_GEMM_COMMON

#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__)
#define GEMM_VB 64 /* bytes per vector register */
#define GEMM_MR 12 /* rows of a micro-tile (32 registers) */
#elif defined(__AVX__)
#define GEMM_VB 32
#define GEMM_MR 6 /* 16 registers: 12 accumulators, 2 of B, 1 of A */
#elif defined(__aarch64__)
#define GEMM_VB 16
#define GEMM_MR 8 /* 32 registers */
#else
#define GEMM_VB 16
#define GEMM_MR 4 /* 16 registers, no FMA: a product needs a scratch one */
#endif
/* depth of a packed slice: a B panel (KC, NR) is 16 KiB, half of L1 */
#define GEMM_KC (8192 / GEMM_VB)
#define GEMM_MC 120  /* rows of a packed A block (a multiple of MR) */
#define GEMM_NC 2048 /* columns of a packed B block (a multiple of NR) */
#define GEMM_ALIGN 64

/* the FMA instruction (else a * b + c, rounded twice) */
#if defined(__FMA__) || defined(FP_FAST_FMAF)
#define GEMM_FMA 1
#endif

/* n rounded up to a multiple of r */
static inline int64_t gemm_round_up(int64_t n, int64_t r) { return (n + r - 1) / r * r; }

/* an aligned buffer of n bytes (NULL if out of memory) */
static inline void *gemm_alloc(size_t n) {
    return aligned_alloc(GEMM_ALIGN, (size_t)gemm_round_up((int64_t)n, GEMM_ALIGN));
}

#endif /* CG_KERN_GEMM_COMMON */

#define G_VL (GEMM_VB / (int)sizeof(T)) /* elements per vector */
#define G_NR (2 * G_VL)                 /* columns of a micro-tile */
#define GV SFX(gemm_vec)

typedef T GV __attribute__((vector_size(GEMM_VB)));

/* a strided matrix: element (i, j) at p[i * rs + j * cs] */
typedef struct {
    const T *p;
    int64_t rs, cs;
} SFX(gemm_mat);

static inline GV SFX(gemm_fma)(GV a, GV b, GV c) {
#ifdef GEMM_FMA
    GV r;
    for (int l = 0; l < G_VL; l++) r[l] = FMA_T(a[l], b[l], c[l]);
    return r;
#else
    return a * b + c;
#endif
}

/* dst (rows x cols, row stride ld) = alpha tile + beta dst; tile: (MR, NR).
 * beta 0 does not read dst (BLAS: NaN there does not propagate). */
static void SFX(gemm_store)(int rows, int cols, const T *restrict tile, T alpha, T beta,
                            T *restrict dst, int64_t ld) {
    for (int i = 0; i < rows; i++) {
        T *d = dst + i * ld;
        const T *t = tile + i * G_NR;
        if (beta == 0)
            for (int j = 0; j < cols; j++) d[j] = alpha * t[j];
        else
            for (int j = 0; j < cols; j++) d[j] = alpha * t[j] + beta * d[j];
    }
}

/* tile (MR, NR) = ap^T bp: ap (kc, MR) and bp (kc, NR) packed panels (not
 * inlined: its registers stay its own) */
__attribute__((noinline)) static void SFX(gemm_micro)(int64_t kc, const T *restrict ap,
                                                      const T *restrict bp, T *restrict tile) {
    GV c0[GEMM_MR], c1[GEMM_MR]; /* the tile's left and right halves, by row */
    for (int i = 0; i < GEMM_MR; i++) c0[i] = c1[i] = (GV){0};
    for (int64_t p = 0; p < kc; p++, ap += GEMM_MR, bp += G_NR) {
        GV b0, b1;
        memcpy(&b0, bp, sizeof b0);
        memcpy(&b1, bp + G_VL, sizeof b1);
#pragma GCC unroll 16
        for (int i = 0; i < GEMM_MR; i++) {
            GV a; /* ap[i] in every lane */
            for (int l = 0; l < G_VL; l++) a[l] = ap[i];
            c0[i] = SFX(gemm_fma)(a, b0, c0[i]);
            c1[i] = SFX(gemm_fma)(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < GEMM_MR; i++) {
        memcpy(tile + i * G_NR, &c0[i], sizeof c0[i]);
        memcpy(tile + i * G_NR + G_VL, &c1[i], sizeof c1[i]);
    }
}

/* one panel out (kc, W) = M[0:kc, 0:w], zero-padded to W columns: a B panel
 * is B's (W = NR), an A panel A^T's (W = MR). Inlined, so that a full
 * panel's row copies have the constant length W (moves, not calls); a
 * strided M is read down its columns. */
static inline __attribute__((always_inline)) void SFX(gemm_pack1)(SFX(gemm_mat) M, int w, int W,
                                                                  int64_t kc, T *restrict out) {
    const T *restrict m = M.p;
    if (w < W) {
        memset(out, 0, sizeof(T) * (size_t)(W * kc));
        for (int64_t p = 0; p < kc; p++)
            for (int j = 0; j < w; j++) out[p * W + j] = m[p * M.rs + j * M.cs];
    } else if (M.cs == 1) /* M's rows contiguous */
        for (int64_t p = 0; p < kc; p++) memcpy(out + p * W, m + p * M.rs, sizeof(T) * (size_t)W);
    else
        for (int j = 0; j < W; j++)
            for (int64_t p = 0; p < kc; p++) out[p * W + j] = m[p * M.rs + j * M.cs];
}

/* ap (ceil(mc / MR) panels of (kc, MR)) = A[0:mc, 0:kc], zero-padded */
static void SFX(gemm_pack_a)(SFX(gemm_mat) A, int64_t mc, int64_t kc, T *restrict ap) {
    for (int64_t ir = 0; ir < mc; ir += GEMM_MR, ap += GEMM_MR * kc) {
        SFX(gemm_mat) At = {A.p + ir * A.rs, A.cs, A.rs}; /* A^T's rows ir .. ir + MR */
        SFX(gemm_pack1)(At, mc - ir < GEMM_MR ? (int)(mc - ir) : GEMM_MR, GEMM_MR, kc, ap);
    }
}

/* bp (ceil(nc / NR) panels of (kc, NR)) = B[0:kc, 0:nc], zero-padded */
static void SFX(gemm_pack_b)(SFX(gemm_mat) B, int64_t kc, int64_t nc, T *restrict bp) {
    for (int64_t jr = 0; jr < nc; jr += G_NR, bp += G_NR * kc) {
        SFX(gemm_mat) Bj = {B.p + jr * B.cs, B.rs, B.cs};
        SFX(gemm_pack1)(Bj, nc - jr < G_NR ? (int)(nc - jr) : G_NR, G_NR, kc, bp);
    }
}

/* C[0:mc, 0:nc] = alpha ap bp + beta C, from packed blocks of depth kc */
static void SFX(gemm_block)(int64_t mc, int64_t nc, int64_t kc, const T *ap, const T *bp, T alpha,
                            T beta, T *c, int64_t ldc) {
    _Alignas(GEMM_ALIGN) T tile[GEMM_MR * G_NR]; /* (MR, NR) */
    for (int64_t jr = 0; jr < nc; jr += G_NR)
        for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
            SFX(gemm_micro)(kc, ap + ir * kc, bp + jr * kc, tile);
            int rows = mc - ir < GEMM_MR ? (int)(mc - ir) : GEMM_MR;
            int cols = nc - jr < G_NR ? (int)(nc - jr) : G_NR;
            SFX(gemm_store)(rows, cols, tile, alpha, beta, c + ir * ldc + jr, ldc);
        }
}

/* C = beta C: k == 0 or alpha == 0 (beta 0 writes zeros, as BLAS) */
static void SFX(gemm_scale)(int64_t m, int64_t n, T beta, T *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
}

/* C = alpha A B + beta C, without packing: when the buffers cannot be had */
static void SFX(gemm_plain)(int64_t m, int64_t n, int64_t k, T alpha, SFX(gemm_mat) A,
                            SFX(gemm_mat) B, T beta, T *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            T s = 0, *d = c + i * ldc + j;
            for (int64_t p = 0; p < k; p++)
                s += A.p[i * A.rs + p * A.cs] * B.p[p * B.rs + j * B.cs];
            *d = beta == 0 ? alpha * s : alpha * s + beta * *d;
        }
}

/* the loop nest over packed blocks; ap: (MC, KC), bp: (KC, nc_max) */
static void SFX(gemm_blocks)(int64_t m, int64_t n, int64_t k, T alpha, SFX(gemm_mat) A,
                             SFX(gemm_mat) B, T beta, T *c, int64_t ldc, T *ap, T *bp) {
    for (int64_t jc = 0; jc < n; jc += GEMM_NC) {
        int64_t nc = n - jc < GEMM_NC ? n - jc : GEMM_NC;
        for (int64_t pc = 0; pc < k; pc += GEMM_KC) {
            int64_t kc = k - pc < GEMM_KC ? k - pc : GEMM_KC;
            SFX(gemm_mat) Bs = {B.p + pc * B.rs + jc * B.cs, B.rs, B.cs};
            SFX(gemm_pack_b)(Bs, kc, nc, bp);
            T bt = pc == 0 ? beta : 1; /* later slices add to the first's */
            for (int64_t ic = 0; ic < m; ic += GEMM_MC) {
                int64_t mc = m - ic < GEMM_MC ? m - ic : GEMM_MC;
                SFX(gemm_mat) As = {A.p + ic * A.rs + pc * A.cs, A.rs, A.cs};
                SFX(gemm_pack_a)(As, mc, kc, ap);
                SFX(gemm_block)(mc, nc, kc, ap, bp, alpha, bt, c + ic * ldc + jc, ldc);
            }
        }
    }
}

static void SFX(gemm)(int trans, int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t lda,
                      const T *b, int64_t ldb, T beta, T *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0) {
        SFX(gemm_scale)(m, n, beta, c, ldc);
        return;
    }
    SFX(gemm_mat) A = {a, lda, 1}, B = {b, ldb, 1};
    if (trans & CG__GEMM_TA) A.rs = 1, A.cs = lda;
    if (trans & CG__GEMM_TB) B.rs = 1, B.cs = ldb;
    int64_t kc = k < GEMM_KC ? k : GEMM_KC, nc = gemm_round_up(n < GEMM_NC ? n : GEMM_NC, G_NR);
    int64_t mc = gemm_round_up(m < GEMM_MC ? m : GEMM_MC, GEMM_MR);
    T *ap = gemm_alloc(sizeof(T) * (size_t)(mc * kc)); /* (mc / MR) panels of (kc, MR) */
    T *bp = gemm_alloc(sizeof(T) * (size_t)(kc * nc)); /* (nc / NR) panels of (kc, NR) */
    if (ap && bp)
        SFX(gemm_blocks)(m, n, k, alpha, A, B, beta, c, ldc, ap, bp);
    else
        SFX(gemm_plain)(m, n, k, alpha, A, B, beta, c, ldc);
    free(ap), free(bp);
}

#undef G_VL
#undef G_NR
#undef GV
