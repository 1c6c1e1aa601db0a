# mailsim build. One Makefile, no generated build system.
#
#   make            build ./mailsim and build/libmailsim.a
#   make demo       install missing packages, build, run the default scenario
#   make check      install missing packages, build, run every test suite
#   make check-browser  the step-through story page in headless Chromium
#   make asan       the test suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      benchmark figures (engine, ...); worlds also to build/bench-worlds.csv
#   make bench-plot draw build/bench-worlds.csv as build/bench-worlds.svg (after make bench)
#   make bench-bridge  the bridge's SMTP listener against Postfix's smtp-sink
#   make lint       layering and no-global-state rules
#   make install PREFIX=/usr/local
#
# Sources are found by wildcard: every sim/*/*.c (one folder per layer, see
# README "Architecture") and viz/*.c except sim/cli/main.c
# goes into the library, and every tests/test_*.c is one CUnit test program.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
PKGS     = glib-2.0 gio-2.0 libxml-2.0 cairo pangocairo json-glib-1.0
TESTPKGS = cunit

WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wformat=2 -Wimplicit-fallthrough -Wvla -Werror
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE $(WARN) $(OPT) $(SAN) -Iinclude \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm
TEST_CFLAGS = $(shell pkg-config --cflags $(TESTPKGS))

# Open MPI is optional. With mpicc, sim/dist/mpi_*.c build against it and
# `mpirun -np K mailsim bench phold --mpi` runs partitioned; without it (or
# with MPICC=false) they report the distributed mode as unavailable. Only
# sim/dist/mpi_*.c see mpi.h and MAILSIM_HAVE_MPI.
MPICC     ?= mpicc
MPI_LIBS  := $(shell $(MPICC) --showme:link 2>/dev/null)
MPI_CFLAGS = $(if $(strip $(MPI_LIBS)),$(shell $(MPICC) --showme:compile 2>/dev/null) -DMAILSIM_HAVE_MPI)
LDLIBS    += $(MPI_LIBS)
TEST_LIBS   = $(shell pkg-config --libs $(TESTPKGS))

LIB_SRC  = $(filter-out sim/cli/main.c,$(wildcard sim/*/*.c)) $(wildcard viz/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
# Files compiled into the library (tools/embed.sh), read back with
# ms_embedded_get("path/relative/to/repo") from include/mailsim/embedded.h.
EMBED_FILES = scenarios/schema/scenario.rng scenarios/teaching/01-first-email.xml
LIB_OBJ += $(BUILD)/gen/embedded.o
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Test scripts counted with the CUnit suites (tests/test_story.sh is not one:
# it needs Chromium, see check-browser).
TEST_SCRIPTS = tests/test_lint.sh
TESTLIB_OBJ = $(BUILD)/tests/testlib.o
HEADERS  = $(wildcard include/mailsim/*.h sim/*/*-private.h)
BIN      = $(if $(filter build,$(BUILD)),mailsim,$(BUILD)/mailsim)

.PHONY: FORCE all deps demo check asan bench bench-plot bench-bridge lint clean install tests run-tests fuzz fuzz-build check-browser

all: $(BIN)

deps:
	@sh tools/deps.sh

$(BUILD)/libmailsim.a: $(LIB_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@$(AR) rcs $@ $^

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/sim/dist/mpi_%.o: CFLAGS += $(MPI_CFLAGS)
# Rebuilt when Open MPI comes or goes (the flags are remembered in a stamp).
$(patsubst %.c,$(BUILD)/%.o,$(wildcard sim/dist/mpi_*.c)): $(BUILD)/mpi-flags
$(BUILD)/mpi-flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MPI_CFLAGS)' | cmp -s - $@ || echo '$(MPI_CFLAGS)' > $@

$(BUILD)/gen/embedded.c: $(EMBED_FILES) tools/embed.sh
	@mkdir -p $(dir $@)
	@echo "  EMBED   $@"
	@sh tools/embed.sh $(EMBED_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/embedded.o: $(BUILD)/gen/embedded.c $(HEADERS)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BIN): $(BUILD)/sim/cli/main.o $(BUILD)/libmailsim.a
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(TESTLIB_OBJ): tests/testlib.c tests/testlib.h $(HEADERS)
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) $(TEST_CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TESTLIB_OBJ) $(BUILD)/libmailsim.a tests/testlib.h $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(TEST_CFLAGS) -Itests $< $(TESTLIB_OBJ) $(BUILD)/libmailsim.a -o $@ $(LDLIBS) $(TEST_LIBS)

tests: $(TEST_BIN) $(BIN)

# Runs every suite (even after a failure) and prints one total line.
run-tests: tests
	@MAILSIM=$(abspath $(BIN)) BUILD=$(BUILD) sh tests/run-all.sh $(TEST_BIN) $(TEST_SCRIPTS)

# The demo is the first lesson, the seed article's story end to end.
demo: deps
	@$(MAKE) --no-print-directory all
	./mailsim run
	@mkdir -p out
	@./mailsim render --kind hops -o out/first-email-hops.png >/dev/null
	@./mailsim render --kind sequence -o out/first-email-sequence.png >/dev/null
	@./mailsim render --kind story -o out/first-email-story.html >/dev/null
	@echo "pictures: out/first-email-hops.png out/first-email-sequence.png out/first-email-story.html (open in a browser)"

check: deps
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory run-tests

# The story page in headless Chromium (installed on demand; skips without it).
check-browser: all
	@MAILSIM=$(abspath $(BIN)) sh tests/test_story.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" run-tests

bench: deps
	@$(MAKE) --no-print-directory all
	@sh tools/bench.sh

# Time per message against messages of the benchmark worlds, log-log.
bench-plot: all
	@test -f $(BUILD)/bench-worlds.csv || { echo "bench-plot: no $(BUILD)/bench-worlds.csv: run make bench first"; exit 2; }
	@./$(BIN) render $(BUILD)/bench-worlds.csv --kind bench -o $(BUILD)/bench-worlds.svg

bench-bridge: deps
	@$(MAKE) --no-print-directory all
	@sh tools/bench_bridge.sh

# Checks the objects too (nm: which layer calls which), so builds them first.
lint: $(BIN)
	@sh tools/lint.sh . $(BUILD)

# libFuzzer targets (tests/fuzz/*.c), built with clang against the whole
# library, each run for FUZZ_SECONDS (default 60) on a corpus kept in
# build-fuzz/corpus-NAME. Not part of `make check`.
FUZZ_SECONDS ?= 60
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer

fuzz-build: deps
	@command -v clang >/dev/null || { echo "fuzz: installing clang"; sh tools/deps.sh clang; }
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g" SAN="$(FUZZ_SAN)" build-fuzz/libmailsim.a
	@$(MAKE) --no-print-directory CC=clang $(FUZZ_BIN)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libmailsim.a
	@echo "  FUZZ    $@"
	@clang -std=c11 -D_DEFAULT_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Itests \
	    $(shell pkg-config --cflags $(PKGS)) $< build-fuzz/libmailsim.a -o $@ $(LDLIBS)

fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do \
	    n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	    seeds=""; [ $$n = fuzz_scenario ] && seeds=tests/scenarios; \
	    (cd build-fuzz && ./$$n -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -print_final_stats=1 \
	        corpus-$$n $${seeds:+../$$seeds} 2>&1 | tail -4) || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/mailsim
	install -m 755 mailsim $(DESTDIR)$(PREFIX)/bin/mailsim
	install -m 644 $(BUILD)/libmailsim.a $(DESTDIR)$(PREFIX)/lib/libmailsim.a
	install -m 644 include/mailsim/*.h $(DESTDIR)$(PREFIX)/include/mailsim/

clean:
	rm -rf build build-asan build-fuzz mailsim
