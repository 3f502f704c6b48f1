/* Learning-rate schedules as closed forms of the step number (PyTorch's
 * StepLR, CosineAnnealingLR, and a linear warm-up into the cosine). */
#include "cgrad.h"

#include <math.h>

double cg_lr_step(double base_lr, int64_t step, int64_t step_size, double gamma) {
    if (step_size <= 0 || step < 0) return base_lr;
    return base_lr * pow(gamma, (double)(step / step_size));
}

double cg_lr_cosine(double base_lr, double min_lr, int64_t step, int64_t total) {
    if (total <= 0) return base_lr;
    if (step > total) step = total;
    const double pi = 3.14159265358979323846;
    return min_lr + (base_lr - min_lr) * (1 + cos(pi * (double)step / (double)total)) / 2;
}

double cg_lr_warmup_cosine(double base_lr, double min_lr, int64_t step, int64_t warmup,
                           int64_t total) {
    if (step < warmup) return base_lr * (double)(step + 1) / (double)warmup;
    return cg_lr_cosine(base_lr, min_lr, step - warmup, total - warmup);
}
