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
# The tree id of $S itself in a snapshot: the directories above it (/tmp)
# are recorded too, and tests running beside this one change their mtimes.
src_tree() {
	t=$(tree_of "$1")
	for comp in $(echo "$S" | tr '/' ' '); do
		t=$("$LB" -r "$R" cat tree "$t" | jq -r --arg n "$comp" '.[] | select(.name == $n) | .subtree')
	done
	echo "$t"
}

id1=$("$LB" -r "$R" backup --host one --workers 1 "$S")
id2=$("$LB" -r "$R" backup --host two --workers 4 "$S")   # another host: no parent, every file read again
id3=$("$LB" -r "$R" backup --host two --workers 2 "$S")   # the files cache answers
like "$(tree_of "$id1")" '^[0-9a-f]\{64\}$' "the manifest names a root tree"
t1=$(src_tree "$id1")
like "$t1" '^[0-9a-f]\{64\}$' "the source directory has a tree"
is "$(src_tree "$id2")" "$t1" "1 worker and 4 workers give the same tree"
is "$(src_tree "$id3")" "$t1" "a run answered from the files cache gives the same tree"
lb -r "$R" --json snapshots
is "$(grep -c '"parent": *"'"$id2"'"' "$TMP/.lbout")" 1 "the third run used the second as its parent"
done_testing
