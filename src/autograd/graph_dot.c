/* The backward graph as Graphviz DOT, in the style of torchviz: one box per
 * node named as PyTorch names it, leaves in light blue with their shapes,
 * edges from each node to the node that consumes its gradient. */
#include "../core/internal.h"

#include <stdio.h>

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
    /* walk the graph with an explicit stack, numbering nodes on first visit */
    size_t n = 0, cap = 64, top = 0;
    const cg_node **seen = malloc(cap * sizeof *seen), **stack = malloc(cap * sizeof *stack);
    if (!seen || !stack) {
        free(seen), free(stack);
        cg__oom("cg_graph_dot");
        return -1;
    }
    seen[n++] = stack[top++] = t->grad_fn;
    fprintf(f, "  n0 -> out\n");
    while (top) {
        const cg_node *node = stack[--top];
        size_t id = 0;
        while (seen[id] != node) id++;
        if (node->op == CG_OP_ACCUMULATE_GRAD) {
            cg__shape_str(shp, sizeof shp, node->out_meta[0].ndim, node->out_meta[0].shape);
            fprintf(f,
                    "  n%zu [label=\"AccumulateGrad\"]\n  leaf%zu [label=\"%s\", "
                    "fillcolor=lightblue]\n  leaf%zu -> n%zu\n",
                    id, id, shp, id, id);
            continue;
        }
        fprintf(f, "  n%zu [label=\"%s\"]\n", id, cg__node_name(node));
        for (int i = 0; i < node->n_next; i++) {
            const cg_node *m = node->next[i].fn;
            if (!m) continue;
            size_t mid = 0;
            while (mid < n && seen[mid] != m) mid++;
            if (mid == n) { /* first visit */
                if (n == cap) {
                    cap *= 2;
                    const cg_node **s2 = realloc(seen, cap * sizeof *seen);
                    const cg_node **k2 = s2 ? realloc(stack, cap * sizeof *stack) : NULL;
                    if (!s2 || !k2) {
                        free(s2 ? (void *)s2 : (void *)seen);
                        free(k2 ? (void *)k2 : (void *)stack);
                        cg__oom("cg_graph_dot");
                        return -1;
                    }
                    seen = s2, stack = k2;
                }
                seen[n++] = m;
                stack[top++] = m;
            }
            fprintf(f, "  n%zu -> n%zu\n", mid, id);
        }
    }
    fprintf(f, "}\n");
    free(seen);
    free(stack);
    return 0;
}
