/* Picks the kernel level once, at the first cg__kern() call, as PyTorch's
 * DEFAULT/AVX2/AVX512 dispatch does: AVX-512 where the CPU has F, BW, DQ and
 * VL and the table was compiled, else AVX2 where it has AVX2 and FMA, else
 * the default. CGRAD_CPU_CAPABILITY=default|avx2|avx512 forces a level; one
 * the CPU or build lacks (or an unknown name) falls back to the best one,
 * with a note on stderr. */
#include "kernels.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[CG__CPU_NLEVELS] = {"default", "avx2", "avx512"};

const char *cg__cpu_level_name(cg__cpu_level level) {
    return level >= 0 && level < CG__CPU_NLEVELS ? level_names[level] : "unknown";
}

/* the level's table if this build compiled it */
static const cg__kernels *compiled(cg__cpu_level level) {
    switch (level) {
    case CG__CPU_DEFAULT: return &cg__kernels_default;
#ifdef CG_KERN_AVX2
    case CG__CPU_AVX2: return &cg__kernels_avx2;
#endif
#ifdef CG_KERN_AVX512
    case CG__CPU_AVX512: return &cg__kernels_avx512;
#endif
    default: return NULL;
    }
}

/* does this CPU (and its OS, which must save the wider registers) run it?
 * __builtin_cpu_supports checks both. */
static bool cpu_runs(cg__cpu_level level) {
    if (level == CG__CPU_DEFAULT) return true;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (level == CG__CPU_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (level == CG__CPU_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma");
#endif
    return false;
}

const cg__kernels *cg__kern_at(cg__cpu_level level) {
    if (level < 0 || level >= CG__CPU_NLEVELS) return NULL;
    const cg__kernels *k = compiled(level);
    return k && cpu_runs(level) ? k : NULL;
}

static cg__cpu_level best_level(void) {
    for (int l = CG__CPU_NLEVELS - 1; l > CG__CPU_DEFAULT; l--)
        if (cg__kern_at((cg__cpu_level)l)) return (cg__cpu_level)l;
    return CG__CPU_DEFAULT;
}

/* strcmp ignoring ASCII case */
static bool same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (ca != *b) return false;
    }
    return *a == *b;
}

cg__cpu_level cg__cpu_pick(const char *request, char *note, size_t note_size) {
    cg__cpu_level best = best_level();
    if (note_size) note[0] = '\0';
    if (!request || !request[0]) return best;
    for (int l = 0; l < CG__CPU_NLEVELS; l++) {
        if (!same_name(request, level_names[l])) continue;
        if (cg__kern_at((cg__cpu_level)l)) return (cg__cpu_level)l;
        snprintf(note, note_size, "CGRAD_CPU_CAPABILITY=%s: this %s lacks it; using %s", request,
                 compiled((cg__cpu_level)l) ? "CPU" : "build", level_names[best]);
        return best;
    }
    snprintf(note, note_size,
             "CGRAD_CPU_CAPABILITY=%s: unknown (default, avx2 or avx512); using %s", request,
             level_names[best]);
    return best;
}

static _Atomic(const cg__kernels *) chosen;

const cg__kernels *cg__kern(void) {
    const cg__kernels *k = atomic_load_explicit(&chosen, memory_order_acquire);
    if (k) return k;
    char note[200];
    const cg__kernels *pick = cg__kern_at(
        cg__cpu_pick(getenv("CGRAD_CPU_CAPABILITY"), note, sizeof note));
    /* racing first calls pick the same table; one stores it and notes why */
    if (atomic_compare_exchange_strong(&chosen, &k, pick) && note[0])
        fprintf(stderr, "cgrad: %s\n", note);
    return atomic_load_explicit(&chosen, memory_order_acquire);
}

const char *cg__cpu_capability(void) { return cg__kern()->name; }
