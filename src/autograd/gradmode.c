/* Grad mode: thread-local, saved and restored around a scope (CG_NO_GRAD). */
#include "../core/internal.h"

_Thread_local bool cg__grad_enabled = true;

bool cg_is_grad_enabled(void) { return cg__grad_enabled; }

bool cg_set_grad_enabled(bool enabled) {
    bool prev = cg__grad_enabled;
    cg__grad_enabled = enabled;
    return prev;
}
