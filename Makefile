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
	$$(CC) $$(CFLAGS_BASE) $(2) -c $$< -o $$@
$(1)/libmodex.a: $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
$(1)/modex: $(1)/obj/$(MAIN_SRC:.c=.o) $(1)/libmodex.a
	$$(CC) $(2) -Wl,--whole-archive $(1)/libmodex.a -Wl,--no-whole-archive $$< -o $$@ $$(LIBS)
$(1)/tests/%: $(1)/obj/tests/%.o $(1)/libmodex.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$< -Wl,--whole-archive $(1)/libmodex.a -Wl,--no-whole-archive -o $$@ $$(LIBS)
$(1)/all: $(1)/modex $$(patsubst tests/%.c,$(1)/tests/%,$$(TEST_SRCS))
endef

ASAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(eval $(call variant,$(BUILD),$(OPT)))
$(eval $(call variant,$(BUILD)/asan,-O1 $(ASAN)))

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
