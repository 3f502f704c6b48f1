/* The backward engine: dependency counts, then a ready heap ordered by
 * sequence number (later nodes first), all iterative (NOTE [ Engine ]).
 *
 * NOTE [ Engine ]
 * 1. Count, for every node reachable from the root, how many edges point at
 *    it (an explicit stack, never recursion).
 * 2. A node is ready when all its consumers have run; ready nodes run in
 *    decreasing sequence number, as PyTorch's engine does.
 * 3. Gradients for one input arriving on several edges are summed in that
 *    node's buffer. Each gradient is shaped to its input in one place
 *    (shape_grad): summed over broadcast dims, cast to the input's dtype.
 * 4. Grad mode is on inside the backward only when create_graph.
 * 5. Without retain_graph a node's saved tensors are freed once it has run. */
#include "../core/internal.h"

#include <stdio.h>

static atomic_ulong run_counter;

typedef struct {
    cg_node **v; /* (cap) small until it outgrows it */
    size_t n, cap;
    cg_node *small[64];
} node_vec;

static void vec_init(node_vec *h) {
    h->v = h->small;
    h->n = 0;
    h->cap = sizeof h->small / sizeof h->small[0];
}

static void vec_free(node_vec *h) {
    if (h->v != h->small) free(h->v);
}

static bool vec_push(node_vec *h, cg_node *n) {
    if (h->n == h->cap) {
        size_t c = h->cap * 2;
        cg_node **v = h->v == h->small ? malloc(c * sizeof *v) : realloc(h->v, c * sizeof *v);
        if (!v) return false;
        if (h->v == h->small) memcpy(v, h->small, sizeof h->small);
        h->v = v;
        h->cap = c;
    }
    h->v[h->n++] = n;
    return true;
}

/* max-heap on seq */
static bool heap_push(node_vec *h, cg_node *n) {
    if (!vec_push(h, n)) return false;
    size_t i = h->n - 1;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->seq >= h->v[i]->seq) break;
        cg_node *t = h->v[p];
        h->v[p] = h->v[i];
        h->v[i] = t;
        i = p;
    }
    return true;
}

static cg_node *heap_pop(node_vec *h) {
    cg_node *top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l]->seq > h->v[m]->seq) m = l;
        if (r < h->n && h->v[r]->seq > h->v[m]->seq) m = r;
        if (m == i) break;
        cg_node *t = h->v[m];
        h->v[m] = h->v[i];
        h->v[i] = t;
        i = m;
    }
    return top;
}

static bool same_shape(int nd, const int64_t *a, int nd2, const int64_t *b) {
    return nd == nd2 && (nd == 0 || memcmp(a, b, sizeof(int64_t) * (size_t)nd) == 0);
}

/* Is `shape` expandable to g's shape (so g can be summed back to it)? */
static bool expandable(const cg_meta *m, const cg_tensor *g) {
    if (m->ndim > g->ndim) return false;
    for (int i = 0; i < m->ndim; i++) {
        int64_t s = m->shape[m->ndim - 1 - i], t = g->shape[g->ndim - 1 - i];
        if (s != t && s != 1) return false;
    }
    return true;
}

/* Shapes the gradient a node produced for input i like that input. */
static cg_tensor *shape_grad(cg_node *n, int i, cg_tensor *g) {
    const cg_meta *m = &n->in_meta[i];
    if (!same_shape(m->ndim, m->shape, g->ndim, g->shape)) {
        if (!expandable(m, g)) {
            char got[256], want[256];
            cg__shape_str(got, sizeof got, g->ndim, g->shape);
            cg__shape_str(want, sizeof want, m->ndim, m->shape);
            cg__error("cg_backward",
                      "Function %s returned an invalid gradient at index %d - got %s but expected "
                      "shape compatible with %s",
                      cg__op_table[n->op].name, i, got, want);
            return NULL;
        }
        g = cg__sum_to(g, m->ndim, m->shape);
        if (!g) return NULL;
    }
    if (g->dtype != m->dtype) g = cg_to(g, m->dtype);
    return g;
}

/* AccumulateGrad: leaf.grad += g (in place unless create_graph). */
static int accumulate(cg_tensor *leaf, cg_tensor *g, bool create_graph) {
    if (!leaf->grad) {
        /* the engine's buffer holds the only reference: take g as it is */
        bool stealable = !create_graph && !g->grad_fn && g->refcount == 1 &&
                         g->storage->refcount == 1 &&
                         g->offset == 0 && cg__is_contiguous(g) &&
                         (size_t)cg__numel(g->ndim, g->shape) * cg__esize(g->dtype) ==
                             g->storage->nbytes;
        if (create_graph && !cg__is_contiguous(g)) {
            if (!(g = cg_contiguous(g))) return -1;
        } else if (!stealable && !create_graph) {
            cg_tensor *c = cg__tensor_new(g->dtype, g->ndim, g->shape);
            if (!c) return -1;
            cg__copy_into(c, g);
            g = c;
        }
        leaf->grad = cg_retain(g);
        return 0;
    }
    if (create_graph) {
        cg_tensor *s = cg_add(leaf->grad, g);
        if (!s) return -1;
        cg_release(leaf->grad);
        leaf->grad = cg_retain(s);
        return 0;
    }
    return cg__add_into(leaf->grad, g);
}

/* The leaf's node in the op table: grad mode is on here only when create_graph. */
int cg__bw_accumulate(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(gi);
    return accumulate(n->leaf, go[0], cg__grad_enabled);
}

/* Runs one node: its backward, then hands each input's gradient on. */
static int run_node(cg_node *n, node_vec *ready) {
    cg_tensor *gin_small[4] = {0};
    cg_tensor **gin = n->n_next <= 4 ? gin_small : calloc((size_t)n->n_next, sizeof *gin);
    if (!gin) {
        cg__oom("cg_backward");
        return -1;
    }
    int rc = 0;
    bool have_grad = false;
    for (int i = 0; i < n->n_out; i++) have_grad |= n->eng_buf[i] != NULL;
    if (have_grad) rc = cg__op_table[n->op].backward(n, n->eng_buf, gin);
    for (int i = 0; i < n->n_next && rc == 0; i++) {
        cg_node *next = n->next[i].fn;
        if (!next) continue;
        if (gin[i]) {
            cg_tensor *g = shape_grad(n, i, gin[i]);
            if (!g) {
                rc = -1;
                break;
            }
            cg_tensor **slot = &next->eng_buf[n->next[i].input_nr];
            if (*slot) { /* a second path into this input: sum */
                g = cg_add(*slot, g);
                if (!g) {
                    rc = -1;
                    break;
                }
                cg_release(*slot);
            }
            *slot = cg_retain(g);
        }
        if (--next->eng_deps == 0 && !heap_push(ready, next)) rc = -1;
    }
    if (gin != gin_small) free(gin);
    return rc;
}

static void clear_buffers(cg_node *n) {
    for (int i = 0; i < n->n_out; i++) {
        cg_release(n->eng_buf[i]);
        n->eng_buf[i] = NULL;
    }
}

static int run_graph(cg_node *root, cg_tensor *root_grad, int root_input_nr, bool keep_graph) {
    uint64_t run = atomic_fetch_add(&run_counter, 1) + 1;
    node_vec stack, ready, seen;
    vec_init(&stack);
    vec_init(&ready);
    vec_init(&seen);
    int rc = 0;
    /* 1. dependency counts */
    root->eng_run = run;
    root->eng_deps = 0;
    if (!vec_push(&stack, root) || !vec_push(&seen, root)) rc = -1;
    while (rc == 0 && stack.n) {
        cg_node *n = stack.v[--stack.n];
        for (int i = 0; i < n->n_next; i++) {
            cg_node *m = n->next[i].fn;
            if (!m) continue;
            if (m->eng_run != run) {
                m->eng_run = run;
                m->eng_deps = 0;
                if (!vec_push(&stack, m) || !vec_push(&seen, m)) {
                    rc = -1;
                    break;
                }
            }
            m->eng_deps++;
        }
    }
    /* 2. run in order */
    if (rc == 0) {
        root->eng_buf[root_input_nr] = cg_retain(root_grad);
        if (!heap_push(&ready, root)) rc = -1;
    }
    while (rc == 0 && ready.n) {
        cg_node *n = heap_pop(&ready);
        cg_scope_begin();
        rc = run_node(n, &ready);
        cg_scope_end();
        clear_buffers(n);
        if (!keep_graph) cg__node_release_saved(n);
    }
    if (rc != 0 && !cg_last_error()) cg__oom("cg_backward");
    for (size_t i = 0; i < seen.n; i++) clear_buffers(seen.v[i]);
    vec_free(&stack);
    vec_free(&ready);
    vec_free(&seen);
    return rc;
}

int cg_backward(cg_tensor *t, cg_tensor *grad, bool retain_graph) {
    if (!t) return -1;
    if (!cg__requires_grad(t)) {
        cg__error("cg_backward", "element 0 of tensors does not require grad and does not have a grad_fn");
        return -1;
    }
    bool create_graph = false;
    int64_t numel = cg__numel(t->ndim, t->shape);
    bool prev = cg_set_grad_enabled(create_graph);
    cg_scope_begin();
    int rc = -1;
    cg_tensor *g = NULL;
    if (!grad) {
        if (numel != 1)
            cg__error("cg_backward", "grad can be implicitly created only for scalar outputs");
        else
            g = cg_ones_like(t, 0);
    } else if (!same_shape(grad->ndim, grad->shape, t->ndim, t->shape)) {
        char a[256], b[256];
        cg__shape_str(a, sizeof a, grad->ndim, grad->shape);
        cg__shape_str(b, sizeof b, t->ndim, t->shape);
        cg__error("cg_backward",
                  "Mismatch in shape: grad_output[0] has a shape of torch.Size(%s) and output[0] "
                  "has a shape of torch.Size(%s).",
                  a, b);
    } else { /* the caller's reference keeps AccumulateGrad from taking it */
        g = cg__convert(grad, t->dtype);
    }
    if (g) {
        cg_node *root = t->grad_fn;
        int nr = t->output_nr;
        if (!root) {
            root = cg__grad_accumulator(t);
            nr = 0;
        } else {
            cg__node_retain(root);
        }
        if (root) rc = run_graph(root, g, nr, retain_graph);
        cg__node_release(root);
    }
    cg_scope_end();
    cg_set_grad_enabled(prev);
    return rc;
}
