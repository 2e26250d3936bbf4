#!/bin/sh
# backup options (--exclude, --one-file-system, --host, --tag) and how
# snapshots are named (full id, unique prefix, latest; unknown, ambiguous).
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S/cache/deep" "$S/keep" "$S/logs"
echo a >"$S/keep/a.txt"
echo b >"$S/keep/b.tmp"
echo c >"$S/cache/deep/c"
echo d >"$S/logs/d.log"
echo e >"$S/logs/e.log.1"
"$LB" -r "$R" init >/dev/null 2>&1

lb -r "$R" backup --host web1 --tag nightly --tag pre-upgrade \
	--exclude '*.tmp' --exclude "$S/cache" --exclude "$S/logs/*.1" "$S"
is $? 0 "backup with excludes"
lb -r "$R" ls latest "$S"
list=$(cat "$TMP/.lbout")
like "$list" "$S/keep/a.txt" "an ordinary file is kept"
is "$(printf '%s\n' "$list" | grep -c 'b.tmp')" 0 "a name pattern (*.tmp) is excluded"
is "$(printf '%s\n' "$list" | grep -c '/cache')" 0 "a path pattern excludes a whole directory"
is "$(printf '%s\n' "$list" | grep -c 'e.log.1')" 0 "a path pattern with a wildcard excludes a file"
like "$list" "$S/logs/d.log" "and leaves its siblings"

lb -r "$R" --json snapshots
like "$(cat "$TMP/.lbout")" '"host": "web1"' "--host is recorded"
like "$(cat "$TMP/.lbout")" '"pre-upgrade"' "--tag is recorded"
lb -r "$R" snapshots --host web1 --tag nightly
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" 1 "snapshots filters by host and tag"
lb -r "$R" snapshots --host other
is "$(cat "$TMP/.lbout")" "" "and shows nothing for another host"

# ---- naming snapshots ----
id=$(ls "$R/snapshots" | head -1)
ok "a full id works" "$LB" -r "$R" ls "$id"
ok "a unique prefix works" "$LB" -r "$R" ls "$(echo "$id" | cut -c1-8)"
ok "latest works" "$LB" -r "$R" ls latest
lb -r "$R" ls deadbeef; rc=$?
is "$rc" 1 "an unknown snapshot is an error"
like "$(cat "$TMP/.lberr")" "deadbeef: no such snapshot" "that says so"
lb -r "$R" ls zzz; rc=$?
like "$(cat "$TMP/.lberr")" "not a snapshot id" "junk is rejected with a reason"
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18; do
	echo "$i" >"$S/keep/n"
	"$LB" -r "$R" backup --host "h$i" "$S" >/dev/null 2>&1
done
# 19 snapshots: two of them share a first hex digit
p=$(ls "$R/snapshots" | cut -c1 | sort | uniq -d | head -1)
lb -r "$R" ls "$p"; rc=$?
is "$rc" 1 "an ambiguous prefix is an error"
like "$(cat "$TMP/.lberr")" "matches [0-9]* snapshots" "that says how many match"
lb -r "$R" ls latest /no/such/path; rc=$?
is "$rc" 1 "ls of a path not in the snapshot fails"
like "$(cat "$TMP/.lberr")" "/no/such/path: no such file or directory in the snapshot" "and names it"

# ---- --one-file-system stops at mount points ----
if is_root && mkdir -p "$S/mnt" && mount -t tmpfs -o size=4m lbtest "$S/mnt" 2>/dev/null; then
	at_exit "umount -l '$S/mnt' 2>/dev/null"
	echo inside >"$S/mnt/other-fs-file"
	lb -r "$R" backup --one-file-system "$S"
	lb -r "$R" ls latest "$S/mnt"
	is "$(cat "$TMP/.lbout")" "$S/mnt" "--one-file-system keeps the mount point but not what is mounted there"
	lb -r "$R" backup "$S"
	lb -r "$R" ls latest "$S/mnt"
	like "$(cat "$TMP/.lbout")" "other-fs-file" "without it, the other file system is included"
	umount "$S/mnt"
else
	skip "needs root and tmpfs to test --one-file-system"
fi
done_testing
