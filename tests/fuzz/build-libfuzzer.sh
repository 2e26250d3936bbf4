#!/bin/sh
# Builds every tests/fuzz/fuzz_*.c as a libFuzzer binary in build/fuzz/,
# with AddressSanitizer and UndefinedBehaviorSanitizer, the library
# compiled from source with the same instrumentation.  `make fuzz` runs it.
#
#   sh tests/fuzz/build-libfuzzer.sh [TARGET...]     (default: all targets)
#
# Environment: CC (default clang), FUZZ_SANITIZE (default
# address,undefined), FUZZ_OUT (default build/fuzz), FUZZ_CFLAGS (extra
# flags, e.g. -fprofile-instr-generate -fcoverage-mapping).
# See tests/fuzz/README.md for running them.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

CC=${CC:-clang}
case $CC in cc|gcc|*/gcc|gcc-*) CC=clang ;; esac # libFuzzer needs clang
SAN=${FUZZ_SANITIZE:-address,undefined}
OUT=${FUZZ_OUT:-build/fuzz}
EXTRA=${FUZZ_CFLAGS:-}
PKGS="libzstd openssl jansson inih libmariadb libarchive zlib fuse3"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "build-libfuzzer: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

# shellcheck disable=SC2086
CFLAGS="-std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -Ilib/include -Ilib \
	$(pkg-config --cflags $PKGS) $EXTRA"
# shellcheck disable=SC2086
LIBS="$(pkg-config --libs $PKGS 2>/dev/null || echo -lzstd -lssl -lcrypto -ljansson -linih -lmariadb -larchive -lz -lfuse3) -lpthread"

mkdir -p "$OUT/obj"
objs=""
for src in lib/*/*.c; do
	obj="$OUT/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find lib -name '*.h' -newer "$obj" | head -1)" ] ||
	   [ "$0" -nt "$obj" ]; then
		# shellcheck disable=SC2086
		$CC $CFLAGS -fsanitize=fuzzer-no-link,$SAN -c "$src" -o "$obj"
	fi
	objs="$objs $obj"
done
rm -f "$OUT/liblifeboat-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$OUT/liblifeboat-fuzz.a" $objs

if [ $# -gt 0 ]; then
	targets=$*
else
	targets=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done)
fi
for t in $targets; do
	t=${t#fuzz_}
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer,$SAN -o "$OUT/fuzz_$t" "tests/fuzz/fuzz_$t.c" "$OUT/liblifeboat-fuzz.a" $LIBS
	echo "build-libfuzzer: $OUT/fuzz_$t"
done
