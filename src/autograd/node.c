/* Backward nodes: creation when an op runs, saved tensors, and iterative
 * freeing (NOTE [ Ownership ] in core/internal.h). */
#include "../core/internal.h"

#include <stdio.h>

atomic_long cg__live_nodes;
long cg_live_nodes(void) { return atomic_load(&cg__live_nodes); }

/* Global, so that nodes made on different threads still order correctly. */
static atomic_ullong next_seq;

/* nodes with at most two inputs and one output come from the block cache */
static size_t node_bytes(int n_next, int n_out) {
    return sizeof(cg_node) + (size_t)n_next * (sizeof(cg_edge) + sizeof(cg_meta)) +
           (size_t)n_out * (sizeof(cg_meta) + sizeof(cg_tensor *));
}
static bool small_node(int n_next, int n_out) { return n_next <= 2 && n_out == 1; }

cg_node *cg__node_new(cg_op op, int n_next, int n_out) {
    cg_node *n = small_node(n_next, n_out) ? cg__cache_alloc(CG_CACHE_NODE, node_bytes(2, 1))
                                           : malloc(node_bytes(n_next, n_out));
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->refcount = 1;
    n->op = op;
    n->seq = op == CG_OP_ACCUMULATE_GRAD
                 ? UINT64_MAX
                 : atomic_fetch_add_explicit(&next_seq, 1, memory_order_relaxed);
    n->n_next = n_next;
    n->n_out = n_out;
    n->saved = n->saved_small;
    /* layout after the struct: in_meta, out_meta, next, eng_buf */
    n->in_meta = (cg_meta *)(n + 1);
    n->out_meta = n->in_meta + n_next;
    n->next = (cg_edge *)(n->out_meta + n_out);
    n->eng_buf = (cg_tensor **)(n->next + n_next);
    memset(n->next, 0, (size_t)n_next * sizeof(cg_edge));
    memset(n->eng_buf, 0, (size_t)n_out * sizeof(cg_tensor *));
    atomic_fetch_add_explicit(&cg__live_nodes, 1, memory_order_relaxed);
    return n;
}

void cg__node_retain(cg_node *n) {
    if (n) n->refcount++;
}

/* Nodes whose last reference is gone, waiting to be freed (per thread). */
static _Thread_local struct {
    cg_node **v; /* (cap) points at small until it outgrows it */
    size_t n, cap;
    bool draining;
    cg_node *small[256];
} dead;

static void node_free(cg_node *n) {
    for (int i = 0; i < n->n_next; i++) cg__node_release(n->next[i].fn);
    cg__node_release_saved(n);
    if (n->saved != n->saved_small) free(n->saved);
    for (int i = 0; i < n->n_out; i++) cg_release(n->eng_buf[i]);
    for (cg_hook *h = n->hooks, *nx; h; h = nx) {
        nx = h->next;
        if (h->kind == CG_HOOK_RETAIN && h->retain) h->retain->retains_grad = false;
        free(h);
    }
    free(n->custom);
    cg__node_release(n->wrapped);
    if (n->leaf) {
        if (n->leaf->grad_acc == n) n->leaf->grad_acc = NULL;
        cg_release(n->leaf);
    }
    if (small_node(n->n_next, n->n_out))
        cg__cache_free(CG_CACHE_NODE, n);
    else
        free(n);
    atomic_fetch_sub_explicit(&cg__live_nodes, 1, memory_order_relaxed);
}

void cg__node_release(cg_node *n) {
    if (!n) return;
    if (n->refcount <= 0) {
        fprintf(stderr, "cgrad: node %p released with refcount %d\n", (void *)n, n->refcount);
        abort();
    }
    if (--n->refcount > 0) return;
    if (!dead.v) {
        dead.v = dead.small;
        dead.cap = sizeof dead.small / sizeof dead.small[0];
    }
    if (dead.n == dead.cap) {
        size_t c = dead.cap * 2;
        cg_node **v = dead.v == dead.small ? malloc(c * sizeof *v) : realloc(dead.v, c * sizeof *v);
        if (!v) { /* no room to defer: free now */
            node_free(n);
            return;
        }
        if (dead.v == dead.small) memcpy(v, dead.small, sizeof dead.small);
        dead.v = v;
        dead.cap = c;
    }
    dead.v[dead.n++] = n;
    if (dead.draining) return;
    dead.draining = true;
    while (dead.n) node_free(dead.v[--dead.n]);
    dead.draining = false;
    if (dead.v != dead.small) {
        free(dead.v);
        dead.v = NULL;
    }
}

cg_node *cg__grad_accumulator(cg_tensor *leaf) {
    if (leaf->grad_acc) {
        leaf->grad_acc->refcount++;
        return leaf->grad_acc;
    }
    cg_node *n = cg__node_new(CG_OP_ACCUMULATE_GRAD, 0, 1);
    if (!n) return NULL;
    cg__meta_of(&n->out_meta[0], leaf);
    n->leaf = cg_retain(leaf);
    leaf->grad_acc = n;
    return n;
}

void cg__drop_accumulator(cg_tensor *t) {
    cg_node *acc = t->grad_acc;
    if (!acc || acc->leaf != t || t->refcount < 2) return;
    acc->leaf = NULL;
    t->grad_acc = NULL;
    cg_release(t);
}

void cg__meta_of(cg_meta *m, const cg_tensor *t) {
    m->ndim = t->ndim;
    m->dtype = t->dtype;
    memcpy(m->shape, t->shape, sizeof t->shape);
}

int cg__node_connect(cg_node *n, cg_tensor *const *in) {
    for (int i = 0; i < n->n_next; i++) {
        if (in[i]) cg__refresh_view(in[i]);
        const cg_tensor *t = in[i];
        if (!t) {
            n->in_meta[i].ndim = -1; /* no tensor: no edge, no metadata */
            continue;
        }
        cg__meta_of(&n->in_meta[i], t);
        if (!cg__requires_grad(t)) continue;
        if (t->grad_fn) {
            n->next[i].fn = t->grad_fn;
            t->grad_fn->refcount++;
            n->next[i].input_nr = t->output_nr;
        } else if (t->requires_grad && !(n->next[i].fn = cg__grad_accumulator(in[i]))) {
            return -1; /* a view without history gets no edge */
        }
    }
    return 0;
}

int cg__node_attach(cg_node *n, cg_tensor *const *outs) {
    int held = 0; /* outputs holding n; each adds a reference */
    for (int i = 0; i < n->n_out; i++) {
        cg_tensor *o = outs[i];
        if (!o || !cg_dtype_is_floating(o->dtype)) {
            n->out_meta[i].ndim = -1; /* not differentiable */
            continue;
        }
        cg__meta_of(&n->out_meta[i], o);
        o->grad_fn = n;
        o->output_nr = i;
        n->refcount++;
        held++;
    }
    return held;
}

_Thread_local bool cg__record_failed;

cg_node *cg__record_n(cg_op op, int n_out, cg_tensor *const *outs, int n_in, cg_tensor *const *in) {
    cg__record_failed = false;
    if (!cg__grad_enabled) return NULL;
    bool any = false;
    for (int i = 0; i < n_in; i++) {
        if (in[i]) cg__refresh_view(in[i]); /* before the node: its nexts are older */
        any |= in[i] && cg__requires_grad(in[i]);
    }
    if (!any) return NULL;
    cg_node *n = cg__node_new(op, n_in, n_out);
    if (!n || cg__node_connect(n, in) < 0) {
        cg__node_release(n);
        cg__record_failed = true;
        return cg__oom(cg__op_table[op].forward);
    }
    int held = cg__node_attach(n, outs);
    cg__node_release(n); /* the creation reference */
    return held ? n : NULL;
}

cg_node *cg__record(cg_op op, cg_tensor *out, int n_in, cg_tensor *const *in) {
    if (!cg__grad_enabled || !cg_dtype_is_floating(out->dtype)) {
        cg__record_failed = false;
        return NULL;
    }
    return cg__record_n(op, 1, &out, n_in, in);
}

int cg__node_reserve_saved(cg_node *n, int count) {
    if (count <= CG_NODE_SMALL_SAVED) return 0;
    cg_saved *s = calloc((size_t)count, sizeof *s);
    if (!s) {
        cg__oom(cg__op_table[n->op].forward);
        return -1;
    }
    memcpy(s, n->saved, sizeof(cg_saved) * (size_t)n->n_saved);
    if (n->saved != n->saved_small) free(n->saved);
    n->saved = s;
    return 0;
}

static const char *INFERENCE_SAVE =
    "Inference tensors cannot be saved for backward. To work around you can make a clone to get "
    "a normal tensor and use it in autograd.";

int cg__save(cg_node *n, int i, cg_tensor *t, bool is_output) {
    if (!t) return 0;
    if (t->inference) {
        cg__error("cg__save", "%s", INFERENCE_SAVE);
        return -1;
    }
    for (int k = n->n_saved; k < i; k++) n->saved[k].t = NULL;
    if (n->n_saved <= i) n->n_saved = i + 1;
    cg_saved *s = &n->saved[i];
    s->version = t->storage->version;
    s->is_output = is_output;
    if (is_output) { /* a detached alias: saving t itself would be a cycle */
        cg_tensor *a = cg__tensor_view(t, t->ndim, t->shape, t->strides, t->offset);
        if (!a) return -1;
        s->t = cg_retain(a);
    } else {
        s->t = cg_retain(t);
    }
    return 0;
}

int cg__unalias_saved(cg_node *n, const cg_storage *st) {
    for (int i = 0; n && i < n->n_saved; i++) {
        cg_saved *s = &n->saved[i];
        cg_tensor *t = s->t;
        if (!t || s->is_output || !t->grad_fn || t->storage != st) continue;
        cg_tensor *a = cg__tensor_view(t, t->ndim, t->shape, t->strides, t->offset);
        if (!a) return -1;
        a->grad_fn = t->grad_fn;
        a->output_nr = t->output_nr;
        cg__node_retain(t->grad_fn);
        s->t = cg_retain(a);
        cg_release(t);
    }
    return 0;
}

static const char *legacy_type_name(cg_dtype d) {
    static const char *names[CG_NUM_DTYPES] = {"FloatTensor", "DoubleTensor", "LongTensor",
                                               "BoolTensor"};
    return names[d];
}

bool cg__saved_alive(cg_node *n) {
    if (!n->released) return true;
    cg__error("cg_backward",
              "Trying to backward through the graph a second time (or directly access saved "
              "tensors after they have already been freed). Saved intermediate values of the "
              "graph are freed when you call .backward() or autograd.grad(). Specify "
              "retain_graph=True if you need to backward through the graph a second time or "
              "if you need to access saved tensors after calling backward.");
    return false;
}

cg_tensor *cg__unpack(cg_node *n, int i) {
    if (!cg__saved_alive(n)) return NULL;
    if (i >= n->n_saved || !n->saved[i].t) {
        cg__error("cg_backward", "%s: saved tensor %d was not saved", cg__node_name(n), i);
        return NULL;
    }
    cg_saved *s = &n->saved[i];
    cg_tensor *t = s->t;
    if (t->storage->version != s->version) {
        char shp[256], owner[128] = "";
        cg__shape_str(shp, sizeof shp, t->ndim, t->shape);
        if (s->is_output)
            snprintf(owner, sizeof owner, ", which is output 0 of %s,", cg__node_name(n));
        else if (t->grad_fn)
            snprintf(owner, sizeof owner, ", which is output %d of %s,", t->output_nr,
                     cg__node_name(t->grad_fn));
        cg__error("cg_backward",
                  "one of the variables needed for gradient computation has been modified by an "
                  "inplace operation: [torch.%s %s]%s is at version %llu; expected version %llu "
                  "instead. Hint: enable anomaly detection to find the operation that failed to "
                  "compute its gradient, with torch.autograd.set_detect_anomaly(True).",
                  legacy_type_name(t->dtype), shp, owner, (unsigned long long)t->storage->version,
                  (unsigned long long)s->version);
        return NULL;
    }
    if (s->is_output && cg__grad_enabled) { /* create_graph: re-attach to this node */
        cg_tensor *a = cg__tensor_view(t, t->ndim, t->shape, t->strides, t->offset);
        if (a) {
            a->grad_fn = n;
            n->refcount++;
        }
        return a;
    }
    if (cg__scope_add(cg_retain(t)) < 0) {
        cg_release(t);
        return NULL;
    }
    return t;
}

void cg__node_release_saved(cg_node *n) {
    for (int i = 0; i < n->n_saved; i++) {
        cg_release(n->saved[i].t);
        n->saved[i].t = NULL;
    }
    if (n->n_saved) n->released = true;
    n->n_saved = 0;
}

/* ------------------------------------------------------------- public API */

const char *cg__node_name(const cg_node *n) {
    return n->custom ? n->custom->fn->name : cg__op_table[n->op].name;
}

const char *cg_node_name(const cg_node *n) { return n ? cg__node_name(n) : "None"; }
int cg_node_num_next(const cg_node *n) { return n ? n->n_next : 0; }
uint64_t cg_node_seq(const cg_node *n) { return n ? n->seq : 0; }

cg_node *cg_node_next(const cg_node *n, int i, int *input_nr) {
    if (!n || i < 0 || i >= n->n_next) {
        cg__error("cg_node_next", "next_functions index %d out of range", i);
        return NULL;
    }
    if (input_nr) *input_nr = n->next[i].input_nr;
    return n->next[i].fn;
}
