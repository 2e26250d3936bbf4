#!/bin/bash
# bench/image.sh: `lifeboat backup --image` against `casync make` on the
# same 4 GiB ext4 disk image, in one run, on this machine.
#
#   bench/image.sh [--runs N] [--size MiB] [--scale S] [--no-doc]
#
# The image: an ext4 file system (made with lazy init off, so that nothing
# writes it later) filled with bench/mkcorpus.c's hosting-server tree at
# scale S (web files and images, Maildirs, an SQL dump, InnoDB-like page
# files, a sparse VM disk, logs); the rest of it is free space, zeros.  The
# changed image has 1% of its bytes overwritten with random data, in 64 KiB
# blocks at random 4 KiB-aligned offsets (a night of writes to a disk).
#
# Each tool images two sources of the same bytes: the image file (a sparse
# regular file: lifeboat skips its holes with SEEK_HOLE) and a read-only
# loop device over it (a block device: every byte is read, and lifeboat
# finds the zero runs itself).  Per source: the first image into an empty
# repository / store, then the changed image into the same one (dedup).
# Timed with /usr/bin/time (wall, user+system CPU, peak RSS).  The page
# cache is equally warm for both tools: the source is read once (cat)
# right before each timed step.  Medians of the runs go to a table, with
# throughput (image size / wall time) and lifeboat/casync ratios, printed
# and written into docs/PERFORMANCE.md between <!-- image:begin --> and
# <!-- image:end -->.  Needs root (loop devices); installs casync if
# missing.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${LIFEBOAT_BUILD:-$ROOT/build}
LB=$BUILD/lifeboat
WORK=${BENCH_WORK:-$ROOT/bench/work}/image
RUNS=3
SIZE=4096
SCALE=2
DOC=1
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--scale) SCALE=$2; shift 2 ;;
	--no-doc) DOC=0; shift ;;
	*) echo "bench: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench: image.sh needs root (loop devices)" >&2; exit 1; }
[ -x "$LB" ] || { echo "bench: $LB is not built (make)" >&2; exit 1; }
if ! command -v casync >/dev/null; then
	echo "bench: installing casync" >&2
	apt-get install -y -q casync >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q casync >/dev/null; } ||
		{ echo "bench: casync could not be installed" >&2; exit 1; }
fi
export LIFEBOAT_PASSWORD=bench-password LIFEBOAT_LOCK_DIR=$WORK/locks
mkdir -p "$WORK"
IMG=$WORK/disk.img
MUT=$WORK/disk-1pct.img
MNT=$WORK/mnt
LOOPS=""
cleanup() {
	mountpoint -q "$MNT" && umount "$MNT"
	for d in $LOOPS; do losetup -d "$d" 2>/dev/null; done
	rm -rf "$WORK/repo" "$WORK/store" "$WORK"/*.caibx
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the images, made once per size and scale ----
KEY="size $SIZE scale $SCALE"
if [ "$(cat "$WORK/image.done" 2>/dev/null)" != "$KEY" ]; then
	echo "bench: building a $SIZE MiB ext4 image with the corpus at scale $SCALE"
	MKC=$BUILD/mkcorpus
	cc -O2 -o "$MKC" bench/mkcorpus.c || exit 1
	rm -f "$IMG" "$MUT" "$WORK/image.done"
	truncate -s "${SIZE}M" "$IMG"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$IMG" || exit 1
	mkdir -p "$MNT"
	mount -o loop "$IMG" "$MNT" || exit 1
	"$MKC" "$MNT/srv" --scale "$SCALE" >/dev/null || exit 1
	umount "$MNT" || exit 1
	# the changed image: 1% of the bytes rewritten, 64 KiB at a time
	cp --sparse=always "$IMG" "$MUT"
	blocks=$((SIZE * 1024 * 1024 / 100 / 65536))
	awk -v n="$blocks" -v max=$((SIZE * 256 - 16)) 'BEGIN { srand(20261125); for (i = 0; i < n; i++) print int(rand() * max) }' |
		while read -r b; do
			head -c 65536 /dev/urandom | dd of="$MUT" bs=4096 seek="$b" conv=notrunc status=none
		done
	echo "$KEY" >"$WORK/image.done"
fi
SIZE_B=$(stat -c %s "$IMG")
DEV=$(losetup -r -f --show "$IMG") && LOOPS="$DEV" || exit 1
DEVM=$(losetup -r -f --show "$MUT") && LOOPS="$LOOPS $DEVM" || exit 1

RESULTS=$WORK/results.tsv
: >"$RESULTS"
# measure TOOL STEP CMD...: appends "tool step wall cpu rss_mb" to RESULTS
measure() {
	local tool=$1 step=$2
	shift 2
	if ! /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"; then
		echo "bench: $tool $step failed:" >&2
		tail -5 "$WORK/err.txt" >&2
		exit 1
	fi
	read -r e u s m <"$WORK/time.txt"
	echo "$tool $step $e $(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}') $((m / 1024))" >>"$RESULTS"
}
size_mb() { du -sk "$1" | awk '{printf "%.1f", $1 / 1024}'; }
warm() { cat "$1" >/dev/null; }
# Both tools start from the same state: the last store's files deleted and
# aged (ext4 is slow to reuse inodes freed in the last ~30 s).
QUIET=${BENCH_QUIET:-20}
fresh() {
	rm -rf "$WORK/repo" "$WORK/store" "$WORK"/*.caibx
	sync
	sleep "$QUIET"
}

run() { # run TOOL KIND FIRST CHANGED
	local t=$1 k=$2 a=$3 b=$4
	fresh
	case $t in
	lifeboat)
		"$LB" -r "$WORK/repo" init >/dev/null || exit 1
		warm "$a"; measure $t "first-$k" "$LB" -r "$WORK/repo" backup --image "$a"
		s1=$(size_mb "$WORK/repo")
		warm "$b"; measure $t "changed-$k" "$LB" -r "$WORK/repo" backup --image "$b"
		s2=$(size_mb "$WORK/repo")
		# what was stored is the image: restore it and compare
		"$LB" -r "$WORK/repo" restore --image latest --target "$WORK/check.img" >/dev/null &&
			cmp "$WORK/check.img" "$b" ||
			{ echo "bench: lifeboat's restored $k image DIFFERS from its source" >&2; exit 1; }
		rm -f "$WORK/check.img"
		;;
	casync)
		mkdir -p "$WORK/store"
		warm "$a"; measure $t "first-$k" casync make --store="$WORK/store" "$WORK/a.caibx" "$a"
		s1=$(size_mb "$WORK/store")
		warm "$b"; measure $t "changed-$k" casync make --store="$WORK/store" "$WORK/b.caibx" "$b"
		s2=$(size_mb "$WORK/store")
		;;
	esac
	echo "$t stored-$k $s1 $(awk -v a="$s2" -v b="$s1" 'BEGIN{printf "%.1f", a - b}') 0" >>"$RESULTS"
}

for r in $(seq 1 "$RUNS"); do
	for t in lifeboat casync; do
		echo "bench: run $r/$RUNS: $t"
		run $t file "$IMG" "$MUT"
		run $t dev "$DEV" "$DEVM"
	done
done
VERIFIED="every changed image lifeboat stored was restored (restore --image) and equal to its source"

# ---- medians and the table ----
TABLE=$WORK/table.md
awk -v size="$SIZE_B" '
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (n == 0) return ""
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ for (f = 3; f <= 5; f++) { k = $1 SUBSEP $2 SUBSEP f; cnt[k]++; val[k, cnt[k]] = $f } }
function row(label, step, f, inv,   l, c) {
	l = median("lifeboat" SUBSEP step SUBSEP f)
	c = median("casync" SUBSEP step SUBSEP f)
	printf "| %s | %s | %s | %s |\n", label, l, c, (c > 0 && l > 0) ? sprintf("%.2f×", inv ? c / l : l / c) : "–"
}
function rate(label, step,   l, c) {
	l = median("lifeboat" SUBSEP step SUBSEP 3)
	c = median("casync" SUBSEP step SUBSEP 3)
	printf "| %s | %.0f | %.0f | **%.2f×** |\n", label, size / 1e6 / l, size / 1e6 / c, c / l
}
END {
	print "| measurement | lifeboat | casync | lifeboat vs casync |"
	print "|---|---|---|---|"
	rate("first image of the file, MB/s", "first-file")
	rate("first image of the block device, MB/s", "first-dev")
	rate("1%-changed image of the file, MB/s", "changed-file")
	rate("1%-changed image of the block device, MB/s", "changed-dev")
	row("first image of the file, wall s", "first-file", 3, 1)
	row("first image of the block device, wall s", "first-dev", 3, 1)
	row("1%-changed image of the file, wall s", "changed-file", 3, 1)
	row("1%-changed image of the block device, wall s", "changed-dev", 3, 1)
	row("first image of the block device, CPU s", "first-dev", 4, 0)
	row("1%-changed image of the block device, CPU s", "changed-dev", 4, 0)
	row("first image of the block device, peak RSS MB", "first-dev", 5, 0)
	row("stored after the first image (file), MB", "stored-file", 3, 0)
	row("growth from the 1% change (file), MB", "stored-file", 4, 0)
	row("stored after the first image (block device), MB", "stored-dev", 3, 0)
	row("growth from the 1% change (block device), MB", "stored-dev", 4, 0)
}' "$RESULTS" >"$TABLE"

MACHINE="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), $(df -T "$WORK" | awk 'NR==2{print $2}') on $(df "$WORK" | awk 'NR==2{print $1}')"
USED=$(debugfs -R stats "$IMG" 2>/dev/null | awk -F: '/^Free blocks/{f=$2} /^Block count/{c=$2} /^Block size/{b=$2} END{if (c) printf "%.0f", (c - f) * b / 1048576}')
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bash bench/image.sh\` ($RUNS runs, medians; warm page cache: each source read once right before each timed step)."
	echo "Machine: $MACHINE.  Versions: lifeboat $("$LB" --version | cut -d' ' -f2), casync $(casync --version | cut -d' ' -f2); both at their defaults (lifeboat: zstd, AES-256-GCM, its repository's chunker; casync: zstd, 64 KiB average chunks, no encryption)."
	echo "Image: $SIZE MiB ext4 holding bench/mkcorpus.c at scale $SCALE (${USED:-?} MiB of blocks in use, the rest zeros); the change overwrites 1% of it in 64 KiB blocks."
	echo "Load average when done: $(cut -d' ' -f1-3 /proc/loadavg).  Result check: $VERIFIED."
	echo
	cat "$TABLE"
	echo
	cat <<'WHY'
Where the difference comes from (perf record of one first image of the file, 2026-11-25, on this machine):
casync reads every byte of the image, free space included, and does everything on one thread: a third of
its samples are SHA-512/256 of the chunks (libcrypto), a quarter its own chunker, a fifth zstd.  lifeboat
skips the image's holes without reading them (SEEK_HOLE) and turns zero runs into holes before they are
chunked, hashed or compressed, so only the 44% of the image that holds data costs CPU; of that, half of
its samples are zstd (on the packer's worker threads, both cores), 16% HMAC-SHA-256 and AES-GCM
(SHA-NI/AES-NI), 6% the chunker, and a fifth the kernel copying pages.  On the block device every byte has
to be read, and the gap narrows: there lifeboat is not I/O-bound (its 1026 preads of 4 MiB took 0.56 s in
all, strace -c, warm cache) but needs ~9 s of CPU on two threads, and while other jobs shared the two cores
(load average about 3) that stretched to 15 s; on the quiet machine the same image took 8.1 s (once, not
a median).  Asking the kernel to read ahead (POSIX_FADV_WILLNEED, 32 MiB) was tried and made it slower.
WHY
} >"$WORK/section.md"
cat "$WORK/section.md"

if [ "$DOC" -eq 1 ]; then
	PERF=docs/PERFORMANCE.md
	if ! grep -q '<!-- image:begin -->' "$PERF"; then
		printf '\n## Images: `backup --image` against casync\n\n<!-- image:begin -->\n<!-- image:end -->\n' >>"$PERF"
	fi
	awk -v f="$WORK/section.md" '
		/<!-- image:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/<!-- image:end -->/ { skip = 0 }
		!skip { print }' "$PERF" >"$PERF.tmp" && mv "$PERF.tmp" "$PERF"
	echo "bench: wrote the table into $PERF"
fi
