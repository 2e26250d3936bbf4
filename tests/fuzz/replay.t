#!/bin/sh
# Replays every fuzz target over its stored corpus, tests/fuzz/corpus/NAME/
# (seeds from real repositories plus minimised crashers), one TAP line per
# target.  The replay binaries come from `make test` (build/tests/ or, with
# SANITIZE=..., build-san/tests/), so the sanitizers see every input too.
#
# Inputs listed in tests/fuzz/known-bugs ("NAME/FILE reason...") still
# crash a decoder: they run one by one as TODO tests, so the suite stays
# green while the bug is open and prove reports it the day it is fixed.
. "$(dirname "$0")/../lib.sh"

export TMPDIR="$TMP" # the repository targets make their repositories here
FUZZ_DIR="$TESTS_DIR/fuzz"
KNOWN="$FUZZ_DIR/known-bugs"

# todo DESCRIPTION REASON CMD...: a TODO test (a failure does not count).
todo() {
	d=$1 why=$2
	shift 2
	T_N=$((T_N + 1))
	if "$@" >"$TMP/.out" 2>&1; then
		echo "ok $T_N - $d # TODO $why"
	else
		echo "not ok $T_N - $d # TODO $why"
		sed 's/^/#   /' "$TMP/.out" | head -20
	fi
}

known_reason() { # NAME/FILE -> reason, or nothing
	[ -f "$KNOWN" ] || return 0
	awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$KNOWN"
}

found=0
for src in "$FUZZ_DIR"/fuzz_*.c; do
	[ -f "$src" ] || continue
	found=1
	name=${src##*/fuzz_}
	name=${name%.c}
	bin="$HELPERS/fuzz_$name-replay"
	dir="$FUZZ_DIR/corpus/$name"
	if [ ! -x "$bin" ]; then
		fail "fuzz_$name: $bin not built (run make test)"
		continue
	fi
	if [ ! -d "$dir" ]; then
		fail "fuzz_$name: no corpus in tests/fuzz/corpus/$name"
		continue
	fi
	# the corpus minus the known crashers, in one process
	set --
	n=0
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		if [ -n "$(known_reason "$name/${f##*/}")" ]; then
			continue
		fi
		set -- "$@" "$f"
		n=$((n + 1))
	done
	if [ "$n" -eq 0 ]; then
		fail "fuzz_$name: corpus is empty"
	else
		ok "fuzz_$name replays $n corpus inputs" "$bin" "$@"
	fi
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		why=$(known_reason "$name/${f##*/}")
		[ -n "$why" ] && todo "fuzz_$name $name/${f##*/}" "$why" "$bin" "$f"
	done
done
[ "$found" -eq 1 ] || fail "no fuzz targets in $FUZZ_DIR"
done_testing
