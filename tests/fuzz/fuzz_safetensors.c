/* libFuzzer target for the safetensors reader: any bytes must load or fail
 * with a message, never crash or leak. A file that loads must survive a
 * round trip: saved again and reloaded, every tensor (converted dtypes
 * included) and metadata entry is the same. Built by -DCGRAD_FUZZ=ON (clang,
 * ASan+UBSan); `make fuzz` runs it from the seeds in tests/fuzz/corpus. */
#include "cgrad.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool same(const cg_tensor *a, const cg_tensor *b) { /* loaded tensors are contiguous */
    if (!a || !b || cg_dtype_of(a) != cg_dtype_of(b) || cg_ndim(a) != cg_ndim(b)) return false;
    if (cg_ndim(a) && memcmp(cg_shape(a), cg_shape(b), sizeof(int64_t) * (size_t)cg_ndim(a)))
        return false;
    size_t n = (size_t)cg_numel(a) * cg_dtype_size(cg_dtype_of(a));
    return !n || !memcmp(cg_data_ptr(a), cg_data_ptr(b), n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_clear_error();
    cg_state_dict *d = cg_load_safetensors_buffer(data, size);
    if (!d) {
        if (!cg_last_error()) abort(); /* a failure always says why */
    } else {
        size_t n;
        void *buf = cg_save_safetensors_buffer(d, &n);
        cg_state_dict *e = buf ? cg_load_safetensors_buffer(buf, n) : NULL;
        if (!e || cg_state_dict_count(e) != cg_state_dict_count(d) ||
            cg_state_dict_metadata_count(e) != cg_state_dict_metadata_count(d))
            abort();
        for (int i = 0; i < cg_state_dict_count(d); i++)
            if (!same(cg_state_dict_tensor(d, i), cg_state_dict_get(e, cg_state_dict_name(d, i))))
                abort();
        for (int i = 0; i < cg_state_dict_metadata_count(d); i++) {
            const char *k = cg_state_dict_metadata_key(d, i), *v = cg_state_dict_metadata(e, k);
            if (!v || strcmp(v, cg_state_dict_metadata(d, k))) abort();
        }
        cg_state_dict_free(e);
        free(buf);
        cg_state_dict_free(d);
    }
    if (cg_live_tensors() != 0 || cg_live_storages() != 0) abort(); /* nothing left behind */
    return 0;
}
