/* Every row of the op table against live PyTorch.
 *
 * For each row's spec (tests/op_specs.h), each variant, each shape set and
 * float32/float64: random inputs in the variant's domain, the probe run with
 * inputs requiring grad, a random upstream gradient, cg_backward; the output,
 * the inputs' .grad and the autograd graph are recorded. Then a forward-only
 * dtype matrix: the binary elementwise rows with every pair of dtypes
 * (promotion, 0-d operands included), the other rows with int64 and bool.
 *
 * All cases go to one file; tests/oracle/ops_oracle.py evaluates them in torch
 * in a single run (importing torch is slow) and the results are compared here:
 * values (float32: rtol 1e-5, atol 1e-6 scaled by the magnitude and the
 * reduction length; float64: rtol 1e-10, atol 1e-11 likewise), shapes,
 * dtypes, errors (both or neither), the result's grad_fn name and the whole
 * graph (names, next_functions, input_nr).
 *
 * If CG_PYTHON cannot import torch the tests FAIL; they never skip.
 * Set CGRAD_KEEP_ORACLE_FILES=1 to keep the exchanged files for debugging. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "op_specs.h"

#include <stdarg.h>
#include <unistd.h>

#define CG_OP(id, name, bwd, fwd) [CG_OP_##id] = SPEC_##id,
static const op_spec specs[] = {
#include "ops/ops.def"
};
#undef CG_OP
_Static_assert(sizeof specs / sizeof specs[0] == CG_OP_COUNT,
               "tests/op_specs.h: one SPEC_<ID> per row of src/ops/ops.def");

#define CG_OP(id, name, bwd, fwd) #id,
static const char *const row_ids[] = {
#include "ops/ops.def"
};
#undef CG_OP

/* ---------------------------------------------------------- small helpers */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->n + (size_t)k + 1 > cap) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) abort();
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (!d) abort();
    memcpy(d, s, n);
    return d;
}

static const char *dt_name(cg_dtype dt) {
    switch (dt) {
    case CG_FLOAT32: return "float32";
    case CG_FLOAT64: return "float64";
    case CG_INT64: return "int64";
    case CG_BOOL: return "bool";
    }
    return "?";
}

static int dt_parse(const char *s, cg_dtype *dt) {
    for (int d = 0; d < CG_NUM_DTYPES; d++)
        if (strcmp(s, dt_name((cg_dtype)d)) == 0) {
            *dt = (cg_dtype)d;
            return 0;
        }
    return -1;
}

/* A tensor as plain data: what cgrad computed or what torch sent back. */
typedef struct {
    bool present;
    cg_dtype dt;
    int ndim;
    int64_t shape[CG_MAX_DIMS];
    int64_t n;
    double *v;
} tdata;

static void td_free(tdata *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

static void td_from(tdata *d, const cg_tensor *t) {
    d->present = true;
    d->dt = cg_dtype_of(t);
    d->ndim = cg_ndim(t);
    memcpy(d->shape, cg_shape(t), sizeof(int64_t) * (size_t)d->ndim);
    d->n = cg_numel(t);
    d->v = malloc(sizeof(double) * (size_t)(d->n > 0 ? d->n : 1));
    if (!d->v) abort();
    spec_read(t, d->v);
}

static void td_write(FILE *f, const tdata *t) {
    fprintf(f, "%s %d", dt_name(t->dt), t->ndim);
    for (int i = 0; i < t->ndim; i++) fprintf(f, " %lld", (long long)t->shape[i]);
    for (int64_t i = 0; i < t->n; i++) fprintf(f, " %a", t->v[i]);
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static void index_str(char *buf, size_t n, const tdata *t, int64_t flat) {
    int64_t idx[CG_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        idx[d] = t->shape[d] ? flat % t->shape[d] : 0;
        flat = t->shape[d] ? flat / t->shape[d] : 0;
    }
    shape_str(buf, n, t->ndim, idx);
}

/* ------------------------------------------------------------------ cases */

enum { MODE_GRAD, MODE_FWD };

typedef struct {
    int row, var, shp, mode;
    int n_in;
    cg_dtype dts[SPEC_MAX_IN];
    tdata in[SPEC_MAX_IN], up;
    /* what cgrad gave */
    char *err;
    tdata out, grad[SPEC_MAX_IN];
    char *graph;
    /* what torch gave */
    bool t_done;
    char *t_err;
    tdata t_out, t_grad[SPEC_MAX_IN];
    char *t_graph;
} tcase;

static tcase *cases;
static int n_cases, cap_cases;
static int oracle_state; /* 0: not run, 1: ran, -1: failed */
static char oracle_msg[4096];

static void free_cases(void) {
    for (int i = 0; i < n_cases; i++) {
        tcase *c = &cases[i];
        for (int k = 0; k < SPEC_MAX_IN; k++) {
            td_free(&c->in[k]);
            td_free(&c->grad[k]);
            td_free(&c->t_grad[k]);
        }
        td_free(&c->up);
        td_free(&c->out);
        td_free(&c->t_out);
        free(c->err);
        free(c->graph);
        free(c->t_err);
        free(c->t_graph);
    }
    free(cases);
    cases = NULL;
    n_cases = cap_cases = 0;
}

static const spec_var *case_var(const tcase *c) { return &specs[c->row].var[c->var]; }

static void case_desc(char *buf, size_t n, const tcase *c) {
    const spec_var *v = case_var(c);
    size_t k = (size_t)snprintf(buf, n, "%s '%s' ", row_ids[c->row], v->py);
    for (int i = 0; i < c->n_in && k < n; i++) {
        if (i) k += (size_t)snprintf(buf + k, n - k, "|");
        if (k < n) shape_str(buf + k, n - k, c->in[i].ndim, c->in[i].shape);
        k = strlen(buf);
    }
    for (int i = 0; i < c->n_in && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? "," : " ", dt_name(c->dts[i]));
    if (k < n && c->mode == MODE_FWD) snprintf(buf + k, n - k, " (forward only)");
}

/* Whether input k is a leaf requiring grad in this case. */
static bool case_rg(const tcase *c, int k) {
    return c->mode == MODE_GRAD && !spec_fixed(case_var(c), k);
}

static void graph_rec(sbuf *b, const cg_node *n, int nr, const cg_node **seen, int *nseen) {
    if (!n) {
        sb_add(b, "None");
        return;
    }
    for (int i = 0; i < *nseen; i++)
        if (seen[i] == n) {
            sb_add(b, "^%d", i);
            return;
        }
    if (*nseen < 256) seen[(*nseen)++] = n;
    sb_add(b, "%s:%d [", cg_node_name(n), nr);
    for (int i = 0; i < cg_node_num_next(n); i++) {
        int inr = -1;
        const cg_node *m = cg_node_next(n, i, &inr);
        sb_add(b, " ");
        graph_rec(b, m, inr, seen, nseen);
    }
    sb_add(b, " ]");
}

static char *graph_string(const cg_tensor *t) {
    sbuf b = {0};
    const cg_node *seen[256];
    int nseen = 0;
    if (!cg_grad_fn(t)) return xstrdup("None");
    graph_rec(&b, cg_grad_fn(t), 0, seen, &nseen);
    return b.s;
}

/* Runs one case through cgrad, recording inputs and results as plain data. */
static void run_cg(tcase *c) {
    const spec_var *v = case_var(c);
    int ndim[SPEC_MAX_IN];
    int64_t shape[SPEC_MAX_IN][CG_MAX_DIMS];
    spec_parse_shapes(v->shapes[c->shp], ndim, shape);
    cg_scope_begin();
    cg_tensor *in[SPEC_MAX_IN] = {NULL, NULL};
    int dtcode = c->mode == MODE_GRAD ? (int)c->dts[0] : 4;
    for (int k = 0; c->mode == MODE_FWD && k < c->n_in; k++) dtcode = 4 * dtcode + (int)c->dts[k];
    for (int k = 0; k < c->n_in; k++) {
        tdata *d = &c->in[k];
        d->present = true;
        d->dt = c->dts[k];
        d->ndim = ndim[k];
        memcpy(d->shape, shape[k], sizeof shape[k]);
        d->n = 1;
        for (int i = 0; i < ndim[k]; i++) d->n *= shape[k][i];
        d->v = calloc((size_t)(d->n > 0 ? d->n : 1), sizeof(double));
        if (!d->v) abort();
        uint64_t seed = spec_seed(specs[c->row].id, c->var, c->shp, dtcode, k);
        if (spec_fill(v->dom[k], d->dt, d->n, seed, d->v, v->ihi)) {
            c->err = xstrdup("spec_fill: cg_rand/cg_randn failed");
            goto done;
        }
        in[k] = spec_tensor(d->v, d->dt, d->ndim, d->shape, case_rg(c, k) ? CG_REQUIRES_GRAD : 0);
        if (!in[k]) {
            c->err = xstrdup("cg_from_data failed");
            goto done;
        }
    }
    cg_clear_error();
    cg_tensor *out = v->probe(in, v);
    if (!out) {
        const char *e = cg_last_error();
        c->err = xstrdup(e ? e : "probe returned NULL without an error message");
        goto done;
    }
    td_from(&c->out, out);
    if (c->mode == MODE_GRAD) {
        tdata *u = &c->up;
        *u = c->out;
        u->v = calloc((size_t)(u->n > 0 ? u->n : 1), sizeof(double));
        if (!u->v) abort();
        if (!cg_dtype_is_floating(u->dt) ||
            spec_fill('R', u->dt, u->n, spec_seed(specs[c->row].id, c->var, c->shp, dtcode, 8),
                      u->v, 0)) {
            c->err = xstrdup("output is not floating or cg_randn failed");
            goto done;
        }
        cg_tensor *g = spec_tensor(u->v, u->dt, u->ndim, u->shape, 0);
        if (!g || cg_backward(out, g, false) != 0) {
            const char *e = cg_last_error();
            sbuf b = {0};
            sb_add(&b, "cg_backward failed: %s", e ? e : "(no message)");
            c->err = b.s;
        } else {
            for (int k = 0; k < c->n_in; k++)
                if (cg_grad(in[k])) td_from(&c->grad[k], cg_grad(in[k]));
        }
    }
    c->graph = graph_string(out);
done:
    cg_clear_error();
    cg_scope_end();
}

/* The case's dtypes: input k gets dts[j] for the j-th input that is not a
 * bool condition. */
static tcase *new_case(int row, int var, int shp, int mode, const cg_dtype *dts) {
    const spec_var *v = &specs[row].var[var];
    if (n_cases == cap_cases) {
        cap_cases = cap_cases ? 2 * cap_cases : 256;
        cases = realloc(cases, sizeof(tcase) * (size_t)cap_cases);
        if (!cases) abort();
    }
    tcase *c = &cases[n_cases++];
    memset(c, 0, sizeof *c);
    c->row = row;
    c->var = var;
    c->shp = shp;
    c->mode = mode;
    c->n_in = spec_n_in(v);
    for (int k = 0, j = 0; k < c->n_in; k++)
        c->dts[k] = spec_in_dtype(v, k, dts[j]), j += !spec_fixed(v, k);
    return c;
}

static void build_cases(void) {
    static const cg_dtype all[4] = {CG_FLOAT32, CG_FLOAT64, CG_INT64, CG_BOOL};
    for (int r = 0; r < CG_OP_COUNT; r++) {
        const op_spec *s = &specs[r];
        if (s->not_an_op) continue;
        for (int vi = 0; s->var[vi].py; vi++) {
            const spec_var *v = &s->var[vi];
            int n_var = 0; /* inputs whose dtype varies (not conditions) */
            for (int k = 0; v->dom[k]; k++) n_var += !spec_fixed(v, k);
            for (int si = 0; si < SPEC_MAX_SHAPES && v->shapes[si]; si++) {
                /* gradients: float32 and float64 */
                for (int d = 0; d < 2; d++) {
                    cg_dtype dts[SPEC_MAX_IN] = {all[d], all[d], all[d]};
                    run_cg(new_case(r, vi, si, MODE_GRAD, dts));
                }
                /* dtypes, forward only */
                if (s->cat == 'B') { /* every combination */
                    int n_comb = 1;
                    for (int k = 0; k < n_var; k++) n_comb *= 4;
                    for (int m = 0; m < n_comb; m++) {
                        cg_dtype dts[SPEC_MAX_IN];
                        for (int k = 0, q = m; k < SPEC_MAX_IN; k++, q /= 4) dts[k] = all[q % 4];
                        run_cg(new_case(r, vi, si, MODE_FWD, dts));
                    }
                } else {
                    const cg_dtype ints[SPEC_MAX_IN] = {CG_INT64, CG_INT64, CG_INT64};
                    const cg_dtype bools[SPEC_MAX_IN] = {CG_BOOL, CG_BOOL, CG_BOOL};
                    const cg_dtype mixed[SPEC_MAX_IN] = {CG_FLOAT32, CG_FLOAT64, CG_FLOAT32};
                    run_cg(new_case(r, vi, si, MODE_FWD, ints));
                    /* mixed float dtypes for linalg: torch refuses them, except
                     * (a quirk) when a dim is 0, so those are left out */
                    bool empty = strchr(v->shapes[si], '0') != NULL;
                    if (s->cat != 'L')
                        run_cg(new_case(r, vi, si, MODE_FWD, bools));
                    else if (!empty)
                        run_cg(new_case(r, vi, si, MODE_FWD, mixed));
                }
            }
        }
    }
}

/* ------------------------------------------------------------ the oracle */

static char *read_line(FILE *f) {
    size_t n = 0, cap = 256;
    char *s = malloc(cap);
    if (!s) abort();
    int ch;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (n + 2 > cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) abort();
            s = t;
        }
        s[n++] = (char)ch;
    }
    if (ch == EOF && n == 0) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    return s;
}

/* Parses "dtype ndim shape... values..." from strtok: the dtype token is
 * given (already read), the rest is read with strtok(NULL, ...). */
static int parse_tdata(const char *dtok, tdata *t) {
    char *tok;
    if (!dtok || dt_parse(dtok, &t->dt)) return -1;
    if (!(tok = strtok(NULL, " "))) return -1;
    t->ndim = atoi(tok);
    if (t->ndim < 0 || t->ndim > CG_MAX_DIMS) return -1;
    t->n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (!(tok = strtok(NULL, " "))) return -1;
        t->shape[i] = strtoll(tok, NULL, 10);
        t->n *= t->shape[i];
    }
    t->v = calloc((size_t)(t->n > 0 ? t->n : 1), sizeof(double));
    if (!t->v) abort();
    for (int64_t i = 0; i < t->n; i++) {
        if (!(tok = strtok(NULL, " "))) return -1;
        t->v[i] = strtod(tok, NULL);
    }
    if (strtok(NULL, " ")) return -1;
    t->present = true;
    return 0;
}

static int make_temp(char *path, size_t n, const char *tag) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, n, "%s/cgrad_ops_%s_XXXXXX", dir && *dir ? dir : "/tmp", tag);
    return mkstemp(path);
}

static void run_oracle(void) {
    if (oracle_state) return;
    oracle_state = -1;
    atexit(free_cases);
    build_cases();

    char in_path[512], out_path[512];
    int fin = make_temp(in_path, sizeof in_path, "in");
    int fout = make_temp(out_path, sizeof out_path, "out");
    if (fin < 0 || fout < 0) {
        snprintf(oracle_msg, sizeof oracle_msg, "cannot create temporary files in $TMPDIR or /tmp");
        if (fin >= 0) close(fin), unlink(in_path);
        if (fout >= 0) close(fout), unlink(out_path);
        return;
    }
    close(fout);
    FILE *f = fdopen(fin, "w");
    if (!f) abort();
    int sent = 0;
    for (int i = 0; i < n_cases; i++) {
        tcase *c = &cases[i];
        if (c->mode == MODE_GRAD && c->err) continue; /* nothing to compare */
        const spec_var *v = case_var(c);
        fprintf(f, "B %d %d %c\nE %s\n", i, c->n_in, c->mode == MODE_GRAD ? 'G' : 'F', v->py);
        for (int k = 0; k < c->n_in; k++) {
            fprintf(f, "I ");
            tdata t = c->in[k];
            fprintf(f, "%s %d %d", dt_name(t.dt), case_rg(c, k), t.ndim);
            for (int d = 0; d < t.ndim; d++) fprintf(f, " %lld", (long long)t.shape[d]);
            for (int64_t j = 0; j < t.n; j++) fprintf(f, " %a", t.v[j]);
            fprintf(f, "\n");
        }
        if (c->mode == MODE_GRAD) {
            fprintf(f, "U ");
            td_write(f, &c->up);
            fprintf(f, "\n");
        }
        sent++;
    }
    fclose(f);

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "\"%s\" \"%s/tests/oracle/ops_oracle.py\" \"%s\" \"%s\"", CG_PYTHON,
             CG_SOURCE_DIR, in_path, out_path);
    fflush(stdout);
    fflush(stderr);
    int st = system(cmd);
    bool keep = getenv("CGRAD_KEEP_ORACLE_FILES") != NULL;
    if (keep) fprintf(stderr, "  oracle files kept: %s %s\n", in_path, out_path);
    if (st != 0) {
        snprintf(oracle_msg, sizeof oracle_msg,
                 "the PyTorch oracle failed (system() status %d): `%s` must be able to "
                 "`import torch` (see the message above); these tests do not skip",
                 st, cmd);
        if (!keep) unlink(in_path), unlink(out_path);
        return;
    }
    FILE *r = fopen(out_path, "r");
    if (!r) {
        snprintf(oracle_msg, sizeof oracle_msg, "cannot read the oracle's output %s", out_path);
        if (!keep) unlink(in_path), unlink(out_path);
        return;
    }
    tcase *c = NULL;
    int got = 0, bad = 0;
    char *line;
    while ((line = read_line(r))) {
        char *tok = strtok(line, " ");
        if (!tok) {
            free(line);
            continue;
        }
        if (strcmp(tok, "R") == 0) {
            char *id = strtok(NULL, " "), *st2 = strtok(NULL, " ");
            int i = id ? atoi(id) : -1;
            c = i >= 0 && i < n_cases ? &cases[i] : NULL;
            if (!c || !st2) {
                bad++;
                c = NULL;
            } else {
                c->t_done = true;
                got++;
                if (strcmp(st2, "ERR") == 0) {
                    char *rest = strtok(NULL, "");
                    c->t_err = xstrdup(rest ? rest : "(no message)");
                }
            }
        } else if (c && strcmp(tok, "O") == 0) {
            if (parse_tdata(strtok(NULL, " "), &c->t_out)) bad++;
        } else if (c && strcmp(tok, "G") == 0) {
            char *k = strtok(NULL, " ");
            int ki = k ? atoi(k) : -1;
            char *dtok = strtok(NULL, " ");
            if (ki < 0 || ki >= c->n_in || !dtok)
                bad++;
            else if (strcmp(dtok, "None") != 0 && parse_tdata(dtok, &c->t_grad[ki]))
                bad++;
        } else if (c && strcmp(tok, "N") == 0) {
            char *rest = strtok(NULL, "");
            c->t_graph = xstrdup(rest ? rest : "");
        } else {
            bad++;
        }
        free(line);
    }
    fclose(r);
    if (!keep) unlink(in_path), unlink(out_path);
    if (got != sent || bad) {
        snprintf(oracle_msg, sizeof oracle_msg,
                 "the oracle answered %d of %d cases (%d malformed lines)", got, sent, bad);
        return;
    }
    oracle_state = 1;
}

static int n_reported; /* failures printed by the running test */

#define NEED_ORACLE()                                                                              \
    do {                                                                                           \
        n_reported = 0;                                                                            \
        run_oracle();                                                                              \
        if (oracle_state != 1) {                                                                   \
            FAIL_("%s", oracle_msg);                                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------- comparing */

#define MAX_REPORTS 300

static void report(const tcase *c, const char *fmt, ...) {
    cg_test_failed_ = 1;
    if (++n_reported > MAX_REPORTS) {
        if (n_reported == MAX_REPORTS + 1)
            fprintf(stderr, "  ... (further failures not printed)\n");
        return;
    }
    char d[512];
    case_desc(d, sizeof d, c);
    fprintf(stderr, "  %s: ", d);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* cg vs torch, one tensor. big: the largest numel in the case, which bounds
 * the length of the sums behind an element (the tolerance grows with it). */
static bool compare(const tcase *c, const char *what, const tdata *g, const tdata *t, int64_t big) {
    char a[128], b[128];
    if (g->dt != t->dt) {
        report(c, "%s: dtype %s, torch %s", what, dt_name(g->dt), dt_name(t->dt));
        return false;
    }
    if (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)g->ndim)) {
        shape_str(a, sizeof a, g->ndim, g->shape);
        shape_str(b, sizeof b, t->ndim, t->shape);
        report(c, "%s: shape %s, torch %s", what, a, b);
        return false;
    }
    double mag = 1, red = (double)(t->n > 0 && big > t->n ? big / t->n : 1);
    for (int64_t i = 0; i < t->n; i++)
        if (isfinite(t->v[i]) && fabs(t->v[i]) > mag) mag = fabs(t->v[i]);
    double rtol = 0, atol = 0;
    if (t->dt == CG_FLOAT32) rtol = 1e-5, atol = 1e-6 * mag * red;
    if (t->dt == CG_FLOAT64) rtol = 1e-10, atol = 1e-11 * mag * red;
    int64_t worst = -1;
    double worst_ex = 0;
    int nbad = 0;
    for (int64_t i = 0; i < t->n; i++) {
        double x = g->v[i], y = t->v[i];
        if (x == y || (isnan(x) && isnan(y))) continue;
        double tol = atol + rtol * fabs(y), diff = fabs(x - y);
        if (diff <= tol) continue;
        nbad++;
        double ex = isnan(diff) ? INFINITY : diff / (tol > 0 ? tol : 1e-300);
        if (worst < 0 || ex > worst_ex) worst = i, worst_ex = ex;
    }
    if (worst < 0) return true;
    index_str(a, sizeof a, t, worst);
    double x = g->v[worst], y = t->v[worst];
    report(c,
           "%s: %d of %lld elements differ; worst at %s: cgrad %.10g, torch %.10g "
           "(|diff| %.3g, tol %.3g)",
           what, nbad, (long long)t->n, a, x, y, fabs(x - y), atol + rtol * fabs(y));
    return false;
}

static int64_t case_big(const tcase *c) {
    int64_t big = c->out.n;
    for (int k = 0; k < c->n_in; k++)
        if (c->in[k].n > big) big = c->in[k].n;
    return big;
}

/* ------------------------------------------------------------------ tests */

TEST(spec_table_matches_op_table) {
    for (int r = 0; r < CG_OP_COUNT; r++) {
        const op_spec *s = &specs[r];
        ASSERT_STR_EQ(s->id, row_ids[r]);
        if (r != CG_OP_CUSTOM) /* a custom node carries its function's name */
            ASSERT_STR_EQ(s->name, cg__op_table[r].name);
        ASSERT_NOT_NULL(s->var);
        if (s->not_an_op) {
            ASSERT_NULL(s->var[0].py);
            continue;
        }
        ASSERT_NOT_NULL(s->var[0].py); /* every op row has a variant */
        for (int vi = 0; s->var[vi].py; vi++) {
            const spec_var *v = &s->var[vi];
            ASSERT_NOT_NULL(v->probe);
            ASSERT_NOT_NULL(v->shapes[0]);
            int n_in = spec_n_in(v);
            ASSERT(n_in >= 1 && n_in <= SPEC_MAX_IN);
            for (int si = 0; si < SPEC_MAX_SHAPES && v->shapes[si]; si++) {
                int nd[SPEC_MAX_IN];
                int64_t sh[SPEC_MAX_IN][CG_MAX_DIMS];
                if (spec_parse_shapes(v->shapes[si], nd, sh) != n_in) {
                    FAIL_("%s '%s': shape set \"%s\" does not give %d input(s)", s->id, v->py,
                          v->shapes[si], n_in);
                    return;
                }
            }
        }
    }
}

TEST(forward_and_gradients_match_torch) {
    NEED_ORACLE();
    int n = 0, nfail = 0;
    int per_row[CG_OP_COUNT] = {0}, fail_row[CG_OP_COUNT] = {0};
    for (int i = 0; i < n_cases; i++) {
        tcase *c = &cases[i];
        if (c->mode != MODE_GRAD) continue;
        n++;
        per_row[c->row]++;
        int before = n_reported;
        if (c->err) {
            report(c, "cgrad error: %s", c->err);
        } else if (c->t_err) {
            report(c, "torch rejected the spec: %s", c->t_err);
        } else {
            int64_t big = case_big(c);
            compare(c, "output", &c->out, &c->t_out, big);
            for (int k = 0; k < c->n_in; k++) {
                char what[32];
                snprintf(what, sizeof what, "grad[%d] (%c)", k, "abc"[k]);
                if (c->grad[k].present != c->t_grad[k].present)
                    report(c, "%s: cgrad %s, torch %s", what, c->grad[k].present ? "set" : "None",
                           c->t_grad[k].present ? "set" : "None");
                else if (c->grad[k].present)
                    compare(c, what, &c->grad[k], &c->t_grad[k], big);
            }
        }
        if (n_reported != before) nfail++, fail_row[c->row]++;
    }
    printf("  values and gradients: %d cases, %d failed\n", n, nfail);
    for (int r = 0; r < CG_OP_COUNT; r++)
        if (fail_row[r])
            printf("    %-16s %d of %d cases failed\n", row_ids[r], fail_row[r], per_row[r]);
}

static void root_name(char *buf, size_t n, const char *graph) {
    size_t k = 0;
    while (graph[k] && graph[k] != ' ' && k + 1 < n) k++;
    memcpy(buf, graph, k);
    buf[k] = '\0';
    char *colon = strrchr(buf, ':');
    if (colon && colon != buf && colon[-1] != ':') *colon = '\0';
}

/* Whether graph has a node called name ("name:nr" token). */
static bool graph_has(const char *graph, const char *name) {
    size_t n = strlen(name);
    for (const char *p = graph; (p = strstr(p, name)); p += n)
        if ((p == graph || p[-1] == ' ') && p[n] == ':' && p[n + 1] != ':') return true;
    return false;
}

TEST(node_names_and_graphs_match_torch) {
    NEED_ORACLE();
    int n = 0, nfail = 0;
    bool leaf_seen = false;
    const char *leaf_name = NULL;
    for (int r = 0; r < CG_OP_COUNT; r++)
        if (specs[r].not_an_op) leaf_name = specs[r].name;
    for (int i = 0; i < n_cases; i++) {
        tcase *c = &cases[i];
        if (c->mode != MODE_GRAD || c->err || c->t_err || !c->graph || !c->t_graph) continue;
        n++;
        int before = n_reported;
        char g[128], t[128];
        root_name(g, sizeof g, c->graph);
        root_name(t, sizeof t, c->t_graph);
        if (strcmp(g, t) != 0)
            report(c, "grad_fn is %s, torch's is %s", g, t);
        else if (strcmp(c->graph, c->t_graph) != 0)
            report(c, "autograd graph differs:\n      cgrad: %s\n      torch: %s", c->graph,
                   c->t_graph);
        const char *row = specs[c->row].name;
        if (!graph_has(c->t_graph, row))
            report(c, "spec error: torch's graph has no %s: %s", row, c->t_graph);
        else if (!graph_has(c->graph, row))
            report(c, "the row's node %s is not in the graph: %s", row, c->graph);
        if (leaf_name && graph_has(c->t_graph, leaf_name)) leaf_seen = true;
        if (n_reported != before) nfail++;
    }
    printf("  node names and graphs: %d cases, %d failed\n", n, nfail);
    ASSERT_GT(n, 0);
    /* the not-an-op row (AccumulateGrad) must be named as torch names it */
    ASSERT_NOT_NULL(leaf_name);
    ASSERT(leaf_seen);
}

TEST(dtypes_and_promotion_match_torch) {
    NEED_ORACLE();
    int n = 0, nfail = 0;
    for (int i = 0; i < n_cases; i++) {
        tcase *c = &cases[i];
        if (c->mode != MODE_FWD) continue;
        n++;
        int before = n_reported;
        if (c->err && !c->t_err)
            report(c, "cgrad failed, torch did not:\n      cgrad: %s", c->err);
        else if (!c->err && c->t_err)
            report(c, "torch failed, cgrad did not (result %s):\n      torch: %s",
                   dt_name(c->out.dt), c->t_err);
        else if (!c->err)
            compare(c, "output", &c->out, &c->t_out, case_big(c));
        if (n_reported != before) nfail++;
    }
    printf("  dtypes (forward only): %d cases, %d failed\n", n, nfail);
}

TEST_MAIN(spec_table_matches_op_table, forward_and_gradients_match_torch,
          node_names_and_graphs_match_torch, dtypes_and_promotion_match_torch)
