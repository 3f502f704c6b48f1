/* dtypes: names, sizes and PyTorch's promotion among float32/float64/int64/bool. */
#include "internal.h"

static const struct {
    const char *name;
    size_t size;
    bool floating;
} dtype_info[CG_NUM_DTYPES] = {
    [CG_FLOAT32] = {"torch.float32", sizeof(float), true},
    [CG_FLOAT64] = {"torch.float64", sizeof(double), true},
    [CG_INT64] = {"torch.int64", sizeof(int64_t), false},
    [CG_BOOL] = {"torch.bool", sizeof(bool), false},
};
_Static_assert(sizeof(dtype_info) / sizeof(dtype_info[0]) == CG_NUM_DTYPES,
               "every dtype needs a row in dtype_info");

static bool valid(cg_dtype d) { return (unsigned)d < CG_NUM_DTYPES; }

const char *cg_dtype_name(cg_dtype d) { return valid(d) ? dtype_info[d].name : "invalid"; }
size_t cg_dtype_size(cg_dtype d) { return valid(d) ? dtype_info[d].size : 0; }
bool cg_dtype_is_floating(cg_dtype d) { return valid(d) && dtype_info[d].floating; }

/* The lattice bool < int64 < float32 < float64, as torch.result_type. */
cg_dtype cg__promote(cg_dtype a, cg_dtype b) {
    static const int rank[CG_NUM_DTYPES] = {[CG_BOOL] = 0, [CG_INT64] = 1,
                                            [CG_FLOAT32] = 2, [CG_FLOAT64] = 3};
    return rank[a] >= rank[b] ? a : b;
}
