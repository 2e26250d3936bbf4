# Shell helpers for tests that need a real MariaDB server: a private
# datadir and socket under $TMP, no networking, stopped by pid at exit even
# when the test fails.  Source after lib.sh.
# shellcheck shell=sh

MARIADBD=${MARIADBD:-$(command -v mariadbd || echo /usr/sbin/mariadbd)}

# mysql_start NAME [extra mariadbd options...]: starts a server in $TMP/NAME;
# sets MYSQL_SOCK_<NAME>; writes $TMP/NAME.cnf, a client defaults file for root.
mysql_start() {
	name=$1; shift
	dir=$TMP/$name
	mkdir -p "$dir/data" "$dir/run"
	if ! mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
		--skip-test-db --user="$(id -un)" >"$dir/install.log" 2>&1; then
		echo "# mariadb-install-db failed:"; sed 's/^/#   /' "$dir/install.log" | tail -20
		return 1
	fi
	"$MARIADBD" --no-defaults --datadir="$dir/data" --socket="$dir/run/sock" --pid-file="$dir/run/pid" \
		--skip-networking --user="$(id -un)" --log-error="$dir/error.log" --innodb-buffer-pool-size=64M \
		--innodb-log-file-size=32M --server-id=1 --log-bin="$dir/data/binlog" --binlog-format=ROW \
		--max-connections=200 "$@" >/dev/null 2>&1 &
	pid=$!
	at_exit "kill $pid 2>/dev/null; i=0; while kill -0 $pid 2>/dev/null && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; kill -9 $pid 2>/dev/null"
	i=0
	while [ ! -S "$dir/run/sock" ] || ! mariadb --no-defaults -S "$dir/run/sock" -uroot -e 'select 1' >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
			echo "# mariadbd did not start:"; tail -20 "$dir/error.log" | sed 's/^/#   /'
			return 1
		fi
		sleep 0.1
	done
	printf '[client]\nsocket=%s\nuser=root\n' "$dir/run/sock" >"$TMP/$name.cnf"
	eval "MYSQL_PID_$name=$pid"
	eval "MYSQL_SOCK_$name=$dir/run/sock"
}

# sql NAME 'statements': runs SQL as root on server NAME, batch output.
sql() {
	name=$1; shift
	mariadb --defaults-file="$TMP/$name.cnf" -N -B -e "$*"
}
