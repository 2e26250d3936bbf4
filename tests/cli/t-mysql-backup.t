#!/bin/sh
# Logical MySQL/MariaDB backups of a live server, tested against a real
# mariadbd under a write load (tests/helpers/mysqlload):
#
#  - invariant under load: money transfers between accounts on 4
#    connections and a MyISAM forum writer run while lifeboat backs up
#    several times.  Every backup, loaded into a second server, has the same
#    total, a ledger that reconciles with every balance and no gap in any
#    writer's sequence, and every table matches the manifest's checksum.
#    The last one, plus the source's binlog from the position its manifest
#    records, gives exactly the source's final state (MyISAM included: no
#    duplicate key, no missing row);
#  - DDL during the dump (ALTER and RENAME of tables not yet dumped) waits
#    for the dump instead of breaking it, and completes afterwards;
#  - killed (SIGKILL) while holding the lock: writes resume at once;
#  - the lock is bounded: with a conflicting lock held elsewhere lifeboat
#    gives up with a clear message and exit 1, and never blocks writes while
#    it waits; a lock held too long is broken by the watchdog;
#  - bad input (unreachable server, wrong password, missing privileges,
#    unknown database): a clear error naming what is wrong, exit 1, no
#    snapshot.
# Backups are read back two ways: with the test's own loader (mysqlload
# load-dump over `cat tree`/`cat blob`), and with `lifeboat mysql restore`
# once it exists (skipped with a reason before).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mysql-lib.sh"

mysql_skip_all_unless_ready
T_START=$(now)
section() { diag "--- $* (at $(elapsed "$T_START") s)"; }
ML=$MYSQLLOAD
R=$TMP/repo
SRC_CNF=$TMP/src.cnf
LOADPIDS=""

stop_load() {
	for p in $LOADPIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $LOADPIDS; do wait "$p" 2>/dev/null; done
	LOADPIDS=""
}

if ! mysql_start src; then
	fail "start a private mariadbd"
	done_testing
	exit 1
fi
pass "private mariadbd started"
mysql_start dst || fail "start a second mariadbd for restores"
at_exit stop_load   # runs before the servers are stopped

# 500 accounts, a 3,000-post MyISAM forum, tables for the DDL test; and
# in a database of its own, a 200k-row table that takes a moment to dump
ok "schema and data" "$ML" setup --defaults-file "$SRC_CNF" --accounts 500 --balance 1000 --posts 3000
sql src "CREATE TABLE bank.ddl_target (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
	INSERT INTO bank.ddl_target SELECT seq, CONCAT('row ', seq) FROM bank.seq_1_to_2000;
	CREATE TABLE bank.ddl_renamed (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
	INSERT INTO bank.ddl_renamed SELECT seq, CONCAT('r ', seq) FROM bank.seq_1_to_1000;
	CREATE TABLE bank.ddl_target2 (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
	INSERT INTO bank.ddl_target2 SELECT seq, CONCAT('row ', seq) FROM bank.seq_1_to_2000;
	CREATE TABLE bank.held (id INT PRIMARY KEY) ENGINE=InnoDB;
	CREATE TABLE bank.probe (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB;
	CREATE DATABASE big;
	CREATE TABLE big.sbtest1 (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL) ENGINE=InnoDB;
	INSERT INTO big.sbtest1 SELECT seq, seq * 7 % 200000, CONCAT_WS('-', MD5(seq), MD5(seq + 1), MD5(seq + 2)),
		LEFT(SHA1(seq), 59) FROM big.seq_1_to_200000"
ok "init" "$LB" -r "$R" init

# ---------------- load
section "load"
"$ML" transfers --defaults-file "$SRC_CNF" --threads 4 --rate 150 --duration 0 --events "$TMP/tx.ev" \
	--ready-file "$TMP/tx.ready" >"$TMP/tx.json" 2>"$TMP/tx.err" &
LOADPIDS="$LOADPIDS $!"
"$ML" myisam --defaults-file "$SRC_CNF" --rate 20 --duration 0 --events "$TMP/my.ev" \
	--ready-file "$TMP/my.ready" >"$TMP/my.json" 2>"$TMP/my.err" &
LOADPIDS="$LOADPIDS $!"
i=0
while { [ ! -e "$TMP/tx.ready" ] || [ ! -e "$TMP/my.ready" ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1

# ---------------- backups under load
section "backups under load"
SNAPS=""
for n in 1 2 3; do
	lb -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases bank --tag "load$n"
	rc=$?
	if [ $rc -eq 0 ]; then
		id=$(cat "$TMP/.lbout")
		SNAPS="$SNAPS $id"
		pass "backup $n under load (snapshot ${id%"${id#????????????}"})"
	else
		fail "backup $n under load: exit $rc"
		sed 's/^/#   /' "$TMP/.lberr" | head -20
	fi
	sleep 1
done

# ---------------- DDL during the dump
section "DDL during the dump"
# big and bank on one dump connection, so the 200k-row big.sbtest1 goes
# first and the DDL targets are still to come.  lifeboat is paused (SIGSTOP) as soon as its SELECT on
# the big table shows in the processlist; the ALTER and the RENAME must then
# wait for the dump's metadata locks, not break it.
"$LB" -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases big,bank --mysql-jobs 1 --tag ddl \
	>"$TMP/ddl.out" 2>"$TMP/ddl.err" &
bpid=$!
if mysql_wait_state src 'SELECT%FROM `big`.`sbtest1`%' 20; then
	kill -STOP $bpid
	pass "caught the dump of the big table in the processlist"
	"$ML" ddl --defaults-file "$SRC_CNF" --sql "ALTER TABLE ddl_target ADD COLUMN added INT NOT NULL DEFAULT 7" \
		>"$TMP/alter.json" 2>&1 &
	apid=$!
	"$ML" ddl --defaults-file "$SRC_CNF" --sql "RENAME TABLE ddl_renamed TO ddl_renamed_new" >"$TMP/rename.json" 2>&1 &
	rpid=$!
	mysql_wait_count src "STATE = 'Waiting for table metadata lock'" 2 20
	waiting=$(sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'Waiting for table metadata lock'")
	is "$waiting" 2 "the ALTER and the RENAME wait for the dump's metadata locks"
	kill -CONT $bpid
	wait $bpid
	rc=$?
	is "$rc" 0 "the backup with DDL during its dump succeeds"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/ddl.err" | head -20
	DDL_SNAP=$(cat "$TMP/ddl.out")
	wait $apid
	like "$(cat "$TMP/alter.json")" '"ok": true' "the ALTER completes after the dump"
	wait $rpid
	like "$(cat "$TMP/rename.json")" '"ok": true' "the RENAME completes after the dump"
	is "$(sql src "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='bank' AND TABLE_NAME='ddl_target' AND COLUMN_NAME='added'")" 1 \
		"the live table has the new column"
	[ -n "$DDL_SNAP" ] && SNAPS="$SNAPS $DDL_SNAP"
else
	fail "caught the dump of the big table in the processlist (the dump was too quick to see?)"
	wait $bpid
	DDL_SNAP=""
fi

# the same over 3 connections: any free one takes the next table, so the
# table the ALTER targets may be dumped by a connection other than the one
# that was busy with the big table, before or after the ALTER is sent;
# every connection holds every table's metadata lock, so the ALTER waits
# for the whole dump either way, and no connection waits for the ALTER
"$LB" -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases big,bank --mysql-jobs 3 --tag ddl2 \
	>"$TMP/ddl2.out" 2>"$TMP/ddl2.err" &
bpid=$!
DDL2_SNAP=""
if mysql_wait_state src 'SELECT%FROM `big`.`sbtest1`%' 20; then
	kill -STOP $bpid
	"$ML" ddl --defaults-file "$SRC_CNF" --sql "ALTER TABLE ddl_target2 ADD COLUMN added INT NOT NULL DEFAULT 7" \
		>"$TMP/alter2.json" 2>&1 &
	apid=$!
	mysql_wait_count src "STATE = 'Waiting for table metadata lock'" 1 20
	is "$(sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'Waiting for table metadata lock'")" 1 \
		"3 connections: the ALTER waits for the dump's metadata locks"
	kill -CONT $bpid
	wait $bpid
	rc=$?
	is "$rc" 0 "3 connections: the backup with DDL during its dump succeeds"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/ddl2.err" | head -20
	DDL2_SNAP=$(cat "$TMP/ddl2.out")
	wait $apid
	like "$(cat "$TMP/alter2.json")" '"ok": true' "3 connections: the ALTER completes after the dump"
	[ -n "$DDL2_SNAP" ] && SNAPS="$SNAPS $DDL2_SNAP"
else
	fail "3 connections: caught the dump of the big table in the processlist"
	wait $bpid
fi

# ---------------- killed while holding the lock
section "killed while holding the lock"
nbefore=$(nsnapshots "$R")
LIFEBOAT_TEST_HOLD_LOCK_MS=5000 "$LB" -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases bank \
	>/dev/null 2>"$TMP/kill.err" &
bpid=$!
# the transfers block behind the lock within milliseconds of it being taken
if mysql_wait_state src 'Waiting for backup lock' 15; then
	pass "lifeboat holds the lock: writers wait for it"
	sleep 0.3
	kill -9 $bpid
	wait $bpid 2>/dev/null
	# a lock still held would fail this write (lock_wait_timeout) instead
	t0=$(now)
	out=$(sql src "SET SESSION lock_wait_timeout=5; INSERT INTO bank.probe () VALUES (); SELECT 'written'" 2>&1)
	is "$out" written "a write completes after lifeboat was killed holding the lock (in $(elapsed "$t0") s)"
	is "$(sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for backup lock'")" 0 \
		"no writer is left waiting for the backup lock"
else
	fail "lifeboat holds the lock: writers wait for it (never saw a writer wait)"
	kill -9 $bpid 2>/dev/null
	wait $bpid 2>/dev/null
fi
is "$(nsnapshots "$R")" "$nbefore" "the killed backup wrote no snapshot"

# ---------------- the lock is bounded
section "the lock is bounded"
# another session holds LOCK TABLES ... WRITE: BACKUP STAGE START waits for
# it, and must give up within its timeouts, retrying, without blocking the
# writers while it waits
sql src "SELECT 1" >/dev/null
mariadb --defaults-file="$SRC_CNF" -e "LOCK TABLES bank.held WRITE; SELECT SLEEP(120)" >/dev/null 2>&1 &
hpid=$!
mysql_wait_state src 'SELECT SLEEP(120)' 10
holder=$(sql src "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(120)'")
nbefore=$(nsnapshots "$R")
t0=$(now)
lb -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases bank --mysql-lock-timeout 1 &
bpid=$!
# while lifeboat waits for the lock, no writer may queue behind it: the
# processlist is sampled until lifeboat gives up (lifeboat's own BACKUP
# STAGE START is the one connection allowed to wait)
nsamples=0
nwaiting=0
while kill -0 $bpid 2>/dev/null; do
	w=$(sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for backup lock'
		AND IFNULL(INFO, '') NOT LIKE 'BACKUP STAGE%'")
	nsamples=$((nsamples + 1))
	[ "${w:-0}" -gt 0 ] && nwaiting=$((nwaiting + 1))
	sleep 0.1
done
wait $bpid
rc=$?
t1=$(now)
is "$rc" 1 "a conflicting lock held elsewhere: exit 1 (after $(elapsed "$t0") s)"
like "$(cat "$TMP/.lberr")" 'lock' "... with a message about the lock"
like "$(cat "$TMP/.lberr")" 'could not hold the lock.*after 3 attempts.*attempt 1: .*attempt 2: ' \
	"... saying it tried 3 times, and what each attempt met"
sed 's/^/#   /' "$TMP/.lberr" | head -5
is "$nwaiting" 0 "... and no writer waited for a backup lock meanwhile ($nsamples samples)"
is "$(nsnapshots "$R")" "$nbefore" "... and no snapshot"
[ -n "$holder" ] && sql src "KILL $holder" 2>/dev/null
wait $hpid 2>/dev/null
T_BOUNDED="$t0 $t1"

# the watchdog: a lock held far longer than lock_wait_timeout + 5 s (6 s
# here) is broken by killing the connection that holds it.  The first
# attempt holds it 12 s (simulated): the writers are released while
# lifeboat still sleeps in that hold, its unlock then fails, and the retry,
# which holds the lock no longer than it must, dumps afresh (the MyISAM
# tables the first attempt dumped under the lock again) and succeeds: a
# complete, consistent snapshot, exit 0, 2 attempts in its manifest.
nbefore=$(nsnapshots "$R")
t0=$(now)
LIFEBOAT_TEST_HOLD_LOCK_MS=12000 LIFEBOAT_TEST_HOLD_LOCK_ATTEMPTS=1 "$LB" -r "$R" backup --mysql \
	--mysql-defaults-file "$SRC_CNF" --mysql-databases bank --mysql-lock-timeout 1 --tag watchdog \
	>"$TMP/wd.out" 2>"$TMP/wd.err" &
bpid=$!
if mysql_wait_state src 'Waiting for backup lock' 15; then
	# wait for the writers to be released, by the watchdog or by the hold's end
	mysql_wait_count src "STATE LIKE 'Waiting for backup lock'" 0 30
	if kill -0 $bpid 2>/dev/null; then
		pass "writers released while lifeboat still runs ($(elapsed "$t0") s in)"
	else
		fail "writers released while lifeboat still runs (it had exited)"
	fi
else
	fail "the watchdog test: lifeboat never took the lock"
fi
wait $bpid
rc=$?
is "$rc" 0 "after the watchdog, the retry succeeds ($(elapsed "$t0") s)"
if grep -q "written twice" "$TMP/wd.err"; then
	fail "a retry after the watchdog starts the dump afresh (it found files of the first attempt: 'written twice')"
else
	pass "a retry after the watchdog starts the dump afresh"
fi
sed 's/^/#   /' "$TMP/wd.err" | head -5
WD_SNAP=$(cat "$TMP/wd.out")
if [ $rc -eq 0 ] && [ -n "$WD_SNAP" ]; then
	is "$(manifest "$R" "$WD_SNAP" .sources.mysql.lock.attempts)" 2 \
		"... its manifest records 2 lock attempts: the watchdog broke the first"
	SNAPS="$SNAPS $WD_SNAP"
else
	fail "... its manifest records 2 lock attempts (no snapshot)"
fi

# ---------------- the non-transactional tables' own lock
section "the non-transactional tables' own lock"
# Under the commit lock a connection of lifeboat's own takes LOCK TABLES
# ... READ on the MyISAM tables; the commit lock then goes and they stay
# frozen at the consistent point until they are dumped: writes to them
# wait, the InnoDB writers do not.  A simulated hold of 3 s before the
# forum is dumped shows which writes wait.
myisam_waiting="STATE LIKE 'Waiting for table%lock' AND INFO LIKE 'INSERT INTO posts%'"
LIFEBOAT_TEST_HOLD_TABLES_MS=3000 "$LB" -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" \
	--mysql-databases bank --tag tablelock >"$TMP/tl.out" 2>"$TMP/tl.err" &
bpid=$!
if mysql_wait_count src "$myisam_waiting" 1 15; then
	pass "the MyISAM writer waits for the forum's table lock"
	t0=$(now)
	out=$(sql src "SET SESSION lock_wait_timeout=2; INSERT INTO bank.probe () VALUES (); SELECT 'written'" 2>&1)
	is "$out" written "... while an InnoDB write completes (in $(elapsed "$t0") s)"
	is "$(sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for backup lock'")" 0 \
		"... and no writer waits for the commit lock"
else
	fail "the MyISAM writer waits for the forum's table lock (never saw it wait)"
fi
wait $bpid
rc=$?
is "$rc" 0 "the backup with the forum held completes"
sed 's/^/#   /' "$TMP/tl.err" | head -5
TL_SNAP=$(cat "$TMP/tl.out")
if [ $rc -eq 0 ] && [ -n "$TL_SNAP" ]; then
	lk=$(manifest "$R" "$TL_SNAP" .sources.mysql.lock)
	diag "lock: $(echo "$lk" | jq -c .)"
	is "$(echo "$lk" | jq -r '.non_transactional.method')" "LOCK TABLES READ" \
		"the manifest records the non-transactional tables' lock"
	is "$(echo "$lk" | jq '.non_transactional.writes_blocked_ms >= 3000')" true \
		"... how long writes to them were blocked (at least the 3 s hold)"
	is "$(echo "$lk" | jq '.writes_blocked_ms < 3000')" true "... and the commit lock, released before the hold"
	is "$(manifest "$R" "$TL_SNAP" '.sources.mysql.tables["bank.posts"].consistent')" true \
		"... the forum marked consistent"
	SNAPS="$SNAPS $TL_SNAP" # restored, checked and replayed below with the others
else
	fail "the manifest records the non-transactional tables' lock (no snapshot)"
fi

# killed while it holds them: the server lets go with the connection
nbefore=$(nsnapshots "$R")
LIFEBOAT_TEST_HOLD_TABLES_MS=30000 "$LB" -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" \
	--mysql-databases bank >/dev/null 2>"$TMP/tlkill.err" &
bpid=$!
if mysql_wait_count src "$myisam_waiting" 1 15; then
	kill -9 $bpid
	wait $bpid 2>/dev/null
	if mysql_wait_count src "$myisam_waiting" 0 10; then
		pass "lifeboat killed holding the forum: the MyISAM writer goes on"
	else
		fail "lifeboat killed holding the forum: the MyISAM writer goes on (still waiting after 10 s)"
	fi
else
	fail "lifeboat killed holding the forum: never saw the MyISAM writer wait"
	kill -9 $bpid 2>/dev/null
	wait $bpid 2>/dev/null
fi
is "$(nsnapshots "$R")" "$nbefore" "... and the killed backup wrote no snapshot"

# bounded like the commit lock: past lock_wait_timeout + 5 s (6 s here)
# the watchdog kills the connection that holds the tables; the writers go
# on, and the forum, dumped after that, is marked not consistent
t0=$(now)
LIFEBOAT_TEST_HOLD_TABLES_MS=10000 "$LB" -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" \
	--mysql-databases bank --mysql-lock-timeout 1 --tag tablewatchdog >"$TMP/tlwd.out" 2>"$TMP/tlwd.err" &
bpid=$!
if mysql_wait_count src "$myisam_waiting" 1 15 && mysql_wait_count src "$myisam_waiting" 0 15; then
	if kill -0 $bpid 2>/dev/null; then
		pass "the watchdog lets the MyISAM writer go while lifeboat still runs ($(elapsed "$t0") s in)"
	else
		fail "the watchdog lets the MyISAM writer go while lifeboat still runs (it had exited)"
	fi
else
	fail "the watchdog lets the MyISAM writer go (never saw it wait, or it waited on)"
fi
wait $bpid
rc=$?
is "$rc" 0 "... and the backup completes ($(elapsed "$t0") s)"
id=$(cat "$TMP/tlwd.out")
if [ $rc -eq 0 ] && [ -n "$id" ]; then
	p=$(manifest "$R" "$id" '.sources.mysql.tables["bank.posts"]')
	is "$(echo "$p" | jq -r .consistent)" false "... with the forum marked not consistent"
	like "$(echo "$p" | jq -r .note)" "watchdog broke" "... saying why"
	is "$(manifest "$R" "$id" '.sources.mysql.lock.non_transactional.writes_blocked_ms | . >= 5000 and . < 10000')" \
		true "... and writes to it blocked for about the watchdog's 6 s, not the 10 s hold"
else
	fail "... with the forum marked not consistent (no snapshot)"
fi

# ---------------- stop the load
section "stop the load"
sleep 1
stop_load
diag "transfers: $(cat "$TMP/tx.json")"
diag "myisam:    $(cat "$TMP/my.json")"
like "$(cat "$TMP/tx.json")" '"errors": 0,' "the transfer load ran without errors"
ok "the live database satisfies the invariant" "$ML" check --defaults-file "$SRC_CNF"
if [ -n "$T_BOUNDED" ]; then
	set -- $T_BOUNDED
	st=$("$ML" stats --events "$TMP/tx.ev" --from "$1" --to "$2")
	diag "transfers while lifeboat waited for a conflicting lock: $st"
	mx=$(echo "$st" | jq .max_ms)
	diag "worst transfer latency while lifeboat waited for the conflicting lock: $mx ms"
fi

# ---------------- every backup, restored
section "every backup, restored"
# The test's own loader: the dump files through `cat tree`/`cat blob`, into
# the second server as bank_<n>.
n=0
prev_ledger=-1
for id in $SNAPS; do
	n=$((n + 1))
	short=$(echo "$id" | cut -c1-12)
	m=$(manifest "$R" "$id" '.sources.mysql')
	is "$(echo "$m" | jq -r .mode)" logical "$short: logical mode"
	like "$(echo "$m" | jq -r '.binlog.file + " " + (.binlog.position | tostring) + " " + .binlog.gtid')" \
		'^binlog\.[0-9]* [1-9][0-9]* [0-9]*-[0-9]*-[0-9]*' "$short: binlog file, position and GTID recorded"
	blocked=$(echo "$m" | jq .lock.writes_blocked_ms)
	diag "$short: writes blocked $blocked ms ($(echo "$m" | jq -c .lock))"
	if echo "$m" | jq -e '.lock.writes_blocked_ms | type == "number" and . > 0' >/dev/null; then
		pass "$short: the manifest records how long writes were blocked ($blocked ms)"
	else
		fail "$short: the manifest records how long writes were blocked"
	fi
	is "$(echo "$m" | jq '[.tables[] | select(.type != "view" and .consistent != true)] | length')" 0 \
		"$short: every table marked consistent (MyISAM dumped under the lock)"
	is "$(echo "$m" | jq -r '.tables["bank.posts"].engine')" MyISAM "$short: the forum table is MyISAM"
	if ! mysql_dump_extract "$R" "$id" "$TMP/dump_$n" bank >"$TMP/.x" 2>&1; then
		fail "$short: read the dump back with cat tree / cat blob"
		sed 's/^/#   /' "$TMP/.x" | head
		continue
	fi
	ok "$short: load the dump into a second server (bank_$n)" "$ML" load-dump --defaults-file "$TMP/dst.cnf" \
		--dir "$TMP/dump_$n" --only bank --into "bank_$n"
	if "$ML" check --defaults-file "$TMP/dst.cnf" --db "bank_$n" >"$TMP/check.json" 2>&1; then
		pass "$short: the invariant holds in the restored copy: $(jq -c '{total, ledger_rows, workers}' "$TMP/check.json")"
	else
		fail "$short: the invariant holds in the restored copy"
		sed 's/^/#   /' "$TMP/check.json"
	fi
	ok "$short: every restored table matches the manifest's checksum" mysql_checksums_match "$R" "$id" dst "bank_$n" bank
	lr=$(jq .ledger_rows "$TMP/check.json" 2>/dev/null || echo 0)
	if [ "$lr" -gt "$prev_ledger" ]; then pass "$short: the backup saw the load progress ($lr ledger rows)"
	else fail "$short: the backup saw the load progress ($lr ledger rows, $prev_ledger before)"; fi
	prev_ledger=$lr
	if [ "$id" = "$DDL_SNAP" ]; then
		is "$(sql dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='bank_$n' AND TABLE_NAME='ddl_target'")" 2 \
			"$short: the dumped ddl_target has its columns from before the ALTER"
		is "$(sql dst "SELECT COUNT(*) FROM bank_$n.ddl_renamed")" 1000 "$short: the renamed table is in the dump under its old name"
	fi
	if [ "$id" = "$DDL2_SNAP" ]; then
		is "$(sql dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='bank_$n' AND TABLE_NAME='ddl_target2'")" 2 \
			"$short: (3 connections) the dumped ddl_target2 has its columns from before the ALTER"
	fi
	# lifeboat's own restore, when it exists
	if have_mysql_restore; then
		if lb -r "$R" mysql restore "$id" --mysql-defaults-file "$TMP/dst.cnf" --database bank --into "lb_$n"; then
			pass "$short: lifeboat mysql restore --database bank --into lb_$n"
			ok "$short: the invariant holds after lifeboat's restore" "$ML" check --defaults-file "$TMP/dst.cnf" --db "lb_$n"
			ok "$short: lifeboat's restore matches the manifest's checksums" mysql_checksums_match "$R" "$id" dst "lb_$n" bank
		else
			fail "$short: lifeboat mysql restore --database bank --into lb_$n"
			sed 's/^/#   /' "$TMP/.lberr" | head -10
		fi
	else
		skip "$short: lifeboat mysql restore: not implemented yet ('lifeboat mysql restore --help' fails)"
	fi
done

# ---------------- consistent with the binlog position
section "consistent with the binlog position"
# The last backup taken under load, loaded as `bank` into a third server,
# plus the source's binlog from the position the manifest records, must
# reproduce the source's final state table for table.  A dump that is not
# at that position (MyISAM copied outside the lock, say) shows as a
# duplicate key on replay or a checksum difference.
last=""
for id in $SNAPS; do last=$id; done
if [ -n "$last" ] && [ -d "$TMP/dump_$n/bank" ]; then
	ok "load the last backup as bank into the second server" "$ML" load-dump --defaults-file "$TMP/dst.cnf" \
		--dir "$TMP/dump_$n" --only bank
	file=$(manifest "$R" "$last" .sources.mysql.binlog.file)
	pos=$(manifest "$R" "$last" .sources.mysql.binlog.position)
	if mysql_replay_binlog "$R" "$last" dst; then
		pass "replaying the source's binlog from $file:$pos applies without an error"
	else
		fail "replaying the source's binlog from $file:$pos applies without an error"
		sed 's/^/#   /' "$TMP/replay.out" "$TMP/binlog.err" | head -10
	fi
	is "$(mysql_tables_differ dst)" '""' "backup + binlog from its position = the source's final state, every table (MyISAM posts included)"
	ok "the replayed copy satisfies the invariant" "$ML" check --defaults-file "$TMP/dst.cnf"
fi

# ---------------- bad input
section "bad input"
nbefore=$(nsnapshots "$R")
printf '[client]\nsocket=%s\nuser=root\n' "$TMP/no/such/dir/mysqld.sock" >"$TMP/unreach.cnf"
t0=$(now)
rc=$(lb_rc -r "$R" backup --mysql --mysql-defaults-file "$TMP/unreach.cnf")
is "$rc" 1 "unreachable server (no such socket): exit 1"
like "$(cat "$TMP/.lberr")" "cannot connect.*no/such/dir/mysqld.sock" "... naming the socket it tried"
sed 's/^/#   /' "$TMP/.lberr" | head -3
diag "... gave up after $(elapsed "$t0") s"

rc=$(lb_rc -r "$R" backup --mysql --mysql-defaults-file "$TMP/none.cnf")
is "$rc" 1 "a defaults file that does not exist: exit 1"
like "$(cat "$TMP/.lberr")" "none.cnf" "... naming it"

sql src "CREATE USER lbuser@localhost IDENTIFIED BY 'right-password';
	GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, PROCESS, BINLOG MONITOR ON *.* TO lbuser@localhost"
printf '[client]\nsocket=%s\nuser=lbuser\npassword=wrong-password\n' "$MYSQL_SOCK_src" >"$TMP/wrongpw.cnf"
rc=$(lb_rc -r "$R" backup --mysql --mysql-defaults-file "$TMP/wrongpw.cnf")
is "$rc" 1 "wrong password: exit 1"
like "$(cat "$TMP/.lberr")" "Access denied.*lbuser\|lbuser.*Access denied" "... saying access was denied, for which user"
sed 's/^/#   /' "$TMP/.lberr" | head -3
printf '[client]\nsocket=%s\nuser=lbuser\npassword=right-password\n' "$MYSQL_SOCK_src" >"$TMP/lbuser.cnf"
lb -r "$R" backup --mysql --mysql-defaults-file "$TMP/lbuser.cnf" --mysql-databases bank
rc=$?
is "$rc" 0 "a user with exactly the documented privileges can back up"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head -5
nbefore=$(nsnapshots "$R")

for priv in RELOAD PROCESS "BINLOG MONITOR"; do
	case $priv in
	RELOAD) grants="PROCESS, BINLOG MONITOR"; want="RELOAD" ;;
	PROCESS) grants="RELOAD, BINLOG MONITOR"; want="PROCESS" ;;
	*) grants="RELOAD, PROCESS"; want="REPLICATION CLIENT\|BINLOG MONITOR" ;;
	esac
	u=$(echo "lack_$priv" | tr -d ' ' | tr 'A-Z' 'a-z')
	sql src "CREATE USER $u@localhost IDENTIFIED BY 'pw'; GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, $grants ON *.* TO $u@localhost"
	printf '[client]\nsocket=%s\nuser=%s\npassword=pw\n' "$MYSQL_SOCK_src" "$u" >"$TMP/$u.cnf"
	rc=$(lb_rc -r "$R" backup --mysql --mysql-defaults-file "$TMP/$u.cnf" --mysql-databases bank)
	is "$rc" 1 "a user without $priv: exit 1"
	like "$(cat "$TMP/.lberr")" "$want" "... naming the missing privilege"
	sed 's/^/#   /' "$TMP/.lberr" | head -3
done

# LOCK TABLES may be granted per database: found missing only when the
# MyISAM tables are to be locked, and named then, with the way out
sql src "CREATE USER lack_locktables@localhost IDENTIFIED BY 'pw';
	GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, RELOAD, PROCESS, BINLOG MONITOR ON *.* TO lack_locktables@localhost"
printf '[client]\nsocket=%s\nuser=lack_locktables\npassword=pw\n' "$MYSQL_SOCK_src" >"$TMP/lack_locktables.cnf"
rc=$(lb_rc -r "$R" backup --mysql --mysql-defaults-file "$TMP/lack_locktables.cnf" --mysql-databases bank)
is "$rc" 1 "a user without LOCK TABLES, with MyISAM tables to dump: exit 1"
like "$(cat "$TMP/.lberr")" "LOCK TABLES privilege.*--mysql-myisam-unlocked.*bank" \
	"... naming the privilege, the database and the way out"
sed 's/^/#   /' "$TMP/.lberr" | head -3

rc=$(lb_rc -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases bank,nosuchdb)
is "$rc" 1 "a database that does not exist: exit 1"
like "$(cat "$TMP/.lberr")" "nosuchdb" "... naming it"

is "$(nsnapshots "$R")" "$nbefore" "no failed backup wrote a snapshot"
is "$(sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for backup lock'")" 0 \
	"nothing is left waiting for a backup lock"
ok "the repository passes check after all of it" "$LB" -r "$R" check

done_testing
