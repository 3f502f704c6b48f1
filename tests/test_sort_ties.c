/* The order of ties in topk and sort, against live PyTorch: torch's CPU topk
 * leaves equal values in the order of libstdc++'s nth_element / sort /
 * partial_sort (src/ops/stl_order.c replays them), its stable sort in their
 * positions' order. tests/oracle/sort_ties_oracle.py prints the rows and
 * torch's indices; each must be cgrad's. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "test.h"

enum { MAX_N = 512 };

typedef struct {
    char op[8];
    int64_t n, k;
    int smallest, unsorted;
    double v[MAX_N];
    int64_t ix[MAX_N];
} tie_case;

static bool read_case(FILE *p, tie_case *c) {
    if (fscanf(p, "%7s %" SCNd64 " %" SCNd64 " %d %d", c->op, &c->n, &c->k, &c->smallest,
               &c->unsorted) != 5 ||
        c->n > MAX_N || c->k > c->n)
        return false;
    for (int64_t j = 0; j < c->n; j++) {
        char tok[64];
        if (fscanf(p, "%63s", tok) != 1) return false;
        c->v[j] = strtod(tok, NULL); /* also "nan" */
    }
    for (int64_t j = 0; j < c->k; j++)
        if (fscanf(p, "%" SCNd64, &c->ix[j]) != 1) return false;
    return true;
}

/* cgrad's indices for the case equal torch's */
static bool same_order(const tie_case *c) {
    cg_tensor *x = cg_from_data(c->v, 1, &c->n, CG_FLOAT64), *ix = NULL;
    cg_tensor *r = !strcmp(c->op, "sort") ? cg_sort(x, 0, !c->smallest, &ix)
                                          : cg_topk(x, c->k, 0,
                                                    (c->smallest ? CG_TOPK_SMALLEST : 0) |
                                                        (c->unsorted ? CG_TOPK_UNSORTED : 0),
                                                    &ix);
    if (!r || !ix || cg_numel(ix) != c->k) return false;
    const int64_t *got = cg_data_ptr(ix);
    for (int64_t j = 0; j < c->k; j++)
        if (got[j] != c->ix[j]) return false;
    return true;
}

TEST(ties_in_torch_order) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s\" \"%s/tests/oracle/sort_ties_oracle.py\"", CG_PYTHON,
             CG_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    static tie_case c;
    int cases = 0, differ = 0;
    while (read_case(p, &c)) {
        cases++;
        if (!same_order(&c) && differ++ < 5)
            fprintf(stderr, "  %s n=%" PRId64 " k=%" PRId64 " smallest=%d unsorted=%d differs\n",
                    c.op, c.n, c.k, c.smallest, c.unsorted);
    }
    ASSERT_EQ(pclose(p), 0);
    ASSERT_EQ(cases, 1500);
    ASSERT_EQ(differ, 0);
}

TEST_MAIN(ties_in_torch_order)
