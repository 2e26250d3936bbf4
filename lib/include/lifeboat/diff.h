/* lifeboat — what changed between two snapshot trees.
 *
 * Both trees are walked together in name order; a subtree whose id is the
 * same on both sides holds the same bytes and is skipped without being
 * read, so the cost follows the size of the change, not of the trees. */
#ifndef LIFEBOAT_DIFF_H
#define LIFEBOAT_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "lifeboat/tree.h"

struct lb_repo;

enum lb_diff_kind {
	LB_DIFF_ADDED = '+',
	LB_DIFF_REMOVED = '-',
	LB_DIFF_MODIFIED = 'M',
};

/* What differs in a modified entry (a bit mask). */
enum {
	LB_DIFF_TYPE = 1u << 0,    /* file became a directory, ... */
	LB_DIFF_CONTENT = 1u << 1, /* a file's chunks or holes, a device's number */
	LB_DIFF_SIZE = 1u << 2,
	LB_DIFF_MODE = 1u << 3,    /* permission bits incl. setuid/setgid/sticky */
	LB_DIFF_OWNER = 1u << 4,   /* uid, gid or their names */
	LB_DIFF_MTIME = 1u << 5,
	LB_DIFF_ATIME = 1u << 6,
	LB_DIFF_CTIME = 1u << 7,
	LB_DIFF_XATTRS = 1u << 8,  /* extended attributes other than ACLs */
	LB_DIFF_ACL = 1u << 9,     /* system.posix_acl_access / _default */
	LB_DIFF_TARGET = 1u << 10, /* a symbolic link's target */
	LB_DIFF_LINKS = 1u << 11,  /* hard-link count */
};

/* Changes most readers do not want: times every read or chmod moves. */
#define LB_DIFF_IGNORE_DEFAULT (LB_DIFF_ATIME | LB_DIFF_CTIME | LB_DIFF_LINKS)

struct lb_diff_entry {
	enum lb_diff_kind kind;
	const char *path;             /* "/etc/hosts", NUL-terminated */
	size_t pathlen;               /* raw name bytes (a hand-made name may hold a NUL) */
	unsigned changes;             /* LB_DIFF_MODIFIED: the LB_DIFF_* bits that differ */
	const struct lb_node *old;    /* NULL when added */
	const struct lb_node *new_;   /* NULL when removed */
};

/* Called for each difference in name order (a directory before what it
 * holds).  A non-zero return stops the walk and is returned. */
typedef int (*lb_diff_fn)(void *ctx, const struct lb_diff_entry *e);

struct lb_diff_opts {
	unsigned ignore;  /* LB_DIFF_* bits not to compare (LB_DIFF_IGNORE_DEFAULT for most) */
};

/* The LB_DIFF_* bits in which a and b differ (ignoring the name and a
 * directory's subtree id). */
unsigned lb_diff_nodes(const struct lb_node *a, const struct lb_node *b);

/* Compares path ("/" for everything) in the trees old_root and new_root.
 * An added or removed directory is reported with everything below it.
 * A path missing from both trees is -LB_E_NOTFOUND. */
int lb_diff_trees(struct lb_repo *r, const uint8_t old_root[32], const uint8_t new_root[32], const char *path,
		  const struct lb_diff_opts *o, lb_diff_fn fn, void *ctx);

#endif
