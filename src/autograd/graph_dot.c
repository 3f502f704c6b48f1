/* The backward graph as Graphviz DOT, in the style of torchviz: one box per
 * node named as PyTorch names it, leaves in light blue with their shapes,
 * edges from each node to the node that consumes its gradient. Linear in
 * the graph's size: nodes are numbered through a hash table. */
#include "../core/internal.h"

#include <stdint.h>
#include <stdio.h>

/* Open addressing from node to its number (and the walk's stack of numbers
 * waiting to be printed). */
typedef struct {
    const cg_node **keys; /* (cap) NULL: an empty slot */
    size_t *ids;          /* (cap) */
    size_t cap, n;
    const cg_node **order; /* (order_cap) node by number */
    size_t order_cap;
    size_t *stack; /* (order_cap) numbers still to print */
    size_t top;
} dot_walk;

static size_t slot_of(const dot_walk *w, const cg_node *p) {
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
    size_t i = (size_t)(h >> 17) & (w->cap - 1);
    while (w->keys[i] && w->keys[i] != p) i = (i + 1) & (w->cap - 1);
    return i;
}

static bool rehash(dot_walk *w) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    dot_walk g = {.keys = calloc(cap, sizeof *g.keys), .ids = malloc(cap * sizeof *g.ids)};
    if (!g.keys || !g.ids) {
        free(g.keys), free(g.ids);
        return false;
    }
    g.cap = cap;
    for (size_t i = 0; i < w->cap; i++)
        if (w->keys[i]) {
            size_t s = slot_of(&g, w->keys[i]);
            g.keys[s] = w->keys[i];
            g.ids[s] = w->ids[i];
        }
    free(w->keys), free(w->ids);
    w->keys = g.keys, w->ids = g.ids, w->cap = cap;
    return true;
}

/* p's number, numbering (and stacking) it on first sight; -1 out of memory */
static int64_t number(dot_walk *w, const cg_node *p) {
    if (w->cap) {
        size_t s = slot_of(w, p);
        if (w->keys[s]) return (int64_t)w->ids[s];
    }
    if ((w->n + 1) * 2 > w->cap && !rehash(w)) return -1;
    if (w->n == w->order_cap) {
        size_t c = w->order_cap ? w->order_cap * 2 : 256;
        const cg_node **o = realloc(w->order, c * sizeof *o);
        if (o) w->order = o;
        size_t *st = o ? realloc(w->stack, c * sizeof *st) : NULL;
        if (!st) return -1;
        w->stack = st, w->order_cap = c;
    }
    size_t s = slot_of(w, p);
    w->keys[s] = p;
    w->ids[s] = w->n;
    w->order[w->n] = p;
    w->stack[w->top++] = w->n;
    return (int64_t)w->n++;
}

static void print_node(FILE *f, dot_walk *w, size_t id, int64_t *err) {
    const cg_node *node = w->order[id];
    char shp[256];
    if (node->op == CG_OP_ACCUMULATE_GRAD) {
        cg__shape_str(shp, sizeof shp, node->out_meta[0].ndim, node->out_meta[0].shape);
        fprintf(f,
                "  n%zu [label=\"AccumulateGrad\"]\n  leaf%zu [label=\"%s\", "
                "fillcolor=lightblue]\n  leaf%zu -> n%zu\n",
                id, id, shp, id, id);
        return;
    }
    fprintf(f, "  n%zu [label=\"%s\"]\n", id, cg__node_name(node));
    for (int i = 0; i < node->n_next; i++) {
        const cg_node *m = node->next[i].fn;
        if (!m) continue;
        int64_t mid = number(w, m);
        if (mid < 0) {
            *err = -1;
            return;
        }
        fprintf(f, "  n%lld -> n%zu\n", (long long)mid, id);
    }
}

int cg_graph_dot(const cg_tensor *t, FILE *f) {
    if (!t || !f) {
        cg__error("cg_graph_dot", "expected a tensor and a FILE");
        return -1;
    }
    fprintf(f, "digraph {\n  graph [rankdir=BT]\n  node [shape=box, style=filled, fillcolor=white, "
               "fontname=monospace]\n");
    char shp[256];
    cg__shape_str(shp, sizeof shp, t->ndim, t->shape);
    fprintf(f, "  out [label=\"%s\", fillcolor=darkolivegreen1]\n", shp);
    if (!t->grad_fn) {
        fprintf(f, "}\n");
        return 0;
    }
    dot_walk w = {0};
    int64_t err = number(&w, t->grad_fn);
    if (err == 0) fprintf(f, "  n0 -> out\n");
    while (err == 0 && w.top) print_node(f, &w, w.stack[--w.top], &err);
    free(w.keys), free(w.ids), free(w.order), free(w.stack);
    if (err < 0) {
        cg__oom("cg_graph_dot");
        return -1;
    }
    fprintf(f, "}\n");
    return 0;
}
