#!/bin/sh
# Restore drills and restores at every granularity, on a database built to
# be hard to dump: every column type that has tripped dump tools (FLOAT,
# DOUBLE, DECIMAL, BIT, BLOBs with every byte value, utf8mb4 and latin1
# text with quotes and backslashes, JSON, TIMESTAMP on a server whose time
# zone is not UTC, zero dates, negative TIME, YEAR, ENUM/SET, generated
# columns, geometry, NULL next to ''), an AUTO_INCREMENT row with id 0,
# identifiers with backquotes, slashes and non-ASCII letters, an Aria table,
# a view, a trigger, a procedure, a function, an event, and a user.
#
#  - `lifeboat verify SNAPSHOT --mysql` restores into a throwaway server,
#    runs CHECK TABLE and compares checksums; exit 0, and `snapshots` shows
#    the snapshot as proven restorable;
#  - a whole restore (with --users) into an empty server: every table equals
#    the manifest, views/triggers/routines work, the user can log in;
#  - one database --into a new name, on the same server: its view and
#    trigger refer to the new database, not the old one;
#  - one table (--table, --replace): a forum's lost posts come back and
#    nothing else is touched; without --replace an existing table is refused;
#  - the test's own loader agrees (an independent reading of the dump).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mysql-lib.sh"

mysql_skip_all_unless_ready
ML=$MYSQLLOAD
R=$TMP/repo

# the source runs at +05:00: TIMESTAMPs must survive a server in UTC
if ! mysql_start src --default-time-zone=+05:00; then
	fail "start a private mariadbd"
	done_testing
	exit 1
fi
SRC_CNF=$TMP/src.cnf
ok "bank schema and data" "$ML" setup --defaults-file "$SRC_CNF" --accounts 200 --posts 2000

cat >"$TMP/shop.sql" <<'EOF'
CREATE DATABASE shop CHARACTER SET utf8mb4;
USE shop;
CREATE TABLE types (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  f FLOAT, d DOUBLE, dc DECIMAL(30,10), b BIT(5), bl BLOB, vb VARBINARY(64),
  u VARCHAR(100) CHARACTER SET utf8mb4, l1 VARCHAR(50) CHARACTER SET latin1,
  j JSON, ts TIMESTAMP(6) NULL DEFAULT NULL, dt DATETIME(6), dte DATE, tm TIME(3), y YEAR,
  e ENUM('a','b','c'), st SET('x','y','z'), g INT AS (id * 2) VIRTUAL, gs VARCHAR(60) AS (UPPER(l1)) STORED,
  pt POINT NULL, nul VARCHAR(5) NULL
) ENGINE=InnoDB;
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';
INSERT INTO types (id, f, d, dc, b, bl, vb, u, l1, j, ts, dt, dte, tm, y, e, st, pt, nul) VALUES
 (0, 0.1, 0.1, '12345678901234567890.0123456789', b'10101', NULL, 0x00, 'row with id 0', 'a', '{}',
  '2024-03-31 01:30:00.123456', '2024-03-31 02:30:00', '1000-01-01', '-838:59:59.000', 1901, 'a', '', NULL, NULL),
 (1, 3.14159274, 2.718281828459045, '-0.0000000001', b'11111', 0x00FF7F80, 0x5C27220A0D1A00,
  'emoji 😀 quote '' dq " bs \\ nl \n tab \t ctrl-z \Z', 'café', '{"a": [1, 2.5, "x\\"y"], "b": null}',
  '2038-01-19 08:14:07.999999', '9999-12-31 23:59:59.999999', '2024-02-29', '838:59:59.999', 2155, 'c', 'x,z',
  ST_GeomFromText('POINT(1.5 -2.25)'), ''),
 (2, -1e-30, 1.7976931348623157e308, '0', b'0', '', '', '', '', 'null', '1970-01-02 00:00:01', '0000-00-00 00:00:00',
  NULL, '00:00:00', 0, NULL, NULL, NULL, NULL);
INSERT INTO types (bl, f) SELECT UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR '')), 1/3 FROM seq_0_to_255;
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(20) NOT NULL, qty INT NOT NULL) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100)) ENGINE=Aria;
INSERT INTO orders (item, qty) VALUES ('apples', 5), ('pears', 50), ('plums', 12);
CREATE VIEW big_orders AS SELECT id, item FROM orders WHERE qty > 10;
CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (msg) VALUES (CONCAT('new order ', NEW.item));
CREATE PROCEDURE add_order(i VARCHAR(20), q INT) INSERT INTO orders (item, qty) VALUES (i, q);
CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE EVENT tidy ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE id < 0;
CREATE DATABASE `my-db`;
CREATE TABLE `my-db`.`we``ird/na me` (id INT PRIMARY KEY, `sel``ect` VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO `my-db`.`we``ird/na me` VALUES (1, 'one'), (2, 'two');
CREATE TABLE `my-db`.`café` (id INT PRIMARY KEY) ENGINE=MyISAM;
INSERT INTO `my-db`.`café` VALUES (7);
CREATE TABLE `my-db`.modes (id INT PRIMARY KEY, c CHAR(12), s VARCHAR(40), b VARBINARY(16)) ENGINE=MyISAM;
INSERT INTO `my-db`.modes VALUES (1, 'a\\b', 'it''s "q" \\n', 0x5C00275C), (2, 'short', 'trailing  ', 0x2020), (3, '', '\\', NULL);
CREATE USER app@localhost IDENTIFIED BY 'app-password';
GRANT SELECT, INSERT ON shop.* TO app@localhost;
EOF
ok "the hard-to-dump database" mariadb --defaults-file="$SRC_CNF" --default-character-set=utf8mb4 -e "source $TMP/shop.sql"
ok "init" "$LB" -r "$R" init
# a server whose default sql_mode would change what a dump session reads
# (PAD_CHAR_TO_FULL_LENGTH), prints (ANSI_QUOTES) or how literals are
# escaped (NO_BACKSLASH_ESCAPES): lifeboat's sessions set their own
old_mode=$(sql src "SELECT @@GLOBAL.sql_mode")
sql src "SET GLOBAL sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PAD_CHAR_TO_FULL_LENGTH'"
lb -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --tag drill
rc=$?
sql src "SET GLOBAL sql_mode = '$old_mode'"
SNAP=$(cat "$TMP/.lbout")
is "$rc" 0 "backup"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head
like "$(manifest "$R" "$SNAP" '.sources.mysql.tables | keys | join(" ")')" 'my-db.we`ird/na me' "the manifest names the odd table"
is "$(manifest "$R" "$SNAP" '.sources.mysql.tables["shop.audit"].consistent')" true "the Aria table was dumped under the lock"

# what the source holds, read with full precision (a FLOAT printed with 6
# digits and read back is a different FLOAT)
exact() {
	sql "$1" "SET time_zone = '+00:00'; SELECT id, CAST(f AS DOUBLE), d, dc, HEX(b), HEX(bl), HEX(vb), HEX(u), HEX(l1), j,
		UNIX_TIMESTAMP(ts), dt, dte, tm, y, e, st, g, gs, ST_AsText(pt), nul IS NULL, HEX(nul) FROM $2.types ORDER BY id"
}
exact src shop >"$TMP/src.exact"

# ---------------------------------------------------------------- the drill
if have_mysql_verify; then
	t0=$(now)
	lb -r "$R" verify "$SNAP" --mysql
	rc=$?
	is "$rc" 0 "verify --mysql: the restore drill passes ($(elapsed "$t0") s)"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" "$TMP/.lbout" | head -20
	lb -r "$R" --json verify "$SNAP" --mysql
	v=$(cat "$TMP/.lbout")
	diag "verdict: $(echo "$v" | jq -c 'del(.tables)' 2>/dev/null | cut -c1-300)"
	is "$(echo "$v" | jq -r .ok 2>/dev/null)" true "the verdict is recorded as ok"
	lb -r "$R" snapshots
	line=$(grep "^$(echo "$SNAP" | cut -c1-12)" "$TMP/.lbout")
	like "$line" ' ok 20' "snapshots shows it proven restorable, and when"
	lb -r "$R" --json snapshots
	is "$(jq -r --arg id "$SNAP" '.[] | select(.id == $id) | .verified.ok' "$TMP/.lbout")" true "snapshots --json carries the verdict"
	# a snapshot with no MySQL data cannot be drilled
	mkdir -p "$TMP/files" && echo x >"$TMP/files/x"
	lb -r "$R" backup "$TMP/files"
	fsnap=$(cat "$TMP/.lbout")
	rc=$(lb_rc -r "$R" verify "$fsnap" --mysql)
	is "$rc" 1 "verify --mysql of a snapshot without MySQL data: exit 1"
	like "$(cat "$TMP/.lberr")" "MySQL\|mysql" "... saying it has no MySQL data"
	# a snapshot from before "checksum_alg" (its checksums SHA-256) is
	# still drilled against what it recorded
	LIFEBOAT_TEST_MYSQL_SHA256_SUMS=1 lb -r "$R" backup --mysql --mysql-defaults-file "$SRC_CNF" --mysql-databases shop
	osnap=$(cat "$TMP/.lbout")
	is "$(manifest "$R" "$osnap" '.sources.mysql | has("checksum_alg")')" false "an old-style manifest: no checksum_alg"
	lb -r "$R" verify "$osnap" --mysql
	is "$?" 0 "... and its restore drill passes, the checksums hashed with SHA-256"
	is "$(manifest "$R" "$SNAP" .sources.mysql.checksum_alg)" xxh3-64 "a new backup records its checksums' hash (xxh3-64)"
	rc=$(lb_rc -r "$R" verify "$SNAP" --mysql --mariadbd /nonexistent/mariadbd)
	is "$rc" 1 "verify with a server binary that does not exist: exit 1"
	like "$(cat "$TMP/.lberr")" "/nonexistent/mariadbd" "... naming it"
else
	skip "lifeboat verify --mysql: not implemented yet ('lifeboat verify --help' fails)"
fi

# ---------------------------------------------------------------- the test's own loader
mysql_start own || fail "start a server for the test's own loader"
if mysql_dump_extract "$R" "$SNAP" "$TMP/dump" >"$TMP/.x" 2>&1; then
	ok "the test's loader loads the dump" "$ML" load-dump --defaults-file "$TMP/own.cnf" --dir "$TMP/dump"
	for db in bank shop my-db; do
		ok "own loader: $db matches the manifest's checksums" mysql_checksums_match "$R" "$SNAP" own "$db"
	done
	exact own shop >"$TMP/own.exact"
	if cmp -s "$TMP/src.exact" "$TMP/own.exact"; then pass "own loader: every value exactly as on the source"
	else fail "own loader: every value exactly as on the source"; diff "$TMP/src.exact" "$TMP/own.exact" | sed 's/^/#   /' | head; fi
else
	fail "read the dump back with cat tree / cat blob"
	sed 's/^/#   /' "$TMP/.x" | head
fi
mysql_stop own

if ! have_mysql_restore; then
	skip "lifeboat mysql restore: not implemented yet ('lifeboat mysql restore --help' fails)"
	done_testing
	exit $?
fi

# ---------------------------------------------------------------- a whole restore, with users
mysql_start whole || fail "start an empty server"
t0=$(now)
lb -r "$R" mysql restore "$SNAP" --mysql-defaults-file "$TMP/whole.cnf" --users
rc=$?
is "$rc" 0 "whole restore with --users into an empty server ($(elapsed "$t0") s)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head
for db in bank shop my-db; do
	ok "whole restore: $db matches the manifest's checksums" mysql_checksums_match "$R" "$SNAP" whole "$db"
done
exact whole shop >"$TMP/whole.exact"
if cmp -s "$TMP/src.exact" "$TMP/whole.exact"; then pass "whole restore: every value exactly as on the source (FLOAT, TIMESTAMP, BLOB...)"
else fail "whole restore: every value exactly as on the source (FLOAT, TIMESTAMP, BLOB...)"; diff "$TMP/src.exact" "$TMP/whole.exact" | sed 's/^/#   /' | head; fi
ok "whole restore: the invariant holds in bank" "$ML" check --defaults-file "$TMP/whole.cnf"
is "$(sql whole "SELECT shop.double_it(21)")" 42 "the function works"
sql whole "CALL shop.add_order('figs', 30)"
is "$(sql whole "SELECT msg FROM shop.audit ORDER BY id DESC LIMIT 1")" "new order figs" "the procedure and the trigger work"
is "$(sql whole "SELECT GROUP_CONCAT(item ORDER BY id) FROM shop.big_orders")" "pears,plums,figs" "the view works"
is "$(sql whole "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop' AND EVENT_NAME = 'tidy'")" 1 "the event is there"
is "$(sql whole "SELECT \`sel\`\`ect\` FROM \`my-db\`.\`we\`\`ird/na me\` WHERE id = 2")" two "the table with the odd name is there"
is "$(mariadb --no-defaults -S "$MYSQL_SOCK_whole" -uapp -papp-password -N -B -e "SELECT COUNT(*) FROM shop.orders" 2>&1)" 4 \
	"the restored user logs in with its password and has its grants"
mysql_stop whole

# ---------------------------------------------------------------- one database, under a new name
lb -r "$R" mysql restore "$SNAP" --mysql-defaults-file "$SRC_CNF" --database shop --into shop_copy
rc=$?
is "$rc" 0 "restore --database shop --into shop_copy, beside the live shop"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head
ok "shop_copy matches the manifest's checksums" mysql_checksums_match "$R" "$SNAP" src shop_copy shop
sql src "DELETE FROM shop.orders WHERE item = 'pears'"
is "$(sql src "SELECT GROUP_CONCAT(item ORDER BY id) FROM shop_copy.big_orders")" "pears,plums" \
	"the copy's view reads the copy's table, not the original's"
sql src "INSERT INTO shop_copy.orders (item, qty) VALUES ('kiwis', 1)"
is "$(sql src "SELECT COUNT(*) FROM shop_copy.audit WHERE msg = 'new order kiwis'")/$(sql src "SELECT COUNT(*) FROM shop.audit WHERE msg = 'new order kiwis'")" \
	"1/0" "the copy's trigger writes to the copy's audit table"
is "$(sql src "SELECT shop_copy.double_it(4)")" 8 "the copy has the function"
rc=$(lb_rc -r "$R" mysql restore "$SNAP" --mysql-defaults-file "$SRC_CNF" --database nosuch --into x)
is "$rc" 1 "restore --database of a database the snapshot lacks: exit 1"
like "$(cat "$TMP/.lberr")" "nosuch" "... naming it"

# ---------------------------------------------------------------- one table: the forum's lost posts
sql src "UPDATE bank.accounts SET owner = 'changed after the backup' WHERE id = 1"
sql src "DELETE FROM bank.posts WHERE topic_id < 100"
rc=$(lb_rc -r "$R" mysql restore "$SNAP" --mysql-defaults-file "$SRC_CNF" --database bank --table posts)
is "$rc" 1 "restoring a table that exists, without --replace: refused"
like "$(cat "$TMP/.lberr")" "exists" "... saying it exists"
lb -r "$R" mysql restore "$SNAP" --mysql-defaults-file "$SRC_CNF" --database bank --table posts --replace
rc=$?
is "$rc" 0 "restore --database bank --table posts --replace"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head
"$ML" checksum --defaults-file "$SRC_CNF" --table posts --alg "$(manifest "$R" "$SNAP" .sources.mysql.checksum_alg)" \
	>"$TMP/posts.cks"
is "$(jq -r '.["bank.posts"].checksum' "$TMP/posts.cks")" "$(manifest "$R" "$SNAP" '.sources.mysql.tables["bank.posts"].checksum')" \
	"the posts are back, exactly as backed up"
is "$(sql src "SELECT owner FROM bank.accounts WHERE id = 1")" "changed after the backup" "no other table was touched"
lb -r "$R" mysql restore "$SNAP" --mysql-defaults-file "$SRC_CNF" --database bank --table posts --into bank_old
rc=$?
is "$rc" 0 "restore one table --into another database"
is "$(sql src "SELECT COUNT(*) FROM bank_old.posts")" "$(manifest "$R" "$SNAP" '.sources.mysql.tables["bank.posts"].rows')" \
	"... with all its rows"
is "$(sql src "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bank_old'")" 1 "... and only that table"
rc=$(lb_rc -r "$R" mysql restore "$SNAP" --mysql-defaults-file "$SRC_CNF" --database bank --table nosuch)
is "$rc" 1 "restore --table of a table the snapshot lacks: exit 1"
like "$(cat "$TMP/.lberr")" "nosuch" "... naming it"

done_testing
