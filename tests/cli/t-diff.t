#!/bin/sh
# lifeboat diff: two real backups of a tree that changed in every way diff
# promises to see — added and removed files and directories, content,
# chmod, chown, xattrs, ACLs, a symlink retargeted, a file that became a
# directory and one that became a symlink, a touch — in text and --json;
# a PATH; the same snapshot twice; unknown snapshots and paths.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S/keep/deep/er" "$S/gone/sub" "$S/d"
echo same >"$S/keep/deep/er/file"
echo one >"$S/content"
echo mode >"$S/mode"
echo own >"$S/owner"
echo x >"$S/xattr"; setfattr -n user.v -v 1 "$S/xattr"
echo acl >"$S/acl"
echo t >"$S/touched"
echo was-a-file >"$S/type"
echo was-a-file >"$S/tolink"
echo bye >"$S/gone/sub/f"
echo old >"$S/removed"
ln -s content "$S/link"
echo nl >"$S/$(printf 'new\nline')"
touch -d '2020-01-01 00:00:00' "$S/touched"

ok "init" "$LB" -r "$R" init
lb -r "$R" backup "$S"; S1=$(cat "$TMP/.lbout")

echo two >>"$S/content"
chmod 0600 "$S/mode"
is_root && chown 1234:5678 "$S/owner"
setfattr -n user.v -v 2 "$S/xattr"
setfacl -m u:4321:r "$S/acl"
touch -d '2021-01-01 00:00:00' "$S/touched"
rm "$S/type"; mkdir "$S/type"; echo in >"$S/type/inside"
rm "$S/tolink"; ln -s content "$S/tolink"
rm -r "$S/gone" "$S/removed"
mkdir -p "$S/new/dir"; echo hi >"$S/new/dir/file"; echo added >"$S/added"
ln -sfn mode "$S/link"
echo changed >>"$S/$(printf 'new\nline')"
lb -r "$R" backup "$S"; S2=$(cat "$TMP/.lbout")

lb -r "$R" diff "$S1" "$S2"
is "$?" 0 "diff exits 0"
out=$(cat "$TMP/.lbout")
has() { if printf '%s\n' "$out" | grep -qxF -- "$1"; then pass "$2"; else fail "$2"; printf '%s\n' "$out" | sed 's/^/#   /'; echo "#   wanted line: $1"; fi; }
has "M $S/content (content, size 4->8, mtime)" "content and size change"
has "M $S/mode (mode 0644->0600)" "chmod: the modes before and after"
if is_root; then has "M $S/owner (owner 0:0->1234:5678)" "chown: the owners before and after"; else skip "chown needs root"; fi
has "M $S/xattr (xattrs)" "an xattr change"
has "M $S/acl (acl)" "an ACL change"
has "M $S/touched (mtime)" "a touch: mtime only"
has "M $S/type/ (type file->dir, mode 0644->0755, mtime)" "a file that became a directory"
has "+ $S/type/inside" "...and what the new directory holds"
like "$out" "^M $S/tolink (type file->symlink" "a file that became a symbolic link"
has "M $S/link (mtime, target content->mode)" "a symbolic link retargeted: old and new targets"
has "- $S/gone/" "a removed directory"
has "- $S/gone/sub/" "...everything below it"
has "- $S/gone/sub/f" "...down to its files"
has "- $S/removed" "a removed file"
has "+ $S/new/" "an added directory"
has "+ $S/new/dir/file" "...with its files"
has "+ $S/added" "an added file"
has "M $S/new\\nline (content, size 3->11, mtime)" "a name with a newline, escaped"
like "$out" "^M $S/ (mtime)" "a directory whose entries changed: its mtime"
if printf '%s\n' "$out" | grep -q "keep"; then fail "an unchanged subtree is not listed"; else pass "an unchanged subtree is not listed"; fi
# the order is the trees' name order, a directory before what it holds
first_gone=$(printf '%s\n' "$out" | grep -n "gone/\$" | cut -d: -f1)
first_sub=$(printf '%s\n' "$out" | grep -n "gone/sub/f" | cut -d: -f1)
ok "a directory comes before its content" test "$first_gone" -lt "$first_sub"

# --json: one object per line
lb -r "$R" --json diff "$S1" "$S2"
is "$?" 0 "diff --json exits 0"
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "--json: one line per change"
perl -MJSON::PP -ne 'my $j = decode_json($_); print "$j->{change} $j->{path} ", join(",", @{$j->{changes} || []}),
	" ", ($j->{old} ? $j->{old}{mode} : "-"), " ", ($j->{new} ? $j->{new}{mode} : "-"), "\n"' "$TMP/.lbout" >"$TMP/json.txt"
ok "--json: every line is a JSON object" test $? -eq 0
like "$(cat "$TMP/json.txt")" "^M $S/mode mode 420 384\$" "--json: the change list and the old and new metadata"
like "$(cat "$TMP/json.txt")" "^+ $S/added  - 420\$" "--json: an added entry has only 'new'"
like "$(cat "$TMP/json.txt")" "^- $S/removed  420 -\$" "--json: a removed entry has only 'old'"
like "$(cat "$TMP/.lbout")" '"target":"mode"' "--json: a symlink's target"

# a PATH
lb -r "$R" diff "$S1" "$S2" "$S/gone"
is "$(cat "$TMP/.lbout")" "- $S/gone/
- $S/gone/sub/
- $S/gone/sub/f" "PATH: only what changed at and below it"
lb -r "$R" diff "$S1" "$S2" "$S/keep"
is "$(cat "$TMP/.lbout")" "" "PATH of an unchanged directory: nothing"
lb -r "$R" diff "$S2" "$S1" "$S/added"
is "$(cat "$TMP/.lbout")" "- $S/added" "the snapshots swapped: an add becomes a remove"

lb -r "$R" diff "$S1" "$S1"
is "$?:$(cat "$TMP/.lbout")" "0:" "a snapshot against itself: no output"
lb -r "$R" diff latest "$S2"
is "$?:$(cat "$TMP/.lbout")" "0:" "'latest' and prefixes name snapshots"

# atime/ctime are not changes unless asked for
lb -r "$R" diff --all-times "$S1" "$S2" "$S/keep/deep/er/file"
is "$?" 0 "--all-times is accepted"

# bad input
lb -r "$R" diff "$S1" 0123456789ab
is "$?" 1 "an unknown snapshot: exit 1"
like "$(cat "$TMP/.lberr")" "^lifeboat: diff: snapshot 0123456789ab: no such snapshot" "...with a clear message"
is "$(cat "$TMP/.lbout")" "" "...and nothing on stdout"
lb -r "$R" diff "$S1" not-hex
like "$(cat "$TMP/.lberr")" "not-hex: not a snapshot id" "a malformed snapshot name: a clear message"
lb -r "$R" diff "$S1" "$S2" /no/such/path
is "$?" 1 "a path in neither snapshot: exit 1"
like "$(cat "$TMP/.lberr")" "^lifeboat: diff: /no/such/path: no such file or directory in either snapshot" "...saying so"
lb -r "$R" diff "$S1"
is "$?" 1 "one snapshot only: a usage error"

# speed: a large unchanged subtree is skipped by its id, not walked
mkdir -p "$S/big"
i=0; while [ $i -lt 200 ]; do mkdir "$S/big/d$i"; j=0; while [ $j -lt 20 ]; do : >"$S/big/d$i/f$j"; j=$((j + 1)); done; i=$((i + 1)); done
lb -r "$R" backup "$S"; S3=$(cat "$TMP/.lbout")
echo more >>"$S/added"
lb -r "$R" backup "$S"; S4=$(cat "$TMP/.lbout")
lb -r "$R" diff "$S3" "$S4"
is "$(grep -c big "$TMP/.lbout")" 0 "4000 unchanged files: not one line"
lb -r "$R" diff "$S2" "$S3"
is "$(grep -c "^+ $S/big/" "$TMP/.lbout")" 4201 "...and all 4201 entries when they are new"

# --json: a symlink target that is not UTF-8 is escaped, and says so (a
# target that holds a backslash and "xff" is not escaped: the flag tells them apart)
T=$TMP/targets
mkdir "$T"
lb -r "$R" backup "$T"; T1=$(cat "$TMP/.lbout")
ln -s "$(printf 'tgt\377')" "$T/bytes"
ln -s 'tgt\xff' "$T/text"
lb -r "$R" backup "$T"; T2=$(cat "$TMP/.lbout")
lb -r "$R" --json diff "$T1" "$T2"
perl -MJSON::PP -ne 'my $j = decode_json($_); next unless $j->{new}{type} eq "symlink";
	print substr($j->{path}, rindex($j->{path}, "/") + 1), " $j->{new}{target} ",
	($j->{new}{target_escaped} ? "escaped" : "as is"), "\n"' "$TMP/.lbout" >"$TMP/targets.txt"
is "$(sort "$TMP/targets.txt" | tr '\n' ';')" 'bytes tgt\xff escaped;text tgt\xff as is;' \
	"--json: target_escaped marks a target that had to be escaped"
done_testing
