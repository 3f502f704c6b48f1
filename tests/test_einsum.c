/* einsum and outer (src/ops/einsum.c, product.c) against live PyTorch.
 *
 * Each case is an equation and input shapes: float64 inputs, a random
 * upstream gradient, the output and the inputs' gradients compared with
 * torch.einsum's (tests/oracle/einsum_oracle.py, one run for all cases;
 * rtol 1e-10), or, where torch raises, the same message. Every case that
 * succeeds also passes cg_gradcheck and cg_gradgradcheck. The graphs are not
 * compared: einsum composes other ops (permute, reshape, sums, bmm), whose
 * own node kinds the op tests check. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "op_specs.h"

#include <unistd.h>

typedef struct {
    const char *eq, *shapes; /* eq "outer": cg_outer */
} ecase;

static const ecase ecases[] = {
    /* contractions, transposes of the result */
    {"ij,jk->ik", "3,4|4,5"},
    {"ij,jk", "2,3|3,2"},
    {"ij,kj->ik", "3,4|5,4"},
    {"ij,jk->ki", "3,4|4,2"},
    {"ba,ab", "2,3|3,2"},
    {"ij,ij->", "3,4|3,4"},
    /* batch dims */
    {"bij,bjk->bik", "2,3,4|2,4,5"},
    {"bij,bkj->bik", "2,3,4|2,5,4"},
    {"bij,bjk->bkji", "2,3,4|2,4,2"},
    {"ij,ij->ij", "3,4|3,4"},
    {"i,i->i", "5|5"},
    {"bn,anm,bm->ba", "2,3|4,3,5|2,5"},
    /* outer products, sums of one side */
    {"i,j->ij", "3|4"},
    {"ij,k->ikj", "2,3|4"},
    {"ij,kl->", "2,3|2,2"},
    {"ij,jk->i", "2,3|3,4"},
    /* one operand: transposes, sums, traces, diagonals */
    {"ij->ji", "3,4"},
    {"ijk->kji", "2,3,4"},
    {"ij->", "3,4"},
    {"ij->j", "3,4"},
    {"ij", "3,4"},
    {"ji", "3,4"},
    {"ii->i", "3,3"},
    {"ii", "4,4"},
    {"ii->", "3,3"},
    {"bii->bi", "2,3,3"},
    {"iij->j", "3,3,2"},
    {"iji->ij", "3,2,3"},
    {"i->i", "5"},
    /* repeated labels in both operands, three operands */
    {"ii,jj->ij", "3,3|2,2"},
    {"ij,jk,kl->il", "2,3|3,4|4,5"},
    {"i,i,i->i", "3|3|3"},
    {"ij,jk,ki", "2,3|3,4|4,2"},
    /* ellipsis, size-1 broadcasting, 0-d and empty operands */
    {"...ij,...jk->...ik", "2,3,4|4,5"},
    {"...ij->...ji", "2,2,3,4"},
    {"b...,b...->b", "2,3|2,3"},
    {"...->", "2,3"},
    {"ij,kj", "2,1|4,3"},
    {"ij,jk->ik", "3,1|4,5"},
    {",ij->ij", "()|2,3"},
    {"->", "()"},
    {"ij,jk->ik", "0,3|3,2"},
    {"ij,jk->ik", "2,0|0,3"},
    /* spaces, upper case */
    {"ij, jk -> ik", "2,3|3,2"},
    {"IJ,Jk->kI", "2,3|3,2"},
    {"outer", "3|4"},
    {"outer", "1|5"},
    /* errors */
    {"ij", "2,3,4"},
    {"ij,jk", "2,3"},
    {"ij->ij", "2,3|2,3"},
    {"i1->i", "2,3"},
    {"ij->ii", "2,3"},
    {"ij->k", "2,3"},
    {"ij,ij->ij", "2,3|3,3"},
    {"ii->i", "3,2"},
    {"i.j->ij", "2,3"},
    {"ij->ij->", "2,3"},
    {"ijk", "2,3"},
    {"...i,...i", "2,3|4,3"},
    {"...i,...i", "5,2,3|4,3"},
    {"outer", "2,2|2"},
    {"outer", "2|2,2"},
};
#define N_ECASES ((int)(sizeof ecases / sizeof ecases[0]))

typedef struct {
    const ecase *c;
    int n_in;
} ectx;

static cg_tensor *run_case(cg_tensor *const *in, void *ctx) {
    const ectx *e = ctx;
    return strcmp(e->c->eq, "outer") == 0 ? cg_outer(in[0], in[1])
                                          : cg_einsum(e->c->eq, e->n_in, in);
}

typedef struct {
    int n_in;
    cg_tensor *in[SPEC_MAX_IN + 1], *out, *grad[SPEC_MAX_IN], *up;
    char err[512];
} eresult;

static void write_tensor(FILE *f, const char *tag, const cg_tensor *t) {
    fprintf(f, "%s %d", tag, cg_ndim(t));
    for (int d = 0; d < cg_ndim(t); d++) fprintf(f, " %lld", (long long)cg_shape(t)[d]);
    cg_tensor *c = cg_contiguous((cg_tensor *)t);
    const double *v = cg_data_ptr(c);
    for (int64_t i = 0; i < cg_numel(t); i++) fprintf(f, " %a", v[i]);
    fprintf(f, "\n");
}

/* Runs case k in cgrad: inputs, output, gradients (kept past the scope) */
static void run_cg(int k, eresult *r) {
    int nd[SPEC_MAX_IN];
    int64_t sh[SPEC_MAX_IN][CG_MAX_DIMS];
    memset(r, 0, sizeof *r);
    r->n_in = spec_parse_shapes(ecases[k].shapes, nd, sh);
    cg_manual_seed(1000 + (uint64_t)k);
    for (int i = 0; i < r->n_in; i++)
        r->in[i] = cg_randn(nd[i], sh[i], CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_clear_error();
    ectx e = {&ecases[k], r->n_in};
    r->out = run_case(r->in, &e);
    if (!r->out) {
        snprintf(r->err, sizeof r->err, "%s", cg_last_error() ? cg_last_error() : "(none)");
        return;
    }
    r->up = cg_randn_like(r->out, 0);
    if (cg_backward(r->out, r->up, false) != 0)
        snprintf(r->err, sizeof r->err, "backward: %s", cg_last_error());
    for (int i = 0; i < r->n_in; i++) r->grad[i] = cg_grad(r->in[i]);
}

/* Reads "<ndim> <shape...> <values...>" from strtok into a new tensor */
static cg_tensor *read_tensor(void) {
    char *tok = strtok(NULL, " ");
    int nd = tok ? atoi(tok) : -1;
    int64_t sh[CG_MAX_DIMS], n = 1;
    if (nd < 0 || nd > CG_MAX_DIMS) return NULL;
    for (int d = 0; d < nd; d++) sh[d] = (tok = strtok(NULL, " ")) ? atoll(tok) : 0, n *= sh[d];
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; v && i < n; i++) v[i] = (tok = strtok(NULL, " ")) ? strtod(tok, NULL) : NAN;
    cg_tensor *t = v ? cg_from_data(v, nd, sh, CG_FLOAT64) : NULL;
    free(v);
    return t;
}

static bool close_to(const cg_tensor *x, const cg_tensor *y, const char *what, int k) {
    bool same = x && y && cg_ndim(x) == cg_ndim(y) &&
                memcmp(cg_shape(x), cg_shape(y), sizeof(int64_t) * (size_t)cg_ndim(x)) == 0;
    const double *xv = same ? cg_data_ptr(cg_contiguous((cg_tensor *)x)) : NULL;
    const double *yv = same ? cg_data_ptr(y) : NULL;
    for (int64_t i = 0; same && i < cg_numel(y); i++)
        same = fabs(xv[i] - yv[i]) <= 1e-10 * fabs(yv[i]) + 1e-11;
    if (!same)
        fprintf(stderr, "  '%s' %s: %s differs from torch\n", ecases[k].eq, ecases[k].shapes, what);
    return same;
}

/* Writes every case, runs the oracle, compares; the number of failures */
static int compare_all(eresult *res) {
    const char *dir = getenv("TMPDIR");
    char in_path[512], out_path[512];
    snprintf(in_path, sizeof in_path, "%s/cgrad_einsum_in_XXXXXX", dir && *dir ? dir : "/tmp");
    snprintf(out_path, sizeof out_path, "%s/cgrad_einsum_out_XXXXXX", dir && *dir ? dir : "/tmp");
    int fi = mkstemp(in_path), fo = mkstemp(out_path);
    if (fi < 0 || fo < 0) {
        fprintf(stderr, "  cannot make temporary files in $TMPDIR or /tmp\n");
        if (fi >= 0) close(fi), unlink(in_path);
        if (fo >= 0) close(fo), unlink(out_path);
        return 1;
    }
    close(fo);
    FILE *f = fdopen(fi, "w");
    for (int k = 0; k < N_ECASES; k++) {
        fprintf(f, "C %d %d %s\n", k, res[k].n_in, ecases[k].eq);
        for (int i = 0; i < res[k].n_in; i++) write_tensor(f, "I", res[k].in[i]);
        if (res[k].up)
            write_tensor(f, "U", res[k].up);
        else
            fprintf(f, "U none\n");
    }
    fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "\"%s\" \"%s/tests/oracle/einsum_oracle.py\" %s %s", CG_PYTHON,
             CG_SOURCE_DIR, in_path, out_path);
    int st = system(cmd), bad = 0, answered = 0;
    FILE *r = st == 0 ? fopen(out_path, "r") : NULL;
    char *line = NULL;
    size_t cap = 0;
    int k = -1;
    while (r && getline(&line, &cap, r) > 0) {
        line[strcspn(line, "\n")] = 0;
        char *tag = strtok(line, " ");
        if (!tag) continue;
        if (strcmp(tag, "R") == 0) {
            k = atoi(strtok(NULL, " "));
            answered++;
            char *status = strtok(NULL, " "), *msg = strtok(NULL, "");
            bool torch_err = strcmp(status, "ERR") == 0;
            if (torch_err != (res[k].out == NULL) ||
                (torch_err && strcmp(msg ? msg : "", res[k].err) != 0)) {
                fprintf(stderr, "  '%s' %s: cgrad: %s; torch: %s\n", ecases[k].eq, ecases[k].shapes,
                        res[k].out ? "ok" : res[k].err, torch_err ? msg : "ok");
                bad++;
            }
        } else if (strcmp(tag, "O") == 0 && res[k].out) {
            bad += !close_to(res[k].out, read_tensor(), "output", k);
        } else if (strcmp(tag, "G") == 0 && res[k].out) {
            int i = atoi(strtok(NULL, " "));
            cg_tensor *g = read_tensor();
            bad += !close_to(res[k].grad[i] ? res[k].grad[i] : cg_zeros_like(g, 0), g, "grad", k);
        }
    }
    free(line);
    if (r) fclose(r);
    unlink(in_path), unlink(out_path);
    if (answered != N_ECASES)
        fprintf(stderr, "  the oracle answered %d of %d cases\n", answered, N_ECASES), bad++;
    return bad;
}

TEST(einsum_matches_torch) {
    eresult *res = calloc(N_ECASES, sizeof *res);
    ASSERT_NOT_NULL(res);
    for (int k = 0; k < N_ECASES; k++) run_cg(k, &res[k]);
    int bad = compare_all(res);
    printf("  einsum: %d cases, %d failed\n", N_ECASES, bad);
    free(res);
    ASSERT_EQ(bad, 0);
}

TEST(einsum_gradcheck_and_gradgradcheck) {
    int n = 0;
    for (int k = 0; k < N_ECASES; k++) {
        eresult r;
        run_cg(k, &r);
        if (!r.out) continue;
        cg_tensor *in[SPEC_MAX_IN + 1] = {NULL};
        for (int i = 0; i < r.n_in; i++) in[i] = cg_detach(r.in[i]), cg_requires_grad_(in[i], true);
        ectx e = {&ecases[k], r.n_in};
        bool ok = cg_gradcheck(run_case, &e, r.n_in, in, 1e-6, 1e-5, 1e-3) &&
                  cg_gradgradcheck(run_case, &e, r.n_in, in, 1e-6, 1e-5, 1e-3);
        if (!ok)
            fprintf(stderr, "  '%s' %s: %s\n", ecases[k].eq, ecases[k].shapes, cg_last_error());
        ASSERT(ok);
        n++;
    }
    printf("  gradcheck and gradgradcheck: %d cases\n", n);
}

TEST(einsum_null_inputs) {
    cg_tensor *a = cg_ones(CG_SHAPE(2), 0), *ops[2] = {a, NULL};
    ASSERT_NULL(cg_einsum("i,i", 2, ops));
    ASSERT_ERROR(cg_einsum(NULL, 1, ops),
                 "einsum(): must specify the equation string and at least one operand, or at "
                 "least one operand and its subscripts list");
    ASSERT_NULL(cg_outer(a, NULL));
    ASSERT_NULL(cg_baddbmm(NULL, a, a, 1, 1));
}

TEST(baddbmm_errors) {
    cg_tensor *in = cg_ones(CG_SHAPE(2, 3, 5), 0), *b1 = cg_ones(CG_SHAPE(2, 3, 4), 0);
    /* torch.baddbmm(torch.ones(2,3,5), torch.ones(2,3,4,1), torch.ones(2,4,5)) */
    ASSERT_ERROR(cg_baddbmm(in, cg_ones(CG_SHAPE(2, 3, 4, 1), 0), cg_ones(CG_SHAPE(2, 4, 5), 0), 1,
                            1),
                 "batch1 must be a 3D tensor");
    /* torch.baddbmm(torch.ones(2,3,5), torch.ones(2,3,4), torch.ones(2,5,5)) */
    ASSERT_ERROR(cg_baddbmm(in, b1, cg_ones(CG_SHAPE(2, 5, 5), 0), 1, 1),
                 "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: "
                 "[2, 5].");
    /* torch.baddbmm(torch.ones(2,3,5), torch.ones(3,3,4), torch.ones(2,4,5)) */
    ASSERT_ERROR(cg_baddbmm(in, cg_ones(CG_SHAPE(3, 3, 4), 0), cg_ones(CG_SHAPE(3, 4, 5), 0), 1, 1),
                 "The expanded size of the tensor (3) must match the existing size (2) at "
                 "non-singleton dimension 0.  Target sizes: [3, 3, 5].  Tensor sizes: [2, 3, 5]");
    /* with bool operands */
    cg_tensor *b = cg_ones(CG_SHAPE(2, 3, 5), CG_BOOL);
    ASSERT_ERROR(cg_baddbmm(b, cg_ones(CG_SHAPE(2, 3, 4), CG_BOOL),
                            cg_ones(CG_SHAPE(2, 4, 5), CG_BOOL), 1, 1),
                 "\"baddbmm\" not implemented for 'Bool'");
    /* beta 0 ignores NaN in input: torch.baddbmm(nan, ones, ones, beta=0)[0,0,0] is 4 */
    cg_tensor *r = cg_baddbmm(cg_full(CG_SHAPE(2, 3, 5), NAN, 0), b1, cg_ones(CG_SHAPE(2, 4, 5), 0),
                              0, 1);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_get(r, (int64_t[]){0, 0, 0}), 4.0);
}

TEST_MAIN(einsum_matches_torch, einsum_gradcheck_and_gradgradcheck, einsum_null_inputs,
          baddbmm_errors)
