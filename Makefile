# unitsync - see README.md.  `make` builds every program into bin/.
.SUFFIXES:

PREFIX ?= /usr/local
CC = gcc
CFLAGS ?= -O2 -g
SANITIZE ?=
PKGS = libxml-2.0 sqlite3 libcurl jansson libcrypto inih
SIM_PKGS = libmicrohttpd sqlite3 jansson libcrypto
WARN = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -Wno-format-truncation
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv
ALL_CFLAGS = $(WARN) $(CFLAGS) -Ilib $(PKG_CFLAGS)
# `make V=1` shows the full compiler command lines
ifeq ($(V),1)
Q =
else
Q = @
endif

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=build/lib/%.o)
LIB_HDR = $(wildcard lib/*.h)

# program name -> source: bin/unitsync-NAME is built from DIR/NAME.c
CLI_PROGS = $(patsubst cli/%.c,bin/unitsync-%,$(filter-out cli/unitsync.c,$(wildcard cli/*.c)))
EXTRACT_PROGS = $(patsubst extract/%.c,bin/unitsync-%,$(wildcard extract/*.c))
TRANSFORM_PROGS = $(patsubst transform/%.c,bin/unitsync-%,$(wildcard transform/*.c))
LOAD_PROGS = $(patsubst load/%.c,bin/unitsync-%,$(wildcard load/*.c))
PROGS = bin/unitsync $(CLI_PROGS) $(EXTRACT_PROGS) $(TRANSFORM_PROGS) $(LOAD_PROGS) bin/latch-sim \
	$(if $(wildcard fixtures/gen/*.c),bin/portfolio-gen)

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=build/tests/%)

all: deps-check $(PROGS)

build/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/libunitsync.a: $(LIB_OBJ)
	$(Q)rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $(LIB_OBJ)

bin/unitsync: cli/unitsync.c build/libunitsync.a
	@mkdir -p bin
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libunitsync.a $(PKG_LIBS)

bin/unitsync-%: cli/%.c build/libunitsync.a
	@mkdir -p bin
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libunitsync.a $(PKG_LIBS)

bin/unitsync-%: extract/%.c build/libunitsync.a
	@mkdir -p bin
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libunitsync.a $(PKG_LIBS)

bin/unitsync-%: transform/%.c build/libunitsync.a
	@mkdir -p bin
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libunitsync.a $(PKG_LIBS)

bin/unitsync-%: load/%.c build/libunitsync.a
	@mkdir -p bin
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libunitsync.a $(PKG_LIBS)

bin/latch-sim: $(wildcard fixtures/latch-sim/*.c fixtures/latch-sim/*.h)
	@mkdir -p bin
	@echo "  CC      $@"
	$(Q)$(CC) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ fixtures/latch-sim/*.c \
		$$(pkg-config --cflags --libs $(SIM_PKGS)) -lpthread

bin/portfolio-gen: $(wildcard fixtures/gen/*.c fixtures/gen/*.h)
	@mkdir -p bin
	@echo "  CC      $@"
	$(Q)$(CC) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ fixtures/gen/*.c

build/tests/%: tests/unit/%.c build/libunitsync.a $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libunitsync.a $(PKG_LIBS) \
		$$(pkg-config --cflags --libs cmocka)

# `make deps` installs the Debian packages of tests/deps.sh that are missing
# (docs/ARCHITECTURE.md §11).
deps:
	@sh tests/deps.sh install

deps-check:
	@sh tests/deps.sh check

unit: all $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "# $$t"; $$t; done

e2e: all
	prove -f tests/e2e/t*.sh

test: deps
	$(MAKE) unit
	$(MAKE) e2e

check: deps
	$(MAKE) clean-build
	$(MAKE) SANITIZE=$(SANITIZE) CFLAGS="-O1 -g" unit e2e

# `make valgrind-check`: the unit tests and the end-to-end suite with every
# unitsync program under valgrind memcheck (tests/e2e/lib.sh wraps the
# programs found on PATH; UNITSYNC_EXEC_WRAPPER, a testing hook of the
# driver, wraps those it runs, also in tests that do not use lib.sh).
# latch-sim and portfolio-gen are fixtures and run as they are.  Each
# process logs to build/valgrind/; any log with an error fails the target.
VG_LOGS = $(CURDIR)/build/valgrind
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite
valgrind-check:
	@command -v valgrind >/dev/null 2>&1 || { \
		echo "valgrind-check needs valgrind: apt-get install -y valgrind" >&2; exit 2; }
	$(MAKE) clean-build
	$(MAKE) CFLAGS="-O1 -g" all $(UNIT_BINS)
	@rm -rf $(VG_LOGS) && mkdir -p $(VG_LOGS)
	@set -e; for t in $(UNIT_BINS); do echo "# valgrind $$t"; \
		$(VALGRIND) --log-file=$(VG_LOGS)/unit.$${t##*/}.%p.log $$t; done
	@UNITSYNC_VALGRIND=1 UNITSYNC_VALGRIND_LOGS=$(VG_LOGS) \
		UNITSYNC_EXEC_WRAPPER="$(VALGRIND) --log-file=$(VG_LOGS)/driver.%p.log" \
		prove -f tests/e2e/t*.sh; rc=$$?; \
		bad=$$(find $(VG_LOGS) -type f -size +0c | sort); \
		for f in $$bad; do echo "== $$f"; cat "$$f"; done; \
		echo "valgrind-check: $$(ls $(VG_LOGS) | wc -l) processes checked," \
			"$$(echo $$bad | wc -w) with errors (logs in build/valgrind/)"; \
		[ $$rc -eq 0 ] && [ -z "$$bad" ]

# `make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS=...] [FUZZ_JOBS=1]`: build the
# libFuzzer targets of tests/fuzz/ with clang (ASan, UBSan) and run each for
# FUZZ_SECONDS; see tests/fuzz/run.sh for corpora and crash files.  Needs
# clang with libFuzzer, which `make deps` does not install.
FUZZ_CC = clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= extract_csv extract_xml delta rundir latch_reply
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -Ilib -Itests/fuzz $(PKG_CFLAGS)
FUZZ_LIB_OBJ = $(LIB_SRC:lib/%.c=build/fuzz/lib/%.o)

build/fuzz/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libunitsync.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $(FUZZ_LIB_OBJ)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.c tests/fuzz/fuzz.h build/fuzz/libunitsync.a
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/fuzz.c \
		build/fuzz/libunitsync.a $(PKG_LIBS)

fuzz:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 && \
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' | \
		$(FUZZ_CC) -fsanitize=fuzzer -x c -o /dev/null - 2>/dev/null || { \
		echo "make fuzz needs clang with libFuzzer: apt-get install -y clang libclang-rt-dev" >&2; \
		exit 2; }
	$(MAKE) $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# `make bench` measures every stage beside a peer run on the same files
bench: deps
	$(MAKE) all
	bash bench/run.sh

# `make bench-quick`: every part at 10k and 100k people, one run of each,
# small load and end-to-end portfolios: for iterating (bench/run.sh's
# header names each knob; `make bench` is the measurement of record)
bench-quick: deps
	$(MAKE) all
	BENCH_SIZES="10000 100000" BENCH_TRANSFORM_SIZES="10000 100000" \
	BENCH_TRANSFORM_HISTORY_PEOPLE=10000 BENCH_LOAD_UNITS=100 BENCH_WRK_SECONDS=2 \
	BENCH_E2E_UNITS=10000 BENCH_REPEAT=1 bash bench/run.sh

demo: deps
	$(MAKE) all
	sh fixtures/demo/run-demo.sh

lint:
	@sh tests/lint.sh

format:
	clang-format -i lib/*.c lib/*.h cli/*.c extract/*.c transform/*.c load/*.c \
		fixtures/latch-sim/*.c tests/unit/*.c

# `make install [PREFIX=/usr/local] [DESTDIR=...]`: the driver and its
# unitsync-* programs into PREFIX/bin (latch-sim and portfolio-gen are test
# fixtures and stay in bin/), their man pages into PREFIX/share/man/man1, and
# the pipelines into PREFIX/share/unitsync/pipelines: nightly.sh and
# rerun.sh with the log.sh they source (they find the driver at PREFIX/bin/unitsync, three levels up),
# the systemd units and the Kubernetes CronJob, whose path of nightly.sh is
# rewritten from /usr/local to PREFIX.  `make uninstall` removes exactly
# these files.
INSTALL_PROGS = $(filter bin/unitsync%,$(PROGS))
INSTALL_MAN = $(wildcard docs/unitsync*.1)
SHARE_DIR = $(PREFIX)/share/unitsync
PIPELINE_SCRIPTS = pipelines/nightly.sh pipelines/rerun.sh pipelines/notify-failure.sh
PIPELINE_SOURCED = pipelines/log.sh
PIPELINE_FILES = $(wildcard pipelines/systemd/*.service pipelines/systemd/*.timer) \
	$(wildcard pipelines/k8s/*.yaml)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(sort $(dir $(PIPELINE_SCRIPTS:%=$(DESTDIR)$(SHARE_DIR)/%) \
			$(PIPELINE_FILES:%=$(DESTDIR)$(SHARE_DIR)/%)))
	install -m 0755 $(INSTALL_PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(INSTALL_MAN) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0755 $(PIPELINE_SCRIPTS) $(DESTDIR)$(SHARE_DIR)/pipelines/
	install -m 0644 $(PIPELINE_SOURCED) $(DESTDIR)$(SHARE_DIR)/pipelines/
	@set -e; for f in $(PIPELINE_FILES); do \
		echo "sed PREFIX $$f -> $(DESTDIR)$(SHARE_DIR)/$$f"; \
		sed 's|/usr/local/share/unitsync/|$(SHARE_DIR)/|g' $$f >$(DESTDIR)$(SHARE_DIR)/$$f.tmp; \
		chmod 0644 $(DESTDIR)$(SHARE_DIR)/$$f.tmp; \
		mv $(DESTDIR)$(SHARE_DIR)/$$f.tmp $(DESTDIR)$(SHARE_DIR)/$$f; \
	done

uninstall:
	rm -f $(INSTALL_PROGS:bin/%=$(DESTDIR)$(PREFIX)/bin/%) \
		$(INSTALL_MAN:docs/%=$(DESTDIR)$(PREFIX)/share/man/man1/%) \
		$(PIPELINE_SCRIPTS:%=$(DESTDIR)$(SHARE_DIR)/%) $(PIPELINE_SOURCED:%=$(DESTDIR)$(SHARE_DIR)/%) \
		$(PIPELINE_FILES:%=$(DESTDIR)$(SHARE_DIR)/%)
	-rmdir $(sort $(dir $(PIPELINE_FILES:%=$(DESTDIR)$(SHARE_DIR)/%))) \
		$(DESTDIR)$(SHARE_DIR)/pipelines $(DESTDIR)$(SHARE_DIR) 2>/dev/null

clean-build:
	rm -rf build bin

clean: clean-build

.PHONY: bench-quick all deps deps-check unit e2e test check valgrind-check fuzz demo bench lint format \
	install uninstall clean clean-build
