/* One rank of a job fails (dist_fail data|checkpoint|oom): the last rank
 * cannot read its data, loads a corrupt checkpoint, or runs out of memory,
 * prints why and calls cg_dist_abort, while the others wait in a barrier
 * that would hang without it. ctest expects that rank's message. */
#include "cgrad.h"

#include <stdio.h>
#include <string.h>

static const char *fail(const char *mode) {
    if (!strcmp(mode, "data"))
        return cg_text_dataset_load("/nonexistent/cgrad_missing.txt") ? NULL : cg_last_error();
    if (!strcmp(mode, "checkpoint")) {
        static const char junk[] = "\x10\x00\x00\x00\x00\x00\x00\x00{\"w\": 1}xxxxxxx";
        cg_state_dict *d = cg_load_safetensors_buffer(junk, sizeof junk - 1);
        cg_state_dict_free(d);
        return d ? NULL : cg_last_error();
    }
    if (!strcmp(mode, "oom"))
        return cg_empty(CG_SHAPE((int64_t)1 << 42), CG_FLOAT64) ? NULL : cg_last_error();
    return "unknown mode";
}

int main(int argc, char **argv) {
    if (cg_dist_init(&argc, &argv) != 0) {
        fprintf(stderr, "%s\n", cg_last_error());
        return 1;
    }
    const char *mode = argc > 1 ? argv[1] : "data";
    if (cg_dist_rank() == cg_dist_world_size() - 1) {
        const char *why = fail(mode);
        if (why) cg_dist_abort(3, "dist_fail %s: %s", mode, why);
    }
    cg_dist_barrier(); /* the others: here until the job ends */
    cg_dist_finalize();
    fprintf(stderr, "dist_fail %s: nothing failed\n", mode);
    return 0;
}
