/* lifeboat — reading a snapshot's directory tree: path lookups and walks,
 * for ls, cat, and later diff, find and the FUSE mount. */
#ifndef LIFEBOAT_BROWSE_H
#define LIFEBOAT_BROWSE_H

#include <stdbool.h>
#include <stdint.h>

#include "lifeboat/tree.h"

struct lb_repo;

/* Loads and decodes one tree blob. */
int lb_browse_load_tree(struct lb_repo *r, const uint8_t id[32], struct lb_tree *t);

/* Finds path ("/a/b", "a/b" or "/") below root.  For "/" fills a directory
 * node whose subtree is root.  The node is a deep copy: release it with
 * lb_node_release(). */
int lb_browse_lookup(struct lb_repo *r, const uint8_t root[32], const char *path, struct lb_node *out);

/* Called for each entry; path is the full path in the snapshot ("/etc/x"),
 * pathlen bytes of raw names (a hand-made name may even hold a NUL).  A
 * non-zero return stops the walk and is returned. */
typedef int (*lb_browse_fn)(void *ctx, const char *path, size_t pathlen, const struct lb_node *n);

/* Calls fn for path itself and, if it is a directory and recursive, for
 * everything below it, depth first in name order. */
int lb_browse_walk(struct lb_repo *r, const uint8_t root[32], const char *path, bool recursive,
		   lb_browse_fn fn, void *ctx);

int lb_node_copy(struct lb_node *dst, const struct lb_node *src);

/* Like lb_browse_lookup(), but a path that is not there (no such name, or a
 * non-directory on the way) returns 1 with no message, so that callers can
 * tell it from a tree that cannot be read (a negative code). */
int lb_browse_find(struct lb_repo *r, const uint8_t root[32], const char *path, struct lb_node *out);

#endif
