#!/bin/sh
# Concurrency.
#  1. Two backups of different trees into one repository at the same time
#     both succeed (backups take no exclusive lock); both snapshots restore
#     byte for byte; check --read-data passes.  Repeated a few times.
#  2. A backup held open by a stalled read (tests/helpers/stallfs) does not
#     block a backup of another tree into the same repository.
#  3. A cron pile-up: while that backup runs, the same job started again
#     exits at once (exit 1) naming the running one's pid and start time —
#     also when the paths are spelled differently.  Other jobs (other paths,
#     another repository) are not blocked.  Once the first finishes, the job
#     runs again; a lock left by a run killed with SIGKILL blocks nothing.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
A=$TMP/treeA
B=$TMP/treeB
STALLFS=$HELPERS/stallfs
MNT=$TMP/mnt
SPID=""
PIDS=""

at_exit stop_pids_and_stallfs

# mktree DIR SEED: a mixed tree of about 25 MB
mktree() {
	mkdir -p "$1/big" "$1/small" "$1/text"
	for i in 1 2 3; do head -c 5000000 /dev/urandom >"$1/big/r$i"; done
	i=1
	while [ $i -le 40 ]; do head -c $((20000 + i * 997)) /dev/urandom >"$1/small/s$i"; i=$((i + 1)); done
	seq "$2" $(($2 + 900000)) >"$1/text/numbers"
	echo "shared by both trees" >"$1/common.txt"
	cp "$TMP/shared.bin" "$1/big/shared.bin"   # both writers store the same chunks at once
}
head -c 4000000 /dev/urandom >"$TMP/shared.bin"
mktree "$A" 1000000
mktree "$B" 5000000

ok "init" "$LB" -r "$R" init

now() { date +%s.%N; }

# restore_same SNAPSHOT TREE: the snapshot restores TREE byte for byte.
restore_same() {
	rm -rf "$TMP/out"
	lb -r "$R" restore "$1" --target "$TMP/out" && diff -r "$2" "$TMP/out$2" >/dev/null
}

# ---- 1. two backups at the same time ----
round=1
while [ $round -le 5 ]; do
	# new data in both trees each round
	head -c 8000000 /dev/urandom >"$A/big/new$round"
	head -c 8000000 /dev/urandom >"$B/big/new$round"
	head -c 2000000 /dev/urandom >"$TMP/shared.bin"
	cp "$TMP/shared.bin" "$A/big/shared$round"
	cp "$TMP/shared.bin" "$B/big/shared$round"
	echo "round $round" >>"$A/common.txt"
	echo "round $round" >>"$B/common.txt"
	(s=$(now); "$LB" -r "$R" backup "$A" >"$TMP/a.out" 2>"$TMP/a.err"; echo "$? $s $(now)" >"$TMP/a.rc") &
	pa=$!
	(s=$(now); "$LB" -r "$R" backup "$B" >"$TMP/b.out" 2>"$TMP/b.err"; echo "$? $s $(now)" >"$TMP/b.rc") &
	pb=$!
	PIDS="$pa $pb"
	wait "$pa" "$pb"
	PIDS=""
	read -r rca sa ea <"$TMP/a.rc"
	read -r rcb sb eb <"$TMP/b.rc"
	is "$rca" 0 "round $round: backup of tree A exits 0"
	[ "$rca" -eq 0 ] || sed 's/^/#   A: /' "$TMP/a.err"
	is "$rcb" 0 "round $round: backup of tree B exits 0"
	[ "$rcb" -eq 0 ] || sed 's/^/#   B: /' "$TMP/b.err"
	overlap=$(echo "$sa $ea $sb $eb" | awk '{ print ($1 < $4 && $3 < $2) ? "yes" : "no" }')
	diag "round $round: A ran $(echo "$sa $ea" | awk '{ printf "%.2f", $2 - $1 }') s, B $(echo "$sb $eb" | awk '{ printf "%.2f", $2 - $1 }') s, overlapping: $overlap"
	is "$overlap" yes "round $round: the two backups really ran at the same time"
	SA=$(cat "$TMP/a.out")
	SB=$(cat "$TMP/b.out")
	restore_same "$SA" "$A"
	is "$?" 0 "round $round: snapshot of A restores identically"
	restore_same "$SB" "$B"
	is "$?" 0 "round $round: snapshot of B restores identically"
	round=$((round + 1))
done
lb -r "$R" check --read-data
is "$?" 0 "check --read-data passes after concurrent backups"
is "$(ls "$R/snapshots" | wc -l)" 10 "ten snapshots"

# ---- 2 and 3 need a backup that stays running: a stalled read ----
if [ ! -e /dev/fuse ] || [ ! -x "$STALLFS" ]; then
	skip "no FUSE (or no stallfs helper): cron pile-up tests need a backup that stays running"
	done_testing
	exit
fi
mkdir -p "$MNT"
"$STALLFS" --release "$TMP/release" --log "$TMP/stallfs.log" "$MNT" 2>"$TMP/stallfs.err" &
SPID=$!
i=0
while [ $i -lt 50 ] && ! grep -q " $MNT " /proc/mounts; do sleep 0.1; i=$((i + 1)); done
if ! grep -q " $MNT " /proc/mounts; then
	skip "cannot mount FUSE here: $(head -c 200 "$TMP/stallfs.err" | tr '\n' ' ')"
	done_testing
	exit
fi

# lbb ARGS: lb, but killed after 15 s: a run that fails to notice the
# pile-up would hang on the stalled read forever
lbb() { timeout -k 2 15 "$LB" "$@" >"$TMP/.lbout" 2>"$TMP/.lberr"; }

# stuck_reads: how many reads of stuck-here have started
stuck_reads() { grep -c 'read stuck-here' "$TMP/stallfs.log" 2>/dev/null || echo 0; }

"$LB" -r "$R" backup "$MNT" >"$TMP/first.out" 2>"$TMP/first.err" &
FIRST=$!
PIDS=$FIRST
i=0
while [ $i -lt 100 ] && [ "$(stuck_reads)" -lt 1 ]; do sleep 0.1; i=$((i + 1)); done
ok "the first backup is running, stuck on a read" test "$(stuck_reads)" -ge 1
started=$(date -u '+%Y-%m-%d %H:%M:%S')

# the same job again
t0=$(now)
lbb -r "$R" backup "$MNT"
rc=$?
took=$(echo "$(now) $t0" | awk '{ printf "%.1f", $1 - $2 }')
is "$rc" 1 "pile-up: the second run of the same job exits 1"
ok "pile-up: it exits at once (took $took s)" awk -v t="$took" 'BEGIN { exit !(t < 3) }'
err=$(cat "$TMP/.lberr")
like "$err" "pid ${FIRST}[^0-9]" "pile-up: the message names the running one's pid ($FIRST)"
like "$err" "started" "pile-up: the message says when the running one started"
like "$err" "started [0-9]\{4\}-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]" "pile-up: the start time is given as a date and time (around $started UTC)"
like "$err" "running" "pile-up: the message says it is already running"
is "$(cat "$TMP/.lbout")" "" "pile-up: no snapshot id printed"
diag "pile-up message: $err"

# the same job, spelled differently
lbb -r "$R" backup "$MNT/"
is "$?" 1 "pile-up: the same paths with a trailing slash are the same job"
( cd "$TMP" && timeout -k 2 15 "$LB" -r repo backup mnt >"$TMP/.lbout" 2>"$TMP/.lberr" )
is "$?" 1 "pile-up: the same job with relative paths is the same job"
like "$(cat "$TMP/.lberr")" "pid $FIRST" "pile-up: relative spelling: names the pid too"

# other jobs run
lbb -r "$R" backup "$A"
is "$?" 0 "another job (other paths, same repository) is not blocked and succeeds"
SA2=$(cat "$TMP/.lbout")
restore_same "$SA2" "$A"
is "$?" 0 "the backup made beside the stalled one restores identically"
ok "init a second repository" "$LB" -r "$TMP/repo2" init --encryption none
env -u LIFEBOAT_PASSWORD timeout -k 2 15 "$LB" -r "$TMP/repo2" backup "$MNT/sub" >"$TMP/.lbout" 2>"$TMP/.lberr"
is "$?" 0 "another job (a subtree into another repository) is not blocked"
ok "the first backup is still running" kill -0 "$FIRST"

# release the stall: the first finishes, and the job can run again
touch "$TMP/release"
i=0
while [ $i -lt 200 ] && kill -0 "$FIRST" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
wait "$FIRST"
is "$?" 0 "the first backup finishes once its read answers"
PIDS=""
ok "the first backup wrote a snapshot" grep -q '^[0-9a-f]\{64\}$' "$TMP/first.out"
lbb -r "$R" backup "$MNT"
is "$?" 0 "after the first finished, the same job runs again"

# a run killed with SIGKILL leaves no lock behind (another --host: a job
# with no earlier snapshot, so it reads stuck-here again)
rm -f "$TMP/release"
n=$(stuck_reads)
"$LB" -r "$R" backup --host killed "$MNT" >/dev/null 2>"$TMP/killed.err" &
KILLED=$!
PIDS=$KILLED
i=0
while [ $i -lt 100 ] && [ "$(stuck_reads)" -le "$n" ]; do sleep 0.1; i=$((i + 1)); done
ok "a third run is stuck on the read" kill -0 "$KILLED"
kill -9 "$KILLED"
wait "$KILLED" 2>/dev/null
PIDS=""
touch "$TMP/release"
lbb -r "$R" backup --host killed "$MNT"
is "$?" 0 "after a run was killed with SIGKILL, the job runs again (no stale lock)"
lb -r "$R" check
is "$?" 0 "check passes at the end"

done_testing
