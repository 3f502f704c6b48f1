/* The kernels at the baseline level: no ISA flags (SSE2 on x86-64; whatever
 * the target has elsewhere). The only level on CPUs other than x86-64. */
#define CG_KERN_TABLE cg__kernels_default
#define CG_KERN_NAME "default"
#include "kern_impl.h"
