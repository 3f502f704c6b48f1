/* The op table, expanded from ops.def (one row per backward node kind). */
#include "../core/internal.h"

#define CG_OP(id, name, bwd, fwd) int bwd(cg_node *, cg_tensor **, cg_tensor **);
#include "ops.def"
#undef CG_OP

const cg_op_info cg__op_table[CG_OP_COUNT] = {
#define CG_OP(id, name, bwd, fwd) [CG_OP_##id] = {name, bwd, #fwd},
#include "ops.def"
#undef CG_OP
};
_Static_assert(sizeof cg__op_table / sizeof cg__op_table[0] == CG_OP_COUNT,
               "every op needs a row in cg__op_table");
