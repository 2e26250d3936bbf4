#!/bin/sh
# The CLI round trip: back up a tree holding every kind of entry lifeboat
# promises to keep, restore it, and compare entry by entry — content, type,
# mode, owner, mtime/atime (ns), xattrs, ACLs, holes, hard-link groups.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S"

# ---- build the tree ----
printf 'hello\n' >"$S/plain.txt"
: >"$S/empty"
head -c 3000000 /dev/urandom >"$S/random.bin"           # several chunks
yes 'compressible line of text' | head -c 2000000 >"$S/text.log"
mkdir -p "$S/dir/sub/subsub" "$S/private" "$S/shared"
echo nested >"$S/dir/sub/subsub/file"
chmod 0700 "$S/private"
chmod 1777 "$S/shared"
echo setuid >"$S/setuid"; chmod 4755 "$S/setuid"
echo setgid >"$S/setgid"; chmod 2750 "$S/setgid"
echo odd >"$S/oddmode"; chmod 0407 "$S/oddmode"
ln -s plain.txt "$S/rel-link"
ln -s /nonexistent/target "$S/dangling-link"
ln -s "$S/dir" "$S/abs-link"
echo linked >"$S/hl1"; ln "$S/hl1" "$S/dir/hl2"; ln "$S/hl1" "$S/dir/sub/hl3"
echo pair >"$S/pair1"; ln "$S/pair1" "$S/pair2"
mkfifo "$S/fifo"
# names: newline, invalid UTF-8, 255 bytes, leading dash, spaces
printf 'newline\n' >"$S/$(printf 'new\nline')"
printf 'bad utf8\n' >"$S/$(printf 'bad\377\376name')"
long=$(printf '%0255d' 0 | tr 0 L)
echo long >"$S/$long"
echo dash >"$S/-rf"
echo space >"$S/with space"
# sparse: holes at the start, the middle and the end
truncate -s 64M "$S/sparse"
printf 'data in the middle' | dd of="$S/sparse" bs=1 seek=20000000 conv=notrunc status=none
head -c 300000 /dev/urandom | dd of="$S/sparse" bs=4096 seek=10000 conv=notrunc status=none
# deeper than PATH_MAX: 25 levels of 200-byte names
seg=$(printf '%0200d' 0 | tr 0 D)
( cd "$S" && mkdir deep && cd deep && i=0 && while [ $i -lt 25 ]; do mkdir "$seg" && cd -P "$seg" || exit 1; i=$((i + 1)); done && echo bottom >file ) || echo "# could not build the deep tree"

if is_root; then
	mknod "$S/chardev" c 1 3
	mknod "$S/blockdev" b 7 200
	chown 1234:5678 "$S/plain.txt" "$S/dir/sub"
	chown -h 4321:8765 "$S/rel-link"
	chown daemon:daemon "$S/setgid" 2>/dev/null || true
	chmod 2750 "$S/setgid"
	setfattr -n trusted.secret -v 0xdeadbeef "$S/plain.txt"
	setfattr -n security.label -v "top secret" "$S/dir"
	setfattr -h -n trusted.onlink -v yes "$S/rel-link"
fi
setfattr -n user.note -v "a note" "$S/plain.txt"
setfattr -n user.binary -v 0x00ff00ff "$S/random.bin"
setfattr -n user.dirnote -v dirvalue "$S/dir"
setfacl -m u:1234:rwx,g:5678:r "$S/text.log"
setfacl -d -m g:5678:rx "$S/dir/sub"
setfacl -m u:1234:rx "$S/dir/sub"
# times with nanoseconds (directories last: creating entries moves them)
for f in plain.txt random.bin sparse hl1 fifo empty; do
	touch -m -d '2001-02-03 04:05:06.123456789' "$S/$f"
	touch -a -d '1999-12-31 23:59:58.987654321' "$S/$f"
done
touch -h -m -d '2010-10-10 10:10:10.101010101' "$S/rel-link"
touch -m -d '2005-05-05 05:05:05.555555555' "$S/dir/sub" "$S/dir"
touch -a -d '2004-04-04 04:04:04.444444444' "$S/dir"

# ---- back up, restore, compare ----
ok "init" "$LB" -r "$R" init
lb -r "$R" backup "$S"; rc=$?
is "$rc" 0 "backup exits 0"
id=$(cat "$TMP/.lbout")
like "$id" '^[0-9a-f]\{64\}$' "backup prints the snapshot id and nothing else"
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" 1 "one line on stdout"
is "$(cat "$TMP/.lberr")" "" "nothing on stderr"

ok "restore" "$LB" -r "$R" restore "$id" --target "$TMP/out"
"$HELPERS/treecmp" "$S" "$TMP/out$S" >"$TMP/cmp" 2>&1; rc=$?
is "$rc" 0 "restored tree equals the source entry by entry"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -40

# spot checks that treecmp itself would catch trouble
is "$(stat -c %b "$TMP/out$S/sparse")" "$(stat -c %b "$S/sparse")" "sparse file keeps its holes (same blocks)"
is "$(stat -c %h "$TMP/out$S/hl1")" 3 "hard-link group of three restored as links"
is "$(stat -c %i "$TMP/out$S/hl1")" "$(stat -c %i "$TMP/out$S/dir/sub/hl3")" "links share one inode"
is "$(getfacl -p --omit-header "$TMP/out$S/dir/sub" 2>/dev/null | grep -c '^default:')" \
   "$(getfacl -p --omit-header "$S/dir/sub" 2>/dev/null | grep -c '^default:')" "default ACL entries restored"
is "$(stat -c %a "$TMP/out$S/setuid")" 4755 "setuid bit kept"
is "$(stat -c %a "$TMP/out$S/shared")" 1777 "sticky bit kept"
deepfile=$(cd "$TMP/out$S/deep" && i=0 && while [ $i -lt 25 ]; do cd -P "$seg" || exit 1; i=$((i + 1)); done && cat file)
is "$deepfile" bottom "a file deeper than PATH_MAX is restored"

if is_root; then
	is "$(stat -c %u:%g "$TMP/out$S/plain.txt")" 1234:5678 "numeric owner without a passwd entry kept"
	is "$(stat -c %t,%T "$TMP/out$S/chardev")" "1,3" "character device numbers kept"
	is "$(getfattr --absolute-names -n trusted.secret -e hex "$TMP/out$S/plain.txt" 2>/dev/null | grep =)" \
	   trusted.secret=0xdeadbeef "trusted.* xattr restored"
	lb -r "$R" cat tree "$id:$S"
	like "$(cat "$TMP/.lbout")" '"user": "daemon"' "owner names are recorded beside the ids"
else
	skip "not root: ownership, devices and trusted xattrs need root"
fi

# ---- ls shows every name, escaped ----
lb -r "$R" ls "$id" "$S"
like "$(cat "$TMP/.lbout")" 'new\\nline' "ls escapes a newline in a name"
like "$(cat "$TMP/.lbout")" 'bad\\xff\\xfename' "ls escapes invalid UTF-8"
lb -r "$R" ls -l latest "$S/rel-link"
like "$(cat "$TMP/.lbout")" '^lrwxrwxrwx .* -> plain.txt$' "ls -l shows a symlink and its target"
lb -r "$R" --json ls latest "$S/plain.txt"
like "$(cat "$TMP/.lbout")" '"path": *"'"$S"'/plain.txt"' "ls --json prints one object per entry"

# ---- the files cache: an unchanged tree is neither read nor stored again ----
lb -r "$R" --json backup "$S"
out=$(cat "$TMP/.lbout")
like "$out" '"bytes_read": *0[,}]' "unchanged re-run reads no file content"
like "$out" '"parent": *"'"$id"'"' "re-run picked the previous snapshot as parent"
echo changed >>"$S/plain.txt"
lb -r "$R" --json backup "$S"
like "$(cat "$TMP/.lbout")" '"files_changed": *1[,}]' "one changed file is noticed"
# an xattr or ACL change alone (it moves ctime, not mtime) reaches the next snapshot
setfattr -n user.note -v "a new note" "$S/plain.txt"
setfacl -m u:4321:r "$S/dir/sub/subsub/file"
lb -r "$R" backup "$S"
ok "restore after an xattr-only change" "$LB" -r "$R" restore latest --target "$TMP/x" --include "$S/plain.txt" --include "$S/dir/sub/subsub/file"
is "$(getfattr --absolute-names --only-values -n user.note "$TMP/x$S/plain.txt" 2>/dev/null)" "a new note" \
   "an xattr changed without touching the content is in the next snapshot"
like "$(getfacl -p --omit-header "$TMP/x$S/dir/sub/subsub/file" 2>/dev/null)" "user:4321:r--" "and so is a changed ACL"

# ---- partial restore and restore over an existing tree ----
ok "restore --include one file" "$LB" -r "$R" restore latest --target "$TMP/one" --include "$S/dir/sub/subsub/file"
is "$(find "$TMP/one" -type f | wc -l | tr -d ' ')" 1 "--include restored exactly one file"
is "$(cat "$TMP/one$S/dir/sub/subsub/file")" nested "--include restored the right content"
echo scribble >"$TMP/out$S/plain.txt"
ok "restore over an existing tree" "$LB" -r "$R" restore "$id" --target "$TMP/out"
is "$(head -1 "$TMP/out$S/plain.txt")" hello "an existing file is replaced by the snapshot's version"
nok "restore --include of a missing path fails" "$LB" -r "$R" restore latest --target "$TMP/none" --include /no/such/path
like "$(cat "$TMP/.out")" "no such path" "and says which path is missing"

ok "check --read-data passes" "$LB" -r "$R" check --read-data
done_testing
