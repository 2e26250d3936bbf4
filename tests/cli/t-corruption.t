#!/bin/sh
# Bad input in the repository.
#  (a) One flipped byte in a pack — in the pack header, a blob header, a blob
#      payload, a blob's tag, a tree blob, the trailer, the footer — each on a
#      fresh copy of one repository: `check --read-data` exits 1 and names
#      the pack (and the blob, when one blob is hit); `restore` restores
#      every file the damage does not touch, names the ones it cannot, exits 1.
#  (b) Truncated and foreign files (packs, index, snapshots, config, keys):
#      an error, never a crash.  Nothing is lost: with every index file
#      damaged or gone, the intact packs (each carries its own table of
#      contents) still restore, and check never passes a repository that
#      restore then cannot restore.
#  (c) A config with a newer format version: an error that says so.
#  (d) What plain `check` (no --read-data) catches: everything structural —
#      pack headers, trailers and footers, index files, snapshots, trees —
#      but not a damaged data blob inside a pack, whose bytes only
#      --read-data reads.  That case must still pass plain check.
. "$(dirname "$0")/../lib.sh"

S=$TMP/src
R0=$TMP/repo0
mkdir -p "$S/d1" "$S/d2" "$S/nested/deeper"
i=1
while [ $i -le 12 ]; do
	head -c $((3000 + i * 500)) /dev/urandom >"$S/d1/f$i"   # one chunk each
	i=$((i + 1))
done
seq 1 120000 >"$S/d2/text"                 # compressible, a few chunks
head -c 1500000 /dev/urandom >"$S/big.bin"  # several chunks
echo "deep file" >"$S/nested/deeper/x.txt"
echo "top" >"$S/top.txt"

# small packs, so that one damaged pack holds only part of the snapshot
ok "init" "$LB" -r "$R0" init --pack-size 131072
lb -r "$R0" backup "$S"
is "$?" 0 "backup the source tree"
SNAP=$(cat "$TMP/.lbout")
ok "check --read-data of the intact repository" "$LB" -r "$R0" check --read-data

# ---- helpers ----

# packmap PACK: one line per blob record, "offset type stored_len id", then
# "trailer START LEN" and "size N".  Walks the records from the header on,
# as the format describes them (lib/store/pack.h).
packmap() {
	perl -e '
		open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!";
		binmode $f; local $/; my $d = <$f>; my $sz = length $d;
		my ($tlen, $n, $m) = unpack("V V a4", substr($d, $sz - 12, 12));
		die "no footer\n" unless $m eq "LBPE";
		my $tstart = $sz - 12 - $tlen; my $off = 24;
		while ($off < $tstart) {
			my ($type, $flags, $z, $stored, $raw, $id) = unpack("C C v V V a32", substr($d, $off, 44));
			printf "%d %d %d %s\n", $off, $type, $stored, unpack("H*", $id);
			$off += 44 + $stored + 16;
		}
		print "trailer $tstart $tlen\nsize $sz\n";
	' "$1"
}
# flip FILE OFFSET: inverts every bit of one byte.
flip() {
	perl -e 'open(my $f, "+<", $ARGV[0]) or die "$ARGV[0]: $!"; binmode $f;
		seek($f, $ARGV[1], 0); read($f, my $b, 1) == 1 or die "short\n";
		seek($f, $ARGV[1], 0); print $f chr(ord($b) ^ 0xff); close $f or die' "$1" "$2"
}
# blobmap REPO SNAPSHOT: "id path" for every data chunk of every file, and
# "id path/" for every directory's tree blob, by walking `cat tree`.
blobmap() {
	root=$("$LB" -r "$1" cat snapshot "$2" | perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{tree}')
	LB_REPO_=$1 perl -MJSON::PP -e '
		sub walk { my ($id, $path) = @_;
			print "$id $path/\n";
			open(my $p, "-|", $ENV{LB}, "-r", $ENV{LB_REPO_}, "cat", "tree", $id) or die;
			local $/; my $t = decode_json(<$p>); close $p or die "cat tree $id failed\n";
			for my $n (@$t) {
				my $np = "$path/$n->{name}";
				if ($n->{type} eq "dir") { walk($n->{subtree}, $np); }
				elsif ($n->{type} eq "file") { print "$_->{id} $np\n" for grep { $_->{id} } @{$n->{content} || []}; }
			}
		}
		walk($ARGV[0], "");' "$root"
}
export LB
blobmap "$R0" "$SNAP" >"$TMP/blobmap"
is "$?" 0 "mapped every blob of the snapshot to its file"
like "$(cat "$TMP/blobmap")" "$S/d1/f1\$" "the blob map names the files"

for p in "$R0"/packs/*/*; do
	packmap "$p" >"$p.map.tmp" && mv "$p.map.tmp" "$TMP/$(basename "$p").map"
done
# the pack with the most data blobs (preferring packs without tree
# blobs), and the pack holding d1's tree
DPACK=""; best=0; TPACK=""
D1TREE=$(awk -v p="$S/d1/" '$2 == p { print $1 }' "$TMP/blobmap")
for m in "$TMP"/*.map; do
	n=$(awk '$2 == 1' "$m" | wc -l)
	[ "$(awk '$2 == 2' "$m" | wc -l)" -eq 0 ] && n=$((n * 1000))
	if [ "$n" -gt "$best" ]; then best=$n; DPACK=$(basename "$m" .map); fi
	if grep -q " $D1TREE\$" "$m"; then TPACK=$(basename "$m" .map); fi
done
ok "found a data pack with at least 3 blobs" test "$(awk '$2 == 1' "$TMP/$DPACK.map" | wc -l)" -ge 3
ok "found the pack holding the tree of d1" test -n "$TPACK"
DSUB=$(echo "$DPACK" | cut -c1-2)
TSUB=$(echo "$TPACK" | cut -c1-2)

# files_of ID...: the files a restore cannot bring back when these blobs
# are lost: those whose content uses one, and those below a directory whose
# tree is one.
files_of() {
	echo "$@" | tr ' ' '\n' | awk 'FILENAME == "-" { lost[$1] = 1; next }
		$2 ~ /\/$/ { if (lost[$1]) dirs[$2] = 1; next }
		{ files[$2] = files[$2] || lost[$1] }
		END { for (f in files) { b = files[f]; for (d in dirs) if (index(f, d) == 1) b = 1; if (b) print f } }' - "$TMP/blobmap" | sort
}
# named FILE: stderr of the last command names FILE or a directory above it.
named() {
	grep -qF "$1" "$TMP/.lberr" && return 0
	d=$1
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		grep -qF "restore: $d: " "$TMP/.lberr" && return 0
	done
	return 1
}
# no_crash CASE RC: exit code 0, 1 or 3 and nothing on stderr from a crash.
no_crash() {
	case $2 in 0|1|3) pass "$1: exit $2, not a crash" ;; *) fail "$1: exit $2 (a crash?)"; sed 's/^/#   /' "$TMP/.lberr" | head -20 ;; esac
	if grep -qi 'segmentation\|sanitizer\|runtime error\|core dumped\|aborted\|assert' "$TMP/.lberr"; then
		fail "$1: no crash report on stderr"; sed 's/^/#   /' "$TMP/.lberr" | head -20
	else
		pass "$1: no crash report on stderr"
	fi
}
# fresh NAME: a new copy of the intact repository in $TMP/NAME.
fresh() {
	rm -rf "${R:-$TMP/none}" "$TMP/out"
	R=$TMP/$1
	cp -a "$R0" "$R"
}
# restore_verdict CASE BROKENFILE: restores SNAP from $R; every file listed
# in BROKENFILE must be named on stderr and absent, every other file must
# be identical to the source.  Exit 1 when any file is broken, else 0.
restore_verdict() {
	rm -rf "$TMP/out"
	lb -r "$R" restore "$SNAP" --target "$TMP/out"
	rc=$?
	no_crash "$1: restore" "$rc"
	nbroken=$(grep -c . "$2")
	if [ "$nbroken" -gt 0 ]; then
		is "$rc" 1 "$1: restore exits 1"
	else
		is "$rc" 0 "$1: restore exits 0 (no blob it needs is damaged)"
	fi
	bad=""
	while IFS= read -r f; do
		named "$f" || bad="$bad [not named: $f]"
		if [ -e "$TMP/out$f" ]; then
			if cmp -s "$TMP/out$f" "$f"; then bad="$bad [restored intact despite the damage?: $f]"
			else bad="$bad [left damaged: $f]"; fi
		fi
	done <"$2"
	if [ -z "$bad" ]; then pass "$1: restore names each of the $nbroken file(s) it cannot restore (or its directory), leaves none half-written"
	else fail "$1: restore names each file it cannot restore"; echo "#  $bad"; sed 's/^/#   /' "$TMP/.lberr" | head -20; fi
	missing=0; wrong=0; total=0
	for f in $(cd / && find "${S#/}" -type f | sed 's|^|/|'); do
		grep -qxF "$f" "$2" && continue
		total=$((total + 1))
		if [ ! -e "$TMP/out$f" ]; then missing=$((missing + 1)); echo "#   missing: $f"
		elif ! cmp -s "$TMP/out$f" "$f"; then wrong=$((wrong + 1)); echo "#   differs: $f"; fi
	done
	is "$missing/$wrong" "0/0" "$1: restore brings back all $total untouched files identically"
}
# check_verdict CASE EXPECT_PLAIN_RC PATTERN...: check --read-data exits 1
# naming each pattern; plain check exits EXPECT_PLAIN_RC ("any": not judged).
check_verdict() {
	c=$1; want=$2; shift 2
	lb -r "$R" check --read-data
	rc=$?
	no_crash "$c: check --read-data" "$rc"
	is "$rc" 1 "$c: check --read-data exits 1"
	for pat in "$@"; do
		like "$(cat "$TMP/.lberr")" "$pat" "$c: check --read-data names $(echo "$pat" | cut -c1-16)..."
	done
	lb -r "$R" check
	rc=$?
	no_crash "$c: check" "$rc"
	[ "$want" = any ] || is "$rc" "$want" "$c: plain check exits $want"
}

DMAP=$TMP/$DPACK.map
DFILE=packs/$DSUB/$DPACK
all_ids=$(awk '$1 ~ /^[0-9]+$/ { print $4 }' "$DMAP")
# the second blob of the data pack
set -- $(awk '$1 ~ /^[0-9]+$/' "$DMAP" | sed -n 2p)
B_OFF=$1; B_STORED=$3; B_ID=$4
TSTART=$(awk '$1 == "trailer" { print $2 }' "$DMAP")
TLEN=$(awk '$1 == "trailer" { print $3 }' "$DMAP")
PSIZE=$(awk '$1 == "size" { print $2 }' "$DMAP")
files_of $all_ids >"$TMP/broken-all"
files_of "$B_ID" >"$TMP/broken-one"
: >"$TMP/broken-none"
ok "the damaged blob belongs to exactly one file" test "$(grep -c . "$TMP/broken-one")" -eq 1

# ---- (a) one flipped byte ----

# pack header: the salt, from which every blob key of the pack is derived
fresh hdr-salt; flip "$R/$DFILE" 12
check_verdict "pack header (salt)" 1 "$DPACK"
restore_verdict "pack header (salt)" "$TMP/broken-all"

# pack header: the magic
fresh hdr-magic; flip "$R/$DFILE" 1
check_verdict "pack header (magic)" 1 "$DPACK"
restore_verdict "pack header (magic)" "$TMP/broken-all"

# a blob header (a byte of the id it carries; the header is the blob's AAD)
fresh blob-header; flip "$R/$DFILE" $((B_OFF + 20))
check_verdict "blob header" any "$DPACK" "$B_ID"
restore_verdict "blob header" "$TMP/broken-one"

# a blob header's length field
fresh blob-len; flip "$R/$DFILE" $((B_OFF + 5))
check_verdict "blob header (length)" any "$DPACK" "$B_ID"
restore_verdict "blob header (length)" "$TMP/broken-one"

# inside a blob's payload
fresh payload; flip "$R/$DFILE" $((B_OFF + 44 + B_STORED / 2))
check_verdict "blob payload" 0 "$DPACK" "pack $DPACK: blob $B_ID"
restore_verdict "blob payload" "$TMP/broken-one"
like "$(cat "$TMP/.lberr")" "$B_ID\|$(echo "$B_ID" | cut -c1-12)" "blob payload: restore names the damaged blob"

# a blob's authentication tag
fresh tag; flip "$R/$DFILE" $((B_OFF + 44 + B_STORED + 7))
check_verdict "blob tag" 0 "$DPACK" "$B_ID"
restore_verdict "blob tag" "$TMP/broken-one"

# the sealed trailer: restore goes by the index and loses nothing
fresh trailer; flip "$R/$DFILE" $((TSTART + TLEN / 2))
check_verdict "trailer" 1 "$DPACK"
restore_verdict "trailer" "$TMP/broken-none"

# the footer: trailer length, blob count, end magic
for fo in 0 5 10; do
	fresh footer$fo; flip "$R/$DFILE" $((PSIZE - 12 + fo))
	check_verdict "footer byte $fo" 1 "$DPACK"
	restore_verdict "footer byte $fo" "$TMP/broken-none"
done

# the tree blob of d1: its directory cannot be restored; the rest can
TMAP=$TMP/$TPACK.map
set -- $(awk -v id="$D1TREE" '$4 == id' "$TMAP")
fresh tree-blob; flip "$R/packs/$TSUB/$TPACK" $(($1 + 44 + $3 / 2))
check_verdict "tree blob" 1 "$TPACK" "$D1TREE"
like "$(cat "$TMP/.lberr")" "d1" "tree blob: plain check names the directory"
grep " $S/d1/f" "$TMP/blobmap" | awk '{ print $2 }' | sort -u >"$TMP/broken-d1"
restore_verdict "tree blob" "$TMP/broken-d1"
like "$(cat "$TMP/.lberr")" "$S/d1" "tree blob: restore names the directory it cannot restore"

# ---- (b) truncated and foreign files ----

# survey CASE: runs every command on $R; each must end without a crash.
# rcof/errof KEY give a command's exit code and stderr afterwards.
survey() {
	for key in snapshots ls restore check checkdata backup; do
		case $key in
		snapshots) set -- snapshots ;;
		ls) set -- ls "$SNAP" ;;
		restore) set -- restore "$SNAP" --target "$TMP/out" ;;
		check) set -- check ;;
		checkdata) set -- check --read-data ;;
		backup) set -- backup "$S" ;;
		esac
		rm -rf "$TMP/out"
		lb -r "$R" "$@"
		rc=$?
		no_crash "$CASE: $*" "$rc"
		echo "$rc" >"$TMP/rc.$key"
		cp "$TMP/.lberr" "$TMP/err.$key"
		diag "$CASE: lifeboat $* -> exit $rc: $(head -c 300 "$TMP/.lberr" | tr "\n" " ")"
	done
}
rcof() { cat "$TMP/rc.$1"; }
errof() { cat "$TMP/err.$1"; }

# a truncated pack
fresh trunc-pack; truncate -s $((PSIZE / 2)) "$R/$DFILE"
lb -r "$R" check
is "$?" 1 "truncated pack: check exits 1"
like "$(cat "$TMP/.lberr")" "$DPACK" "truncated pack: check names the pack"
# only the blobs that lay (partly) in the cut-off half are lost
files_of $(awk -v cut=$((PSIZE / 2)) '$1 ~ /^[0-9]+$/ && $1 + 44 + $3 + 16 > cut { print $4 }' "$DMAP") >"$TMP/broken-cut"
restore_verdict "truncated pack" "$TMP/broken-cut"
CASE="truncated pack"; survey
is "$(rcof checkdata)" 1 "truncated pack: check --read-data exits 1"

# a pack truncated to nothing
fresh empty-pack; : >"$R/$DFILE"
lb -r "$R" check
is "$?" 1 "empty pack: check exits 1"
like "$(cat "$TMP/.lberr")" "$DPACK" "empty pack: check names the pack"
CASE="empty pack"; survey

# a truncated index file
IDX=$(ls "$R0/index" | head -1)
fresh trunc-index; truncate -s $(($(stat -c %s "$R/index/$IDX") / 2)) "$R/index/$IDX"
CASE="truncated index"; survey
is "$(rcof check)" 1 "truncated index: check exits 1"
like "$(errof check)" "$IDX" "truncated index: check names the index file"
# Nothing is lost: every pack is intact and carries its own table of
# contents, so restore can still find every blob.
fresh trunc-index2; for i in "$R"/index/*; do truncate -s 100 "$i"; done
restore_verdict "every index file truncated" "$TMP/broken-none"
if grep -q 'missing from the repository' "$TMP/.lberr"; then
	fail "every index file truncated: restore does not claim intact blobs are missing from the repository"
	grep 'missing from the repository' "$TMP/.lberr" | head -3 | sed 's/^/#   /'
else
	pass "every index file truncated: restore does not claim intact blobs are missing from the repository"
fi
# the next backup adopts the packs no readable index lists, so the old
# snapshot restores again
lb -r "$R" backup "$S"
is "$?" 0 "every index file truncated: the next backup works"
restore_verdict "every index file truncated, after a backup" "$TMP/broken-none"
# index files lost altogether: check and restore must agree — a repository
# that check passes must restore
fresh no-index; rm -f "$R"/index/*
lb -r "$R" check
crc=$?
no_crash "index files deleted: check" "$crc"
restore_verdict "index files deleted" "$TMP/broken-none"
if [ "$crc" -eq 0 ] && [ "$rc" -ne 0 ]; then
	fail "index files deleted: check passed (exit 0) but restore failed (exit $rc)"
else
	pass "index files deleted: check and restore agree (check exit $crc, restore exit $rc)"
fi

# a truncated snapshot (next to an intact one)
fresh trunc-snap
lb -r "$R" backup "$S/d2"
SNAP2=$(cat "$TMP/.lbout")
truncate -s $(($(stat -c %s "$R/snapshots/$SNAP") / 2)) "$R/snapshots/$SNAP"
CASE="truncated snapshot"; survey
is "$(rcof check)" 1 "truncated snapshot: check exits 1"
like "$(errof check)" "$(echo "$SNAP" | cut -c1-12)" "truncated snapshot: check names the snapshot"
is "$(rcof restore)" 1 "truncated snapshot: restoring it exits 1"
is "$(rcof snapshots)" 0 "truncated snapshot: snapshots still lists the others"
like "$(errof snapshots)" "$(echo "$SNAP" | cut -c1-12)" "truncated snapshot: snapshots warns about it by id"
rm -rf "$TMP/out"
lb -r "$R" restore "$SNAP2" --target "$TMP/out"
is "$?" 0 "truncated snapshot: the other snapshot still restores"
ok "truncated snapshot: the other snapshot restores identically" diff -r "$S/d2" "$TMP/out$S/d2"

# foreign files with valid-looking names
FOREIGN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
FSUB=$(echo "$FOREIGN" | cut -c1-2)

fresh foreign-pack; mkdir -p "$R/packs/$FSUB"; head -c 70000 /dev/urandom >"$R/packs/$FSUB/$FOREIGN"
CASE="foreign pack"; survey
is "$(rcof check)" 1 "foreign pack: check exits 1"
like "$(errof check)" "$FOREIGN" "foreign pack: check names the file"
is "$(rcof restore)" 0 "foreign pack: restore of the snapshot still works"

fresh foreign-index; head -c 5000 /dev/urandom >"$R/index/$FOREIGN"
CASE="foreign index"; survey
is "$(rcof check)" 1 "foreign index: check exits 1"
like "$(errof check)" "$FOREIGN" "foreign index: check names the file"

fresh foreign-snapshot; head -c 700 /dev/urandom >"$R/snapshots/$FOREIGN"
CASE="foreign snapshot"; survey
is "$(rcof check)" 1 "foreign snapshot: check exits 1"
like "$(errof check)" "$(echo "$FOREIGN" | cut -c1-12)" "foreign snapshot: check names the file"
is "$(rcof restore)" 0 "foreign snapshot: restore of the real snapshot still works"
is "$(rcof snapshots)" 0 "foreign snapshot: snapshots still lists the real one"

fresh empty-snapshot; : >"$R/snapshots/$FOREIGN"
CASE="empty snapshot file"; survey
is "$(rcof check)" 1 "empty snapshot file: check exits 1"

# a truncated config and a truncated key file
fresh trunc-config; truncate -s 20 "$R/config"
lb -r "$R" snapshots
rc=$?
no_crash "truncated config" "$rc"
is "$rc" 1 "truncated config: exit 1"
like "$(cat "$TMP/.lberr")" "config" "truncated config: the error names the config"

fresh trunc-key; for k in "$R"/keys/*; do truncate -s 30 "$k"; done
lb -r "$R" snapshots
rc=$?
no_crash "truncated key file" "$rc"
is "$rc" 1 "truncated key file: exit 1"
like "$(cat "$TMP/.lberr")" "key" "truncated key file: the error is about the key"

# ---- (c) a newer format version ----
fresh newer
perl -0pi -e 's/"version":\s*1\b/"version": 2/' "$R/config"
like "$(cat "$R/config")" '"version": *2' "config now says version 2"
for cmd in snapshots "backup $S" "restore latest --target $TMP/out" check "cat config"; do
	rm -rf "$TMP/out"
	# shellcheck disable=SC2086
	lb -r "$R" $cmd
	rc=$?
	is "$rc" 1 "version 2: '$(echo "$cmd" | cut -c1-20)' exits 1"
	like "$(cat "$TMP/.lberr")" "version.*newer\|newer.*version" "version 2: '$(echo "$cmd" | cut -c1-20)' says the format version is newer"
done
is "$(ls "$R/snapshots" | wc -l)" 1 "version 2: nothing was written"

rm -rf "$R"
done_testing
