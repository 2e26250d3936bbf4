# Shell helpers for tests that need a real MariaDB server: a private
# datadir and socket under $TMP, no networking, stopped by pid at exit even
# when the test fails.  Source after lib.sh.
# shellcheck shell=sh

MARIADBD=${MARIADBD:-$(command -v mariadbd || echo /usr/sbin/mariadbd)}
MYSQLLOAD=$HELPERS/mysqlload

# mysql_start NAME [extra mariadbd options...]: starts a server in $TMP/NAME;
# sets MYSQL_SOCK_<NAME>, MYSQL_PID_<NAME>, MYSQL_DATA_<NAME>; writes
# $TMP/NAME.cnf, a client defaults file for root.  MYSQL_DATADIR=DIR puts
# the datadir elsewhere (on a btrfs subvolume, say).
mysql_start() {
	name=$1; shift
	dir=$TMP/$name
	data=${MYSQL_DATADIR:-$dir/data}
	mkdir -p "$data" "$dir/run" "$dir/tmp"
	# a private TMPDIR: installs running side by side (tests in parallel)
	# otherwise collide on their temporary tables in /tmp
	if ! TMPDIR=$dir/tmp mariadb-install-db --no-defaults --datadir="$data" --auth-root-authentication-method=normal \
		--skip-test-db --user="$(id -un)" >"$dir/install.log" 2>&1; then
		echo "# mariadb-install-db failed:"; sed 's/^/#   /' "$dir/install.log" | tail -20
		return 1
	fi
	mysql_start_on "$name" "$data" "$@"
}

# mysql_start_on NAME DATADIR [options...]: starts a server on an existing
# datadir (a restored copy: InnoDB recovers it); same variables as above.
mysql_start_on() {
	name=$1; data=$2; shift 2
	dir=$TMP/$name
	mkdir -p "$dir/run" "$dir/tmp"
	rm -f "$dir/run/sock"
	# the binlog goes in the datadir under a relative name, so its index
	# holds ./binlog.N and a copy of the datadir stays self-contained
	"$MARIADBD" --no-defaults --datadir="$data" --socket="$dir/run/sock" --pid-file="$dir/run/pid" \
		--skip-networking --user="$(id -un)" --log-error="$dir/error.log" --tmpdir="$dir/tmp" --innodb-buffer-pool-size=64M \
		--innodb-log-file-size=32M --server-id=1 --log-bin=binlog --binlog-format=ROW \
		--max-connections=200 "$@" >/dev/null 2>&1 &
	pid=$!
	at_exit "mysql_kill $pid"
	i=0
	while [ ! -S "$dir/run/sock" ] || ! mariadb --no-defaults -S "$dir/run/sock" -uroot -e 'select 1' >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 $pid 2>/dev/null; then
			echo "# mariadbd did not start:"; tail -20 "$dir/error.log" | sed 's/^/#   /'
			return 1
		fi
		sleep 0.1
	done
	printf '[client]\nsocket=%s\nuser=root\n' "$dir/run/sock" >"$TMP/$name.cnf"
	eval "MYSQL_PID_$name=$pid"
	eval "MYSQL_SOCK_$name=$dir/run/sock"
	eval "MYSQL_DATA_$name=$data"
}

# mysql_kill PID: SIGTERM, up to 20 s for a clean shutdown, then SIGKILL;
# returns once the process is gone (a zombie child counts as gone, and is
# reaped).
mysql_kill() {
	kill "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	_i=0
	while pid_alive "$1" && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
	pid_alive "$1" && kill -9 "$1" 2>/dev/null
	while pid_alive "$1"; do sleep 0.05; done
	wait "$1" 2>/dev/null
	return 0
}
pid_alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit !($0 ~ /\) Z /) }' "/proc/$1/stat" 2>/dev/null; }

# mysql_stop NAME: stops server NAME (by its pid) and waits for it to exit.
mysql_stop() {
	eval "_p=\${MYSQL_PID_$1:-}"
	[ -n "$_p" ] && mysql_kill "$_p"
	eval "MYSQL_PID_$1="
}

# sql NAME 'statements': runs SQL as root on server NAME, batch output.
sql() {
	name=$1; shift
	mariadb --defaults-file="$TMP/$name.cnf" -N -B -e "$*"
}

# mysql_skip_all_unless_ready: ends the test with a skip when there is no
# MariaDB server to start or the load helper was not built.
mysql_skip_all_unless_ready() {
	for _c in "$MARIADBD" mariadb-install-db mariadb jq; do
		if ! command -v "$_c" >/dev/null 2>&1; then
			skip "$_c is not installed (make deps)"
			done_testing
			exit 0
		fi
	done
	if [ ! -x "$MYSQLLOAD" ]; then
		fail "helper $MYSQLLOAD is built (make test builds tests/helpers/*.c)"
		done_testing
		exit 1
	fi
}

# have_mysql_restore: whether this lifeboat has `mysql restore` yet.
have_mysql_restore() { "$LB" mysql restore --help >/dev/null 2>&1; }
have_mysql_verify() { "$LB" verify --help >/dev/null 2>&1; }
have_binlog_archive() { "$LB" mysql binlog-archive --help >/dev/null 2>&1; }

# manifest REPO SNAPSHOT [JQ-FILTER]: the snapshot's manifest, or a field of it.
manifest() {
	"$LB" -r "$1" cat snapshot "$2" | jq -r "${3:-.}"
}

# nsnapshots REPO: how many snapshots the repository holds.
nsnapshots() { ls "$1/snapshots" 2>/dev/null | wc -l; }

# mysql_dump_extract REPO SNAPSHOT DIR [DB]: writes the snapshot's "mysql"
# source tree (schema, per-table dumps, users) into DIR, file by file, with
# nothing but `lifeboat cat tree` and `cat blob`: a way to read a dump that
# does not depend on lifeboat's own restore.  With DB, only that database's
# directory (and the top-level files).
mysql_dump_extract() {
	_t=$(manifest "$1" "$2" '.sources.mysql.tree // empty')
	if [ -z "$_t" ]; then
		echo "# snapshot $2 has no mysql tree"
		return 1
	fi
	mkdir -p "$3" && _mx_tree "$1" "$_t" "$3" "${4:-}"
}
_mx_tree() {
	"$LB" -r "$1" cat tree "$2" >"$3/.tree.json" || return 1
	jq -r --arg only "$4" '.[] | select(.type == "dir" and ($only == "" or .name == $only)) | "\(.subtree) \(.name)"' \
		"$3/.tree.json" >"$3/.dirs" || return 1
	while read -r _sub _name; do
		mkdir -p "$3/$_name" && (_mx_tree "$1" "$_sub" "$3/$_name" "") || return 1
	done <"$3/.dirs"
	jq -r '.[] | select(.type == "file") | .name' "$3/.tree.json" >"$3/.files" || return 1
	while read -r _name; do
		: >"$3/$_name"
		for _id in $(jq -r --arg n "$_name" '.[] | select(.name == $n) | (.content // [])[] | .id' "$3/.tree.json"); do
			"$LB" -r "$1" cat blob "$_id" >>"$3/$_name" || return 1
		done
	done <"$3/.files"
	rm -f "$3/.tree.json" "$3/.dirs" "$3/.files"
}

# mysql_checksums_match REPO SNAPSHOT SERVER DB [MANIFEST-DB]: compares the
# manifest's per-table rows and checksums (of MANIFEST-DB, default DB) with
# the tables of DB on SERVER, as mysqlload computes them.  Prints the
# differences; returns 0 when every table with a checksum matches.
mysql_checksums_match() {
	_mdb=${5:-$4}
	manifest "$1" "$2" ".sources.mysql.tables | to_entries[] | select(.value.database == \"$_mdb\" and .value.checksum != null)
		| \"\(.value.table | @uri) \(.value.rows) \(.value.checksum)\"" | LC_ALL=C sort >"$TMP/.cks.want"
	# hashed as the manifest says (SHA-256 when it does not)
	_alg=$(manifest "$1" "$2" '.sources.mysql.checksum_alg // "sha256"')
	"$MYSQLLOAD" checksum --defaults-file "$TMP/$3.cnf" --db "$4" --alg "$_alg" |
		jq -r 'to_entries[] | "\(.key | sub("^[^.]*[.]"; "") | @uri) \(.value.rows) \(.value.checksum)"' | LC_ALL=C sort >"$TMP/.cks.got"
	if [ ! -s "$TMP/.cks.want" ]; then
		echo "# no checksums for $_mdb in the manifest"
		return 1
	fi
	# every table the manifest has must be there, the same
	_bad=$(LC_ALL=C join -a1 "$TMP/.cks.want" "$TMP/.cks.got" | awk 'NF != 5 || $2 != $4 || $3 != $5')
	if [ -n "$_bad" ]; then
		echo "# table, manifest rows/checksum, restored rows/checksum:"
		echo "$_bad" | sed 's/^/#   /' | head -20
		return 1
	fi
	return 0
}

# mysql_wait_state NAME PATTERN SECONDS: waits until some connection's
# processlist STATE or INFO matches the SQL LIKE pattern.
mysql_wait_state() {
	_n=0
	_lim=$(($3 * 50))
	while [ "$(sql "$1" "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND (STATE LIKE '$2' OR INFO LIKE '$2')")" = 0 ]; do
		_n=$((_n + 1))
		[ $_n -gt $_lim ] && return 1
		sleep 0.02
	done
	return 0
}

# mysql_wait_count NAME CONDITION N SECONDS: waits until N connections
# (other than this one) of the processlist satisfy the SQL CONDITION.
mysql_wait_count() {
	_n=0
	_lim=$(($4 * 20))
	while [ "$(sql "$1" "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND ($2)")" != "$3" ]; do
		_n=$((_n + 1))
		[ $_n -gt $_lim ] && return 1
		sleep 0.05
	done
	return 0
}

# binlogs_from NAME FILE: the binlog files of server NAME from FILE on.
binlogs_from() {
	eval "_d=\$MYSQL_DATA_$1"
	for _f in "$_d"/binlog.[0-9]*; do
		[ "$(basename "$_f")" \< "$2" ] || echo "$_f"
	done
}

# mysql_replay_binlog REPO SNAPSHOT SERVER: replays server src's binlog,
# from the position SNAPSHOT's manifest records, onto SERVER; 0 when it
# applies without an error (what it printed in $TMP/replay.out and
# $TMP/binlog.err).
mysql_replay_binlog() {
	_file=$(manifest "$1" "$2" .sources.mysql.binlog.file)
	_pos=$(manifest "$1" "$2" .sources.mysql.binlog.position)
	# shellcheck disable=SC2046
	mariadb-binlog --no-defaults --start-position="$_pos" $(binlogs_from src "$_file") 2>"$TMP/binlog.err" |
		mariadb --defaults-file="$TMP/$3.cnf" >"$TMP/replay.out" 2>&1
}

# mysql_tables_differ SERVER: the tables of src's bank whose checksum
# differs on SERVER, as a JSON string ("" when none).
mysql_tables_differ() {
	"$MYSQLLOAD" checksum --defaults-file "$TMP/src.cnf" >"$TMP/src.cks"
	"$MYSQLLOAD" checksum --defaults-file "$TMP/$1.cnf" >"$TMP/other.cks"
	jq -n --slurpfile a "$TMP/src.cks" --slurpfile b "$TMP/other.cks" \
		'[$a[0] | to_entries[] | select($b[0][.key] != .value) | .key] | join(" ")'
}

# now: seconds since the epoch, with a fraction.
now() { date +%s.%N; }
# elapsed T0: seconds since T0, two decimals.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# lt A B: whether A < B (decimals).
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
