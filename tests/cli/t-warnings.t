#!/bin/sh
# Exit 3: the snapshot is written, but entries that could not be saved as
# they were are each named on stderr — unreadable, vanished, or changing
# while read.  Never silent corruption.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S/d"
echo fine >"$S/fine"
echo secret >"$S/d/locked"
"$LB" -r "$R" init >/dev/null 2>&1 || { fail "init"; done_testing; exit 1; }

# ---- unreadable file (as an unprivileged user; root reads everything) ----
if is_root && command -v setpriv >/dev/null; then
	chmod 000 "$S/d/locked"
	chmod -R a+rwX "$R" "$TMP"
	chmod 000 "$S/d/locked"
	setpriv --reuid=nobody --regid=nogroup --clear-groups env LIFEBOAT_LOCK_DIR="$TMP/locks-nobody" \
		"$LB" -r "$R" backup "$S" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	is "$rc" 3 "an unreadable file: exit 3"
	like "$(cat "$TMP/err")" "$S/d/locked: cannot open: Permission denied" "stderr names the file and the cause"
	like "$(cat "$TMP/out")" '^[0-9a-f]\{64\}$' "the snapshot was still written"
	id=$(cat "$TMP/out")
	lb -r "$R" ls "$id" "$S"
	like "$(cat "$TMP/.lbout")" "$S/fine" "readable files are in it"
	chmod 644 "$S/d/locked"
else
	skip "needs root and setpriv to test an unreadable file"
fi

# ---- a file that changes while it is read ----
head -c 30000000 /dev/urandom >"$S/growing.log"
( while :; do echo "another line" >>"$S/growing.log"; done ) &
writer=$!
at_exit "kill $writer 2>/dev/null"
sleep 0.2
lb -r "$R" backup "$S"; rc=$?
kill $writer 2>/dev/null; wait $writer 2>/dev/null
is "$rc" 3 "a file written during the backup: exit 3"
like "$(cat "$TMP/.lberr")" "growing.log: changed while being read" "stderr names the changing file"
like "$(cat "$TMP/.lbout")" '^[0-9a-f]\{64\}$' "and the snapshot is written"

# ---- a stable tree: exit 0 and quiet ----
rm -f "$S/growing.log"
lb -r "$R" backup "$S"; rc=$?
is "$rc" 0 "a quiet tree: exit 0"
is "$(cat "$TMP/.lberr")" "" "and nothing on stderr"

# ---- a path given on the command line that does not exist ----
lb -r "$R" backup "$S/nope"; rc=$?
is "$rc" 1 "a missing top-level path is an error"
like "$(cat "$TMP/.lberr")" "$S/nope: No such file or directory" "naming the path"

ok "check passes after all that" "$LB" -r "$R" check
done_testing
