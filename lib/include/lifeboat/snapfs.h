/* lifeboat — every snapshot as one read-only file system, and its FUSE
 * mount.
 *
 * The layout:
 *
 *   /ids/<id>/...                       each snapshot by its full id
 *   /hosts/<host>/<YYYY-MM-DDTHH:MM:SS>/...  by host, then local start time
 *                                       (a second snapshot in the same
 *                                       second gets "-<8 id digits>")
 *   /hosts/<host>/latest -> <time>      the host's newest snapshot
 *   /latest -> ids/<id>                 the newest snapshot (not a binlog segment)
 *
 * Below a snapshot, entries show the owners, modes, times, symbolic links,
 * xattrs and ACLs they were saved with.  Reads are streamed: a read at
 * offset X fetches only the chunks that cover [X, X+len), found by binary
 * search over the file's extents, through a small cache of decoded chunks;
 * holes read as zeros.  Decoded trees are cached by id, so walking a
 * Maildir does not decode its directories again for every lookup.
 *
 * The lb_snapfs_* calls are the file system without FUSE (the unit tests
 * drive them directly); they are thread-safe and return 0 or a count, or a
 * negative errno (-ENOENT, -ENOTDIR, -EIO for damaged data, ...).  Damaged
 * data is also reported through opts.error with the path and the reason. */
#ifndef LIFEBOAT_SNAPFS_H
#define LIFEBOAT_SNAPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct lb_repo;
struct lb_snapfs;
struct lb_snapfs_file;

struct lb_snapfs_opts {
	size_t tree_cache_bytes;   /* decoded trees kept (0: 64 MiB) */
	size_t chunk_cache_bytes;  /* decoded chunks kept (0: 32 MiB) */
	/* Called (from any thread) when data cannot be read: path is the path
	 * in the file system, msg the reason.  May be NULL. */
	void (*error)(void *ctx, const char *path, const char *msg);
	void *ctx;
};

/* Lists the repository's snapshots (its index must be loaded) and builds
 * the layout.  The repository must outlive fs. */
int lb_snapfs_new(struct lb_repo *r, const struct lb_snapfs_opts *o, struct lb_snapfs **ret);
void lb_snapfs_free(struct lb_snapfs *fs);
/* In the child of a fork() (the mount going to the background): restarts
 * the repository's threads that stayed in the parent (lb_repo_after_fork). */
int lb_snapfs_after_fork(struct lb_snapfs *fs);
/* How many snapshots the file system shows. */
size_t lb_snapfs_count(const struct lb_snapfs *fs);

/* stat(2) of path ("/", "/ids/<id>/etc/hosts", ...). */
int lb_snapfs_stat(struct lb_snapfs *fs, const char *path, struct stat *st);
/* Calls fn for each entry of the directory path (not "." and ".."), with
 * its stat; a non-zero return stops and is returned.  Entries whose saved
 * name no file system can hold (with a '/' or a NUL) are left out. */
int lb_snapfs_readdir(struct lb_snapfs *fs, const char *path,
		      int (*fn)(void *ctx, const char *name, const struct stat *st), void *ctx);
/* The target of a symbolic link, NUL-terminated and cut to size - 1. */
int lb_snapfs_readlink(struct lb_snapfs *fs, const char *path, char *buf, size_t size);
/* getxattr(2) / listxattr(2) semantics: size 0 asks for the length;
 * -ERANGE when it does not fit; -ENODATA for a missing name. */
ssize_t lb_snapfs_getxattr(struct lb_snapfs *fs, const char *path, const char *name, void *value, size_t size);
ssize_t lb_snapfs_listxattr(struct lb_snapfs *fs, const char *path, char *list, size_t size);

/* Opens a regular file for streaming reads. */
int lb_snapfs_open(struct lb_snapfs *fs, const char *path, struct lb_snapfs_file **ret);
/* Reads up to len bytes at off (fewer only at the end of the file). */
ssize_t lb_snapfs_read(struct lb_snapfs_file *f, void *buf, size_t len, uint64_t off);
/* SEEK_DATA / SEEK_HOLE from off: holes are the file's saved holes. */
off_t lb_snapfs_seek(struct lb_snapfs_file *f, off_t off, int whence);
/* Frees f (NULL is fine).  Files still open when fs is freed are freed
 * with it. */
void lb_snapfs_close(struct lb_snapfs_file *f);
/* Chunks read from the repository and served from the cache so far. */
void lb_snapfs_stats(struct lb_snapfs *fs, uint64_t *chunks_read, uint64_t *chunks_cached);

struct lb_snapfs_mount_opts {
	bool foreground;   /* stay attached; otherwise detach once mounted */
	bool allow_other;  /* let other users in (permissions still apply) */
	/* Called once the mount is in place, before detaching. May be NULL. */
	void (*ready)(void *ctx);
	void *ctx;
};

/* Mounts fs read-only on dir through FUSE and serves it until it is
 * unmounted (fusermount3 -u dir) or the process gets SIGINT, SIGTERM or
 * SIGHUP.  Without foreground the process detaches (fork, setsid, standard
 * streams to /dev/null) once the mount is ready, and the call returns in
 * the detached child only. */
int lb_snapfs_mount(struct lb_snapfs *fs, const char *dir, const struct lb_snapfs_mount_opts *o);

#endif
