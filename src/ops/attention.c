/* scaled_dot_product_attention. PyTorch 1.13 has no such function; this is
 * the math that torch 2.x documents for F.scaled_dot_product_attention
 * (without dropout and scale arguments).
 *
 * Two paths, as torch 2.x's CPU dispatch has:
 *  - the fused one (float32/float64, no mask or is_causal, q, k, v at least
 *    3-D with the same batch dims): a flash-attention kernel, one node
 *    ScaledDotProductFlashAttentionForCpuBackward0 saving q, k, v, the output
 *    and the per-row log-sum-exp, never the (L, S) probabilities;
 *  - otherwise the composition of cgrad ops, whose graph is theirs:
 *    MmBackward0/BmmBackward0 ... MulBackward0, WhereBackward0 (bool masks)
 *    or AddBackward0 (float masks), SoftmaxBackward0, the second matmul. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>

#ifdef CG_HAVE_CBLAS
#include <cblas.h>
#endif

#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

/* dtype names as torch 2.x prints a TypeMeta in these messages */
static const char *type_meta_name(cg_dtype d) {
    static const char *names[CG_NUM_DTYPES] = {"float", "double", "long int", "bool"};
    return names[d];
}

/* The causal mask: (L, S) bool, true on and below the diagonal (tril). */
static cg_tensor *causal_mask(int64_t L, int64_t S) {
    cg_tensor *m = cg_empty(CG_SHAPE(L, S), CG_BOOL);
    if (!m) return NULL;
    bool *p = cg_data_ptr(m);
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < S; j++) p[i * S + j] = j <= i;
    return m;
}

/* The composed path:
 *   s = q @ k^T * (1 / sqrt(E))
 *   s = where(mask, s, -inf)  (bool mask or is_causal)  |  s + mask  (float mask)
 *   out = softmax(s, -1) @ v */
static cg_tensor *sdpa_composed(cg_tensor *q, cg_tensor *k, cg_tensor *v, cg_tensor *attn_mask,
                                bool is_causal) {
    int64_t E = q->shape[q->ndim - 1], L = q->shape[q->ndim - 2], S = k->shape[k->ndim - 2];
    cg_tensor *s = cg_mul_scalar(cg_matmul(q, cg_transpose(k, -2, -1)), 1.0 / sqrt((double)E));
    if (!s) return NULL;
    cg_tensor *mask = is_causal ? causal_mask(L, S) : attn_mask;
    if (mask && mask->dtype == CG_BOOL) /* masked out (false): -inf, weight 0 after softmax */
        s = cg_where(mask, s, cg_scalar(-INFINITY, CG_FLOAT32));
    else if (mask)
        s = cg_add(s, mask);
    return cg_matmul(cg_softmax(s, -1), v);
}

/* ------------------------------------------------------ the fused path
 *
 * NOTE [ Flash attention ]
 * Per (batch, head) and block of FLASH_BQ query rows, the key blocks of
 * FLASH_BK rows in turn (those wholly above the diagonal skipped when causal)
 * with an online softmax: the running row max m and sum l (in double, as
 * softmax sums), the accumulator rescaled by exp(m_old - m_new) when the max
 * grows; out = acc / l, lse = m + log(l). The block products are GEMMs
 * (BLAS where the build has it).
 * The backward recomputes p = exp(s - lse) block by block:
 *   D_i = sum_e dO_ie O_ie,  dS = p (dO v^T - D),
 *   dq = scale dS k,  dk = scale dS^T q,  dv = p^T dO. */
#define FLASH_BQ 32
#define FLASH_BK 64

typedef struct flash_dims {
    int64_t BH, L, S, E, Ev; /* batch * heads; rows of q, of k and v; q's, v's last dims */
    bool causal;
    double scale;
    int nb;                      /* batch dims */
    int64_t bshape[CG_MAX_DIMS]; /* (nb) */
} flash_dims;

/* One operand as the kernels read or write it: matrix bh starts at p +
 * flash_at(m, bh) elements, its rows ld apart, its columns adjacent. The
 * GPT's heads, views of one (B, T, 3C) buffer, are read in place so. */
typedef struct flash_mat {
    void *p;
    int64_t ld;
    int64_t bst[CG_MAX_DIMS]; /* (nb) the batch dims' strides */
} flash_mat;

static int64_t flash_at(const flash_dims *d, const flash_mat *m, int64_t bh) {
    int64_t off = 0;
    for (int i = d->nb - 1; i >= 0; i--) {
        off += bh % d->bshape[i] * m->bst[i];
        bh /= d->bshape[i];
    }
    return off;
}

/* t's layout, or false when its last dim is not adjacent or its rows overlap
 * (a single row's stride is never read: any size-1 dim counts as contiguous) */
static bool flash_mat_of(const cg_tensor *t, flash_mat *m) {
    int nd = t->ndim;
    int64_t ld = t->shape[nd - 2] == 1 ? t->shape[nd - 1] : t->strides[nd - 2];
    *m = (flash_mat){.p = cg__ptr(t), .ld = ld};
    memcpy(m->bst, t->strides, sizeof(int64_t) * (size_t)(nd - 2));
    return (t->strides[nd - 1] == 1 || t->shape[nd - 1] == 1) && m->ld >= t->shape[nd - 1];
}

/* t itself when the kernels read its layout, else a contiguous copy (NULL
 * when that fails) */
static cg_tensor *flash_readable(cg_tensor *t, flash_mat *m) {
    if (flash_mat_of(t, m)) return t;
    cg_tensor *c = cg__as_contiguous(t);
    return c && flash_mat_of(c, m) ? c : NULL;
}

/* A new tensor of the given shape for the kernels to write: of 4-D shape
 * (B, H, L, E) laid out as (B, L, H, E), as torch's CPU flash kernel lays
 * out its output, so that the GPT's transpose back to (B, L, H * E) is a
 * view; else contiguous. */
static cg_tensor *flash_new(cg_dtype dt, int nd, const int64_t *shape, flash_mat *m) {
    if (nd != 4) {
        cg_tensor *t = cg__tensor_new(dt, nd, shape);
        return t && flash_mat_of(t, m) ? t : NULL;
    }
    int64_t mem[4] = {shape[0], shape[2], shape[1], shape[3]};
    int64_t st[4] = {shape[1] * shape[2] * shape[3], shape[3], shape[1] * shape[3], 1};
    cg_tensor *base = cg__tensor_new(dt, 4, mem);
    cg_tensor *t = base ? cg__tensor_view(base, 4, shape, st, base->offset) : NULL;
    return t && flash_mat_of(t, m) ? t : NULL;
}

/* keys of row i in the block at j0 of nk keys: all, or those j <= i (may be <= 0) */
static inline int64_t flash_keys(const flash_dims *d, int64_t i, int64_t j0, int64_t nk) {
    return d->causal && i - j0 + 1 < nk ? i - j0 + 1 : nk;
}

/* one past the last key a block of query rows ending before i1 sees */
static inline int64_t flash_key_end(const flash_dims *d, int64_t i1) {
    return d->causal && i1 < d->S ? i1 : d->S;
}

/* c (n x m, ldc) = alpha a b + beta c, a (n x k) or a^T, b (k x m) or b^T,
 * row-major with leading dims: BLAS when the build has it, else a loop */
#define FLASH_GEMM_LOOP(T)                                                                         \
    static void flash_gemm_loop_##T(bool ta, bool tb, int64_t n, int64_t m, int64_t k, T alpha,    \
                                    const T *a, int64_t lda, const T *b, int64_t ldb, T beta,      \
                                    T *c, int64_t ldc) {                                           \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T *cr = c + i * ldc;                                                                   \
            for (int64_t j = 0; j < m; j++) cr[j] = beta == 0 ? 0 : cr[j] * beta;                  \
            for (int64_t p = 0; p < k; p++) {                                                      \
                T av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);                             \
                if (tb)                                                                            \
                    for (int64_t j = 0; j < m; j++) cr[j] += av * b[j * ldb + p];                  \
                else                                                                               \
                    for (int64_t j = 0; j < m; j++) cr[j] += av * b[p * ldb + j];                  \
            }                                                                                      \
        }                                                                                          \
    }
#ifdef CG_HAVE_CBLAS
#define FLASH_GEMM_float(ta, tb, n, m, k, al, a, lda, b, ldb, be, c, ldc)                          \
    cblas_sgemm(CblasRowMajor, (ta) ? CblasTrans : CblasNoTrans, (tb) ? CblasTrans : CblasNoTrans, \
                (int)(n), (int)(m), (int)(k), al, a, (int)(lda), b, (int)(ldb), be, c, (int)(ldc))
#define FLASH_GEMM_double(ta, tb, n, m, k, al, a, lda, b, ldb, be, c, ldc)                         \
    cblas_dgemm(CblasRowMajor, (ta) ? CblasTrans : CblasNoTrans, (tb) ? CblasTrans : CblasNoTrans, \
                (int)(n), (int)(m), (int)(k), al, a, (int)(lda), b, (int)(ldb), be, c, (int)(ldc))
#else
FLASH_GEMM_LOOP(float)
FLASH_GEMM_LOOP(double)
#define FLASH_GEMM_float flash_gemm_loop_float
#define FLASH_GEMM_double flash_gemm_loop_double
#endif

/* One row's online-softmax step over its nr valid scores sr (of nk; made its
 * p, 0 past nr); the accumulator row rescaled when the max grows. */
#define FLASH_ROW_STEP(T, EXP, sr, nr, nk, accr, Ev, mr, lr)                                       \
    do {                                                                                           \
        T mx_ = *(mr);                                                                             \
        for (int64_t c = 0; c < (nr); c++) mx_ = (sr)[c] > mx_ ? (sr)[c] : mx_;                    \
        if (mx_ != *(mr)) {                                                                        \
            T alpha_ = EXP(*(mr)-mx_);                                                             \
            *(lr) *= alpha_;                                                                       \
            for (int64_t e = 0; e < (Ev); e++) (accr)[e] *= alpha_;                                \
            *(mr) = mx_;                                                                           \
        }                                                                                          \
        double sum_ = 0;                                                                           \
        for (int64_t c = 0; c < (nr); c++) sum_ += (sr)[c] = EXP((sr)[c] - mx_);                   \
        for (int64_t c = (nr) > 0 ? (nr) : 0; c < (nk); c++) (sr)[c] = 0;                          \
        *(lr) += sum_;                                                                             \
    } while (0)

/* The operands of the kernels: q, k, v, the output o and lse (its rows
 * contiguous); the backward's g (o's gradient) and the gradients written */
typedef struct flash_io {
    flash_mat q, k, v, o, g, dq, dk, dv;
    void *lse;
} flash_io;

/* The forward of query rows i0 .. i0 + FLASH_BQ of head bh; w: scratch of
 * flash_scratch elements (T), l: FLASH_BQ doubles. Per key block:
 * s = scale q k^T, the online step per row, acc += p v. */
#define FLASH_FWD_BLOCK(T, EXP)                                                                    \
    static void flash_fwd_block_##T(const flash_dims *d, const flash_io *io, int64_t bh,           \
                                    int64_t i0, T *w, double *l) {                                 \
        int64_t Ev = d->Ev, i1 = i0 + FLASH_BQ < d->L ? i0 + FLASH_BQ : d->L, nq = i1 - i0;        \
        int64_t lq = io->q.ld, lk = io->k.ld, lv = io->v.ld, lo = io->o.ld;                        \
        T *s = w, *acc = s + FLASH_BQ * FLASH_BK, *m = acc + FLASH_BQ * Ev;                        \
        const T *q = (const T *)io->q.p + flash_at(d, &io->q, bh) + i0 * lq;                       \
        const T *k = (const T *)io->k.p + flash_at(d, &io->k, bh);                                 \
        const T *v = (const T *)io->v.p + flash_at(d, &io->v, bh);                                 \
        T *o = (T *)io->o.p + flash_at(d, &io->o, bh) + i0 * lo;                                   \
        T *lse = (T *)io->lse + bh * d->L + i0;                                                    \
        for (int64_t r = 0; r < nq; r++) m[r] = -(T)INFINITY, l[r] = 0;                            \
        for (int64_t x = 0; x < nq * Ev; x++) acc[x] = 0;                                          \
        for (int64_t j0 = 0, jend = flash_key_end(d, i1); j0 < jend; j0 += FLASH_BK) {             \
            int64_t nk = jend - j0 < FLASH_BK ? jend - j0 : FLASH_BK;                              \
            FLASH_GEMM_##T(false, true, nq, nk, d->E, (T)d->scale, q, lq, k + j0 * lk, lk, (T)0,   \
                           s, FLASH_BK);                                                           \
            for (int64_t r = 0; r < nq; r++)                                                       \
                FLASH_ROW_STEP(T, EXP, s + r * FLASH_BK, flash_keys(d, i0 + r, j0, nk), nk,        \
                               acc + r * Ev, Ev, m + r, l + r);                                    \
            FLASH_GEMM_##T(false, false, nq, Ev, nk, (T)1, s, FLASH_BK, v + j0 * lv, lv, (T)1,     \
                           acc, Ev);                                                               \
        }                                                                                          \
        for (int64_t r = 0; r < nq; r++) {                                                         \
            T inv = (T)(1 / l[r]);                                                                 \
            for (int64_t e = 0; e < Ev; e++) o[r * lo + e] = acc[r * Ev + e] * inv;                \
            lse[r] = (T)(m[r] + log(l[r]));                                                        \
        }                                                                                          \
    }
FLASH_FWD_BLOCK(float, cg__expf)
FLASH_FWD_BLOCK(double, exp)

/* scratch elements per thread: two (FLASH_BQ, FLASH_BK) blocks (scores or p,
 * and dP), the accumulator, the row maxima */
static int64_t flash_scratch(const flash_dims *d) {
    return 2 * FLASH_BQ * FLASH_BK + FLASH_BQ * d->Ev + FLASH_BQ;
}

/* Runs BODY (in task, w_, l_) for task < n over OpenMP threads, each with its
 * own scratch w_ (esize * flash_scratch bytes) and FLASH_BQ doubles l_;
 * returns -1 when the scratch cannot be had. */
#define FLASH_PARALLEL(n, esize, d, BODY)                                                          \
    do {                                                                                           \
        int failed_ = 0;                                                                           \
        FLASH_OMP_PRAGMA {                                                                         \
            void *w_ = malloc((size_t)flash_scratch(d) * (esize));                                 \
            double *l_ = malloc(FLASH_BQ * sizeof(double));                                        \
            if (!w_ || !l_) failed_ = 1;                                                           \
            FLASH_OMP_FOR                                                                          \
            for (int64_t task = 0; task < (n); task++)                                             \
                if (w_ && l_) BODY;                                                                \
            free(w_), free(l_);                                                                    \
        }                                                                                          \
        if (failed_) {                                                                             \
            cg__oom("cg_scaled_dot_product_attention");                                            \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
#ifdef CG_HAVE_OPENMP
#define FLASH_OMP_PRAGMA _Pragma("omp parallel if (work > 65536)")
#define FLASH_OMP_FOR _Pragma("omp for schedule(dynamic, 1)")
#else
#define FLASH_OMP_PRAGMA
#define FLASH_OMP_FOR
#endif

static int flash_forward(const flash_dims *d, const flash_io *io, cg_dtype dt) {
    int64_t nb = (d->L + FLASH_BQ - 1) / FLASH_BQ, n = d->BH * nb;
    int64_t work = d->BH * d->L * d->S * (d->E + d->Ev);
    CG_UNUSED(work);
    if (dt == CG_FLOAT32)
        FLASH_PARALLEL(n, sizeof(float), d,
                       flash_fwd_block_float(d, io, task / nb, task % nb * FLASH_BQ, w_, l_));
    else
        FLASH_PARALLEL(n, sizeof(double), d,
                       flash_fwd_block_double(d, io, task / nb, task % nb * FLASH_BQ, w_, l_));
    return 0;
}

/* p = exp(scale q k^T - lse) (0 where masked), then dS = scale p (dP - D)
 * in dp, for the rows of a query block against a key block */
#define FLASH_BWD_P_DS(T, EXP)                                                                     \
    for (int64_t r = 0; r < nq; r++) {                                                             \
        T *pr = p + r * FLASH_BK, *dpr = dp + r * FLASH_BK, Dr = (T)D[r];                          \
        int64_t nr = flash_keys(d, i0 + r, j0, nk);                                                \
        for (int64_t c = 0; c < nk; c++) {                                                         \
            pr[c] = c < nr ? EXP(pr[c] - lse[i0 + r]) : 0;                                         \
            dpr[c] = pr[c] * (dpr[c] - Dr) * sc;                                                   \
        }                                                                                          \
    }

/* rows x cols of m (rows ld apart) = 0 */
#define FLASH_ZERO(m, rows, cols, ld)                                                              \
    for (int64_t r_ = 0; r_ < (rows); r_++)                                                        \
        for (int64_t c_ = 0; c_ < (cols); c_++) (m)[r_ * (ld) + c_] = 0;

/* D_r = sum_e dO_re O_re for the nq rows of a query block */
#define FLASH_BWD_D(T)                                                                             \
    for (int64_t r = 0; r < nq; r++) {                                                             \
        D[r] = 0;                                                                                  \
        for (int64_t e = 0; e < Ev; e++)                                                           \
            D[r] += (double)g[(i0 + r) * lg + e] * o[(i0 + r) * lo + e];                           \
    }

/* dq, dk, dv of head bh (zeroed here), block pair by block pair:
 * dq += dS k, dk += dS^T q, dv += p^T dO */
#define FLASH_BWD_HEAD(T, EXP)                                                                     \
    static void flash_bwd_head_##T(const flash_dims *d, const flash_io *io, int64_t bh, T *w,      \
                                   double *D) {                                                    \
        int64_t L = d->L, S = d->S, E = d->E, Ev = d->Ev;                                          \
        int64_t lq = io->q.ld, lk = io->k.ld, lv = io->v.ld, lo = io->o.ld, lg = io->g.ld;         \
        int64_t ldq = io->dq.ld, ldk = io->dk.ld, ldv = io->dv.ld;                                 \
        const T *q = (const T *)io->q.p + flash_at(d, &io->q, bh);                                 \
        const T *k = (const T *)io->k.p + flash_at(d, &io->k, bh);                                 \
        const T *v = (const T *)io->v.p + flash_at(d, &io->v, bh);                                 \
        const T *o = (const T *)io->o.p + flash_at(d, &io->o, bh);                                 \
        const T *g = (const T *)io->g.p + flash_at(d, &io->g, bh);                                 \
        const T *lse = (const T *)io->lse + bh * L;                                                \
        T *dq = (T *)io->dq.p + flash_at(d, &io->dq, bh);                                          \
        T *dk = (T *)io->dk.p + flash_at(d, &io->dk, bh);                                          \
        T *dv = (T *)io->dv.p + flash_at(d, &io->dv, bh), sc = (T)d->scale, *p = w,                \
          *dp = p + FLASH_BQ * FLASH_BK;                                                           \
        FLASH_ZERO(dq, L, E, ldq)                                                                  \
        FLASH_ZERO(dk, S, E, ldk)                                                                  \
        FLASH_ZERO(dv, S, Ev, ldv)                                                                 \
        for (int64_t i0 = 0; i0 < L; i0 += FLASH_BQ) {                                             \
            int64_t i1 = i0 + FLASH_BQ < L ? i0 + FLASH_BQ : L, nq = i1 - i0;                      \
            FLASH_BWD_D(T)                                                                         \
            for (int64_t j0 = 0, jend = flash_key_end(d, i1); j0 < jend; j0 += FLASH_BK) {         \
                int64_t nk = jend - j0 < FLASH_BK ? jend - j0 : FLASH_BK;                          \
                const T *qb = q + i0 * lq, *kb = k + j0 * lk, *vb = v + j0 * lv;                   \
                const T *gb = g + i0 * lg;                                                         \
                FLASH_GEMM_##T(false, true, nq, nk, E, sc, qb, lq, kb, lk, (T)0, p, FLASH_BK);     \
                FLASH_GEMM_##T(false, true, nq, nk, Ev, (T)1, gb, lg, vb, lv, (T)0, dp, FLASH_BK); \
                FLASH_BWD_P_DS(T, EXP)                                                             \
                FLASH_GEMM_##T(false, false, nq, E, nk, (T)1, dp, FLASH_BK, kb, lk, (T)1,          \
                               dq + i0 * ldq, ldq);                                                \
                FLASH_GEMM_##T(true, false, nk, E, nq, (T)1, dp, FLASH_BK, qb, lq, (T)1,           \
                               dk + j0 * ldk, ldk);                                                \
                FLASH_GEMM_##T(true, false, nk, Ev, nq, (T)1, p, FLASH_BK, gb, lg, (T)1,           \
                               dv + j0 * ldv, ldv);                                                \
            }                                                                                      \
        }                                                                                          \
    }
FLASH_BWD_HEAD(float, cg__expf)
FLASH_BWD_HEAD(double, exp)

static int flash_backward(const flash_dims *d, const flash_io *io, cg_dtype dt) {
    int64_t work = d->BH * d->L * d->S * (d->E + d->Ev);
    CG_UNUSED(work);
    if (dt == CG_FLOAT32)
        FLASH_PARALLEL(d->BH, sizeof(float), d, flash_bwd_head_float(d, io, task, w_, l_));
    else
        FLASH_PARALLEL(d->BH, sizeof(double), d, flash_bwd_head_double(d, io, task, w_, l_));
    return 0;
}

enum { SDPA_QUERY, SDPA_KEY, SDPA_VALUE, SDPA_OUTPUT, SDPA_LOGSUMEXP, SDPA_N_SAVED }; /* saved */
enum { SDPA_IS_CAUSAL, SDPA_N_IV };                                                   /* n->iv */

/* The fused path's dims, or false when it does not apply: float32/float64,
 * no mask, q, k, v of the same rank >= 3 with the same batch dims (nothing
 * broadcast), matching E and S, nothing empty. */
static bool flash_applies(const cg_tensor *q, const cg_tensor *k, const cg_tensor *v,
                          const cg_tensor *mask, bool causal, flash_dims *d) {
    int nd = q->ndim;
    if (mask || !cg_dtype_is_floating(q->dtype) || nd < 3 || k->ndim != nd || v->ndim != nd)
        return false;
    for (int i = 0; i < nd - 2; i++)
        if (k->shape[i] != q->shape[i] || v->shape[i] != q->shape[i]) return false;
    *d = (flash_dims){.BH = cg__numel(nd - 2, q->shape),
                      .L = q->shape[nd - 2],
                      .S = k->shape[nd - 2],
                      .E = q->shape[nd - 1],
                      .Ev = v->shape[nd - 1],
                      .causal = causal,
                      .nb = nd - 2};
    memcpy(d->bshape, q->shape, sizeof(int64_t) * (size_t)(nd - 2));
    d->scale = 1.0 / sqrt((double)d->E);
    return k->shape[nd - 1] == d->E && v->shape[nd - 2] == d->S && d->BH > 0 && d->L > 0 &&
           d->S > 0 && d->E > 0 && d->Ev > 0;
}

static cg_tensor *sdpa_flash(cg_tensor *q, cg_tensor *k, cg_tensor *v, const flash_dims *d) {
    int nd = q->ndim;
    int64_t shape[CG_MAX_DIMS];
    memcpy(shape, q->shape, sizeof(int64_t) * (size_t)nd);
    shape[nd - 1] = d->Ev;
    flash_io io;
    cg_tensor *out = flash_new(q->dtype, nd, shape, &io.o);
    cg_tensor *lse = cg__tensor_new(q->dtype, nd - 1, shape); /* (..., L) */
    if (!out || !lse || !flash_readable(q, &io.q) || !flash_readable(k, &io.k) ||
        !flash_readable(v, &io.v))
        return NULL;
    io.lse = cg__ptr(lse);
    if (flash_forward(d, &io, q->dtype) < 0) return NULL;
    cg_tensor *in[3] = {q, k, v};
    cg_node *n = cg__record(CG_OP_SCALED_DOT_PRODUCT_FLASH_ATTENTION, out, 3, in);
    if (n) {
        n->iv[SDPA_IS_CAUSAL] = d->causal;
        n->n_iv = SDPA_N_IV;
        if (cg__node_reserve_saved(n, SDPA_N_SAVED) < 0 || cg__save(n, SDPA_QUERY, q, false) < 0 ||
            cg__save(n, SDPA_KEY, k, false) < 0 || cg__save(n, SDPA_VALUE, v, false) < 0 ||
            cg__save(n, SDPA_OUTPUT, out, true) < 0 || cg__save(n, SDPA_LOGSUMEXP, lse, false) < 0)
            return NULL;
    }
    return cg__recorded(out);
}

/* The plain backward: the flash kernel, reading every operand in place
 * where its layout allows; 1 when it does not apply (g of another dtype),
 * -1 when it fails. */
static int sdpa_flash_backward(cg_node *n, cg_tensor *q, cg_tensor *k, cg_tensor *v, cg_tensor *g,
                               cg_tensor **gi) {
    flash_dims d;
    flash_io io;
    cg_tensor *o = cg__unpack(n, SDPA_OUTPUT), *lse = cg__unpack(n, SDPA_LOGSUMEXP);
    if (!o || !lse) return -1;
    if (g->dtype != q->dtype || !flash_applies(q, k, v, NULL, n->iv[SDPA_IS_CAUSAL], &d)) return 1;
    cg_tensor *dq = flash_new(q->dtype, q->ndim, q->shape, &io.dq);
    cg_tensor *dk = flash_new(k->dtype, k->ndim, k->shape, &io.dk);
    cg_tensor *dv = flash_new(v->dtype, v->ndim, v->shape, &io.dv);
    if (!dq || !dk || !dv || !flash_readable(q, &io.q) || !flash_readable(k, &io.k) ||
        !flash_readable(v, &io.v) || !flash_readable(o, &io.o) || !flash_readable(g, &io.g))
        return -1;
    io.lse = cg__ptr(lse);
    if (flash_backward(&d, &io, q->dtype) < 0) return -1;
    cg_tensor *grads[3] = {dq, dk, dv};
    for (int i = 0; i < 3; i++) gi[i] = CG_WANT(n, i) ? grads[i] : NULL;
    return 0;
}

/* The create_graph backward, composed of cgrad ops (differentiable again):
 * p = softmax(s) recomputed, dv = p^T g, dP = g v^T, dS = p (dP - sum(p dP)),
 * dq = scale dS k, dk = scale dS^T q. */
static int sdpa_composed_backward(cg_node *n, cg_tensor *q, cg_tensor *k, cg_tensor *v,
                                  cg_tensor *g, cg_tensor **gi) {
    int64_t E = q->shape[q->ndim - 1], L = q->shape[q->ndim - 2], S = k->shape[k->ndim - 2];
    double scale = 1.0 / sqrt((double)E);
    cg_tensor *s = cg_mul_scalar(cg_matmul(q, cg_transpose(k, -2, -1)), scale);
    if (s && n->iv[SDPA_IS_CAUSAL])
        s = cg_where(causal_mask(L, S), s, cg_scalar(-INFINITY, CG_FLOAT32));
    cg_tensor *p = cg_softmax(s, -1);
    cg_tensor *dp = cg_matmul(g, cg_transpose(v, -2, -1));
    cg_tensor *ds = cg_mul(p, cg_sub(dp, cg_sum_dims(cg_mul(p, dp), 1, (int[]){-1}, true)));
    if (!ds) return -1;
    if (CG_WANT(n, 0) && !(gi[0] = cg_mul_scalar(cg_matmul(ds, k), scale))) return -1;
    if (CG_WANT(n, 1) && !(gi[1] = cg_mul_scalar(cg_matmul(cg_transpose(ds, -2, -1), q), scale)))
        return -1;
    if (CG_WANT(n, 2) && !(gi[2] = cg_matmul(cg_transpose(p, -2, -1), g))) return -1;
    return 0;
}

int cg__bw_sdpa_flash(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *q = cg__unpack(n, SDPA_QUERY), *k = cg__unpack(n, SDPA_KEY);
    cg_tensor *v = cg__unpack(n, SDPA_VALUE);
    if (!q || !k || !v) return -1;
    int rc = cg__grad_enabled ? 1 : sdpa_flash_backward(n, q, k, v, go[0], gi);
    return rc <= 0 ? rc : sdpa_composed_backward(n, q, k, v, go[0], gi);
}

/* torch 2.x's checks (validate_sdpa_input), then the fused path where it
 * applies, else the composed one */
cg_tensor *cg_scaled_dot_product_attention(cg_tensor *q, cg_tensor *k, cg_tensor *v,
                                           cg_tensor *attn_mask, bool is_causal) {
    if (!q || !k || !v) return NULL;
    const char *fn = "cg_scaled_dot_product_attention";
    if (q->dtype != k->dtype || q->dtype != v->dtype) {
        cg__error(fn,
                  "Expected query, key, and value to have the same dtype, but got "
                  "query.dtype: %s key.dtype: %s and value.dtype: %s instead.",
                  type_meta_name(q->dtype), type_meta_name(k->dtype), type_meta_name(v->dtype));
        return NULL;
    }
    if (q->ndim < 2 || k->ndim < 2 || v->ndim < 2) {
        cg__error(fn,
                  "Expected query, key, and value to all be  at least 2 dimensional, but got "
                  "query.dim: %d key.dim: %d and value.dim: %d instead.",
                  q->ndim, k->ndim, v->ndim);
        return NULL;
    }
    if (attn_mask && attn_mask->dtype != CG_BOOL && attn_mask->dtype != CG_FLOAT32 &&
        attn_mask->dtype != q->dtype) {
        cg__error(fn,
                  "Expected attn_mask dtype to be bool or float or to match query dtype, but "
                  "got attn_mask.dtype: %s and  query.dtype: %s instead.",
                  type_meta_name(attn_mask->dtype), type_meta_name(q->dtype));
        return NULL;
    }
    if (is_causal && attn_mask) {
        cg__error(fn, "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                      "is_causal=True");
        return NULL;
    }
    flash_dims d;
    if (flash_applies(q, k, v, attn_mask, is_causal, &d)) return sdpa_flash(q, k, v, &d);
    return sdpa_composed(q, k, v, attn_mask, is_causal);
}
