#!/bin/sh
# Retention and prune.
#  1. forget: keep rules per host and path group, --dry-run changes
#     nothing, a policy-less forget is refused, --json.
#  2. prune frees the space of forgotten snapshots, repacks partly used
#     packs, and what remains restores byte for byte.
#  3. A backup that is running while prune condemns the data it is
#     reusing (it loaded the index before the plan) is neither broken nor
#     refused: the sweep waits for it, then keeps the packs it came to use.
#  4. Stress: rounds of backups and forget --prune at the same time, with
#     kill -9 striking backups and prunes at random instants (prune pauses
#     between its steps so kills land everywhere); check --read-data
#     passes after every round and the newest snapshot restores.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
A=$TMP/a
STALLFS=$HELPERS/stallfs
MNT=$TMP/mnt
SPID=""
PIDS=""

at_exit stop_pids_and_stallfs

nsnap() { ls "$R/snapshots" | wc -l | tr -d ' '; }
repo_kb() { du -sk "$R/packs" | cut -f1; }

# restore_same SNAPSHOT TREE: the snapshot restores TREE byte for byte.
restore_same() {
	rm -rf "$TMP/out"
	lb -r "$R" restore "$1" --target "$TMP/out" && diff -r "$2" "$TMP/out$2" >/dev/null
}

ok "init" "$LB" -r "$R" init

# ---- 1. forget ----
mkdir -p "$A" "$TMP/b"
for i in 1 2 3 4; do
	rm -f "$A"/f*   # every night new data: what the forgotten ones held is garbage
	head -c 3000000 /dev/urandom >"$A/f$i"
	if [ $i -eq 2 ]; then tag="--tag keepme"; else tag=""; fi
	# shellcheck disable=SC2086
	"$LB" -r "$R" backup --host web1 $tag "$A" >"$TMP/web1.id" 2>/dev/null
done
head -c 1000000 /dev/urandom >"$TMP/b/g"
"$LB" -r "$R" backup -q --host web2 "$TMP/b" >/dev/null 2>&1
"$LB" -r "$R" backup -q --host web2 "$TMP/b" >/dev/null 2>&1
is "$(nsnap)" 6 "six snapshots on two hosts"

lb -r "$R" forget --keep-last 1 --keep-tag keepme --dry-run
is "$?" 0 "forget --dry-run exits 0"
out=$(cat "$TMP/.lbout")
like "$out" "web1 $A" "dry run: names the web1 group"
like "$out" "web2 $TMP/b" "dry run: names the web2 group"
like "$out" "keep .*last 1" "dry run: says which rule keeps the newest"
like "$out" "keep .*tag keepme" "dry run: says the tag keeps the tagged one"
like "$out" "forget .*no rule keeps it" "dry run: says why the others go"
like "$out" "3 kept, 3 would be forgotten" "dry run: 3 kept, 3 to go"
is "$(nsnap)" 6 "dry run: nothing forgotten"

lb -r "$R" forget
is "$?" 1 "forget without a rule is refused"
like "$(cat "$TMP/.lberr")" "no --keep-\* rule" "the refusal says why"
is "$(nsnap)" 6 "and forgets nothing"

lb -r "$R" forget --keep-last x
is "$?" 1 "a bad count is refused"
lb -r "$R" forget --keep-within 3q
is "$?" 1 "a bad span is refused"

lb -r "$R" --json forget --keep-last 1 --keep-tag keepme --dry-run
ok "forget --json is JSON listing every snapshot" python3 -c "
import json,sys; d=json.load(open('$TMP/.lbout')); s=d['snapshots']
assert len(s)==6 and sum(x['keep'] for x in s)==3 and not any(x['forgotten'] for x in s)"

size0=$(repo_kb)
lb -r "$R" forget --keep-last 1 --keep-tag keepme
is "$?" 0 "forget exits 0"
is "$(nsnap)" 3 "three snapshots remain"
lb -r "$R" snapshots --host web1
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" 2 "web1 keeps its newest and its tagged snapshot"
is "$(repo_kb)" "$size0" "forget alone frees nothing (prune does)"

# ---- 2. prune ----
lb -r "$R" prune --dry-run
is "$?" 0 "prune --dry-run exits 0"
is "$(repo_kb)" "$size0" "prune --dry-run changes nothing"
lb -r "$R" prune
is "$?" 0 "prune exits 0"
out=$(cat "$TMP/.lbout")
diag "$(echo "$out" | tr '\n' '|')"
like "$out" "deleted [1-9][0-9]* pack" "prune deletes packs"
size1=$(repo_kb)
ok "prune freed space ($size0 KiB -> $size1 KiB)" test "$size1" -lt "$size0"
ok "no plan is left behind" test ! -e "$R/locks/prune-plan"
lb -r "$R" check --read-data
is "$?" 0 "check --read-data passes after prune"
restore_same "$(cat "$TMP/web1.id")" "$A"
is "$?" 0 "the newest snapshot still restores byte for byte"

# repacking: a snapshot whose packs are mostly garbage
head -c 2000000 /dev/urandom >"$A/f4"
head -c 200000 /dev/urandom >"$A/small"
"$LB" -r "$R" backup --host web1 "$A" >/dev/null 2>&1    # one pack: f4 and small
head -c 2000000 /dev/urandom >"$A/f4"
"$LB" -r "$R" backup --host web1 "$A" >"$TMP/web1.id" 2>/dev/null
lb -r "$R" forget --host web1 --keep-last 1             # that pack is now mostly garbage
lb -r "$R" prune --repack-threshold 10
out=$(cat "$TMP/.lbout")
diag "$(echo "$out" | tr '\n' '|')"
like "$out" "[1-9][0-9]* packs\{0,1\} to repack" "prune repacks the pack that is mostly garbage"
like "$out" "live blobs moved" "and moves its live blobs"
lb -r "$R" check --read-data
is "$?" 0 "check --read-data passes after a prune that repacked"
restore_same "$(cat "$TMP/web1.id")" "$A"
is "$?" 0 "the repacked snapshot restores byte for byte"
lb -r "$R" prune
like "$(cat "$TMP/.lbout")" "nothing to prune" "a second prune finds nothing to do"

# ---- 2b. the policy of a job in the config file ----
mkdir -p "$TMP/j"
cat >"$TMP/lifeboat.conf" <<EOF
[global]
repository = $R

[job www]
paths = $TMP/j
host = jobhost
keep_last = 2
EOF
for i in 1 2 3 4; do
	head -c 500000 /dev/urandom >"$TMP/j/f"
	"$LB" --config "$TMP/lifeboat.conf" backup --job www -q >/dev/null 2>&1
done
"$LB" -r "$R" backup -q --host jobhost "$TMP/b" >/dev/null 2>&1   # same host, other paths: not the job's
lb -r "$R" snapshots --host jobhost
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" 5 "the job made four snapshots (and one other on its host)"
lb --config "$TMP/lifeboat.conf" forget --job www --prune
is "$?" 0 "forget --job www --prune exits 0 (repository and policy from the job)"
like "$(cat "$TMP/.lbout")" "2 kept, 2 forgotten" "the job's keep_last = 2 applies to the job's snapshots"
lb -r "$R" snapshots --host jobhost
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" 3 "the other snapshot on the job's host is untouched"
lb --config "$TMP/lifeboat.conf" forget --job nosuch
is "$?" 1 "an unknown job is an error"

# ---- 3. a backup running across the plan ----
if [ ! -e /dev/fuse ] || [ ! -x "$STALLFS" ]; then
	skip "no FUSE (or no stallfs helper): needs a backup that stays running"
else
	mkdir -p "$MNT"
	"$STALLFS" --release "$TMP/release" --log "$TMP/stallfs.log" "$MNT" 2>"$TMP/stallfs.err" &
	SPID=$!
	i=0
	while [ $i -lt 50 ] && ! grep -q " $MNT " /proc/mounts; do sleep 0.1; i=$((i + 1)); done
	if ! grep -q " $MNT " /proc/mounts; then
		skip "cannot mount FUSE here: $(head -c 200 "$TMP/stallfs.err" | tr '\n' ' ')"
	else
		# X: the readable part of the stalled tree, backed up and forgotten,
		# so its chunks are garbage until the stalled backup reuses them
		mkdir -p "$TMP/x"
		cp "$MNT/data.bin" "$MNT/hello.txt" "$TMP/x/"
		"$LB" -r "$R" backup -q --host hx "$TMP/x" >/dev/null 2>&1
		"$LB" -r "$R" backup -q --host hm "$A" >/dev/null 2>&1
		lb -r "$R" forget --host hx --keep-tag none-has-this
		lb -r "$R" snapshots --host hx
		is "$(cat "$TMP/.lbout")" "" "the copy of X is forgotten"
		"$LB" -r "$R" backup --host hs "$MNT" >"$TMP/stalled.out" 2>"$TMP/stalled.err" &
		BPID=$!
		PIDS=$BPID
		i=0
		while [ $i -lt 100 ] && ! grep -q 'read stuck-here' "$TMP/stallfs.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
		ok "a backup that reuses X's chunks is running, stuck on a read" grep -q 'read stuck-here' "$TMP/stallfs.log"
		packs_before=$(find "$R/packs" -type f | wc -l)
		lb -r "$R" prune
		is "$?" 0 "prune during the backup exits 0 (not refused)"
		out=$(cat "$TMP/.lbout")
		like "$out" "waits for 'backup' on .*pid $BPID" "prune says the sweep waits for the running backup"
		ok "the plan is recorded" test -e "$R/locks/prune-plan"
		is "$(find "$R/packs" -type f | wc -l)" "$packs_before" "no pack is deleted while the backup runs"
		lb -r "$R" prune
		like "$(cat "$TMP/.lbout")" "waits for" "a second prune still waits"
		touch "$TMP/release"
		wait "$BPID"
		is "$?" 0 "the backup finishes"
		PIDS=""
		S=$(cat "$TMP/stalled.out")
		lb -r "$R" check
		is "$?" 0 "check passes while the plan waits (condemned data is still readable)"
		lb -r "$R" prune; rc=$?
		[ "$rc" -eq 0 ] || diag "prune: $(tr '\n' '|' <"$TMP/.lberr")"
		is "$rc" 0 "the next prune sweeps"
		out=$(cat "$TMP/.lbout")
		diag "$(echo "$out" | tr '\n' '|')"
		like "$out" "kept 1 condemned pack" "the sweep keeps the pack the backup came to use"
		ok "the plan is gone" test ! -e "$R/locks/prune-plan"
		lb -r "$R" check --read-data
		is "$?" 0 "check --read-data passes"
		ok "check has nothing to warn about" sh -c "! grep -q 'condemned\|missing' '$TMP/.lberr'"
		rm -rf "$TMP/out"
		lb -r "$R" restore "$S" --target "$TMP/out" --include "$MNT/data.bin"
		ok "the backup's file that reused X's chunks restores" cmp "$TMP/x/data.bin" "$TMP/out$MNT/data.bin"
		kill "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
		SPID=""
		umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
	fi
fi

# ---- 4. stress: backups, prunes and kill -9 ----
mkdir -p "$TMP/s"
i=1
while [ $i -le 12 ]; do head -c $((1000000 + i * 370000)) /dev/urandom >"$TMP/s/f$i"; i=$((i + 1)); done
"$LB" -r "$R" backup -q --host st "$TMP/s" >/dev/null 2>&1
rounds=${LIFEBOAT_PRUNE_ROUNDS:-10}
round=1
killed_prune=0
killed_backup=0
while [ $round -le "$rounds" ]; do
	# change the tree: a new file, a rewritten one, a deleted one
	head -c 9000000 /dev/urandom >"$TMP/s/new$round"
	head -c 3000000 /dev/urandom >"$TMP/s/f$((round % 12 + 1))"
	[ $round -gt 2 ] && rm -f "$TMP/s/new$((round - 2))"
	cp -a "$TMP/s" "$TMP/s.round"
	"$LB" -r "$R" backup --host st "$TMP/s" >"$TMP/b1.out" 2>"$TMP/b1.err" &
	b1=$!
	LIFEBOAT_TEST_PRUNE_PAUSE_MS=60 "$LB" -r "$R" forget -q --host st --keep-last 2 --prune --repack-threshold 5 \
		>"$TMP/p.out" 2>"$TMP/p.err" &
	p=$!
	"$LB" -r "$R" backup -q --host st2 "$TMP/s" >"$TMP/b2.out" 2>"$TMP/b2.err" &
	b2=$!
	PIDS="$b1 $p $b2"
	# kill one of them at a random instant (or none, one round in four)
	delay=$(awk -v s="$round" 'BEGIN { srand(s * 7919 + '"$$"'); printf "%.2f", rand() * 0.6 }')
	victim=$(awk -v s="$round" 'BEGIN { srand(s * 104729 + '"$$"'); print int(rand() * 4) }')
	# backups are quicker than a pausing prune: strike them sooner
	[ "$victim" -eq 1 ] && delay=$(awk -v d="$delay" 'BEGIN { printf "%.2f", d / 3 }')
	sleep "$delay"
	case $victim in
	0) kill -9 "$p" 2>/dev/null ;;
	1) kill -9 "$b1" 2>/dev/null ;;
	2) kill -9 "$p" "$b2" 2>/dev/null ;;
	esac
	wait "$b1"; rb1=$?
	wait "$p"; rp=$?
	wait "$b2"; rb2=$?
	[ $rp -eq 137 ] && killed_prune=$((killed_prune + 1))
	[ $rb1 -eq 137 ] && killed_backup=$((killed_backup + 1))
	[ $rb2 -eq 137 ] && killed_backup=$((killed_backup + 1))
	PIDS=""
	diag "round $round: kill after ${delay}s, victim $victim; exits: backup $rb1, prune $rp, backup $rb2"
	for x in "b1:$rb1" "p:$rp" "b2:$rb2"; do
		n=${x%%:*}
		c=${x#*:}
		if [ "$c" -ne 0 ] && [ "$c" -ne 137 ]; then
			diag "round $round: $n failed with $c: $(head -c 600 "$TMP/$n.err" | tr '\n' '|')"
		fi
	done
	ok "round $round: nothing but the killed failed" sh -c "
		for c in $rb1 $rp $rb2; do [ \$c -eq 0 ] || [ \$c -eq 137 ] || exit 1; done"
	# finish whatever the killed prune left (a backup may still be running: none is)
	lb -r "$R" prune; rc=$?
	[ "$rc" -eq 0 ] || diag "round $round: prune: $(tr '\n' '|' <"$TMP/.lberr")"
	ok "round $round: a prune afterwards succeeds" test "$rc" -eq 0
	lb -r "$R" check --read-data
	rc=$?
	is "$rc" 0 "round $round: check --read-data passes"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/.lberr" | head -20
	if [ "$rb1" -eq 0 ]; then
		restore_same "$(cat "$TMP/b1.out")" "$TMP/s"
		is "$?" 0 "round $round: the backup taken meanwhile restores byte for byte"
	fi
	rm -rf "$TMP/s.round"
	round=$((round + 1))
done
diag "kills: $killed_prune prunes, $killed_backup backups"
lb -r "$R" prune
ok "no plan is left after a final prune" test ! -e "$R/locks/prune-plan"
left=$(find "$R" -name '.tmp-*' | wc -l)
diag "temporaries left by killed writers: $left (prune removes those older than a day)"
done_testing
