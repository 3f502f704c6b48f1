/* libFuzzer target for the JSON reader (src/io/json.c): any bytes must parse
 * or fail with a message naming a byte inside the input, never crash or
 * leak; every object member found by position is found by cg__json_get.
 * Built by -DCGRAD_FUZZ=ON (clang, ASan+UBSan). */
#include "../../src/io/json.h"
#include "cgrad.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void walk(const cg__json *v) {
    for (size_t i = 0; i < v->n; i++) {
        if (v->type == CG__JSON_OBJECT && strlen(v->keys[i]) == v->key_lens[i] &&
            cg__json_get(v, v->keys[i]) != &v->items[i])
            abort();
        walk(&v->items[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg__json *v = cg__json_parse("fuzz", "doc", (const char *)data, size);
    if (v)
        walk(v);
    else if (!cg_last_error() || !strstr(cg_last_error(), "invalid JSON at byte"))
        abort();
    cg__json_free(v);
    cg_clear_error();
    return 0;
}
