#!/bin/sh
# What lifeboat prints: under cron (stdout not a terminal) a successful run
# prints only its result; on a terminal it draws a live progress line.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S"
seq 1 40000000 >"$S/big"   # ~300 MB of lines that compress but do not dedup: a backup that takes a moment
echo small >"$S/small"

lb -r "$R" init
is "$(cat "$TMP/.lbout")$(cat "$TMP/.lberr")" "" "init under cron prints nothing"
lb -r "$R" backup "$S"
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" 1 "backup under cron prints one line: the id"
is "$(cat "$TMP/.lberr")" "" "and nothing on stderr"
lb -r "$R" check
is "$(cat "$TMP/.lbout")$(cat "$TMP/.lberr")" "" "a clean check under cron prints nothing"
lb -r "$R" restore latest --target "$TMP/r"
is "$(cat "$TMP/.lbout")$(cat "$TMP/.lberr")" "" "a clean restore under cron prints nothing"
lb -r "$R" -q backup "$S"
is "$(cat "$TMP/.lbout")$(cat "$TMP/.lberr")" "" "-q: a successful backup prints nothing at all (for cron)"

lb -r "$R" --json backup "$S"
like "$(cat "$TMP/.lbout")" '^{"snapshot_id": *"[0-9a-f]\{64\}"' "backup --json: one JSON object with snapshot_id"
like "$(cat "$TMP/.lbout")" '"bytes_added"' "with the statistics"
lb -r "$R" --json snapshots
like "$(cat "$TMP/.lbout")" '"short_id"' "snapshots --json"

# ---- hostile names in messages: no raw control bytes reach stderr ----
esc=$(printf '\033')
lb -r "$TMP/no${esc}[31mred
forged line" snapshots
err=$(cat "$TMP/.lberr")
like "$err" 'no\\x1b\[31mred\\x0aforged line: ' "an escape sequence and a newline in a name are shown escaped"
is "$(wc -l <"$TMP/.lberr")" 1 "the message stays on one line"
ok "no raw escape byte reaches stderr" sh -c "! grep -q '$esc' '$TMP/.lberr'"
lb -r "$TMP/x$(printf '\342\200\256')txt.exe" snapshots
like "$(cat "$TMP/.lberr")" 'x\\u202etxt.exe' "a right-to-left override in a name is shown escaped"

# ---- on a terminal: the progress line ----
if command -v script >/dev/null; then
	rm -rf "$R"
	"$LB" -r "$R" init >/dev/null 2>&1
	script -qefc "$LB -r $R backup --workers 1 $S" "$TMP/tty" >/dev/null 2>&1
	out=$(tr '\r' '\n' <"$TMP/tty")
	like "$out" 'backup: [0-9]* files, .*B/s' "a terminal shows files, bytes and rate"
	like "$out" 'ETA [0-9]*:[0-9][0-9]' "and an ETA"
	like "$out" 'snapshot [0-9a-f]\{64\}' "then the snapshot id"
	like "$out" 'added to the repository' "and a summary"
else
	skip "script(1) not installed"
fi
done_testing
