#!/bin/bash
# Time to the first byte of a single file from a 1 GiB snapshot: the
# benchmark corpus (bench/mkcorpus.c, scale 1) backed up once, then, RUNS
# times each, on a different file every run (so no cache of ours helps):
#
#   restore --include   `lifeboat restore SNAP --include FILE` until it exits
#                       (the file is complete then; before, it may be partial)
#   mount + read        `lifeboat mount --foreground` started, then `head -c1`
#                       retried until it returns the byte: repository open,
#                       index load, snapshot list, path walk, first chunk
#   mounted, read       `head -c1` of a file not read before, through a mount
#                       that is already up
#
# for a small file (a Maildir message) and for the 104 MiB SQL dump.  Wall
# clock, medians, warm page cache.  The medians go to docs/PERFORMANCE.md
# between <!-- ttfb:begin --> and <!-- ttfb:end -->.
#
#   bench/ttfb.sh [--runs N] [--no-doc]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${LIFEBOAT_BUILD:-$ROOT/build}
LB=$BUILD/lifeboat
WORK=${BENCH_WORK:-$ROOT/bench/work}
RUNS=5
DOC=1
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--no-doc) DOC=0; shift ;;
	*) echo "ttfb bench: unknown argument $1" >&2; exit 2 ;;
	esac
done
export LIFEBOAT_PASSWORD=bench-password LIFEBOAT_LOCK_DIR=$WORK/locks
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null || { echo "ttfb bench: needs /dev/fuse and fusermount3" >&2; exit 1; }
mkdir -p "$WORK"
T=$WORK/ttfb
MKC=$BUILD/mkcorpus
cc -O2 -o "$MKC" bench/mkcorpus.c || exit 1
CORPUS=$WORK/corpus-1
if [ ! -f "$CORPUS.done" ]; then
	echo "ttfb bench: generating the corpus"
	rm -rf "$CORPUS"
	"$MKC" "$CORPUS" --scale 1 || exit 1
	touch "$CORPUS.done"
fi
if [ ! -f "$T/snapshot" ]; then
	rm -rf "$T"
	mkdir -p "$T"
	"$LB" -r "$T/repo" init >/dev/null || exit 1
	"$LB" -r "$T/repo" backup "$CORPUS" >"$T/snapshot.tmp" || exit 1
	mv "$T/snapshot.tmp" "$T/snapshot"
fi
SNAP=$(cat "$T/snapshot")
BIG=$CORPUS/mysql/dump/forum.sql
mapfile -t SMALL < <(cd / && find "${CORPUS#/}/mail" -type f -name '*.mx1*' | sort | awk 'NR % 997 == 1' | head -$((RUNS * 2)) | sed 's|^|/|')
[ "${#SMALL[@]}" -ge $((RUNS * 2)) ] || { echo "ttfb bench: not enough mail files" >&2; exit 1; }
M=$T/mnt
mkdir -p "$M"
MPID=""
cleanup() { fusermount3 -u -z "$M" 2>/dev/null; [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; }
trap cleanup EXIT

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# first_byte FILE: retries head -c1 until it gives one byte
first_byte() {
	until [ "$(head -c1 "$1" 2>/dev/null | wc -c)" -eq 1 ]; do sleep 0.002; done
}
mount_up() {
	"$LB" -r "$T/repo" mount --foreground "$M" 2>>"$T/mount.log" &
	MPID=$!
}
mount_down() {
	fusermount3 -u "$M"
	wait "$MPID"
	MPID=""
}

R=$T/results.tsv
: >"$R"
for i in $(seq 1 "$RUNS"); do
	small=${SMALL[$((i - 1))]}
	other=${SMALL[$((RUNS + i - 1))]}
	for kind in small big; do
		f=$small
		[ $kind = big ] && f=$BIG
		rm -rf "$T/out"
		t0=$(now)
		"$LB" -r "$T/repo" restore "$SNAP" --target "$T/out" --include "$f" >/dev/null || exit 1
		t1=$(now)
		cmp -s "$T/out$f" "$f" || { echo "ttfb bench: restored $f differs" >&2; exit 1; }
		echo "restore $kind $(ms "$t0" "$t1")" >>"$R"

		t0=$(now)
		mount_up
		first_byte "$M/ids/$SNAP$f"
		t1=$(now)
		echo "mount $kind $(ms "$t0" "$t1")" >>"$R"
		if [ $kind = small ]; then
			t0=$(now)
			first_byte "$M/ids/$SNAP$other"
			t1=$(now)
			echo "mounted small $(ms "$t0" "$t1")" >>"$R"
			cmp -s "$M/ids/$SNAP$other" "$other" || { echo "ttfb bench: $other differs through the mount" >&2; exit 1; }
		fi
		mount_down
	done
done
rm -rf "$T/out"

get() { awk -v s="$1" -v k="$2" '$1 == s && $2 == k { print $3 }' "$R" | median; }
section() {
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bash bench/ttfb.sh --runs $RUNS\` ($RUNS runs, a different file each run, medians; warm page cache)."
	echo "Machine: $(nproc) cores, Linux $(uname -r).  Snapshot: the benchmark corpus, $(du -sh --apparent-size "$CORPUS" | cut -f1) apparent, $(find "$CORPUS" -type f | wc -l) files, one snapshot in the repository."
	echo
	echo "| time to the first byte, ms | a Maildir message (~2 KiB) | the SQL dump (104 MiB) |"
	echo "|---|---|---|"
	echo "| \`restore SNAP --include FILE\` (whole file written) | $(get restore small) | $(get restore big) |"
	echo "| \`mount\` started, then \`head -c1\` (cold process) | $(get mount small) | $(get mount big) |"
	echo "| \`head -c1\` through a mount already up | $(get mounted small) | — |"
}
section | tee "$T/section.md"
if [ "$DOC" = 1 ]; then
	SEC=$T/section.md perl -0pi -e 'BEGIN { local $/; open(my $f, "<", $ENV{SEC}) or die; $s = <$f>; }
		s/<!-- ttfb:begin -->.*<!-- ttfb:end -->/<!-- ttfb:begin -->\n$s<!-- ttfb:end -->/s' docs/PERFORMANCE.md
fi
