#!/usr/bin/env bash
# Install check: installs cgrad into a temporary prefix, then builds the small
# consumer app.c against that install in five ways and runs each:
#   1. CMake find_package(cgrad), target cgrad::cgrad         (shared library)
#   2. CMake find_package(cgrad), target cgrad::cgrad_static  (static library)
#   3. pkg-config --cflags --libs cgrad                       (shared library)
#   4. pkg-config --static, linking libcgrad.a                 (static library)
#   5. plain `cc app.c -lcgrad -lm` with -I/-L pointing at the prefix
# Each must print expected.txt exactly.
#
# Usage: tests/install/run.sh            (run from anywhere; `make check-install`)
# Env:   CMAKE (cmake), CC (cc), JOBS (2), CGRAD_INSTALL_BUILD (build dir,
#        default <repo>/build-install, kept between runs for speed)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
cmake=${CMAKE:-cmake}
cc=${CC:-cc}
jobs=${JOBS:-2}
bdir=${CGRAD_INSTALL_BUILD:-$src/build-install}

work=$(mktemp -d "${TMPDIR:-/tmp}/cgrad-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { echo "-- check-install: $*"; }
fail() { echo "check-install: FAILED: $*" >&2; exit 1; }

# Runs a built consumer and compares what it prints with expected.txt.
check_run() {
    local what=$1; shift
    local out=$work/out.txt
    if ! "$@" >"$out" 2>&1; then
        cat "$out" >&2
        fail "$what: the program failed"
    fi
    if ! diff -u "$here/expected.txt" "$out"; then
        fail "$what: unexpected output"
    fi
    step "$what: ok"
}

step "installing into $prefix"
"$cmake" -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DCGRAD_BUILD_TESTS=OFF \
    -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; fail "configure"; }
"$cmake" --build "$bdir" -j"$jobs" --target cgrad cgrad_static
"$cmake" --install "$bdir" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install"; }
(cd "$prefix" && find . -type f -o -type l | sort | sed 's|^\./|   |')

pcfile=$(find "$prefix" -name cgrad.pc -print -quit)
[ -n "$pcfile" ] || fail "no cgrad.pc installed"
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
[ -f "$prefix/include/cgrad.h" ] || fail "no include/cgrad.h installed"
[ -f "$libdir/libcgrad.a" ] || fail "no libcgrad.a in $libdir"
ls "$libdir"/libcgrad.so* >/dev/null 2>&1 || fail "no libcgrad.so in $libdir"
[ -f "$libdir/cmake/cgrad/cgradConfig.cmake" ] || fail "no cgradConfig.cmake in $libdir/cmake/cgrad"

# 1, 2: CMake package.
step "find_package(cgrad)"
"$cmake" -S "$here" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer.log" 2>&1 ||
    { cat "$work/consumer.log" >&2; fail "configuring the find_package consumer"; }
found=$(sed -n 's/^cgrad_DIR:PATH=//p' "$work/consumer/CMakeCache.txt")
[ "$found" -ef "$libdir/cmake/cgrad" ] || fail "find_package found cgrad in '$found', not in the temporary prefix"
"$cmake" --build "$work/consumer" -j"$jobs" >"$work/consumer-build.log" 2>&1 ||
    { cat "$work/consumer-build.log" >&2; fail "building the find_package consumer"; }
check_run "find_package, cgrad::cgrad" "$work/consumer/app_shared"
# (ldd's output is captured first: grep -q stopping early would make ldd die
# of SIGPIPE, which pipefail reports as a failure)
deps=$(ldd "$work/consumer/app_shared")
grep -q "$libdir/libcgrad.so" <<<"$deps" ||
    fail "app_shared does not load $libdir/libcgrad.so"
check_run "find_package, cgrad::cgrad_static" "$work/consumer/app_static"
deps=$(ldd "$work/consumer/app_static")
if grep -q libcgrad <<<"$deps"; then
    fail "app_static loads a shared libcgrad"
fi

# 3, 4: pkg-config.
export PKG_CONFIG_PATH=$pcdir
command -v pkg-config >/dev/null || fail "pkg-config not found (apt-get install pkg-config)"
step "pkg-config cgrad $(pkg-config --modversion cgrad): $(pkg-config --cflags --libs cgrad)"
cflags=(-std=c11 -Wall -Wextra -Werror)
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
"$cc" "${cflags[@]}" "$here/app.c" -o "$work/app_pc" $(pkg-config --cflags --libs cgrad)
LD_LIBRARY_PATH=$libdir check_run "pkg-config, shared" "$work/app_pc"
static_libs=$(pkg-config --static --libs cgrad | sed 's/-lcgrad\b/-l:libcgrad.a/')
step "pkg-config --static: $static_libs"
# shellcheck disable=SC2046,SC2086
"$cc" "${cflags[@]}" "$here/app.c" -o "$work/app_pc_static" $(pkg-config --cflags cgrad) $static_libs
check_run "pkg-config, static" "$work/app_pc_static"

# 5: the plain compiler line.
"$cc" "${cflags[@]}" -I"$prefix/include" "$here/app.c" -o "$work/app_cc" -L"$libdir" -lcgrad -lm
LD_LIBRARY_PATH=$libdir check_run "cc app.c -lcgrad -lm" "$work/app_cc"

echo "check-install: ok"
