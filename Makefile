# jobd — cron served as a 9P file system.
#   make          build build/jobd and build/jobctl
#   make run      install missing packages, build, start jobd on ./.jobd and 127.0.0.1:5640
#   make test     install missing packages, build, run every test (plain, then ASan+UBSan)
#   make clean
# Every src/<module>/*.c except src/cmd goes into build/libjobd.a; src/cmd/<prog>.c
# links against it. tests/unit/t_<name>.c each become build/tests/t_<name>.

CC ?= cc
B ?= build
PKGS = libuv sqlite3 libmicrohttpd
OPT ?= -O2
CFLAGS_BASE = -std=c17 -Wall -Wextra -Werror -g $(OPT) -D_GNU_SOURCE -Isrc \
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

.PHONY: all deps deps-test run test test-plain test-sanitize san unit clean bench
all: $(B)/jobd $(B)/jobctl

deps:
	@sh scripts/deps.sh
deps-test:
	@sh scripts/deps.sh test

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -MMD -MP -c $< -o $@

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

run: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/run.sh

# The whole suite, twice: the optimised build, then an ASan+UBSan build in build-san/
# (tests/run.sh sets the sanitizer options for a directory named build-san).
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

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(UNIT_BIN:$(B)/tests/%=$(B)/obj/tests/unit/%.d) \
	$(TOOL_BIN:$(B)/tools/%=$(B)/obj/tests/tools/%.d)
