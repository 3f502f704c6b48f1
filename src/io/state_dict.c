/* The state dict: named tensors (one reference each) and string metadata,
 * in insertion order, with a hash index over the names. */
#include "state_dict.h"

/* ------------------------------------------------- names with an index */

static uint64_t hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

int cg__table_find(const str_table *t, const char *key) {
    if (!t->nslots) return -1;
    for (size_t i = hash_str(key) & (size_t)(t->nslots - 1);;
         i = (i + 1) & (size_t)(t->nslots - 1)) {
        int e = t->slots[i];
        if (!e) return -1;
        if (!strcmp(t->keys[e - 1], key)) return e - 1;
    }
}

static void table_slot(str_table *t, int e) {
    size_t i = hash_str(t->keys[e]) & (size_t)(t->nslots - 1);
    while (t->slots[i]) i = (i + 1) & (size_t)(t->nslots - 1);
    t->slots[i] = e + 1;
}

int cg__table_add(str_table *t, char *key, void *val) {
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 8;
        if (cap > INT32_MAX / 4) goto oom;
        char **k = realloc(t->keys, sizeof *k * (size_t)cap);
        if (!k) goto oom;
        t->keys = k;
        void **v = realloc(t->vals, sizeof *v * (size_t)cap);
        if (!v) goto oom;
        t->vals = v;
        t->cap = cap;
    }
    if (2 * (t->n + 1) >= t->nslots) {
        int ns = t->nslots ? t->nslots * 2 : 16;
        while (2 * (t->n + 1) >= ns) ns *= 2;
        int *s = calloc((size_t)ns, sizeof *s);
        if (!s) goto oom;
        free(t->slots);
        t->slots = s;
        t->nslots = ns;
        for (int e = 0; e < t->n; e++) table_slot(t, e);
    }
    t->keys[t->n] = key;
    t->vals[t->n] = val;
    table_slot(t, t->n);
    return t->n++;
oom:
    free(key);
    return -1;
}

void cg__table_free(str_table *t) {
    for (int i = 0; i < t->n; i++) free(t->keys[i]);
    free(t->keys);
    free(t->vals);
    free(t->slots);
}

/* ---------------------------------------------------------- the dict */

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

static bool utf8_ok(const char *s) {
    size_t n = strlen(s);
    return cg__utf8_valid_prefix((const unsigned char *)s, n) == n;
}

cg_state_dict *cg_state_dict_new(void) {
    cg_state_dict *d = calloc(1, sizeof *d);
    return d ? d : cg__oom("cg_state_dict_new");
}

void cg_state_dict_free(cg_state_dict *d) {
    if (!d) return;
    for (int i = 0; i < d->tensors.n; i++) cg_release(d->tensors.vals[i]);
    for (int i = 0; i < d->meta.n; i++) free(d->meta.vals[i]);
    cg__table_free(&d->tensors);
    cg__table_free(&d->meta);
    free(d);
}

int cg_state_dict_add(cg_state_dict *d, const char *name, cg_tensor *t) {
    static const char *fn = "cg_state_dict_add";
    if (!d || !name || !t) return -1;
    if (!strcmp(name, "__metadata__")) {
        cg__error(fn, "the name \"__metadata__\" is reserved for the file's metadata");
        return -1;
    }
    if (!utf8_ok(name)) {
        cg__error(fn, "tensor name \"%s\" is not valid UTF-8", name);
        return -1;
    }
    if (cg__table_find(&d->tensors, name) >= 0) {
        cg__error(fn, "the dict already has a tensor named \"%s\"", name);
        return -1;
    }
    char *key = dup_str(name);
    if (!key || cg__table_add(&d->tensors, key, t) < 0) return cg__oom(fn), -1;
    cg_retain(t);
    return 0;
}

cg_tensor *cg_state_dict_get(const cg_state_dict *d, const char *name) {
    if (!d || !name) return NULL;
    int i = cg__table_find(&d->tensors, name);
    if (i < 0) {
        cg__error("cg_state_dict_get", "no tensor named \"%s\" in the dict", name);
        return NULL;
    }
    return d->tensors.vals[i];
}

int cg_state_dict_count(const cg_state_dict *d) { return d ? d->tensors.n : 0; }

const char *cg_state_dict_name(const cg_state_dict *d, int i) {
    if (!d) return NULL;
    if (i < 0 || i >= d->tensors.n) {
        cg__error("cg_state_dict_name", "index %d is out of range for a dict of %d tensors", i,
                  d->tensors.n);
        return NULL;
    }
    return d->tensors.keys[i];
}

cg_tensor *cg_state_dict_tensor(const cg_state_dict *d, int i) {
    if (!d) return NULL;
    if (i < 0 || i >= d->tensors.n) {
        cg__error("cg_state_dict_tensor", "index %d is out of range for a dict of %d tensors", i,
                  d->tensors.n);
        return NULL;
    }
    return d->tensors.vals[i];
}

int cg_state_dict_set_metadata(cg_state_dict *d, const char *key, const char *value) {
    static const char *fn = "cg_state_dict_set_metadata";
    if (!d || !key || !value) return -1;
    if (!utf8_ok(key) || !utf8_ok(value)) {
        cg__error(fn, "metadata key \"%s\" or its value is not valid UTF-8", key);
        return -1;
    }
    char *v = dup_str(value);
    if (!v) return cg__oom(fn), -1;
    int i = cg__table_find(&d->meta, key);
    if (i >= 0) {
        free(d->meta.vals[i]);
        d->meta.vals[i] = v;
        return 0;
    }
    char *k = dup_str(key);
    if (!k || cg__table_add(&d->meta, k, v) < 0) {
        free(v);
        return cg__oom(fn), -1;
    }
    return 0;
}

const char *cg_state_dict_metadata(const cg_state_dict *d, const char *key) {
    if (!d || !key) return NULL;
    int i = cg__table_find(&d->meta, key);
    return i < 0 ? NULL : d->meta.vals[i];
}

int cg_state_dict_metadata_count(const cg_state_dict *d) { return d ? d->meta.n : 0; }

const char *cg_state_dict_metadata_key(const cg_state_dict *d, int i) {
    if (!d) return NULL;
    if (i < 0 || i >= d->meta.n) {
        cg__error("cg_state_dict_metadata_key", "index %d is out of range for %d metadata entries",
                  i, d->meta.n);
        return NULL;
    }
    return d->meta.keys[i];
}
