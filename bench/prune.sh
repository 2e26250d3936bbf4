#!/bin/bash
# Prune against restic: 30 nightly snapshots of the benchmark corpus
# (bench/mkcorpus.c, night 0 then `--mutate 1..29`) in a lifeboat and a
# restic repository, then `forget --keep-last 7 --prune` in each, timed
# with /usr/bin/time (wall, CPU, peak RSS) on fresh copies of the two
# repositories, RUNS times, alternating the tools.  Both run with their
# defaults (lifeboat repacks packs >= 20% garbage, restic's --max-unused
# is 5%).  Both repositories are checked afterwards (lifeboat check
# --read-data, restic check --read-data).  The medians go to
# docs/PERFORMANCE.md between <!-- prune:begin --> and <!-- prune:end -->.
#
#   bench/prune.sh [--runs N] [--nights N] [--no-doc]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${LIFEBOAT_BUILD:-$ROOT/build}
LB=$BUILD/lifeboat
WORK=${BENCH_WORK:-$ROOT/bench/work}
RUNS=3
NIGHTS=30
DOC=1
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--nights) NIGHTS=$2; shift 2 ;;
	--no-doc) DOC=0; shift ;;
	*) echo "prune bench: unknown argument $1" >&2; exit 2 ;;
	esac
done
export LIFEBOAT_PASSWORD=bench-password RESTIC_PASSWORD=bench-password
export LIFEBOAT_LOCK_DIR=$WORK/locks RESTIC_CACHE_DIR=$WORK/restic-cache
command -v restic >/dev/null || { echo "prune bench: restic is not installed (make deps installs it)" >&2; exit 1; }
mkdir -p "$WORK"
P=$WORK/prune
MKC=$BUILD/mkcorpus
cc -O2 -o "$MKC" bench/mkcorpus.c || exit 1

# ---- 30 nights into both repositories, made once ----
if [ ! -f "$P/nights-$NIGHTS.done" ]; then
	rm -rf "$P"
	mkdir -p "$P"
	echo "prune bench: night 0 of $NIGHTS: generating the corpus"
	"$MKC" "$P/src" --scale 1 || exit 1
	"$LB" init -r "$P/lb" >/dev/null 2>&1 || exit 1
	restic init -r "$P/restic" >/dev/null 2>&1 || exit 1
	n=0
	while [ $n -lt "$NIGHTS" ]; do
		[ $n -gt 0 ] && { "$MKC" "$P/src" --mutate "$n" || exit 1; }
		"$LB" -r "$P/lb" backup -q "$P/src" >/dev/null || { echo "lifeboat backup failed" >&2; exit 1; }
		restic -r "$P/restic" backup -q "$P/src" >/dev/null || { echo "restic backup failed" >&2; exit 1; }
		n=$((n + 1))
		echo "prune bench: night $n of $NIGHTS backed up"
	done
	touch "$P/nights-$NIGHTS.done"
fi

RESULTS=$P/results.tsv
: >"$RESULTS"
size_mb() { du -sk "$1" | awk '{printf "%.1f", $1 / 1024}'; }

# measure TOOL CMD...: appends "tool wall cpu rss_mb" to RESULTS
measure() {
	local tool=$1
	shift
	if ! /usr/bin/time -f "%e %U %S %M" -o "$P/time.txt" "$@" >"$P/out.txt" 2>"$P/err.txt"; then
		echo "prune bench: $tool failed:" >&2
		tail -5 "$P/err.txt" >&2
		exit 1
	fi
	read -r e u s m <"$P/time.txt"
	echo "$tool $e $(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}') $((m / 1024))" >>"$RESULTS"
}

before_lb=$(size_mb "$P/lb")
before_re=$(size_mb "$P/restic")
r=1
while [ "$r" -le "$RUNS" ]; do
	for tool in lifeboat restic; do
		rm -rf "$P/copy"
		if [ $tool = lifeboat ]; then
			cp -a "$P/lb" "$P/copy"
			sync
			measure lifeboat "$LB" -r "$P/copy" forget --keep-last 7 --prune
			after_lb=$(size_mb "$P/copy")
			cp "$P/out.txt" "$P/lifeboat-out.txt"
			if [ "$r" -eq "$RUNS" ]; then
				"$LB" -r "$P/copy" check --read-data >/dev/null 2>"$P/check.err" ||
					{ echo "prune bench: lifeboat check failed after prune" >&2; cat "$P/check.err" >&2; exit 1; }
			fi
		else
			cp -a "$P/restic" "$P/copy"
			sync
			measure restic restic -r "$P/copy" forget --keep-last 7 --prune
			after_re=$(size_mb "$P/copy")
			if [ "$r" -eq "$RUNS" ]; then
				restic -r "$P/copy" check --read-data >/dev/null 2>"$P/check.err" ||
					{ echo "prune bench: restic check failed after prune" >&2; cat "$P/check.err" >&2; exit 1; }
			fi
		fi
		echo "prune bench: run $r $tool: $(tail -1 "$RESULTS")"
	done
	r=$((r + 1))
done
rm -rf "$P/copy"

med() { # med TOOL COLUMN
	awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$RESULTS" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
table() {
	local lw lc lm rw rc rm
	lw=$(med lifeboat 2); lc=$(med lifeboat 3); lm=$(med lifeboat 4)
	rw=$(med restic 2); rc=$(med restic 3); rm=$(med restic 4)
	echo "| prune of $NIGHTS nightly snapshots (\`forget --keep-last 7 --prune\`) | lifeboat | restic | lifeboat / restic | target |"
	echo "|---|---|---|---|---|"
	echo "| wall time, s | $lw | $rw | $(awk -v a="$lw" -v b="$rw" 'BEGIN{printf "%.2f×", a / b}') | ≤ 0.5× |"
	echo "| CPU time, s | $lc | $rc | $(awk -v a="$lc" -v b="$rc" 'BEGIN{printf "%.2f×", a / b}') | |"
	echo "| peak memory, MB | $lm | $rm | $(awk -v a="$lm" -v b="$rm" 'BEGIN{printf "%.2f×", a / b}') | ≤ 0.5× |"
	echo "| repository before, MB | $before_lb | $before_re | | |"
	echo "| repository after, MB | $after_lb | $after_re | | |"
	echo
	echo "Medians of $RUNS runs on fresh copies of the two repositories, tools alternating, page cache warm for both;"
	echo "corpus \`bench/mkcorpus.c\` at scale 1, night 0 and \`--mutate 1..$((NIGHTS - 1))\`, one backup per night."
	echo "Defaults for both: lifeboat repacks packs at least 20% garbage, restic's \`--max-unused\` is 5%."
	echo "$(restic version | head -1); measured $(date -u '+%Y-%m-%d') by \`bench/prune.sh\`."
}
table | tee "$P/table.md"
if [ "$DOC" -eq 1 ] && grep -q '<!-- prune:begin -->' docs/PERFORMANCE.md; then
	awk -v f="$P/table.md" '
		/<!-- prune:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/<!-- prune:end -->/ { skip = 0 }
		!skip { print }' docs/PERFORMANCE.md >"$P/perf.md" && cp "$P/perf.md" docs/PERFORMANCE.md
	echo "prune bench: docs/PERFORMANCE.md updated"
fi
