/* lifeboat — the FUSE mount of lib/snap/snapfs.c (libfuse3, high-level API).
 * Each operation hands its path to the lb_snapfs_* call of the same name;
 * open files keep their extents in fi->fh, so reads do not look the path
 * up again. */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <fuse.h>

#include "lifeboat/snapfs.h"
#include "util/util.h"

/* The mount options: read-only, permissions checked by the kernel against
 * the saved modes and ACLs, and no set-id programs or device nodes acting
 * from inside a backup. */
#define SNAPFS_MOUNT_OPTS "ro,default_permissions,nosuid,nodev,fsname=lifeboat,subtype=lifeboat"
#define SNAPFS_TIMEOUT 3600.0  /* seconds the kernel may cache names and attributes: nothing changes */

static struct lb_snapfs *fs_of(void)
{
	return fuse_get_context()->private_data;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->entry_timeout = SNAPFS_TIMEOUT;
	cfg->attr_timeout = SNAPFS_TIMEOUT;
	cfg->negative_timeout = SNAPFS_TIMEOUT;
	cfg->kernel_cache = 1;
	/* the kernel enforces the saved ACLs and shows them to getfacl */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	return fs_of();
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	return lb_snapfs_stat(fs_of(), path, st);
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	return lb_snapfs_readlink(fs_of(), path, buf, size);
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct lb_snapfs_file *f;
	int e;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if ((e = lb_snapfs_open(fs_of(), path, &f)) < 0)
		return e;
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 1;
	return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = lb_snapfs_read((struct lb_snapfs_file *)(uintptr_t)fi->fh, buf, size, (uint64_t)off);

	return n > INT32_MAX ? INT32_MAX : (int)n;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	lb_snapfs_close((struct lb_snapfs_file *)(uintptr_t)fi->fh);
	return 0;
}

static off_t op_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	return lb_snapfs_seek((struct lb_snapfs_file *)(uintptr_t)fi->fh, off, whence);
}

struct fill {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fill_one(void *ctx, const char *name, const struct stat *st)
{
	struct fill *f = ctx;

	/* a full buffer is not an error: offsets are 0, libfuse keeps the listing */
	f->filler(f->buf, name, st, 0, FUSE_FILL_DIR_PLUS);
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct fill f = { buf, filler };

	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	return lb_snapfs_readdir(fs_of(), path, fill_one, &f);
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	ssize_t n = lb_snapfs_getxattr(fs_of(), path, name, value, size);

	return n > INT32_MAX ? -E2BIG : (int)n;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	ssize_t n = lb_snapfs_listxattr(fs_of(), path, list, size);

	return n > INT32_MAX ? -E2BIG : (int)n;
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	memset(sv, 0, sizeof *sv);
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_namemax = 255;
	sv->f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	return 0;
}

static const struct fuse_operations snapfs_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.readdir = op_readdir,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
	.lseek = op_lseek,
};

int lb_snapfs_mount(struct lb_snapfs *fs, const char *dir, const struct lb_snapfs_mount_opts *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	bool mounted = false, handlers = false;
	char *abs = NULL;
	int e;

	/* fuse_daemonize() changes to "/" (in the foreground too), and the
	 * unmount at the end uses the name given here: a relative one would
	 * then name another directory (./mnt becomes /mnt) */
	if (!(abs = realpath(dir, NULL))) {
		e = lb_errno(-errno, "%s", dir);
		goto out;
	}
	if (fuse_opt_add_arg(&args, "lifeboat") != 0 || fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, o->allow_other ? SNAPFS_MOUNT_OPTS ",allow_other" : SNAPFS_MOUNT_OPTS) != 0) {
		e = -ENOMEM;
		goto out;
	}
	if (!(f = fuse_new(&args, &snapfs_ops, sizeof snapfs_ops, fs))) {
		e = lb_err(-EINVAL, "cannot set up FUSE");
		goto out;
	}
	if (fuse_mount(f, abs) != 0) {
		e = lb_err(-EIO, "%s: cannot mount (is /dev/fuse there and fuse3 installed?)", dir);
		goto out;
	}
	mounted = true;
	if (o->ready)
		o->ready(o->ctx);
	if (fuse_daemonize(o->foreground) != 0) {
		e = lb_err(-EIO, "cannot detach from the terminal");
		goto out;
	}
	/* in the background this is a forked child now: the repository's
	 * heartbeat thread stayed behind (without it, closing the repository
	 * hung, and prune would have taken the mount for a dead run) */
	if (!o->foreground && (e = lb_snapfs_after_fork(fs)) < 0)
		goto out;
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		e = lb_err(-EIO, "cannot install the signal handlers");
		goto out;
	}
	handlers = true;
	/* 0, a signal number (asked to stop), or -errno */
	if ((e = fuse_loop_mt(f, 0)) < 0)
		lb_errno(e, "the FUSE session ended");
	else
		e = 0;
out:
	if (handlers)
		fuse_remove_signal_handlers(fuse_get_session(f));
	if (mounted)
		fuse_unmount(f);
	if (f)
		fuse_destroy(f);
	fuse_opt_free_args(&args);
	free(abs);
	return e;
}
