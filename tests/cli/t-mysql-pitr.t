#!/bin/sh
# Point-in-time recovery: `lifeboat mysql binlog-archive` follows a live
# server's binlog into the repository (through a rotation and a server
# restart), and `lifeboat mysql restore SNAPSHOT --until TIME | --gtid GTID`
# replays the base dump plus the archived binlog up to a chosen moment.
# The result is compared, table by table, with checksums taken at that
# moment on the source.  The moments are quiet points between bursts of
# load (money transfers and MyISAM forum posts), a second apart from any
# write, because binlog times have one-second resolution.
#
#   base backup (under load) .. load .. [T1/G1] .. rotation, load, a
#   "disaster" (posts deleted, a balance zeroed), restart, load .. [T2/G2]
#
# Written against the documented interface: the assertions that need
# `mysql restore` / `mysql binlog-archive` skip with a reason while those
# commands do not exist.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mysql-lib.sh"

mysql_skip_all_unless_ready
ML=$MYSQLLOAD
R=$TMP/repo
if ! have_binlog_archive || ! have_mysql_restore; then
	skip "lifeboat mysql binlog-archive / mysql restore --until: not implemented yet ('lifeboat mysql restore --help' fails)"
	done_testing
	exit 0
fi

if ! mysql_start src; then
	fail "start a private mariadbd"
	done_testing
	exit 1
fi
SRC_CNF=$TMP/src.cnf
SRC_DATA=$MYSQL_DATA_src
mysql_start dst || fail "start a second mariadbd for the restores"
ok "schema and data" "$ML" setup --defaults-file "$SRC_CNF" --accounts 300 --balance 1000 --posts 2000
ok "init" "$LB" -r "$R" init

APID=""
stop_archive() { [ -n "$APID" ] && kill -TERM "$APID" 2>/dev/null && wait "$APID" 2>/dev/null; APID=""; }
at_exit stop_archive
LPIDS=""
stop_load() {
	for p in $LPIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $LPIDS; do wait "$p" 2>/dev/null; done
	LPIDS=""
}
at_exit stop_load
# burst SECONDS: transfers and forum posts for that long, then quiet
burst() {
	"$ML" transfers --defaults-file "$SRC_CNF" --threads 2 --rate 100 --duration "$1" >>"$TMP/load.json" 2>&1 &
	LPIDS="$LPIDS $!"
	"$ML" myisam --defaults-file "$SRC_CNF" --rate 10 --duration "$1" >>"$TMP/load.json" 2>&1 &
	LPIDS="$LPIDS $!"
}
# checkpoint NAME: checksums of every table of bank, the GTID position and
# the time, at a quiet moment (a second clear of writes on both sides)
checkpoint() {
	sleep 1.2
	"$ML" checksum --defaults-file "$SRC_CNF" >"$TMP/$1.cks"
	sql src "SELECT @@gtid_binlog_pos" >"$TMP/$1.gtid"
	date -u +%Y-%m-%dT%H:%M:%SZ >"$TMP/$1.timez"
	date +'%Y-%m-%d %H:%M:%S' >"$TMP/$1.time"
	sleep 1.2
}
# cks_diff A B: tables whose rows/checksum differ (database names aside)
cks_diff() {
	jq -rn --slurpfile a "$1" --slurpfile b "$2" '
		($a[0] | with_entries(.key |= sub("^[^.]*[.]"; ""))) as $x |
		($b[0] | with_entries(.key |= sub("^[^.]*[.]"; ""))) as $y |
		[(($x | keys) + ($y | keys) | unique)[] | select($x[.] != $y[.])] | join(" ")'
}

# ---- archive from now on
"$LB" -r "$R" mysql binlog-archive --mysql-defaults-file "$SRC_CNF" --segment-secs 1 >"$TMP/archive.out" 2>&1 &
APID=$!
sleep 1
if kill -0 $APID 2>/dev/null; then pass "binlog-archive is running"; else fail "binlog-archive is running"; sed 's/^/#   /' "$TMP/archive.out"; fi

# ---- base backup under load, more load, then T1
burst 6
sleep 2
lb -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases bank --tag base
rc=$?
BASE=$(cat "$TMP/.lbout")
is "$rc" 0 "base backup under load"
parent=$("$LB" -r "$R" cat snapshot "$BASE" | jq -r '.parent // ""')
is "$parent" "" "its parent is no binlog segment (segments have no paths either, and are not backups)"
wait_load() { for p in $LPIDS; do wait "$p"; done; LPIDS=""; }
wait_load
checkpoint t1
pass "checkpoint T1 $(cat "$TMP/t1.timez"), GTID $(cat "$TMP/t1.gtid")"

# ---- rotation, load, a disaster, a restart, load, then T2
sql src "FLUSH BINARY LOGS"
burst 3
wait_load
sql src "DELETE FROM bank.posts WHERE topic_id < 30; UPDATE bank.accounts SET balance = 0 WHERE id = 7"
# the load after the restart adds posts and moves money (account 7's
# too): the disaster shows as no post of those topics up to here
DMAX=$(sql src "SELECT MAX(post_id) FROM bank.posts")
mysql_stop src
if mysql_start_on src "$SRC_DATA"; then pass "the source server restarted"; else fail "the source server restarted"; fi
burst 3
wait_load
checkpoint t2
BAL7_T2=$(sql src "SELECT balance FROM bank.accounts WHERE id = 7")
pass "checkpoint T2 $(cat "$TMP/t2.timez"), GTID $(cat "$TMP/t2.gtid")"
# stop the archive once it has everything the source wrote (a segment
# ending at the source's binlog position)
# shellcheck disable=SC2046
set -- $(sql src "SHOW MASTER STATUS")
want="$1 $2"
i=0
while [ "$("$LB" -r "$R" --json snapshots --binlog 2>/dev/null | jq -r '.[].id' | while read -r sid; do
	"$LB" -r "$R" cat snapshot "$sid" | jq -r '.sources.binlog | "\(.file) \(.end)"'; done | grep -cx "$want")" = 0 ] &&
	[ $i -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
diag "the source is at $want; archived to there after $i polls"
kill -TERM $APID
wait $APID
rc=$?
APID=""
is "$rc" 0 "binlog-archive stops cleanly on SIGTERM"
sed 's/^/#   /' "$TMP/archive.out" | tail -5
nseg=$("$LB" -r "$R" --json snapshots --binlog | jq 'length' 2>/dev/null)
# every segment names a real binlog file of the source, and the archive
# went on past the rotation and the restart (the source wrote binlog.000003)
"$LB" -r "$R" --json snapshots --binlog | jq -r '.[].id' | while read -r sid; do
	"$LB" -r "$R" cat snapshot "$sid" | jq -r '.sources.binlog.file'
done | sort -u >"$TMP/segfiles"
diag "segments cover: $(tr '\n' ' ' <"$TMP/segfiles")"
is "$(grep -cv '^binlog\.[0-9][0-9]*$' "$TMP/segfiles")" 0 "every segment names a binlog file of the source"
is "$(tail -1 "$TMP/segfiles")" "$(basename "$(binlogs_from src binlog | tail -1)")" \
	"the archive followed the rotation and the restart to the source's last binlog"
diag "archived binlog segments: $nseg"
if [ "${nseg:-0}" -gt 0 ]; then pass "the archive stored binlog segments ($nseg)"; else fail "the archive stored binlog segments"; fi

# ---- back to T1 by time (UTC form), into a fresh database name
lb -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/dst.cnf" --database bank --into at_t1 --until "$(cat "$TMP/t1.timez")"
rc=$?
is "$rc" 0 "restore --until T1 (UTC)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head -10
"$ML" checksum --defaults-file "$TMP/dst.cnf" --db at_t1 >"$TMP/at_t1.cks" 2>&1
is "$(cks_diff "$TMP/t1.cks" "$TMP/at_t1.cks")" "" "... every table equals the source at T1 (MyISAM posts included)"
ok "... and the invariant holds" "$ML" check --defaults-file "$TMP/dst.cnf" --db at_t1

# ---- back to T1 by GTID
lb -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/dst.cnf" --database bank --into at_g1 --gtid "$(cat "$TMP/t1.gtid")"
rc=$?
is "$rc" 0 "restore --gtid G1"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head -10
"$ML" checksum --defaults-file "$TMP/dst.cnf" --db at_g1 >"$TMP/at_g1.cks" 2>&1
is "$(cks_diff "$TMP/t1.cks" "$TMP/at_g1.cks")" "" "... every table equals the source after transaction G1"

# ---- to T2 (local time, as an administrator types it): across the
# rotation, the disaster and the restart
lb -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/dst.cnf" --database bank --into at_t2 --until "$(cat "$TMP/t2.time")"
rc=$?
is "$rc" 0 "restore --until T2 (local time), across a rotation and a restart"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head -10
"$ML" checksum --defaults-file "$TMP/dst.cnf" --db at_t2 >"$TMP/at_t2.cks" 2>&1
is "$(cks_diff "$TMP/t2.cks" "$TMP/at_t2.cks")" "" "... every table equals the source at T2"
old=$(sql dst "SELECT COUNT(*) FROM at_t1.posts WHERE topic_id < 30 AND post_id <= $DMAX")
is "$(sql dst "SELECT COUNT(*) FROM at_t2.posts WHERE topic_id < 30 AND post_id <= $DMAX") $(sql dst "SELECT balance FROM at_t2.accounts WHERE id = 7")" \
	"0 $BAL7_T2" "... the disaster included (T2 is after it: the $old posts it deleted are gone, account 7 as at T2)"

# ---- a point the archive does not reach: the restore may replay all it
# has, but must say where the archive ends (a warning, or a failure)
later=$(date -u -d "@$(($(date +%s) + 600))" +%Y-%m-%dT%H:%M:%SZ)
rc=$(lb_rc -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/dst.cnf" --database bank --into beyond --until "$later")
if grep -qi "archive.*\(end\|stop\)\|not reach\|not covered" "$TMP/.lberr"; then
	pass "--until past the end of the archive: says where the archive ends (exit $rc)"
else
	fail "--until past the end of the archive: says where the archive ends (exit $rc, nothing said)"
	sed 's/^/#   /' "$TMP/.lberr" | head -5
fi

# ---- a whole restore to T1 into an empty server, under the original name
mysql_start fresh || fail "start a third mariadbd"
lb -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/fresh.cnf" --until "$(cat "$TMP/t1.timez")"
rc=$?
is "$rc" 0 "whole restore --until T1 into an empty server"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head -10
"$ML" checksum --defaults-file "$TMP/fresh.cnf" >"$TMP/fresh.cks" 2>&1
is "$(cks_diff "$TMP/t1.cks" "$TMP/fresh.cks")" "" "... every table equals the source at T1"
mysql_stop fresh

# ---- bad points in time
rc=$(lb_rc -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/dst.cnf" --database bank --into too_early --until "2001-01-01 00:00:00")
is "$rc" 1 "--until before the base snapshot: exit 1"
like "$(cat "$TMP/.lberr")" "before" "... saying the time is before the snapshot"
is "$(sql dst "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'too_early'")" 0 "... and nothing restored"
rc=$(lb_rc -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/dst.cnf" --database bank --into bad_time --until "yesterday-ish")
is "$rc" 1 "--until that is not a time: exit 1"
like "$(cat "$TMP/.lberr")" "not a time" "... saying so"
rc=$(lb_rc -r "$R" mysql restore "$BASE" --mysql-defaults-file "$TMP/dst.cnf" --until "$(cat "$TMP/t1.timez")" --gtid "$(cat "$TMP/t1.gtid")")
is "$rc" 1 "--until and --gtid together: exit 1"
like "$(cat "$TMP/.lberr")" "one point in time" "... saying to give one"

done_testing
