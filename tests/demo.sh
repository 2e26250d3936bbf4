#!/bin/sh
# make demo: the nightly job on the embedded default (a local directory
# repository), end to end: init, back up a real directory, verify every
# byte, restore elsewhere, and show that the restore matches the source.
set -eu
LB=./build/lifeboat
REPO=./demo-repo
OUT=./demo-restore
SRC=${DEMO_SRC:-/etc}
# A real set-up keeps the password in a root-only file: --password-file.
export LIFEBOAT_PASSWORD="${LIFEBOAT_PASSWORD:-demo-password-change-me}"

rm -rf "$REPO" "$OUT"
echo "== lifeboat init: a new encrypted repository in $REPO"
$LB -r "$REPO" init
echo "== lifeboat backup $SRC"
set +e
$LB -r "$REPO" -v backup "$SRC" >"$REPO.id"
rc=$?
set -e
if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
	echo "demo: backup failed (exit $rc)" >&2
	exit 1
fi
id=$(tail -1 "$REPO.id")
rm -f "$REPO.id"
echo "snapshot $id"
echo "== lifeboat snapshots"
$LB -r "$REPO" snapshots
echo "== a second, unchanged run reads nothing and adds almost nothing"
$LB -r "$REPO" --json backup "$SRC"
echo "== lifeboat check --read-data: every blob decrypted, decompressed and re-hashed"
$LB -r "$REPO" check --read-data && echo "check: no errors"
echo "== lifeboat restore $id --target $OUT"
$LB -r "$REPO" restore "$id" --target "$OUT"
echo "== compare $SRC with $OUT$SRC: content, then type/mode/owner/size/mtime of every entry"
diff -r --no-dereference "$SRC" "$OUT$SRC"
meta() { (cd "$1" && find . -printf '%p %y %m %U:%G %s %T@\n' | LC_ALL=C sort); }
meta "$SRC" >"$OUT.meta-src"
meta "$OUT$SRC" >"$OUT.meta-restored"
if cmp -s "$OUT.meta-src" "$OUT.meta-restored"; then
	echo "restored tree matches the source: $(wc -l <"$OUT.meta-src") entries, same content and metadata"
	rm -f "$OUT.meta-src" "$OUT.meta-restored"
else
	diff "$OUT.meta-src" "$OUT.meta-restored" | head -20
	echo "demo: metadata differs (files changed while the demo ran?)" >&2
	exit 1
fi
