#!/bin/sh
# Images (backup --image, restore --image): a sparse raw image file; loop
# devices holding ext4 (dedup between images, restore onto a device, restore
# of an older image writing only what differs, a target too small refused);
# and a whole server: backup --image of a live btrfs root (lifeboat takes the
# btrfs snapshot itself, while a file is being written), restored onto the
# empty root of a new file system, and run with chroot.
# Every loop device and mount is undone at exit, even on failure.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
MiB=1048576
ok "init" "$LB" -r "$R" init

# A field of the one-line JSON object in $TMP/.lbout.
jnum() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$TMP/.lbout"; }
jstr() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$TMP/.lbout"; }

# ---- a sparse raw image file ----
IMG=$TMP/disk.img
truncate -s 256M "$IMG"
for mb in 0 3 77 130 131 200 255; do
	head -c 700000 /dev/urandom | dd of="$IMG" bs=$MiB seek=$mb conv=notrunc status=none
done
yes 'a line of text in the image' | head -c 2000000 | dd of="$IMG" bs=$MiB seek=40 conv=notrunc status=none
# zeros written out (not a hole): must come back as a hole all the same
dd if=/dev/zero of="$IMG" bs=$MiB seek=100 count=8 conv=notrunc status=none

lb -r "$R" --json backup --image "$IMG"; rc=$?
is "$rc" 0 "backup --image of a sparse file"
id_file=$(jstr snapshot_id)
is "$(jnum size)" 268435456 "the image's size is the file's size"
data=$(jnum bytes_data)
ok "holes and zero runs are not stored as data ($data bytes)" test "${data:-999999999}" -lt $((12 * MiB))

lb -r "$R" snapshots
like "$(cat "$TMP/.lbout")" "(image) $IMG" "snapshots marks an image"
lb -r "$R" --json snapshots
like "$(tr -d ' \n' <"$TMP/.lbout")" '"image":{[^}]*"size":268435456' "the manifest has an image section with the size"
lb -r "$R" ls -l "$id_file"
like "$(cat "$TMP/.lbout")" '^-.* 268435456 .* /disk.img$' "ls shows the image as one file"

lb -r "$R" --json restore --image "$id_file" --target "$TMP/copy.img"; rc=$?
is "$rc" 0 "restore --image to a new file"
ok "the restored image equals the original" cmp "$IMG" "$TMP/copy.img"
blocks=$(stat -c %b "$TMP/copy.img")
ok "the restored file is sparse ($((blocks * 512)) bytes allocated)" test $((blocks * 512)) -lt $((16 * MiB))

# over a copy with a few scribbles: only those are written back
dd if=/dev/urandom of="$TMP/copy.img" bs=$MiB seek=77 count=1 conv=notrunc status=none
dd if=/dev/urandom of="$TMP/copy.img" bs=$MiB seek=150 count=1 conv=notrunc status=none
lb -r "$R" --json restore --image="$id_file" --target "$TMP/copy.img"; rc=$?
is "$rc" 0 "restore --image=SNAPSHOT over a changed copy"
ok "it is equal again" cmp "$IMG" "$TMP/copy.img"
w=$(($(jnum bytes_written) + $(jnum bytes_zeroed)))
ok "only the changed regions were written ($w bytes)" test "$w" -le $((3 * MiB))
blocks=$(stat -c %b "$TMP/copy.img")
ok "a scribbled hole is punched again ($((blocks * 512)) bytes allocated)" test $((blocks * 512)) -lt $((16 * MiB))
ok "a file-level restore of an image snapshot gives the image file" \
	"$LB" -r "$R" restore "$id_file" --target "$TMP/files"
ok "and it is the image" cmp "$IMG" "$TMP/files/disk.img"
nok "restore --image of a snapshot that is not an image is refused" sh -c \
	"'$LB' -r '$R' backup '$TMP/files' >/dev/null && '$LB' -r '$R' restore --image latest --target '$TMP/x.img'"
ok "and creates nothing" test ! -e "$TMP/x.img"

# ---- loop devices ----
if ! is_root; then
	skip "not root: loop devices, mounts and chroot need root"
	done_testing; exit
fi
for t in losetup mkfs.ext4 mount blockdev; do
	if ! command -v $t >/dev/null 2>&1; then
		skip "$t is missing (util-linux, e2fsprogs)"
		done_testing; exit
	fi
done

# loopdev VAR FILE: attaches FILE, sets VAR to the device; detached at exit
# (not in a $(...) subshell: at_exit must run in this shell)
loopdev() {
	_d=$(losetup -f --show "$2") || return 1
	at_exit "losetup -d $_d 2>/dev/null"
	eval "$1=\$_d"
}
# mnt DEV DIR [OPTS]: mounts, unmounted at exit
mnt() {
	mkdir -p "$2" && mount ${3:+-o "$3"} "$1" "$2" || return 1
	at_exit "umount -l '$2' 2>/dev/null"
}

truncate -s 128M "$TMP/a.img" "$TMP/b.img"
if ! loopdev A "$TMP/a.img" || ! loopdev B "$TMP/b.img"; then
	fail "losetup"; done_testing; exit
fi
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$A" || fail "mkfs.ext4"
mnt "$A" "$TMP/ma" || fail "mount"
mkdir -p "$TMP/ma/www" "$TMP/ma/db"
i=0
while [ $i -lt 12 ]; do
	head -c 1500000 /dev/urandom >"$TMP/ma/db/table$i.ibd"
	yes "<p>page $i of the site</p>" | head -c 400000 >"$TMP/ma/www/page$i.html"
	i=$((i + 1))
done
cp -a "$TESTS_DIR/cli" "$TMP/ma/www/tests"

# a device mounted read-write is refused: its image would be torn
lb -r "$R" backup --image "$A"; rc=$?
is "$rc" 1 "backup --image of a device mounted read-write is refused"
like "$(cat "$TMP/.lberr")" "mounted read-write" "and the error says why"
umount "$TMP/ma" && sync

lb -r "$R" --json backup --image "$A" --tag img; rc=$?
is "$rc" 0 "backup --image of an unmounted loop device"
id1=$(jstr snapshot_id)
added1=$(jnum bytes_added)
like "$(cat "$TMP/.lbout")" '"block_device":true' "it is recorded as a block device"
cp --sparse=always "$TMP/a.img" "$TMP/a1.img"

# the nightly change: a few files rewritten, one appended to
mnt "$A" "$TMP/ma"
head -c 300000 /dev/urandom | dd of="$TMP/ma/db/table3.ibd" bs=4096 seek=50 conv=notrunc status=none
echo "<p>an edit</p>" >>"$TMP/ma/www/page7.html"
head -c 200000 /dev/urandom >"$TMP/ma/db/new.ibd"
rm "$TMP/ma/www/page2.html"
umount "$TMP/ma" && sync

lb -r "$R" --json backup --image "$A"; rc=$?
is "$rc" 0 "second backup --image"
id2=$(jstr snapshot_id)
added2=$(jnum bytes_added)
raw2=$(jnum bytes_new_raw)
diag "first image added $added1 bytes, the second $added2 ($raw2 new plaintext of $(jnum bytes_data))"
ok "the second image dedups against the first ($added2 vs $added1 bytes added)" test "$added2" -lt $((added1 / 10))

lb -r "$R" --json restore --image "$id2" --target "$B"; rc=$?
is "$rc" 0 "restore --image onto a loop device of the same size"
ok "the device equals the source device" cmp "$A" "$B"
mnt "$A" "$TMP/ma" ro
mnt "$B" "$TMP/mb" ro
ok "its files equal the source's" diff -r "$TMP/ma" "$TMP/mb"
nok "restore --image onto a mounted device is refused" "$LB" -r "$R" restore --image "$id1" --target "$B"
like "$(cat "$TMP/.out")" "in use" "and the error says it is in use"
umount "$TMP/mb"
umount "$TMP/ma"

# the older image over the newer one: only what differs is written
lb -r "$R" --json restore --image "$id1" --target "$B"; rc=$?
is "$rc" 0 "restore the older image over the newer"
w=$(($(jnum bytes_written) + $(jnum bytes_zeroed)))
diag "older over newer: compared $(jnum bytes_compared), written $(jnum bytes_written), zeroed $(jnum bytes_zeroed), already right $(jnum bytes_skipped)"
ok "only the changed regions were written ($w of $((128 * MiB)) bytes)" test "$w" -lt $((8 * MiB))
ok "the device is byte for byte the old image" cmp "$B" "$TMP/a1.img"

# a target smaller than the image: refused, untouched
truncate -s 64M "$TMP/c.img"
head -c $((2 * MiB)) /dev/urandom | dd of="$TMP/c.img" bs=$MiB seek=10 conv=notrunc status=none
loopdev C "$TMP/c.img" || fail "losetup"
before=$(sha256sum <"$C")
lb -r "$R" restore --image "$id2" --target "$C"; rc=$?
ok "restore --image onto a smaller device fails (exit $rc)" test "$rc" -ne 0
like "$(cat "$TMP/.lberr")" "67108864 bytes, less than the image's 134217728 bytes" "the error names both sizes"
is "$(sha256sum <"$C")" "$before" "the smaller device is unchanged"

# ---- a whole server: btrfs root, imaged from lifeboat's own btrfs snapshot while written, chroot ----
for t in mkfs.btrfs btrfs chroot; do
	if ! command -v $t >/dev/null 2>&1; then
		skip "$t is missing (btrfs-progs, coreutils): no whole-server test"
		done_testing; exit
	fi
done
lb -r "$R" backup --image "$TMP"; rc=$?
is "$rc" 1 "backup --image of a directory that is not on btrfs is refused"
like "$(cat "$TMP/.lberr")" "is not on btrfs: .*LVM" "and the error says why, and what to do on LVM"

truncate -s 256M "$TMP/srv.img" "$TMP/new.img"
if ! loopdev S "$TMP/srv.img" || ! loopdev N "$TMP/new.img" || ! mkfs.btrfs -q -f "$S" >/dev/null ||
   ! mnt "$S" "$TMP/srv" || ! mkfs.ext4 -q -F "$N" || ! mnt "$N" "$TMP/newroot"; then
	fail "could not make the btrfs root and the ext4 target"; done_testing; exit
fi
# the server's root: a subvolume, as a Debian installer makes it (@rootfs)
btrfs -q subvolume create "$TMP/srv/root" >/dev/null
ROOT=$TMP/srv/root
mkdir -p "$ROOT/etc" "$ROOT/var/log" "$ROOT/var/lib" "$ROOT/tmp" "$ROOT/root" "$ROOT/proc" "$ROOT/boot"
echo testhost >"$ROOT/etc/hostname"
chmod 1777 "$ROOT/tmp"
chmod 0750 "$ROOT"
# a few real binaries and the libraries they load, at their own paths
for bin in /bin/sh /bin/ls /bin/cat /usr/bin/sha256sum; do
	real=$(readlink -f "$bin")
	mkdir -p "$ROOT/bin" && cp "$real" "$ROOT/bin/$(basename "$bin")"
	for lib in $(ldd "$real" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
		mkdir -p "$ROOT$(dirname "$lib")" && cp -L "$lib" "$ROOT$lib"
	done
done
ln -s bin "$ROOT/sbin"
head -c 3000000 /dev/urandom >"$ROOT/var/lib/data.bin"
ln "$ROOT/var/lib/data.bin" "$ROOT/var/lib/data.link"
(cd "$ROOT" && sha256sum var/lib/data.bin etc/hostname) >"$ROOT/root/sums"
# what is not part of the root file system: a mount (proc, /boot) and a nested subvolume
mount -t tmpfs -o size=1M tmpfs "$ROOT/boot" && at_exit "umount -l '$ROOT/boot' 2>/dev/null"
echo "on another file system" >"$ROOT/boot/vmlinuz"
btrfs -q subvolume create "$ROOT/var/lib/machines" >/dev/null
echo "in a nested subvolume" >"$ROOT/var/lib/machines/m1"
# a service that keeps writing while the image is taken
( i=0; while :; do echo "line $i" >>"$ROOT/var/log/busy.log"; i=$((i + 1)); done ) &
writer=$!
at_exit "kill $writer 2>/dev/null"
sleep 0.3
lb -r "$R" --json backup --image "$ROOT" --tag server; rc=$?
sleep 0.2
still=$(kill -0 $writer 2>/dev/null && echo running)
kill $writer 2>/dev/null; wait $writer 2>/dev/null
is "$rc" 0 "backup --image of a live btrfs root: lifeboat snapshots it itself"
is "$still" running "the service kept running and writing (no downtime)"
ids=$(jstr snapshot_id)
snapdir=$(jstr read_from)
like "$(cat "$TMP/.lbout")" '"tree":true' "it is recorded as a whole-server (file by file) image"
like "$(jstr read_from)" "^$ROOT/\\.lifeboat-image-[0-9a-f]\\{12\\}\$" "read from a read-only snapshot inside the subvolume"
ok "the snapshot was deleted afterwards" sh -c "! ls -d '$ROOT'/.lifeboat-image-* 2>/dev/null"
lb -r "$R" --json snapshots
like "$(tr -d ' \n' <"$TMP/.lbout")" '"sources":{"image":{.*"kind":"tree","root":"' "the manifest's image section says kind tree"
like "$(tr -d ' \n' <"$TMP/.lbout")" '"fs_snapshot":{[^}]*"kind":"btrfs"' "and names the btrfs snapshot it was read from"
lb -r "$R" snapshots
like "$(cat "$TMP/.lbout")" "(image) $ROOT\$" "snapshots marks a whole-server image and shows the directory imaged"
lb -r "$R" ls "$ids" "$ROOT/etc/hostname"
is "$(cat "$TMP/.lbout")" "$ROOT/etc/hostname" "its files are recorded where they are on the server, not in the snapshot"
lb -r "$R" ls "$ids" "$ROOT"
ok "and nothing of the snapshot's own path is in it" sh -c "! grep -q lifeboat-image '$TMP/.lbout'"

# a changed server: the next image reads only what changed
echo "a change" >"$ROOT/etc/motd"
lb -r "$R" --json backup --image "$ROOT"; rc=$?
is "$rc" 0 "a second whole-server image"
read2=$(jnum bytes_read)
# the log (written to after the first snapshot) and the motd, not the 3 MB of data.bin
limit=$(($(stat -c %s "$ROOT/var/log/busy.log") + 65536))
ok "it read only the changed files ($read2 bytes, at most $limit)" test "${read2:-99999999}" -le "$limit"
ids2=$(jstr snapshot_id)

# not onto a root that holds something
mkdir -p "$TMP/full" && echo x >"$TMP/full/keep"
lb -r "$R" restore --image "$ids" --target "$TMP/full"; rc=$?
is "$rc" 1 "restore --image of a server onto a directory that is not empty is refused"
like "$(cat "$TMP/.lberr")" "not empty (it holds keep).*nothing was written" "the error names what is there"
is "$(ls -A "$TMP/full")" "keep" "and nothing was written"

lb -r "$R" --json restore --image "$ids" --target "$TMP/newroot"; rc=$?
is "$rc" 0 "restore --image of the server onto the empty root of a new file system"
like "$(cat "$TMP/.lbout")" '"errors":0' "with no errors"
ok "no staging directory is left" sh -c "! ls -d '$TMP/newroot'/.lifeboat-restore-* 2>/dev/null"
ok "lost+found of the new file system is kept" test -d "$TMP/newroot/lost+found"
is "$(stat -c %a "$TMP/newroot")" 750 "the new root has the server root's mode"
out=$(chroot "$TMP/newroot" /bin/sh -c 'ls /; cat /etc/hostname; cd / && sha256sum -c /root/sums' 2>&1); rc=$?
is "$rc" 0 "chroot NEWROOT /bin/sh runs ls, cat and sha256sum"
like "$out" "^testhost$" "the new root has its hostname"
like "$out" "^var/lib/data.bin: OK$" "the data's checksum, checked inside the chroot, is right"
is "$(stat -c %h "$TMP/newroot/var/lib/data.bin")" 2 "hard links are hard links again"
is "$(readlink "$TMP/newroot/sbin")" bin "symbolic links are kept"
is "$(ls -A "$TMP/newroot/boot")" "" "another file system mounted in the root (/boot) is not in the image"
is "$(ls -A "$TMP/newroot/var/lib/machines")" "" "a nested subvolume is an empty directory"
ok "the motd written after the first image is not in it" test ! -e "$TMP/newroot/etc/motd"
# the log was snapshotted at an instant: whole lines, in order, none missing
n=$(wc -l <"$TMP/newroot/var/log/busy.log")
last=$(tail -n 1 "$TMP/newroot/var/log/busy.log")
ok "the file being written is consistent ($n lines, the last '$last')" test "$n" -gt 0 -a "$last" = "line $((n - 1))"

# a repository on the imaged file system is not imaged into itself
R2=$ROOT/srv/backup/repo
mkdir -p "$ROOT/srv/backup"
ok "init a repository inside the server's root" "$LB" -r "$R2" init
lb -r "$R2" --json backup --image "$ROOT"; rc=$?
is "$rc" 0 "an image into a repository that is on the imaged file system"
lb -r "$R2" ls "$(jstr snapshot_id)"
like "$(cat "$TMP/.lbout")" "/srv/backup\$" "the directory holding the repository is in the image"
ok "the repository's own copy in the snapshot is not" sh -c "! grep -q 'srv/backup/repo' '$TMP/.lbout'"
rm -rf "$ROOT/srv"

# a snapshot left by a killed run is deleted by the next one
btrfs -q subvolume snapshot -r "$ROOT" "$snapdir" >/dev/null
lb -r "$R" --json backup --image "$ROOT"; rc=$?
is "$rc" 3 "an image after a killed run that left its snapshot: written, with a warning"
like "$(cat "$TMP/.lberr")" "deleted this snapshot, left by an earlier run" "the warning says the old snapshot was deleted"
ok "and no snapshot is left behind" sh -c "! ls -d '$ROOT'/.lifeboat-image-* 2>/dev/null"
mkdir "$snapdir"
lb -r "$R" backup --image "$ROOT"; rc=$?
is "$rc" 1 "a directory in the snapshot's place that lifeboat did not make is refused"
like "$(cat "$TMP/.lberr")" "is not a read-only snapshot lifeboat left" "and the error names it"
rmdir "$snapdir"

done_testing
