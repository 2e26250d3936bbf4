#!/bin/sh
# A backup whose reads stall (a hung NFS mount) reports the path it is
# stuck on after --stall-warning, and fails cleanly at --timeout: exit 1
# within a bounded time, no snapshot written, the repository still passes
# check.  It never hangs silently.  The stall is real: tests/helpers/stallfs
# is a FUSE file system whose file "stuck-here" does not answer reads until
# it is released.
. "$(dirname "$0")/../lib.sh"

STALLFS=$HELPERS/stallfs
MNT=$TMP/mnt
R=$TMP/repo
SPID=""
BPID=""

if [ ! -e /dev/fuse ]; then
	skip "no /dev/fuse: FUSE is not available here"
	done_testing
	exit 0
fi
if [ ! -x "$STALLFS" ]; then
	fail "helper $STALLFS is built (make test builds tests/helpers/*.c; needs libfuse3-dev)"
	done_testing
	exit 1
fi

stop_all() {
	[ -n "$BPID" ] && kill -9 "$BPID" 2>/dev/null
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$SPID" ] && wait "$SPID" 2>/dev/null
	if grep -q " $MNT " /proc/mounts; then
		umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
	fi
}
at_exit stop_all

mkdir -p "$MNT"
"$STALLFS" --release "$TMP/release" --log "$TMP/stallfs.log" "$MNT" 2>"$TMP/stallfs.err" &
SPID=$!
i=0
while [ $i -lt 50 ] && ! grep -q " $MNT " /proc/mounts; do sleep 0.1; i=$((i + 1)); done
if ! grep -q " $MNT " /proc/mounts; then
	# a container without CAP_SYS_ADMIN: FUSE exists but cannot be mounted
	skip "cannot mount FUSE here: $(head -c 200 "$TMP/stallfs.err" | tr '\n' ' ')"
	done_testing
	exit 0
fi
is "$(cat "$MNT/hello.txt")" "hello from stallfs" "stallfs is mounted and serves files"

# the content stallfs serves for stuck-here once released
perl -e 'print chr(($_ * 31 + ($_ >> 8)) & 255) for 0 .. 99999' >"$TMP/stuck.expected"

ok "init" "$LB" -r "$R" init
mkdir -p "$TMP/src"
echo "an earlier snapshot" >"$TMP/src/f"
ok "an earlier backup" "$LB" -r "$R" backup "$TMP/src"
nsnap_before=$(ls "$R/snapshots" | wc -l)

# now(): seconds since the epoch with a fraction
now() { date +%s.%N; }
# since T: whole seconds elapsed since T (rounded down)
since() { echo "$(now) $1" | awk '{ printf "%d", $1 - $2 }'; }

# ---- a stall that never ends: warning, then a clean timeout ----
t0=$(now)
"$LB" -r "$R" backup --stall-warning 2s --timeout 8s "$MNT" >"$TMP/b1.out" 2>"$TMP/b1.err" &
BPID=$!
warned_at=""
while kill -0 "$BPID" 2>/dev/null && [ "$(since "$t0")" -lt 40 ]; do
	if [ -z "$warned_at" ] && grep -q 'stuck-here' "$TMP/b1.err"; then
		warned_at=$(since "$t0")
	fi
	sleep 0.2
done
if kill -0 "$BPID" 2>/dev/null; then
	fail "the stalled backup ended by itself within 40 s"
	kill -9 "$BPID"
fi
wait "$BPID"
rc=$?
BPID=""
elapsed=$(since "$t0")
[ -n "$warned_at" ] || { grep -q 'stuck-here' "$TMP/b1.err" && warned_at=$elapsed; }
ok "the reader really was stuck on stuck-here" grep -q 'read stuck-here' "$TMP/stallfs.log"
ok "a stall warning naming the stuck file appeared (after ${warned_at:-never} s)" test -n "$warned_at"
ok "the stall warning came within 6 s (--stall-warning 2s)" test "${warned_at:-99}" -le 6
like "$(grep 'stuck-here' "$TMP/b1.err" | head -1)" "$MNT/stuck-here" "the warning gives the full path"
like "$(grep 'stuck-here' "$TMP/b1.err" | head -1)" "stall\|no progress\|stuck\|blocked" "the warning says the read is stalled"
is "$rc" 1 "the stalled backup exits 1"
ok "the stalled backup ended within 30 s (took $elapsed s)" test "$elapsed" -lt 30
ok "the stalled backup did not give up before its --timeout (took $elapsed s)" test "$elapsed" -ge 7
like "$(cat "$TMP/b1.err")" "timed out\|timeout" "stderr says the backup timed out"
is "$(cat "$TMP/b1.out")" "" "no snapshot id on stdout"
is "$(ls "$R/snapshots" | wc -l)" "$nsnap_before" "no snapshot was written"
if grep -qi 'segmentation\|sanitizer\|runtime error' "$TMP/b1.err"; then fail "no crash report"; else pass "no crash report"; fi
sed 's/^/#   stderr: /' "$TMP/b1.err"
lb -r "$R" check
is "$?" 0 "the repository still passes check"
lb -r "$R" restore latest --target "$TMP/out0"
ok "the earlier snapshot still restores" cmp "$TMP/src/f" "$TMP/out0$TMP/src/f"

# ---- a stall that ends: a warning, then the backup completes ----
t0=$(now)
"$LB" -r "$R" backup --stall-warning 1s --timeout 60s "$MNT" >"$TMP/b2.out" 2>"$TMP/b2.err" &
BPID=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'stuck-here' "$TMP/b2.err" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
ok "second run: the stall is reported while it lasts" grep -q 'stuck-here' "$TMP/b2.err"
touch "$TMP/release"
i=0
while [ $i -lt 200 ] && kill -0 "$BPID" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$BPID" 2>/dev/null; then fail "second run: finished within 20 s of the release"; kill -9 "$BPID"; fi
wait "$BPID"
rc=$?
BPID=""
is "$rc" 0 "second run: once the read answers, the backup succeeds"
SNAP=$(cat "$TMP/b2.out")
like "$SNAP" '^[0-9a-f]\{64\}$' "second run: a snapshot was written"
rm -rf "$TMP/out"
lb -r "$R" restore "$SNAP" --target "$TMP/out"
is "$?" 0 "second run: the snapshot restores"
ok "second run: stuck-here came back with the content it finally served" cmp "$TMP/stuck.expected" "$TMP/out$MNT/stuck-here"
is "$(cat "$TMP/out$MNT/sub/note.txt" 2>/dev/null)" "note" "second run: the other files came back"
ok "second run: data.bin came back whole" test "$(stat -c %s "$TMP/out$MNT/data.bin" 2>/dev/null)" = 200000
lb -r "$R" check --read-data
is "$?" 0 "check --read-data passes at the end"

done_testing
