# mailsim build. One Makefile, no generated build system.
#
#   make            build ./mailsim (and build/libmailsim.a, build/libmailsim-viz.a)
#   make demo       install missing packages, build, run the default scenario
#   make check      install missing packages, build, lint, run every test suite
#   make check-browser  the step-through story page in headless Chromium
#   make asan       the test suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (default 60) each
#   make bench      benchmark figures (engine, ...); worlds also to build/bench-worlds.csv
#   make bench-plot draw build/bench-worlds.csv as build/bench-worlds.svg (after make bench)
#   make bench-huge the huge benchmark world (1.1 M hosts, 100 M messages; hours; HUGE_UNTIL=2h for a slice)
#   make bench-bridge  the bridge's SMTP listener against Postfix's smtp-sink
#   make bench-tcp  mailsim's TCP beside ns-3's on the same transfers (installs libns3-dev)
#   make lint       layering and no-global-state rules (tools/lint.sh)
#   make install PREFIX=/usr/local
#   V=1             show the full compiler commands
#
# Sources are found by wildcard, one folder per layer (README "Architecture"):
#   build/libmailsim.a      every sim/*/*.c but sim/cli/, and the embedded files
#   build/libmailsim-viz.a  viz/*.c, the pictures (cairo, pango), above the simulation
#   mailsim                 sim/cli/*.c linked against both
# and every tests/test_*.c is one CUnit test program, linked against both
# libraries. Each object's header dependencies are recorded by the compiler
# (-MMD) in a .d file next to it, so touching a header rebuilds its users only.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
PKGS     = glib-2.0 gio-2.0 libxml-2.0 cairo pangocairo json-glib-1.0 nettle hogweed gmp gnutls
TESTPKGS = cunit openssl

WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wformat=2 -Wimplicit-fallthrough -Wvla -Werror
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE $(WARN) $(OPT) $(SAN) -Iinclude \
           $(shell pkg-config --cflags $(PKGS))
DEPFLAGS = -MMD -MP
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm
TEST_CFLAGS = $(shell pkg-config --cflags $(TESTPKGS))

# Quiet "  CC      file" lines, or the full commands with V=1.
ifeq ($(V),1)
Q   :=
say := @:
else
Q   := @
say := @echo
endif

# Open MPI is optional. With mpicc, sim/dist/mpi_*.c build against it and
# `mpirun -np K mailsim bench phold --mpi` runs partitioned; without it (or
# with MPICC=false) they report the distributed mode as unavailable. Only
# sim/dist/mpi_*.c see mpi.h and MAILSIM_HAVE_MPI.
MPICC     ?= mpicc
MPI_LIBS  := $(shell $(MPICC) --showme:link 2>/dev/null)
MPI_CFLAGS = $(if $(strip $(MPI_LIBS)),$(shell $(MPICC) --showme:compile 2>/dev/null) -DMAILSIM_HAVE_MPI)
LDLIBS    += $(MPI_LIBS)
TEST_LIBS   = $(shell pkg-config --libs $(TESTPKGS))

SIM_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(filter-out sim/cli/%,$(wildcard sim/*/*.c)))
VIZ_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard viz/*.c))
CLI_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard sim/cli/*.c))
# Files compiled into the library as a GResource bundle (glib-compile-resources),
# read back with ms_embedded_get("path/relative/to/repo") (include/mailsim/embedded.h,
# sim/core/embedded.c).
EMBED_FILES = scenarios/schema/scenario.rng scenarios/schema/experiment.rng scenarios/teaching/01-first-email.xml
SIM_OBJ += $(BUILD)/gen/embedded_data.o
LIB      = $(BUILD)/libmailsim.a
VIZLIB   = $(BUILD)/libmailsim-viz.a
LIBS     = $(VIZLIB) $(LIB)   # link order: the pictures use the simulation
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTLIB_OBJ = $(BUILD)/tests/testlib.o
# Test scripts counted with the CUnit suites (tests/test_story.sh is not one:
# it needs Chromium, see check-browser).
TEST_SCRIPTS = tests/test_lint.sh tests/test_sweep_resume.sh
BIN      = $(if $(filter build,$(BUILD)),mailsim,$(BUILD)/mailsim)

.PHONY: FORCE all deps demo check asan tsan bench bench-plot bench-huge bench-bridge bench-tcp lint clean install tests run-tests fuzz fuzz-build check-browser

all: $(BIN)

deps:
	@sh tools/deps.sh

$(LIB): $(SIM_OBJ)
$(VIZLIB): $(VIZ_OBJ)
$(LIB) $(VIZLIB):
	@rm -f $@
	$(say) "  AR      $@"
	$(Q)$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/sim/dist/mpi_%.o: CFLAGS += $(MPI_CFLAGS)
# Rebuilt when Open MPI comes or goes (the flags are remembered in a stamp).
$(patsubst %.c,$(BUILD)/%.o,$(wildcard sim/dist/mpi_*.c)): $(BUILD)/mpi-flags
$(BUILD)/mpi-flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MPI_CFLAGS)' | cmp -s - $@ || echo '$(MPI_CFLAGS)' > $@

# The bundle's description, then its C source (data in .rodata, looked up by
# sim/core/embedded.c through ms__embedded_get_resource()).
# (Rewritten only when EMBED_FILES changes.)
$(BUILD)/gen/embedded.gresource.xml: FORCE
	@mkdir -p $(dir $@)
	@{ echo '<?xml version="1.0" encoding="UTF-8"?>'; echo '<gresources>'; \
	   echo '  <gresource prefix="/mailsim">'; \
	   for f in $(EMBED_FILES); do echo "    <file>$$f</file>"; done; \
	   echo '  </gresource>'; echo '</gresources>'; } > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/gen/embedded_data.c: $(BUILD)/gen/embedded.gresource.xml $(EMBED_FILES)
	$(say) "  GEN     $@"
	$(Q)glib-compile-resources --sourcedir=. --generate-source --c-name ms__embedded --internal \
	    --target=$@ $<

# Generated code: compiled without our warning set (it is GLib's, not ours).
$(BUILD)/gen/embedded_data.o: $(BUILD)/gen/embedded_data.c
	$(say) "  CC      $<"
	$(Q)$(CC) $(filter-out $(WARN),$(CFLAGS)) -c $< -o $@

$(BIN): $(CLI_OBJ) $(LIBS)
	$(say) "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(say) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) -Itests -c $< -o $@

# Kept (not deleted as intermediate), so that relinking does not recompile.
.SECONDARY: $(TEST_BIN:=.o) $(TESTLIB_OBJ)
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJ) $(LIBS)
	$(say) "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) $(TEST_LIBS)

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

# LeakSanitizer's suppressions (fontconfig's and Pango's caches, kept for the
# life of the process by design) come with the tests, through LSAN_OPTIONS,
# which the programs the tests spawn inherit.
asan: deps
	@LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	    $(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" run-tests

# The parts of partitioned runs on threads (sim/dist/shard_team.c,
# shard_async.c) under ThreadSanitizer: the suite that runs every split on
# two threads, its command-line cases (building the parts on threads) with
# a ThreadSanitizer mailsim too. Minutes; not part of make check.
# G_SLICE=always-malloc: GLib 2.74's slice allocator hands memory between
# threads through locks ThreadSanitizer cannot see (it reported races on
# freshly allocated hosts and links that vanish with plain malloc).
tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" \
	    build-tsan/tests/test_partition build-tsan/mailsim
	@MAILSIM=$(abspath build-tsan/mailsim) G_SLICE=always-malloc TSAN_OPTIONS=halt_on_error=1 \
	    build-tsan/tests/test_partition

bench: deps
	@$(MAKE) --no-print-directory all
	@sh tools/bench.sh

# The huge benchmark world at flow level: its time and memory (peak_rss_kb)
# in one `bench world` line. Long (hours) and large (README, "How memory
# grows"); not part of make bench or CI. HUGE_UNTIL=2h runs a slice of
# simulated time only.
bench-huge: all
	@./$(BIN) bench world scenarios/bench/huge.xml --fidelity flow --sample 1h \
	    $(if $(HUGE_UNTIL),--until $(HUGE_UNTIL))

# Time per message against messages of the benchmark worlds, log-log.
bench-plot: all
	@test -f $(BUILD)/bench-worlds.csv || { echo "bench-plot: no $(BUILD)/bench-worlds.csv: run make bench first"; exit 2; }
	@./$(BIN) render $(BUILD)/bench-worlds.csv --kind bench -o $(BUILD)/bench-worlds.svg

bench-bridge: deps
	@$(MAKE) --no-print-directory all
	@sh tools/bench_bridge.sh

# libns3-dev (large) only here, on demand; tools/ns3/bench_tcp.sh builds
# tools/ns3/transfer.cc into $(BUILD)/ns3-transfer and prints the table.
bench-tcp: deps
	@sh tools/deps.sh libns3-dev
	@$(MAKE) --no-print-directory all
	@sh tools/ns3/bench_tcp.sh $(BUILD) ./$(BIN)

# Checks the objects too (nm: which layer calls which), so builds them first.
lint: $(BIN)
	@sh tools/lint.sh . $(BUILD)

# libFuzzer targets (tests/fuzz/fuzz_NAME.c), built with clang against the
# library, each run for FUZZ_SECONDS on a work corpus build-fuzz/corpus-NAME
# seeded from the committed tests/fuzz/corpus/NAME/. A crash, a sanitizer
# report or a leak fails the target; libFuzzer leaves the input that did it
# in build-fuzz/ (crash-*, leak-*). CI runs FUZZ_SECONDS=5. The targets run
# as many at a time as make has jobs (-j2: two side by side, each still for
# FUZZ_SECONDS); each one's lines come out together (--output-sync).
FUZZ_SECONDS ?= 60
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_RUN = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=fuzz-run-%)
FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer

fuzz-build: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g" SAN="$(FUZZ_SAN)" build-fuzz/libmailsim.a
	@$(MAKE) --no-print-directory CC=clang $(FUZZ_BIN)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libmailsim.a
	$(say) "  FUZZ    $@"
	$(Q)clang -std=c11 -D_DEFAULT_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Itests \
	    $(shell pkg-config --cflags $(PKGS)) $(DEPFLAGS) -MF $@.d -MT $@ $< build-fuzz/libmailsim.a -o $@ $(LDLIBS)

fuzz: fuzz-build
	@$(MAKE) --no-print-directory --output-sync=target $(FUZZ_RUN)

# One target's run (after fuzz-build; `make fuzz` runs them all).
fuzz-run-%: FORCE
	@n=$*; w=build-fuzz/corpus-$$n; \
	mkdir -p $$w && cp tests/fuzz/corpus/$$n/* $$w/ || exit 1; \
	echo "fuzz: $$n for $(FUZZ_SECONDS) s (seeds: tests/fuzz/corpus/$$n, $$(ls $$w | wc -l) inputs in $$w)"; \
	if (cd build-fuzz && ./fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
	        -print_final_stats=1 corpus-$$n > fuzz-$$n.log 2>&1); then \
	    grep -E '^(#[0-9]+[[:space:]]+DONE|Done )' build-fuzz/fuzz-$$n.log | tail -2; \
	else \
	    tail -40 build-fuzz/fuzz-$$n.log; echo "fuzz: $$n FAILED (log: build-fuzz/fuzz-$$n.log)"; exit 1; \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/mailsim
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mailsim
	install -m 644 $(LIB) $(VIZLIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/mailsim/*.h $(DESTDIR)$(PREFIX)/include/mailsim/

clean:
	rm -rf build build-asan build-fuzz mailsim

# Header dependencies recorded by the compiler (absent on the first build,
# when everything is built anyway).
-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d build-fuzz/*.d)
