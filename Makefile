# modex — build, test, run.  `make run` and `make check` are the two commands.
# A module is a new .c under src/; a test is tests/test_*.c (cmocka) or tests/*.sh.

PREFIX ?= /usr/local
BUILD  ?= build
CC     ?= cc
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

DEB_PKGS := build-essential pkg-config libopenblas-dev libcsv-dev libjansson-dev \
            libncurses-dev libreadline-dev libcmocka-dev tmux libpcre2-dev \
            libutf8proc-dev libmetis-dev wordnet-base clang libclang-rt-14-dev valgrind

PKGS   := openblas jansson ncursesw cmocka libpcre2-8 libutf8proc
WARN   := -Wall -Wextra -Werror -Wno-error=maybe-uninitialized
OPT    ?= -O2 -march=native
CFLAGS_BASE = -std=gnu11 -g $(WARN) -D_GNU_SOURCE -Iinclude -pthread \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lreadline -lmetis -lm -pthread

SRCS      := $(shell find src -name '*.c' | sort)
MAIN_SRC  := src/cli/main.c
LIB_SRCS  := $(filter-out $(MAIN_SRC),$(SRCS))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
HDRS      := $(shell find include src tests -name '*.h')

# Variant: normal build in $(BUILD), sanitizers in $(BUILD)/asan.
define variant
$(1)/obj/%.o: %.c $(HDRS)
	@mkdir -p $$(dir $$@)
	@echo "CC $$<"
	@$$(CC) $$(CFLAGS_BASE) $(2) -c $$< -o $$@
$(1)/libmodex.a: $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRCS))
	@rm -f $$@
	@ar rcs $$@ $$^
$(1)/modex: $(1)/obj/$(MAIN_SRC:.c=.o) $(1)/libmodex.a
	@echo "LD $$@"
	@$$(CC) $(2) -Wl,--whole-archive $(1)/libmodex.a -Wl,--no-whole-archive $$< -o $$@ $$(LIBS)
$(1)/tests/%: $(1)/obj/tests/%.o $(1)/libmodex.a
	@mkdir -p $$(dir $$@)
	@echo "LD $$@"
	@$$(CC) $(2) $$< -Wl,--whole-archive $(1)/libmodex.a -Wl,--no-whole-archive -o $$@ $$(LIBS)
$(1)/all: $(1)/modex $$(patsubst tests/%.c,$(1)/tests/%,$$(TEST_SRCS))
endef

ASAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(eval $(call variant,$(BUILD),$(OPT)))
$(eval $(call variant,$(BUILD)/asan,-O1 $(ASAN)))
$(eval $(call variant,$(BUILD)/tsan,-O1 -fsanitize=thread))
# For valgrind, which cannot decode the AVX-512 of -march=native: plain x86-64, -O1.
$(eval $(call variant,$(BUILD)/vg,-O1))

.PHONY: all deps run check test test-asan bench install clean sample fuzz check-tsan memcheck fuzz-smoke
.SECONDARY:

all: $(BUILD)/all

# Installs what is missing (root or sudo), else prints the apt-get line and stops.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "modex: missing Debian packages; run: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	echo "make deps: installing$$missing"; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null

run: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/modex
	./$(BUILD)/modex

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/all
	MODEX_BUILD=$(BUILD) tests/run_all.sh

test-asan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/asan/all
	MODEX_BUILD=$(BUILD)/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run_all.sh

# The job queue, the analysis job, the explorer's view models and the perturbation jobs under
# ThreadSanitizer (setarch -R: TSan needs the non-randomised layout; OpenBLAS's threads are not
# instrumented, so a TSan build runs one BLAS thread: parallel.c).
TSAN_TESTS := test_job test_tsan_analysis test_ui_models test_perturb
check-tsan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(patsubst %,$(BUILD)/tsan/tests/%,$(TSAN_TESTS))
	@for t in $(TSAN_TESTS); do echo "tsan: $$t"; \
	  OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    setarch $$(uname -m) -R $(BUILD)/tsan/tests/$$t || exit 1; done

# valgrind memcheck of the CLI paths on the fixtures (tests/hardening/memcheck.sh).
memcheck: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/vg/modex
	MODEX=$(BUILD)/vg/modex FIXTURES=$(FIXTURES_DIR) tests/hardening/memcheck.sh

# The sanitizer run comes last so that its "tests: N passed, N failed" closes the output.
check: deps
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory check-tsan
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory test-asan

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/modex
	./$(BUILD)/modex bench

install: $(BUILD)/modex
	install -D -m 755 $(BUILD)/modex $(DESTDIR)$(PREFIX)/bin/modex
	install -D -m 644 man/modex.1 $(DESTDIR)$(PREFIX)/share/man/man1/modex.1

# The sample model: corpus, probe set, tokenizer, model and 10 checkpoints. Same seed, same
# corpus and tokenizer; the weights are the same bits on a rerun with the same thread count
# on the same machine (OpenBLAS's rounding depends on how its threads split a product).
# The corpus stays in $(BUILD); sample_models/ gets the rest.
SAMPLE       := sample_models/gpt2-relu-4l
SAMPLE_TRAIN := --seed 2 --threads 2 --layers 4 --d-model 32 --d-ff 3072 --heads 4 --vocab 1024 \
                --ctx 64 --batch 32 --steps 4000 --lr 2e-3 --ckpt-every 400
sample: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/modex
	@mkdir -p $(BUILD)/sample sample_models
	./$(BUILD)/modex corpus --seed 1 --lines 200000 --out $(BUILD)/sample/corpus.txt \
	  --probe-out sample_models/probe.csv --probe-per-sub 120 --force
	rm -rf $(SAMPLE)
	./$(BUILD)/modex train --corpus $(BUILD)/sample/corpus.txt --out $(SAMPLE) $(SAMPLE_TRAIN)

clean:
	rm -rf $(BUILD)

# --- fuzzing (clang + libFuzzer; not part of the default build) -------------------------
# `make fuzz [FUZZ_SECONDS=10]`: builds every tests/fuzz/fuzz_*.c against the whole library
# (compiled by clang with ASan+UBSan and coverage) and runs each for FUZZ_SECONDS through
# tests/fuzz/run.sh (seed corpus: fixtures of its format + seeds.sh + tests/fuzz/seeds/NAME,
# dictionary tests/fuzz/NAME.dict). A crash leaves crash-* (the input) in the cwd.
# `make fuzz-smoke` (part of `make check`): every target for FUZZ_SMOKE_SECONDS; skipped with
# a message when clang or its libFuzzer runtime (libclang-rt-14-dev) is missing.
FUZZ_SECONDS       ?= 10
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_CC      ?= clang
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -Wall -Wextra -D_GNU_SOURCE -Iinclude -pthread $(FUZZ_SAN) \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FIXTURES_DIR ?= ../shared/fixtures

$(BUILD)/fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "CC(fuzz) $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzz/libmodex.a: $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
	@rm -f $@
	@ar rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h tests/fuzz/fuzz_tok.h $(BUILD)/fuzz/libmodex.a
	@echo "LD $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -Wl,--whole-archive $(BUILD)/fuzz/libmodex.a \
	  -Wl,--no-whole-archive -o $@ $(LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for bin in $^; do FIXTURES=$(FIXTURES_DIR) tests/fuzz/run.sh $$bin $(FUZZ_SECONDS); done

# libFuzzer's runtime is found by asking clang for it; no runtime: skip (not fail).
fuzz-smoke:
	@if ! command -v $(FUZZ_CC) >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return d && n < 0; }' | \
	    $(FUZZ_CC) -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then \
	  echo "fuzz-smoke: SKIPPED ($(FUZZ_CC) with libFuzzer runtime missing: apt-get install clang libclang-rt-14-dev)"; \
	else $(MAKE) --no-print-directory -j$(JOBS) $(FUZZ_BINS) && \
	  for bin in $(FUZZ_BINS); do FIXTURES=$(FIXTURES_DIR) tests/fuzz/run.sh $$bin $(FUZZ_SMOKE_SECONDS) || exit 1; done; fi
