/* lifeboat — btrfs read-only snapshots, for the sources that read a live
 * directory from one (snapshot-mode MySQL, whole-server images). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "util/util.h"

int lb_btrfs_subvol_of(const char *abs, char *root, size_t n, const char **rel)
{
	char cur[4096];
	struct stat st, top;
	size_t len;

	if (strlen(abs) >= sizeof cur || abs[0] != '/')
		return lb_err(-EINVAL, "%s: not an absolute path", abs);
	if (stat(abs, &top) < 0)
		return lb_errno(-errno, "%s", abs);
	memcpy(cur, abs, strlen(abs) + 1);
	for (;;) {
		char *slash;

		if (stat(cur, &st) < 0)
			return lb_errno(-errno, "%s", cur);
		if (st.st_ino == 256 /* BTRFS_FIRST_FREE_OBJECTID: a subvolume's root */)
			break;
		if (st.st_dev != top.st_dev || !(slash = strrchr(cur, '/')) || !strcmp(cur, "/"))
			return lb_err(-ENOTSUP, "%s: no btrfs subvolume root above it", abs);
		if (slash == cur)
			slash[1] = 0; /* "/" */
		else
			*slash = 0;
	}
	if ((size_t)snprintf(root, n, "%s", cur) >= n)
		return lb_err(-ENAMETOOLONG, "%s: path too long", cur);
	/* cur is a prefix of abs: rel is the rest */
	len = strlen(cur);
	*rel = abs + len + (abs[len] == '/');
	return 0;
}

int lb_btrfs_snapshot(int parentfd, int srcfd, const char *name)
{
	struct btrfs_ioctl_vol_args_v2 args;

	memset(&args, 0, sizeof args);
	args.fd = srcfd;
	args.flags = BTRFS_SUBVOL_RDONLY;
	snprintf(args.name, sizeof args.name, "%s", name);
	return ioctl(parentfd, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0 ? -errno : 0;
}

int lb_btrfs_delete(int parentfd, const char *name)
{
	struct btrfs_ioctl_vol_args args;

	memset(&args, 0, sizeof args);
	snprintf(args.name, sizeof args.name, "%s", name);
	return ioctl(parentfd, BTRFS_IOC_SNAP_DESTROY, &args) < 0 ? -errno : 0;
}
