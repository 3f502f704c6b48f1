/* Test specs for the reduce_dim rows of the op table (src/ops/reduce_dim.def);
 * the format is described in tests/op_specs.h, which includes this file. */

/* ----------------------------------------------------------------- probes */

static inline int p_rd_dim(const spec_var *v) { return (int)v->iv[0]; }

PROBE(p_rd_max) { return cg_max_dim(A, p_rd_dim(v), v->keepdim, NULL); }
PROBE(p_rd_min) { return cg_min_dim(A, p_rd_dim(v), v->keepdim, NULL); }
PROBE(p_rd_max_t) { return cg_max_dim(cg_transpose(A, 0, 1), p_rd_dim(v), v->keepdim, NULL); }
PROBE(p_rd_min_t) { return cg_min_dim(cg_transpose(A, 0, 1), p_rd_dim(v), v->keepdim, NULL); }
/* values + indices: the int64 indices compared with torch's */
PROBE(p_rd_max_vi) {
    cg_tensor *i = NULL, *r = cg_max_dim(A, p_rd_dim(v), v->keepdim, &i);
    return cg_add(r, i);
}
PROBE(p_rd_min_vi) {
    cg_tensor *i = NULL, *r = cg_min_dim(A, p_rd_dim(v), v->keepdim, &i);
    return cg_add(r, i);
}
/* values + argmax/argmin along the dim, or of the whole tensor */
PROBE(p_rd_max_arg) {
    return cg_add(cg_max_dim(A, p_rd_dim(v), v->keepdim, NULL),
                  cg_argmax(A, p_rd_dim(v), v->keepdim));
}
PROBE(p_rd_min_arg) {
    return cg_add(cg_min_dim(A, p_rd_dim(v), v->keepdim, NULL),
                  cg_argmin(A, p_rd_dim(v), v->keepdim));
}
PROBE(p_rd_max_argall) {
    return cg_add(cg_max_dim(A, p_rd_dim(v), v->keepdim, NULL), cg_argmax_all(A, v->keepdim));
}
PROBE(p_rd_min_argall) {
    return cg_add(cg_min_dim(A, p_rd_dim(v), v->keepdim, NULL), cg_argmin_all(A, v->keepdim));
}
/* var/std: the dims in iv (none: every dim), the correction in s */
PROBE(p_rd_var) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_var(A, n, d, (int)v->s, v->keepdim);
}
PROBE(p_rd_std) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_std(A, n, d, (int)v->s, v->keepdim);
}
PROBE(p_rd_var_t) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_var(cg_transpose(A, 0, 1), n, d, (int)v->s, v->keepdim);
}
PROBE(p_rd_std_t) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_std(cg_transpose(A, 0, 1), n, d, (int)v->s, v->keepdim);
}
PROBE(p_rd_lse) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_logsumexp(A, n, d, v->keepdim);
}
PROBE(p_rd_lse_t) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_logsumexp(cg_transpose(A, 0, 1), n, d, v->keepdim);
}
PROBE(p_rd_lse_big) { /* logsumexp(a * s): exp alone would overflow */
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_logsumexp(cg_mul_scalar(A, v->s), n, d, v->keepdim);
}
PROBE(p_rd_prod) {
    (void)v;
    return cg_prod(A);
}
PROBE(p_rd_prod_t) {
    (void)v;
    return cg_prod(cg_transpose(A, 0, 1));
}
PROBE(p_rd_prod_dim) { return cg_prod_dim(A, p_rd_dim(v), v->keepdim); }
PROBE(p_rd_prod_dim_t) { return cg_prod_dim(cg_transpose(A, 0, 1), p_rd_dim(v), v->keepdim); }
/* norm: p in s, the dims in iv (none: every dim) */
PROBE(p_rd_norm) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_norm(A, v->s, n, d, v->keepdim);
}
PROBE(p_rd_norm_t) {
    int d[CG_MAX_DIMS];
    int n = spec_dims_(v, d);
    return cg_norm(cg_transpose(A, 0, 1), v->s, n, d, v->keepdim);
}

/* Exact zeros that still carry the gradient: a - m * round(a) for 'Q' inputs
 * (multiples of 1/256), m true where the flat index % k == r. The rounding
 * goes through int64, so it is a constant that a finite-difference step of
 * 1e-6 does not move: the masked elements are 0 with derivative 1. */
#define RD_ZERO(K, R)                                                                              \
    "(a - (torch.arange(a.numel()).view(a.shape) % " #K " == " #R ") * "                           \
    "(((a * 256 + 1024.5).to(torch.int64) - 1024).to(a.dtype) / 256))"
static inline cg_tensor *p_rd_zero_at(cg_tensor *a, int64_t k, int64_t r) {
    if (!a) return NULL;
    int64_t n = cg_numel(a);
    bool *m = malloc((size_t)(n > 0 ? n : 1));
    if (!m) return NULL;
    for (int64_t i = 0; i < n; i++) m[i] = i % k == r;
    cg_tensor *mask = cg_from_data(m, cg_ndim(a), cg_shape(a), CG_BOOL);
    free(m);
    cg_tensor *q = cg_add_scalar(cg_mul_scalar(a, 256), 1024.5);
    q = cg_div_scalar(cg_to(cg_sub_scalar(cg_to(q, CG_INT64), 1024), cg_dtype_of(a)), 256);
    return cg_sub(a, cg_mul(mask, q));
}
/* iv = (k, r) for prod; (dim, k, r) for prod_dim and norm */
PROBE(p_rd_prod_z) { return cg_prod(p_rd_zero_at(A, v->iv[0], v->iv[1])); }
PROBE(p_rd_prod_dim_z) {
    return cg_prod_dim(p_rd_zero_at(A, v->iv[1], v->iv[2]), p_rd_dim(v), v->keepdim);
}
PROBE(p_rd_norm_z) {
    int d = p_rd_dim(v);
    return cg_norm(p_rd_zero_at(A, v->iv[1], v->iv[2]), v->s, 1, &d, v->keepdim);
}

/* ------------------------------------------------------------------ specs */

/* max/min along a dim: distinct values (ties are tested in
 * tests/test_reduce_dim_errors.c: the gradient is not defined there) */
#define RD_EXTREME(ID, NAME, OP, ARG, P, P_T, P_VI, P_ARG, P_ARGALL)                               \
    SPEC(ID, NAME, 'R',                                                                            \
         VAR("torch." OP "(a, 1)[0]", P, "D", SHAPES("3,4", "2,3,4", "4,1"), IV(1)),               \
         VAR("torch." OP "(a, -1, keepdim=True)[0]", P, "D", SHAPES("3,4", "2,3,4", "5", "()"),    \
             IV(-1), .keepdim = true),                                                             \
         VAR("torch." OP "(a, 0)[0]", P, "D", SHAPES("3,4", "5", "()", "1", "3,0"), IV(0)),        \
         VAR("torch." OP "(a, -2)[0]", P, "D", SHAPES("2,3,4"), IV(-2)),                           \
         VAR("torch." OP "(a.transpose(0, 1), 1)[0]", P_T, "D", SHAPES("3,4", "2,3,4"), IV(1)),    \
         VAR("torch." OP "(a, 0)[0] + torch." OP "(a, 0)[1]", P_VI, "D",                           \
             SHAPES("3,4", "()", "2,3,4"), IV(0)),                                                 \
         VAR("torch." OP "(a, 2, keepdim=True)[0] + torch." OP "(a, 2, keepdim=True)[1]", P_VI,    \
             "D", SHAPES("2,3,4"), IV(2), .keepdim = true),                                        \
         VAR("torch." OP "(a, 1)[0] + a." ARG "(1)", P_ARG, "D", SHAPES("3,4", "2,3,4"), IV(1)),   \
         VAR("torch." OP "(a, -1, keepdim=True)[0] + a." ARG "(-1, keepdim=True)", P_ARG, "D",     \
             SHAPES("3,4", "()"), IV(-1), .keepdim = true),                                        \
         VAR("torch." OP "(a, 0)[0] + a." ARG "()", P_ARGALL, "D", SHAPES("3,4", "2,3,4", "()"),   \
             IV(0)),                                                                               \
         VAR("torch." OP "(a, 1, keepdim=True)[0] + a." ARG "(keepdim=True)", P_ARGALL, "D",       \
             SHAPES("3,4", "2,3,4"), IV(1), .keepdim = true))
#define SPEC_MAX_DIM                                                                               \
    RD_EXTREME(MAX_DIM, "MaxBackward0", "max", "argmax", p_rd_max, p_rd_max_t, p_rd_max_vi,        \
               p_rd_max_arg, p_rd_max_argall)
#define SPEC_MIN_DIM                                                                               \
    RD_EXTREME(MIN_DIM, "MinBackward0", "min", "argmin", p_rd_min, p_rd_min_t, p_rd_min_vi,        \
               p_rd_min_arg, p_rd_min_argall)

/* var/std: correction in s; no dims: dim=None */
#define RD_VARSTD(ID, NAME, OP, P, P_T)                                                            \
    SPEC(ID, NAME, 'R',                                                                            \
         VAR("torch." OP "(a, dim=None, correction=1)", P, "R", SHAPES("3,4", "7", "2,3,4"),       \
             .s = 1),                                                                              \
         VAR("torch." OP "(a, dim=None, correction=0)", P, "R", SHAPES("3,4", "2", "1,3"),         \
             .s = 0),                                                                              \
         VAR("torch." OP "(a, dim=None, correction=1, keepdim=True)", P, "R",                      \
             SHAPES("3,4", "2,3,4"), .s = 1, .keepdim = true),                                     \
         VAR("torch." OP "(a, dim=(1,), correction=1)", P, "R", SHAPES("3,4", "2,3,4"), IV(1),     \
             .s = 1),                                                                              \
         VAR("torch." OP "(a, dim=(0, -1), correction=1, keepdim=True)", P, "R",                   \
             SHAPES("3,4", "2,3,4"), IV(0, -1), .s = 1, .keepdim = true),                          \
         VAR("torch." OP "(a, dim=(-2,), correction=0)", P, "R", SHAPES("3,4", "2,3,4"), IV(-2),   \
             .s = 0),                                                                              \
         VAR("torch." OP "(a, dim=(2, 0), correction=1)", P, "R", SHAPES("2,3,4"), IV(2, 0),       \
             .s = 1),                                                                              \
         VAR("torch." OP "(a, dim=(1,), correction=2)", P, "R", SHAPES("3,4", "2,5,3"), IV(1),     \
             .s = 2),                                                                              \
         VAR("torch." OP "(a, dim=(0,), correction=-1)", P, "R", SHAPES("3,4", "5"), IV(0),        \
             .s = -1),                                                                             \
         VAR("torch." OP "(a.transpose(0, 1), dim=(0,), correction=1)", P_T, "R",                  \
             SHAPES("3,4", "2,3,4"), IV(0), .s = 1),                                               \
         VAR("torch." OP "(a, dim=(1,), correction=1)", P, "R", SHAPES("3,0", "0,2"), IV(1),       \
             .s = 1))
#define SPEC_VAR RD_VARSTD(VAR, "VarBackward0", "var", p_rd_var, p_rd_var_t)
#define SPEC_STD RD_VARSTD(STD, "StdBackward0", "std", p_rd_std, p_rd_std_t)

#define SPEC_LOGSUMEXP                                                                             \
    SPEC(LOGSUMEXP, "LogsumexpBackward0", 'R',                                                     \
         VAR("torch.logsumexp(a, (1,))", p_rd_lse, "R", SHAPES("3,4", "2,3,4", "5,1", "3,0"),      \
             IV(1)),                                                                               \
         VAR("torch.logsumexp(a, (-1, 0), keepdim=True)", p_rd_lse, "R", SHAPES("3,4", "2,3,4"),   \
             IV(-1, 0), .keepdim = true),                                                          \
         VAR("torch.logsumexp(a, (0,))", p_rd_lse, "R", SHAPES("5", "()", "3,4"), IV(0)),          \
         VAR("torch.logsumexp(a, (-1,), keepdim=True)", p_rd_lse, "R", SHAPES("()", "2,3,4"),      \
             IV(-1), .keepdim = true),                                                             \
         VAR("torch.logsumexp(a, (0, 1))", p_rd_lse, "R", SHAPES("3,4")),                          \
         VAR("torch.logsumexp(a, (0, 1, 2), keepdim=True)", p_rd_lse, "R", SHAPES("2,3,4"),        \
             .keepdim = true),                                                                     \
         VAR("torch.logsumexp(a.transpose(0, 1), (1,))", p_rd_lse_t, "R", SHAPES("3,4", "2,3,4"),  \
             IV(1)),                                                                               \
         VAR("torch.logsumexp(a * 300, (1,))", p_rd_lse_big, "R", SHAPES("3,4"), IV(1), .s = 300))

#define SPEC_PROD                                                                                  \
    SPEC(PROD, "ProdBackward0", 'R',                                                               \
         VAR("a.prod()", p_rd_prod, "N", SHAPES("3,4", "()", "7", "2,3,2", "0,3")),                \
         VAR("a.transpose(0, 1).prod()", p_rd_prod_t, "N",                                         \
             SHAPES("3,4", "2,3,2")), /* one zero, two, three; a 0-d zero */                       \
         VAR(RD_ZERO(13, 5) ".prod()", p_rd_prod_z, "Q", SHAPES("3,4", "7", "2,3,2"), IV(13, 5)),  \
         VAR(RD_ZERO(6, 1) ".prod()", p_rd_prod_z, "Q", SHAPES("3,4", "2,3,2"), IV(6, 1)),         \
         VAR(RD_ZERO(4, 0) ".prod()", p_rd_prod_z, "Q", SHAPES("3,4"), IV(4, 0)),                  \
         VAR(RD_ZERO(1, 0) ".prod()", p_rd_prod_z, "Q", SHAPES("()", "1"), IV(1, 0)))

#define SPEC_PROD_DIM                                                                              \
    SPEC(PROD_DIM, "ProdBackward1", 'R',                                                           \
         VAR("a.prod(1)", p_rd_prod_dim, "N", SHAPES("3,4", "2,3,4", "5,1"), IV(1)),               \
         VAR("a.prod(-1, keepdim=True)", p_rd_prod_dim, "N", SHAPES("3,4", "5", "()"), IV(-1),     \
             .keepdim = true),                                                                     \
         VAR("a.prod(0)", p_rd_prod_dim, "N", SHAPES("3,4", "()", "1", "3,0", "0,3"), IV(0)),      \
         VAR("a.transpose(0, 1).prod(0)", p_rd_prod_dim_t, "N", SHAPES("3,4", "2,3,4"),            \
             IV(0)), /* one zero in each row; rows with two zeros; columns without */              \
         VAR(RD_ZERO(5, 0) ".prod(1)", p_rd_prod_dim_z, "Q", SHAPES("3,4"), IV(1, 5, 0)),          \
         VAR(RD_ZERO(3, 0) ".prod(1)", p_rd_prod_dim_z, "Q", SHAPES("3,4", "2,3,4"), IV(1, 3, 0)), \
         VAR(RD_ZERO(5, 0) ".prod(0, keepdim=True)", p_rd_prod_dim_z, "Q", SHAPES("3,4"),          \
             IV(0, 5, 0), .keepdim = true),                                                        \
         VAR(RD_ZERO(2, 0) ".prod(-1)", p_rd_prod_dim_z, "Q", SHAPES("2,3,4", "5"), IV(-1, 2, 0)), \
         VAR(RD_ZERO(1, 0) ".prod(0)", p_rd_prod_dim_z, "Q", SHAPES("()"), IV(0, 1, 0)))

/* linalg.vector_norm: p in s; no dims: every dim. Domains keep away from the
 * points where the norm is not twice differentiable (gradgradcheck). */
#define RD_VN "torch.linalg.vector_norm"
#define SPEC_VECTOR_NORM                                                                           \
    SPEC(VECTOR_NORM, "LinalgVectorNormBackward0", 'R',                                            \
         VAR(RD_VN "(a)", p_rd_norm, "R", SHAPES("3,4", "()", "7", "2,3,4"), .s = 2),              \
         VAR(RD_VN "(a, 2, (1,))", p_rd_norm, "R", SHAPES("3,4", "2,3,4", "3,0"), IV(1), .s = 2),  \
         VAR(RD_VN "(a, 2, (-1, 0), keepdim=True)", p_rd_norm, "R", SHAPES("3,4", "2,3,4"),        \
             IV(-1, 0), .s = 2, .keepdim = true),                                                  \
         VAR(RD_VN "(a, 1, (0,))", p_rd_norm, "K", SHAPES("3,4", "5"), IV(0), .s = 1),             \
         VAR(RD_VN "(a, 1)", p_rd_norm, "K", SHAPES("3,4", "()"), .s = 1),                         \
         VAR(RD_VN "(a, float('inf'), (1,))", p_rd_norm, "D", SHAPES("3,4", "2,3,4"), IV(1),       \
             .s = INFINITY),                                                                       \
         VAR(RD_VN "(a, float('inf'))", p_rd_norm, "D", SHAPES("3,4", "()"), .s = INFINITY),       \
         VAR(RD_VN "(a, float('-inf'), (0,), keepdim=True)", p_rd_norm, "D", SHAPES("3,4", "5"),   \
             IV(0), .s = -INFINITY, .keepdim = true),                                              \
         VAR(RD_VN "(a, 3, (1,))", p_rd_norm, "R", SHAPES("3,4", "2,3,4"), IV(1), .s = 3),         \
         VAR(RD_VN "(a, 1.5)", p_rd_norm, "K", SHAPES("3,4", "()"), .s = 1.5),                     \
         VAR(RD_VN "(a, 0.5, (0,))", p_rd_norm, "K", SHAPES("3,4"), IV(0), .s = 0.5),              \
         VAR(RD_VN "(a, -1, (1,))", p_rd_norm, "K", SHAPES("3,4"), IV(1), .s = -1),                \
         VAR(RD_VN "(a, -2.5)", p_rd_norm, "K", SHAPES("3,4"), .s = -2.5),                         \
         VAR(RD_VN "(a, 0, (1,))", p_rd_norm, "K", SHAPES("3,4"), IV(1), .s = 0),                  \
         VAR(RD_VN "(a.transpose(0, 1), 2, (0,))", p_rd_norm_t, "R", SHAPES("3,4", "2,3,4"),       \
             IV(0), .s = 2), /* zeros among nonzeros: the gradient there is 0 */                   \
         VAR(RD_VN "(" RD_ZERO(5, 0) ", 2, (1,))", p_rd_norm_z, "Q", SHAPES("3,4"), IV(1, 5, 0),   \
             .s = 2),                                                                              \
         VAR(RD_VN "(" RD_ZERO(5, 0) ", 3, (1,))", p_rd_norm_z, "Q", SHAPES("3,4"), IV(1, 5, 0),   \
             .s = 3))
