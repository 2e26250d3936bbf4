/* lifeboat — one directory as a tree blob (see docs/FORMAT.md, "Trees"). */
#ifndef LIFEBOAT_TREE_H
#define LIFEBOAT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_TREE_VERSION 1
#define LB_NAME_MAX_STORED 4096   /* decoder bound; restore allows 255 */
#define LB_OWNER_NAME_MAX 256
#define LB_TARGET_MAX 65536
#define LB_XATTR_NAME_MAX 255
#define LB_XATTR_VALUE_MAX 65536
#define LB_XATTRS_MAX 4096

enum lb_node_type {
	LB_NODE_FILE = 1,
	LB_NODE_DIR = 2,
	LB_NODE_SYMLINK = 3,
	LB_NODE_FIFO = 4,
	LB_NODE_CHR = 5,
	LB_NODE_BLK = 6,
};

struct lb_xattr {
	char *name;      /* NUL-terminated, e.g. "user.note", "system.posix_acl_access" */
	uint8_t *value;
	size_t len;
};

/* A run of file content: a chunk (id) or a hole of len bytes. */
struct lb_extent {
	uint64_t len;
	bool hole;
	uint8_t id[32];
};

struct lb_node {
	uint8_t *name;          /* raw bytes, not NUL-terminated in the format */
	size_t namelen;
	uint8_t type;           /* enum lb_node_type */
	uint32_t mode;          /* permission bits incl. setuid/setgid/sticky (07777) */
	uint32_t uid, gid;
	char *user, *group;     /* names at backup time; "" when unknown */
	int64_t mtime_s, atime_s, ctime_s;
	uint32_t mtime_ns, atime_ns, ctime_ns;
	uint64_t dev, ino, nlink; /* hard-link groups: same (dev, ino) with nlink > 1 */
	uint64_t size;
	uint64_t rdev;          /* devices */
	uint8_t *target;        /* symlink target bytes */
	size_t targetlen;
	struct lb_xattr *xattrs; /* sorted by name; ACLs are system.posix_acl_* */
	size_t nxattrs;
	struct lb_extent *extents; /* files */
	size_t nextents, capextents;
	uint8_t subtree[32];    /* directories */
};

struct lb_tree {
	struct lb_node *nodes;
	size_t n, cap;
};

void lb_tree_init(struct lb_tree *t);
void lb_tree_release(struct lb_tree *t);
/* A new zeroed node at the end of t. */
int lb_tree_add(struct lb_tree *t, struct lb_node **ret);
void lb_node_release(struct lb_node *n);
/* Sorts nodes by name bytes: the canonical order that makes ids deterministic. */
void lb_tree_sort(struct lb_tree *t);

struct lb_buf;
int lb_tree_encode(const struct lb_tree *t, struct lb_buf *out);
/* Decodes a tree blob, checking every length against the remaining bytes
 * and the limits above.  Names are not judged here (see lb_name_valid). */
int lb_tree_decode(const uint8_t *p, size_t n, struct lb_tree *t);

/* A name restore may create: 1..255 bytes, no '/', not "." or "..". */
bool lb_name_valid(const uint8_t *name, size_t len);
/* Byte-wise name order (a shorter prefix sorts first): the tree order. */
int lb_name_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb);
/* Finds a node by name in a sorted tree (NULL if absent). */
struct lb_node *lb_tree_find(const struct lb_tree *t, const uint8_t *name, size_t len);

int lb_extent_append(struct lb_node *n, const struct lb_extent *e);

#endif
