# jobd — cron served as a 9P file system.
#   make          build build/jobd and build/jobctl
#   make run      install missing packages, build, start jobd on ./.jobd and 127.0.0.1:5640
#                 (PORT=N for another port)
#   make test     install missing packages, build, run every test (plain, then ASan+UBSan)
#   make install  binaries, man pages, systemd unit, bash, zsh and fish completions under
#                 $(DESTDIR)$(PREFIX) (PREFIX=/usr/local), and the PAM service
#                 $(DESTDIR)/etc/pam.d/jobd; make uninstall
#   make fuzz     libFuzzer passes over the 9P codec, the cron parser, jobctl's crontab
#                 reader and writer and its JSON writer (clang; fuzz/)
#   make clean
# Every src/<module>/*.c except src/cmd goes into build/libjobd.a; src/cmd/<prog>.c
# links against it. tests/unit/t_<name>.c each become build/tests/t_<name>.

CC ?= cc
B ?= build
PKGS = libuv sqlite3 libmicrohttpd pam libpq
OPT ?= -O2
CFLAGS_BASE = -std=c17 -Wall -Wextra -Wformat=2 -Werror -g $(OPT) -D_GNU_SOURCE -Isrc \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDLIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm $(EXTRA_LDFLAGS)

LIB_SRC := $(filter-out src/cmd/%,$(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/t_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TEST_AUX := $(filter-out tests/unit/t_%,$(wildcard tests/unit/*.c))
TEST_AUX_OBJ := $(TEST_AUX:%.c=$(B)/obj/%.o)
# Helper programs that end-to-end tests run against a live jobd.
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)

# Version stamping: VERSION is the release, REVISION what git says of the tree
# (a commit, "-dirty" with uncommitted changes), "unknown" outside a git tree.
# Both are compiled into src/cmd/*.o only; $(B)/revision changes, and those
# objects are rebuilt, only when one of them does.
VERSION = 0.1.0
REVISION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
STAMP = -DJOBD_VERSION='"$(VERSION)"' -DJOBD_REVISION='"$(REVISION)"'

.PHONY: all deps deps-test run test test-plain test-sanitize san unit clean bench install uninstall FORCE
all: $(B)/jobd $(B)/jobctl

deps:
	@sh scripts/deps.sh
deps-test:
	@sh scripts/deps.sh test

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(if $(filter $(B)/obj/src/cmd/%,$@),$(STAMP)) -MMD -MP -c $< -o $@

$(B)/revision: FORCE
	@mkdir -p $(B)
	@echo '$(VERSION) $(REVISION)' | cmp -s - $@ || echo '$(VERSION) $(REVISION)' >$@
$(patsubst src/cmd/%.c,$(B)/obj/src/cmd/%.o,$(wildcard src/cmd/*.c)): $(B)/revision

$(B)/libjobd.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/%: $(B)/obj/src/cmd/%.o $(B)/libjobd.a
	$(CC) $(CFLAGS_BASE) -o $@ $^ $(LDLIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(TEST_AUX_OBJ) $(B)/libjobd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $^ $(LDLIBS)

$(B)/tools/%: $(B)/obj/tests/tools/%.o $(TEST_AUX_OBJ) $(B)/libjobd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN) $(TOOL_BIN)

# make run PORT=N: another TCP port than 5640.
PORT ?= 5640
run: deps
	@$(MAKE) --no-print-directory all
	@PORT='$(PORT)' B='$(B)' sh scripts/run.sh

# The whole suite, twice: the optimised build, then an ASan+UBSan build in build-san/
# (tests/run.sh sets the sanitizer options for a directory named build-san).
# Among the tests, tests/e2e/fuzz.sh builds $(FUZZ_B) and fuzzes each target
# for 10 s (in the plain run only): the fuzz-quick pass, counted in the summary.
test: deps-test
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory san
	@sh tests/run.sh $(B) build-san

test-plain: deps-test
	@$(MAKE) --no-print-directory all unit
	@sh tests/run.sh $(B)

test-sanitize: deps-test
	@$(MAKE) --no-print-directory san
	@sh tests/run.sh build-san

san:
	@$(MAKE) --no-print-directory B=build-san OPT=-O1 \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit

# Install paths; DESTDIR stages the whole tree elsewhere (packaging, tests).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# Linux-PAM reads /etc/pam.d whatever the PREFIX.
PAMDIR ?= /etc/pam.d
INSTALLED = $(SBINDIR)/jobd $(BINDIR)/jobctl $(MANDIR)/man1/jobctl.1 \
	$(MANDIR)/man5/jobd-namespace.5 $(MANDIR)/man8/jobd.8 $(UNITDIR)/jobd.service \
	$(BASHCOMPDIR)/jobctl $(ZSHCOMPDIR)/_jobctl $(FISHCOMPDIR)/jobctl.fish $(PAMDIR)/jobd

# The unit names /usr/local/sbin/jobd; it is rewritten for SBINDIR. The PAM
# service is a configuration file: one already there (perhaps the
# administrator's own) is left as it is.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
		$(DESTDIR)$(PAMDIR)
	install -m 0755 $(B)/jobd $(DESTDIR)$(SBINDIR)/jobd
	install -m 0755 $(B)/jobctl $(DESTDIR)$(BINDIR)/jobctl
	install -m 0644 doc/man/jobctl.1 $(DESTDIR)$(MANDIR)/man1/jobctl.1
	install -m 0644 doc/man/jobd-namespace.5 $(DESTDIR)$(MANDIR)/man5/jobd-namespace.5
	install -m 0644 doc/man/jobd.8 $(DESTDIR)$(MANDIR)/man8/jobd.8
	sed 's|/usr/local/sbin/|$(SBINDIR)/|g' contrib/systemd/jobd.service >$(DESTDIR)$(UNITDIR)/jobd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/jobd.service
	install -m 0644 contrib/bash-completion/jobctl $(DESTDIR)$(BASHCOMPDIR)/jobctl
	install -m 0644 contrib/zsh-completion/_jobctl $(DESTDIR)$(ZSHCOMPDIR)/_jobctl
	install -m 0644 contrib/fish-completion/jobctl.fish $(DESTDIR)$(FISHCOMPDIR)/jobctl.fish
	[ -e $(DESTDIR)$(PAMDIR)/jobd ] || install -m 0644 contrib/pam/jobd $(DESTDIR)$(PAMDIR)/jobd

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# ---- fuzzing: libFuzzer targets in fuzz/, built with clang into $(FUZZ_B) ----
# The codec, cron and util sources (and jobctl's crontab and JSON code, with
# the settings and name checks they use) are compiled again here, with coverage
# instrumentation (not libjobd.a, which is gcc-built and uninstrumented), into an
# archive, so each target links only the objects it uses.
#   make fuzz         each target for FUZZ_SECONDS (60) on a copy of fuzz/corpus/
#   make fuzz-quick   the same for 10 s each (what `make test` runs, via tests/e2e/fuzz.sh)
FUZZ_CC ?= clang
FUZZ_B ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c17 -Wall -Wextra -g -O1 -D_GNU_SOURCE -Isrc $(FUZZ_SAN) \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_SRC := $(wildcard src/9p/*.c src/cron/*.c src/util/*.c) src/jobs/settings.c src/jobs/name.c \
	$(addprefix src/ctl/,crontab.c json.c escape.c times.c table.c)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_BIN := $(patsubst fuzz/%.c,$(FUZZ_B)/%,$(wildcard fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-build fuzz-quick
fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@env -u JOBD_SANITIZED FUZZ_NOBUILD=1 FUZZ_B=$(FUZZ_B) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		sh tests/e2e/fuzz.sh

fuzz-quick:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@[ -f $(FUZZ_B)/.gitignore ] || echo '*' >$(FUZZ_B)/.gitignore
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_B)/libfuzzsrc.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_B)/libfuzzsrc.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -MMD -MP -MT $@ -MF $@.d -o $@ $< \
		$(FUZZ_B)/libfuzzsrc.a -lm

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BIN:=.d)

# ---- benchmarks (not part of make test): bench/*.c into $(B)/bench/, run by bench/run.sh ----
#   make bench           every benchmark, about 16 minutes on 2 cores (the cluster phase alone 6 to 11)
#   make bench QUICK=1   every phase shortened, about 90 s
# Results are lines "name value unit [ratio=R vs peer]"; see bench/RESULTS.md.
BENCH_BIN := $(addprefix $(B)/bench/,p9load echo_server spawn_bench dbtool cron_bench stamp)
BENCH_AUX_OBJ := $(B)/obj/bench/benchlib.o

.PHONY: bench-build
# A run's command in the burst phase, standing for its exec: static where the
# toolchain can (not with sanitizers), so that starting it costs little.
$(B)/bench/stamp: bench/stamp.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -static -o $@ $< 2>/dev/null || $(CC) $(CFLAGS_BASE) -o $@ $< $(EXTRA_LDFLAGS)
$(B)/bench/%: $(B)/obj/bench/%.o $(BENCH_AUX_OBJ) $(B)/libjobd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $^ $(LDLIBS) -lpthread

bench-build: $(B)/jobd $(B)/jobctl $(BENCH_BIN)

bench: bench-build
	@B=$(B) QUICK=$(QUICK) sh bench/run.sh

-include $(BENCH_BIN:$(B)/bench/%=$(B)/obj/bench/%.d) $(BENCH_AUX_OBJ:.o=.d)

clean:
	rm -rf build build-san $(FUZZ_B)

-include $(LIB_OBJ:.o=.d) $(UNIT_BIN:$(B)/tests/%=$(B)/obj/tests/unit/%.d) \
	$(TOOL_BIN:$(B)/tools/%=$(B)/obj/tests/tools/%.d) \
	$(patsubst src/cmd/%.c,$(B)/obj/src/cmd/%.d,$(wildcard src/cmd/*.c))
