/* lifeboat — the difference between two snapshot trees (lifeboat/diff.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/browse.h"
#include "lifeboat/diff.h"
#include "util/util.h"

#define ACL_PREFIX "system.posix_acl_"

struct diff {
	struct lb_repo *r;
	unsigned ignore;
	lb_diff_fn fn;
	void *ctx;
	struct lb_buf path;  /* the current path, NUL-terminated beyond len */
};

static bool is_acl(const struct lb_xattr *x)
{
	return strncmp(x->name, ACL_PREFIX, sizeof ACL_PREFIX - 1) == 0;
}

/* Whether the xattrs of a and b that are (acl) or are not (!acl) ACLs
 * differ.  Both lists are sorted by name. */
static bool xattrs_differ(const struct lb_node *a, const struct lb_node *b, bool acl)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->nxattrs && is_acl(&a->xattrs[i]) != acl)
			i++;
		while (j < b->nxattrs && is_acl(&b->xattrs[j]) != acl)
			j++;
		if (i == a->nxattrs || j == b->nxattrs)
			return i != a->nxattrs || j != b->nxattrs;
		if (strcmp(a->xattrs[i].name, b->xattrs[j].name) != 0 || a->xattrs[i].len != b->xattrs[j].len ||
		    (a->xattrs[i].len && memcmp(a->xattrs[i].value, b->xattrs[j].value, a->xattrs[i].len) != 0))
			return true;
		i++;
		j++;
	}
}

static bool extents_differ(const struct lb_node *a, const struct lb_node *b)
{
	if (a->nextents != b->nextents)
		return true;
	for (size_t i = 0; i < a->nextents; i++) {
		const struct lb_extent *x = &a->extents[i], *y = &b->extents[i];

		if (x->len != y->len || x->hole != y->hole || (!x->hole && memcmp(x->id, y->id, 32) != 0))
			return true;
	}
	return false;
}

static bool str_differ(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

unsigned lb_diff_nodes(const struct lb_node *a, const struct lb_node *b)
{
	unsigned c = 0;

	if (a->type != b->type) {
		c |= LB_DIFF_TYPE;
	} else if (a->type == LB_NODE_FILE) {
		if (a->size != b->size)
			c |= LB_DIFF_SIZE;
		if (extents_differ(a, b))
			c |= LB_DIFF_CONTENT;
	} else if (a->type == LB_NODE_SYMLINK) {
		if (a->targetlen != b->targetlen || (a->targetlen && memcmp(a->target, b->target, a->targetlen)))
			c |= LB_DIFF_TARGET;
	} else if (a->type == LB_NODE_CHR || a->type == LB_NODE_BLK) {
		if (a->rdev != b->rdev)
			c |= LB_DIFF_CONTENT;
	}
	if ((a->mode & 07777) != (b->mode & 07777))
		c |= LB_DIFF_MODE;
	if (a->uid != b->uid || a->gid != b->gid || str_differ(a->user, b->user) || str_differ(a->group, b->group))
		c |= LB_DIFF_OWNER;
	if (a->mtime_s != b->mtime_s || a->mtime_ns != b->mtime_ns)
		c |= LB_DIFF_MTIME;
	if (a->atime_s != b->atime_s || a->atime_ns != b->atime_ns)
		c |= LB_DIFF_ATIME;
	if (a->ctime_s != b->ctime_s || a->ctime_ns != b->ctime_ns)
		c |= LB_DIFF_CTIME;
	if (xattrs_differ(a, b, false))
		c |= LB_DIFF_XATTRS;
	if (xattrs_differ(a, b, true))
		c |= LB_DIFF_ACL;
	if (a->type != LB_NODE_DIR && b->type != LB_NODE_DIR && a->nlink != b->nlink)
		c |= LB_DIFF_LINKS;
	return c;
}

static int emit(struct diff *d, enum lb_diff_kind kind, unsigned changes, const struct lb_node *a,
		const struct lb_node *b)
{
	struct lb_diff_entry e = {
		.kind = kind,
		.path = (const char *)d->path.data,
		.pathlen = d->path.len,
		.changes = changes,
		.old = a,
		.new_ = b,
	};

	return d->fn(d->ctx, &e);
}

/* Appends "/name" to the current path; *saved gets the length to pop to. */
static int push(struct diff *d, const struct lb_node *n, size_t *saved)
{
	int e;

	*saved = d->path.len;
	if ((e = lb_buf_put_u8(&d->path, '/')) < 0 || (e = lb_buf_append(&d->path, n->name, n->namelen)) < 0 ||
	    (e = lb_buf_put_u8(&d->path, 0)) < 0)
		return e;
	d->path.len--;
	return 0;
}

static void pop(struct diff *d, size_t saved)
{
	d->path.len = saved;
	d->path.data[saved] = 0;
}

static int load(struct diff *d, const uint8_t id[32], struct lb_tree *t)
{
	int e = lb_browse_load_tree(d->r, id, t);

	if (e < 0) {
		char where[512];

		lb_escape(where, sizeof where, d->path.len ? d->path.data : (const uint8_t *)"/",
			  d->path.len ? d->path.len : 1);
		lb_err_wrap(e, "%s", where);
	}
	return e;
}

/* Reports everything below the tree id as added or removed. */
static int report_all(struct diff *d, const uint8_t id[32], enum lb_diff_kind kind)
{
	struct lb_tree t;
	size_t saved;
	int e = load(d, id, &t);

	for (size_t i = 0; i < t.n && e == 0; i++) {
		const struct lb_node *n = &t.nodes[i];

		if ((e = push(d, n, &saved)) < 0)
			break;
		e = emit(d, kind, 0, kind == LB_DIFF_REMOVED ? n : NULL, kind == LB_DIFF_ADDED ? n : NULL);
		if (e == 0 && n->type == LB_NODE_DIR)
			e = report_all(d, n->subtree, kind);
		pop(d, saved);
	}
	lb_tree_release(&t);
	return e;
}

static int diff_trees(struct diff *d, const uint8_t a[32], const uint8_t b[32]);

/* One entry at the current path: a (old), b (new) or both. */
static int diff_node(struct diff *d, const struct lb_node *a, const struct lb_node *b)
{
	unsigned ch;
	int e;

	if (!a) {
		e = emit(d, LB_DIFF_ADDED, 0, NULL, b);
		if (e == 0 && b->type == LB_NODE_DIR)
			e = report_all(d, b->subtree, LB_DIFF_ADDED);
		return e;
	}
	if (!b) {
		e = emit(d, LB_DIFF_REMOVED, 0, a, NULL);
		if (e == 0 && a->type == LB_NODE_DIR)
			e = report_all(d, a->subtree, LB_DIFF_REMOVED);
		return e;
	}
	ch = lb_diff_nodes(a, b) & ~(d->ignore & ~LB_DIFF_TYPE);
	e = ch ? emit(d, LB_DIFF_MODIFIED, ch, a, b) : 0;
	if (e)
		return e;
	if (a->type == LB_NODE_DIR && b->type == LB_NODE_DIR)
		return diff_trees(d, a->subtree, b->subtree);
	if (a->type == LB_NODE_DIR)
		return report_all(d, a->subtree, LB_DIFF_REMOVED);
	if (b->type == LB_NODE_DIR)
		return report_all(d, b->subtree, LB_DIFF_ADDED);
	return 0;
}

/* Merges two sorted trees.  Identical ids: identical subtrees, nothing to do. */
static int diff_trees(struct diff *d, const uint8_t a[32], const uint8_t b[32])
{
	struct lb_tree ta, tb;
	size_t i = 0, j = 0, saved;
	int e;

	if (memcmp(a, b, 32) == 0)
		return 0;
	lb_tree_init(&tb);
	if ((e = load(d, a, &ta)) < 0 || (e = load(d, b, &tb)) < 0)
		goto out;
	while (e == 0 && (i < ta.n || j < tb.n)) {
		const struct lb_node *x = i < ta.n ? &ta.nodes[i] : NULL, *y = j < tb.n ? &tb.nodes[j] : NULL;
		int c = !x ? 1 : !y ? -1 : lb_name_cmp(x->name, x->namelen, y->name, y->namelen);

		if (c < 0)
			y = NULL, i++;
		else if (c > 0)
			x = NULL, j++;
		else
			i++, j++;
		if ((e = push(d, x ? x : y, &saved)) < 0)
			break;
		e = diff_node(d, x, y);
		pop(d, saved);
	}
out:
	lb_tree_release(&ta);
	lb_tree_release(&tb);
	return e;
}

int lb_diff_trees(struct lb_repo *r, const uint8_t old_root[32], const uint8_t new_root[32], const char *path,
		  const struct lb_diff_opts *o, lb_diff_fn fn, void *ctx)
{
	struct diff d = { .r = r, .ignore = o ? o->ignore : 0, .fn = fn, .ctx = ctx };
	struct lb_node a, b;
	int ea = 1, eb = 1, e;
	const char *p = path ? path : "/";

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	lb_buf_init(&d.path, 0);
	while (*p == '/')
		p++;
	if ((e = lb_buf_put_u8(&d.path, 0)) < 0)
		goto out;
	d.path.len = 0;
	if (!*p) {
		e = diff_trees(&d, old_root, new_root);
		goto out;
	}
	/* "/a//b/" as "/a/b" */
	while (*p) {
		size_t k = strcspn(p, "/");

		if ((e = lb_buf_put_u8(&d.path, '/')) < 0 || (e = lb_buf_append(&d.path, p, k)) < 0)
			goto out;
		p += k;
		while (*p == '/')
			p++;
	}
	if ((e = lb_buf_put_u8(&d.path, 0)) < 0)
		goto out;
	d.path.len--;
	if ((ea = e = lb_browse_find(r, old_root, (const char *)d.path.data, &a)) < 0 ||
	    (eb = e = lb_browse_find(r, new_root, (const char *)d.path.data, &b)) < 0)
		goto out;
	if (ea && eb) {
		char where[512];

		lb_escape(where, sizeof where, d.path.data, d.path.len);
		e = lb_err(-LB_E_NOTFOUND, "%s: no such file or directory in either snapshot", where);
		goto out;
	}
	e = diff_node(&d, ea ? NULL : &a, eb ? NULL : &b);
out:
	if (ea == 0)
		lb_node_release(&a);
	if (eb == 0)
		lb_node_release(&b);
	lb_buf_release(&d.path);
	return e;
}
