#!/bin/sh
# lifeboat find: five "nightly" backups of a tree where a file is kept,
# changed, deleted and brought back; which snapshots had it and which
# version each held, in text and --json; glob on the name or the path;
# --path, --host, --newer/--older; subtrees already searched are skipped;
# unknown hosts and paths are clear errors.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S/www" "$S/mail/cur" "$S/static"
i=0; while [ $i -lt 30 ]; do echo "asset $i" >"$S/static/a$i.css"; i=$((i + 1)); done
printf '<?php echo 1;\n' >"$S/www/index.php"
touch -d '2020-06-01 12:00:00' "$S/www/index.php"
echo msg1 >"$S/mail/cur/1.host:2,S"
touch -d '2019-01-01 00:00:00' "$S/mail/cur/1.host:2,S"

ok "init" "$LB" -r "$R" init
night() { lb -r "$R" backup "$@" "$S" && cat "$TMP/.lbout"; }
echo early >"$S/early"
N1=$(night)                                          # v1
rm "$S/early"
echo other >"$S/www/other.php"; N2=$(night)          # index.php unchanged
printf '<?php echo 2;\n' >"$S/www/index.php"
touch -d '2022-06-01 12:00:00' "$S/www/index.php"; N3=$(night)   # v2
rm "$S/www/index.php"; N4=$(night)                   # gone
printf '<?php echo 1;\n' >"$S/www/index.php"
touch -d '2020-06-01 12:00:00' "$S/www/index.php"; N5=$(night)   # v1 again
W1=$(night --host web2)                              # another host
is "$(printf '%s\n' "$N1" "$N2" "$N3" "$N4" "$N5" "$W1" | grep -c '^[0-9a-f]\{64\}$')" 6 "six backups"
short() { printf '%.12s' "$1"; }

lb -r "$R" find --host "$(hostname)" index.php
is "$?" 0 "find exits 0"
out=$(cat "$TMP/.lbout")
like "$out" "^$S/www/index.php  (in 4 of 5 snapshots, 2 versions)\$" "a heading per path: in how many snapshots, how many versions"
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 6 "then one line per snapshot"
like "$out" "^  .*  $(short "$N1")  file  *14  0644  [0-9]*:[0-9]*  mtime 2020-06-01 12:00:00  v1\$" "night 1: v1, its size, mode and mtime"
like "$out" "  $(short "$N2")  .*  v1\$" "night 2: still v1, not marked"
like "$out" "  $(short "$N3")  .*mtime 2022-06-01 12:00:00  v2  changed\$" "night 3: v2, marked changed"
like "$out" "  $(short "$N4")  (absent)\$" "night 4: absent"
like "$out" "  $(short "$N5")  .*  v1  changed\$" "night 5: back to v1 (same content, same version), marked changed"

lb -r "$R" find index.php
like "$(cat "$TMP/.lbout")" "in 5 of 6 snapshots" "without --host every host's snapshots are searched"
like "$(cat "$TMP/.lbout")" "  $(short "$W1")  web2 .*  v1\$" "...and each line names the host when there are several"
lb -r "$R" find early
like "$(cat "$TMP/.lbout")" "  $(short "$N2")  .*(absent from this and 4 later snapshots, up to " "a run of snapshots without it: one line"
lb -r "$R" find --host web2 index.php
like "$(cat "$TMP/.lbout")" "in 1 of 1 snapshots, 1 version" "--host: that host's only"
lb -r "$R" find --host nosuchhost index.php
is "$?" 1 "an unknown host: exit 1"
like "$(cat "$TMP/.lberr")" "^lifeboat: find: no snapshots of host 'nosuchhost'" "...saying so"

# --json: one object per snapshot and path
lb -r "$R" --json find --host "$(hostname)" index.php
is "$(wc -l <"$TMP/.lbout" | tr -d ' ')" 4 "--json: one line per match"
perl -MJSON::PP -ne 'my $j = decode_json($_); print substr($j->{snapshot}, 0, 12), " $j->{version} ",
	($j->{changed} ? 1 : 0), " $j->{size} $j->{type}\n"' "$TMP/.lbout" >"$TMP/j"
is "$(cat "$TMP/j")" "$(short "$N1") 1 0 14 file
$(short "$N2") 1 0 14 file
$(short "$N3") 2 1 14 file
$(short "$N5") 1 1 14 file" "--json: snapshot, version, changed, size, type"
like "$(head -1 "$TMP/.lbout")" "\"path\":\"$S/www/index.php\"" "--json: the path"

# patterns
lb -r "$R" find --host "$(hostname)" '*.php'
is "$(grep -c '^/' "$TMP/.lbout")" 2 "a glob on the name: index.php and other.php"
lb -r "$R" find --host "$(hostname)" 'www/*.php'
is "$(grep -c '^/' "$TMP/.lbout")" 2 "a glob with a '/' on the end of the path"
lb -r "$R" find --host "$(hostname)" '/www/*.php'
is "$(grep -c '^/' "$TMP/.lbout")" 0 "a glob starting with '/' must match the whole path"
lb -r "$R" find --host "$(hostname)" "$S/www/*.php"
is "$(grep -c '^/' "$TMP/.lbout")" 2 "...as the whole path does"
lb -r "$R" find --host "$(hostname)" -i 'INDEX.PHP'
is "$(grep -c '^/' "$TMP/.lbout")" 1 "-i: ignoring case"
lb -r "$R" find '*:2,S'
like "$(cat "$TMP/.lbout")" "^$S/mail/cur/1.host:2,S  (in 6 of 6 snapshots, 1 version)" "a Maildir message in every snapshot"
lb -r "$R" find nothing-like-this
is "$?:$(cat "$TMP/.lbout")" "0:" "no match: no output, exit 0"

# --path
lb -r "$R" find --path "$S/mail" '*'
is "$(grep -c '^/' "$TMP/.lbout")" 3 "--path: only below it (mail, cur, the message)"
lb -r "$R" find --path /no/such/dir '*'
is "$?" 1 "--path in no snapshot: exit 1"
like "$(cat "$TMP/.lberr")" "^lifeboat: find: /no/such/dir: no such path in any snapshot" "...saying so"

# --newer / --older compare the file's mtime
lb -r "$R" find --host "$(hostname)" --newer 2021-01-01 index.php
like "$(cat "$TMP/.lbout")" "in 1 of 5 snapshots, 1 version" "--newer: only the version changed after that day"
lb -r "$R" find --host "$(hostname)" --older '2021-01-01 00:00' index.php
like "$(cat "$TMP/.lbout")" "in 3 of 5 snapshots, 1 version" "--older: only the earlier version"
lb -r "$R" find --newer 2019-06-01 --older @1600000000 '*'
like "$(cat "$TMP/.lbout")" "index.php" "--newer and --older together"
lb -r "$R" find --newer yesterday x
is "$?" 1 "a time that is not one: exit 1"
like "$(cat "$TMP/.lberr")" "newer: 'yesterday' is not a time" "...saying so"

# speed: unchanged subtrees are not read again from one snapshot to the next
lb -r "$R" -v find '*.css'
like "$(cat "$TMP/.lbout")" "a29.css  (in 6 of 6 snapshots, 1 version)" "30 assets found in each snapshot"
like "$(cat "$TMP/.lberr")" "6 snapshots, [0-9]* trees read, [1-9][0-9]* skipped as already searched" \
	"subtrees already searched were skipped: $(cat "$TMP/.lberr")"
read_trees=$(sed -n 's/.* \([0-9]*\) trees read.*/\1/p' "$TMP/.lberr")
ok "fewer trees read than 6 snapshots x 8 directories ($read_trees)" test "$read_trees" -lt 48

done_testing
