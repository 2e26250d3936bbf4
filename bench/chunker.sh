#!/bin/bash
# How the chunker's sizes trade deduplication against index memory and
# speed, on the bench corpus and its nightly change.  For each average size
# (min = avg/4, max = avg*4): the first backup's time, the repository size,
# the growth from the nightly change, and the number of blobs (48 bytes of
# index memory each).
#   bench/chunker.sh [AVG...]      (default: 16 32 64 128 256 1024 KiB)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${LIFEBOAT_BUILD:-$PWD/build}
LB=$BUILD/lifeboat
WORK=${BENCH_WORK:-$PWD/bench/work}
export LIFEBOAT_PASSWORD=bench-password LIFEBOAT_LOCK_DIR=$WORK/locks
SIZES=${*:-16 32 64 128 256 1024}
cc -O2 -o "$BUILD/mkcorpus" bench/mkcorpus.c || exit 1
[ -f "$WORK/corpus-1.done" ] || { "$BUILD/mkcorpus" "$WORK/corpus-1" && touch "$WORK/corpus-1.done"; }
if [ ! -f "$WORK/corpus-1-night1.done" ]; then
	rm -rf "$WORK/corpus-1-night1"
	cp -a "$WORK/corpus-1" "$WORK/corpus-1-night1"
	"$BUILD/mkcorpus" "$WORK/corpus-1-night1" --mutate 1 && touch "$WORK/corpus-1-night1.done"
fi
echo "| avg chunk | first backup, s | repository, MB | nightly growth, MB | blobs | index memory, MB |"
echo "|---|---|---|---|---|---|"
for k in $SIZES; do
	avg=$((k * 1024))
	rm -rf "$WORK/chunkrepo"
	"$LB" -r "$WORK/chunkrepo" init --chunk-min $((avg / 4)) --chunk-avg $avg --chunk-max $((avg * 4)) >/dev/null || exit 1
	/usr/bin/time -f "%e" -o "$WORK/t" "$LB" -r "$WORK/chunkrepo" backup "$WORK/corpus-1" >/dev/null
	s1=$(du -sk "$WORK/chunkrepo" | cut -f1)
	"$LB" -r "$WORK/chunkrepo" backup "$WORK/corpus-1-night1" >/dev/null
	s2=$(du -sk "$WORK/chunkrepo" | cut -f1)
	blobs=$("$LB" -r "$WORK/chunkrepo" --json check | awk -F'[:,]' '/"blobs"/{print $2}' | tr -d ' ')
	printf '| %d KiB | %s | %.1f | %.1f | %s | %.1f |\n' "$k" "$(cat "$WORK/t")" "$(awk -v a="$s1" 'BEGIN{print a/1024}')" \
		"$(awk -v a="$s2" -v b="$s1" 'BEGIN{print (a-b)/1024}')" "${blobs:-?}" \
		"$(awk -v b="${blobs:-0}" 'BEGIN{print b*48/1048576}')"
done
rm -rf "$WORK/chunkrepo"
