# Shared by t-export.t and t-import.t: a tree holding every kind of entry
# export and import promise to carry (the approach of t-roundtrip.t).
# shellcheck shell=sh

# make_tree DIR: regular, empty, multi-chunk and sparse files (holes at the
# start, middle and end, and one made of holes only), hard-link groups,
# symlinks, a FIFO, devices (root), odd names (newline, invalid UTF-8, 255
# bytes, leading dash, spaces, UTF-8), setuid/setgid/sticky modes, owners
# without passwd entries (root), xattrs in the user, trusted and security
# namespaces (the last two as root; one on a symlink), access and default
# ACLs, nanosecond mtime and atime.
make_tree() {
	S=$1
	mkdir -p "$S"
	printf 'hello\n' >"$S/plain.txt"
	: >"$S/empty"
	head -c 3000000 /dev/urandom >"$S/random.bin"
	yes 'compressible line of text' | head -c 2000000 >"$S/text.log"
	mkdir -p "$S/dir/sub/subsub" "$S/private" "$S/shared" "$S/emptydir"
	echo nested >"$S/dir/sub/subsub/file"
	chmod 0700 "$S/private"
	chmod 1777 "$S/shared"
	echo setuid >"$S/setuid"; chmod 4755 "$S/setuid"
	echo setgid >"$S/setgid"; chmod 2750 "$S/setgid"
	echo odd >"$S/oddmode"; chmod 0407 "$S/oddmode"
	ln -s plain.txt "$S/rel-link"
	ln -s /nonexistent/target "$S/dangling-link"
	ln -s dir/sub "$S/dir-link"
	echo linked >"$S/hl1"; ln "$S/hl1" "$S/dir/hl2"; ln "$S/hl1" "$S/dir/sub/hl3"
	echo pair >"$S/pair1"; ln "$S/pair1" "$S/pair2"
	mkfifo "$S/fifo"
	printf 'newline\n' >"$S/$(printf 'new\nline')"
	printf 'bad utf8\n' >"$S/$(printf 'bad\377\376name')"
	printf 'utf8\n' >"$S/$(printf 'caf\303\251 \342\234\223')"
	long=$(printf '%0255d' 0 | tr 0 L)
	echo long >"$S/$long"
	# a path well beyond ustar's 100+155 bytes
	seg=$(printf '%0100d' 0 | tr 0 P)
	mkdir -p "$S/$seg/$seg/$seg"
	echo deep >"$S/$seg/$seg/$seg/file"
	echo dash >"$S/-rf"
	echo space >"$S/with space"
	truncate -s 64M "$S/sparse"
	printf 'data in the middle' | dd of="$S/sparse" bs=1 seek=20000000 conv=notrunc status=none
	head -c 300000 /dev/urandom | dd of="$S/sparse" bs=4096 seek=10000 conv=notrunc status=none
	truncate -s 5M "$S/allhole"
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
	setfattr -n user.binary -v 0x00ff00ff0a "$S/random.bin"
	setfattr -n user.dirnote -v dirvalue "$S/dir"
	setfattr -n user.onsparse -v yes "$S/sparse"
	setfacl -m u:1234:rwx,g:5678:r "$S/text.log"
	setfacl -d -m g:5678:rx "$S/dir/sub"
	setfacl -m u:1234:rx "$S/dir/sub"
	for f in plain.txt random.bin sparse allhole hl1 fifo empty text.log; do
		touch -m -d '2001-02-03 04:05:06.123456789' "$S/$f"
		touch -a -d '1999-12-31 23:59:58.987654321' "$S/$f"
	done
	touch -h -m -d '2010-10-10 10:10:10.101010101' "$S/rel-link"
	touch -h -a -d '2010-10-10 10:10:10.101010101' "$S/rel-link"
	touch -m -d '2005-05-05 05:05:05.555555555' "$S/dir/sub" "$S/dir"
	touch -a -d '2004-04-04 04:04:04.444444444' "$S/dir"
}
