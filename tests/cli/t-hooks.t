#!/bin/sh
# Pre and post hooks (docs/HOOKS.md): a failing pre hook stops the backup
# with a clear error and exit 1; post hooks run after success, warnings and
# failure, with the documented environment; a hook that hangs past its
# timeout is killed with its children, the job fails naming the hook and the
# timeout, and no snapshot is written; hook output reaches stderr.
. "$(dirname "$0")/../lib.sh"

R=$TMP/repo
S=$TMP/src
C=$TMP/lifeboat.conf
CALLS=$TMP/calls
mkdir -p "$S/a" "$S/b"
echo one >"$S/a/one"
echo two >"$S/b/two"
"$LB" -r "$R" init >/dev/null 2>&1 || { fail "init"; done_testing; exit 1; }

# rec NAME: what a hook sees, appended to $CALLS
cat >"$TMP/rec" <<'EOF'
#!/bin/sh
{
	echo "== $1 phase=$LIFEBOAT_PHASE job=$LIFEBOAT_JOB host=$LIFEBOAT_HOST"
	echo "status=${LIFEBOAT_STATUS-unset} exit=${LIFEBOAT_EXIT-unset} snapshot=${LIFEBOAT_SNAPSHOT-unset}"
	echo "error=${LIFEBOAT_ERROR-unset}"
	echo "repo=$LIFEBOAT_REPO password=${LIFEBOAT_PASSWORD-unset} notify=${LIFEBOAT_NOTIFY_MAIL-unset}"
	printf 'paths=%s|\n' "$LIFEBOAT_PATHS"
	[ -n "${LIFEBOAT_LOG-}" ] && sed 's/^/log: /' "$LIFEBOAT_LOG"
} >>"$REC_OUT"
exit 0
EOF
chmod +x "$TMP/rec"
export REC_OUT="$CALLS"
nsnap() { find "$R/snapshots" -type f | wc -l | tr -d ' '; }

cat >"$C" <<EOF
[global]
repository = $R
notify_mail = admin@example.com
post_hook = $TMP/rec global-post

[job ok]
paths = $S/a
	$S/b
host = web1
pre_hook = $TMP/rec pre1
pre_hook = $TMP/rec pre2
pre_hook = ls -l /proc/\$\$/fd/ >$TMP/fds.pre
post_hook = $TMP/rec post1
post_hook = ls -l /proc/\$\$/fd/ >$TMP/fds.post

[job prefail]
paths = $S
pre_hook = $TMP/rec pre1
pre_hook = echo "the database is not there" >&2; exit 4
pre_hook = $TMP/rec never
post_hook = $TMP/rec post1

[job backupfail]
paths = $S, $TMP/no-such-dir
post_hook = $TMP/rec post1

[job hang]
paths = $S
hook_timeout = 1
pre_hook = echo waiting; sh -c 'sleep 1000 & echo \$! >$TMP/sleeper.pid; wait'
post_hook = $TMP/rec post1

[job posthang]
paths = $S
hook_timeout = 1
post_hook = sleep 1000
post_hook = $TMP/rec post2

[job postfail]
paths = $S
post_hook = echo "could not remove the LVM snapshot" >&2; exit 2
post_hook = $TMP/rec post2

[job quiet]
paths = $S
pre_hook = echo "chatty but fine"
EOF

# ---- success: order and environment ----
: >"$CALLS"
lb --config "$C" backup --job ok
is $? 0 "a job with hooks succeeds"
id=$(cat "$TMP/.lbout")
calls=$(cat "$CALLS")
is "$(grep '^== ' "$CALLS" | cut -d' ' -f2 | tr '\n' ' ')" "pre1 pre2 post1 global-post " \
	"pre hooks in order, then the job's post hooks, then [global]'s"
like "$calls" "== pre1 phase=pre job=ok host=web1" "pre: LIFEBOAT_PHASE, LIFEBOAT_JOB, LIFEBOAT_HOST"
like "$calls" "^status=unset exit=unset snapshot=unset" "pre: no outcome yet"
like "$calls" "== post1 phase=post job=ok" "post: LIFEBOAT_PHASE=post"
like "$calls" "^status=ok exit=0 snapshot=$id" "post: LIFEBOAT_STATUS=ok, LIFEBOAT_EXIT=0, LIFEBOAT_SNAPSHOT"
like "$calls" "^repo=$R password=unset notify=admin@example.com" \
	"LIFEBOAT_REPO and the notify settings; never the password"
like "$calls" "^paths=$S/a" "LIFEBOAT_PATHS"
is "$(grep -A1 '^paths=' "$CALLS" | head -2 | tr '\n' '#')" "paths=$S/a#$S/b|#" "LIFEBOAT_PATHS is newline-separated"
# what the hook's shell holds: stdin, its output pipe and the file it
# writes (dash keeps a copy of stdout at 10 while it redirects)
is "$(sed -n 's/.* -> //p' "$TMP/fds.pre" "$TMP/fds.post" |
	grep -v -e '^/dev/null$' -e '^pipe:' -e "^$TMP/fds\.")" "" \
	"hooks get no descriptor of lifeboat's (the job lock, the repository)"
is "$(grep -c ' 0 -> /dev/null' "$TMP/fds.pre")" 1 "their stdin is /dev/null"
is "$(cat "$TMP/.lberr")" "" "hooks that succeed are silent under cron"

# ---- a pre hook fails ----
: >"$CALLS"
n=$(nsnap)
lb --config "$C" backup --job prefail
is $? 1 "a failing pre hook: exit 1"
err=$(cat "$TMP/.lberr")
like "$err" "pre hook 'echo \"the database is not there\" >&2; exit 4' exited with status 4; the backup did not run" \
	"the error names the hook and the cause"
like "$err" "backup: pre hook echo: the database is not there" "the failing hook's output reaches stderr"
is "$(nsnap)" "$n" "no snapshot is written"
is "$(grep -c '== never' "$CALLS")" 0 "later pre hooks do not run"
is "$(grep '^== ' "$CALLS" | cut -d' ' -f2 | tr '\n' ' ')" "pre1 post1 global-post " "post hooks still run"
like "$calls$(cat "$CALLS")" "status=failed exit=1 snapshot=unset" "post: LIFEBOAT_STATUS=failed, LIFEBOAT_EXIT=1"
like "$(cat "$CALLS")" "^error=pre hook .* exited with status 4" "post: LIFEBOAT_ERROR names the failed hook"
like "$(cat "$CALLS")" "^log: lifeboat: backup: pre hook echo: the database is not there" \
	"post: LIFEBOAT_LOG holds the run's messages and hook output"

# ---- the backup fails ----
: >"$CALLS"
lb --config "$C" backup --job backupfail
is $? 1 "a failing backup: exit 1"
like "$(cat "$CALLS")" "== post1 phase=post job=backupfail" "post hooks run after a failed backup"
like "$(cat "$CALLS")" "^error=$TMP/no-such-dir: No such file or directory" "with the backup's error"

# ---- a pre hook hangs past its timeout ----
: >"$CALLS"
n=$(nsnap)
before=$(find "$R" | sort | cksum)
start=$(date +%s)
lb --config "$C" backup --job hang
rc=$?
took=$(($(date +%s) - start))
is "$rc" 1 "a hanging pre hook: exit 1"
err=$(cat "$TMP/.lberr")
like "$err" "pre hook 'echo waiting; sh -c .*' timed out after 1 s" "the error names the hook and the timeout"
like "$err" "the backup did not run" "and says the backup did not run"
like "$err" "pre hook echo: waiting" "its output so far reaches stderr"
ok "it is killed within its timeout and grace period ($took s)" test "$took" -lt 8
is "$(nsnap)" "$n" "nothing half-written: no snapshot"
is "$(find "$R" | sort | cksum)" "$before" "nor any other file in the repository"
pid=$(cat "$TMP/sleeper.pid" 2>/dev/null)
state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
ok "its child (sleep 1000, pid $pid) is killed too" test -n "$pid" -a \( -z "$state" -o "$state" = Z \)
like "$(cat "$CALLS")" "== post1 phase=post job=hang" "post hooks run after a pre hook timed out"

# ---- a post hook hangs ----
: >"$CALLS"
n=$(nsnap)
lb --config "$C" backup --job posthang
is $? 1 "a hanging post hook: exit 1"
like "$(cat "$TMP/.lberr")" "post hook 'sleep 1000' timed out after 1 s.*snapshot [0-9a-f]\{12\} was written and is kept" \
	"the error names the post hook, and the snapshot is kept"
is "$(nsnap)" "$((n + 1))" "the snapshot is there"
like "$(cat "$CALLS")" "status=failed exit=1 snapshot=[0-9a-f]\{64\}" "later post hooks run, and see the failure"

# ---- a post hook fails ----
: >"$CALLS"
lb --config "$C" backup --job postfail
is $? 1 "a failing post hook: exit 1"
like "$(cat "$TMP/.lberr")" "post hook 'echo \"could not remove the LVM snapshot\" >&2; exit 2' exited with status 2" \
	"the error names the post hook"
like "$(cat "$TMP/.lberr")" "post hook echo: could not remove the LVM snapshot" "its output reaches stderr"
like "$(cat "$CALLS")" "^error=post hook .* exited with status 2" "the next post hook sees LIFEBOAT_ERROR"

# ---- output of hooks that succeed ----
lb --config "$C" backup --job quiet
is "$(cat "$TMP/.lberr")" "" "a successful hook's output is not shown under cron"
lb --config "$C" -v backup --job quiet
like "$(cat "$TMP/.lberr")" "backup: pre hook echo: chatty but fine" "with -v it reaches stderr"

# ---- command-line hooks, no config ----
: >"$CALLS"
lb -r "$R" backup --pre-hook "$TMP/rec cli-pre" --post-hook "$TMP/rec cli-post" --hook-timeout 30s "$S"
is $? 0 "--pre-hook and --post-hook"
is "$(grep '^== ' "$CALLS" | cut -d' ' -f2,4 | tr '\n' ' ')" "cli-pre job= cli-post job= " \
	"they run, with an empty LIFEBOAT_JOB"
lb -r "$R" backup --hook-timeout soon "$S"
is $? 1 "a bad --hook-timeout is refused"
like "$(cat "$TMP/.lberr")" "hook-timeout: 'soon' is not a duration" "with a reason"

# ---- a second run of a job waits for nothing and runs no hook ----
: >"$CALLS"
cat >>"$C" <<EOF

[job slow]
paths = $S
pre_hook = sleep 2
post_hook = $TMP/rec slow-post
EOF
"$LB" --config "$C" backup --job slow >/dev/null 2>&1 &
first=$!
sleep 1
lb --config "$C" backup --job slow
is $? 1 "a second run of a job while its pre hook runs: exit 1"
like "$(cat "$TMP/.lberr")" "backup job slow is already running" "the lock is held during the hooks"
wait "$first"
is $? 0 "the first run finishes"
is "$(grep -c '== slow-post' "$CALLS")" 1 "only the run that held the lock ran its post hooks"

# ---- SIGTERM during a pre hook (systemctl stop) ----
: >"$CALLS"
"$LB" --config "$C" backup --job slow >/dev/null 2>"$TMP/term.err" &
pid=$!
sleep 1
kill -TERM "$pid"
wait "$pid"
is $? 1 "SIGTERM during a pre hook: exit 1"
like "$(cat "$TMP/term.err")" "pre hook 'sleep 2' stopped: lifeboat was interrupted" "the hook is stopped"
is "$(grep -c '== slow-post' "$CALLS")" 1 "and the post hooks still run"

# ---- warnings (as nobody: root reads everything) ----
if is_root && command -v setpriv >/dev/null; then
	: >"$CALLS"
	mkdir -p "$TMP/w"
	echo x >"$TMP/w/locked"
	chmod 000 "$TMP/w/locked"
	chmod -R a+rwX "$R" "$TMP/calls"
	chmod a+rx "$TMP"
	mkdir -p "$TMP/locks-nobody"
	chown nobody "$TMP/locks-nobody"
	setpriv --reuid=nobody --regid=nogroup --clear-groups env LIFEBOAT_LOCK_DIR="$TMP/locks-nobody" \
		"$LB" -r "$R" backup --post-hook "$TMP/rec warn-post" "$TMP/w" >/dev/null 2>&1
	is $? 3 "a backup with warnings: exit 3"
	like "$(cat "$CALLS")" "status=warning exit=3 snapshot=[0-9a-f]\{64\}" "post: LIFEBOAT_STATUS=warning"
	chmod 644 "$TMP/w/locked"
else
	skip "needs root and setpriv for a backup with warnings"
	skip "needs root and setpriv for a backup with warnings"
fi

done_testing
