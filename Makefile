# lifeboat — build, test, benchmark.
#   make            build/lifeboat and build/liblifeboat.a
#   make deps       install every Debian package the build and the tests need
#   make check      deps + build + the whole test suite under prove
#   make demo       back up /etc into ./demo-repo, check, restore, compare
#   make check SANITIZE=address,undefined

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
SANITIZE ?=
PKGS     := libzstd openssl jansson libmariadb inih libarchive zlib fuse3 libxxhash

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Wformat=2 \
            -Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing \
            -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
            -Ilib/include -Ilib
LDLIBS   += -pthread
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build-san
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS)

LIB_SRC  := $(sort $(wildcard lib/*/*.c))
CMD_SRC  := $(sort $(wildcard cmd/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/t_*.c))
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%.t)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/%)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%-replay)

.PHONY: all deps check test demo bench clean install fuzz
all: $(BUILD)/lifeboat $(BUILD)/liblifeboat.a

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/liblifeboat.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/lifeboat: $(CMD_OBJ) $(BUILD)/liblifeboat.a
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/liblifeboat.a $(LDLIBS)

$(BUILD)/tests/%.t: tests/unit/%.c tests/tap.h $(BUILD)/liblifeboat.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/liblifeboat.a $(LDLIBS)

$(BUILD)/tests/%: tests/helpers/%.c $(BUILD)/liblifeboat.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/liblifeboat.a $(LDLIBS) $(shell pkg-config --cflags --libs fuse3 2>/dev/null)

# Each fuzz target is also built with a small main() that replays its corpus,
# so `make check` runs every decoder over every stored input (see tests/fuzz/).
$(BUILD)/tests/%-replay: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/liblifeboat.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/liblifeboat.a $(LDLIBS)

deps:
	sh tests/deps.sh

test: all $(UNIT_BIN) $(HELPER_BIN) $(FUZZ_REPLAY)
	LIFEBOAT_BUILD=$(CURDIR)/$(BUILD) prove -j2 --timer $(UNIT_BIN) tests/fuzz/replay.t tests/cli/*.t

check: deps
	$(MAKE) test

demo: deps
	$(MAKE) all
	sh tests/demo.sh

# Each script writes its own table into docs/PERFORMANCE.md; bench/scale.sh
# (a million files, ten million chunks) runs apart: it takes much longer.
bench: deps
	$(MAKE) all $(HELPER_BIN)
	bash bench/run.sh
	bash bench/prune.sh
	bash bench/ttfb.sh
	bash bench/image.sh
	bash bench/mysql.sh

fuzz:
	sh tests/fuzz/build-libfuzzer.sh

install: all
	install -D -m 0755 $(BUILD)/lifeboat $(DESTDIR)$(PREFIX)/bin/lifeboat
	install -D -m 0644 $(BUILD)/liblifeboat.a $(DESTDIR)$(PREFIX)/lib/liblifeboat.a
	install -d $(DESTDIR)$(PREFIX)/include/lifeboat
	install -m 0644 lib/include/lifeboat/*.h $(DESTDIR)$(PREFIX)/include/lifeboat/
	install -D -m 0644 docs/lifeboat.1 $(DESTDIR)$(PREFIX)/share/man/man1/lifeboat.1
	install -d $(DESTDIR)$(PREFIX)/share/lifeboat/hooks
	install -m 0755 hooks/* $(DESTDIR)$(PREFIX)/share/lifeboat/hooks/
	install -m 0644 dist/lifeboat.conf.example dist/lifeboat.cron dist/lifeboat-backup@.service \
		dist/lifeboat-backup@.timer docs/HOOKS.md $(DESTDIR)$(PREFIX)/share/lifeboat/

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)
