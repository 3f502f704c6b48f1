/* Random autograd programs, run in cgrad and in live PyTorch, compared.
 *
 * A seeded generator builds each program step by step while running it in
 * cgrad: leaves of float32/float64/int64/bool with 0-4 dims (size-0 and
 * size-1 dims, non-contiguous ones), 5-30 steps drawn from
 *   - the op table: a row of src/ops/ops.def and one of its variants from the
 *     spec table (tests/op_specs*.h: the C probe and the torch expression),
 *     so a new row joins here as soon as it has its spec; its inputs are
 *     earlier results where shapes allow, new leaves otherwise (elementwise
 *     rows take any earlier result and a broadcastable partner);
 *   - in-place writes (arithmetic, activations, zero_, fill_, clamp_, copy_,
 *     masked_fill_), directly or through a view (t(), squeeze(),
 *     unsqueeze(0), transpose(0, -1));
 *   - detach(), detach_(), requires_grad_(), no_grad regions;
 *   - autograd.grad(y.sum(), leaf, create_graph=True), whose result later
 *     steps use (so later backwards differentiate twice);
 * then the sum of every result that requires grad is differentiated with
 * backward(). Every step's Python twin is written to a file that
 * tests/oracle/random_programs_oracle.py runs in torch; each step's result
 * (dtype, requires_grad, is_leaf, grad_fn name, shape, contiguity, values)
 * or error, the final values of every register and every leaf's .grad must
 * agree: values within a tolerance (NaN = NaN), errors both or neither, with
 * the same message.
 *
 * Known differences are excluded by name, narrowly (docs/design.md,
 * "Deviations from PyTorch"); the test prints how many programs each
 * exclusion cut short:
 *   layout   cgrad's elementwise results are contiguous where torch keeps
 *            the input's stride order: once torch reports a non-contiguous
 *            result that cgrad made contiguous, the rest of the program
 *            (views of it, reshape's node names) is not compared;
 *   multiview  an output of split/chunk/unbind written in place, or its
 *            base written and the output used in the backward: torch
 *            refuses even to print its grad_fn afterwards (or to run the
 *            backward), cgrad does not track multi-output views that far;
 *            the rest of the program is cut.
 *   no-grad-view  torch refuses the history of a view made under no_grad
 *            once its base was written in place in grad mode ("A view was
 *            created in no_grad mode and its base ..."); cgrad refuses only
 *            the direct write; the rest of the program is cut.
 *   torch-assert  torch fails an internal assert: the rest is cut.
 *   grad-leak  torch 1.13's autograd.grad accumulated into a leaf's .grad
 *            (it does through a CopySlices): the rest is cut.
 *   nll-create-graph  torch's nll_loss backward takes (and saves) the input,
 *            so an autograd.grad(create_graph=True) through it requires
 *            grad; cgrad's nll_loss saves only the target: cut.
 *   noncontiguous-base  cgrad records an in-place write through a view, and
 *            regenerates a stale view's history, only over a contiguous
 *            base (the view's positions are offsets in it); it refuses the
 *            write ("apply it to a clone") and keeps the stale history: cut.
 *   torch-dtype  torch 1.13's engine refuses a gradient of the wrong dtype
 *            that one of its own formulas returned ("Found dtype Float but
 *            expected Double"); cgrad's engine casts: the rest is cut.
 *   torch-baddbmm-beta0  torch 1.13's CPU baddbmm with beta=0 reads memory
 *            it never wrote (elements of its result are not alpha * b1 @ b2,
 *            and differ from run to run): the oracle refuses such a result,
 *            the rest is cut.
 * Not generated: masked_fill_ into an expanded tensor (torch writes the
 * masked elements of the shared memory, cgrad copies a whole result back;
 * torch deprecates the use).
 * Error messages that differ by design (the error itself must agree):
 *   attention: the spec's torch expression composes it of matmul and
 *            softmax, so its first failing check is another one;
 *   select(): t[i] in the spec's torch expression is cg_select in C, whose
 *            message is torch's select()'s, not its indexing's;
 *   saved tensors: when several saved tensors were overwritten, the order
 *            of the nodes decides whose "modified by an inplace operation"
 *            error comes first; and the message names the node that made
 *            the saved tensor when it was saved where torch names the one
 *            that made it last (they differ after t.mul_(t)); after such a
 *            failed final backward the leaves' .grad are not compared.
 *
 * CGRAD_RANDOM_PROGRAMS=N and CGRAD_RANDOM_SEED=S change the count and the
 * seed, CGRAD_RANDOM_ONLY=I runs program I alone; CGRAD_KEEP_ORACLE_FILES=1
 * keeps the exchanged files. */
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

#define CG_OP(id, name, bwd, fwd) #id,
static const char *const row_ids[] = {
#include "ops/ops.def"
};
#undef CG_OP

enum { N_ROWS = sizeof specs / sizeof specs[0] };

/* ------------------------------------------------------------ text buffers */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_vadd(sbuf *b, const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int k = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + (size_t)k + 1 > cap) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) abort();
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    b->n += (size_t)k;
}

static void sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sb_vadd(b, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------- families, from the .def files */

static char row_family[N_ROWS][32];

/* The family of each row: the .def file (included by ops.def) that holds it */
static void read_families(void) {
    char path[1024], line[1024], fam[32] = "ops";
    snprintf(path, sizeof path, "%s/src/ops/ops.def", CG_SOURCE_DIR);
    FILE *top = fopen(path, "r");
    if (!top) return;
    for (int pass = 0; fgets(line, sizeof line, top); pass++) {
        char inc[256];
        FILE *f = NULL;
        if (sscanf(line, "#include \"%255[^\"]\"", inc) == 1) {
            snprintf(path, sizeof path, "%s/src/ops/%s", CG_SOURCE_DIR, inc);
            snprintf(fam, sizeof fam, "%.*s", (int)strcspn(inc, "."), inc);
            f = fopen(path, "r");
        }
        char l2[1024];
        for (const char *s = line; s; s = f && fgets(l2, sizeof l2, f) ? l2 : NULL) {
            char id[128];
            if (sscanf(s, "CG_OP(%127[A-Z0-9_],", id) != 1) continue;
            for (int r = 0; r < N_ROWS; r++)
                if (!strcmp(row_ids[r], id))
                    snprintf(row_family[r], sizeof row_family[r], "%s", f ? fam : "ops");
        }
        if (f) fclose(f);
    }
    fclose(top);
}

/* -------------------------------------------------------------------- rng */

static uint64_t rng_state;
static uint64_t rnd(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int uni(int n) { return n > 0 ? (int)(rnd() % (uint64_t)n) : 0; }
static bool coin(double p) { return (double)(rnd() >> 11) / 9007199254740992.0 < p; }

/* ------------------------------------------------------------ a program */

#define MAX_REGS 128

typedef struct {
    cg_tensor *reg[MAX_REGS]; /* r<k>: NULL when unbound (an error) */
    bool leaf[MAX_REGS];      /* made by a leaf step */
    bool composed[MAX_REGS];  /* made by a row torch composes of several ops */
    bool any_name[MAX_REGS];  /* an autograd.grad result: its node's name is not compared */
    bool nc_base[MAX_REGS];   /* a view of a non-contiguous base (at the end, or when it failed) */
    int n;                    /* registers used so far */
    bool grad_on;
    bool failed_backward; /* the final backward failed: .grad is not compared */
    sbuf text;            /* the program for the oracle */
    sbuf rec;             /* cgrad's records, as the oracle writes them */
} prog;

static const char *dt_name(cg_dtype d) {
    static const char *n[] = {"float32", "float64", "int64", "bool"};
    return n[d];
}

/* "<dtype> <rg> <leaf> <grad_fn> <nd> <shape...> c<contiguous> s<strides> :
 * <values>" */
static void put_desc(sbuf *b, cg_tensor *t, bool any_name) {
    sb_add(b, "%s %d %d %s %d", dt_name(cg_dtype_of(t)), cg_requires_grad(t), cg_is_leaf(t),
           any_name ? "*" : cg_node_name(cg_grad_fn(t)), cg_ndim(t));
    for (int d = 0; d < cg_ndim(t); d++) sb_add(b, " %lld", (long long)cg_shape(t)[d]);
    /* the layout: contiguity, and the strides that matter ("-" for a dim
     * of size 1 and for every dim of an empty tensor) */
    sb_add(b, " c%d s", cg_is_contiguous(t));
    for (int d = 0; d < cg_ndim(t); d++) {
        bool any = cg_shape(t)[d] <= 1 || cg_numel(t) == 0;
        if (any)
            sb_add(b, "%s-", d ? "," : "");
        else
            sb_add(b, "%s%lld", d ? "," : "", (long long)cg_strides(t)[d]);
    }
    sb_add(b, " :");
    cg_tensor *c = NULL;
    CG_NO_GRAD { c = cg_contiguous(cg_to(cg_detach(t), CG_FLOAT64)); }
    const double *p = c ? cg_data_ptr(c) : NULL;
    for (int64_t i = 0; p && i < cg_numel(c); i++) sb_add(b, " %a", p[i]);
}

/* A step: its Python statement (binding r<k> when k >= 0), and cgrad's
 * result t (NULL: the error cgrad set; none_ok: a NULL that means None) */
static void record(prog *P, int k, cg_tensor *t, bool none_ok, bool any_name) {
    if (k < 0) return;
    P->any_name[k] = any_name;
    if (t) {
        P->reg[k] = t;
        sb_add(&P->rec, "R %d OK ", k);
        put_desc(&P->rec, t, any_name);
        sb_add(&P->rec, "\n");
    } else if (none_ok) {
        sb_add(&P->rec, "R %d NONE\n", k);
    } else {
        const char *e = cg_last_error();
        sb_add(&P->rec, "R %d ERR %s\n", k, e ? e : "(no message)");
    }
    cg_clear_error();
}

static int new_reg(prog *P) { return P->n < MAX_REGS ? P->n++ : -1; }

static void stmt(prog *P, int k, const char *fmt, ...) {
    sb_add(&P->text, "X %d ", k);
    va_list ap;
    va_start(ap, fmt);
    sb_vadd(&P->text, fmt, ap);
    va_end(ap);
    sb_add(&P->text, "\n");
}

/* a leaf: values on a grid of quarters (exact in float32, ties for max and
 * kinks at 0 are reached), int64 in [lo, hi), bool at random */
static int leaf(prog *P, cg_dtype dt, int nd, const int64_t *shape, bool rg, int64_t lo,
                int64_t hi) {
    int k = new_reg(P);
    if (k < 0) return -1;
    bool nc = nd >= 2 && coin(0.3);
    int64_t n = cg__numel(nd, shape);
    double *v = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!v) abort();
    sb_add(&P->text, "L %d %s %d %d %d", k, dt_name(dt), rg, nc, nd);
    for (int d = 0; d < nd; d++) sb_add(&P->text, " %lld", (long long)shape[d]);
    for (int64_t i = 0; i < n; i++) {
        if (dt == CG_BOOL)
            v[i] = coin(0.5);
        else if (dt == CG_INT64)
            v[i] = (double)(lo + uni((int)(hi - lo)));
        else
            v[i] = coin(0.05) ? 0 : (uni(17) - 8) / 4.0;
        sb_add(&P->text, " %a", v[i]);
    }
    sb_add(&P->text, "\n");
    cg_tensor *t = cg_to(cg_from_data(v, nd, shape, CG_FLOAT64), dt);
    free(v);
    if (nc) {
        int rev[CG_MAX_DIMS];
        for (int d = 0; d < nd; d++) rev[d] = nd - 1 - d;
        t = cg_detach(cg_permute(cg_contiguous(cg_permute(t, nd, rev)), nd, rev)); /* not a view */
    }
    if (rg) cg_requires_grad_(t, true);
    P->reg[k] = t;
    P->leaf[k] = true;
    return k;
}

static cg_dtype float_dtype(void) { return coin(0.5) ? CG_FLOAT32 : CG_FLOAT64; }

static int float_leaf(prog *P, int nd, const int64_t *shape) {
    cg_dtype dt = float_dtype(); /* one draw per statement: the same program from every compiler */
    return leaf(P, dt, nd, shape, coin(0.7), 0, 0);
}

/* a random shape: 0-4 dims of 0-3 (a 0 rarely) */
static int random_shape(int64_t *shape) {
    int nd = uni(5);
    for (int d = 0; d < nd; d++) shape[d] = coin(0.08) ? 0 : 1 + uni(3);
    return nd;
}

/* a bound register chosen at random among those pick() accepts, or -1 */
static int pick(prog *P, bool (*ok)(const cg_tensor *, const void *), const void *ctx) {
    int c[MAX_REGS], n = 0;
    for (int k = 0; k < P->n; k++)
        if (P->reg[k] && (!ok || ok(P->reg[k], ctx))) c[n++] = k;
    return n ? c[uni(n)] : -1;
}

typedef struct {
    int nd;
    const int64_t *shape;
} shape_want;

static bool is_float(const cg_tensor *t, const void *ctx) {
    CG_UNUSED(ctx);
    return cg_dtype_is_floating(cg_dtype_of(t));
}
static bool has_shape(const cg_tensor *t, const void *ctx) {
    const shape_want *w = ctx;
    return cg_ndim(t) == w->nd && !memcmp(cg_shape(t), w->shape, sizeof(int64_t) * (size_t)w->nd);
}
static bool has_float_shape(const cg_tensor *t, const void *ctx) {
    return is_float(t, NULL) && has_shape(t, ctx);
}
static bool wants_grad(const cg_tensor *t, const void *ctx) {
    CG_UNUSED(ctx);
    return is_float(t, NULL) && cg_requires_grad(t);
}
static bool grad_leaf(const cg_tensor *t, const void *ctx) {
    CG_UNUSED(ctx);
    return wants_grad(t, NULL) && cg_is_leaf(t);
}

/* "3,4|4" -> input i's shape ("()" is 0-d); its ndim */
static int spec_shape(const char *s, int i, int64_t *shape) {
    for (; i > 0 && s; i--) s = strchr(s, '|') ? strchr(s, '|') + 1 : NULL;
    if (!s || *s == '(') return 0;
    int nd = 0;
    while (*s && *s != '|' && nd < CG_MAX_DIMS) {
        shape[nd++] = strtoll(s, (char **)&s, 10);
        if (*s == ',') s++;
    }
    return nd;
}

/* --------------------------------------------------------- op-table steps */

static int op_steps[N_ROWS];

static bool usable_row(int r) { return !specs[r].not_an_op && specs[r].var && specs[r].var[0].py; }

/* input i of a row's step (domain d, the spec's shape), as a register */
static int op_input(prog *P, const spec_var *v, int i, int nd, const int64_t *shape, int first) {
    char d = v->dom[i];
    if (d == 'C') return leaf(P, CG_BOOL, nd, shape, false, 0, 0);
    if (d == 'I') return leaf(P, CG_INT64, nd, shape, false, 0, v->ihi > 0 ? v->ihi : 2);
    shape_want w = {nd, shape};
    int k = coin(0.75) ? pick(P, has_float_shape, &w) : -1;
    if (k < 0 && coin(0.1)) k = pick(P, has_shape, &w); /* int64 and bool: promotion */
    if (k == first && coin(0.7)) k = -1;
    return k >= 0 ? k : float_leaf(P, nd, shape);
}

static void op_step(prog *P) {
    int r;
    do r = uni(N_ROWS);
    while (!usable_row(r));
    const op_spec *s = &specs[r];
    int nv = 0, ns = 0;
    while (s->var[nv].py) nv++;
    const spec_var *v = &s->var[uni(nv)];
    /* a probe running its own autograd.grad turns grad mode on (gradcheck
     * calls probes under no_grad), where torch's expression does not */
    if (!P->grad_on && strstr(v->py, "torch.autograd.grad(")) return;
    while (ns < SPEC_MAX_SHAPES && v->shapes[ns]) ns++;
    const char *shapes = ns ? v->shapes[uni(ns)] : "";
    int n_in = (int)strlen(v->dom), in[SPEC_MAX_IN] = {-1, -1, -1};
    /* elementwise rows: any earlier result, and partners of its shape */
    int64_t sh[CG_MAX_DIMS];
    /* an expression that indexes or transposes assumes the spec's shapes */
    bool any_shape = (s->cat == 'U' || s->cat == 'B') && !strchr(v->py, '[') &&
                     !strstr(v->py, ".t()");
    int first = any_shape && coin(0.5) ? pick(P, is_float, NULL) : -1;
    for (int i = 0; i < n_in; i++) {
        int nd = spec_shape(shapes, i, sh);
        if (first >= 0) {
            nd = cg_ndim(P->reg[first]);
            memcpy(sh, cg_shape(P->reg[first]), sizeof(int64_t) * (size_t)nd);
            for (int d = 0; i > 0 && d < nd; d++)
                if (coin(0.2)) sh[d] = 1; /* broadcast */
        }
        in[i] = i == 0 && first >= 0 && v->dom[0] != 'C' && v->dom[0] != 'I'
                    ? first
                    : op_input(P, v, i, nd, sh, in[0]);
        if (in[i] < 0) return;
    }
    int k = new_reg(P);
    if (k < 0) return;
    char arg[3][16];
    for (int i = 0; i < 3; i++) snprintf(arg[i], sizeof arg[i], i < n_in ? "r%d" : "None", in[i]);
    stmt(P, k,
         "r%d = (lambda a, b, c, odt: %s)(%s, %s, %s, torch.float32 if %s is not None and %s.dtype "
         "== torch.float64 else torch.float64)",
         k, v->py, arg[0], arg[1], arg[2], arg[0], arg[0]);
    cg_tensor *t[SPEC_MAX_IN] = {0};
    for (int i = 0; i < n_in; i++) t[i] = P->reg[in[i]];
    op_steps[r]++;
    P->composed[k] = strstr(v->py, "softmax") && strstr(v->py, "matmul"); /* attention */
    record(P, k, v->probe(t, v), false, false);
}

/* -------------------------------------------------------- in-place steps */

/* do two of t's elements share memory (an expanded tensor)? */
static bool overlapping(const cg_tensor *t) {
    for (int d = 0; d < cg_ndim(t); d++)
        if (cg_shape(t)[d] > 1 && cg_strides(t)[d] == 0) return true;
    return false;
}

static const double SCALARS[] = {2, -0.5, 1.5, 0.25, -3};

/* through a view of r<x>: python suffix and the view (NULL: x itself) */
static const char *view_of(prog *P, int x, cg_tensor **out) {
    cg_tensor *t = P->reg[x];
    int nd = cg_ndim(t);
    switch (uni(6)) {
    case 1:
        if (nd > 2) break;
        *out = cg_t(t);
        return ".t()";
    case 2: *out = cg_squeeze(t); return ".squeeze()";
    case 3: *out = cg_unsqueeze(t, 0); return ".unsqueeze(0)";
    case 4:
        if (nd < 1) break;
        *out = cg_transpose(t, 0, -1);
        return ".transpose(0, -1)";
    default: break;
    }
    *out = t;
    return "";
}

static void inplace_step(prog *P) {
    int x = pick(P, is_float, NULL);
    if (x < 0) return;
    cg_tensor *t;
    const char *via = view_of(P, x, &t);
    double s = SCALARS[uni(5)];
    int op = uni(16), other = -1;
    if (op == 15 && t && overlapping(t)) return; /* see "masked_fill_" at the top */
    if (op == 15 && t && overlapping(t)) return; /* see "masked_fill_" at the top */
    if (op >= 12 && t) { /* a second operand of the view's shape (or a mask) */
        shape_want w = {cg_ndim(t), cg_shape(t)};
        other = op == 15 ? leaf(P, CG_BOOL, w.nd, w.shape, false, 0, 0)
                         : (coin(0.6) ? pick(P, has_float_shape, &w) : -1);
        if (other < 0) other = float_leaf(P, w.nd, w.shape);
        if (other < 0) return;
    }
    int k = new_reg(P);
    if (k < 0) return;
    cg_tensor *b = other >= 0 ? P->reg[other] : NULL, *r = NULL;
    static const char *names[] = {"add_",     "sub_", "mul_",  "div_",        "relu_", "tanh_",
                                  "sigmoid_", "exp_", "neg_",  "zero_",       "fill_", "clamp_",
                                  "add_",     "mul_", "copy_", "masked_fill_"};
    switch (op) {
    case 0: r = cg_add_scalar_(t, s); break;
    case 1: r = cg_sub_scalar_(t, s); break;
    case 2: r = cg_mul_scalar_(t, s); break;
    case 3: r = cg_div_scalar_(t, s); break;
    case 4: r = cg_relu_(t); break;
    case 5: r = cg_tanh_(t); break;
    case 6: r = cg_sigmoid_(t); break;
    case 7: r = cg_exp_(t); break;
    case 8: r = cg_neg_(t); break;
    case 9: r = cg_zero_(t); break;
    case 10: r = cg_fill_(t, s); break;
    case 11: r = cg_clamp_(t, -1, 1); break;
    case 12: r = cg_add_(t, b); break;
    case 13: r = cg_mul_(t, b); break;
    case 14: r = cg_copy_(t, b); break;
    default: r = cg_masked_fill_(t, b, s); break;
    }
    char args[64] = "";
    if (op <= 3 || op == 10)
        snprintf(args, sizeof args, "%.17g", s);
    else if (op == 11)
        snprintf(args, sizeof args, "-1, 1");
    else if (op == 15)
        snprintf(args, sizeof args, "r%d, %.17g", other, s);
    else if (op >= 12)
        snprintf(args, sizeof args, "r%d", other);
    stmt(P, k, "r%d = r%d%s.%s(%s)", k, x, via, names[op], args);
    record(P, k, r, false, false);
}

/* ------------------------------------------------ autograd-state steps */

static void detach_step(prog *P) {
    int x = pick(P, NULL, NULL), k = x >= 0 ? new_reg(P) : -1;
    if (k < 0) return;
    cg_tensor *t = P->reg[x], *r;
    const char *how;
    switch (uni(3)) {
    case 0: r = cg_detach(t), how = "detach()"; break;
    case 1: r = cg_detach_(t), how = "detach_()"; break;
    default: r = cg_requires_grad_(t, true), how = "requires_grad_()"; break;
    }
    stmt(P, k, "r%d = r%d.%s", k, x, how);
    record(P, k, r, false, false);
}

/* autograd.grad(y.sum(), leaf, create_graph=True, allow_unused=True) */
static void grad_step(prog *P) {
    int y = pick(P, wants_grad, NULL), x = pick(P, grad_leaf, NULL);
    int k = y >= 0 && x >= 0 ? new_reg(P) : -1;
    if (k < 0) return;
    stmt(P, k, "r%d = GRAD(r%d, r%d)", k, y, x);
    cg_tensor *out = cg_sum(P->reg[y]), *g = NULL, *leafx = P->reg[x];
    int rc = out ? cg_autograd_grad(1, &out, NULL, 1, &leafx, CG_CREATE_GRAPH | CG_ALLOW_UNUSED, &g)
                 : -1;
    record(P, k, rc == 0 ? g : NULL, rc == 0, true);
}

static void set_grad_mode(prog *P, bool on) {
    stmt(P, -1, "torch.set_grad_enabled(%s)", on ? "True" : "False");
    cg_set_grad_enabled(on);
    P->grad_on = on;
}

/* loss = the sum of every result that requires grad; loss.backward() */
static void final_backward(prog *P) {
    int k = new_reg(P);
    if (k < 0) return;
    sbuf py = {0};
    cg_tensor *loss = NULL;
    for (int j = 0; j < k; j++) {
        if (!P->reg[j] || !wants_grad(P->reg[j], NULL)) continue;
        sb_add(&py, "%sr%d.sum()", py.n ? " + " : "", j);
        cg_tensor *s = cg_sum(P->reg[j]);
        loss = loss ? cg_add(loss, s) : s;
    }
    if (loss) {
        stmt(P, k, "r%d = %s", k, py.s);
        record(P, k, loss, false, false);
        if (P->reg[k]) {
            stmt(P, k, "r%d.backward()", k);
            bool ok = cg_backward(loss, NULL, false) == 0;
            if (!ok) P->reg[k] = NULL, P->failed_backward = true;
            record(P, k, ok ? loss : NULL, false, false);
        }
    }
    free(py.s);
}

/* the end: every register's final state, every leaf's .grad */
static void final_state(prog *P) {
    sb_add(&P->text, "F\n");
    for (int k = 0; k < P->n; k++) {
        if (!P->reg[k]) continue;
        const cg_tensor *b = P->reg[k]->base;
        P->nc_base[k] = b && !cg_is_contiguous(b);
        sb_add(&P->rec, "V %d ", k);
        put_desc(&P->rec, P->reg[k], P->any_name[k]);
        sb_add(&P->rec, "\n");
    }
    for (int k = 0; k < P->n; k++) {
        if (!P->leaf[k]) continue;
        cg_tensor *g = cg_grad(P->reg[k]);
        sb_add(&P->rec, "G %d ", k);
        if (P->failed_backward)
            sb_add(&P->rec, "skipped");
        else if (g)
            put_desc(&P->rec, g, false);
        else
            sb_add(&P->rec, "None");
        sb_add(&P->rec, "\n");
    }
}

static void generate(prog *P, uint64_t seed) {
    rng_state = seed;
    sb_add(&P->text, "P %llu\n", (unsigned long long)seed);
    P->grad_on = true;
    cg_set_grad_enabled(true);
    for (int i = 0, n = 1 + uni(3); i < n; i++) {
        int64_t sh[CG_MAX_DIMS];
        int nd = random_shape(sh);
        cg_dtype dt = coin(0.15) ? (coin(0.5) ? CG_INT64 : CG_BOOL) : float_dtype();
        leaf(P, dt, nd, sh, cg_dtype_is_floating(dt) && coin(0.8), -3, 4);
    }
    int steps = 5 + uni(26), no_grad_left = 0;
    for (int i = 0; i < steps; i++) {
        if (P->grad_on && coin(0.08)) {
            set_grad_mode(P, false);
            no_grad_left = 1 + uni(4);
        } else if (!P->grad_on && --no_grad_left <= 0) {
            set_grad_mode(P, true);
        }
        int c = uni(100);
        if (c < 60)
            op_step(P);
        else if (c < 82)
            inplace_step(P);
        else if (c < 90)
            detach_step(P);
        else if (P->grad_on)
            grad_step(P);
    }
    if (!P->grad_on) set_grad_mode(P, true);
    final_backward(P);
    final_state(P);
}

/* ------------------------------------------------------------ comparing */

/* do two value lists (after ':') agree for dtype dt? */
static bool values_agree(const char *a, const char *b, const char *dt) {
    bool f32 = !strcmp(dt, "float32"), f64 = !strcmp(dt, "float64");
    /* float64 results may carry float32 rounding (a float32 input converted) */
    double rtol = f32 ? 2e-3 : f64 ? 1e-4 : 0, atol = f32 ? 1e-4 : f64 ? 1e-8 : 0;
    for (;;) {
        char *ea, *eb;
        double x = strtod(a, &ea), y = strtod(b, &eb);
        if (ea == a || eb == b) return ea == a && eb == b;
        a = ea, b = eb;
        if (isnan(x) || isnan(y)) {
            if (isnan(x) != isnan(y)) return false;
            continue;
        }
        if (isinf(x) || isinf(y)) {
            if (x != y) return false;
            continue;
        }
        double m = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
        if (fabs(x - y) > atol + rtol * m) return false;
    }
}

/* SAME, DIFFERENT, or the exclusion that cuts the program short */
typedef enum {
    SAME,
    DIFFERENT,
    LAYOUT,
    MULTIVIEW,
    NO_GRAD_VIEW,
    TORCH_ASSERT,
    GRAD_LEAK,
    TORCH_DTYPE,
    NLL_CREATE_GRAPH,
    NONCONTIGUOUS_BASE,
    TORCH_BADDBMM,
    N_VERDICTS
} verdict;
static const char *const exclusion_names[N_VERDICTS] = {[LAYOUT] = "layout",
                                                        [MULTIVIEW] = "multiview",
                                                        [NO_GRAD_VIEW] = "no-grad-view",
                                                        [TORCH_ASSERT] = "torch-assert",
                                                        [GRAD_LEAK] = "grad-leak",
                                                        [TORCH_DTYPE] = "torch-dtype",
                                                        [NLL_CREATE_GRAPH] = "nll-create-graph",
                                                        [NONCONTIGUOUS_BASE] = "noncontiguous-base",
                                                        [TORCH_BADDBMM] = "torch-baddbmm-beta0"};

typedef struct {
    int programs, steps, compared, cut[N_VERDICTS], failures, leaks;
} stats;

/* Error messages that differ by design (see the top of the file) */
static bool same_error(const char *c, const char *t, bool composed) {
    const char *ec = strstr(c, " ERR "), *et = strstr(t, " ERR ");
    if (!ec || !et) return false;
    if (composed) return true;
    if (strstr(ec, " select(): index ") && strstr(et, " is out of bounds for dimension "))
        return true;
    /* both "modified by an inplace operation": see "saved tensors" above */
    const char *m = "modified by an inplace operation: ";
    return strstr(ec, m) && strstr(et, m);
}

/* one record line: cgrad's (c) against torch's (t) */
static verdict compare_line(const char *c, const char *t, bool composed, bool P_nc_base) {
    if (!strcmp(c, t) || same_error(c, t, composed)) return SAME;
    if (strstr(t, " !multiview ") || (strstr(t, " ERR Output ") &&
                                      strstr(t, "its base or another view of its base has been "
                                                "modified inplace. This view is the output of a "
                                                "function that returns multiple views") &&
                                      !strstr(c, " ERR ")))
        return MULTIVIEW;
    if (strstr(t, " ERR A view was created in no_grad mode and its base") ||
        strstr(t, " !nogradview "))
        return NO_GRAD_VIEW;
    if (strstr(t, "INTERNAL ASSERT FAILED")) return TORCH_ASSERT;
    if (strstr(t, " ERR !grad-leak")) return GRAD_LEAK;
    if (strstr(t, " ERR !nll-create-graph")) return NLL_CREATE_GRAPH;
    if (strstr(t, " ERR !torch-baddbmm-beta0")) return TORCH_BADDBMM;
    if (strstr(c, " ERR an in-place operation recorded on a view of a non-contiguous tensor") ||
        (strstr(t, " AsStridedBackward0 ") && !strstr(c, " AsStridedBackward0 ") && P_nc_base))
        return NONCONTIGUOUS_BASE;
    if (strstr(t, " ERR Found dtype ") && strstr(t, " but expected ")) return TORCH_DTYPE;
    if (strstr(t, " ERR view size is not compatible") && !strstr(c, " ERR ")) return LAYOUT;
    const char *cc = strstr(c, " :"), *tc = strstr(t, " :"); /* (names hold "::", not " :") */
    if (!cc || !tc || strstr(c, " ERR ") || strstr(t, " ERR ")) return DIFFERENT;
    /* the heads, token by token: "*" in cgrad's matches any node name, and
     * "c1" (contiguous) against torch's "c0" is the layout difference */
    char hc[1024], ht[1024], dt[16] = "";
    snprintf(hc, sizeof hc, "%.*s", (int)(cc - c), c);
    snprintf(ht, sizeof ht, "%.*s", (int)(tc - t), t);
    char *sc, *st, *a = strtok_r(hc, " ", &sc), *b = strtok_r(ht, " ", &st);
    bool layout = false, differ = false;
    for (; a || b; a = strtok_r(NULL, " ", &sc), b = strtok_r(NULL, " ", &st)) {
        if (!a || !b) return DIFFERENT;
        if (a[0] == 's' && b[0] == 's' && strcmp(a, b))
            layout = true; /* the strides ("s1,3"), where torch keeps its inputs' order */
        else if ((a[0] == 'c' || b[0] == 'c') && strcmp(a, b) && strlen(a) == 2 && strlen(b) == 2)
            layout = true; /* c0 / c1: contiguity */
        else if (strcmp(a, "*") && strcmp(a, b))
            differ = true;
        if (!dt[0] && strlen(a) < sizeof dt && strchr("fib", a[0]))
            snprintf(dt, sizeof dt, "%s", a);
    }
    if (layout) return LAYOUT;
    return differ || !values_agree(cc + 2, tc + 2, dt) ? DIFFERENT : SAME;
}

/* the next line of *p (its length in *n), or NULL at the end; *p moves on */
static const char *next_line(const char **p, int *n) {
    if (!*p || !**p) return NULL;
    const char *l = *p;
    *n = (int)strcspn(l, "\n");
    *p = l[*n] ? l + *n + 1 : l + *n;
    return l;
}

/* the statement that made register k, for the report */
static void print_statement(const char *text, int k) {
    char key[32];
    int n, kl = snprintf(key, sizeof key, "X %d ", k);
    for (const char *p = text, *l; (l = next_line(&p, &n));)
        if (n > kl && !strncmp(l, key, (size_t)kl)) fprintf(stderr, "      %.*s\n", n, l);
}

/* cgrad's records of a program against torch's (t: its lines, moved past) */
static void compare_program(int i, const prog *P, const char **t, stats *S) {
    const char *c = P->rec.s ? P->rec.s : "";
    int nc, nt;
    const char *lc, *lt;
    char a[1 << 15], b[1 << 15];
    bool reported = false;
    for (;;) {
        lc = next_line(&c, &nc);
        const char *save = *t;
        lt = next_line(t, &nt);
        if (lt && !strncmp(lt, "P ", 2)) { /* the next program's */
            *t = save;
            lt = NULL;
        }
        if (!lc && !lt) break;
        S->compared++;
        snprintf(a, sizeof a, "%.*s", lc ? nc : 0, lc ? lc : "(nothing)");
        snprintf(b, sizeof b, "%.*s", lt ? nt : 0, lt ? lt : "(nothing)");
        int k = -1;
        sscanf(a, "%*s %d", &k);
        bool composed = k >= 0 && k < MAX_REGS && P->composed[k];
        bool ncb = k >= 0 && k < MAX_REGS && P->nc_base[k];
        verdict v = lc && lt ? compare_line(a, b, composed, ncb) : DIFFERENT;
        if (v == SAME) continue;
        if (v != DIFFERENT)
            S->cut[v]++;
        else if (!reported) {
            S->failures++;
            reported = true;
            fprintf(stderr, "  program %d (%.*s) differs from torch:\n", i,
                    (int)strcspn(P->text.s, "\n"), P->text.s);
            print_statement(P->text.s, k);
            fprintf(stderr, "    cgrad: %.600s\n    torch: %.600s\n", a, b);
        }
        while (lt && (lt = next_line(t, &nt)) && strncmp(lt, "P ", 2)) {}
        if (lt) *t = lt;
        return;
    }
}

/* ------------------------------------------------------------------ the test */

static int env_int(const char *name, int dflt) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    sbuf b = {0};
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sb_add(&b, "%.*s", (int)n, buf);
    fclose(f);
    return b.s ? b.s : calloc(1, 1);
}

/* runs the oracle over the programs' text; its output, or NULL */
static char *run_oracle(prog *progs, int n) {
    char in[512], out[512];
    if (cg_test_temp_path(in, sizeof in, "random_in") < 0 ||
        cg_test_temp_path(out, sizeof out, "random_out") < 0)
        return NULL;
    FILE *f = fopen(in, "w");
    if (!f) return NULL;
    for (int i = 0; i < n; i++) fputs(progs[i].text.s, f);
    fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "\"%s\" \"%s/tests/oracle/random_programs_oracle.py\" \"%s\" \"%s\"",
             CG_PYTHON, CG_SOURCE_DIR, in, out);
    fflush(stderr);
    int st = system(cmd);
    char *res = st == 0 ? read_file(out) : NULL;
    if (getenv("CGRAD_KEEP_ORACLE_FILES"))
        fprintf(stderr, "  oracle files kept: %s %s\n", in, out);
    else
        unlink(in), unlink(out);
    if (st != 0) fprintf(stderr, "  the oracle failed: `%s` (status %d)\n", cmd, st);
    return res;
}

static void print_coverage(const stats *S) {
    char fams[N_ROWS][32];
    int nf = 0, steps[N_ROWS] = {0}, missing = 0;
    for (int r = 0; r < N_ROWS; r++) {
        if (!row_family[r][0]) continue;
        int f = 0;
        while (f < nf && strcmp(fams[f], row_family[r])) f++;
        if (f == nf) memcpy(fams[nf++], row_family[r], sizeof fams[0]);
        steps[f] += op_steps[r];
        if (usable_row(r) && !op_steps[r]) missing++;
    }
    printf("  %d random programs, %d steps, %d records compared with torch\n", S->programs,
           S->steps, S->compared);
    printf("  op families covered (op-table steps):");
    for (int f = 0; f < nf; f++) printf(" %s(%d)", fams[f], steps[f]);
    printf("\n  rows never drawn: %d; programs cut short by an exclusion:", missing);
    for (int v = LAYOUT; v < N_VERDICTS; v++) printf(" %s %d", exclusion_names[v], S->cut[v]);
    printf("\n");
}

TEST(random_programs_match_torch) {
    read_families();
    int n = env_int("CGRAD_RANDOM_PROGRAMS", 300);
    uint64_t seed = (uint64_t)env_int("CGRAD_RANDOM_SEED", 20261202);
    prog *progs = calloc((size_t)n, sizeof *progs);
    ASSERT_NOT_NULL(progs);
    stats S = {0};
    long live0 = cg_live_tensors();
    int only = env_int("CGRAD_RANDOM_ONLY", -1); /* one program, to debug it */
    for (int i = 0; i < n; i++) {
        if (only >= 0 && i != only) {
            sb_add(&progs[i].text, "P skipped\n");
            continue;
        }
        cg_scope_begin();
        rng_state = seed * 0x2545F4914F6CDD1Dull + (uint64_t)i;
        generate(&progs[i], rnd());
        S.programs++;
        S.steps += progs[i].n;
        memset(progs[i].reg, 0, sizeof progs[i].reg);
        cg_scope_end();
        if (cg_live_tensors() != live0 && !S.leaks++)
            fprintf(stderr, "  program %d leaves tensors alive:\n%s", i, progs[i].text.s);
        cg_clear_error();
    }
    char *out = run_oracle(progs, n);
    const char *t = out;
    for (int i = 0; out && i < n; i++) {
        int nt;
        const char *l = next_line(&t, &nt); /* "P <seed>" */
        if (!l || strncmp(l, "P ", 2)) break;
        compare_program(i, &progs[i], &t, &S);
    }
    print_coverage(&S);
    int families_missing = 0;
    for (int r = 0; r < N_ROWS; r++) {
        bool fam_seen = false;
        for (int q = 0; q < N_ROWS; q++)
            fam_seen |= !strcmp(row_family[q], row_family[r]) && op_steps[q] > 0;
        if (usable_row(r) && !fam_seen) families_missing++;
    }
    for (int i = 0; i < n; i++) free(progs[i].text.s), free(progs[i].rec.s);
    free(progs);
    ASSERT_NOT_NULL(out);
    free(out);
    ASSERT_EQ(families_missing, 0);
    ASSERT_EQ(S.leaks, 0);
    ASSERT_EQ(S.failures, 0);
}

TEST_MAIN(random_programs_match_torch)
