/* lifeboat — the virtual tree a source writes into (internal).
 *
 * Two kinds of user: sources write streams under paths they choose
 * (lb_vfile_* with struct lb_vmeta, public in lifeboat/source.h), and
 * import builds a whole file tree from an archive, entry by entry, with
 * every field of struct lb_node (the calls below). */
#ifndef LB_VTREE_H
#define LB_VTREE_H

#include "lifeboat/source.h"
#include "lifeboat/tree.h"
#include "store/packer.h"

int lb_vtree_new(struct lb_repo *r, struct lb_packer *pk, struct lb_vtree **ret);
/* Stores every directory, bottom up; returns the root tree's id. */
int lb_vtree_store(struct lb_vtree *t, uint8_t root[32]);
/* Files and bytes written, for statistics. */
void lb_vtree_stats(struct lb_vtree *t, uint64_t *files, uint64_t *bytes);
void lb_vtree_free(struct lb_vtree *t);

/* ---- entries with full metadata (import) ----
 *
 * Paths are relative ("etc/passwd"), every component a name restore
 * accepts (lb_name_valid); missing parents are made with the dir_meta of
 * lb_vtree_dir_meta(). */

enum {
	LB_VTREE_REPLACE = 1, /* an entry already at path gives way (tar semantics: the last one wins) */
};

/* Adds the entry at path with a deep copy of n's metadata: type, mode,
 * owner ids and names, times, dev/ino/nlink, rdev, symlink target,
 * xattrs, and for a file its size and extents (n->name is ignored).  A
 * directory entry sets the metadata of the directory at path, made
 * before or not, and keeps what it holds.  A non-directory where another
 * is: -EEXIST, unless flags has LB_VTREE_REPLACE.  A directory in the way
 * of a non-directory, or a non-directory in the way of a parent: -EEXIST
 * or -ENOTDIR, with the message set. */
int lb_vtree_add_node(struct lb_vtree *t, const char *path, const struct lb_node *n, unsigned flags);
/* A deep copy of the entry at path (release it with lb_node_release()),
 * or -LB_E_NOTFOUND.  Its name is left NULL. */
int lb_vtree_lookup(struct lb_vtree *t, const char *path, struct lb_node *out);
/* Gives every directory made implicitly (for what it holds, never
 * described by lb_vtree_add_node) the metadata m: an import stamps them
 * with the snapshot time once it knows it, so that the same archive makes
 * the same trees. */
void lb_vtree_restamp_implicit(struct lb_vtree *t, const struct lb_vmeta *m);
/* Gives the file f, at close, n's metadata (deep copy; type,
 * size and extents are ignored: they come from what was written) in place
 * of the struct lb_vmeta given to lb_vfile_open(); flags as above. */
int lb_vfile_set_node(struct lb_vfile *f, const struct lb_node *n, unsigned flags);
/* Appends len bytes of hole to f: the content written so far is cut
 * (its last chunk may be short, as at the end of a file) and a hole extent
 * follows, as backup records a sparse file's holes. */
int lb_vfile_hole(struct lb_vfile *f, uint64_t len);

/* A snapshot made only of a virtual tree (a binlog segment): begin, write
 * files into *vt, commit under a source name with its manifest section. */
struct lb_vsnapshot;
int lb_vsnapshot_begin(struct lb_repo *r, struct lb_vsnapshot **ret, struct lb_vtree **vt);
/* The same with nworkers compressing threads (0: one fewer than the CPUs)
 * where begin has one: an import stores as much as a backup. */
int lb_vsnapshot_begin_workers(struct lb_repo *r, unsigned nworkers, struct lb_vsnapshot **ret,
			       struct lb_vtree **vt);
int lb_vsnapshot_commit(struct lb_vsnapshot *v, const char *host, const char *const *tags, size_t ntags,
			const char *source, json_t *section, char id[65]);

/* What a snapshot whose files tree is the virtual tree records. */
struct lb_vsnapshot_info {
	const char *host;
	const char *const *tags;
	size_t ntags;
	const char *const *paths;  /* the manifest's paths; npaths 0: "/" + each top-level entry */
	size_t npaths;
	bool time_set;             /* else the time lb_vsnapshot_begin() was called */
	int64_t time_s;
	long time_ns;
	const char *section;       /* a top-level manifest key for value ("import"), or NULL */
	json_t *value;             /* borrowed */
};

/* Commits a snapshot whose files tree (the one restore, ls and export
 * read) is the virtual tree: stores the tree, flushes the packs and the
 * index, then writes the manifest, the single commit point.  Until then
 * nothing refers to what was stored: a run that stops earlier leaves at
 * most packs no snapshot uses. */
int lb_vsnapshot_commit_files(struct lb_vsnapshot *v, const struct lb_vsnapshot_info *info, char id[65]);
/* The packer's counters so far (new blobs and bytes: what dedup left). */
void lb_vsnapshot_packer_stats(struct lb_vsnapshot *v, struct lb_packer_stats *st);
void lb_vsnapshot_free(struct lb_vsnapshot *v);

#endif
