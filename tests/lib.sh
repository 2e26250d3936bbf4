# Shared setup for the shell tests: TAP output, a private temp directory
# removed on exit (even on failure), and the lifeboat binary under test.
# shellcheck shell=sh

set -u
LB=${LIFEBOAT_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}/lifeboat
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
HELPERS=$(dirname "$LB")/tests
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lbtest.XXXXXX")
T_N=0
T_FAILED=0
T_CLEANUP=""

# Runs the registered cleanup commands, then removes the temp directory.
t_exit() {
	rc=$?
	eval "$T_CLEANUP"
	rm -rf "$TMP"
	exit $rc
}
trap t_exit EXIT
trap 'exit 130' INT TERM
# at_exit "kill 123": run at exit, newest first.
at_exit() { T_CLEANUP="$1; $T_CLEANUP"; }

export LIFEBOAT_PASSWORD=correct-horse
export LIFEBOAT_TEST_SCRYPT_N=1024   # scrypt cost for test repositories only
export LIFEBOAT_LOCK_DIR="$TMP/locks"
unset LIFEBOAT_REPO

plan() { echo "1..$1"; }
diag() { echo "# $*"; }

pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
fail() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $1"; }

# ok DESCRIPTION CMD [ARGS...]: passes when the command exits 0.
ok() {
	d=$1; shift
	if "$@" >"$TMP/.out" 2>&1; then pass "$d"; else fail "$d"; sed 's/^/#   /' "$TMP/.out" | head -40; fi
}
# nok DESCRIPTION CMD...: passes when the command fails.
nok() {
	d=$1; shift
	if "$@" >"$TMP/.out" 2>&1; then fail "$d"; sed 's/^/#   /' "$TMP/.out" | head -40; else pass "$d"; fi
}
# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; fi
}
# like TEXT GREP-PATTERN DESCRIPTION
like() {
	if printf '%s\n' "$1" | grep -q -- "$2"; then pass "$3"; else fail "$3"; printf '%s\n' "$1" | sed 's/^/#   /' | head -20; echo "#   wanted: /$2/"; fi
}
skip() { T_N=$((T_N + 1)); echo "ok $T_N # skip $1"; }
done_testing() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# lb ARGS: run lifeboat; stdout to $TMP/.lbout, stderr to $TMP/.lberr; returns its status.
# At exit (at_exit stop_pids_and_stallfs): kills the background processes
# in $PIDS and the stallfs in $SPID, and unmounts $MNT if still mounted.
stop_pids_and_stallfs() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	if grep -q " $MNT " /proc/mounts 2>/dev/null; then
		umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
	fi
}

lb() {
	"$LB" "$@" >"$TMP/.lbout" 2>"$TMP/.lberr"
}
lb_rc() { lb "$@"; echo $?; }
