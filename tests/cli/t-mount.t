#!/bin/sh
# lifeboat mount: a real FUSE mount of a repository.
#  - the layout: ids/<id>, hosts/<host>/<time>, latest links;
#  - every entry as saved (treecmp: type, mode, owner, times, content, holes
#    through SEEK_HOLE, symlinks, xattrs and ACLs);
#  - reads at odd offsets of a multi-chunk and of a sparse file;
#  - copying a Maildir folder out with cp -a, timed;
#  - read-only; unknown ids and paths are ENOENT;
#  - a damaged blob: EIO for that file only, logged, no crash, the other
#    files of the same pack still read;
#  - the background mode, unmounted with fusermount3 -u.
# Every mount is unmounted at exit, even on failure, and the foreground
# processes are killed by pid.
. "$(dirname "$0")/../lib.sh"

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null 2>&1; then
	echo "1..0 # SKIP no /dev/fuse or no fusermount3 (install fuse3)"
	exit 0
fi

R=$TMP/repo
S=$TMP/src
M=$TMP/mnt
mkdir -p "$S" "$M"

# ---- the source ----
head -c 3000000 /dev/urandom >"$S/multi.bin"            # tens of chunks
truncate -s 64M "$S/sparse"
printf 'data in the middle' | dd of="$S/sparse" bs=1 seek=20000000 conv=notrunc status=none
head -c 300000 /dev/urandom | dd of="$S/sparse" bs=4096 seek=10000 conv=notrunc status=none
echo hello >"$S/plain.txt"
setfattr -n user.note -v "a note" "$S/plain.txt"
setfacl -m u:1234:rwx,g:5678:r "$S/plain.txt"
mkdir -p "$S/dir/sub"
setfacl -d -m g:5678:rx "$S/dir/sub"
echo nested >"$S/dir/sub/file"
chmod 0700 "$S/dir"
echo odd >"$S/oddmode"; chmod 4751 "$S/oddmode"
ln -s plain.txt "$S/link"
ln -s /nonexistent "$S/dangling"
mkfifo "$S/fifo"
printf 'x\n' >"$S/$(printf 'sp ace\tand\001ctl')"
: >"$S/empty"
if is_root; then chown 1234:5678 "$S/plain.txt"; chown -h 4321:8765 "$S/link"; fi
touch -m -d '2001-02-03 04:05:06.123456789' "$S/plain.txt" "$S/multi.bin"
touch -h -m -d '2010-10-10 10:10:10.101010101' "$S/link"
# a Maildir with a few folders
for f in "" .Sent .Archive.2024; do
	mkdir -p "$S/Maildir/$f/cur" "$S/Maildir/$f/new" "$S/Maildir/$f/tmp"
	i=0
	while [ $i -lt 300 ]; do
		printf 'From: a@example.org\nSubject: message %d\n\n%s\n' $i "$(head -c $((200 + i * 7)) /dev/zero | tr '\0' m)" \
			>"$S/Maildir/$f/cur/1700000$i.M$i.host:2,S"
		i=$((i + 1))
	done
	echo new >"$S/Maildir/$f/new/1700009999.M1.host"
done
touch -d '2024-05-05 05:05:05' "$S/Maildir/.Sent/cur" "$S/Maildir/.Sent"
# the file the damage test breaks, and one more small file
# (named to sit between other files in the walk, so that its pack holds more)
head -c 5000 /dev/urandom >"$S/m-victim"
head -c 5000 /dev/urandom >"$S/m-neighbour"

ok "init (small packs)" "$LB" -r "$R" init --pack-size 131072
lb -r "$R" backup "$S"; S1=$(cat "$TMP/.lbout")
echo second >"$S/second-only"
lb -r "$R" backup "$S"; S2=$(cat "$TMP/.lbout")
lb -r "$R" backup --host other.example "$S/dir"; S3=$(cat "$TMP/.lbout")
rm "$S/second-only"
is "$(printf '%s\n' "$S1" "$S2" "$S3" | grep -c '^[0-9a-f]\{64\}$')" 3 "three snapshots"

# mount_fg DIR REPO LOG: mounts in the foreground, in the background of this
# shell; MPID is its pid.  Unmounted and killed at exit whatever happens.
mount_fg() {
	"$LB" -r "$2" mount --foreground "$1" >"$3" 2>&1 &
	MPID=$!
	at_exit "kill $MPID 2>/dev/null"
	at_exit "fusermount3 -u -z '$1' 2>/dev/null"
	i=0
	while [ $i -lt 100 ] && ! grep -q " $1 fuse" /proc/mounts; do sleep 0.1; i=$((i + 1)); done
	grep -q " $1 fuse" /proc/mounts
}
if ! mount_fg "$M" "$R" "$TMP/mount.log"; then
	echo "# skip: cannot mount FUSE here: $(head -c 300 "$TMP/mount.log" | tr '\n' ' ')"
	done_testing
	exit
fi
pass "mounted in the foreground (pid $MPID)"
like "$(grep " $M " /proc/mounts)" " fuse.lifeboat ro," "a read-only fuse.lifeboat mount"

# ---- the layout ----
is "$(ls "$M" | tr '\n' ' ')" "hosts ids latest " "the top: hosts, ids, latest"
is "$(ls "$M/ids" | sort | tr '\n' ' ')" "$(printf '%s\n' "$S1" "$S2" "$S3" | sort | tr '\n' ' ')" "ids/: every snapshot"
is "$(readlink "$M/latest")" "ids/$S3" "latest -> ids/<newest>"
is "$(ls "$M/hosts" | tr '\n' ' ')" "$(printf '%s\n' "$(hostname)" other.example | sort | tr '\n' ' ')" "hosts/: one per host"
t2=$("$LB" -r "$R" cat snapshot "$S2" | perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{time}')
name2=$(date -d "$t2" +%Y-%m-%dT%H:%M:%S)
H=$M/hosts/$(hostname)
is "$(readlink "$H/latest")" "$(ls "$H" | grep -v latest | tail -1)" "hosts/<host>/latest -> its newest snapshot"
ok "hosts/<host>/<local start time> is a snapshot ($name2)" test -e "$H/$(readlink "$H/latest")$S/second-only"
like "$(ls "$H")" "^$name2\(-[0-9a-f]\{8\}\)\{0,1\}\$" "snapshot directories are named by their local start time"
is "$(cat "$M/hosts/other.example/latest$S/dir/sub/file")" nested "the other host's snapshot holds its one path"

# ---- entries as saved ----
L=$M/ids/$S1$S
"$HELPERS/treecmp" --no-hardlinks "$S" "$L" >"$TMP/cmp" 2>&1; rc=$?
is "$rc" 0 "treecmp: the mounted snapshot equals the source (types, modes, owners, times, content, holes, xattrs, ACLs)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -20
is "$(stat -c '%a %y' "$L/plain.txt")" "$(stat -c '%a %y' "$S/plain.txt")" "stat: mode and mtime with nanoseconds"
is "$(stat -c %a "$L/oddmode")" 4751 "setuid bit shown"
if is_root; then
	is "$(stat -c %u:%g "$L/plain.txt")" 1234:5678 "numeric owner as saved"
	is "$(stat -c %u:%g "$L/link")" 4321:8765 "a symlink's owner as saved"
else
	skip "not root: owners"
	skip "not root: owners"
fi
is "$(readlink "$L/link")" plain.txt "a symbolic link's target"
is "$(cat "$L/link")" hello "...and it resolves inside the snapshot"
ok "a fifo is a fifo" test -p "$L/fifo"
is "$(getfattr --only-values -n user.note "$L/plain.txt" 2>/dev/null)" "a note" "getxattr"
like "$(getfattr -d -m - "$L/plain.txt" 2>/dev/null)" "user.note=" "listxattr"
is "$(getfacl -p --omit-header "$L/plain.txt" 2>/dev/null)" "$(getfacl -p --omit-header "$S/plain.txt" 2>/dev/null)" "getfacl: the ACL"
is "$(getfacl -p --omit-header "$L/dir/sub" 2>/dev/null | grep -c '^default:')" \
   "$(getfacl -p --omit-header "$S/dir/sub" 2>/dev/null | grep -c '^default:')" "getfacl: a default ACL"
like "$(ls "$L")" "sp ace" "a name with a tab and a control byte is listed"

# ---- streaming reads at odd offsets ----
# readat FILE OFF LEN...: the bytes at each (offset, length), hex
readat() {
	perl -e 'my $f = shift; open(my $h, "<", $f) or die "$f: $!"; binmode $h;
		while (@ARGV) { my ($o, $n) = splice(@ARGV, 0, 2); sysseek($h, $o, 0) or die "seek: $!";
			my $got = sysread($h, my $b, $n); defined $got or die "read: $!"; print unpack("H*", $b), "\n"; }' "$@"
}
offs="0 1 1 65537 65535 3 131071 262145 777777 123457 1499999 2 2999990 100 2999999 1 3000000 10 1234567 654321"
is "$(readat "$L/multi.bin" $offs | md5sum)" "$(readat "$S/multi.bin" $offs | md5sum)" "a multi-chunk file: reads at odd offsets match"
soffs="0 10 19999999 64 20000000 18 40959999 4097 40960001 300000 67108860 10 12345678 9999 67108863 1"
is "$(readat "$L/sparse" $soffs | md5sum)" "$(readat "$S/sparse" $soffs | md5sum)" "a sparse file: reads at odd offsets match"
ok "a sparse file: whole content" cmp "$L/sparse" "$S/sparse"
ok "a sparse file takes fewer blocks than its size" test "$(stat -c %b "$L/sparse")" -lt $((64 * 2048))
cp --sparse=always "$L/sparse" "$TMP/sparse.copy"
ok "...and copies out with its holes" test "$(stat -c %b "$TMP/sparse.copy")" -lt 4096
ok "an empty file reads empty" test ! -s "$L/empty"
is "$(dd if="$L/plain.txt" bs=1 skip=2 count=2 status=none)" ll "dd at an offset"

# ---- a Maildir folder copied out ----
t0=$(date +%s.%N)
cp -a "$L/Maildir/.Sent" "$TMP/sent-copy"; rc=$?
t1=$(date +%s.%N)
is "$rc" 0 "cp -a of a Maildir folder out of the mount"
"$HELPERS/treecmp" --no-hardlinks "$S/Maildir/.Sent" "$TMP/sent-copy" >"$TMP/cmp" 2>&1; rc=$?
is "$rc" 0 "the copy equals the source folder, times and modes included"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMP/cmp" | head -10
took=$(echo "$t1 $t0" | awk '{ printf "%.2f", $1 - $2 }')
diag "cp -a of a 300-message Maildir folder: $took s"
ok "...in under 10 s ($took s)" awk -v t="$took" 'BEGIN { exit !(t < 10) }'
is "$(find "$L/Maildir" -type f | wc -l | tr -d ' ')" 903 "find walks the whole Maildir"

# ---- read-only; unknown names ----
nok "no new files" touch "$L/new-file"
nok "no writes" sh -c "echo x >>'$L/plain.txt'"
nok "no removals" rm -f "$L/plain.txt"
like "$(ls "$M/ids/0123456789abcdef" 2>&1)" "No such file or directory" "an unknown id: ENOENT"
like "$(cat "$L/no-such-file" 2>&1)" "No such file or directory" "an unknown path: ENOENT"
like "$(ls "$M/hosts/nohost" 2>&1)" "No such file or directory" "an unknown host: ENOENT"
ok "the mount process is alive" kill -0 "$MPID"

fusermount3 -u "$M"
i=0; while [ $i -lt 50 ] && kill -0 "$MPID" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
ok "fusermount3 -u ends the foreground process" sh -c "! kill -0 $MPID 2>/dev/null"
wait "$MPID"; rc=$?
is "$rc" 0 "...which exits 0"
is "$(grep -v '^$' "$TMP/mount.log")" "" "...having logged nothing"

# ---- a damaged blob ----
# In a copy of the repository, flip one byte in the payload of the victim's
# chunk; pick as neighbour another file with a chunk in that same pack.
RB=$TMP/repo-bad
cp -a "$R" "$RB"
# every file of the snapshot below $S with its chunk ids: "path id id ..."
export LB
LB_REPO_=$RB perl -MJSON::PP -e '
	sub walk { my ($spec, $path) = @_;
		open(my $p, "-|", $ENV{LB}, "-r", $ENV{LB_REPO_}, "cat", "tree", $spec) or die;
		local $/; my $t = decode_json(<$p>); close $p or die "cat tree $spec failed\n";
		for my $n (@$t) {
			my $np = $path eq "" ? $n->{name} : "$path/$n->{name}";
			if ($n->{type} eq "dir") { walk($n->{subtree}, $np) }
			elsif ($n->{type} eq "file") { print join(" ", $np, map { $_->{id} } grep { $_->{id} } @{$n->{content} || []}), "\n" }
		}
	}
	walk($ARGV[0], "")' "$S1:$S" >"$TMP/files"
perl -e '
	my %file; open(my $l, "<", shift) or die;
	while (<$l>) { chomp; my ($name, @ids) = split / /; $file{$name} = \@ids if $name !~ / / }
	my $vid = $file{"m-victim"}[0] or die "no victim chunk\n";
	for my $p (@ARGV) {
		open(my $f, "+<", $p) or die "$p: $!"; binmode $f; my $d = do { local $/; <$f> }; my $sz = length $d;
		my ($tlen) = unpack("V", substr($d, $sz - 12, 4)); my $tstart = $sz - 12 - $tlen; my $off = 24;
		my (%in, $hit);
		while ($off < $tstart) {
			my ($stored, $id) = unpack("x4 V x4 a32", substr($d, $off, 44)); $id = unpack("H*", $id);
			$in{$id} = 1; $hit = $off + 44 + 10 if $id eq $vid; $off += 44 + $stored + 16;
		}
		next unless defined $hit;
		seek($f, $hit, 0); print $f chr(ord(substr($d, $hit, 1)) ^ 0xff); close $f or die;
		my ($n) = grep { my $c = $file{$_}; $_ ne "m-victim" && (grep { $in{$_} } @$c) && !grep { $_ eq $vid } @$c }
			sort keys %file;
		print "$vid $p ", (defined $n ? $n : ""), "\n"; exit 0;
	}
	exit 1' "$TMP/files" "$RB"/packs/*/* >"$TMP/damage"
ok "flipped a byte of the victim's chunk" test $? -eq 0
read -r vid vpack neighbour <"$TMP/damage"
diag "damaged blob $vid in $(basename "$vpack"); neighbour in the same pack: '$neighbour'"
ok "another file has a chunk in that pack" test -n "$neighbour"

MB=$TMP/mnt-bad
mkdir -p "$MB"
ok "mount the damaged repository" mount_fg "$MB" "$RB" "$TMP/mount-bad.log"
V=$MB/ids/$S1$S
out=$(cat "$V/m-victim" 2>&1 >/dev/null); rc=$?
ok "reading the damaged file fails" test $rc -ne 0
like "$out" "Input/output error" "...with EIO"
ok "the neighbour in the same pack ($neighbour) still reads" cmp "$V/$neighbour" "$S/$neighbour"
ok "other files still read" cmp "$V/multi.bin" "$S/multi.bin"
ok "the victim's metadata still stats" test "$(stat -c %s "$V/m-victim")" -eq 5000
ok "the mount process did not crash" kill -0 "$MPID"
like "$(cat "$TMP/mount-bad.log")" "^lifeboat: mount: /ids/$S1$S/m-victim: .*$vid" "the error is logged with the path and the blob"
cp -a "$V/." "$TMP/bad-copy" 2>"$TMP/cp.err"
like "$(cat "$TMP/cp.err")" "m-victim" "cp -a of the snapshot names the damaged file"
ok "...and copies the rest" cmp "$TMP/bad-copy/$neighbour" "$S/$neighbour"
is "$(grep -c '' "$TMP/cp.err")" 1 "...with one error only"
fusermount3 -u "$MB"
wait "$MPID"
is "$?" 0 "unmounted; the process exits 0"
if grep -qi 'sanitizer\|runtime error\|segmentation' "$TMP/mount-bad.log"; then
	fail "no crash report in the log"; sed 's/^/#   /' "$TMP/mount-bad.log" | head
else
	pass "no crash report in the log"
fi

# ---- background mode ----
MD=$TMP/mnt-daemon
mkdir -p "$MD"
at_exit "fusermount3 -u -z '$MD' 2>/dev/null"
lb -r "$R" mount "$MD"
is "$?" 0 "mount without --foreground returns once mounted"
ok "...the mount is there" grep -q " $MD fuse" /proc/mounts
is "$(cat "$MD/latest$S/dir/sub/file" 2>&1)" nested "...and serves reads"
like "$(cat "$TMP/.lberr")" "fusermount3 -u $MD" "...having said how to unmount"
ok "fusermount3 -u unmounts it" fusermount3 -u "$MD"
i=0; while [ $i -lt 50 ] && grep -q " $MD fuse" /proc/mounts; do sleep 0.1; i=$((i + 1)); done
ok "...and it is gone" sh -c "! grep -q ' $MD fuse' /proc/mounts"
# the daemon is a fork: the repository's heartbeat thread stayed in the
# parent, and closing the repository used to hang on it forever
i=0; while [ $i -lt 50 ] && pgrep -f "mount $MD\$" >/dev/null; do sleep 0.1; i=$((i + 1)); done
ok "...and the background process exits" sh -c "! pgrep -f 'mount $MD\$' >/dev/null"
pkill -9 -f "mount $MD\$" 2>/dev/null
ok "...removing its run marker" sh -c "! ls '$R/locks' | grep -q '^run-'"

# ---- a relative mount point, stopped by SIGTERM while a file is open ----
# libfuse changes to / once mounted: the unmount at the end must not name
# ./relmnt as /relmnt (another mount, or none, and this one left dead)
mkdir "$TMP/relmnt"
(cd "$TMP" && exec "$LB" -r "$R" mount --foreground relmnt) >"$TMP/mount-rel.log" 2>&1 &
MPID=$!
at_exit "kill $MPID 2>/dev/null"
at_exit "fusermount3 -u -z '$TMP/relmnt' 2>/dev/null"
i=0
while [ $i -lt 100 ] && ! grep -q " $TMP/relmnt fuse" /proc/mounts; do sleep 0.1; i=$((i + 1)); done
ok "mounted on a relative path" grep -q " $TMP/relmnt fuse" /proc/mounts
exec 7<"$TMP/relmnt/ids/$S1$S/multi.bin"
head -c 1000 <&7 >/dev/null
kill -TERM "$MPID"
wait "$MPID"; rc=$?
exec 7<&-
is "$rc" 0 "SIGTERM with a file open: exit 0"
ok "...and the mount is gone" sh -c "! grep -q ' $TMP/relmnt fuse' /proc/mounts"
is "$(grep -ci 'unmount\|sanitizer\|leak' "$TMP/mount-rel.log")" 0 "...with no unmount error and nothing leaked"

# ---- bad input ----
lb -r "$R" mount "$TMP/no-such-dir"
is "$?" 1 "a mount point that does not exist: exit 1"
like "$(cat "$TMP/.lberr")" "^lifeboat: mount: $TMP/no-such-dir: No such file or directory" "...saying so"
lb -r "$R" mount "$S/plain.txt"
like "$(cat "$TMP/.lberr")" "not a directory" "a mount point that is a file: refused"

done_testing
