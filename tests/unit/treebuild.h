/* Shared by the unit tests of diff and find: trees built by hand
 * and stored through the packer into a test repository. */
#ifndef LB_TEST_TREEBUILD_H
#define LB_TEST_TREEBUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/tree.h"
#include "store/packer.h"
#include "store/store.h"

static struct lb_repo *repo;     /* the test repository */
static struct lb_packer *pk;

static inline int pwcb(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "%s", (const char *)ctx);
	return 0;
}

static inline struct lb_node *add(struct lb_tree *t, const char *name, uint8_t type)
{
	struct lb_node *n;

	lb_tree_add(t, &n);
	n->namelen = strlen(name);
	n->name = (uint8_t *)strdup(name);
	n->type = type;
	n->mode = type == LB_NODE_DIR ? 0755 : 0644;
	n->user = strdup("root");
	n->group = strdup("root");
	n->nlink = 1;
	n->mtime_s = 1700000000;
	return n;
}

static inline void add_chunk(struct lb_node *n, uint64_t len, uint8_t fill)
{
	struct lb_extent x = { .len = len };

	memset(x.id, fill, 32);
	lb_extent_append(n, &x);
	n->size += len;
}

static inline void add_xattr(struct lb_node *n, const char *name, const char *value)
{
	n->xattrs = realloc(n->xattrs, (n->nxattrs + 1) * sizeof *n->xattrs);
	n->xattrs[n->nxattrs].name = strdup(name);
	n->xattrs[n->nxattrs].value = (uint8_t *)strdup(value);
	n->xattrs[n->nxattrs].len = strlen(value);
	n->nxattrs++;
}

/* Stores t as a tree blob and releases it. */
static inline void store(struct lb_tree *t, uint8_t id[32])
{
	struct lb_buf b;

	lb_buf_init(&b, 0);
	lb_tree_sort(t);
	lb_tree_encode(t, &b);
	lb_repo_blob_id(repo, b.data, b.len, id);
	lb_packer_put(pk, LB_BLOB_TREE, id, b.data, b.len);
	lb_buf_release(&b);
	lb_tree_release(t);
}

#endif
