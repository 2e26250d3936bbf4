#!/bin/sh
# Maildir spools under a live load: one process delivers (tmp/ -> new/) and
# now and then deletes a message, another moves new/ -> cur/ and flips
# flags (renames) in a tight loop, while lifeboat backs the spool up again
# and again.  In every snapshot, every message that existed for the whole
# backup is there exactly once, with its content; nothing of tmp/ is; the
# counts in the manifest are right.  Then `mail restore` brings deleted
# messages back into the live Maildir without doubling the others.
. "$(dirname "$0")/../lib.sh"

ML=$HELPERS/mailload
if [ ! -x "$ML" ]; then
	plan 1
	skip "mailload helper not built"
	exit 0
fi

R=$TMP/repo
SP=$TMP/spool
MD=$SP/u/Maildir
ROUNDS=5
mkdir -p "$MD/cur" "$MD/new" "$MD/tmp" "$MD/.Sent/cur" "$MD/.Sent/new" "$MD/.Sent/tmp"
echo "3 V1234 N7" >"$MD/dovecot-uidlist"
for i in 1 2 3; do
	printf 'Subject: sent %s\n\nBEGIN sent%s\nEND sent%s\n' "$i" "$i" "$i" >"$MD/.Sent/cur/100$i.M1P1.h:2,S"
done
"$LB" -r "$R" init >/dev/null 2>&1 || { fail "init"; done_testing; exit 1; }

# sha256 and base name of every message of a Maildir copy: "BASE SHA"
sums() {
	find "$1/new" "$1/cur" -type f -exec sha256sum {} + 2>/dev/null |
		awk '{ n = $2; sub(/.*\//, "", n); sub(/:.*/, "", n); print n, $1 }' | sort
}

"$ML" deliver "$MD" "$TMP/delivered" "$TMP/deleted" &
dpid=$!
"$ML" flip "$MD" &
fpid=$!
at_exit "kill $dpid $fpid 2>/dev/null; wait $dpid $fpid 2>/dev/null"
sleep 1.5

i=1
start=$(date +%s)
while [ $i -le $ROUNDS ]; do
	sort "$TMP/delivered" >"$TMP/before.$i"
	lb -r "$R" backup --mail-spool "$SP"
	echo $? >"$TMP/rc.$i"
	touch "$TMP/deleted"
	sort -u "$TMP/deleted" >"$TMP/deleted.$i"
	cp "$TMP/.lbout" "$TMP/id.$i"
	cp "$TMP/.lberr" "$TMP/err.$i"
	i=$((i + 1))
done
kill $dpid $fpid 2>/dev/null
wait $dpid $fpid 2>/dev/null
diag "$ROUNDS backups under load in $(($(date +%s) - start)) s; $(wc -l <"$TMP/delivered") messages delivered, $(sort -u "$TMP/deleted" | wc -l) deleted, $(find "$MD/cur" -type f | wc -l) in cur/ at the end"
sort "$TMP/delivered" >"$TMP/all"

i=1
while [ $i -le $ROUNDS ]; do
	id=$(cat "$TMP/id.$i")
	is "$(cat "$TMP/rc.$i")" 0 "backup $i under load: exit 0 (renames and deletions are no warnings)"
	if [ "$(cat "$TMP/rc.$i")" != 0 ]; then sed 's/^/#   /' "$TMP/err.$i" | head -10; fi
	rm -rf "$TMP/r"
	"$LB" -r "$R" restore "$id" --target "$TMP/r" >/dev/null 2>&1
	got=$TMP/r$MD
	sums "$got" >"$TMP/got.$i"
	# present for the whole backup: delivered before it started, not deleted before it ended
	awk 'NR == FNR { gone[$1] = 1; next } !($1 in gone)' "$TMP/deleted.$i" "$TMP/before.$i" >"$TMP/expected.$i"
	is "$(cut -d' ' -f1 "$TMP/got.$i" | sort | uniq -d | wc -l)" 0 "backup $i: no message twice"
	missing=$(comm -23 "$TMP/expected.$i" "$TMP/got.$i" | wc -l)
	is "$missing" 0 "backup $i: all $(wc -l <"$TMP/expected.$i") messages present throughout are there, content intact"
	if [ "$missing" != 0 ]; then comm -23 "$TMP/expected.$i" "$TMP/got.$i" | head -5 | sed 's/^/#   missing: /'; fi
	is "$(comm -23 "$TMP/got.$i" "$TMP/all" | wc -l)" 0 "backup $i: every message is one that was delivered, whole"
	is "$(find "$got/tmp" -mindepth 1 | wc -l)" 0 "backup $i: tmp/ is there, empty"
	lb -r "$R" --json mail ls "$id"
	renamed=$((${renamed:-0} + $(grep -o '"renamed":[0-9]*' "$TMP/.lbout" | awk -F: '{ s += $2 } END { print s + 0 }')))
	vanished=$((${vanished:-0} + $(grep -o '"vanished":[0-9]*' "$TMP/.lbout" | awk -F: '{ s += $2 } END { print s + 0 }')))
	lb -r "$R" mail ls "$id"
	line=$(grep " $MD\$" "$TMP/.lbout")
	is "$(echo "$line" | awk '{ print $2 }')" "$(wc -l <"$TMP/got.$i")" "backup $i: the manifest counts the messages taken"
	is "$(echo "$line" | awk '{ print $4 }')" "$(find "$got/new" -type f | wc -l)" "backup $i: and those in new/"
	i=$((i + 1))
done

diag "over the $ROUNDS backups, $renamed messages were found again under a new name, $vanished were deleted while read"

# ---- the rest of the Maildir is backed up as the walk would ----
id=$(cat "$TMP/id.$ROUNDS")
rm -rf "$TMP/r"
"$LB" -r "$R" restore "$id" --target "$TMP/r" >/dev/null 2>&1
is "$(cat "$TMP/r$MD/dovecot-uidlist")" "3 V1234 N7" "files beside cur/ new/ tmp/ are saved"
is "$(find "$TMP/r$MD/.Sent/cur" -type f | wc -l)" 3 "a Maildir++ folder is scanned too"
lb -r "$R" mail ls "$id"
like "$(cat "$TMP/.lbout")" "maildir  *3 messages  *0 new  $MD/.Sent" "and counted as a mailbox of its own"

# ---- mail restore into the live Maildir ----
sums "$MD" >"$TMP/live.before"
# lose 20 messages the last snapshot has (whatever their names are now)
comm -12 "$TMP/got.$ROUNDS" "$TMP/live.before" | cut -d' ' -f1 | head -20 >"$TMP/lost"
while read -r base; do
	rm -f "$MD/new/$base" "$MD/cur/$base":*
done <"$TMP/lost"
sums "$MD" >"$TMP/live.mid"
want=$(cut -d' ' -f1 "$TMP/got.$ROUNDS" | sort >"$TMP/gb"; cut -d' ' -f1 "$TMP/live.mid" | sort >"$TMP/lb"; comm -23 "$TMP/gb" "$TMP/lb" | wc -l)
lb -r "$R" mail restore "$id" "$MD"
rc=$?
is "$rc" 0 "mail restore into the live Maildir: exit 0"
like "$(cat "$TMP/.lbout")" "^restored $want of $(wc -l <"$TMP/got.$ROUNDS") messages" "it reports how many it brought back ($want)"
sums "$MD" >"$TMP/live.after"
is "$(cut -d' ' -f1 "$TMP/live.after" | sort | uniq -d | wc -l)" 0 "no message is doubled"
is "$(comm -23 "$TMP/got.$ROUNDS" "$TMP/live.after" | wc -l)" 0 "every message of the snapshot is back, content intact"
is "$(comm -13 "$TMP/live.mid" "$TMP/live.after" | wc -l)" "$want" "and nothing else was added"
is "$(find "$MD/tmp" -name '*lifeboat-restore*' | wc -l)" 0 "deliveries went through tmp/ and left nothing there"
lb -r "$R" mail restore "$id" "$MD"
like "$(cat "$TMP/.lbout")" "^restored 0 of" "a second restore finds nothing to do"

# ---- --target: the mailbox as it was, elsewhere ----
lb -r "$R" mail restore "$id" "$MD" --target "$TMP/side"
is "$?" 0 "mail restore --target: exit 0"
is "$(sums "$TMP/side")" "$(cat "$TMP/got.$ROUNDS")" "--target holds the mailbox exactly as it was"

ok "check passes" "$LB" -r "$R" check
done_testing
