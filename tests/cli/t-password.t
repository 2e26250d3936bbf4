#!/bin/sh
# Passwords: a wrong one is an error that says so (exit 1); `key passwd`
# replaces the password (the old one stops working, the new one works);
# no password and no terminal is a clear error, not a hang; --password-file;
# an unencrypted repository needs no password at all.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
mkdir -p "$S/sub"
printf 'secret payroll\n' >"$S/a.txt"
head -c 300000 /dev/urandom >"$S/sub/b.bin"

# Runs lifeboat with no controlling terminal (setsid) and stdin from
# /dev/null, so a password prompt can never wait for a human.
lb_notty() {
	setsid -w "$LB" "$@" </dev/null >"$TMP/.lbout" 2>"$TMP/.lberr"
}
# The same with LIFEBOAT_PASSWORD and LIFEBOAT_NEW_PASSWORD removed from the environment.
lb_nopw() {
	env -u LIFEBOAT_PASSWORD -u LIFEBOAT_NEW_PASSWORD setsid -w "$LB" "$@" </dev/null >"$TMP/.lbout" 2>"$TMP/.lberr"
}
# Restores SNAPSHOT from REPO with the current environment and compares.
restores_same() {
	rm -rf "$TMP/out"
	lb -r "$1" restore "$2" --target "$TMP/out" && diff -r "$S" "$TMP/out$S" >/dev/null
}

# ---- set up ----
ok "init an encrypted repository" "$LB" -r "$R" init
lb -r "$R" backup "$S"
is "$?" 0 "backup with the right password"
SNAP=$(cat "$TMP/.lbout")
like "$SNAP" '^[0-9a-f]\{64\}$' "backup printed a snapshot id"
# the data is encrypted: the plaintext appears nowhere in the repository
if grep -rq 'secret payroll' "$R"; then fail "plaintext is not visible in the repository"; else pass "plaintext is not visible in the repository"; fi

# ---- wrong password ----
for cmd in snapshots "restore latest --target $TMP/wrong" check "key passwd" "backup $S"; do
	# shellcheck disable=SC2086
	LIFEBOAT_PASSWORD=wrong-horse LIFEBOAT_NEW_PASSWORD=whatever lb_notty -r "$R" $cmd
	rc=$?
	is "$rc" 1 "wrong password: '$cmd' exits 1"
	like "$(cat "$TMP/.lberr")" 'wrong password' "wrong password: '$cmd' says 'wrong password'"
done
[ ! -e "$TMP/wrong" ] || [ -z "$(ls -A "$TMP/wrong")" ]
is "$?" 0 "a wrong password restored nothing"
n=$(ls "$R/snapshots" | grep -c .)
is "$n" 1 "a wrong password wrote no snapshot"

# an empty LIFEBOAT_PASSWORD is no password, not a wrong one
LIFEBOAT_PASSWORD= lb_notty -r "$R" snapshots
is "$?" 1 "empty LIFEBOAT_PASSWORD and no terminal: exit 1"

# ---- no password, no terminal ----
start=$(date +%s)
lb_nopw -r "$R" snapshots
rc=$?
end=$(date +%s)
is "$rc" 1 "no password and no tty: exit 1"
err=$(cat "$TMP/.lberr")
like "$err" 'no password' "no password and no tty: stderr says no password was given"
like "$err" 'password-file\|LIFEBOAT_PASSWORD' "no password and no tty: stderr says how to give one"
ok "no password and no tty: does not wait (took $((end - start)) s)" test $((end - start)) -lt 5

# ---- --password-file ----
printf 'correct-horse\n' >"$TMP/pw-good"     # trailing newline is not part of the password
printf 'wrong-horse\n' >"$TMP/pw-bad"
lb_nopw -r "$R" --password-file "$TMP/pw-good" snapshots
is "$?" 0 "--password-file with the right password (newline stripped)"
like "$(cat "$TMP/.lbout")" "$(echo "$SNAP" | cut -c1-8)" "--password-file: snapshots lists the snapshot"
lb_nopw -r "$R" --password-file "$TMP/pw-bad" snapshots
is "$?" 1 "--password-file with a wrong password: exit 1"
like "$(cat "$TMP/.lberr")" 'wrong password' "--password-file with a wrong password: says so"
lb_nopw -r "$R" --password-file "$TMP/no-such-file" snapshots
is "$?" 1 "--password-file that does not exist: exit 1"
like "$(cat "$TMP/.lberr")" 'no-such-file' "--password-file that does not exist: names the file"
: >"$TMP/pw-empty"
lb_nopw -r "$R" --password-file "$TMP/pw-empty" snapshots
is "$?" 1 "--password-file that is empty: exit 1"
like "$(cat "$TMP/.lberr")" 'pw-empty' "--password-file that is empty: names the file"
lb_nopw -r "$R" --password-file "$TMP/pw-good" backup "$S"
is "$?" 0 "--password-file: backup works"
# --password-file wins over LIFEBOAT_PASSWORD (the explicit option is the intent)
LIFEBOAT_PASSWORD=wrong-horse lb_notty -r "$R" --password-file "$TMP/pw-good" snapshots
is "$?" 0 "--password-file takes precedence over LIFEBOAT_PASSWORD"

# ---- key passwd ----
keys_before=$(ls "$R/keys" | sort)
LIFEBOAT_NEW_PASSWORD=battery-staple lb_notty -r "$R" key passwd
is "$?" 0 "key passwd with LIFEBOAT_NEW_PASSWORD"
keys_after=$(ls "$R/keys" | sort)
is "$(echo "$keys_after" | grep -c .)" 1 "key passwd leaves exactly one key file"
if [ "$keys_before" != "$keys_after" ]; then pass "key passwd replaced the key file"; else fail "key passwd replaced the key file"; fi
lb_notty -r "$R" snapshots
is "$?" 1 "after key passwd the old password fails"
like "$(cat "$TMP/.lberr")" 'wrong password' "after key passwd the old password: 'wrong password'"
LIFEBOAT_PASSWORD=battery-staple lb_notty -r "$R" snapshots
is "$?" 0 "after key passwd the new password works"
LIFEBOAT_PASSWORD=battery-staple restores_same "$R" "$SNAP"
is "$?" 0 "after key passwd the old snapshot restores identically with the new password"
LIFEBOAT_PASSWORD=battery-staple lb_notty -r "$R" check --read-data
is "$?" 0 "after key passwd check --read-data passes"

# --new-password-file
printf 'third-password\n' >"$TMP/pw-new"
LIFEBOAT_PASSWORD=battery-staple lb_notty -r "$R" key passwd --new-password-file "$TMP/pw-new"
is "$?" 0 "key passwd --new-password-file"
LIFEBOAT_PASSWORD=battery-staple lb_notty -r "$R" snapshots
is "$?" 1 "after the second key passwd the previous password fails"
LIFEBOAT_PASSWORD=third-password lb_notty -r "$R" snapshots
is "$?" 0 "after key passwd --new-password-file the new password works (newline stripped)"
LIFEBOAT_PASSWORD=third-password lb_notty -r "$R" --json backup "$S"
is "$?" 0 "backup with the new password"

# key passwd with no new password and no tty: an error, and the old key stays
keys_before=$(ls "$R/keys" | sort)
env -u LIFEBOAT_NEW_PASSWORD LIFEBOAT_PASSWORD=third-password setsid -w "$LB" -r "$R" key passwd \
	</dev/null >"$TMP/.lbout" 2>"$TMP/.lberr"
is "$?" 1 "key passwd without a new password and no tty: exit 1"
like "$(cat "$TMP/.lberr")" 'no password\|new password' "key passwd without a new password: says so"
# ...and names the ways to give the *new* one (--password-file or
# LIFEBOAT_PASSWORD would only set the current one)
like "$(cat "$TMP/.lberr")" 'new-password-file\|LIFEBOAT_NEW_PASSWORD' "key passwd without a new password: says how to give the new one"
is "$(ls "$R/keys" | sort)" "$keys_before" "key passwd that failed left the key files alone"
LIFEBOAT_PASSWORD=third-password lb_notty -r "$R" snapshots
is "$?" 0 "key passwd that failed: the password still works"
LIFEBOAT_PASSWORD=third-password LIFEBOAT_NEW_PASSWORD= lb_notty -r "$R" key passwd --new-password-file "$TMP/pw-empty"
is "$?" 1 "key passwd with an empty new password file: exit 1"
LIFEBOAT_PASSWORD=third-password lb_notty -r "$R" snapshots
is "$?" 0 "key passwd with an empty new password: the password still works"

# ---- init needs a password; init --encryption none needs none ----
lb_nopw -r "$TMP/repo-nopw" init
is "$?" 1 "init of an encrypted repository without a password and no tty: exit 1"
like "$(cat "$TMP/.lberr")" 'password' "init without a password: says a password is needed"
if [ -e "$TMP/repo-nopw/config" ]; then fail "init without a password created no repository"; else pass "init without a password created no repository"; fi

U=$TMP/repo-plain
lb_nopw -r "$U" init --encryption none
is "$?" 0 "init --encryption none without any password"
like "$(cat "$U/config")" '"none"' "config records encryption none"
lb_nopw -r "$U" backup "$S"
is "$?" 0 "backup into the unencrypted repository without a password"
PSNAP=$(cat "$TMP/.lbout")
rm -rf "$TMP/out"
lb_nopw -r "$U" restore "$PSNAP" --target "$TMP/out"
is "$?" 0 "restore from the unencrypted repository without a password"
ok "the unencrypted repository restores identically" diff -r "$S" "$TMP/out$S"
lb_nopw -r "$U" check --read-data
is "$?" 0 "check --read-data on the unencrypted repository"
# a password given anyway is ignored, not an error
LIFEBOAT_PASSWORD=anything lb_notty -r "$U" snapshots
is "$?" 0 "an unencrypted repository ignores a password given anyway"
lb_nopw -r "$U" key passwd --new-password-file "$TMP/pw-new"
is "$?" 1 "key passwd on an unencrypted repository: exit 1"
like "$(cat "$TMP/.lberr")" 'not encrypted' "key passwd on an unencrypted repository: says it is not encrypted"

# an encrypted repository refuses an empty password at init
LIFEBOAT_PASSWORD= lb_notty -r "$TMP/repo-empty" --password-file "$TMP/pw-empty" init
is "$?" 1 "init with an empty password file: exit 1"

done_testing
