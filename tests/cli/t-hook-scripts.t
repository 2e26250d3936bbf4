#!/bin/sh
# The shipped hooks (hooks/): argument checking and missing-tool errors,
# and their logic against stand-in commands (no LVM, ZFS, Postfix or
# Dovecot here): every step they take is logged by the stubs, so the tests
# check what they would run, and that a failure or a timeout never leaves a
# snapshot or a hold behind.  The stubs come first in PATH; the hooks only
# append the sbin directories to it.
. "$(dirname "$0")/../lib.sh"

H=$TESTS_DIR/../hooks
B=$TMP/bin
LOG=$TMP/log
mkdir -p "$B"
PATH_NOSTUB=$PATH
export PATH="$B:$PATH"
export LVM_STATE="$TMP/lvm" ZFS_STATE="$TMP/zfs" PF="$TMP/postfix" DV="$TMP/dovecot" MOUNTS="$TMP/mounts"
export STUB_LOG="$LOG" LIFEBOAT_STATE_DIR="$TMP/state"
mkdir -p "$LVM_STATE" "$ZFS_STATE" "$PF" "$DV"
: >"$MOUNTS"
unset LIFEBOAT_JOB LIFEBOAT_DATADIR LIFEBOAT_NOTIFY_MAIL LIFEBOAT_LOG

stub() { # stub NAME BODY: a command in $B that logs its arguments, then runs BODY
	{
		echo '#!/bin/sh'
		echo 'echo "'"$1"' $*" >>"$STUB_LOG"'
		printf '%s\n' "$2"
	} >"$B/$1"
	chmod +x "$B/$1"
}
# hook NAME ARGS: stdout to $TMP/out, stderr to $TMP/err; returns the status
hook() { h=$1; shift; "$H/$h" "$@" >"$TMP/out" 2>"$TMP/err"; }
logged() { cat "$LOG" 2>/dev/null; }

# ---- common stubs: mounts ----
stub mount 'eval "d=\${$#}"; [ -z "${STUB_MOUNT_FAIL-}" ] || { echo "mount: wrong fs type" >&2; exit 32; }; echo "$d" >>"$MOUNTS"'
stub umount 'grep -vx "$1" "$MOUNTS" >"$MOUNTS.n" || :; mv "$MOUNTS.n" "$MOUNTS"'
stub mountpoint 'grep -qx "$2" "$MOUNTS"'
stub udevadm 'exit 0'
stub blkid 'echo "${STUB_FSTYPE:-ext4}"'
# findmnt: -T PATH answers from $FINDMNT (SOURCE TARGET FSTYPE); -S answers from the mounts
stub findmnt '
field= t= s=
while [ $# -gt 0 ]; do case $1 in -o) field=$2; shift ;; -T) t=$2 ;; -S) s=$2 ;; esac; shift; done
[ -n "$t" ] || [ -n "$s" ] || exit 1
[ -n "$FINDMNT" ] || exit 1
set -- $FINDMNT
case $field in SOURCE) echo "$1" ;; TARGET) echo "$2" ;; FSTYPE) echo "$3" ;; *) exit 1 ;; esac'

# ================= lvm-snapshot =================
stub lvs '
sep=" " fields=
while [ $# -gt 1 ]; do case $1 in --separator) sep=$2; shift ;; -o) fields=$2; shift ;; esac; shift; done
case $1 in
/dev/mapper/*) n=${1#/dev/mapper/}; vg=${n%%-*}; lv=${n#*-} ;;
/dev/*) n=${1#/dev/}; vg=${n%%/*}; lv=${n#*/} ;;
*) vg=${1%%/*}; lv=${1#*/} ;;
esac
f=$LVM_STATE/$vg@$lv
[ -f "$f" ] || { echo "  Failed to find logical volume \"$vg/$lv\"" >&2; exit 5; }
. "$f"
out=
IFS=,
for x in $fields; do
	case $x in vg_name) v=$vg ;; lv_name) v=$lv ;; lv_tags) v=$tags ;; segtype) v=$segtype ;; lv_attr) v=$attr ;; esac
	out=${out:+$out$sep}$v
done
[ -z "$fields" ] || echo "  $out"'
stub lvcreate '
for a; do :; done
vg=${a%%/*}
while [ $# -gt 0 ]; do case $1 in --name) n=$2 ;; esac; shift; done
printf "tags=lifeboat segtype=linear attr=sri-a-s---\n" >"$LVM_STATE/$vg@$n"
echo "  Logical volume \"$n\" created."
[ -z "${STUB_LVCREATE_SLEEP-}" ] || sleep "$STUB_LVCREATE_SLEEP"'
stub lvremove 'for a; do :; done; rm -f "$LVM_STATE/${a%%/*}@${a#*/}"'
lv() { printf 'tags=%s segtype=%s attr=%s\n' "$3" "${4:-linear}" "${5:--wi-ao----}" >"$LVM_STATE/$1@$2"; }
lv vg0 srv ""

M=$TMP/mnt/srv
hook lvm-snapshot
is $? 2 "lvm-snapshot without an action: exit 2"
like "$(cat "$TMP/err")" "usage: lvm-snapshot create" "with the usage"
hook lvm-snapshot frobnicate vg0/srv
is $? 2 "an unknown action: exit 2"
hook lvm-snapshot create
is $? 2 "no TARGET and no LIFEBOAT_DATADIR: exit 2"
like "$(cat "$TMP/err")" "no TARGET (and no LIFEBOAT_DATADIR)" "says so"
hook lvm-snapshot create -m rel/dir vg0/srv
is $? 2 "a relative mount point: exit 2"
hook lvm-snapshot create vg0/srv extra
is $? 2 "two targets: exit 2"
if PATH=$PATH_NOSTUB:/usr/sbin:/sbin command -v lvs >/dev/null 2>&1; then
	skip "lvm2 is installed here: cannot test its absence"
else
	PATH=$PATH_NOSTUB "$H/lvm-snapshot" create vg0/srv >/dev/null 2>"$TMP/err"
	is $? 1 "without lvm2: exit 1"
	like "$(cat "$TMP/err")" "lvm-snapshot: lvs not found: install lvm2" "naming what to install"
fi

: >"$LOG"
hook lvm-snapshot create -m "$M" vg0/srv
is $? 0 "create vg0/srv"
is "$(cat "$TMP/out")" "$M" "prints the directory to read, and only that, on stdout"
like "$(logged)" "^lvcreate --snapshot --permission r --addtag lifeboat --name srv-lifeboat -l 10%ORIGIN vg0/srv" \
	"a read-only, tagged snapshot with 10% of the origin"
like "$(logged)" "^mount -o ro,noload /dev/vg0/srv-lifeboat $M" "mounted read-only (ext4: noload)"
ok "the snapshot exists" test -f "$LVM_STATE/vg0@srv-lifeboat"
hook lvm-snapshot create -m "$M" vg0/srv
is $? 1 "a second create while it is mounted: exit 1"
like "$(cat "$TMP/err")" "is mounted on $M: is another backup using it" "says it is in use"
ok "and leaves it alone" test -f "$LVM_STATE/vg0@srv-lifeboat"
: >"$LOG"
hook lvm-snapshot remove -m "$M" vg0/srv
is $? 0 "remove"
like "$(logged)" "^umount $M" "unmounts"
like "$(logged)" "^lvremove -f vg0/srv-lifeboat" "removes the snapshot"
ok "nothing is left" test ! -e "$LVM_STATE/vg0@srv-lifeboat" -a ! -d "$M"
hook lvm-snapshot remove -m "$M" vg0/srv
is $? 0 "remove with nothing to remove is fine"

STUB_MOUNT_FAIL=1 hook lvm-snapshot create -m "$M" vg0/srv
is $? 1 "create when the mount fails: exit 1"
like "$(cat "$TMP/err")" "could not mount /dev/vg0/srv-lifeboat on $M" "names the failure"
ok "and the snapshot is removed again" test ! -e "$LVM_STATE/vg0@srv-lifeboat"

lv vg0 srv-lifeboat lifeboat snapshot sri-a-s---
hook lvm-snapshot create -m "$M" vg0/srv
is $? 0 "create over a leftover of an interrupted run"
like "$(cat "$TMP/err")" "removing vg0/srv-lifeboat, left behind by a run that was interrupted" "says so"
hook lvm-snapshot remove -m "$M" vg0/srv
lv vg0 srv-lifeboat "" snapshot
hook lvm-snapshot create -m "$M" vg0/srv
is $? 1 "a snapshot of that name that is not ours: exit 1"
like "$(cat "$TMP/err")" "was not made by lvm-snapshot" "says so"
hook lvm-snapshot remove -m "$M" vg0/srv
is $? 1 "and remove refuses to remove it"
ok "it is still there" test -f "$LVM_STATE/vg0@srv-lifeboat"
lv vg0 srv-lifeboat lifeboat snapshot sri-I-s---
hook lvm-snapshot remove -m "$M" vg0/srv
is $? 1 "remove of a snapshot that overflowed: exit 1"
like "$(cat "$TMP/err")" "overflowed during the backup" "says what was read is incomplete"
ok "it is removed all the same" test ! -e "$LVM_STATE/vg0@srv-lifeboat"

# a path on a mounted volume (mysql_snapshot_hook): LIFEBOAT_DATADIR, a job name
lv vg0 data ""
mkdir -p "$TMP/data/mysql"
: >"$LOG"
FINDMNT="/dev/mapper/vg0-data $TMP/data ext4" LIFEBOAT_DATADIR=$TMP/data/mysql LIFEBOAT_JOB=db \
	LIFEBOAT_SNAPSHOT_ROOT=$TMP/snaps STUB_FSTYPE=xfs hook lvm-snapshot create
is $? 0 "create for \$LIFEBOAT_DATADIR"
is "$(cat "$TMP/out")" "$TMP/snaps/vg0-data-lifeboat-db/mysql" "prints where the datadir is inside the snapshot"
like "$(logged)" "--name data-lifeboat-db" "names it after the job"
like "$(logged)" "^mount -o ro,nouuid,norecovery " "XFS: nouuid,norecovery"
FINDMNT="/dev/mapper/vg0-data $TMP/data ext4" LIFEBOAT_DATADIR=$TMP/data/mysql LIFEBOAT_JOB=db \
	LIFEBOAT_SNAPSHOT_ROOT=$TMP/snaps hook lvm-snapshot remove
is $? 0 "remove for \$LIFEBOAT_DATADIR"
ok "nothing is left" test ! -e "$LVM_STATE/vg0@data-lifeboat-db"
lv vg0 thin "" thin
: >"$LOG"
hook lvm-snapshot create -m "$M" vg0/thin
like "$(logged)" "^lvcreate .*--name thin-lifeboat --setactivationskip n vg0/thin" "a thin volume: no size, activated"
hook lvm-snapshot remove -m "$M" vg0/thin

# killed by lifeboat's hook timeout in the middle of lvcreate
"$LB" -r "$TMP/repo" init >/dev/null 2>&1
mkdir -p "$TMP/src" && echo x >"$TMP/src/x"
STUB_LVCREATE_SLEEP=30 lb -r "$TMP/repo" backup --hook-timeout 1 \
	--pre-hook "$H/lvm-snapshot create -m $M vg0/srv" "$TMP/src"
is $? 1 "lifeboat: a pre hook lvm-snapshot that hangs fails the job"
like "$(cat "$TMP/.lberr")" "pre hook .*lvm-snapshot create .* timed out after 1 s" "naming it"
ok "and its cleanup removed the snapshot" test ! -e "$LVM_STATE/vg0@srv-lifeboat"

# ================= zfs-snapshot =================
stub zfs '
cmd=$1; shift
r=
for a; do :; done
case $cmd in
list) case " $* " in *" -t snapshot "*) test -f "$ZFS_STATE/$a" ;; *) grep -qx "$a" "$ZFS_STATE/datasets" ;; esac ;;
get) cat "$ZFS_STATE/$a" 2>/dev/null || echo - ;;
snapshot) grep -qx "${a%@*}" "$ZFS_STATE/datasets" || exit 1; echo yes >"$ZFS_STATE/$a" ;;
destroy) case $a in *@*) rm "$ZFS_STATE/$a" ;; *) echo "not a snapshot" >&2; exit 1 ;; esac ;;
esac'
echo tank/www >"$ZFS_STATE/datasets"
mkdir -p "$ZFS_STATE/tank"
hook zfs-snapshot
is $? 2 "zfs-snapshot without an action: exit 2"
hook zfs-snapshot create tank/www@x
is $? 2 "a snapshot as TARGET: exit 2"
like "$(cat "$TMP/err")" "name a dataset, not a snapshot" "says so"
if PATH=$PATH_NOSTUB:/usr/sbin:/sbin command -v zfs >/dev/null 2>&1; then
	skip "zfs is installed here: cannot test its absence"
else
	PATH=$PATH_NOSTUB "$H/zfs-snapshot" create tank/www >/dev/null 2>"$TMP/err"
	like "$(cat "$TMP/err")" "zfs-snapshot: zfs not found: install zfsutils-linux" "without zfs: names what to install"
fi
hook zfs-snapshot create tank/nope
is $? 1 "an unknown dataset: exit 1"
: >"$LOG"
hook zfs-snapshot create -m "$M" tank/www
is $? 0 "create -m"
is "$(cat "$TMP/out")" "$M" "prints the directory"
like "$(logged)" "^zfs snapshot -o lifeboat:hook=yes tank/www@lifeboat" "a snapshot marked as ours"
like "$(logged)" "^mount -t zfs -o ro tank/www@lifeboat $M" "mounted read-only"
: >"$LOG"
hook zfs-snapshot remove -m "$M" tank/www
is $? 0 "remove"
like "$(logged)" "^zfs destroy tank/www@lifeboat" "destroys the snapshot"
ok "nothing is left" test ! -e "$ZFS_STATE/tank/www@lifeboat" -a ! -d "$M"
mkdir -p "$TMP/www/sub" "$TMP/www/.zfs/snapshot/lifeboat-web/sub"
FINDMNT="tank/www $TMP/www zfs" LIFEBOAT_JOB=web hook zfs-snapshot create -r "$TMP/www/sub"
is $? 0 "create -r for a path, read through .zfs"
is "$(cat "$TMP/out")" "$TMP/www/.zfs/snapshot/lifeboat-web/sub" "prints the path inside .zfs/snapshot"
FINDMNT="tank/www $TMP/www zfs" LIFEBOAT_JOB=web hook zfs-snapshot remove -r "$TMP/www/sub"
like "$(logged)" "^zfs destroy -r tank/www@lifeboat-web" "remove -r destroys recursively"
echo no >"$ZFS_STATE/tank/www@lifeboat"
hook zfs-snapshot remove tank/www
is $? 1 "a snapshot that is not ours is not destroyed"
ok "it is still there" test -f "$ZFS_STATE/tank/www@lifeboat"
rm -f "$ZFS_STATE/tank/www@lifeboat"
STUB_MOUNT_FAIL=1 hook zfs-snapshot create -m "$M" tank/www
is $? 1 "create when the mount fails: exit 1"
ok "and the snapshot is destroyed again" test ! -e "$ZFS_STATE/tank/www@lifeboat"

# ================= postfix-hold =================
stub postconf '
cf=$PF/main.cf
touch "$cf"
get() { sed -n "s/^$1 = //p" "$cf"; }
case $1 in
-h) v=$(get "$2"); [ -n "$v" ] || v=$(sed -n "s/^$2 = //p" "$PF/defaults"); echo "$v" ;;
-n) grep "^$2 = " "$cf" || : ;;
-nh) get "$2" ;;
-e) k=${2%% = *}; grep -v "^$k = " "$cf" >"$cf.n" || :; echo "$2" >>"$cf.n"; mv "$cf.n" "$cf" ;;
-X) grep -v "^$2 = " "$cf" >"$cf.n" || :; mv "$cf.n" "$cf" ;;
esac'
stub postfix 'case $1 in status) test ! -e "$PF/stopped" ;; reload) test ! -e "$PF/reload-fails" ;; esac'
stub postqueue 'exit 0'
printf 'local_transport = local:$myhostname\nvirtual_transport = virtual\nmailbox_transport = lmtp:unix:private/dovecot-lmtp\n' \
	>"$PF/defaults"
dt() { sed -n 's/^defer_transports = //p' "$PF/main.cf"; }

hook postfix-hold
is $? 2 "postfix-hold without an action: exit 2"
hook postfix-hold release now
is $? 2 "release with an argument: exit 2"
if PATH=$PATH_NOSTUB:/usr/sbin:/sbin command -v postconf >/dev/null 2>&1; then
	skip "postfix is installed here: cannot test its absence"
else
	PATH=$PATH_NOSTUB "$H/postfix-hold" hold >/dev/null 2>"$TMP/err"
	like "$(cat "$TMP/err")" "postfix-hold: postconf not found: is Postfix installed" "without Postfix: says so"
fi
: >"$LOG"
hook postfix-hold hold
is $? 0 "hold"
is "$(dt)" "local virtual lmtp" "defers the transports that deliver into mailboxes"
like "$(logged)" "^postfix reload" "and reloads Postfix"
: >"$LOG"
hook postfix-hold release
is $? 0 "release"
is "$(grep -c defer_transports "$PF/main.cf")" 0 "defer_transports is gone again, as before"
like "$(logged)" "^postqueue -f" "the held mail is flushed"
ok "no hold is left recorded" test ! -e "$TMP/state/postfix-hold.state"
: >"$LOG"
hook postfix-hold release
is "$?:$(logged)" "0:" "release without a hold does nothing"
echo "defer_transports = smtp" >>"$PF/main.cf"
hook postfix-hold hold
is "$(dt)" "smtp local virtual lmtp" "what was deferred already stays deferred"
hook postfix-hold hold
like "$(cat "$TMP/err")" "a hold was not released" "a second hold (an interrupted run) says so"
hook postfix-hold release
is "$(dt)" "smtp" "release puts back exactly what was there"
hook postfix-hold hold dovecot
is "$(dt)" "smtp dovecot" "transports can be named"
hook postfix-hold release
touch "$PF/reload-fails"
hook postfix-hold hold
is $? 1 "hold when postfix reload fails: exit 1"
like "$(cat "$TMP/err")" "postfix reload failed; undoing the hold" "says so"
is "$(dt)" "smtp" "and the setting is put back"
rm -f "$PF/reload-fails"

# ================= dovecot =================
# no systemd and no /etc/init.d/dovecot here: the hook drives Dovecot itself
stub pidof 'test -e "$DV/running"'
stub doveadm 'case $1 in stop) rm -f "$DV/running" ;; esac'
stub dovecot 'touch "$DV/running"'
hook dovecot
is $? 2 "dovecot without an action: exit 2"
hook dovecot dsync
is $? 2 "dsync without a location: exit 2"
hook dovecot dsync /var/backups/dovecot
is $? 2 "a location without its format: exit 2"
: >"$LOG"
hook dovecot dsync "mdbox:$TMP/dsync/%d/%n"
is $? 0 "dsync"
like "$(logged)" "^doveadm backup -A mdbox:$TMP/dsync/%d/%n" "copies every user with doveadm backup"
hook dovecot dsync "mdbox:$TMP/dsync/%u" alice bob
like "$(logged)" "doveadm backup -u bob mdbox:" "or the users named"
if [ ! -d /run/systemd/system ] && [ ! -e /etc/init.d/dovecot ]; then
	touch "$DV/running"
	: >"$LOG"
	hook dovecot stop
	is $? 0 "stop"
	like "$(logged)" "^doveadm stop" "stops a running Dovecot"
	ok "and notes it" test -e "$TMP/state/dovecot.stopped"
	hook dovecot start
	is $? 0 "start"
	ok "starts the Dovecot binary, not the hook of the same name" test -e "$DV/running"
	ok "and forgets the note" test ! -e "$TMP/state/dovecot.stopped"
	rm -f "$DV/running"
	hook dovecot stop
	hook dovecot start
	ok "a Dovecot that was not running is not started" test ! -e "$DV/running"
else
	skip "systemd or SysV scripts here: stop/start are tested without them"
fi

# ================= notify-mail =================
stub sendmail 'n=$(ls "$TMP"/mail.* 2>/dev/null | wc -l); cat >"$TMP/mail.$((n + 1))"'
export TMP
lastmail() { f=$(ls -t "$TMP"/mail.* 2>/dev/null | head -n 1); [ -n "$f" ] && cat "$f"; }
nmail() { ls "$TMP"/mail.* 2>/dev/null | wc -l | tr -d ' '; }
hook notify-mail
is $? 2 "notify-mail outside a post hook: exit 2"
like "$(cat "$TMP/err")" "run it as a lifeboat post hook" "says how to run it"
hook notify-mail -d soon -c
is $? 2 "a bad -d: exit 2"
LIFEBOAT_JOB=www LIFEBOAT_STATUS=ok LIFEBOAT_EXIT=0 LIFEBOAT_SNAPSHOT=abc123 hook notify-mail -t admin@example.com
is "$?:$(nmail)" "0:0" "a job that succeeded: no mail"
like "$(cat "$TMP/state/last-success.www")" "^[0-9]* abc123$" "its success is recorded"
printf 'lifeboat: backup: line %s\n' 1 2 3 4 5 6 >"$TMP/runlog"
LIFEBOAT_JOB=www LIFEBOAT_HOST=web1 LIFEBOAT_STATUS=failed LIFEBOAT_EXIT=1 \
	LIFEBOAT_ERROR="repository /srv/repo: No such file or directory" LIFEBOAT_LOG=$TMP/runlog \
	LIFEBOAT_NOTIFY_MAIL=admin@example.com hook notify-mail -n 3
is "$?:$(nmail)" "0:1" "a failure is mailed"
m=$(lastmail)
like "$m" "^To: admin@example.com$" "to LIFEBOAT_NOTIFY_MAIL"
like "$m" "^Subject: \[lifeboat\] web1 job www FAILED$" "the subject names host, job and status"
like "$m" "^Error: *repository /srv/repo: No such file or directory" "the error"
like "$m" "^Last success: .*(0 days ago)" "when the job last succeeded"
like "$m" "lifeboat: backup: line 6" "the last lines of the log"
is "$(printf '%s\n' "$m" | grep -c 'line [1-3]')" 0 "only the last -n lines"
echo "$(($(date +%s) - 5 * 86400)) old" >"$TMP/state/last-success.www"
LIFEBOAT_JOB=www LIFEBOAT_STATUS=failed LIFEBOAT_EXIT=1 LIFEBOAT_NOTIFY_STALE_DAYS=2 hook notify-mail
like "$(lastmail)" "^Subject: .*FAILED, no backup of this job has succeeded for 5 days (more than 2)" \
	"a failure after more than DAYS days says so in the subject"
LIFEBOAT_JOB=new LIFEBOAT_STATUS=failed LIFEBOAT_EXIT=1 hook notify-mail
like "$(lastmail)" "^Subject: .*FAILED, no successful backup of this job is recorded" "as does a job that never succeeded"
LIFEBOAT_JOB=www LIFEBOAT_STATUS=warning LIFEBOAT_EXIT=3 LIFEBOAT_SNAPSHOT=def456 hook notify-mail
like "$(lastmail)" "^Subject: .*job www finished with warnings$" "warnings are mailed"
like "$(cat "$TMP/state/last-success.www")" " def456$" "and count as a success (a snapshot was written)"
LIFEBOAT_JOB=www LIFEBOAT_HOST="evil
Bcc: victim@example.com" LIFEBOAT_STATUS=failed hook notify-mail
is "$(lastmail | sed '/^$/q' | grep -c '^Bcc:')" 0 "no header can be injected through the values"
n=$(nmail)
hook notify-mail -c www
is "$?:$(nmail)" "0:$n" "check mode: a job that succeeded recently: no mail"
hook notify-mail -c -d 1 www never-ran
is "$?:$(nmail)" "1:$((n + 1))" "check mode: an overdue job is mailed, exit 1"
like "$(lastmail)" "never-ran: no successful backup recorded" "naming it"
if PATH=$PATH_NOSTUB:/usr/sbin:/sbin command -v sendmail >/dev/null 2>&1 || [ -x /usr/lib/sendmail ]; then
	skip "a sendmail is installed here: cannot test its absence"
else
	LIFEBOAT_STATUS=failed PATH=$PATH_NOSTUB "$H/notify-mail" >/dev/null 2>"$TMP/err"
	is $? 1 "without sendmail: exit 1"
	like "$(cat "$TMP/err")" "no sendmail found (install postfix, exim4 or msmtp-mta)" "says what to install"
fi

# end to end: lifeboat runs it after a failed backup, with the run's log
cat >"$TMP/lb.conf" <<EOF
[global]
notify_mail = ops@example.com
state_dir = $TMP/state2
post_hook = $H/notify-mail

[job broken]
repository = $TMP/repo
paths = $TMP/no-such-dir
EOF
lb --config "$TMP/lb.conf" backup --job broken
is $? 1 "lifeboat: a failing job with notify-mail"
m=$(lastmail)
like "$m" "^To: ops@example.com" "mails notify_mail"
like "$m" "job broken FAILED, no successful backup of this job is recorded" "about the job"
like "$m" "^lifeboat: backup: $TMP/no-such-dir: No such file or directory" "quoting lifeboat's messages"

done_testing
