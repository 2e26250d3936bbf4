/* Fuzzes lb_tree_decode: tree blobs come out of packs and are parsed by
 * restore, ls, check and the next backup's files cache.
 *
 * Invariants: a rejected blob leaves nothing allocated (LeakSanitizer); an
 * accepted one respects every documented limit, and decode -> encode ->
 * decode is stable (same tree, and the same bytes when encoded again). */
#include <string.h>

#include "lifeboat/tree.h"
#include "util/util.h"
#include "fuzz.h"

static void check_limits(const struct lb_tree *t)
{
	FUZZ_ASSERT(t->n <= t->cap || t->n == 0);
	for (size_t i = 0; i < t->n; i++) {
		const struct lb_node *n = &t->nodes[i];
		uint64_t total = 0;

		FUZZ_ASSERT(n->name != NULL && n->namelen <= LB_NAME_MAX_STORED);
		FUZZ_ASSERT(n->type >= LB_NODE_FILE && n->type <= LB_NODE_BLK);
		FUZZ_ASSERT((n->mode & ~07777u) == 0);
		FUZZ_ASSERT(n->user && strlen(n->user) <= LB_OWNER_NAME_MAX);
		FUZZ_ASSERT(n->group && strlen(n->group) <= LB_OWNER_NAME_MAX);
		FUZZ_ASSERT(n->mtime_ns < 1000000000u && n->atime_ns < 1000000000u && n->ctime_ns < 1000000000u);
		FUZZ_ASSERT(n->targetlen <= LB_TARGET_MAX && n->target != NULL);
		FUZZ_ASSERT(n->nxattrs <= LB_XATTRS_MAX);
		for (size_t k = 0; k < n->nxattrs; k++) {
			FUZZ_ASSERT(n->xattrs[k].name && strlen(n->xattrs[k].name) <= LB_XATTR_NAME_MAX);
			FUZZ_ASSERT(n->xattrs[k].len <= LB_XATTR_VALUE_MAX);
		}
		if (n->type != LB_NODE_FILE)
			FUZZ_ASSERT(n->nextents == 0);
		for (size_t k = 0; k < n->nextents; k++) {
			const struct lb_extent *x = &n->extents[k];

			if (!x->hole)
				FUZZ_ASSERT(x->len > 0 && x->len <= (64u << 20));
			FUZZ_ASSERT(total + x->len >= total);
			total += x->len;
		}
		if (n->type == LB_NODE_FILE)
			FUZZ_ASSERT(total == n->size);
	}
}

static int same_bytes(const void *a, size_t la, const void *b, size_t lb)
{
	return la == lb && (la == 0 || memcmp(a, b, la) == 0);
}

static void check_same(const struct lb_tree *a, const struct lb_tree *b)
{
	FUZZ_ASSERT(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct lb_node *x = &a->nodes[i], *y = &b->nodes[i];

		FUZZ_ASSERT(same_bytes(x->name, x->namelen, y->name, y->namelen));
		FUZZ_ASSERT(x->type == y->type && x->mode == y->mode && x->uid == y->uid && x->gid == y->gid);
		FUZZ_ASSERT(strcmp(x->user, y->user) == 0 && strcmp(x->group, y->group) == 0);
		FUZZ_ASSERT(x->mtime_s == y->mtime_s && x->mtime_ns == y->mtime_ns);
		FUZZ_ASSERT(x->atime_s == y->atime_s && x->atime_ns == y->atime_ns);
		FUZZ_ASSERT(x->ctime_s == y->ctime_s && x->ctime_ns == y->ctime_ns);
		FUZZ_ASSERT(x->dev == y->dev && x->ino == y->ino && x->nlink == y->nlink);
		FUZZ_ASSERT(x->size == y->size && x->rdev == y->rdev);
		FUZZ_ASSERT(same_bytes(x->target, x->targetlen, y->target, y->targetlen));
		FUZZ_ASSERT(x->nxattrs == y->nxattrs);
		for (size_t k = 0; k < x->nxattrs; k++) {
			FUZZ_ASSERT(strcmp(x->xattrs[k].name, y->xattrs[k].name) == 0);
			FUZZ_ASSERT(same_bytes(x->xattrs[k].value, x->xattrs[k].len, y->xattrs[k].value,
					       y->xattrs[k].len));
		}
		FUZZ_ASSERT(x->nextents == y->nextents);
		for (size_t k = 0; k < x->nextents; k++) {
			FUZZ_ASSERT(x->extents[k].len == y->extents[k].len);
			FUZZ_ASSERT(x->extents[k].hole == y->extents[k].hole);
			if (!x->extents[k].hole)
				FUZZ_ASSERT(memcmp(x->extents[k].id, y->extents[k].id, 32) == 0);
		}
		if (x->type == LB_NODE_DIR)
			FUZZ_ASSERT(memcmp(x->subtree, y->subtree, 32) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_tree t1, t2;
	struct lb_buf b1, b2;

	if (lb_tree_decode(data, size, &t1) < 0) {
		/* a failed decode must leave an empty, releasable tree */
		FUZZ_ASSERT(t1.n == 0 && t1.nodes == NULL);
		lb_tree_release(&t1);
		return 0;
	}
	check_limits(&t1);
	/* the lookups restore and backup do on a decoded tree */
	for (size_t i = 0; i < t1.n; i++) {
		(void)lb_name_valid(t1.nodes[i].name, t1.nodes[i].namelen);
		(void)lb_tree_find(&t1, t1.nodes[i].name, t1.nodes[i].namelen);
	}

	lb_buf_init(&b1, 0);
	lb_buf_init(&b2, 0);
	FUZZ_ASSERT(lb_tree_encode(&t1, &b1) == 0);
	FUZZ_ASSERT(b1.len <= size); /* extensions are dropped, nothing is added */
	FUZZ_ASSERT(lb_tree_decode(b1.data, b1.len, &t2) == 0);
	check_same(&t1, &t2);
	FUZZ_ASSERT(lb_tree_encode(&t2, &b2) == 0);
	FUZZ_ASSERT(same_bytes(b1.data, b1.len, b2.data, b2.len));

	lb_tree_sort(&t2);
	lb_tree_release(&t1);
	lb_tree_release(&t2);
	lb_buf_release(&b1);
	lb_buf_release(&b2);
	return 0;
}
