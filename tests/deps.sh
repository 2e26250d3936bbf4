#!/bin/sh
# Installs every Debian package lifeboat needs to build and to run its tests
# (the real peers included), and the tools `make bench` compares against.  Idempotent: installs only what is missing, and
# runs apt-get update only when something is.
set -eu

PKGS="
build-essential pkg-config
libzstd-dev libssl-dev libjansson-dev libxxhash-dev
acl attr fuse3 libfuse3-dev
perl bsdutils coreutils findutils diffutils time util-linux
libinih-dev shellcheck
libarchive-dev zlib1g-dev libarchive-tools tar cpio gzip
libmariadb-dev mariadb-server mariadb-client mariadb-backup jq zstd strace
restic borgbackup
btrfs-progs e2fsprogs casync
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
