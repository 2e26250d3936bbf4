#!/bin/sh
# import: archives made by other tools (GNU tar pax, bsdtar tar.gz from a
# pipe, tar.xz, GNU cpio newc, zip) become snapshots that restore to the
# tree they were made from; content deduplicates against an earlier backup
# of the same files; a damaged or truncated archive (.tar, .tar.gz, gzip
# with flipped bytes, cpio) is refused with the byte offset and the entry,
# and leaves no snapshot.
#
# Comparisons leave out what the archive format or the archiving tool does
# not record:
#   atime    GNU tar, bsdtar and cpio move the source's directory and
#            symlink atimes while reading them (even with
#            --atime-preserve=system, which covers files only): --no-atime,
#            and one file's archived atime is checked apart;
#   cpio     newc holds whole seconds, no xattrs or ACLs, no holes;
#   zip      the same, no hard links, no FIFOs or devices.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/xfer-lib.sh"

for t in tar bsdtar cpio gzip xz perl; do
	if ! command -v $t >/dev/null; then
		echo "1..0 # skip $t is needed (make deps)"
		exit 0
	fi
done

R=$TMP/repo
S=$TMP/src
REL=${S#/}
make_tree "$S"
BAD=$(printf 'bad\377\376name')

# newest mtime in the tree, before any tool reads it
newest=$(find "$S" -printf '%T@\n' | sort -n | tail -1 | cut -d. -f1)

ok "init" "$LB" -r "$R" init
ok "a backup of the tree first" "$LB" -r "$R" backup "$S"

# restored TAG CMPOPTS...: restores the latest snapshot and compares it
restored() {
	tag=$1; shift
	rm -rf "$TMP/out"
	if ! "$LB" -r "$R" restore latest --target "$TMP/out" >"$TMP/.out" 2>&1; then
		fail "$tag: restore"; sed 's/^/#   /' "$TMP/.out" | head; return
	fi
	"$HELPERS/treecmp" "$@" "$S" "$TMP/out$S" >"$TMP/cmp" 2>&1; rc=$?
	is "$rc" 0 "$tag: restored, the tree equals the original"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -30
}

# json_field NAME: a number from the last --json output
json_field() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$TMP/.lbout"; }

# ---- GNU tar, pax with xattrs, ACLs and sparse files ----
tar -C / --format=posix --xattrs --xattrs-include='*' --acls --sparse --atime-preserve=system \
	-cf "$TMP/g.tar" "$REL" 2>"$TMP/tarerr"
is "$?" 0 "GNU tar makes the archive"
lb -r "$R" --json import "$TMP/g.tar" --host oldbox --tag old --tag tarball; rc=$?
is "$rc" 0 "import of a GNU tar pax archive"
is "$(cat "$TMP/.lberr")" "" "quietly"
like "$(cat "$TMP/.lbout")" '"format": *"POSIX pax interchange format"' "the format is named"
added=$(json_field bytes_added)
[ -n "$added" ] && [ "$added" -lt 100000 ] && pass "dedup against the backup: $added bytes added for 5 MB of content" ||
	fail "dedup against the backup: '$added' bytes added"
restored "GNU tar pax" --no-atime
like "$(TZ=UTC stat -c %x "$TMP/out$S/plain.txt")" '1999-12-31 23:59:58.987654321' "the archived atime is kept"
is "$(stat -c %b "$TMP/out$S/sparse")" "$(stat -c %b "$S/sparse")" "the sparse file keeps its holes"
is "$(getfacl -p --omit-header "$TMP/out$S/dir/sub" 2>/dev/null | grep -c '^default:')" 5 "the default ACL is kept"
is "$(stat -c %h "$TMP/out$S/hl1")" 3 "hard links are links again"
lb -r "$R" --json snapshots
snaps=$(cat "$TMP/.lbout")
like "$snaps" '"host": *"oldbox"' "--host names the snapshot's host"
like "$(echo "$snaps" | tr -d ' \n')" '"tags":\["old","tarball"\]' "--tag tags it"
like "$snaps" "\"time\": *\"$(date -u -d "@$newest" +%Y-%m-%dT%H:%M:%S)\\." \
	"the snapshot time is the newest mtime in the archive"
like "$snaps" '"archive": *"[^"]*g.tar"' "the manifest says where it came from"

# the same archive again: nothing new but nothing at all
lb -r "$R" --json import "$TMP/g.tar" --time 2019-03-01T02:15:00Z
is "$(json_field blobs_new)" 0 "a second import of the same archive stores no new blob"
lb -r "$R" --json snapshots
like "$(cat "$TMP/.lbout")" '"time": *"2019-03-01T02:15:00.000000000Z"' "--time sets the snapshot time"
nok "--time refuses junk" "$LB" -r "$R" import "$TMP/g.tar" --time yesterday

# ---- bsdtar, gzip, from a pipe ----
bsdtar -C / -czf - --xattrs --acls "$REL" 2>/dev/null | "$LB" -r "$R" --json import - >"$TMP/.lbout" 2>"$TMP/.lberr"
is "$?" 0 "import of a bsdtar .tar.gz from standard input"
like "$(cat "$TMP/.lbout")" '"compression": *"gzip"' "gzip is named"
restored "bsdtar tar.gz" --no-atime

# ---- xz ----
tar -C / --format=gnu -cJf "$TMP/g.tar.xz" "$REL"
ok "import of a GNU-format .tar.xz" "$LB" -r "$R" import "$TMP/g.tar.xz"
restored "GNU tar .tar.xz (no xattrs asked)" --no-atime --no-xattrs --mtime-sec --no-holes

# ---- cpio ----
(cd / && find "$REL" -depth -print | cpio -o -H newc 2>/dev/null) >"$TMP/g.cpio"
lb -r "$R" --json import "$TMP/g.cpio"; rc=$?
is "$rc" 0 "import of a GNU cpio newc archive (directories after their contents)"
like "$(cat "$TMP/.lbout")" '"format": *"ASCII cpio' "cpio is named"
restored "cpio newc" --no-atime --mtime-sec --no-xattrs --no-holes

# ---- zip ----
# zip names are UTF-8: the one that is not has no faithful form in a zip
(cd / && LC_ALL=C.UTF-8 bsdtar --format zip --exclude "$BAD" -cf "$TMP/g.zip" "$REL" 2>/dev/null)
lb -r "$R" import "$TMP/g.zip"; rc=$?
is "$rc" 0 "import of a zip (bsdtar)"
restored "zip" --no-atime --mtime-sec --no-xattrs --no-holes --no-hardlinks --ignore fifo --ignore chardev \
	--ignore blockdev --ignore "$BAD"
cat "$TMP/g.zip" | "$LB" -r "$R" import - >"$TMP/.lbout" 2>"$TMP/.lberr"; rc=$?
is "$rc" 0 "a zip from a pipe imports too"
like "$(cat "$TMP/.lberr")" "give the file name instead" "with a warning: modes and symlinks are in the central directory"

# ---- names: absolute, "./", "//", ".." ----
mkdir -p "$TMP/n"
perl -MArchive::Tar -e '
	my $t = Archive::Tar->new;
	$t->add_data("/abs/file", "abs\n");
	$t->add_data("./rel//dot/./file", "rel\n");
	$t->add_data("../evil", "evil\n");
	$t->add_data("ok/../../evil2", "evil\n");
	$t->write($ARGV[0]);' "$TMP/n.tar"
lb -r "$R" import "$TMP/n.tar"; rc=$?
is "$rc" 3 "an archive with \"..\" names: exit 3"
like "$(cat "$TMP/.lberr")" '\.\./evil: a name restore would refuse' "the entry left out is named"
lb -r "$R" ls latest
is "$(cat "$TMP/.lbout" | tr '\n' ' ')" "/abs /abs/file /rel /rel/dot /rel/dot/file " \
	"a leading / and ./, // and /./ are dropped; nothing else came in"

# ---- damaged archives: an error with the offset and the entry, no snapshot ----
lb -r "$R" snapshots
before=$(cat "$TMP/.lbout")
sz=$(stat -c %s "$TMP/g.tar")
head -c $((sz / 2 + 123)) "$TMP/g.tar" >"$TMP/cut.tar"
lb -r "$R" import "$TMP/cut.tar"; rc=$?
is "$rc" 1 "a truncated .tar: exit 1"
like "$(cat "$TMP/.lberr")" "cut.tar: damaged archive: .* at byte [0-9][0-9]*, reading entry '$REL/[^']*'; nothing was imported" \
	"names the offset and the entry"
# cut exactly between two entries: only the missing end-of-archive blocks tell
eof=$(tar -tRf "$TMP/g.tar" 2>/dev/null | sed -n 's/^block \([0-9]*\): \*\* \(Block of NULs\|End of File\) \*\*$/\1/p' | head -1)
head -c $((eof * 512)) "$TMP/g.tar" >"$TMP/cut2.tar"
lb -r "$R" import "$TMP/cut2.tar"; rc=$?
is "$rc" 1 "a .tar cut exactly after its last entry: exit 1"
like "$(cat "$TMP/.lberr")" "without tar's end-of-archive block (truncated) at byte $((eof * 512)), reading the header after entry" \
	"names the offset and the last entry read"
gzip -c "$TMP/g.tar" >"$TMP/g.tgz"
gsz=$(stat -c %s "$TMP/g.tgz")
head -c $((gsz * 2 / 3)) "$TMP/g.tgz" >"$TMP/cut.tgz"
lb -r "$R" import "$TMP/cut.tgz"; rc=$?
is "$rc" 1 "a truncated .tar.gz: exit 1"
like "$(cat "$TMP/.lberr")" "gzip: the file ends inside the compressed stream (truncated) at byte [0-9]* of the file (byte [0-9]* of the decompressed stream), reading entry '" \
	"names both offsets and the entry"
cp "$TMP/g.tgz" "$TMP/flip.tgz"
printf '\377\377\377\377\377\377\377\377' | dd of="$TMP/flip.tgz" bs=1 seek=$((gsz / 2)) conv=notrunc status=none
lb -r "$R" import "$TMP/flip.tgz"; rc=$?
is "$rc" 1 "bytes flipped in the middle of the gzip stream: exit 1"
like "$(cat "$TMP/.lberr")" "flip.tgz: damaged archive: gzip: .* at byte [0-9]* of the file .*, reading \(entry\|the header after entry\) '" \
	"names the offset and the entry"
csz=$(stat -c %s "$TMP/g.cpio")
head -c $((csz / 3)) "$TMP/g.cpio" >"$TMP/cut.cpio"
lb -r "$R" import "$TMP/cut.cpio"; rc=$?
is "$rc" 1 "a truncated cpio: exit 1"
like "$(cat "$TMP/.lberr")" "damaged archive: .* at byte [0-9]*, reading" "names the offset"
printf 'not an archive at all\n' >"$TMP/junk"
nok "something that is no archive" "$LB" -r "$R" import "$TMP/junk"
like "$(cat "$TMP/.out")" "not an archive lifeboat can read" "says so"
nok "a missing file" "$LB" -r "$R" import "$TMP/nonexistent.tar"
lb -r "$R" snapshots
is "$(cat "$TMP/.lbout")" "$before" "no snapshot was made by any of them"
# what a refused import stored is orphaned data, which check accepts
ok "check --read-data passes after the refused imports" "$LB" -r "$R" check --read-data

# ---- hand-made archives: hard-link groups, a zip cut short, attributes ----
# mktar OUT ENTRY...: a pax archive; ENTRY is TYPE:NAME[:DATA-OR-LINK[:K=V,...]]
# with TYPE 0 (file), 1 (hard link), 2 (symlink), 5 (directory), 6 (FIFO);
# K=V become pax records (V in Perl's "\x.." escapes: raw bytes).
mktar() {
	perl -e '
	sub hdr { my ($name, $type, $size, $link) = @_;
		my $h = pack("a100a8a8a8a12a12a8a1a100a6a2a32a32a8a8a155a12", $name, "0000644", "0000000",
			"0000000", sprintf("%011o", $size), sprintf("%011o", 1000000000), " " x 8, $type,
			$link, "ustar", "00", "root", "root", "", "", "", "");
		substr($h, 148, 8) = sprintf("%06o\0 ", unpack("%32C*", $h));
		return $h; }
	sub pad { my $d = shift; return $d . ("\0" x ((512 - length($d) % 512) % 512)); }
	my $out = shift @ARGV;
	open(my $fh, ">:raw", $out) or die;
	for my $e (@ARGV) {
		my ($type, $name, $arg, $recs) = split(/:/, $e, 4);
		$arg //= "";
		if (defined $recs) {
			my $rec = "";
			for my $kv (split(/(?<!\\),/, $recs)) {
				my ($k, $v) = split(/=/, $kv, 2);
				$v = eval "\"$v\"";
				my $body = " $k=$v\n";
				my $n = length($body) + 1;
				$n++ while length($body) + length($n) != $n;
				$rec .= "$n$body";
			}
			print $fh hdr("PaxHeader/x", "x", length($rec), ""), pad($rec);
		}
		my $data = $type eq "0" ? $arg : "";
		print $fh hdr($name, $type, length($data), $type eq "0" ? "" : $arg), pad($data);
	}
	print $fh "\0" x 1024;' "$@"
}
# a name that leaves a hard-link group keeps the content the group had
mktar "$TMP/hl.tar" 0:f:old 1:h2:f 1:h3:h2 0:f:new 1:h4:f 1:h7:/f
lb -r "$R" import "$TMP/hl.tar"; rc=$?
is "$rc" 0 "hard links, then their target replaced: exit 0"
rm -rf "$TMP/hl"
"$LB" -r "$R" restore "$(cat "$TMP/.lbout")" --target "$TMP/hl" >/dev/null 2>&1
is "$(cat "$TMP/hl/h2")$(cat "$TMP/hl/h3")" "oldold" "links made before the target was replaced keep its old content"
is "$(cat "$TMP/hl/f")$(cat "$TMP/hl/h4")$(cat "$TMP/hl/h7")" "newnewnew" "the new file and its own links"
is "$(stat -c %h "$TMP/hl/h2") $(stat -c %h "$TMP/hl/f")" "2 3" "two groups, each with its own link count"
# the link's own name conflicts with the tree: that entry is skipped, not the import
mktar "$TMP/hl2.tar" 0:f:data 0:x:file 1:x/h:f
lb -r "$R" import "$TMP/hl2.tar"; rc=$?
is "$rc" 3 "a hard link under a name that is a file: exit 3, the snapshot is written"
like "$(cat "$TMP/.lberr")" "x/h: .*a file is in the way of x; skipped" "the entry is named and skipped"
mktar "$TMP/hl3.tar" 0:f:data 1:h:f 0:h/sub:x
lb -r "$R" import "$TMP/hl3.tar"; rc=$?
is "$rc" 3 "a file below a hard link's name: exit 3, the snapshot is written"
lb -r "$R" ls -l "$(cat "$TMP/.lbout")"
like "$(cat "$TMP/.lbout")" "4 .* /h\$" "the hard link keeps its content"
# the target replaced by a directory: the link made before is still there
mktar "$TMP/hl5.tar" 0:f:data 1:h:f 5:f 0:f/in:in
lb -r "$R" import "$TMP/hl5.tar"; rc=$?
is "$rc" 0 "a hard link, then its target made a directory: exit 0"
lb -r "$R" ls "$(cat "$TMP/.lbout")"
is "$(tr '\n' ' ' <"$TMP/.lbout")" "/f /f/in /h " "the hard link is not lost"

# xattrs and ACLs Linux would refuse at restore: left out at import, warned
ACLRAW='\x02\x00\x00\x00\x01\x00\x07\x00\xff\xff\xff\xff\x02\x00\x05\x00\x7b\x00\x00\x00\x04\x00\x04\x00\xff\xff\xff\xff\x20\x00\x00\x00\xff\xff\xff\xff'
mktar "$TMP/xa.tar" \
	"0:nons:x:SCHILY.xattr.nonamespace=v,SCHILY.xattr.user.ok=1" \
	"0:defacl:x:SCHILY.acl.default=user::rwx\,group::r-x\,other::---" \
	"0:garbage:x:SCHILY.xattr.system.posix_acl_access=\x02\x00\x00\x00junk" \
	"0:nomask:x:SCHILY.xattr.system.posix_acl_access=$ACLRAW" \
	"2:link:nons:SCHILY.xattr.user.onlink=1" \
	"6:fifo::SCHILY.xattr.user.onfifo=1"
lb -r "$R" import "$TMP/xa.tar"; rc=$?
is "$rc" 0 "attributes Linux refuses: exit 0 (warnings only)"
err=$(cat "$TMP/.lberr")
xid=$(cat "$TMP/.lbout")
like "$err" "nons: xattr nonamespace: not in a namespace Linux knows" "an xattr without a namespace is left out"
like "$err" "defacl: default ACL: a default ACL is for directories only" "a default ACL on a file is left out"
like "$err" "garbage: xattr system.posix_acl_access: not a version 2 posix_acl value" "a malformed raw ACL is left out"
like "$err" "link: xattr user.onlink: Linux keeps user.\* attributes on files and directories only" "user.* on a symlink"
like "$err" "fifo: xattr user.onfifo: Linux keeps user.\* attributes on files and directories only" "user.* on a FIFO"
rm -rf "$TMP/xa"
"$LB" -r "$R" restore "$xid" --target "$TMP/xa" >"$TMP/.out" 2>&1; rc=$?
is "$rc" 0 "the snapshot restores without an error"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/.out" | head
is "$(getfattr --only-values -n user.ok "$TMP/xa/nons" 2>/dev/null)" "1" "the valid xattr beside it is kept"
like "$(getfacl -n --omit-header "$TMP/xa/nomask" 2>/dev/null | tr '\n' ' ')" "user:123:r-x.* mask::" \
	"a raw ACL without its mask is completed, as the kernel wants it"

# a zip cut in its central directory: libarchive would read it as a stream,
# every mode and symlink lost; refused instead
mkdir -p "$TMP/zsrc"
echo data >"$TMP/zsrc/file"; chmod 0600 "$TMP/zsrc/file"; ln -s file "$TMP/zsrc/link"
(cd "$TMP/zsrc" && bsdtar --format zip -cf "$TMP/z.zip" file link)
zsz=$(stat -c %s "$TMP/z.zip")
head -c $((zsz - 30)) "$TMP/z.zip" >"$TMP/zcut.zip"
lb -r "$R" snapshots
before=$(cat "$TMP/.lbout")
lb -r "$R" import "$TMP/zcut.zip"; rc=$?
is "$rc" 1 "a zip cut short in its central directory: exit 1"
like "$(cat "$TMP/.lberr")" "zcut.zip: damaged archive: zip: no end-of-central-directory record .*; nothing was imported" \
	"says what is missing"
lb -r "$R" snapshots
is "$(cat "$TMP/.lbout")" "$before" "and made no snapshot"
ok "check passes" "$LB" -r "$R" check
lb -r "$R" import "$TMP/z.zip"; rc=$?
is "$rc" 0 "the whole zip imports"
lb -r "$R" ls -l "$(cat "$TMP/.lbout")"
like "$(cat "$TMP/.lbout")" "^-rw------- .*/file" "with its modes"
like "$(cat "$TMP/.lbout")" "^l.*/link -> file" "and its symlinks"
done_testing
