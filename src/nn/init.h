/* Parameter initialisation inside src/nn. A loader that overwrites every
 * weight (and frees the model when it cannot) builds it with
 * cg__nn_skip_init set: the weights are left uninitialised (no draws, no
 * fill), and the global generator is untouched. Internal to src/nn. */
#ifndef CG_NN_INIT_H
#define CG_NN_INIT_H

#include <stdbool.h>

extern _Thread_local bool cg__nn_skip_init;

#endif
