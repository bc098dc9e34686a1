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

.PHONY: all deps run check test test-asan bench install clean sample fuzz check-tsan
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

# The job queue under ThreadSanitizer (setarch -R: TSan needs the non-randomised layout).
check-tsan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/tsan/tests/test_job
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 setarch $$(uname -m) -R $(BUILD)/tsan/tests/test_job

check: deps
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory test-asan

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/modex
	./$(BUILD)/modex bench

install: $(BUILD)/modex
	install -D -m 755 $(BUILD)/modex $(DESTDIR)$(PREFIX)/bin/modex
	install -D -m 644 man/modex.1 $(DESTDIR)$(PREFIX)/share/man/man1/modex.1

# The sample model: corpus, probe set, tokenizer, model and 10 checkpoints. Same seed, same
# files (two threads gave the same bits as one with OpenBLAS here; --threads 1 guarantees it).
# The corpus stays in $(BUILD); sample_models/ gets the rest.
SAMPLE       := sample_models/gpt2-relu-4l
SAMPLE_TRAIN := --seed 1 --threads 2 --layers 4 --d-model 128 --d-ff 512 --heads 4 --vocab 1024 \
                --ctx 64 --batch 32 --steps 3000 --lr 2e-3 --ckpt-every 300
sample: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/modex
	@mkdir -p $(BUILD)/sample sample_models
	./$(BUILD)/modex corpus --seed 1 --lines 200000 --out $(BUILD)/sample/corpus.txt \
	  --probe-out sample_models/probe.csv --force
	rm -rf $(SAMPLE)
	./$(BUILD)/modex train --corpus $(BUILD)/sample/corpus.txt --out $(SAMPLE) $(SAMPLE_TRAIN)

clean:
	rm -rf $(BUILD)

# --- fuzzing (clang + libFuzzer; not part of the default build) -------------------------
# `make fuzz [FUZZ_SECONDS=10]`: builds every tests/fuzz/fuzz_*.c against the format and util
# sources and runs each for FUZZ_SECONDS on a seed corpus: the fixtures of its format plus
# the small files of tests/fuzz/seeds.sh. A crash leaves crash-* (the input) in the cwd.
FUZZ_SECONDS ?= 10
FUZZ_CC      ?= clang
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB     := $(sort $(wildcard src/formats/*.c src/util/*.c))
FUZZ_FLAGS   := -std=gnu11 -g -O1 -Wall -Wextra -D_GNU_SOURCE -Iinclude -pthread \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FIXTURES_DIR ?= ../shared/fixtures

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $< $(FUZZ_LIB) -o $@ $(LIBS)

fuzz: $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
	@set -e; for bin in $^; do \
	  name=$$(basename $$bin); ext=$${name#fuzz_}; corpus=$$(mktemp -d); log=$$corpus.log; \
	  i=0; for f in $$(find $(FIXTURES_DIR) -name "*.$$ext"); do i=$$((i+1)); cp $$f $$corpus/seed$$i.$$ext; done; \
	  tests/fuzz/seeds.sh $$corpus; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS) s on $$(ls $$corpus | wc -l) seeds"; \
	  status=0; ./$$bin -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
	    $$corpus >$$log 2>&1 || status=$$?; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|DONE' $$log || true; \
	  rm -rf $$corpus; \
	  if [ $$status != 0 ]; then tail -n 40 $$log; echo "fuzz: $$name FAILED (crash-* input saved here)"; exit 1; fi; \
	  rm -f $$log; \
	done
