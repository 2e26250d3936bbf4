#!/bin/sh
# Restore never writes outside --target, whatever a snapshot contains.
# tests/helpers/mkhostile builds snapshots by hand, through the library,
# with entries a real backup never produces: "..", ".", "/", "a/b", an
# empty name, a NUL byte in a name, a 300-byte name, a symlink followed by
# a directory of the same name (a path through a symlink), a symlink to
# ../../.. with a hard-link group whose member would be created through
# it, a symlink carrying metadata.  Trees are sorted, as lifeboat writes
# them, so that each hostile entry meets the defence meant for it (the
# deliberate duplicates stay right after the entry they shadow); one
# scenario is out of order on purpose.  For each: restore refuses the entry
# with an error naming it, restores the harmless siblings, exits 1, and
# nothing outside the target is created or modified — checked on a canary
# directory beside the target, on the symlinks' destinations, and by
# looking for the attack's file names everywhere they could land.
. "$(dirname "$0")/../lib.sh"

MK=$HELPERS/mkhostile
if [ ! -x "$MK" ]; then
	fail "helper $MK is built (make test builds tests/helpers/*.c)"
	done_testing
	exit 1
fi

R=$TMP/repo
SB=$TMP/sb                 # the sandbox: targets, canary and outside live here
OUT=$SB/outside            # where the hostile symlinks point
TOKEN=lbpwn$$x$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
# if restore ever lets an attack through, do not leave its files behind
rm_tokens() { for f in /*"$TOKEN"* /tmp/*"$TOKEN"*; do [ -e "$f" ] || [ -L "$f" ] && rm -rf "$f"; done; }
at_exit rm_tokens
mkdir -p "$SB/canary/sub" "$OUT"
echo canary >"$SB/canary/canary.txt"
echo canary2 >"$SB/canary/sub/deep.txt"
echo victim >"$OUT/victim"
touch -d '2001-02-03 04:05:06' "$OUT/victim" "$SB/canary/canary.txt"

ok "init" "$LB" -r "$R" init

# fingerprint: everything under the sandbox except the restore targets
# (type, size, mode, owner, mtime, link target, content hash, xattrs).
# / and /tmp are shared with other processes: no_token looks there.
fingerprint() {
	( cd "$SB" && find . -mindepth 1 -path './target*' -prune -o -printf '%p %y %s %m %u %g %T@ %l\n' | sort )
	( cd "$SB" && find . -path './target*' -prune -o -type f -print | sort | xargs md5sum )
	getfattr -h -d -m - "$OUT/victim" "$OUT" "$SB/canary" 2>/dev/null
	stat -c '%n %s %a %u %g %Y' "$OUT" "$SB/canary"
}
# no_token: no file named after the attack exists where it could land.
no_token() {
	found=$(find "$TMP" /tmp -maxdepth 1 -name "*$TOKEN*" 2>/dev/null; find "$TMP" -name "*$TOKEN*" 2>/dev/null; ls -d /*"$TOKEN"* 2>/dev/null)
	if [ -z "$found" ]; then pass "$1: no file named $TOKEN-* was created anywhere"
	else fail "$1: no file named $TOKEN-* was created anywhere"; echo "$found" | sed 's/^/#   created: /'; fi
}
fingerprint >"$TMP/fp.before"
# outside_intact CASE: the fingerprint did not change.
outside_intact() {
	fingerprint >"$TMP/fp.after"
	if cmp -s "$TMP/fp.before" "$TMP/fp.after"; then pass "$1: nothing outside the target was created or modified"
	else fail "$1: nothing outside the target was created or modified"; diff "$TMP/fp.before" "$TMP/fp.after" | head -20 | sed 's/^/#   /'; fi
	no_token "$1"
	is "$(cat "$OUT/victim")" victim "$1: the symlink destination's content is untouched"
}
# siblings CASE TARGET: the harmless entries came back.
siblings() {
	is "$(cat "$2/ok-before.txt" 2>/dev/null)" "harmless before" "$1: harmless sibling ok-before.txt restored"
	is "$(cat "$2/ok-dir/inner.txt" 2>/dev/null)" "harmless inner" "$1: harmless sibling ok-dir/inner.txt restored"
	is "$(cat "$2/zz-after.txt" 2>/dev/null)" "harmless after" "$1: harmless sibling zz-after.txt (after the hostile entries) restored"
}
# restore_hostile SCENARIO: builds the snapshot and restores it into
# $SB/target-SCENARIO; leaves stderr in $TMP/.lberr.
restore_hostile() {
	id=$("$MK" "$R" "$1" "$TOKEN" "$OUT" 2>"$TMP/mk.err")
	if [ -z "$id" ]; then
		fail "$1: mkhostile built the snapshot"; sed 's/^/#   /' "$TMP/mk.err"
		return 1
	fi
	eval "SNAP_$1=$id"
	T=$SB/target-$1
	lb -r "$R" restore "$id" --target "$T"
	rc=$?
	case $rc in 0|1|3) ;; *) fail "$1: restore crashed (exit $rc)"; sed 's/^/#   /' "$TMP/.lberr" | head ;; esac
	if grep -qi 'segmentation\|sanitizer\|runtime error' "$TMP/.lberr"; then fail "$1: no crash report"; fi
	is "$rc" 1 "$1: restore exits 1"
	return 0
}
# names CASE TEXT...: stderr names each entry (fixed strings).
names() {
	c=$1; shift
	for s in "$@"; do
		if grep -qF -- "$s" "$TMP/.lberr"; then pass "$c: stderr names '$s'"
		else fail "$c: stderr names '$s'"; sed 's/^/#   /' "$TMP/.lberr" | cut -c1-200 | head -12; fi
	done
}

# ---- "..", "." and nest/../.. ----
if restore_hostile dotdot; then
	names dotdot "restore: /..: refused" "restore: /.: refused" "restore: /nest/..: refused"
	siblings dotdot "$T"
	outside_intact dotdot
fi

# ---- "/", "a/b", "../x", "x/../../y", an absolute name ----
if restore_hostile slash; then
	names slash "restore: //: refused" "restore: /a/b: refused" "/../$TOKEN-name-escape: refused" \
		"/x/../../$TOKEN-name-escape2: refused" "$OUT/$TOKEN-absolute: refused"
	ok "slash: 'a/b' did not become a/b inside the target either" test ! -e "$T/a/b"
	siblings slash "$T"
	outside_intact slash
fi

# ---- empty name, NUL byte, 300 bytes; a 255-byte name is fine ----
if restore_hostile badname; then
	names badname "refused: '' is not a valid file name" "long300-LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
	# the name with a NUL byte must be shown whole (escaped), not cut at the NUL:
	# a sibling really named "nul" would be indistinguishable
	like "$(grep -i 'nul' "$TMP/.lberr")" 'nul.\{1,6\}byte' "badname: the entry with a NUL byte is named in full (nul<NUL>byte)"
	okname=ok255-$(printf '%0249d' 0 | tr 0 K)
	is "$(cat "$T/$okname" 2>/dev/null)" "harmless 255" "badname: the valid 255-byte name was restored"
	ok "badname: nothing named long300-* was created" test -z "$(ls "$T" | grep long300)"
	ok "badname: nothing named nul* was created" test -z "$(ls "$T" | grep '^nul')"
	siblings badname "$T"
	outside_intact badname
fi

# ---- paths through symlinks ----
if restore_hostile symlink; then
	names symlink "restore: /esc: refused" "restore: /esc3:"
	ok "symlink: the first 'esc' was restored as a symlink" test -L "$T/esc"
	ok "symlink: nothing was written through esc" test ! -e "$OUT/$TOKEN-through-symlink"
	is "$(stat -c '%u:%g %Y' "$OUT/victim")" "0:0 $(date -d '2001-02-03 04:05:06' +%s)" \
		"symlink: the victim's owner and mtime are untouched (xl's metadata stayed on the link)"
	is "$(getfattr -h -d -m - "$OUT/victim" 2>/dev/null | grep -c pwned)" 0 "symlink: no xattr landed on the victim"
	siblings symlink "$T"
	outside_intact symlink
fi

# ---- the same, with the two entries apart and out of order ----
if restore_hostile unsorted; then
	names unsorted "restore: /q-esc2: refused"
	ok "unsorted: the first 'q-esc2' was restored as a symlink" test -L "$T/q-esc2"
	ok "unsorted: nothing was written through q-esc2" test ! -e "$OUT/$TOKEN-through-symlink2"
	is "$(cat "$T/q-esc2-mid" 2>/dev/null)" "harmless middle" "unsorted: the sibling between the two was restored"
	siblings unsorted "$T"
	outside_intact unsorted
fi

# ---- a hard-link group through a symlink to ../../.. ----
if restore_hostile hardlink; then
	names hardlink "restore: /d/e/up: refused" "restore: /d/up2: refused"
	is "$(cat "$T/hl-a-second" 2>/dev/null)" "hard link group A" "hardlink: the harmless member of group A was restored"
	is "$(cat "$T/d/a-real/hl-b-first" 2>/dev/null)" "hard link group B" "hardlink: the harmless member of group B was restored"
	ok "hardlink: d/e/up is the symlink, not a directory" test -L "$T/d/e/up"
	siblings hardlink "$T"
	outside_intact hardlink
fi

# ---- --include with ../ ----
CLEAN=$("$MK" "$R" clean "$TOKEN" "$OUT")
ok "built a clean snapshot" test -n "$CLEAN"
for inc in "../../$TOKEN" "/.." ".." "ok-dir/../.." "ok-dir/../../../$TOKEN" "../$(basename "$SB")/canary"; do
	T=$SB/target-include
	rm -rf "$T"
	lb -r "$R" restore "$CLEAN" --target "$T" --include "$inc"
	rc=$?
	is "$rc" 1 "--include '$inc': exit 1"
	like "$(cat "$TMP/.lberr")" "no such path\|refused\|invalid" "--include '$inc': an error says why"
	ok "--include '$inc': no file was restored" test -z "$(find "$T" -type f 2>/dev/null)"
	outside_intact "--include '$inc'"
done
T=$SB/target-include
rm -rf "$T"
lb -r "$R" restore "${SNAP_dotdot:-missing}" --target "$T" --include ..
is "$?" 1 "--include .. on the snapshot holding '..': exit 1"
names "--include .. on the snapshot holding '..'" "restore: /..: refused"
outside_intact "--include .. on the snapshot holding '..'"
rm -rf "$T"
lb -r "$R" restore "$CLEAN" --target "$T" --include ok-dir
is "$?" 0 "--include ok-dir on the clean snapshot works"
is "$(cat "$T/ok-dir/inner.txt" 2>/dev/null)" "harmless inner" "--include ok-dir restores ok-dir/inner.txt"
ok "--include ok-dir restores nothing else" test ! -e "$T/ok-before.txt"

# ---- a hostile target: symlinks already in it ----
S=$TMP/src
mkdir -p "$S/dir"
echo "real file" >"$S/dir/file.txt"
echo "top file" >"$S/top.txt"
lb -r "$R" backup "$S"
REAL=$(cat "$TMP/.lbout")
ok "backup of a real tree" test -n "$REAL"
# 1. a directory of the snapshot is a symlink to outside in the target
T=$SB/target-planted-dir
mkdir -p "$T$S"
ln -s "$OUT" "$T$S/dir"
fingerprint >"$TMP/fp.before"
lb -r "$R" restore "$REAL" --target "$T"
rc=$?
if [ "$rc" -eq 1 ]; then
	names "planted symlink to a directory" "$S/dir"
elif [ "$rc" -eq 0 ] && [ -d "$T$S/dir" ] && [ ! -L "$T$S/dir" ] && [ -f "$T$S/dir/file.txt" ]; then
	pass "planted symlink to a directory: replaced by the real directory"
else
	fail "planted symlink to a directory: refused (exit 1) or replaced (exit 0); got exit $rc"
fi
ok "planted symlink to a directory: nothing written through it" test ! -e "$OUT/file.txt"
outside_intact "planted symlink to a directory"
is "$(cat "$T$S/top.txt" 2>/dev/null)" "top file" "planted symlink to a directory: the sibling file was restored"
# 2. a file of the snapshot is a symlink to a file outside in the target
T=$SB/target-planted-file
mkdir -p "$T$S/dir"
ln -s "$OUT/victim" "$T$S/dir/file.txt"
lb -r "$R" restore "$REAL" --target "$T"
rc=$?
ok "planted symlink to a file: restore ends without a crash (exit $rc)" test "$rc" -le 3
outside_intact "planted symlink to a file"
if [ "$rc" -eq 0 ]; then
	ok "planted symlink to a file: replaced by the real file" test -f "$T$S/dir/file.txt" -a ! -L "$T$S/dir/file.txt"
	is "$(cat "$T$S/dir/file.txt")" "real file" "planted symlink to a file: the file has the snapshot's content"
else
	names "planted symlink to a file" "$S/dir/file.txt"
fi

# ---- the rest of the tool copes with hostile snapshots ----
for sc in dotdot slash badname symlink unsorted hardlink; do
	eval "id=\${SNAP_$sc:-}"
	[ -n "$id" ] || continue
	lb -r "$R" ls "$id"
	rc=$?
	ok "ls of the $sc snapshot ends without a crash (exit $rc)" test "$rc" -le 3
done
lb -r "$R" check
is "$?" 1 "check flags the hand-built snapshots (invalid names, duplicates) and exits 1"
like "$(cat "$TMP/.lberr")" "invalid name" "check reports entries with invalid names"
like "$(cat "$TMP/.lberr")" "duplicated" "check reports duplicated entries"

done_testing
