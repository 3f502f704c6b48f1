/* cg_graph_dot: the DOT text of a small graph, and a long chain in linear
 * time (numbering nodes by a linear search took minutes for 1M nodes). */
#define _POSIX_C_SOURCE 200809L /* open_memstream, clock_gettime */
#include "test.h"

#include <time.h>

/* this thread's CPU time: a busy machine stretches the wall clock, not this */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the DOT text of t's graph (free it) */
static char *dot_of(const cg_tensor *t) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int rc = cg_graph_dot(t, f);
    fclose(f);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

TEST(shared_nodes_are_numbered_once) {
    cg_tensor *a = cg_requires_grad_(cg_ones(1, (int64_t[]){2}, CG_FLOAT32), true);
    cg_tensor *b = cg_mul(a, a); /* one AccumulateGrad, two edges */
    cg_tensor *c = cg_add(b, cg_neg(b));
    char *dot = dot_of(c);
    ASSERT_NOT_NULL(dot);
    ASSERT_STR_EQ(dot, "digraph {\n"
                       "  graph [rankdir=BT]\n"
                       "  node [shape=box, style=filled, fillcolor=white, fontname=monospace]\n"
                       "  out [label=\"[2]\", fillcolor=darkolivegreen1]\n"
                       "  n0 -> out\n"
                       "  n0 [label=\"AddBackward0\"]\n"
                       "  n1 -> n0\n"
                       "  n2 -> n0\n"
                       "  n2 [label=\"NegBackward0\"]\n"
                       "  n1 -> n2\n"
                       "  n1 [label=\"MulBackward0\"]\n"
                       "  n3 -> n1\n"
                       "  n3 -> n1\n"
                       "  n3 [label=\"AccumulateGrad\"]\n"
                       "  leaf3 [label=\"[2]\", fillcolor=lightblue]\n"
                       "  leaf3 -> n3\n"
                       "}\n");
    free(dot);
}

TEST(a_long_chain_in_linear_time) {
    enum { N = 200000 };
    cg_tensor *cur = cg_retain(cg_requires_grad_(cg_ones(0, NULL, CG_FLOAT32), true));
    for (int i = 0; i < N && cur; i++) { /* keep only the chain's end */
        cg_scope_begin();
        cg_tensor *next = cg_retain(cg_neg(cur));
        cg_scope_end();
        cg_release(cur);
        cur = next;
    }
    ASSERT_NOT_NULL(cur);
    FILE *f = fopen("/dev/null", "w");
    ASSERT_NOT_NULL(f);
    double t0 = cpu_now();
    int rc = cg_graph_dot(cur, f);
    double dt = cpu_now() - t0;
    fclose(f);
    cg_release(cur);
    ASSERT_EQ(rc, 0);
    printf("  cg_graph_dot of a %d-node chain: %.3f s of CPU time\n", N + 1, dt);
    /* linear: a fraction of a second; the quadratic numbering took over 10 s */
    ASSERT_LT(dt, 2.0);
}

TEST_MAIN(shared_nodes_are_numbered_once, a_long_chain_in_linear_time)
