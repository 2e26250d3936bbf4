#!/bin/sh
# Regenerates the seed-* files of tests/fuzz/corpus/ from real repositories
# (see mkseeds.c).  Run from anywhere; needs `make` to have built the library.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s build/liblifeboat.a
mkdir -p build/fuzz
# shellcheck disable=SC2046
cc -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
	-Ilib/include -Ilib $(pkg-config --cflags libzstd openssl jansson) \
	-o build/fuzz/mkseeds tests/fuzz/mkseeds.c build/liblifeboat.a \
	$(pkg-config --libs libzstd openssl jansson) -pthread
build/fuzz/mkseeds tests/fuzz/corpus
du -sh tests/fuzz/corpus/* | sed 's/^/mkseeds: /'
