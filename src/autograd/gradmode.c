/* Grad mode and inference mode (thread-local, saved and restored around a
 * block), and anomaly mode (process-wide). */
#include "../core/internal.h"

_Thread_local bool cg__grad_enabled = true;
_Thread_local bool cg__inference_mode;
static _Thread_local bool grad_before_inference;
bool cg__anomaly_enabled;

bool cg_is_grad_enabled(void) { return cg__grad_enabled; }

bool cg_set_grad_enabled(bool enabled) {
    bool prev = cg__grad_enabled;
    cg__grad_enabled = enabled;
    return prev;
}

bool cg_is_inference_mode_enabled(void) { return cg__inference_mode; }

/* Inference mode turns recording off; leaving it restores the grad mode it
 * found. */
bool cg_set_inference_mode(bool on) {
    bool prev = cg__inference_mode;
    if (on && !prev) {
        grad_before_inference = cg__grad_enabled;
        cg__grad_enabled = false;
    } else if (!on && prev) {
        cg__grad_enabled = grad_before_inference;
    }
    cg__inference_mode = on;
    return prev;
}

bool cg_is_inference(const cg_tensor *t) { return t && t->inference; }

void cg_set_detect_anomaly(bool on) { cg__anomaly_enabled = on; }
bool cg_is_anomaly_enabled(void) { return cg__anomaly_enabled; }
