/* The global generator behind rand/randn: xoshiro256** seeded by splitmix64.
 * One generator for the process, as PyTorch's default CPU generator, behind
 * a mutex: an op holds it for all its draws (cg__rng_lock), so threads that
 * draw at once each get a run of the one sequence. */
#include "internal.h"

#include <pthread.h>

static uint64_t rng_state[4];
static bool rng_seeded;
static pthread_mutex_t rng_mutex = PTHREAD_MUTEX_INITIALIZER;

void cg__rng_lock(void) { pthread_mutex_lock(&rng_mutex); }
void cg__rng_unlock(void) { pthread_mutex_unlock(&rng_mutex); }

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void seed_locked(uint64_t seed) {
    for (int i = 0; i < 4; i++) rng_state[i] = splitmix64(&seed);
    rng_seeded = true;
}

void cg_manual_seed(uint64_t seed) {
    cg__rng_lock();
    seed_locked(seed);
    cg__rng_unlock();
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cg__rng_next(void) {
    if (!rng_seeded) seed_locked(0x5eed);
    uint64_t *s = rng_state;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

int cg_get_rng_state(uint64_t state[4]) {
    if (!state) {
        cg__error("cg_get_rng_state", "state is NULL");
        return -1;
    }
    cg__rng_lock();
    if (!rng_seeded) seed_locked(0x5eed);
    memcpy(state, rng_state, sizeof rng_state);
    cg__rng_unlock();
    return 0;
}

int cg_set_rng_state(const uint64_t state[4]) {
    if (!state) {
        cg__error("cg_set_rng_state", "state is NULL");
        return -1;
    }
    cg__rng_lock();
    memcpy(rng_state, state, sizeof rng_state);
    rng_seeded = true;
    cg__rng_unlock();
    return 0;
}
