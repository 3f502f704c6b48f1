/* Matrix products — mm, mv, dot, bmm and torch.matmul's dispatch over them —
 * forward beside backward. GEMM goes to OpenBLAS when the build found it,
 * else to the kernel layer's (src/kernels/kern_gemm.h); operands no BLAS
 * layout fits (and int64) to a plain loop. */
#include "ops.h"

#include "../kernels/kernels.h"

#ifdef CG_HAVE_CBLAS
#include <cblas.h>
#endif
#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

/* kernel: PyTorch's kernel name in its "not implemented for 'Bool'" error */
static int check_dtypes(const char *fn, const char *kernel, const cg_tensor *a,
                        const cg_tensor *b) {
    if (a->dtype == CG_BOOL) {
        cg__error(fn, CG_MSG_NOT_IMPLEMENTED, kernel, cg__scalar_type_name(CG_BOOL));
        return -1;
    }
    if (a->dtype != b->dtype) {
        cg__error(fn, CG_MSG_EXPECTED_SCALAR_TYPE, cg__scalar_type_name(a->dtype),
                  cg__scalar_type_name(b->dtype));
        return -1;
    }
    return 0;
}

/* One matrix operand of a GEMM: rows x cols with strides (rs, cs). */
typedef struct {
    const char *p;
    int64_t rs, cs;
} mat;

/* BLAS takes a matrix as is or transposed (tr), with a leading dimension. */
static bool blas_layout(mat m, int64_t rows, int64_t cols, bool *tr, int64_t *ld) {
    if (m.cs == 1 && m.rs >= (cols > 1 ? cols : 1)) {
        *tr = false;
        *ld = m.rs;
        return true;
    }
    if (m.rs == 1 && m.cs >= (rows > 1 ? rows : 1)) {
        *tr = true;
        *ld = m.cs;
        return true;
    }
    return false;
}

/* C (n, m, contiguous) = op(A) (n, k) op(B) (k, m) + beta C, in BLAS's layout */
typedef struct {
    cg_dtype d;
    int trans;   /* CG__GEMM_TA | CG__GEMM_TB */
    double beta; /* 0: C is overwritten; 1: the product is added to C */
    int64_t n, m, k, lda, ldb;
    mat a, b;
    char *c;
} gemm_job;

#ifdef CG_HAVE_CBLAS
/* A float32 product with one row or one column as a matrix-vector product
 * (sgemv): sgemm would pack the whole matrix first, twice the memory
 * traffic of a decode step's linear layers. */
static void blas_gemv(const gemm_job *g) {
    bool ta = g->trans & CG__GEMM_TA, tb = g->trans & CG__GEMM_TB;
    int n = (int)g->n, m = (int)g->m, k = (int)g->k, lda = (int)g->lda, ldb = (int)g->ldb;
    const float *a = (const float *)g->a.p, *b = (const float *)g->b.p;
    if (n == 1) /* c (m) = op(B)^T a: B is (k, m), or (m, k) when transposed */
        cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? m : k, tb ? k : m, 1.0f, b,
                    ldb, a, ta ? lda : 1, (float)g->beta, (float *)g->c, 1);
    else /* c (n) = op(A) b: A is (n, k), or (k, n) when transposed */
        cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, ta ? k : n, ta ? n : k, 1.0f, a,
                    lda, b, tb ? 1 : ldb, (float)g->beta, (float *)g->c, 1);
}

static void blas_gemm(const gemm_job *g) {
    enum CBLAS_TRANSPOSE ta = g->trans & CG__GEMM_TA ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = g->trans & CG__GEMM_TB ? CblasTrans : CblasNoTrans;
    int n = (int)g->n, m = (int)g->m, k = (int)g->k, lda = (int)g->lda, ldb = (int)g->ldb;
    if (g->d == CG_FLOAT32 && (n == 1 || m == 1) && n + m > 2)
        blas_gemv(g);
    else if (g->d == CG_FLOAT32)
        cblas_sgemm(CblasRowMajor, ta, tb, n, m, k, 1.0f, (const float *)g->a.p, lda,
                    (const float *)g->b.p, ldb, (float)g->beta, (float *)g->c, m);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, n, m, k, 1.0, (const double *)g->a.p, lda,
                    (const double *)g->b.p, ldb, g->beta, (double *)g->c, m);
}
#else
/* below this many multiply-adds one thread does the whole product */
#define GEMM_PARALLEL_MIN (1 << 20)

/* thread t of nt: the kernel layer's GEMM on its block of C's rows (or
 * columns, when C is wider than tall); blocks are whole cache lines */
static void kern_gemm_part(const gemm_job *g, int t, int nt) {
    bool rows = g->n >= g->m;
    int64_t len = rows ? g->n : g->m, es = (int64_t)cg__esize(g->d);
    int64_t step = ((len + nt - 1) / nt + 31) / 32 * 32;
    int64_t lo = t * step, hi = lo + step < len ? lo + step : len;
    if (lo >= hi) return;
    const char *a = g->a.p + (rows ? lo * g->a.rs * es : 0);
    const char *b = g->b.p + (rows ? 0 : lo * g->b.cs * es);
    char *c = g->c + (rows ? lo * g->m : lo) * es;
    int64_t n = rows ? hi - lo : g->n, m = rows ? g->m : hi - lo;
    const cg__kernels *kern = cg__kern();
    if (g->d == CG_FLOAT32)
        kern->gemm_f32(g->trans, n, m, g->k, 1.0f, (const float *)a, g->lda, (const float *)b,
                       g->ldb, (float)g->beta, (float *)c, g->m);
    else
        kern->gemm_f64(g->trans, n, m, g->k, 1.0, (const double *)a, g->lda, (const double *)b,
                       g->ldb, g->beta, (double *)c, g->m);
}

/* the kernel layer's GEMM, on threads over blocks of C when large */
static void kern_gemm(const gemm_job *g) {
#ifdef CG_HAVE_OPENMP
    if ((double)g->n * (double)g->m * (double)g->k >= GEMM_PARALLEL_MIN &&
        omp_get_max_threads() > 1) {
#pragma omp parallel
        kern_gemm_part(g, omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#endif
    kern_gemm_part(g, 0, 1);
}
#endif

/* c (n x m, contiguous) = a (n x k) @ b (k x m) + beta c (beta 0 or 1) with
 * strides: BLAS (or the kernel layer's GEMM without it) where the layouts
 * allow, else a loop */
static void gemm_beta(cg_dtype d, int64_t n, int64_t m, int64_t k, mat a, mat b, void *c,
                      double beta) {
    if (n == 0 || m == 0) return;
    if (k == 0) {
        if (beta == 0) memset(c, 0, (size_t)(n * m) * cg__esize(d));
        return;
    }
    gemm_job g = {.d = d, .beta = beta, .n = n, .m = m, .k = k, .a = a, .b = b, .c = c};
    bool ta, tb;
    if (d != CG_INT64 && blas_layout(a, n, k, &ta, &g.lda) && blas_layout(b, k, m, &tb, &g.ldb)) {
        g.trans = (ta ? CG__GEMM_TA : 0) | (tb ? CG__GEMM_TB : 0);
#ifdef CG_HAVE_CBLAS
        blas_gemm(&g);
#else
        kern_gemm(&g);
#endif
        return;
    }
#define GEMM_LOOP(T)                                                                               \
    do {                                                                                           \
        const T *A = (const T *)a.p, *B = (const T *)b.p;                                          \
        T *C = c;                                                                                  \
        if (beta == 0) memset(C, 0, sizeof(T) * (size_t)(n * m));                                  \
        for (int64_t i = 0; i < n; i++)                                                            \
            for (int64_t p = 0; p < k; p++) {                                                      \
                T av = A[i * a.rs + p * a.cs];                                                     \
                const T *Bp = B + p * b.rs;                                                        \
                T *Ci = C + i * m;                                                                 \
                if (b.cs == 1)                                                                     \
                    for (int64_t j = 0; j < m; j++) Ci[j] += av * Bp[j];                           \
                else                                                                               \
                    for (int64_t j = 0; j < m; j++) Ci[j] += av * Bp[j * b.cs];                    \
            }                                                                                      \
    } while (0)
    switch (d) {
    case CG_FLOAT32: GEMM_LOOP(float); break;
    case CG_FLOAT64: GEMM_LOOP(double); break;
    default: GEMM_LOOP(int64_t); break;
    }
#undef GEMM_LOOP
}

static void gemm(cg_dtype d, int64_t n, int64_t m, int64_t k, mat a, mat b, void *c) {
    gemm_beta(d, n, m, k, a, b, c, 0);
}

/* The last two dims of t as a GEMM operand, batch index bi along dim 0 of a 3-D t. */
static mat as_mat(const cg_tensor *t, int64_t bi) {
    size_t es = cg__esize(t->dtype);
    int r = t->ndim - 2, c = t->ndim - 1;
    mat m = {(const char *)cg__ptr(t), t->strides[r], t->strides[c]};
    if (t->ndim == 3) m.p += bi * t->strides[0] * (int64_t)es;
    return m;
}

/* Saved state (ops.h) of MmBackward0, BmmBackward0, MvBackward0 and
 * DotBackward0: b (PyTorch's mat2, vec, tensor) for a's gradient, a (self)
 * for b's, each only when that gradient is wanted. */
enum { PROD_OTHER, PROD_SELF };

static cg_tensor *record2(cg_op op, cg_tensor *out, cg_tensor *a, cg_tensor *b) {
    return cg__record_product(op, out, a, b, PROD_OTHER, PROD_SELF) == 0 ? out : NULL;
}

cg_tensor *cg_mm(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    if (a->ndim != 2 || b->ndim != 2) {
        cg__error("cg_mm", a->ndim != 2 ? "self must be a matrix" : "mat2 must be a matrix");
        return NULL;
    }
    if (a->shape[1] != b->shape[0]) {
        cg__error("cg_mm", CG_MSG_MAT_SHAPES, (long long)a->shape[0], (long long)a->shape[1],
                  (long long)b->shape[0], (long long)b->shape[1]);
        return NULL;
    }
    /* an empty product is zeros of a's dtype, whatever b's (as PyTorch) */
    bool empty = a->shape[0] == 0 || a->shape[1] == 0 || b->shape[1] == 0;
    if ((!empty || a->dtype == CG_BOOL) && check_dtypes("cg_mm", "addmm_impl_cpu_", a, b) < 0)
        return NULL;
    int64_t shape[2] = {a->shape[0], b->shape[1]};
    cg_tensor *out = cg__tensor_new(a->dtype, 2, shape);
    if (!out) return NULL;
    gemm(a->dtype, shape[0], shape[1], a->shape[1], as_mat(a, 0), as_mat(b, 0), cg__ptr(out));
    return record2(CG_OP_MM, out, a, b);
}

void cg__mm_into(cg_tensor *c, cg_tensor *a, cg_tensor *b, double beta) {
    gemm_beta(c->dtype, c->shape[0], c->shape[1], a->shape[1], as_mat(a, 0), as_mat(b, 0),
              cg__ptr(c), beta);
}

void cg__mm_add_into(cg_tensor *c, cg_tensor *a, cg_tensor *b) { cg__mm_into(c, a, b, 1); }

cg_tensor *cg_bmm(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    if (a->ndim != 3 || b->ndim != 3) {
        cg__error("cg_bmm",
                  a->ndim != 3 ? "batch1 must be a 3D tensor" : "batch2 must be a 3D tensor");
        return NULL;
    }
    if (b->shape[0] != a->shape[0] || b->shape[1] != a->shape[2]) {
        cg__error("cg_bmm",
                  "Expected size for first two dimensions of batch2 tensor to be: "
                  "[%lld, %lld] but got: [%lld, %lld].",
                  (long long)a->shape[0], (long long)a->shape[2], (long long)b->shape[0],
                  (long long)b->shape[1]);
        return NULL;
    }
    if (check_dtypes("cg_bmm", "bmm", a, b) < 0) return NULL;
    int64_t shape[3] = {a->shape[0], a->shape[1], b->shape[2]};
    cg_tensor *out = cg__tensor_new(a->dtype, 3, shape);
    if (!out) return NULL;
    size_t step = (size_t)(shape[1] * shape[2]) * cg__esize(a->dtype);
    for (int64_t i = 0; i < shape[0]; i++)
        gemm(a->dtype, shape[1], shape[2], a->shape[2], as_mat(a, i), as_mat(b, i),
             (char *)cg__ptr(out) + (size_t)i * step);
    return record2(CG_OP_BMM, out, a, b);
}

cg_tensor *cg_mv(cg_tensor *a, cg_tensor *v) {
    if (!a || !v) return NULL;
    if (a->ndim != 2 || v->ndim != 1) {
        cg__error("cg_mv", "vector + matrix @ vector expected, got 1, %d, %d", a->ndim, v->ndim);
        return NULL;
    }
    if (a->shape[1] != v->shape[0]) {
        cg__error("cg_mv", "size mismatch, got %lld, %lldx%lld,%lld", (long long)a->shape[0],
                  (long long)a->shape[0], (long long)a->shape[1], (long long)v->shape[0]);
        return NULL;
    }
    if (check_dtypes("cg_mv", "addmv_impl_cpu", a, v) < 0) return NULL;
    cg_tensor *out = cg__tensor_new(a->dtype, 1, a->shape);
    if (!out) return NULL;
    mat vm = {(const char *)cg__ptr(v), v->strides[0], 1}; /* v as a k x 1 matrix */
    gemm(a->dtype, a->shape[0], 1, a->shape[1], as_mat(a, 0), vm, cg__ptr(out));
    return record2(CG_OP_MV, out, a, v);
}

cg_tensor *cg_dot(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    if (a->ndim != 1 || b->ndim != 1) {
        cg__error("cg_dot", "1D tensors expected, but got %dD and %dD tensors", a->ndim, b->ndim);
        return NULL;
    }
    if (a->dtype != b->dtype) {
        cg__error("cg_dot", "dot : expected both vectors to have same dtype, but found %s and %s",
                  cg__scalar_type_name(a->dtype), cg__scalar_type_name(b->dtype));
        return NULL;
    }
    if (a->shape[0] != b->shape[0]) {
        cg__error("cg_dot",
                  "inconsistent tensor size, expected tensor [%lld] and src [%lld] to have "
                  "the same number of elements, but got %lld and %lld elements respectively",
                  (long long)a->shape[0], (long long)b->shape[0], (long long)a->shape[0],
                  (long long)b->shape[0]);
        return NULL;
    }
    if (a->dtype == CG_BOOL) {
        cg__error("cg_dot", CG_MSG_NOT_IMPLEMENTED, "dot", cg__scalar_type_name(CG_BOOL));
        return NULL;
    }
    cg_tensor *out = cg__tensor_new(a->dtype, 0, NULL);
    if (!out) return NULL;
    mat am = {(const char *)cg__ptr(a), 0, a->strides[0]}; /* 1 x k */
    mat bm = {(const char *)cg__ptr(b), b->strides[0], 0}; /* k x 1 */
    gemm(a->dtype, 1, 1, a->shape[0], am, bm, cg__ptr(out));
    return record2(CG_OP_DOT, out, a, b);
}

/* A view of a freshly computed product, recorded as PyTorch's _unsafe_view. */
static cg_tensor *unsafe_view(cg_tensor *t, int nd, const int64_t *shape) {
    if (!t) return NULL;
    int64_t st[CG_MAX_DIMS];
    cg__contiguous_strides(nd, shape, st);
    cg_tensor *v = cg__tensor_view(t, nd, shape, st, t->offset);
    if (v) cg__record(CG_OP_UNSAFE_VIEW, v, 1, &t);
    return cg__recorded(v);
}

/* N-D @ 1/2-D: a's batch dims folded into rows (reshape, mv/mm, view back);
 * 1/2-D @ N-D: the same on the transposes (b^T @ a^T), transposed back */
static cg_tensor *matmul_folded(cg_tensor *a, cg_tensor *b) {
    bool tr = b->ndim > a->ndim; /* fold b^T instead, multiply by a^T */
    cg_tensor *t1 = tr ? cg_transpose(b, -1, -2) : a;
    cg_tensor *t2 = !tr ? b : a->ndim == 2 ? cg_t(a) : a;
    if (!t1 || !t2) return NULL;
    int64_t out[CG_MAX_DIMS], k = t1->shape[t1->ndim - 1]; /* (nd): the product's shape */
    int nd = t1->ndim - 1;
    memcpy(out, t1->shape, sizeof out);
    if (t2->ndim == 2) out[nd++] = t2->shape[1];
    /* the rows counted, not -1: view(-1, 0) is ambiguous ([3, 5, 0] @ [0, 0]) */
    cg_tensor *f = cg_reshape(t1, CG_SHAPE(cg__numel(t1->ndim - 1, t1->shape), k));
    cg_tensor *p = unsafe_view(t2->ndim == 1 ? cg_mv(f, t2) : cg_mm(f, t2), nd, out);
    return tr && t2->ndim == 2 ? cg_contiguous(cg_transpose(p, -1, -2)) : p;
}

/* both at least 3-D: broadcast the batch dims, reshape to
 * 3-D, bmm, view back */
static cg_tensor *matmul_batched(cg_tensor *a, cg_tensor *b) {
    int da = a->ndim, db = b->ndim;
    cg_tensor *a3 = da == 1 ? cg_unsqueeze(a, 0) : a, *b3 = db == 1 ? cg_unsqueeze(b, 1) : b;
    if (!a3 || !b3) return NULL;
    int na = a3->ndim - 2, nb = b3->ndim - 2, nbatch = 0;
    int64_t batch[CG_MAX_DIMS], ea[CG_MAX_DIMS], eb[CG_MAX_DIMS], out[CG_MAX_DIMS];
    int64_t n = a3->shape[na], k = a3->shape[na + 1], k2 = b3->shape[nb], m = b3->shape[nb + 1];
    if (cg__broadcast_shape("cg_matmul", na, a3->shape, nb, b3->shape, &nbatch, batch) < 0)
        return NULL;
    int64_t B = cg__numel(nbatch, batch);
    memcpy(ea, batch, sizeof ea); /* (nbatch + 2): a3, b3 expanded to the batch */
    memcpy(eb, batch, sizeof eb);
    ea[nbatch] = n, ea[nbatch + 1] = k;
    eb[nbatch] = k2, eb[nbatch + 1] = m;
    cg_tensor *a4 = cg_reshape(cg_expand(a3, nbatch + 2, ea), CG_SHAPE(B, n, k));
    cg_tensor *b4 = cg_reshape(cg_expand(b3, nbatch + 2, eb), CG_SHAPE(B, k2, m));
    cg_tensor *p = cg_bmm(a4, b4);
    int nd = 0;
    for (int i = 0; i < nbatch; i++) out[nd++] = batch[i];
    if (da > 1) out[nd++] = n;
    if (db > 1) out[nd++] = m;
    return unsafe_view(p, nd, out);
}

/* PyTorch's mm(...).squeeze_(0): SqueezeBackward3 over the product, which
 * stays a tensor of its own, not a view (an in-place write to it records
 * no CopySlices) */
static cg_tensor *squeeze_in_place(cg_tensor *p) {
    cg_tensor *s = cg__squeeze_dims(p, 1u);
    if (s && s->base) {
        cg_release(s->base);
        s->base = NULL;
        s->view_version = -1;
    }
    return s;
}

/* torch.matmul, recording the same graph PyTorch does:
 *   1-D @ 1-D      dot
 *   2-D @ 1-D      mv;  1-D @ 2-D: mm over unsqueeze(0), then squeeze
 *   2-D @ 2-D      mm
 *   N-D @ 1/2-D    fold a's batch dims into rows: reshape, mv/mm, view back
 *   1/2-D @ N-D    the same on the transposes (b^T @ a^T), transposed back
 *   otherwise      broadcast the batch dims, reshape to 3-D, bmm, view back */
cg_tensor *cg_matmul(cg_tensor *a, cg_tensor *b) {
    if (!a || !b) return NULL;
    int da = a->ndim, db = b->ndim;
    if (da == 0 || db == 0) {
        cg__error("cg_matmul",
                  "both arguments to matmul need to be at least 1D, but they are %dD "
                  "and %dD",
                  da, db);
        return NULL;
    }
    if (da == 1 && db == 1) return cg_dot(a, b);
    if (da == 2 && db == 1) return cg_mv(a, b);
    if (da == 1 && db == 2) return squeeze_in_place(cg_mm(cg_unsqueeze(a, 0), b));
    if (da == 2 && db == 2) return cg_mm(a, b);
    if ((da >= 3 && db <= 2) || (db >= 3 && da <= 2)) return matmul_folded(a, b);
    return matmul_batched(a, b);
}

/* ------------------------------------------------------------- backward */

/* the saved operands whose gradients are wanted (else NULL) */
static int unpack_operands(cg_node *n, cg_tensor **other, cg_tensor **self) {
    return cg__unpack_if(n, 0, PROD_OTHER, other) < 0 || cg__unpack_if(n, 1, PROD_SELF, self) < 0
               ? -1
               : 0;
}

int cg__bw_mm(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *mat2, *self;
    if (unpack_operands(n, &mat2, &self) < 0) return -1;
    /* dA = G B^T, dB = A^T G */
    if (mat2 && !(gi[0] = cg_mm(go[0], cg_transpose(mat2, 0, 1)))) return -1;
    if (self && !(gi[1] = cg_mm(cg_transpose(self, 0, 1), go[0]))) return -1;
    return 0;
}

int cg__bw_bmm(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *mat2, *self;
    if (unpack_operands(n, &mat2, &self) < 0) return -1;
    if (mat2 && !(gi[0] = cg_bmm(go[0], cg_transpose(mat2, 1, 2)))) return -1;
    if (self && !(gi[1] = cg_bmm(cg_transpose(self, 1, 2), go[0]))) return -1;
    return 0;
}

int cg__bw_mv(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *vec, *self;
    if (unpack_operands(n, &vec, &self) < 0) return -1;
    /* dA = g v^T (an outer product), dv = A^T g */
    if (vec && !(gi[0] = cg_mm(cg_unsqueeze(go[0], 1), cg_unsqueeze(vec, 0)))) return -1;
    if (self && !(gi[1] = cg_mv(cg_transpose(self, 0, 1), go[0]))) return -1;
    return 0;
}

int cg__bw_dot(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    cg_tensor *tensor, *self;
    if (unpack_operands(n, &tensor, &self) < 0) return -1;
    if (tensor && !(gi[0] = cg_mul(go[0], tensor))) return -1;
    if (self && !(gi[1] = cg_mul(go[0], self))) return -1;
    return 0;
}
