/* einsum, composed of cgrad ops (diagonals as a product with an identity
 * mask and a sum, sums, expand, permute, reshape, bmm), so gradients of any
 * order come from those ops' nodes; no row of its own. Operands are
 * contracted left to right, two at a time: the labels both share and that
 * are needed later are bmm's batch, the shared ones not needed later its
 * contraction. */
#include "ewise.h"

#include <stdlib.h>

#define ELL 52 /* ellipsis dims: label ELL + k for the k-th dim from the right */
#define N_LABELS (ELL + CG_MAX_DIMS)
#define EFN "cg_einsum"

typedef struct {
    int nd;
    int lab[CG_MAX_DIMS];
    cg_tensor *t;
} term;

/* A-Z are labels 0..25, a-z 26..51 (torch's order for the implicit output) */
static int label_of(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    return -1;
}
static char label_char(int l) { return (char)(l < 26 ? 'A' + l : 'a' + l - 26); }

/* Parses one side of the equation from *p up to ',' (operand side), "->" or
 * the end: labels, and where an ellipsis stands (-1: none). n_letters and
 * lab[] (CG_MAX_DIMS + 1 entries, ELL marking the ellipsis). -1 on error. */
static int parse_term(const char *eq, const char **p, int operand, int *lab, int *n) {
    *n = 0;
    bool ell = false;
    for (; **p && **p != ',' && !(**p == '-' && (*p)[1] == '>'); (*p)++) {
        char c = **p;
        if (c == ' ') continue;
        if (c == '.') {
            if (ell || strncmp(*p, "...", 3) != 0) {
                cg__error(EFN,
                          "einsum(): found '.' for operand %d that is not part of any ellipsis",
                          operand);
                return -1;
            }
            ell = true, *p += 2, c = 0;
        } else if (label_of(c) < 0) {
            cg__error(EFN,
                      "einsum(): invalid subscript given at index %d in the equation string, "
                      "subscripts must be in [a-zA-Z]",
                      (int)(*p - eq));
            return -1;
        }
        if (*n > CG_MAX_DIMS) return cg__error(EFN, CG_MSG_MAX_DIMS, CG_MAX_DIMS), -1;
        lab[(*n)++] = c ? label_of(c) : ELL;
    }
    return 0;
}

/* The term's labels for operand t: the ellipsis expanded to t's extra dims */
static int bind_term(const int *lab, int n, int operand, cg_tensor *t, term *out) {
    int letters = n, at = -1;
    for (int i = 0; i < n; i++)
        if (lab[i] == ELL) letters--, at = i;
    if (at < 0 && letters != t->ndim) {
        cg__error(EFN,
                  "einsum(): the number of subscripts in the equation (%d) does not match the "
                  "number of dimensions (%d) for operand %d and no ellipsis was given",
                  letters, t->ndim, operand);
        return -1;
    }
    if (letters > t->ndim) {
        cg__error(EFN,
                  "einsum(): the number of subscripts in the equation (%d) is more than the number "
                  "of dimensions (%d) for operand %d",
                  letters, t->ndim, operand);
        return -1;
    }
    int ne = t->ndim - letters;
    out->nd = 0, out->t = t;
    for (int i = 0; i < n; i++)
        if (lab[i] == ELL)
            for (int k = ne - 1; k >= 0; k--) out->lab[out->nd++] = ELL + k;
        else
            out->lab[out->nd++] = lab[i];
    return 0;
}

/* The output labels: given after "->", or the labels seen once (ellipsis
 * dims first, then in label order) */
static int output_labels(const char *eq, const char *p, const term *ts, int n, int *out,
                         int *nout) {
    int count[N_LABELS] = {0}, ne = 0;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < ts[i].nd; d++) {
            count[ts[i].lab[d]]++;
            if (ts[i].lab[d] >= ELL && ts[i].lab[d] - ELL + 1 > ne) ne = ts[i].lab[d] - ELL + 1;
        }
    *nout = 0;
    if (!*p) { /* implicit */
        for (int k = ne - 1; k >= 0; k--) out[(*nout)++] = ELL + k;
        for (int l = 0; l < ELL; l++)
            if (count[l] == 1) out[(*nout)++] = l;
        return 0;
    }
    p += 2;
    int lab[CG_MAX_DIMS + 1], nl;
    if (parse_term(eq, &p, n, lab, &nl) < 0) return -1;
    if (*p) {
        cg__error(EFN,
                  "einsum(): invalid subscript given at index %d in the equation string, "
                  "subscripts must be in [a-zA-Z]",
                  (int)(p - eq));
        return -1;
    }
    bool seen[N_LABELS] = {false};
    for (int i = 0; i < nl; i++) {
        if (lab[i] == ELL) {
            for (int k = ne - 1; k >= 0; k--) out[(*nout)++] = ELL + k;
            continue;
        }
        const char *why = seen[lab[i]]     ? "appears more than once in the output"
                          : !count[lab[i]] ? "does not appear in the equation for any input operand"
                                           : NULL;
        if (why)
            return cg__error(EFN, "einsum(): output subscript %c %s", label_char(lab[i]), why), -1;
        seen[lab[i]] = true;
        out[(*nout)++] = lab[i];
    }
    return 0;
}

/* Parses eq into one term per operand and the output labels; -1 on error. */
static int parse(const char *eq, int n, cg_tensor *const *ops, term *ts, int *out, int *nout) {
    const char *p = eq;
    int k = 0;
    for (;; k++) {
        int lab[CG_MAX_DIMS + 1], nl;
        if (parse_term(eq, &p, k, lab, &nl) < 0) return -1;
        if (k >= n) {
            cg__error(EFN, "einsum(): fewer operands were provided than specified in the equation");
            return -1;
        }
        if (bind_term(lab, nl, k, ops[k], &ts[k]) < 0) return -1;
        if (*p != ',') break;
        p++;
    }
    if (k + 1 < n) {
        cg__error(EFN, "einsum(): more operands were provided than specified in the equation");
        return -1;
    }
    return output_labels(eq, p, ts, n, out, nout);
}

/* torch's error for a label of size s in operand i where size was seen */
static void label_size_error(const term *ts, int l, int i, int64_t s, int64_t seen) {
    if (l < ELL) {
        cg__error(EFN,
                  "einsum(): subscript %c has size %lld for operand %d which does not broadcast "
                  "with previously seen size %lld",
                  label_char(l), (long long)s, i, (long long)seen);
        return;
    }
    int ne = 0; /* operand i's ellipsis dims, counted from its left */
    for (int d = 0; d < ts[i].nd; d++) ne += ts[i].lab[d] >= ELL;
    cg__error(EFN,
              "einsum(): dimension %d covered by ellipsis in operand %dhas size %lld which does "
              "not broadcast with previously seen ellipsis with size %lld for the respective "
              "dimension",
              ne - 1 - (l - ELL), i, (long long)s, (long long)seen);
}

/* The size of every label (size-1 dims broadcast), or -1 with torch's error */
static int label_sizes(term *ts, int n, int64_t *size) {
    for (int l = 0; l < N_LABELS; l++) size[l] = -1;
    for (int i = 0; i < n; i++) {
        int64_t mine[N_LABELS];
        for (int l = 0; l < N_LABELS; l++) mine[l] = -1;
        for (int d = 0; d < ts[i].nd; d++) {
            int l = ts[i].lab[d];
            int64_t s = ts[i].t->shape[d];
            if (mine[l] >= 0 && mine[l] != s) {
                cg__error(EFN,
                          "einsum(): subscript %c is repeated for operand %d but the sizes don't "
                          "match, %lld != %lld",
                          label_char(l), i, (long long)s, (long long)mine[l]);
                return -1;
            }
            mine[l] = s;
        }
        for (int l = 0; l < N_LABELS; l++) {
            if (mine[l] < 0 || mine[l] == size[l] || mine[l] == 1) continue;
            if (size[l] > 1) {
                label_size_error(ts, l, i, mine[l], size[l]);
                return -1;
            }
            size[l] = mine[l];
        }
        for (int l = 0; l < N_LABELS; l++)
            if (size[l] < 0 && mine[l] >= 0) size[l] = mine[l];
    }
    return 0;
}

/* t's diagonal over its dims p < q (same size): sum_q t * eye(p, q); drops q */
static void take_diagonal(term *t, int p, int q) {
    int64_t n = t->t->shape[p], sh[CG_MAX_DIMS];
    cg_tensor *ar = cg_arange(0, (double)n, 1, CG_INT64);
    cg_tensor *eye = cg_eq(cg_view(ar, 2, (const int64_t[]){n, 1}), ar); /* (n, n) bool */
    for (int d = 0; d < t->nd; d++) sh[d] = d == p || d == q ? n : 1;
    t->t = cg_sum_dims(cg_mul(t->t, cg_reshape(eye, t->nd, sh)), 1, &q, false);
    memmove(t->lab + q, t->lab + q + 1, sizeof(int) * (size_t)(t->nd - q - 1));
    t->nd--;
}

/* Diagonals for repeated labels, then size-1 dims expanded to their label's size */
static int prepare(term *t, const int64_t *size) {
    for (int p = 0; p < t->nd; p++)
        for (int q = t->nd - 1; q > p; q--)
            if (t->lab[q] == t->lab[p]) take_diagonal(t, p, q);
    int64_t sh[CG_MAX_DIMS];
    for (int d = 0; d < t->nd; d++) sh[d] = size[t->lab[d]];
    t->t = cg_expand(t->t, t->nd, sh);
    return t->t ? 0 : -1;
}

static bool has(const term *t, int l) {
    for (int d = 0; d < t->nd; d++)
        if (t->lab[d] == l) return true;
    return false;
}

/* Sums t over its labels that neither keep nor other has */
static void sum_unneeded(term *t, const bool *keep, const term *other) {
    int dims[CG_MAX_DIMS], k = 0, nd = 0;
    for (int d = 0; d < t->nd; d++)
        if (!keep[t->lab[d]] && !(other && has(other, t->lab[d])))
            dims[k++] = d;
        else
            t->lab[nd++] = t->lab[d];
    if (k) t->t = cg_sum_dims(t->t, k, dims, false);
    t->nd = nd;
}

/* Appends the dims of t in class c (0 batch, 1 own, 2 contracted) to perm,
 * in the order of order's labels (t's own when NULL), and their labels to
 * labs (unless NULL); returns the product of their sizes */
static int64_t collect(const term *t, const term *o, const bool *keep, int c, const term *order,
                       int *perm, int *np, int *labs, int *nl) {
    int64_t prod = 1;
    const term *by = order ? order : t;
    for (int k = 0; k < by->nd; k++) {
        int l = by->lab[k], cls = !has(o, l) ? 1 : keep[l] ? 0 : 2, d = 0;
        if (cls != c || !has(t, l)) continue;
        while (t->lab[d] != l) d++;
        perm[(*np)++] = d, prod *= t->t->shape[d];
        if (labs) labs[(*nl)++] = l;
    }
    return prod;
}

/* a and b contracted into a (labels: batch, a's own, b's own) by one bmm */
static int contract(term *a, term *b, const bool *keep, const int64_t *size) {
    sum_unneeded(a, keep, b);
    sum_unneeded(b, keep, a);
    int pa[CG_MAX_DIMS], pb[CG_MAX_DIMS], na = 0, nb = 0, labs[2 * CG_MAX_DIMS], nl = 0;
    int64_t bs = collect(a, b, keep, 0, NULL, pa, &na, labs, &nl);
    int64_t ls = collect(a, b, keep, 1, NULL, pa, &na, labs, &nl);
    int64_t ks = collect(a, b, keep, 2, NULL, pa, &na, NULL, NULL);
    collect(b, a, keep, 0, a, pb, &nb, NULL, NULL); /* batch and contracted dims in a's order */
    collect(b, a, keep, 2, a, pb, &nb, NULL, NULL);
    int64_t rs = collect(b, a, keep, 1, NULL, pb, &nb, labs, &nl);
    if (nl > CG_MAX_DIMS) return cg__error(EFN, CG_MSG_MAX_DIMS, CG_MAX_DIMS), -1;
    cg_tensor *x = cg_reshape(cg_permute(a->t, na, pa), 3, (const int64_t[]){bs, ls, ks});
    cg_tensor *y = cg_reshape(cg_permute(b->t, nb, pb), 3, (const int64_t[]){bs, ks, rs});
    int64_t sh[CG_MAX_DIMS];
    for (int i = 0; i < nl; i++) sh[i] = size[labs[i]];
    cg_tensor *r = cg_bmm(x, y);
    a->t = cg_reshape(r, nl, sh);
    a->nd = nl;
    memcpy(a->lab, labs, sizeof(int) * (size_t)nl);
    return a->t ? 0 : -1;
}

cg_tensor *cg_einsum(const char *equation, int n, cg_tensor *const *operands) {
    if (!equation || n <= 0 || !operands) {
        cg__error(EFN, "einsum(): must specify the equation string and at least one operand, or "
                       "at least one operand and its subscripts list");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!operands[i]) return NULL;
    term *ts = malloc(sizeof(term) * (size_t)n);
    if (!ts) return cg__oom(EFN);
    int out[N_LABELS], nout;
    int64_t size[N_LABELS];
    cg_tensor *r = NULL;
    if (parse(equation, n, operands, ts, out, &nout) < 0 || label_sizes(ts, n, size) < 0) goto done;
    for (int i = 0; i < n; i++)
        if (prepare(&ts[i], size) < 0) goto done;
    bool keep[N_LABELS] = {false}; /* needed after the current contraction */
    for (int i = 0; i < nout; i++) keep[out[i]] = true;
    for (int k = 1; k < n; k++) {
        bool later[N_LABELS];
        memcpy(later, keep, sizeof later);
        for (int j = k + 1; j < n; j++)
            for (int d = 0; d < ts[j].nd; d++) later[ts[j].lab[d]] = true;
        if (contract(&ts[0], &ts[k], later, size) < 0) goto done;
    }
    sum_unneeded(&ts[0], keep, NULL);
    int perm[CG_MAX_DIMS];
    for (int i = 0; i < nout; i++)
        for (int d = 0; d < ts[0].nd; d++)
            if (ts[0].lab[d] == out[i]) perm[i] = d;
    r = ts[0].t ? cg_permute(ts[0].t, nout, perm) : NULL;
done:
    free(ts);
    return r;
}
