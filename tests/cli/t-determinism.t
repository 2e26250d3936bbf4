#!/bin/sh
# The same input gives the same tree ids, however many threads compress it
# and whether or not a files cache was used.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S/a/b" "$S/c"
i=0
while [ $i -lt 40 ]; do
	head -c $((i * 9000 + 100)) /dev/urandom >"$S/a/r$i"
	seq $i $((i * 3000)) >"$S/c/s$i"
	i=$((i + 1))
done
ln -s a/r1 "$S/link"
"$LB" -r "$R" init >/dev/null 2>&1

tree_of() { "$LB" -r "$R" cat snapshot "$1" | awk -F'"' '/"tree"/{print $4}'; }

id1=$("$LB" -r "$R" backup --host one --workers 1 "$S")
id2=$("$LB" -r "$R" backup --host two --workers 4 "$S")   # another host: no parent, every file read again
id3=$("$LB" -r "$R" backup --host two --workers 2 "$S")   # the files cache answers
t1=$(tree_of "$id1")
like "$t1" '^[0-9a-f]\{64\}$' "the manifest names a root tree"
is "$(tree_of "$id2")" "$t1" "1 worker and 4 workers give the same root tree"
is "$(tree_of "$id3")" "$t1" "a run answered from the files cache gives the same root tree"
lb -r "$R" --json snapshots
is "$(grep -c '"parent": *"'"$id2"'"' "$TMP/.lbout")" 1 "the third run used the second as its parent"
done_testing
