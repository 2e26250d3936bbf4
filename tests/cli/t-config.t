#!/bin/sh
# Backup jobs from the config file: `backup --job NAME` honours the job's
# paths, excludes, tags and host and what it inherits from [global]; the
# command line overrides the job; unknown keys and sections are rejected
# with file:line; a missing job, or a missing file, is named.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
R2=$TMP/repo2
S=$TMP/src
C=$TMP/lifeboat.conf
mkdir -p "$S/www/cache" "$S/etc" "$S/other"
echo index >"$S/www/index.html"
echo tmp >"$S/www/x.tmp"
echo cached >"$S/www/cache/c"
echo conf >"$S/etc/app.conf"
echo log >"$S/etc/app.log"
echo other >"$S/other/o"
"$LB" -r "$R" init >/dev/null 2>&1 && "$LB" -r "$R2" init >/dev/null 2>&1 ||
	{ fail "init"; done_testing; exit 1; }
printf '%s\n' "$LIFEBOAT_PASSWORD" >"$TMP/password"
chmod 600 "$TMP/password"

cat >"$C" <<EOF
; lifeboat.conf for the tests
[global]
repository = $R
password_file = $TMP/password
exclude = *.tmp
keep_daily = 7            ; retention: parsed, not acted on by backup
keep_within = 2w

[job www]
paths = $S/www,
        $S/etc
exclude = $S/www/cache
tag = nightly, www
host = web1
timeout = 2h
keep_last = 3
keep_tag = pre-upgrade

[job empty]
tag = x
EOF

# ---- a job: its paths, excludes, tags and host ----
lb --config "$C" backup --job www
is $? 0 "backup --job www"
id=$(cat "$TMP/.lbout")
lb -r "$R" cat snapshot "$id"
snap=$(tr -d ' \n' <"$TMP/.lbout")
like "$snap" '"host":"web1"' "the job's host is recorded"
like "$snap" '"tags":\["nightly","www"\]' "the job's tags are recorded, every comma-separated one"
like "$snap" "\"excludes\":\[\"\*.tmp\",\"$S/www/cache\"\]" "[global]'s excludes, then the job's"
lb -r "$R" ls "$id"
list=$(cat "$TMP/.lbout")
like "$list" "$S/www/index.html" "the first path is backed up"
like "$list" "$S/etc/app.conf" "a path on a continuation line is backed up"
is "$(printf '%s\n' "$list" | grep -c 'x.tmp')" 0 "[global]'s exclude applies"
is "$(printf '%s\n' "$list" | grep -c '/cache')" 0 "the job's exclude applies"
is "$(printf '%s\n' "$list" | grep -c "$S/other")" 0 "nothing else is backed up"

# ---- the command line overrides the job ----
lb --config "$C" backup --job www --host web2 --tag manual --exclude '*.log' "$S/other"
is $? 0 "backup --job www with options"
id2=$(cat "$TMP/.lbout")
lb -r "$R" cat snapshot "$id2"
snap=$(tr -d ' \n' <"$TMP/.lbout")
like "$snap" '"host":"web2"' "--host replaces the job's host"
like "$snap" '"tags":\["nightly","www","manual"\]' "--tag adds a tag to the job's"
lb -r "$R" ls "$id2"
list=$(cat "$TMP/.lbout")
is "$(printf '%s\n' "$list" | grep -c 'app.log')" 0 "--exclude adds an exclude"
like "$list" "$S/other/o" "a PATH adds a path"
like "$list" "$S/www/index.html" "to the job's paths"
lb -r "$R2" --config "$C" backup --job www
is $? 0 "-r before the command"
ok "-r replaces the job's repository" test "$(find "$R2/snapshots" -type f | wc -l)" -eq 1
"$LB" backup --job www --config "$C" -r "$R2" >/dev/null 2>&1
is $? 0 "--config and -r after the command name"
echo wrong >"$TMP/wrong"
lb --config "$C" backup --job www --password-file "$TMP/wrong"
is $? 1 "--password-file replaces the job's password_file"
like "$(cat "$TMP/.lberr")" "wrong password" "(a wrong one fails)"

# ---- --config without --job: [global] applies ----
lb --config "$C" backup "$S/www"
is $? 0 "--config without --job uses [global]"
lb -r "$R" ls latest
is "$(grep -c 'x.tmp' "$TMP/.lbout")" 0 "its exclude applies"

# ---- a job with nothing to back up ----
lb --config "$C" backup --job empty
is $? 1 "a job without paths fails"
like "$(cat "$TMP/.lberr")" "nothing to back up" "and says why"

# ---- missing jobs and files ----
lb --config "$C" backup --job nosuch
is $? 1 "a missing job: exit 1"
like "$(cat "$TMP/.lberr")" "$C: no \[job nosuch\] in it (its jobs: www, empty)" "names it, and the jobs there are"
lb --config "$TMP/none.conf" backup --job www
is $? 1 "a missing config file: exit 1"
like "$(cat "$TMP/.lberr")" "config file $TMP/none.conf: No such file or directory" "names the file"
if [ ! -e /etc/lifeboat/lifeboat.conf ]; then
	lb backup --job www
	like "$(cat "$TMP/.lberr")" "config file /etc/lifeboat/lifeboat.conf: No such file" \
		"--job without --config reads /etc/lifeboat/lifeboat.conf"
else
	skip "/etc/lifeboat/lifeboat.conf exists here"
fi
lb -r "$R" backup "$S/www"
is $? 0 "without --job or --config no config file is needed"

# ---- bad configs: file, line and key ----
# bad TEXT PATTERN DESCRIPTION: a config with TEXT must fail saying PATTERN
bad() {
	printf '%b' "$1" >"$TMP/bad.conf"
	lb --config "$TMP/bad.conf" backup --job a
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q -- "$2" "$TMP/.lberr"; then
		pass "$3"
	else
		fail "$3"
		echo "#   rc $rc: $(cat "$TMP/.lberr")"
		echo "#   wanted: /$2/"
	fi
}
bad "[job a]\npaths = /x\nexlude = *.tmp\n" "lifeboat: backup: $TMP/bad.conf:3: unknown key 'exlude' in \[job a\]" \
	"an unknown key: file, line and key"
bad "[global]\nrepo = /x\n[job a]\npaths = /x\n" "bad.conf:2: unknown key 'repo' in \[global\]" "an unknown key in [global]"
bad "[job a]\npaths = /x\n\n[jobs b]\n" "bad.conf:4: unknown section \[jobs b\]" "an unknown section: file and line"
bad "[job a]\npaths = /x\n[job a]\n" "bad.conf:3: \[job a\] appears twice (first on line 1)" "a job defined twice"
bad "[job a]\npaths = /x\ntimeout = soon\n" "bad.conf:3: timeout: 'soon' is not a duration" "a bad duration"
bad "[job a]\npaths = /x\nworkers = 500\n" "bad.conf:3: workers: '500' is not a number from 1 to 64" "a number out of range"
bad "[job a]\npaths = /x\nmysql_mode = fast\n" "bad.conf:3: mysql_mode: 'fast' is neither logical nor snapshot" \
	"a bad mysql_mode"
bad "[job a]\npaths = /x\nkeep_within = forever\n" "bad.conf:3: keep_within: 'forever' is not a span" \
	"a bad retention key"
bad "[job a]\npaths = /x\nhost = a\nhost = b\n" "bad.conf:4: 'host' is given twice" "a scalar given twice"
bad "[job a]\npaths = /x\nthis is not ini\n" "bad.conf:3: 'this is not ini' is not 'key = value'" "a line that is not INI"
printf '[job a]\npaths = /x\n' >"$TMP/bad.conf"
chmod 666 "$TMP/bad.conf"
lb --config "$TMP/bad.conf" backup --job a
like "$(cat "$TMP/.lberr")" "writable by other users" "a config anybody can write is refused (its hooks run as root)"

# ---- every documented key parses: the example config ----
ex="$TESTS_DIR/../dist/lifeboat.conf.example"
if [ -f "$ex" ]; then
	cp "$ex" "$TMP/example.conf"
	chmod 644 "$TMP/example.conf"
	lb --config "$TMP/example.conf" backup --job no-such-job-in-the-example
	like "$(cat "$TMP/.lberr")" "no \[job no-such-job-in-the-example\] in it (its jobs: " \
		"dist/lifeboat.conf.example parses"
else
	fail "dist/lifeboat.conf.example is missing"
fi

done_testing
