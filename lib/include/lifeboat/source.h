/* lifeboat — sources: what a backup takes besides plain files.
 *
 * A source quiesces a live service for an instant (a MySQL lock held while
 * consistent-read transactions open, or while a file-system snapshot is
 * taken), may redirect a path to a snapshot of itself, writes virtual files
 * (a table's rows, a schema) into its own tree of the snapshot, and adds a
 * section to the manifest (binlog coordinates, per-table checksums,
 * lock timings).  The backup loop only speaks this vtable: adding ZFS or
 * PostgreSQL touches nothing else.
 *
 *   prepare   before the walk: quiesce, snapshot, map paths; keep it short
 *   run       write virtual files (may use several threads), before the walk
 *   report    fill the manifest section, after the walk
 *   cleanup   always called once prepare was: release locks, drop snapshots
 *
 * A source with no tree of its own (mail spools are real files) may leave
 * run NULL; it still gets a manifest section.
 */
#ifndef LIFEBOAT_SOURCE_H
#define LIFEBOAT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lifeboat/progress.h"

struct lb_repo;
struct lb_vtree;
struct lb_vfile;
struct lb_scan;
struct lb_scanner_ops;

/* Metadata of a virtual file or directory. */
struct lb_vmeta {
	uint32_t mode;       /* permission bits */
	uint32_t uid, gid;
	int64_t mtime_s;
	uint32_t mtime_ns;
};

struct lb_source_env {
	struct lb_repo *repo;
	struct lb_vtree *vtree;          /* the source's own tree (run only) */
	struct lb_progress *progress;    /* may be NULL */
	/* Backs up read_from in place of path (a snapshot of a live
	 * directory): the snapshot records the files under path. */
	int (*map_path)(struct lb_source_env *env, const char *path, const char *read_from);
	void (*warn)(struct lb_source_env *env, const char *what, const char *msg);
	/* Reads the files at and below root (backed up at their real paths;
	 * root joins the paths) the scanner's way: see "scanners" below. */
	int (*add_scanner)(struct lb_source_env *env, const char *root, const struct lb_scanner_ops *ops,
			   void *state);
	/* The parent snapshot's "sources" object once the walk has started
	 * (NULL if none), borrowed: a scanner may reuse what it recorded there
	 * for a file the walk found unchanged. */
	json_t *parent_sections;
	void *priv;                      /* the backup's */
};

struct lb_source_ops {
	const char *name;                /* manifest key and tree name: "mysql", "mail" */
	int (*prepare)(void *state, struct lb_source_env *env);
	int (*run)(void *state, struct lb_source_env *env);
	int (*report)(void *state, json_t *section);
	void (*cleanup)(void *state);
};

struct lb_source {
	const struct lb_source_ops *ops;
	void *state;
};

/* ---- scanners: a source's own way of reading part of the file tree ----
 *
 * Some live data are real files that must be read differently from the plain
 * walk: a Maildir whose messages are renamed under the walk's feet, an mbox
 * that may only be read under its locks.  A source registers a scanner for a
 * root in prepare(); the walk (single-threaded, depth first) then offers it
 * every directory and every regular file at or below that root before it
 * reads them itself.  What the scanner claims it builds through the
 * lb_scan_* calls, which read, chunk, detect changes and warn exactly as the
 * walk does; what it does not claim is read as usual.  The walk stays
 * ignorant of mail: another scanner (a database's data files, say) plugs in
 * the same way. */

/* How the walk reads a regular file a scanner claimed with file(). */
struct lb_scan_read {
	int fd;              /* read from this descriptor (the scanner owns and closes it); -1: see below */
	bool previous;       /* fd -1: keep the parent snapshot's version, or leave the file out if none */
	bool skip;           /* fd -1: leave the file out (the scanner says why, if it should) */
	/* sees every byte read, in order; offset 0 again means the walk starts
	 * over (the file changed while read) */
	void (*tap)(void *ctx, uint64_t offset, const uint8_t *p, size_t n);
	void *tap_ctx;
	void *cookie;        /* the scanner's */
};

/* What became of a claimed file, for file_done(). */
enum lb_scan_outcome {
	LB_SCAN_READ = 0,       /* read in full (through the tap) */
	LB_SCAN_UNCHANGED = 1,  /* unchanged since the parent snapshot: its content reused, not read */
	LB_SCAN_PREVIOUS = 2,   /* kept from the parent snapshot as asked */
	LB_SCAN_LEFT_OUT = 3,   /* not in the snapshot (skip, no previous copy, or could not be read) */
};

struct lb_scanner_ops {
	/* A directory at or below the root, open at dirfd; path is its full
	 * path.  Returns 0 to let the walk read it, 1 when the scanner added
	 * all the entries it wants (through d), negative on a fatal error.
	 * May be NULL. */
	int (*dir)(void *state, struct lb_scan *d, int dirfd, const char *path);
	/* A regular file dirfd/name at or below the root, before it is read.
	 * Returns 0 to let the walk read it, 1 when *how is filled, negative on
	 * a fatal error.  May be NULL. */
	int (*file)(void *state, int dirfd, const char *name, const char *path, struct lb_scan_read *how);
	/* Called once for every file() that returned 1, whatever happened. */
	void (*file_done)(void *state, const char *path, struct lb_scan_read *how, enum lb_scan_outcome outcome,
			  uint64_t size);
};

/* The directory being built, within dir(): adds dirfd/name as the walk
 * would (stat, excludes, recursion; scanners are offered it again).
 * Returns 0 added, 1 left out (excluded, vanished, unreadable: warned as
 * the walk warns), negative on a fatal error. */
int lb_scan_entry(struct lb_scan *d, int dirfd, const char *name);
/* Adds the regular file dirfd/name (excludes apply).  A name that no
 * longer exists gives -ENOENT and no warning: the scanner decides whether
 * that matters.  Returns 0 added, 1 left out with a warning, negative on a
 * fatal error.  *size gets its size when added (may be NULL). */
int lb_scan_file(struct lb_scan *d, int dirfd, const char *name, uint64_t *size);
/* Starts the subdirectory dirfd/name of d (its metadata is taken now);
 * entries go in with lb_scan_* calls on *sub, in any order, interleaved
 * with other subdirectories' if need be.  -ENOENT if it does not exist. */
int lb_scan_subdir(struct lb_scan *d, int dirfd, const char *name, struct lb_scan **sub);
/* Stores sub's entries and adds it to its parent; frees sub. */
int lb_scan_subdir_end(struct lb_scan *sub);
/* Drops an unfinished subdirectory (after a fatal error). */
void lb_scan_subdir_abort(struct lb_scan *sub);
/* The full path of the directory d. */
const char *lb_scan_path(const struct lb_scan *d);
/* Whether the backup is being canceled. */
bool lb_scan_canceled(const struct lb_scan *d);

/* ---- virtual files, thread-safe ---- */

/* Starts a file at path ("db/table.sql") inside the source's tree;
 * missing parent directories are made with dir_meta. */
int lb_vfile_open(struct lb_vtree *t, const char *path, const struct lb_vmeta *m, struct lb_vfile **ret);
/* Appends content: chunked, deduplicated and stored as it arrives. */
int lb_vfile_write(struct lb_vfile *f, const void *data, size_t n);
/* Finishes the file and adds it to the tree. */
int lb_vfile_close(struct lb_vfile *f, uint64_t *size);
/* Drops an unfinished file. */
void lb_vfile_abort(struct lb_vfile *f);
/* Sets the metadata used for directories made implicitly. */
void lb_vtree_dir_meta(struct lb_vtree *t, const struct lb_vmeta *m);

/* ---- reading a source tree back ---- */

/* The tree a source left in a snapshot ("mysql"), or -LB_E_NOTFOUND. */
struct lb_snapshot;
int lb_snapshot_source_tree(const struct lb_snapshot *s, const char *source, uint8_t tree[32]);
/* Calls fn for every tree the snapshot references: the files' root and
 * every source's. */
int lb_snapshot_trees(const struct lb_snapshot *s, int (*fn)(const uint8_t tree[32], const char *what, void *ctx),
		      void *ctx);

/* Reads a whole virtual (or real) file of a snapshot tree into memory,
 * checking every chunk; at most max bytes. */
int lb_tree_read_file(struct lb_repo *r, const uint8_t tree[32], const char *path, size_t max, uint8_t **data,
		      size_t *len);
/* Streams a file of a snapshot tree to fn, chunk by chunk. */
int lb_tree_stream_file(struct lb_repo *r, const uint8_t tree[32], const char *path,
			int (*fn)(const uint8_t *data, size_t len, void *ctx), void *ctx);

#endif
