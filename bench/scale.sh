#!/bin/bash
# Scale figures for docs/PERFORMANCE.md:
#  - a tree of 1,000,000 small files: first backup and re-run, peak RSS;
#  - one directory of 100,000 entries (the files cache holds one directory
#    at a time, so this is what its memory grows with);
#  - a synthetic repository of 10,000,000 chunks: how long it takes to open
#    and how many bytes per chunk the index holds.
#   bench/scale.sh [--files N] [--chunks N]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${LIFEBOAT_BUILD:-$PWD/build}
LB=$BUILD/lifeboat
WORK=${BENCH_WORK:-$PWD/bench/work}/scale
FILES=1000000
CHUNKS=10000000
while [ $# -gt 0 ]; do
	case $1 in
	--files) FILES=$2; shift 2 ;;
	--chunks) CHUNKS=$2; shift 2 ;;
	*) echo "scale: unknown argument $1" >&2; exit 2 ;;
	esac
done
export LIFEBOAT_PASSWORD=bench-password LIFEBOAT_LOCK_DIR=$WORK/locks
mkdir -p "$WORK"
cc -O2 -o "$BUILD/mkmany" bench/mkmany.c || exit 1
make -s "$BUILD/liblifeboat.a" >/dev/null
cc -O2 -Ilib/include -Ilib $(pkg-config --cflags libzstd openssl jansson) -o "$BUILD/synthindex" bench/synthindex.c \
	"$BUILD/liblifeboat.a" $(pkg-config --libs libzstd openssl jansson) -pthread || exit 1

timed() { # label cmd...: prints "label: wall s, peak RSS MB"
	local label=$1
	shift
	/usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
	read -r e m <"$WORK/t"
	printf '| %s | %s s | %d MB |\n' "$label" "$e" $((m / 1024))
}

echo "| measurement | wall | peak RSS |"
echo "|---|---|---|"
if [ ! -f "$WORK/many-$FILES.done" ]; then
	rm -rf "$WORK/many"
	"$BUILD/mkmany" "$WORK/many" "$FILES" 1000 && touch "$WORK/many-$FILES.done"
fi
rm -rf "$WORK/repo"
"$LB" -r "$WORK/repo" init
timed "first backup of $FILES small files (1,000 per directory)" "$LB" -r "$WORK/repo" backup "$WORK/many"
timed "unchanged re-run of the same" "$LB" -r "$WORK/repo" backup "$WORK/many"
timed "check --read-data of that repository" "$LB" -r "$WORK/repo" check --read-data
if [ ! -f "$WORK/wide.done" ]; then
	rm -rf "$WORK/wide"
	"$BUILD/mkmany" "$WORK/wide" 100000 100000 && touch "$WORK/wide.done"
fi
timed "first backup of one directory of 100,000 files" "$LB" -r "$WORK/repo" backup "$WORK/wide"
timed "unchanged re-run of the same" "$LB" -r "$WORK/repo" backup "$WORK/wide"
rm -rf "$WORK/repo"
rm -rf "$WORK/synth"
"$BUILD/synthindex" "$WORK/synth" "$CHUNKS" | sed 's/^/# /'
rm -rf "$WORK/synth"
