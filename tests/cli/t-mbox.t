#!/bin/sh
# mbox spools: a concurrent appender takes the Debian locks (fcntl, then the
# dotlock) and writes each message in pieces, with pauses, while lifeboat
# backs the spool up again and again.  Every saved mbox parses into whole
# messages; a lock held past the timeout is a warning (exit 3) naming the
# mbox and who holds it, and the previous snapshot's copy is kept; stale
# dotlocks are broken; `mail restore` appends what the live mbox lacks.
. "$(dirname "$0")/../lib.sh"

ML=$HELPERS/mailload
if [ ! -x "$ML" ]; then
	plan 1
	skip "mailload helper not built"
	exit 0
fi

R=$TMP/repo
SP=$TMP/spool
MB=$SP/alice
ROUNDS=5
mkdir -p "$SP"
"$LB" -r "$R" init >/dev/null 2>&1 || { fail "init"; done_testing; exit 1; }

# count MAILBOX: the message count `mail ls` shows for it in snapshot $id
count() { lb -r "$R" mail ls "$id"; grep " $1\$" "$TMP/.lbout" | awk '{ print $2 }'; }

"$ML" mbox-append "$MB" "$TMP/appended" &
apid=$!
at_exit "kill $apid 2>/dev/null; wait $apid 2>/dev/null"
sleep 1

i=1
start=$(date +%s)
while [ $i -le $ROUNDS ]; do
	wc -l <"$TMP/appended" >"$TMP/before.$i"
	lb -r "$R" backup --mail-spool "$SP"
	echo $? >"$TMP/rc.$i"
	wc -l <"$TMP/appended" >"$TMP/after.$i" # the appender logs just after it unlocks: one may be unlogged yet
	cp "$TMP/.lbout" "$TMP/id.$i"
	cp "$TMP/.lberr" "$TMP/err.$i"
	i=$((i + 1))
done
kill $apid 2>/dev/null
wait $apid 2>/dev/null
diag "$ROUNDS backups in $(($(date +%s) - start)) s while $(wc -l <"$TMP/appended") messages were appended"

i=1
while [ $i -le $ROUNDS ]; do
	id=$(cat "$TMP/id.$i")
	is "$(cat "$TMP/rc.$i")" 0 "backup $i while appending: exit 0"
	if [ "$(cat "$TMP/rc.$i")" != 0 ]; then sed 's/^/#   /' "$TMP/err.$i" | head -5; fi
	rm -rf "$TMP/r"
	"$LB" -r "$R" restore "$id" --target "$TMP/r" >/dev/null 2>&1
	n=$("$ML" mbox-check "$TMP/r$MB" 2>"$TMP/check.err")
	rc=$?
	is "$rc" 0 "backup $i: every message is whole (none torn)"
	if [ "$rc" != 0 ]; then sed 's/^/#   /' "$TMP/check.err" | head -5; fi
	ok "backup $i: holds the $(cat "$TMP/before.$i") messages appended before it began ($n)" \
		test "$n" -ge "$(cat "$TMP/before.$i")" -a "$n" -le "$(($(cat "$TMP/after.$i") + 1))"
	is "$(count "$MB")" "$n" "backup $i: the manifest counts them"
	ok "backup $i: the dotlock itself is not saved" test ! -e "$TMP/r$MB.lock"
	i=$((i + 1))
done
cp "$TMP/r$MB" "$TMP/snap.mbox"
snap=$n
last=$("$ML" mbox-check "$MB")
cp "$MB" "$TMP/last.mbox"

# ---- a lock held past the timeout ----
"$ML" mbox-hold "$MB" 30 both >"$TMP/hold.out" &
hpid=$!
at_exit "kill $hpid 2>/dev/null"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	grep -q locked "$TMP/hold.out" 2>/dev/null && break
	sleep 0.1
done
t0=$(date +%s)
lb -r "$R" backup --mail-spool "$SP" --mail-lock-timeout 1s
rc=$?
is "$rc" 3 "an mbox locked past the timeout: exit 3"
ok "the wait stayed near the timeout" test $(($(date +%s) - t0)) -le 10
like "$(cat "$TMP/.lberr")" "$MB: mbox still locked after the timeout" "the warning names the mbox"
like "$(cat "$TMP/.lberr")" "pid $hpid (mailload) holds an fcntl lock" "and who holds the lock"
like "$(cat "$TMP/.lberr")" "kept the previous snapshot's copy" "and says the previous copy is kept"
id=$(cat "$TMP/.lbout")
rm -rf "$TMP/r"
"$LB" -r "$R" restore "$id" --target "$TMP/r" >/dev/null 2>&1
ok "the snapshot holds the previous copy" cmp -s "$TMP/r$MB" "$TMP/snap.mbox"
lb -r "$R" mail ls "$id"
like "$(cat "$TMP/.lbout")" "mbox  *$snap messages.*$MB  (previous copy" "mail ls shows it, with the previous count"
kill $hpid 2>/dev/null
wait $hpid 2>/dev/null

# only a dotlock (as a mail reader without fcntl would hold)
"$ML" mbox-hold "$MB" 30 dotlock >"$TMP/hold.out" &
hpid=$!
at_exit "kill $hpid 2>/dev/null"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	grep -q locked "$TMP/hold.out" 2>/dev/null && break
	sleep 0.1
done
lb -r "$R" backup --mail-spool "$SP" --mail-lock-timeout 1s
is "$?" 3 "a dotlock held past the timeout: exit 3"
like "$(cat "$TMP/.lberr")" "pid $hpid (mailload) holds $MB.lock" "the warning names the dotlock's holder"
ok "our own attempt left no fcntl lock and the holder's dotlock in place" test -e "$MB.lock"
kill $hpid 2>/dev/null
wait $hpid 2>/dev/null
ok "the holder's dotlock is gone with it" test ! -e "$MB.lock"

# a new mbox, locked from the start: nothing to fall back on
printf 'From b@example.org Mon Jan  1 00:00:00 2024\nSubject: hi\n\nBEGIN b0\nb0 line 0: x\nEND b0\n\n' >"$SP/bob"
"$ML" mbox-hold "$SP/bob" 30 both >"$TMP/hold.out" &
hpid=$!
at_exit "kill $hpid 2>/dev/null"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	grep -q locked "$TMP/hold.out" 2>/dev/null && break
	sleep 0.1
done
lb -r "$R" backup --mail-spool "$SP" --mail-lock-timeout 1s
is "$?" 3 "a locked mbox never backed up before: exit 3"
like "$(cat "$TMP/.lberr")" "$SP/bob: .*not saved (no previous snapshot has it)" "the warning says it is not saved"
id=$(cat "$TMP/.lbout")
lb -r "$R" ls "$id" "$SP"
ok "and it is absent from the snapshot" sh -c "! grep -q '$SP/bob\$' '$TMP/.lbout'"
kill $hpid 2>/dev/null
wait $hpid 2>/dev/null

# ---- stale dotlocks are broken (liblockfile's rules) ----
: >"$MB.lock"
touch -d '10 minutes ago' "$MB.lock"
lb -r "$R" backup --mail-spool "$SP" --mail-lock-timeout 2s
is "$?" 0 "a dotlock without a pid, 10 minutes old, is stale: exit 0"
ok "and gone afterwards" test ! -e "$MB.lock"
sh -c 'exit 0' &
dead=$!
wait $dead
echo "$dead" >"$MB.lock"
lb -r "$R" backup --mail-spool "$SP" --mail-lock-timeout 2s
is "$?" 0 "a dotlock whose pid is dead is stale: exit 0"
id=$(cat "$TMP/.lbout")
is "$(count "$MB")" "$last" "the mbox is read in full again"

# ---- mail restore into the live mbox, while mail keeps arriving ----
# keep every other message: the rest is "lost"
awk 'BEGIN { keep = 0 } /^From / && prev == "" { n++; keep = n % 2 } { if (keep) print; prev = $0 }' \
	"$TMP/last.mbox" >"$MB"
kept=$("$ML" mbox-check "$MB")
"$ML" mbox-append "$MB" "$TMP/appended2" &
apid=$!
at_exit "kill $apid 2>/dev/null; wait $apid 2>/dev/null"
sleep 0.3
lb -r "$R" mail restore "$id" "$MB"
rc=$?
sleep 0.3
kill $apid 2>/dev/null
wait $apid 2>/dev/null
is "$rc" 0 "mail restore into the live mbox while another process appends: exit 0"
like "$(cat "$TMP/.lbout")" "^restored $((last - kept)) of $last messages ($kept already there)" \
	"it appends the $((last - kept)) lost messages, and only those"
n=$("$ML" mbox-check "$MB" 2>"$TMP/check.err")
is "$?" 0 "the live mbox is whole: no torn message, ours or the appender's"
is "$n" "$((last + $(wc -l <"$TMP/appended2")))" "it holds the snapshot's messages and the new ones"
is "$(grep '^BEGIN ' "$MB" | sort | uniq -d | wc -l)" 0 "none twice"
lb -r "$R" mail restore "$id" "$MB"
like "$(cat "$TMP/.lbout")" "^restored 0 of $last" "a second restore appends nothing"

lb -r "$R" mail restore "$id" "$MB" --target "$TMP/side"
is "$?" 0 "mail restore --target: exit 0"
ok "--target holds the mbox as it was" cmp -s "$TMP/side/alice" "$TMP/last.mbox"
lb -r "$R" mail restore "$id" "$MB" --target "$TMP/side"
is "$?" 1 "and never overwrites a file there"

# ---- mailbox names with odd bytes ----
# on a terminal they are escaped; in --json the destination is a string
OS=$TMP/oddspool
mkdir -p "$OS"
BADNAME=$(printf 'bad\377')
ESCNAME=$(printf 'esc\033[31mred')
for n in "$BADNAME" "$ESCNAME"; do
	printf 'From a@b Mon Jan  1 00:00:00 2024\nMessage-ID: <1@x>\n\nbody\n' >"$OS/$n"
done
lb -r "$R" backup --mail-spool "$OS"; oid=$(cat "$TMP/.lbout")
lb -r "$R" mail ls "$oid"
is "$(grep -c "$(printf '\033')" "$TMP/.lbout")" 0 "mail ls writes no raw escape byte"
like "$(cat "$TMP/.lbout")" "$OS/esc\\\\x1b\\[31mred\$" "...but the name escaped"
lb -r "$R" --json mail restore "$oid" "$OS/$BADNAME" --target "$TMP/oddside"; rc=$?
is "$rc" 0 "mail restore --json of a mailbox whose name is not UTF-8: exit 0"
perl -MJSON::PP -ne 'print decode_json($_)->{destination}, "\n"' "$TMP/.lbout" >"$TMP/dest.txt"
is "$(cat "$TMP/dest.txt")" "$TMP/oddside/bad\\xff" "...and its JSON says where, escaped"
lb -r "$R" mail restore "$oid" "$OS/$ESCNAME" --target "$TMP/oddside"; rc=$?
is "$(grep -c "$(printf '\033')" "$TMP/.lbout")" 0 "mail restore writes no raw escape byte"
lb -r "$R" mail restore "$oid" "$(printf '/no/such\033[2J')"
is "$?" 1 "an unknown mailbox: exit 1"
like "$(cat "$TMP/.lberr")" 'no/such\\x1b\[2J: not in snapshot' "...named, escaped"

ok "check passes" "$LB" -r "$R" check
done_testing
