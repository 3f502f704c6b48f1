/* The backward engine (NOTE [ Engine ]).
 *
 * NOTE [ Engine ]
 * 1. Count, for every node reachable from the roots, how many edges point at
 *    it (an explicit stack, never recursion).
 * 2. With capture points (autograd.grad, or backward restricted to inputs),
 *    mark the nodes that lead to one; only those run.
 * 3. A node is ready when all its consumers have run; ready nodes run in
 *    decreasing sequence number (a global counter, so nodes made on other
 *    threads order correctly), as PyTorch's engine does.
 * 4. Gradients reaching one output slot on several edges are summed in that
 *    node's buffer. Hooks on the slot see the sum before the node runs. Each
 *    gradient a node returns is shaped to its input in one place (shape_grad):
 *    summed over broadcast dims, cast to the input's dtype.
 * 5. Grad mode is on inside the backward only when create_graph, so the
 *    backward formulas (written with cgrad ops) record a graph then.
 * 6. Without retain_graph a node's saved tensors are freed once it has run. */
#include "../core/internal.h"

#include <math.h>
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
cg_tensor *cg__shape_grad(cg_node *n, int i, cg_tensor *g) {
    const cg_meta *m = &n->in_meta[i];
    if (!cg__same_shape(m->ndim, m->shape, g->ndim, g->shape)) {
        if (!expandable(m, g)) {
            char got[256], want[256];
            cg__shape_str(got, sizeof got, g->ndim, g->shape);
            cg__shape_str(want, sizeof want, m->ndim, m->shape);
            cg__error("cg_backward",
                      "Function %s returned an invalid gradient at index %d - got %s but expected "
                      "shape compatible with %s",
                      cg__node_name(n), i, got, want);
            return NULL;
        }
        g = cg__sum_to(g, m->ndim, m->shape);
        if (!g) return NULL;
    }
    if (g->dtype != m->dtype) g = cg_to(g, m->dtype);
    return g;
}

/* t.grad += g: in place unless create_graph. The first gradient is taken
 * as it is when the engine holds the only reference, else copied. */
static int accumulate_into(cg_tensor *t, cg_tensor *g, bool create_graph) {
    if (!t->grad) {
        bool stealable = !create_graph && !g->grad_fn && g->refcount == 1 &&
                         g->storage->refcount == 1 && g->offset == 0 && cg__is_contiguous(g) &&
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
        t->grad = cg_retain(g);
        return 0;
    }
    if (create_graph) {
        cg_tensor *s = cg_add(t->grad, g);
        if (!s) return -1;
        cg_release(t->grad);
        t->grad = cg_retain(s);
        return 0;
    }
    return cg__add_into(t->grad, g);
}

/* Runs the gradient hooks in list on *g (a buffer slot); a hook may
 * replace it. */
static int run_grad_hooks(cg_hook *list, int slot, cg_tensor **g) {
    for (cg_hook *h = list; h; h = h->next) {
        if (h->slot != slot || !*g) continue;
        if (h->kind == CG_HOOK_GRAD) {
            cg_tensor *r = h->fn(*g, h->ctx);
            if (r && r != *g) {
                cg_retain(r);
                cg_release(*g);
                *g = r;
            }
        } else if (h->kind == CG_HOOK_RETAIN && h->retain) {
            if (accumulate_into(h->retain, *g, cg__grad_enabled) < 0) return -1;
        }
    }
    return 0;
}

/* The leaf's node in the op table: grad mode is on here only when create_graph. */
int cg__bw_accumulate(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(gi);
    cg_tensor *leaf = n->leaf;
    if (!leaf || !leaf->requires_grad) return 0; /* detach_()ed since: dropped, as PyTorch */
    if (run_grad_hooks(leaf->hooks, 0, &go[0]) < 0) return -1;
    if (accumulate_into(leaf, go[0], cg__grad_enabled) < 0) return -1;
    for (cg_hook *h = leaf->hooks; h; h = h->next)
        if (h->kind == CG_HOOK_POST_ACCUMULATE) h->post(leaf, h->ctx);
    return 0;
}

/* Anomaly mode: a gradient with NaN names its node (PyTorch checks NaN only). */
static int check_anomaly(cg_node *n, int i, const cg_tensor *g) {
    if (!cg_dtype_is_floating(g->dtype)) return 0;
    int64_t cnt = cg__numel(g->ndim, g->shape);
    bool nan = false;
    for (int64_t k = 0; k < cnt && !nan; k++) nan = isnan(cg__read_linear(g, k));
    if (!nan) return 0;
    cg__error("cg_backward",
              "Function '%s' returned nan values in its %dth output. It was recorded by %s "
              "(node sequence number %llu).",
              cg__node_name(n), i, n->custom ? n->custom->fn->name : cg__op_table[n->op].forward,
              (unsigned long long)n->seq);
    return -1;
}

typedef struct {
    bool keep_graph;
    int n_cap;            /* capture points; 0: every leaf accumulates */
    cg_node **cap_node;   /* (n_cap) */
    int *cap_slot;        /* (n_cap) */
    cg_tensor **cap_t;    /* (n_cap) the tensors captured */
    cg_tensor **cap_grad; /* (n_cap) out: their gradients (autograd.grad) */
    bool accumulate;      /* backward(inputs=): accumulate into cap_t */
} run_opts;

static bool is_capture(const run_opts *o, const cg_node *n) {
    for (int k = 0; k < o->n_cap; k++)
        if (o->cap_node[k] == n) return true;
    return false;
}

static int by_seq(const void *a, const void *b) {
    uint64_t x = (*(cg_node *const *)a)->seq, y = (*(cg_node *const *)b)->seq;
    return x < y ? -1 : x > y;
}

/* eng_needed: the node runs — it feeds a capture point, or a node that
 * runs. A node's inputs were made before it, so in increasing seq every next
 * node is decided before the node itself (AccumulateGrad nodes, last in seq,
 * are capture points or nothing). */
static void mark_needed(node_vec *seen, const run_opts *o) {
    qsort(seen->v, seen->n, sizeof *seen->v, by_seq);
    for (size_t i = 0; i < seen->n; i++) {
        cg_node *n = seen->v[i];
        bool need = false;
        if (n->op == CG_OP_ACCUMULATE_GRAD) {
            need = o->accumulate && is_capture(o, n);
        } else {
            for (int k = 0; k < n->n_next && !need; k++) {
                cg_node *m = n->next[k].fn;
                need = m && (is_capture(o, m) || (m->op != CG_OP_ACCUMULATE_GRAD && m->eng_needed));
            }
        }
        n->eng_needed = need;
    }
}

/* Captures for node n: the gradients in its buffer, before it runs. */
static int capture(cg_node *n, const run_opts *o) {
    for (int k = 0; k < o->n_cap; k++) {
        if (o->cap_node[k] != n) continue;
        cg_tensor *g = n->eng_buf[o->cap_slot[k]];
        if (!g) continue;
        if (o->cap_grad) {
            cg_release(o->cap_grad[k]);
            o->cap_grad[k] = cg_retain(g);
        } else if (o->accumulate && n->op != CG_OP_ACCUMULATE_GRAD) { /* a non-leaf input */
            if (accumulate_into(o->cap_t[k], g, cg__grad_enabled) < 0) return -1;
        }
    }
    return 0;
}

/* *slot += g for a second path into one input: in place when the engine
 * holds the only reference to a plain dense buffer of g's shape and dtype
 * and no graph is recorded (as torch's InputBuffer accumulates), else into
 * a new sum. */
static int sum_into_slot(cg_tensor **slot, cg_tensor *g) {
    cg_tensor *s = *slot;
    bool owned = !cg__grad_enabled && !s->grad_fn && s->refcount == 1 &&
                 s->storage->refcount == 1 && s->offset == 0 && cg__is_contiguous(s) &&
                 (size_t)cg__numel(s->ndim, s->shape) * cg__esize(s->dtype) == s->storage->nbytes &&
                 s->dtype == g->dtype && cg__same_shape(s->ndim, s->shape, g->ndim, g->shape);
    if (owned) return cg__add_into(s, g);
    cg_tensor *sum = cg_add(s, g);
    if (!sum) return -1;
    cg_release(s);
    *slot = cg_retain(sum);
    return 0;
}

/* Runs one node: hooks, its backward, then hands each input's gradient on. */
static int run_node(cg_node *n, node_vec *ready, const run_opts *o) {
    cg_tensor *gin_small[4] = {0};
    cg_tensor **gin = n->n_next <= 4 ? gin_small : calloc((size_t)n->n_next, sizeof *gin);
    if (!gin) {
        cg__oom("cg_backward");
        return -1;
    }
    int rc = o->n_cap ? capture(n, o) : 0;
    bool have_grad = false;
    for (int i = 0; i < n->n_out; i++) have_grad |= n->eng_buf[i] != NULL;
    bool run = have_grad && (!o->n_cap || n->eng_needed);
    if (run && rc == 0) {
        for (int i = 0; i < n->n_out && rc == 0; i++)
            rc = run_grad_hooks(n->hooks, i, &n->eng_buf[i]);
        for (int i = 0; i < n->n_out && rc == 0; i++) /* an output no gradient reached: zeros */
            if (!n->eng_buf[i] && n->out_meta[i].ndim >= 0) {
                cg_tensor *z = cg_zeros(n->out_meta[i].ndim, n->out_meta[i].shape,
                                        n->out_meta[i].dtype);
                if (!z)
                    rc = -1;
                else
                    n->eng_buf[i] = cg_retain(z);
            }
        if (rc == 0) rc = cg__op_table[n->op].backward(n, n->eng_buf, gin);
    }
    for (int i = 0; i < n->n_next && rc == 0; i++) {
        cg_node *next = n->next[i].fn;
        if (!next) continue;
        if (run && gin[i]) {
            if (cg__anomaly_enabled && check_anomaly(n, i, gin[i]) < 0) {
                rc = -1;
                break;
            }
            cg_tensor *g = cg__shape_grad(n, i, gin[i]);
            if (!g) {
                rc = -1;
                break;
            }
            cg_tensor **slot = &next->eng_buf[n->next[i].input_nr];
            if (*slot) { /* a second path into this input: sum */
                if ((rc = sum_into_slot(slot, g)) < 0) break;
            } else {
                *slot = cg_retain(g);
            }
        }
        if (--next->eng_deps == 0 && !heap_push(ready, next)) rc = -1;
    }
    if (run && !o->keep_graph) cg__node_release_saved(n);
    if (gin != gin_small) free(gin);
    return rc;
}

static void clear_buffers(cg_node *n) {
    for (int i = 0; i < n->n_out; i++) {
        cg_release(n->eng_buf[i]);
        n->eng_buf[i] = NULL;
    }
}

static int run_graph(int n_roots, cg_node **roots, const int *slots, cg_tensor **grads,
                     const run_opts *o) {
    uint64_t run = atomic_fetch_add(&run_counter, 1) + 1;
    node_vec stack, ready, seen;
    vec_init(&stack);
    vec_init(&ready);
    vec_init(&seen);
    int rc = 0;
    /* 1. dependency counts */
    for (int r = 0; r < n_roots && rc == 0; r++) {
        cg_node *root = roots[r];
        if (root->eng_run == run) continue;
        root->eng_run = run;
        root->eng_deps = 0;
        if (!vec_push(&stack, root) || !vec_push(&seen, root)) rc = -1;
    }
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
    /* 2. which nodes lead to a capture */
    if (rc == 0 && o->n_cap) mark_needed(&seen, o);
    /* 3. seed the roots, then run in order */
    for (int r = 0; r < n_roots && rc == 0; r++) {
        cg_tensor **slot = &roots[r]->eng_buf[slots[r]];
        cg_tensor *g = grads[r];
        if (*slot) {
            if (!(g = cg_add(*slot, g))) rc = -1;
            cg_release(*slot);
        }
        *slot = cg_retain(g);
    }
    for (int r = 0; r < n_roots && rc == 0; r++) {
        bool dup = false;
        for (int q = 0; q < r; q++) dup |= roots[q] == roots[r];
        if (!dup && roots[r]->eng_deps == 0 && !heap_push(&ready, roots[r])) rc = -1;
    }
    while (rc == 0 && ready.n) {
        cg_node *n = heap_pop(&ready);
        cg_scope_begin();
        rc = run_node(n, &ready, o);
        cg_scope_end();
        clear_buffers(n);
    }
    if (rc != 0 && !cg_last_error()) cg__oom("cg_backward");
    for (size_t i = 0; i < seen.n; i++) clear_buffers(seen.v[i]);
    vec_free(&stack);
    vec_free(&ready);
    vec_free(&seen);
    return rc;
}

/* ------------------------------------------------------------- entry points */

/* The gradient to start from for output t: given (checked and cast) or ones. */
static cg_tensor *root_grad(cg_tensor *t, cg_tensor *grad, int i) {
    if (!grad) {
        if (cg__numel(t->ndim, t->shape) != 1) {
            cg__error("cg_backward", "grad can be implicitly created only for scalar outputs");
            return NULL;
        }
        return cg_ones_like(t, 0);
    }
    if (!cg__same_shape(grad->ndim, grad->shape, t->ndim, t->shape)) {
        char a[256], b[256];
        cg__shape_str(a, sizeof a, grad->ndim, grad->shape);
        cg__shape_str(b, sizeof b, t->ndim, t->shape);
        cg__error("cg_backward",
                  "Mismatch in shape: grad_output[%d] has a shape of torch.Size(%s) and output[%d] "
                  "has a shape of torch.Size(%s).",
                  i, a, i, b);
        return NULL;
    }
    /* the caller's reference keeps AccumulateGrad from taking it; under
     * create_graph the cast is recorded */
    return cg_to(grad, t->dtype);
}

/* The node and slot where gradients for t arrive (a new reference). */
static cg_node *grad_edge(cg_tensor *t, int *slot) {
    cg__refresh_view(t);
    if (t->grad_fn) {
        *slot = t->output_nr;
        cg__node_retain(t->grad_fn);
        return t->grad_fn;
    }
    *slot = 0;
    return cg__grad_accumulator(t);
}

/* What a backward call asks of the engine. */
typedef struct {
    int n_out;
    cg_tensor *const *outputs;      /* (n_out) */
    cg_tensor *const *grad_outputs; /* (n_out) or NULL: ones */
    int flags;                      /* CG_RETAIN_GRAPH, CG_CREATE_GRAPH */
    int n_in;
    cg_tensor *const *inputs; /* (n_in) capture points; none: every leaf */
    cg_tensor **cap_grad;     /* (n_in) autograd.grad's results; NULL: accumulate into .grad */
} run_request;

static int run(const run_request *q) {
    int n_out = q->n_out, n_in = q->n_in;
    cg_tensor *const *outputs = q->outputs, *const *grad_outputs = q->grad_outputs;
    cg_tensor *const *inputs = q->inputs;
    cg_tensor **cap_grad = q->cap_grad;
    if (n_out <= 0 || !outputs) {
        cg__error("cg_backward", "grad requires at least one output");
        return -1;
    }
    for (int i = 0; i < n_out; i++)
        if (!outputs[i]) return -1;
    for (int i = 0; i < n_in; i++)
        if (!inputs[i]) return -1;
    for (int i = 0; i < n_out; i++) {
        if (!cg__requires_grad(outputs[i])) {
            cg__error("cg_backward",
                      "element %d of tensors does not require grad and does not have a grad_fn", i);
            return -1;
        }
    }
    for (int i = 0; i < n_in; i++) {
        if (!cg__requires_grad(inputs[i])) {
            cg__error("cg_backward", "One of the differentiated Tensors does not require grad");
            return -1;
        }
    }
    bool prev = cg_set_grad_enabled(q->flags & CG_CREATE_GRAPH);
    cg_scope_begin();
    int rc = -1;
    enum { SMALL = 8 };
    cg_node *roots_s[SMALL], *capn_s[SMALL];
    int slots_s[SMALL], caps_s[SMALL];
    cg_tensor *grads_s[SMALL];
    cg_node **roots = n_out <= SMALL ? roots_s : calloc((size_t)n_out, sizeof *roots);
    int *slots = n_out <= SMALL ? slots_s : calloc((size_t)n_out, sizeof *slots);
    cg_tensor **grads = n_out <= SMALL ? grads_s : calloc((size_t)n_out, sizeof *grads);
    cg_node **capn = n_in <= SMALL ? capn_s : calloc((size_t)n_in, sizeof *capn);
    int *caps = n_in <= SMALL ? caps_s : calloc((size_t)n_in, sizeof *caps);
    int made_roots = 0, made_caps = 0;
    if (!roots || !slots || !grads || !capn || !caps) {
        cg__oom("cg_backward");
        goto done;
    }
    for (; made_roots < n_out; made_roots++) {
        cg_tensor *t = outputs[made_roots];
        grads[made_roots] = root_grad(t, grad_outputs ? grad_outputs[made_roots] : NULL,
                                      made_roots);
        if (!grads[made_roots]) goto done;
        if (!(roots[made_roots] = grad_edge(t, &slots[made_roots]))) goto done;
    }
    for (; made_caps < n_in; made_caps++)
        if (!(capn[made_caps] = grad_edge(inputs[made_caps], &caps[made_caps]))) goto done;
    /* retain_graph defaults to create_graph, as in PyTorch */
    run_opts o = {.keep_graph = q->flags & (CG_RETAIN_GRAPH | CG_CREATE_GRAPH),
                  .n_cap = n_in,
                  .cap_node = capn,
                  .cap_slot = caps,
                  .cap_t = (cg_tensor **)inputs,
                  .cap_grad = cap_grad,
                  .accumulate = !cap_grad};
    rc = run_graph(n_out, roots, slots, grads, &o);
    if (rc == 0 && cap_grad)
        for (int i = 0; i < n_in; i++)
            if (cap_grad[i]) cg_keep(cap_grad[i]);
done:
    for (int i = 0; i < made_roots; i++) cg__node_release(roots[i]);
    for (int i = 0; i < made_caps; i++) cg__node_release(capn[i]);
    if (roots != roots_s) free(roots);
    if (slots != slots_s) free(slots);
    if (grads != grads_s) free(grads);
    if (capn != capn_s) free(capn);
    if (caps != caps_s) free(caps);
    cg_scope_end();
    cg_set_grad_enabled(prev);
    return rc;
}

int cg_backward(cg_tensor *t, cg_tensor *grad, bool retain_graph) {
    if (!t) return -1;
    run_request q = {.n_out = 1,
                     .outputs = &t,
                     .grad_outputs = &grad,
                     .flags = retain_graph ? CG_RETAIN_GRAPH : 0};
    return run(&q);
}

/* flags outside `allowed` are a caller's mistake: an error naming fn */
static bool flags_valid(const char *fn, int flags, int allowed) {
    if (!(flags & ~allowed)) return true;
    cg__error(fn, "invalid flags 0x%x", (unsigned)(flags & ~allowed));
    return false;
}

int cg_backward_ex(cg_tensor *t, cg_tensor *grad, int flags, int n_inputs,
                   cg_tensor *const *inputs) {
    if (!t) return -1;
    if (!flags_valid("cg_backward_ex", flags, CG_RETAIN_GRAPH | CG_CREATE_GRAPH)) return -1;
    if (n_inputs < 0 || (n_inputs > 0 && !inputs)) {
        cg__error("cg_backward_ex", "inputs is NULL but n_inputs is %d", n_inputs);
        return -1;
    }
    run_request q = {.n_out = 1,
                     .outputs = &t,
                     .grad_outputs = &grad,
                     .flags = flags,
                     .n_in = n_inputs,
                     .inputs = inputs};
    return run(&q);
}

int cg_autograd_grad(int n_outputs, cg_tensor *const *outputs, cg_tensor *const *grad_outputs,
                     int n_inputs, cg_tensor *const *inputs, int flags, cg_tensor **grads) {
    if (!flags_valid("cg_autograd_grad", flags,
                     CG_RETAIN_GRAPH | CG_CREATE_GRAPH | CG_ALLOW_UNUSED))
        return -1;
    if (n_inputs <= 0 || !inputs || !grads) {
        cg__error("cg_autograd_grad",
                  "grad requires at least one input and an array for the results");
        return -1;
    }
    bool allow_unused = flags & CG_ALLOW_UNUSED;
    for (int i = 0; i < n_inputs; i++) grads[i] = NULL;
    /* the captured references are held here until handed to the caller's scope */
    run_request q = {.n_out = n_outputs,
                     .outputs = outputs,
                     .grad_outputs = grad_outputs,
                     .flags = flags & ~CG_ALLOW_UNUSED,
                     .n_in = n_inputs,
                     .inputs = inputs,
                     .cap_grad = grads};
    int rc = run(&q);
    for (int i = 0; i < n_inputs; i++) {
        if (grads[i])
            cg_release(grads[i]); /* cg_keep gave the caller's scope a reference */
        else if (rc == 0 && !allow_unused) {
            cg__error("cg_autograd_grad",
                      "One of the differentiated Tensors appears to not have been used in the "
                      "graph. Set allow_unused=True if this is the desired behavior.");
            rc = -1;
        }
    }
    if (rc != 0)
        for (int i = 0; i < n_inputs; i++) grads[i] = NULL;
    return rc;
}
