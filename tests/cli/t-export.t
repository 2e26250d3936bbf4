#!/bin/sh
# export: a snapshot of a tree holding every kind of entry, streamed as a
# pax archive and extracted with BOTH GNU tar and bsdtar, compared entry by
# entry with the original (tests/helpers/treecmp); ustar and zip by what
# their formats can hold.
#
# What each extractor cannot reproduce, and how it is checked instead:
#   bsdtar   nothing: the whole tree compares exactly, atimes included
#            (it is the first comparison: reading a symlink moves its atime,
#            and treecmp reads them on both sides).
#   GNU tar  access times: outside --incremental it sets every atime to the
#            time of extraction (extract.c, set_stat), whatever the archive
#            says; compared with --no-atime, and the archive's atime is
#            checked with bsdtar above and with `tar --full-time -tv` below.
#   ustar    names over 100+155 bytes (skipped, warned, exit 3: --ignore),
#            nanoseconds (--mtime-sec), atime, xattrs and ACLs (--no-xattrs),
#            holes (--no-holes: written as zeros, same content).
#   zip      the above, and hard links (each name its own copy:
#            --no-hardlinks), FIFOs and devices, names that are not UTF-8
#            (skipped, warned: --ignore).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/xfer-lib.sh"

if ! command -v tar >/dev/null || ! command -v bsdtar >/dev/null; then
	echo "1..0 # skip GNU tar and bsdtar are needed (make deps)"
	exit 0
fi

R=$TMP/repo
S=$TMP/src
make_tree "$S"
LONG=$(printf '%0255d' 0 | tr 0 L)
PSEG=$(printf '%0100d' 0 | tr 0 P)
BAD=$(printf 'bad\377\376name')

ok "init" "$LB" -r "$R" init
lb -r "$R" backup "$S"; rc=$?
is "$rc" 0 "backup"
id=$(cat "$TMP/.lbout")

# ---- pax ----
lb -r "$R" export "$id" "$S" --format pax -o "$TMP/a.pax"; rc=$?
is "$rc" 0 "export --format pax -o FILE exits 0"
is "$(cat "$TMP/.lberr")" "" "and says nothing: pax holds everything"
"$LB" -r "$R" export "$id" "$S" --format pax >"$TMP/stdout.pax" 2>/dev/null
"$LB" -r "$R" export "$id" "$S" --format pax -o - >"$TMP/dash.pax" 2>/dev/null
ok "export to standard output writes the same archive" cmp "$TMP/a.pax" "$TMP/stdout.pax"
ok "and so does -o -" cmp "$TMP/a.pax" "$TMP/dash.pax"
is "$(ls "$TMP" | grep -c lifeboat-)" 0 "no temporary file left beside the archive"
# the sparse file's 64 MiB take no room: the archive is about the data
size=$(stat -c %s "$TMP/a.pax")
[ "$size" -lt 12000000 ] && pass "holes are not in the archive ($size bytes for 77 MB of files)" ||
	fail "holes are not in the archive ($size bytes)"
tar --warning=no-unknown-keyword -tvf "$TMP/a.pax" >"$TMP/list" 2>&1
like "$(grep 'dir/hl2' "$TMP/list")" '^h.* link to ' "hard links are hardlink entries"
like "$(tar --warning=no-unknown-keyword --full-time -tvf "$TMP/a.pax" "${S#/}/plain.txt" 2>&1)" \
	'2001-02-03 04:05:06.123456789' "mtime keeps its nanoseconds"

mkdir "$TMP/bx" "$TMP/gx"
ok "bsdtar extracts it" bsdtar -C "$TMP/bx" -xpf "$TMP/a.pax" --xattrs --acls
"$HELPERS/treecmp" "$S" "$TMP/bx$S" >"$TMP/cmp" 2>&1; rc=$?
is "$rc" 0 "bsdtar: the tree equals the original entry by entry, atimes included"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -40
# GNU tar warns about the LIBARCHIVE.xattr.* records it does not know (it
# reads their SCHILY.xattr.* twins): noise here
ok "GNU tar extracts it" tar -C "$TMP/gx" --xattrs --xattrs-include='*' --acls --warning=no-unknown-keyword \
	-xpf "$TMP/a.pax"
"$HELPERS/treecmp" --no-atime "$S" "$TMP/gx$S" >"$TMP/cmp" 2>&1; rc=$?
is "$rc" 0 "GNU tar: the tree equals the original but for atimes"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -40

# targeted checks of what treecmp compares, through each tool
for x in bx gx; do
	is "$(getfacl -p --omit-header "$TMP/$x$S/dir/sub" 2>/dev/null | grep -c '^default:')" 5 \
	   "$x: the default ACL is there"
	like "$(getfacl -p --omit-header "$TMP/$x$S/text.log" 2>/dev/null)" 'user:1234:rwx' "$x: the access ACL is there"
	is "$(stat -c %b "$TMP/$x$S/sparse")" "$(stat -c %b "$S/sparse")" "$x: the sparse file keeps its holes"
	is "$(stat -c %b "$TMP/$x$S/allhole")" 0 "$x: a file of holes only takes no blocks"
	is "$(stat -c %h "$TMP/$x$S/hl1")" 3 "$x: a hard-link group of three"
	is "$(getfattr --only-values -n user.binary "$TMP/$x$S/random.bin" 2>/dev/null | od -An -tx1 | tr -d ' \n')" \
	   00ff00ff0a "$x: a binary xattr value is kept byte for byte"
done
like "$(TZ=UTC stat -c %x "$TMP/bx$S/plain.txt")" '1999-12-31 23:59:58.987654321' \
   "the archive's atime (nanoseconds) reaches bsdtar's extraction"
if is_root; then
	is "$(stat -c %u:%g "$TMP/gx$S/plain.txt")" 1234:5678 "GNU tar: a numeric owner without a name"
	is "$(stat -c %t,%T "$TMP/bx$S/chardev")" 1,3 "bsdtar: device numbers"
	is "$(getfattr -n trusted.secret -e hex "$TMP/gx$S/plain.txt" 2>/dev/null | grep =)" trusted.secret=0xdeadbeef \
	   "GNU tar: a trusted.* xattr"
else
	skip "not root: owners, devices and trusted xattrs need root"
	skip "not root"
	skip "not root"
fi
# no raw ACL xattrs next to the ACL records: GNU tar would apply both
tar --warning=no-unknown-keyword --xattrs -tvvf "$TMP/a.pax" >"$TMP/xl" 2>&1
is "$(grep -c 'posix_acl' "$TMP/xl")" 0 "ACLs travel as ACL records, not as system.posix_acl_* xattrs"

# a path inside the snapshot
lb -r "$R" export "$id" "$S/dir" -o "$TMP/dir.pax"
tar -tf "$TMP/dir.pax" >"$TMP/list" 2>/dev/null
is "$(grep -vc "^${S#/}/dir" "$TMP/list")" 0 "export SNAPSHOT PATH holds that path only"
like "$(head -1 "$TMP/list")" "^${S#/}/dir/\$" "starting with the path itself"

# ---- ustar ----
lb -r "$R" export "$id" "$S" --format tar -o "$TMP/u.tar"; rc=$?
is "$rc" 3 "ustar: exit 3, some entries do not fit"
like "$(cat "$TMP/.lberr")" "$LONG: Pathname too long; skipped" "the name ustar cannot hold is named"
like "$(cat "$TMP/.lberr")" "entries lost xattrs, ACLs or holes" "and the lost metadata is summed up"
mkdir "$TMP/ub" "$TMP/ug"
ok "bsdtar extracts the ustar archive" bsdtar -C "$TMP/ub" -xpf "$TMP/u.tar"
ok "GNU tar extracts the ustar archive" tar -C "$TMP/ug" -xpf "$TMP/u.tar"
for x in ub ug; do
	"$HELPERS/treecmp" --no-atime --mtime-sec --no-xattrs --no-holes --ignore "$LONG" --ignore "$PSEG" \
		"$S" "$TMP/$x$S" >"$TMP/cmp" 2>&1; rc=$?
	is "$rc" 0 "$x: content, modes, owners, mtime seconds, links, devices as the original"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -20
done

# ---- zip ----
lb -r "$R" export "$id" "$S" --format zip -o "$TMP/a.zip"; rc=$?
is "$rc" 3 "zip: exit 3, some entries cannot be held"
like "$(cat "$TMP/.lberr")" "fifo: zip cannot hold a FIFO" "a FIFO is named"
like "$(cat "$TMP/.lberr")" 'bad\\xff\\xfename: zip stores names as UTF-8' "a name that is not UTF-8 is named"
mkdir "$TMP/zb"
ok "bsdtar extracts the zip" env LC_ALL=C.UTF-8 bsdtar -C "$TMP/zb" -xpf "$TMP/a.zip"
"$HELPERS/treecmp" --no-atime --mtime-sec --no-xattrs --no-holes --no-hardlinks --ignore fifo --ignore chardev \
	--ignore blockdev --ignore "$BAD" "$S" "$TMP/zb$S" >"$TMP/cmp" 2>&1; rc=$?
is "$rc" 0 "bsdtar: content, modes, owners, mtime seconds, symlinks as the original"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -20
if command -v unzip >/dev/null; then
	mkdir "$TMP/zu"
	(cd "$TMP/zu" && unzip -q -X -K "$TMP/a.zip") >/dev/null 2>&1
	ok "unzip (Info-ZIP): same content" cmp "$S/random.bin" "$TMP/zu$S/random.bin"
	is "$(stat -c %a "$TMP/zu$S/setuid")" "$(stat -c %a "$S/setuid")" "unzip: same mode"
	is "$(readlink "$TMP/zu$S/rel-link")" plain.txt "unzip: a symlink"
else
	skip "unzip not installed"
	skip "unzip not installed"
	skip "unzip not installed"
fi

# ---- where the archive goes ----
# -o onto a FIFO or a device writes into it: a rename would replace the node
mkfifo "$TMP/fifo"
timeout 20 cat "$TMP/fifo" >"$TMP/fromfifo.pax" &
catpid=$!
lb -r "$R" export "$id" "$S/dir" -o "$TMP/fifo"; rc=$?
wait $catpid
is "$rc" 0 "export -o FIFO: exit 0"
ok "the FIFO is still a FIFO" test -p "$TMP/fifo"
like "$(tar -tf "$TMP/fromfifo.pax" 2>&1)" "${S#/}/dir/sub/subsub/file" "and its reader got the archive"
if is_root; then
	mknod "$TMP/null" c 1 3
	lb -r "$R" export "$id" "$S/dir" -o "$TMP/null"; rc=$?
	is "$rc" 0 "export -o a character device: exit 0"
	ok "the device is still a device" test -c "$TMP/null"
else
	skip "not root: mknod"
	skip "not root: mknod"
fi
mkdir "$TMP/outdir"
lb -r "$R" export "$id" "$S/dir" -o "$TMP/outdir"; rc=$?
is "$rc" 1 "export -o DIRECTORY: exit 1"
like "$(cat "$TMP/.lberr")" "outdir: is a directory; -o wants the archive's file name" "says so"
# a reader that goes away early: an error and a clean exit, not a kill by
# SIGPIPE that leaves the run's marker in the repository
("$LB" -r "$R" export "$id" "$S" 2>"$TMP/pipe.err"; echo $? >"$TMP/pipe.rc") | head -c 1000 >/dev/null
is "$(cat "$TMP/pipe.rc")" 1 "export into a pipe closed early: exit 1"
like "$(cat "$TMP/pipe.err")" "the reader of the archive closed the pipe before its end" "says the archive is incomplete"
is "$(ls "$R/locks" | grep -c '^run-')" 0 "the run's marker is removed"

# ---- refusals and failures ----
nok "an unknown format is refused" "$LB" -r "$R" export "$id" --format cpio -o "$TMP/x"
like "$(cat "$TMP/.out")" "unknown archive format 'cpio'" "and named"
nok "an unknown snapshot" "$LB" -r "$R" export 0123456789ab -o "$TMP/x"
nok "a path not in the snapshot" "$LB" -r "$R" export "$id" /no/such/path -o "$TMP/x"
like "$(cat "$TMP/.out")" "no such file or directory in the snapshot" "says the path is not there"
is "$(wc -l <"$TMP/.out")" 1 "in one line (and nothing leaked: no sanitizer report)"
[ ! -e "$TMP/x" ] && pass "a failed export leaves no file" || fail "a failed export leaves no file"
# damaged data in the repository: the export stops, and no archive stays
pack=$(find "$R/packs" -type f -size +1M | head -1)
if [ -n "$pack" ]; then
	sz=$(stat -c %s "$pack")
	printf 'XXXXXXXXXXXXXXXX' | dd of="$pack" bs=1 seek=$((sz / 2)) conv=notrunc status=none
	nok "a damaged chunk stops the export" "$LB" -r "$R" export "$id" "$S" -o "$TMP/broken.pax"
	[ ! -e "$TMP/broken.pax" ] && pass "and no archive is left behind" || fail "and no archive is left behind"
	is "$(ls "$TMP" | grep -c lifeboat-)" 0 "nor a temporary file"
	"$LB" -r "$R" export "$id" "$S" >"$TMP/broken-stdout.pax" 2>"$TMP/err"; rc=$?
	is "$rc" 1 "to standard output: exit 1"
	like "$(cat "$TMP/err")" "incomplete: discard it" "and the partial archive is called so"
	nok "which no tar takes for a whole archive" tar -tf "$TMP/broken-stdout.pax"
else
	skip "no pack large enough to damage"
	skip "-"; skip "-"; skip "-"; skip "-"; skip "-"
fi
done_testing
