#!/bin/sh
# A backup killed with SIGKILL at any instant leaves a repository that
# `check` passes; every earlier snapshot still restores byte for byte; the
# next backup reuses the data the killed one already stored.
#
# Phase A: the first backup of a ~40 MB tree is killed once it has
#   committed 4 packs; the next backup must add only what is missing (its
#   bytes_added is compared with a full backup of the same tree into a
#   scratch repository), and the repository must not hold two copies.
# Phase B: 6 episodes.  Each changes the tree (a new 8 MB file, replaced,
#   added and deleted small files, sometimes a new directory), then runs 4
#   backups that are killed, then one that completes.  The 24 kill points
#   are planned to cover the whole run: 16 at stratified random fractions of
#   the measured duration of such a backup (0 .. 1.1), and 8 at events seen
#   in the repository — right after a pack is committed, right after an
#   index file appears, while the index file or the snapshot file is being
#   written (its temporary file exists).  Every other attempt reads the
#   whole tree (no parent: --host), the others are incremental.  After
#   every kill: `check` exits 0 and every snapshot completed so far is
#   restored and compared (diff -r) with a hard-linked copy of the tree as
#   it was.  The completing backup of each episode must add no more than
#   what the killed ones had not stored, and the episode must not store
#   anything twice.
#
# LB_CRASH_SEED=N replays a run's kill plan.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
T=$TMP/tree
REFS=$TMP/refs
PACK=4194304
MiB=1048576
SEED=${LB_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
diag "seed $SEED (LB_CRASH_SEED=$SEED to replay the kill plan)"
mkdir -p "$REFS"

# ---- the tree ----
NEWBYTES=0   # random bytes written by the mutations of the current episode
rnd() { head -c "$2" /dev/urandom >"$1.new" && mv "$1.new" "$1"; NEWBYTES=$((NEWBYTES + $2)); }
mkdir -p "$T/rand" "$T/text" "$T/small" "$T/cur"
for i in 1 2 3; do rnd "$T/rand/r$i" 5000000; done
i=1
while [ $i -le 60 ]; do rnd "$T/small/s$i" $((4000 + i * 600)); i=$((i + 1)); done
for i in 1 2 3; do seq $((i * 10000000)) $((i * 10000000 + 500000)) >"$T/text/t$i"; done
rnd "$T/cur/cur.bin" 8000000
diag "tree: $(du -sm "$T" | cut -f1) MB"

# ---- tools ----
# runner MODE ARG REPO OUT ERR CMD...: runs CMD, kills it with SIGKILL when
# MODE says, prints "killed SECONDS" or "exited RC SECONDS" ("timeout
# SECONDS" after a minute).  Modes:
#   time S      at S seconds after the start
#   packs N     once N more packs are committed (packs/xx/<id>)
#   index N     once N more index files exist
#   idxtmp 0    once a new temporary file appears in index/ (an index being written)
#   snaptmp 0   once a new temporary file appears in snapshots/ (the commit point being written)
#   none 0      never
runner() {
	perl -e '
		use strict; use warnings;
		use Time::HiRes qw(time sleep); use POSIX ":sys_wait_h";
		my ($mode, $arg, $repo, $out, $err, @cmd) = @ARGV;
		sub committed { scalar grep { m{/[0-9a-f]{64}$} } glob("$_[0]") }
		sub tmps { my %h = map { $_ => 1 } glob("$_[0]/.tmp-*"); \%h }
		my $packs0 = committed("$repo/packs/*/*");
		my $index0 = committed("$repo/index/*");
		my $dir = $mode eq "idxtmp" ? "$repo/index" : "$repo/snapshots";
		my $tmp0 = tmps($dir);
		my $t0 = time;
		my $pid = fork() // die "fork: $!";
		if (!$pid) {
			open(STDOUT, ">", $out) or die; open(STDERR, ">", $err) or die;
			exec(@cmd) or exit 127;
		}
		while (1) {
			if (waitpid($pid, WNOHANG) == $pid) {
				printf "exited %d %.4f\n", $? >> 8, time - $t0; exit 0;
			}
			my $el = time - $t0;
			my $fire = 0;
			if ($el > 60) { $fire = 1 }
			elsif ($mode eq "time") {
				if ($el >= $arg) { $fire = 1 }
				else { my $left = $arg - $el; sleep($left > 0.004 ? 0.003 : $left); next }
			}
			elsif ($mode eq "packs") { $fire = committed("$repo/packs/*/*") >= $packs0 + $arg }
			elsif ($mode eq "index") { $fire = committed("$repo/index/*") >= $index0 + $arg }
			elsif ($mode eq "idxtmp" || $mode eq "snaptmp") {
				my $t = tmps($dir); $fire = grep { !$tmp0->{$_} } keys %$t;
			}
			if ($fire) {
				kill("KILL", $pid); waitpid($pid, 0);
				printf "%s %.4f\n", $el > 60 ? "timeout" : "killed", time - $t0; exit 0;
			}
			sleep(0.0002) unless $mode eq "none";
			sleep(0.01) if $mode eq "none";
		}' "$@"
}
packbytes() { find "$R/packs" -type f -name '[0-9a-f]*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
snapcount() { ls "$R/snapshots" | grep -c '^[0-9a-f]\{64\}$'; }
newest_snapshots() { ls "$R/snapshots" | grep '^[0-9a-f]\{64\}$' | sort >"$TMP/snaps.now"; comm -13 "$TMP/snaps.before" "$TMP/snaps.now"; }
json_num() { sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p" "$2"; }

# take_ref: a hard-linked copy of the tree as it is now (mutations always
# write a new file and rename it, so the copy keeps the old contents)
take_ref() { rm -rf "$REFS/cand"; cp -al "$T" "$REFS/cand"; ls "$R/snapshots" 2>/dev/null | grep '^[0-9a-f]\{64\}$' | sort >"$TMP/snaps.before"; }
# keep_ref: the attempt wrote a snapshot (or not): keep the copy under its id
keep_ref() {
	new=$(newest_snapshots)
	if [ -n "$new" ]; then
		for id in $new; do cp -al "$REFS/cand" "$REFS/$id"; done
	fi
	rm -rf "$REFS/cand"
	echo "$new"
}

KILLS=0
MIDRUN=0
# verify LABEL: check passes, and every snapshot completed so far restores
# identically to its copy of the tree.
verify() {
	lb -r "$R" check
	rc=$?
	is "$rc" 0 "$1: check exits 0"
	if [ "$rc" -ne 0 ] || grep -q 'error' "$TMP/.lberr"; then sed 's/^/#   /' "$TMP/.lberr" | head -10; fi
	n=0; bad=""
	for ref in "$REFS"/*; do
		id=$(basename "$ref")
		[ "$id" = cand ] && continue
		n=$((n + 1))
		rm -rf "$TMP/rst"
		lb -r "$R" restore "$id" --target "$TMP/rst"
		rrc=$?
		if [ "$rrc" -ne 0 ]; then
			bad="$bad [$(echo "$id" | cut -c1-12): restore exit $rrc: $(head -c 200 "$TMP/.lberr")]"
		elif ! diff -r "$ref" "$TMP/rst$T" >"$TMP/diff.out" 2>&1; then
			bad="$bad [$(echo "$id" | cut -c1-12): differs: $(head -c 200 "$TMP/diff.out")]"
		fi
	done
	rm -rf "$TMP/rst"
	if [ -z "$bad" ]; then pass "$1: all $n completed snapshots restore byte for byte"
	else fail "$1: all $n completed snapshots restore byte for byte"; echo "#  $bad"; fi
}

# ---- Phase A: the first backup, killed after 4 packs, then resumed ----
ok "init a scratch repository" "$LB" -r "$TMP/scratch" init --pack-size $PACK
"$LB" -r "$TMP/scratch" --json backup "$T" >"$TMP/full.json" 2>"$TMP/full.err"
is "$?" 0 "a full backup into the scratch repository"
FULL=$(json_num bytes_added "$TMP/full.json")
diag "a full backup adds $FULL bytes in $(json_num duration_s "$TMP/full.json") s"
rm -rf "$TMP/scratch"

ok "init" "$LB" -r "$R" init --pack-size $PACK
take_ref
res=$(runner packs 4 "$R" "$TMP/a.out" "$TMP/a.err" "$LB" -r "$R" backup "$T")
diag "first backup: $res"
like "$res" '^killed' "phase A: the first backup was killed mid-run (after 4 packs)"
keep_ref >/dev/null
is "$(snapcount)" 0 "phase A: no snapshot was written"
STORED=$(packbytes)
ok "phase A: the killed backup had committed at least 4 packs ($STORED bytes)" test "$STORED" -ge $((4 * PACK * 9 / 10))
lb -r "$R" check
is "$?" 0 "phase A: check exits 0 after the kill"
take_ref
"$LB" -r "$R" --json backup "$T" >"$TMP/resume.json" 2>"$TMP/resume.err"
is "$?" 0 "phase A: the next backup succeeds"
keep_ref >/dev/null
ADDED=$(json_num bytes_added "$TMP/resume.json")
diag "phase A: the resumed backup added $ADDED bytes; the killed one had stored $STORED; a full backup adds $FULL"
ok "phase A: the next backup reused what the killed one stored (added $ADDED <= $FULL - $STORED + 1 MiB)" \
	test "$ADDED" -le $((FULL - STORED + MiB))
ok "phase A: the repository does not hold a second copy ($(packbytes) <= 1.05 x $FULL + 1 MiB)" \
	test "$(packbytes)" -le $((FULL + FULL / 20 + MiB))
verify "phase A"

# ---- calibration: how long the two kinds of backup take ----
# mutate_episode: a new 8 MB file, three small files replaced, one
# deleted, one added, and every other episode a new directory
EP=0
mutate_episode() {
	EP=$((EP + 1))
	NEWBYTES=0
	rnd "$T/cur/cur.bin" 8000000
	for k in 1 2 3; do rnd "$T/small/s$(( (EP * 7 + k * 13) % 60 + 1 ))" $((5000 + EP * 100 + k)); done
	rm -f "$T/small/s$(( (EP * 11) % 60 + 1 ))"
	rnd "$T/small/e$EP" 30000
	if [ $((EP % 2)) -eq 0 ]; then
		mkdir -p "$T/dir$EP/sub"
		rnd "$T/dir$EP/a" 20000
		rnd "$T/dir$EP/sub/b" 50000
	fi
}
# mutate_attempt: one small file replaced before each attempt
mutate_attempt() { rnd "$T/small/s$(( (KILLS * 17) % 60 + 1 ))" $((6000 + KILLS)); }

# measured on a copy of the repository, so that they add no snapshots to
# restore after every kill
cp -a "$R" "$TMP/calib"
# calib HOST WHAT: the shorter of two runs, each with 8 MB of new data;
# with a HOST, each run has its own host, so no parent: the whole tree is read
calib() {
	best=""
	for n in 1 2; do
		rnd "$T/cur/cur.bin" 8000000
		if [ -n "$1" ]; then
			res=$(runner none 0 "$TMP/calib" "$TMP/c.out" "$TMP/c.err" "$LB" -r "$TMP/calib" backup --host "$1$n" "$T")
		else
			res=$(runner none 0 "$TMP/calib" "$TMP/c.out" "$TMP/c.err" "$LB" -r "$TMP/calib" backup "$T")
		fi
		like "$res" '^exited 0' "calibration: $2 ($res)"
		d=$(echo "$res" | awk '{ print $3 }')
		best=$(awk -v b="$best" -v d="$d" 'BEGIN { print (b == "" || d + 0 < b + 0) ? d : b }')
	done
}
calib calib "a backup reading the whole tree"
D_FULL=$best
calib "" "an incremental backup"
D_INCR=$best
rm -rf "$TMP/calib"
diag "durations: whole tree $D_FULL s, incremental $D_INCR s"

# ---- Phase B: the kill plan ----
# 16 stratified time points over 0 .. 1.1 of the duration, 8 event points,
# shuffled; one per line: "time FRACTION" or "EVENT ARG"
awk -v seed="$SEED" 'BEGIN {
	srand(seed);
	for (j = 0; j < 16; j++) plan[n++] = sprintf("time %.4f", (j + rand()) / 16 * 1.1);
	plan[n++] = "packs 1"; plan[n++] = "packs 1";
	plan[n++] = "index 1"; plan[n++] = "index 1";
	plan[n++] = "idxtmp 0"; plan[n++] = "idxtmp 0";
	plan[n++] = "snaptmp 0"; plan[n++] = "snaptmp 0";
	for (i = n - 1; i > 0; i--) { k = int(rand() * (i + 1)); t = plan[i]; plan[i] = plan[k]; plan[k] = t; }
	for (i = 0; i < n; i++) print plan[i];
}' >"$TMP/plan"
is "$(wc -l <"$TMP/plan")" 24 "24 kill points planned"

: >"$TMP/landed"
while [ $EP -lt 6 ]; do
	mutate_episode
	G0=$(packbytes)
	C=0
	a=0
	while [ $a -lt 4 ]; do
		a=$((a + 1))
		set -- $(sed -n "$((KILLS + 1))p" "$TMP/plan")
		mode=$1; arg=$2
		KILLS=$((KILLS + 1))
		mutate_attempt
		if [ $((KILLS % 2)) -eq 1 ]; then
			kind=whole; dur=$D_FULL; hostopt="--host whole$KILLS"
		else
			kind=incr; dur=$D_INCR; hostopt=""
		fi
		if [ "$mode" = time ]; then
			when=$(echo "$arg $dur" | awk '{ printf "%.4f", $1 * $2 }')
			runarg=$when
		else
			runarg=$arg
		fi
		take_ref
		P0=$(packbytes)
		# shellcheck disable=SC2086
		res=$(runner "$mode" "$runarg" "$R" "$TMP/k.out" "$TMP/k.err" "$LB" -r "$R" backup $hostopt "$T")
		new=$(keep_ref)
		case $res in
		killed*)
			MIDRUN=$((MIDRUN + $([ -z "$new" ] && echo 1 || echo 0)))
			C=$((C + $(packbytes) - P0))
			;;
		exited\ 0*) ;;
		*) fail "kill $KILLS: the backup ended badly: $res"; sed 's/^/#   /' "$TMP/k.err" ;;
		esac
		at=$(echo "$res" | awk '{ print $NF }')
		frac=$(echo "$at $dur" | awk '{ printf "%.2f", $1 / $2 }')
		echo "$KILLS $kind $mode $arg $res frac=$frac snapshot=$( [ -n "$new" ] && echo yes || echo no)" >>"$TMP/landed"
		diag "kill $KILLS ($kind, $mode $arg): $res, at $frac of a typical run$( [ -n "$new" ] && echo ', after the snapshot was committed')"
		verify "kill $KILLS ($kind, $mode $arg)"
	done
	# the completing backup of the episode
	take_ref
	"$LB" -r "$R" --json backup "$T" >"$TMP/e.json" 2>"$TMP/e.err"
	rc=$?
	keep_ref >/dev/null
	is "$rc" 0 "episode $EP: the backup after the kills completes"
	B=$(json_num bytes_added "$TMP/e.json")
	G=$(($(packbytes) - G0))
	diag "episode $EP: new data $NEWBYTES, stored by the killed attempts $C, added by the completing backup $B, episode growth $G"
	left=$((NEWBYTES - C)); [ $left -lt 0 ] && left=0
	ok "episode $EP: the completing backup added only what the killed ones had not stored ($B <= $left + 1 MiB)" \
		test "${B:-999999999}" -le $((left + MiB))
	ok "episode $EP: nothing was stored twice (growth $G <= 1.05 x $NEWBYTES + 1 MiB)" \
		test "$G" -le $((NEWBYTES + NEWBYTES / 20 + MiB))
done

ok "at least 20 kill points ($KILLS)" test "$KILLS" -ge 20
ok "most kills interrupted a running backup ($MIDRUN of $KILLS)" test "$MIDRUN" -ge 12
late=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^frac=/) { split($i, f, "="); if (f[2] >= 0.7) n++ } } END { print n + 0 }' "$TMP/landed")
ok "kill points reached the end of the run (at >= 0.7 of a run: $late)" test "$late" -ge 4
end=$(grep -c 'idxtmp\|snaptmp\|index 1' "$TMP/landed")
ok "kill points while the index or the snapshot was written ($end)" test "$end" -ge 6
lb -r "$R" check --read-data
rc=$?
is "$rc" 0 "check --read-data passes at the end"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head -20
ok "a final backup succeeds" "$LB" -r "$R" backup "$T"

done_testing
