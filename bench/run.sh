#!/usr/bin/env bash
# Runs the benchmarks: for each bench/NAME.c (built as BUILD_DIR/bench/NAME)
# and its PyTorch twin bench/NAME.py, back to back, at each thread count of
# BENCH_THREADS. Each prints one or more metric lines
# "<cgrad|torch> METRIC: VALUE UNIT" (e.g. us/iter, kB, frac, GFLOP/s); at a
# thread count N other than 1 this prints them as METRIC_Nt (chargpt_step_2t).
# For every metric both print, this prints
#     RATIO METRIC X/Y          (3 significant digits)
# where < 1 means cgrad is better for times and sizes (us/iter, kB) and worse
# for rates and fractions (GFLOP/s, frac).
# A program without a twin (vmath_ulp) prints its lines and no ratio, and runs
# at the first thread count only unless it is named on the command line; one
# that compares within itself (gemm_backends: each GEMM backend against
# OpenBLAS) prints its own RATIO lines and runs at every thread count.
#
# Usage: bench/run.sh [BUILD_DIR] [NAME...]     (`make bench` runs it)
# Env:   BENCH_THREADS (1): the thread counts, in turn ("1 2": make bench), for
#        both sides (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, torch.set_num_threads)
#        BENCH_ITERS: timed iterations per benchmark (each program's default)
#        CGRAD_PYTHON (/usr/bin/python3): the Python with torch
#
# A new benchmark is a pair bench/NAME.c + bench/NAME.py printing their metric
# lines; nothing to add here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}
[ $# -gt 0 ] && shift
python=${CGRAD_PYTHON:-/usr/bin/python3}
thread_counts=${BENCH_THREADS:-1}
named=$#
self_compared=" gemm_backends " # twin-less programs run at every thread count

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for c in "$here"/*.c; do [ -e "$c" ] && names+=("$(basename "$c" .c)"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "bench: no benchmarks in $here" >&2; exit 1; }

# The benchmark command's environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
# unset (for this command only) and the same thread count on both sides.
bench_env() {
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" "$@"
}

# The metrics "<who> METRIC: VALUE UNIT" a program printed, as "METRIC VALUE".
metrics_of() { sed -n "s/^$1 \([A-Za-z0-9_]*\): \([0-9.eE+-]*\) [^ ]*\$/\1 \2/p" <<<"$2"; }

# A program's output with its metric names suffixed _Nt at N threads (N > 1).
suffixed() {
    if [ "$threads" = 1 ]; then cat; else
        # (a name that already ends in _Nt, as gemm_backends prints them, keeps it)
        sed "s/^\(cgrad\|torch\) \([A-Za-z0-9_]*\):/\1 \2_${threads}t:/; s/_${threads}t_${threads}t:/_${threads}t:/"
    fi
}

have_torch=1
if ! "$python" -c 'import torch' >/dev/null 2>&1; then
    have_torch=0
    echo "bench: $python cannot import torch; install it with: apt-get install -y python3-torch" >&2
fi

# Runs benchmark $1 at $threads threads and prints its lines and ratios;
# 1 if something failed.
run_one() {
    local name=$1 bin=$build/bench/$1 py=$here/$1.py out_c out_t metric x y n_ratios=0
    if [ ! -x "$bin" ]; then
        echo "bench $name: $bin not built (make bench builds it)" >&2
        return 1
    fi
    if ! out_c=$(bench_env "$bin" | suffixed); then
        echo "$out_c"; echo "bench $name: $bin failed" >&2
        return 1
    fi
    echo "$out_c"
    if [ ! -f "$py" ]; then
        [[ $self_compared == *" $name "* ]] || echo "bench $name: no $py, no ratio"
        return 0
    fi
    [ $have_torch = 1 ] || return 1
    if ! out_t=$(bench_env "$python" "$py" | suffixed); then
        echo "$out_t"; echo "bench $name: $py failed" >&2
        return 1
    fi
    echo "$out_t"
    while read -r metric x; do
        y=$(metrics_of torch "$out_t" | awk -v m="$metric" '$1 == m { print $2 }' | tail -n 1)
        [ -n "$y" ] || continue
        awk -v n="$metric" -v x="$x" -v y="$y" 'BEGIN { printf "RATIO %s %.3g\n", n, x / y }'
        n_ratios=$((n_ratios + 1))
    done < <(metrics_of cgrad "$out_c")
    if [ $n_ratios = 0 ]; then
        echo "bench $name: no metric printed by both sides" >&2
        return 1
    fi
}

failed=0
first=1
for threads in $thread_counts; do
    echo "bench: threads=$threads, $(nproc) CPUs, $(uname -m)"
    for name in "${names[@]}"; do
        # a twin-less program (vmath_ulp) runs at the first thread count only
        if [ $first = 0 ] && [ $named = 0 ] && [ ! -f "$here/$name.py" ] &&
            [[ $self_compared != *" $name "* ]]; then continue; fi
        run_one "$name" || failed=1
    done
    first=0
done
exit $failed
