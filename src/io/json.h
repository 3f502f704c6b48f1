/* A small strict JSON reader (RFC 8259): a buffer becomes a tree of values.
 * Objects keep their keys in order (duplicates are an error), strings are
 * UTF-8 with every escape decoded (\uXXXX surrogate pairs included), numbers
 * are doubles plus an exact int64 when integral. Errors name the source and
 * the byte offset (with line and column). Internal. */
#ifndef CG_IO_JSON_H
#define CG_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Nesting deeper than this is refused (no recursion runs away). */
#define CG__JSON_MAX_DEPTH 256

typedef enum cg__json_type {
    CG__JSON_NULL,
    CG__JSON_BOOL,
    CG__JSON_NUMBER,
    CG__JSON_STRING,
    CG__JSON_ARRAY,
    CG__JSON_OBJECT,
} cg__json_type;

typedef struct cg__json cg__json;
struct cg__json {
    cg__json_type type;
    size_t offset; /* byte offset of the value in the input */
    int boolean;   /* BOOL: 0 or 1 */
    double number; /* NUMBER */
    int is_int;    /* NUMBER: integral and within int64 (then `integer` is exact) */
    int64_t integer;
    char *str;        /* STRING: NUL-terminated UTF-8 (may hold \u0000: use len) */
    size_t len;       /* STRING: bytes */
    size_t n;         /* ARRAY / OBJECT: members */
    cg__json *items;  /* (n) ARRAY elements, OBJECT values */
    char **keys;      /* (n) OBJECT keys, NUL-terminated, in input order */
    size_t *key_lens; /* (n) */
    uint32_t *index;  /* OBJECT: open-addressing hash (nslots; member + 1, 0 empty) */
    size_t nslots;
};

/* Parses len bytes; `source` names the input in errors (a path, "config").
 * NULL with an error naming fn ("<source>: invalid JSON at byte N (line L,
 * column C): what") on failure. */
cg__json *cg__json_parse(const char *fn, const char *source, const char *buf, size_t len);
/* Reads and parses a file; NULL with an error on failure. */
cg__json *cg__json_parse_file(const char *fn, const char *path);
void cg__json_free(cg__json *v);
/* A whole file, malloc'd and NUL-terminated (length in *len); NULL with an
 * error naming fn ("cannot open \"PATH\": reason"). */
char *cg__read_file(const char *fn, const char *path, size_t *len);

/* The member of obj named key, or NULL (absent, or obj not an object). */
const cg__json *cg__json_get(const cg__json *obj, const char *key);
/* "null", "boolean", "number", "string", "array", "object" */
const char *cg__json_type_name(cg__json_type t);

#endif
