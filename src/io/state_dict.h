/* The state dict — named tensors and string metadata — shared by the
 * safetensors reader and writer. Internal. */
#ifndef CG_STATE_DICT_H
#define CG_STATE_DICT_H

#include "../core/internal.h"

/* Strings in insertion order with an open-addressing hash index, and one
 * value pointer each (a tensor, or a metadata value). */
typedef struct str_table {
    int n, cap;
    char **keys; /* (cap) owned */
    void **vals; /* (cap) */
    int *slots;  /* (nslots) entry + 1; 0 is empty */
    int nslots;  /* a power of two, > 2n */
} str_table;

/* The index of key, or -1. */
int cg__table_find(const str_table *t, const char *key);
/* Appends key (taking ownership; freed on failure) with val. Index or -1. */
int cg__table_add(str_table *t, char *key, void *val);
void cg__table_free(str_table *t);

struct cg_state_dict {
    str_table tensors; /* name -> cg_tensor * (one reference each) */
    str_table meta;    /* key -> char * value (owned) */
};

#endif
