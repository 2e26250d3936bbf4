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
