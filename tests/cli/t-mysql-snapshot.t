#!/bin/sh
# Snapshot mode on btrfs: a loop-mounted btrfs image under $TMP, the datadir
# in a subvolume, a real mariadbd on it under a write load (money transfers
# on 4 connections plus a MyISAM forum writer).  lifeboat holds BACKUP STAGE
# only while it snapshots the subvolume, then backs up the snapshot's files.
#  - the manifest records how long writes were blocked (bench/mysql.sh
#    measures it against its target, at most 100 ms: a test on a shared
#    machine asserts no durations);
#  - the snapshot subvolume is gone afterwards, after a failed backup too;
#  - the datadir files, restored with `lifeboat restore` into a new
#    directory, start a second server (InnoDB crash recovery) in which the
#    invariant holds, every InnoDB table matches the checksum the manifest
#    took inside the snapshot, the MyISAM table passes CHECK TABLE, and the
#    source's binlog from the recorded position brings it to exactly the
#    source's final state;
#  - `lifeboat verify --mysql` (the restore drill) passes on such a backup.
# Needs root, loop devices and btrfs; skipped with a reason otherwise.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mysql-lib.sh"

mysql_skip_all_unless_ready
ML=$MYSQLLOAD
R=$TMP/repo
IMG=$TMP/btrfs.img
MNT=$TMP/mnt
LOADPIDS=""

skip_all() { skip "$1"; done_testing; exit 0; }
is_root || skip_all "needs root to mount a loop device"
for c in mkfs.btrfs btrfs losetup mount umount; do
	command -v $c >/dev/null 2>&1 || skip_all "$c is not installed (make deps: btrfs-progs, util-linux)"
done
grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null
grep -qw btrfs /proc/filesystems || skip_all "the kernel has no btrfs"

# unmount (and detach the loop device) at exit, after the servers stop:
# at_exit runs newest first, and the servers are registered later
unmount_all() {
	if grep -q " $MNT " /proc/mounts; then
		umount "$MNT" 2>/dev/null || { sleep 1; umount "$MNT" 2>/dev/null; } || umount -l "$MNT"
	fi
	for dev in $(losetup -j "$IMG" -O NAME -n 2>/dev/null); do losetup -d "$dev" 2>/dev/null; done
}
at_exit unmount_all
truncate -s 1G "$IMG"
mkfs.btrfs -q "$IMG" >"$TMP/mkfs.log" 2>&1 || skip_all "mkfs.btrfs failed: $(head -c 200 "$TMP/mkfs.log")"
mkdir -p "$MNT"
mount -o loop "$IMG" "$MNT" 2>"$TMP/mount.err" || skip_all "cannot loop-mount btrfs here: $(head -c 200 "$TMP/mount.err")"
pass "a loop-mounted btrfs image"
ok "a subvolume for the datadir" btrfs subvolume create "$MNT/vol"

DATADIR=$MNT/vol/data
if ! MYSQL_DATADIR=$DATADIR mysql_start src; then
	fail "start mariadbd on btrfs"
	done_testing
	exit 1
fi
pass "mariadbd runs with its datadir on the btrfs subvolume"
SRC_CNF=$TMP/src.cnf

stop_load() {
	for p in $LOADPIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $LOADPIDS; do wait "$p" 2>/dev/null; done
	LOADPIDS=""
}
at_exit stop_load

ok "schema and data" "$ML" setup --defaults-file "$SRC_CNF" --accounts 500 --balance 1000 --posts 3000 \
	--filler-tables 1 --filler-rows 50000
ok "init" "$LB" -r "$R" init

leftover() { ls -a "$MNT" "$MNT/vol" | grep -c '^\.lifeboat-mysql' ; }
subvols() { btrfs subvolume list "$MNT" | wc -l; }
nsub0=$(subvols)

"$ML" transfers --defaults-file "$SRC_CNF" --threads 4 --rate 150 --duration 0 --events "$TMP/tx.ev" \
	--ready-file "$TMP/tx.ready" >"$TMP/tx.json" 2>"$TMP/tx.err" &
LOADPIDS="$LOADPIDS $!"
"$ML" myisam --defaults-file "$SRC_CNF" --rate 20 --duration 0 --events "$TMP/my.ev" \
	--ready-file "$TMP/my.ready" >"$TMP/my.json" 2>"$TMP/my.err" &
LOADPIDS="$LOADPIDS $!"
i=0
while { [ ! -e "$TMP/tx.ready" ] || [ ! -e "$TMP/my.ready" ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1

# ---- backups in snapshot mode under load
SNAPS=""
WINDOWS=""
for n in 1 2 3; do
	t0=$(now)
	lb -r "$R" backup --mysql --mysql-mode snapshot --mysql-defaults-file "$SRC_CNF" --tag "snap$n"
	rc=$?
	t1=$(now)
	if [ $rc -ne 0 ]; then
		fail "snapshot-mode backup $n under load: exit $rc"
		sed 's/^/#   /' "$TMP/.lberr" | head -20
		continue
	fi
	id=$(cat "$TMP/.lbout")
	SNAPS="$SNAPS $id"
	pass "snapshot-mode backup $n under load ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
	m=$(manifest "$R" "$id" .sources.mysql)
	is "$(echo "$m" | jq -r .mode)" snapshot "  manifest: snapshot mode"
	is "$(echo "$m" | jq -r .datadir)" "$DATADIR" "  manifest: the datadir"
	like "$(echo "$m" | jq -r .lock.method)" "BACKUP STAGE" "  manifest: the lock was BACKUP STAGE"
	blocked=$(echo "$m" | jq .lock.writes_blocked_ms)
	# the time itself is measured by bench/mysql.sh (target: at most 100 ms),
	# not asserted here, where other work may share the machine
	if echo "$m" | jq -e '.lock.writes_blocked_ms | type == "number" and . > 0' >/dev/null; then
		pass "  manifest: writes blocked $blocked ms"
	else
		fail "  manifest: how long writes were blocked ($blocked)"
	fi
	# what the writers saw: the worst latency of a transfer meant to start in the backup's window
	WINDOWS="$WINDOWS $t0:$t1"
	diag "  lock $(echo "$m" | jq -c .lock); binlog $(echo "$m" | jq -c .binlog)"
	like "$(echo "$m" | jq -r '.binlog.file + ":" + (.binlog.position | tostring)')" '^binlog\.[0-9]*:[1-9]' \
		"  manifest: binlog position"
	is "$(echo "$m" | jq '[.tables[] | select(.engine == "InnoDB" and .checksum == null)] | length')" 0 \
		"  manifest: a checksum for every InnoDB table"
	is "$(leftover)" 0 "  no .lifeboat-mysql snapshot left beside the datadir"
	is "$(subvols)" "$nsub0" "  no snapshot subvolume left on the file system"
	sleep 1
done

# ---- a failed backup drops its snapshot too: interrupted (SIGTERM) while
# holding the lock, after the subvolume was snapshotted
nbefore=$(nsnapshots "$R")
LIFEBOAT_TEST_HOLD_LOCK_MS=5000 "$LB" -r "$R" backup --mysql --mysql-mode snapshot --mysql-defaults-file "$SRC_CNF" \
	>/dev/null 2>"$TMP/term.err" &
bpid=$!
if mysql_wait_state src 'Waiting for backup lock' 15; then
	# the snapshot is made under the lock, before the (simulated) hold
	i=0
	while [ "$(leftover)" = 0 ] && kill -0 $bpid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	snap_seen=$(leftover)
	kill -TERM $bpid
else
	snap_seen="?"
	fail "the interrupted backup took the lock"
fi
wait $bpid
rc=$?
is "$snap_seen" 1 "the snapshot subvolume exists while the lock is held"
is "$rc" 1 "a backup interrupted with SIGTERM: exit 1"
sed 's/^/#   /' "$TMP/term.err" | head -3
is "$(nsnapshots "$R")" "$nbefore" "... no snapshot written"
is "$(leftover)" 0 "... and its btrfs snapshot was deleted"
is "$(subvols)" "$nsub0" "... no subvolume left"
is "$(sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for backup lock'")" 0 \
	"... and no writer left waiting"

# a failure before the snapshot (the datadir not on btrfs is checked in
# prepare): snapshot mode against a server whose datadir is not on btrfs
if mysql_start plain; then
	rc=$(lb_rc -r "$R" backup --mysql --mysql-mode snapshot --mysql-defaults-file "$TMP/plain.cnf")
	is "$rc" 1 "snapshot mode on a datadir that is not on btrfs: exit 1"
	like "$(cat "$TMP/.lberr")" "btrfs" "... saying it needs btrfs (or a snapshot hook)"
	sed 's/^/#   /' "$TMP/.lberr" | head -3
	is "$(sql plain "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for backup lock'")" 0 \
		"... and the lock was let go"
	mysql_stop plain
fi

sleep 1
stop_load
diag "transfers: $(cat "$TMP/tx.json")"
diag "myisam:    $(cat "$TMP/my.json")"
# what the writers saw during each backup (events meant to start in its window)
for w in $WINDOWS; do
	diag "during a backup: transfers $("$ML" stats --events "$TMP/tx.ev" --from "${w%:*}" --to "${w#*:}")," \
		"MyISAM posts $("$ML" stats --events "$TMP/my.ev" --from "${w%:*}" --to "${w#*:}")"
done
ok "the live database satisfies the invariant" "$ML" check --defaults-file "$SRC_CNF"

# ---- restore the datadir files and start a server on them
n=0
last=""
for id in $SNAPS; do last=$id; done
for id in $SNAPS; do
	n=$((n + 1))
	short=$(echo "$id" | cut -c1-12)
	rm -rf "$TMP/restored"
	if ! lb -r "$R" restore "$id" --target "$TMP/restored"; then
		fail "$short: lifeboat restore of the datadir files"
		sed 's/^/#   /' "$TMP/.lberr" | head
		continue
	fi
	pass "$short: lifeboat restore of the datadir files"
	copy=$TMP/restored$DATADIR
	if [ ! -f "$copy/ibdata1" ]; then
		fail "$short: the restored datadir has ibdata1 ($copy)"
		continue
	fi
	if ! mysql_start_on "copy$n" "$copy"; then
		fail "$short: a server starts on the restored files (crash recovery)"
		continue
	fi
	pass "$short: a server starts on the restored files (crash recovery)"
	if "$ML" check --defaults-file "$TMP/copy$n.cnf" >"$TMP/check.json" 2>&1; then
		pass "$short: the invariant holds in the restored server: $(jq -c '{total, ledger_rows, workers}' "$TMP/check.json")"
	else
		fail "$short: the invariant holds in the restored server"
		sed 's/^/#   /' "$TMP/check.json"
	fi
	ok "$short: every InnoDB table matches the checksum taken inside the snapshot" \
		mysql_checksums_match "$R" "$id" "copy$n" bank
	chk=$(sql "copy$n" "CHECK TABLE bank.posts" | awk '$3 == "status" { print $4 }')
	is "$chk" OK "$short: the MyISAM table passes CHECK TABLE"
	if [ "$id" = "$last" ]; then
		file=$(manifest "$R" "$id" .sources.mysql.binlog.file)
		pos=$(manifest "$R" "$id" .sources.mysql.binlog.position)
		if mysql_replay_binlog "$R" "$id" "copy$n"; then
			pass "$short: the source's binlog from $file:$pos replays onto the copy without an error"
		else
			fail "$short: the source's binlog from $file:$pos replays onto the copy without an error"
			sed 's/^/#   /' "$TMP/replay.out" "$TMP/binlog.err" | head -10
		fi
		is "$(mysql_tables_differ "copy$n")" '""' "$short: copy + binlog from its position = the source's final state (MyISAM posts included)"
	fi
	mysql_stop "copy$n"
done

# ---- the restore drill on a snapshot taken under load: its throwaway
# server must recover the datadir as the copies above did, transactions
# caught prepared at the lock included (they need the binlog that came
# with the datadir)
if [ -n "$last" ]; then
	lb -r "$R" verify "$last" --mysql
	rc=$?
	is "$rc" 0 "verify --mysql of a snapshot-mode backup: the drill passes"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" "$TMP/.lbout" | head -5
fi

mysql_stop src
is "$(leftover)" 0 "no snapshot left at the end"
ok "the repository passes check" "$LB" -r "$R" check

done_testing
