#!/bin/bash
# make bench: lifeboat against restic and borg on the same deterministic
# ~1 GiB hosting-server corpus, in one run, on this machine.
#
#   bench/run.sh [--runs N] [--scale S] [--tools "lifeboat restic borg"] [--no-doc]
#
# Steps per tool, each timed with /usr/bin/time (wall, user+sys CPU, peak
# RSS): first backup; backup after the nightly change; unchanged re-run;
# full verify (read every byte back); restore.  Plus repository size after
# the first backup and its growth from the nightly change.  Medians of the
# runs go to a table, with lifeboat/restic and lifeboat/borg ratios, which
# is printed and written into docs/PERFORMANCE.md.  The run ends by checking
# lifeboat's own result: check --read-data, and the restored tree compared
# entry by entry with the source.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${LIFEBOAT_BUILD:-$ROOT/build}
LB=$BUILD/lifeboat
WORK=${BENCH_WORK:-$ROOT/bench/work}
RUNS=3
SCALE=1
TOOLS="lifeboat restic borg"
DOC=1
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--scale) SCALE=$2; shift 2 ;;
	--tools) TOOLS=$2; shift 2 ;;
	--no-doc) DOC=0; shift ;;
	*) echo "bench: unknown argument $1" >&2; exit 2 ;;
	esac
done
export LIFEBOAT_PASSWORD=bench-password RESTIC_PASSWORD=bench-password BORG_PASSPHRASE=bench-password
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export LIFEBOAT_LOCK_DIR=$WORK/locks RESTIC_CACHE_DIR=$WORK/restic-cache BORG_BASE_DIR=$WORK/borg-base
mkdir -p "$WORK"
for t in $TOOLS; do
	[ "$t" = lifeboat ] && continue
	command -v "$t" >/dev/null || { echo "bench: $t is not installed (make deps installs it)" >&2; exit 1; }
done

# ---- the corpus, made once per scale ----
MKC=$BUILD/mkcorpus
cc -O2 -o "$MKC" bench/mkcorpus.c || exit 1
CORPUS=$WORK/corpus-$SCALE
if [ ! -f "$CORPUS.done" ]; then
	echo "bench: generating the corpus (scale $SCALE)"
	rm -rf "$CORPUS"
	"$MKC" "$CORPUS" --scale "$SCALE" || exit 1
	touch "$CORPUS.done"
fi

RESULTS=$WORK/results.tsv
: >"$RESULTS"

# measure TOOL STEP CMD...: appends "tool step wall cpu rss_mb" to RESULTS
measure() {
	local tool=$1 step=$2
	shift 2
	if ! /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"; then
		rc=$?
		# lifeboat's 3 means "written with warnings"; anything else is a failure
		if ! [ "$tool" = lifeboat ] || [ $rc -ne 3 ]; then
			echo "bench: $tool $step failed (exit $rc):" >&2
			tail -5 "$WORK/err.txt" >&2
			exit 1
		fi
	fi
	read -r e u s m <"$WORK/time.txt"
	echo "$tool $step $e $(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}') $((m / 1024))" >>"$RESULTS"
}
size_mb() { du -sk "$1" | awk '{printf "%.1f", $1 / 1024}'; }

# Every tool starts from the same state: the previous run's trees deleted
# long enough ago that ext4 reuses their inodes freely (it skips inodes
# freed in the last ~30 s, which makes creating files right after a large
# delete several times slower, and would favour whichever tool runs longer).
QUIET=${BENCH_QUIET:-35}
prep() {
	rm -rf "$WORK/src" "$WORK/repo" "$WORK/restore"
	sync
	sleep "$QUIET"
	cp -a "$CORPUS" "$WORK/src"
	sync
}

run_tool() {
	local t=$1
	prep
	case $t in
	lifeboat)
		"$LB" -r "$WORK/repo" init >/dev/null
		measure $t backup1 "$LB" -r "$WORK/repo" backup "$WORK/src"
		s1=$(size_mb "$WORK/repo")
		"$MKC" "$WORK/src" --mutate 1
		sync
		measure $t backup2 "$LB" -r "$WORK/repo" backup "$WORK/src"
		s2=$(size_mb "$WORK/repo")
		measure $t backup3 "$LB" -r "$WORK/repo" backup "$WORK/src"
		measure $t verify "$LB" -r "$WORK/repo" check --read-data
		measure $t restore "$LB" -r "$WORK/repo" restore latest --target "$WORK/restore"
		;;
	restic)
		restic init -r "$WORK/repo" -q
		measure $t backup1 restic -r "$WORK/repo" backup -q "$WORK/src"
		s1=$(size_mb "$WORK/repo")
		"$MKC" "$WORK/src" --mutate 1
		sync
		measure $t backup2 restic -r "$WORK/repo" backup -q "$WORK/src"
		s2=$(size_mb "$WORK/repo")
		measure $t backup3 restic -r "$WORK/repo" backup -q "$WORK/src"
		measure $t verify restic -r "$WORK/repo" check --read-data -q
		measure $t restore restic -r "$WORK/repo" restore latest --target "$WORK/restore" -q
		;;
	borg)
		borg init -e repokey-blake2 "$WORK/repo"
		measure $t backup1 borg create --compression zstd,3 "$WORK/repo::a" "$WORK/src"
		s1=$(size_mb "$WORK/repo")
		"$MKC" "$WORK/src" --mutate 1
		sync
		measure $t backup2 borg create --compression zstd,3 "$WORK/repo::b" "$WORK/src"
		s2=$(size_mb "$WORK/repo")
		measure $t backup3 borg create --compression zstd,3 "$WORK/repo::c" "$WORK/src"
		measure $t verify borg check --verify-data "$WORK/repo"
		mkdir -p "$WORK/restore"
		measure $t restore sh -c "cd '$WORK/restore' && borg extract '$WORK/repo::b'"
		;;
	esac
	echo "$t repo_mb $s1 $(awk -v a="$s2" -v b="$s1" 'BEGIN{printf "%.1f", a - b}') 0" >>"$RESULTS"
}

for run in $(seq 1 "$RUNS"); do
	for t in $TOOLS; do
		echo "bench: run $run/$RUNS: $t"
		run_tool "$t"
		if [ "$t" = lifeboat ] && [ "$run" -eq "$RUNS" ]; then
			# correctness of what was just measured
			echo "bench: checking lifeboat's result"
			"$LB" -r "$WORK/repo" check --read-data || { echo "bench: check --read-data FAILED" >&2; exit 1; }
			[ -x "$BUILD/tests/treecmp" ] || make -s "$BUILD/tests/treecmp" >/dev/null
			if "$BUILD/tests/treecmp" "$WORK/src" "$WORK/restore$WORK/src" >"$WORK/cmp.txt"; then
				echo "bench: restored tree matches the source entry by entry (content and metadata)"
				VERIFIED="check --read-data passed; the restored tree matched the source entry by entry"
			else
				head -20 "$WORK/cmp.txt" >&2
				echo "bench: the restored tree DIFFERS from the source" >&2
				exit 1
			fi
		fi
	done
done
rm -rf "$WORK/src" "$WORK/repo" "$WORK/restore"

# ---- medians and the table ----
TABLE=$WORK/table.md
awk -v tools="$TOOLS" '
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (n == 0) return ""
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ for (f = 3; f <= 5; f++) { k = $1 SUBSEP $2 SUBSEP f; cnt[k]++; val[k, cnt[k]] = $f } }
function row(label, step, f, target,   lt, rt, bt, line) {
	lt = median("lifeboat" SUBSEP step SUBSEP f)
	rt = median("restic" SUBSEP step SUBSEP f)
	bt = median("borg" SUBSEP step SUBSEP f)
	line = sprintf("| %s | %s | %s | %s | %s | %s | %s |", label, lt, rt, bt,
		(rt > 0 && lt != "") ? sprintf("%.2f×", lt / rt) : "–",
		(bt > 0 && lt != "") ? sprintf("%.2f×", lt / bt) : "–", target)
	print line
}
END {
	print "| measurement | lifeboat | restic | borg | lifeboat/restic | lifeboat/borg | target (to restic) |"
	print "|---|---|---|---|---|---|---|"
	row("first backup, wall s", "backup1", 3, "≤ 0.33×")
	row("first backup, CPU s", "backup1", 4, "")
	row("first backup, peak RSS MB", "backup1", 5, "≤ 0.5×")
	row("nightly-change backup, wall s", "backup2", 3, "≤ 0.33×")
	row("nightly-change backup, CPU s", "backup2", 4, "")
	row("unchanged re-run, wall s", "backup3", 3, "≤ 0.2×")
	row("unchanged re-run, CPU s", "backup3", 4, "")
	row("full verify, wall s", "verify", 3, "≤ 0.5×")
	row("full verify, CPU s", "verify", 4, "")
	row("full verify, peak RSS MB", "verify", 5, "")
	row("restore, wall s", "restore", 3, "≤ 0.33×")
	row("restore, CPU s", "restore", 4, "")
	row("restore, peak RSS MB", "restore", 5, "")
	row("repository after first backup, MB", "repo_mb", 3, "")
	row("growth from the nightly change, MB", "repo_mb", 4, "≤ 0.25×")
}' "$RESULTS" >"$TABLE"

MACHINE="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), $(df -T "$WORK" | awk 'NR==2{print $2}') on $(df "$WORK" | awk 'NR==2{print $1}')"
VERSIONS="lifeboat $("$LB" --version | cut -d' ' -f2)$(command -v restic >/dev/null && echo ", restic $(restic version | cut -d' ' -f2)")$(command -v borg >/dev/null && echo ", $(borg --version)")"
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\` ($RUNS runs, medians; warm page cache)."
	echo "Machine: $MACHINE.  Versions: $VERSIONS."
	echo "Corpus: bench/mkcorpus.c at scale $SCALE ($(du -sh --apparent-size "$CORPUS" | cut -f1) apparent, $(find "$CORPUS" -type f | wc -l) files); the nightly change is \`mkcorpus --mutate 1\`."
	echo "Result check: ${VERIFIED:-not run (lifeboat not among the tools)}."
	echo
	cat "$TABLE"
} >"$WORK/section.md"
cat "$WORK/section.md"

if [ "$DOC" = 1 ]; then
	doc=docs/PERFORMANCE.md
	[ -f "$doc" ] || printf '# Performance\n\n<!-- bench:begin -->\n<!-- bench:end -->\n' >"$doc"
	awk -v f="$WORK/section.md" '
		/<!-- bench:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/<!-- bench:end -->/ { skip = 0 }
		!skip { print }' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
	echo "bench: wrote the table into $doc"
fi
