/* dtypes: names, sizes and PyTorch's promotion among float32/float64/int64/bool. */
#include "internal.h"

static const struct {
    const char *name;
    const char *scalar_type; /* as PyTorch's messages name it */
    size_t size;
    bool floating;
} dtype_info[CG_NUM_DTYPES] = {
    [CG_FLOAT32] = {"torch.float32", "Float", sizeof(float), true},
    [CG_FLOAT64] = {"torch.float64", "Double", sizeof(double), true},
    [CG_INT64] = {"torch.int64", "Long", sizeof(int64_t), false},
    [CG_BOOL] = {"torch.bool", "Bool", sizeof(bool), false},
};
_Static_assert(sizeof(dtype_info) / sizeof(dtype_info[0]) == CG_NUM_DTYPES,
               "every dtype needs a row in dtype_info");

static bool valid(cg_dtype d) { return (unsigned)d < CG_NUM_DTYPES; }

const char *cg_dtype_name(cg_dtype d) { return valid(d) ? dtype_info[d].name : "invalid"; }
size_t cg_dtype_size(cg_dtype d) { return valid(d) ? dtype_info[d].size : 0; }
bool cg_dtype_is_floating(cg_dtype d) { return valid(d) && dtype_info[d].floating; }

const char *cg__scalar_type_name(cg_dtype d) { return valid(d) ? dtype_info[d].scalar_type : "?"; }

cg_dtype cg__result_type(int n, cg_tensor *const *t) {
    bool has_dim = false, has_zero = false;
    cg_dtype dim = CG_BOOL, zero = CG_BOOL;
    for (int i = 0; i < n; i++) {
        if (!t[i]) continue;
        if (t[i]->ndim) {
            dim = has_dim ? cg__promote(dim, t[i]->dtype) : t[i]->dtype;
            has_dim = true;
        } else {
            zero = has_zero ? cg__promote(zero, t[i]->dtype) : t[i]->dtype;
            has_zero = true;
        }
    }
    if (!has_dim) return zero;
    if (!has_zero) return dim;
    return cg__category(zero) > cg__category(dim) ? zero : dim;
}

/* The lattice bool < int64 < float32 < float64, as torch.result_type. */
cg_dtype cg__promote(cg_dtype a, cg_dtype b) {
    static const int rank[CG_NUM_DTYPES] =
        {[CG_BOOL] = 0, [CG_INT64] = 1, [CG_FLOAT32] = 2, [CG_FLOAT64] = 3};
    return rank[a] >= rank[b] ? a : b;
}
