/* lifeboat — reading and applying file metadata (owner names, xattrs and
 * ACLs, times), shared by backup, restore and later the FUSE mount. */
#ifndef LB_META_H
#define LB_META_H

#include <sys/stat.h>

#include "lifeboat/tree.h"

struct lb_owner_cache;

int lb_owner_cache_new(struct lb_owner_cache **ret);
void lb_owner_cache_free(struct lb_owner_cache *c);
/* Name of uid/gid ("" if it has none); the pointer lives as long as c. */
const char *lb_owner_user(struct lb_owner_cache *c, uid_t uid);
const char *lb_owner_group(struct lb_owner_cache *c, gid_t gid);

/* Fills the stat-derived fields of n (not name, not content). */
void lb_node_from_stat(struct lb_node *n, const struct stat *st, struct lb_owner_cache *oc);
/* Reads every extended attribute (user, trusted, security, system ACLs) of
 * dirfd/name without following a final symlink; sorted by name.
 * Returns 0, or a negative code with the message set. */
int lb_xattrs_read(int dirfd, const char *name, struct lb_node *n);
/* Sets every xattr of n on dirfd/name (no follow).  Returns the number of
 * attributes that failed, with the message of the last failure set. */
int lb_xattrs_apply(int dirfd, const char *name, const struct lb_node *n);

#endif
