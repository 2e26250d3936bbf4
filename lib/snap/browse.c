#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/browse.h"
#include "store/store.h"

int lb_browse_load_tree(struct lb_repo *r, const uint8_t id[32], struct lb_tree *t)
{
	struct lb_buf b;
	int e;

	lb_tree_init(t);
	lb_buf_init(&b, LB_BLOB_MAX);
	e = lb_repo_read_blob(r, id, LB_BLOB_TREE, &b);
	if (e == 0)
		e = lb_tree_decode(b.data, b.len, t);
	lb_buf_release(&b);
	return e;
}

static void *dupmem(const void *p, size_t n, size_t extra)
{
	void *q;

	if (!p)
		return NULL;
	q = malloc(n + extra);
	if (q) {
		memcpy(q, p, n);
		memset((char *)q + n, 0, extra);
	}
	return q;
}

int lb_node_copy(struct lb_node *dst, const struct lb_node *src)
{
	*dst = *src;
	dst->name = dupmem(src->name, src->namelen, 1);
	dst->user = src->user ? strdup(src->user) : NULL;
	dst->group = src->group ? strdup(src->group) : NULL;
	dst->target = dupmem(src->target, src->targetlen, 1);
	dst->extents = src->nextents ? dupmem(src->extents, src->nextents * sizeof *src->extents, 0) : NULL;
	dst->capextents = src->nextents;
	dst->xattrs = src->nxattrs ? calloc(src->nxattrs, sizeof *src->xattrs) : NULL;
	for (size_t i = 0; dst->xattrs && i < src->nxattrs; i++) {
		dst->xattrs[i].name = strdup(src->xattrs[i].name);
		dst->xattrs[i].value = dupmem(src->xattrs[i].value, src->xattrs[i].len, 1);
		dst->xattrs[i].len = src->xattrs[i].len;
	}
	if ((src->name && !dst->name) || (src->nextents && !dst->extents) || (src->nxattrs && !dst->xattrs)) {
		lb_node_release(dst);
		return -ENOMEM;
	}
	return 0;
}

int lb_browse_lookup(struct lb_repo *r, const uint8_t root[32], const char *path, struct lb_node *out)
{
	uint8_t cur[32];
	const char *p = path;
	struct lb_tree t;
	int e;

	memset(out, 0, sizeof *out);
	memcpy(cur, root, 32);
	while (*p == '/')
		p++;
	if (!*p) {
		out->type = LB_NODE_DIR;
		out->mode = 0755;
		out->name = (uint8_t *)strdup("/");
		out->namelen = 1;
		memcpy(out->subtree, root, 32);
		return out->name ? 0 : -ENOMEM;
	}
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		struct lb_node *n;
		const char *next;

		if ((e = lb_browse_load_tree(r, cur, &t)) < 0)
			return e;
		n = lb_tree_find(&t, (const uint8_t *)p, len);
		if (!n) {
			lb_tree_release(&t);
			return lb_err(-LB_E_NOTFOUND, "%s: no such file or directory in the snapshot", path);
		}
		next = slash;
		while (next && *next == '/')
			next++;
		if (!next || !*next) {
			e = lb_node_copy(out, n);
			lb_tree_release(&t);
			return e;
		}
		if (n->type != LB_NODE_DIR) {
			lb_tree_release(&t);
			return lb_err(-ENOTDIR, "%s: not a directory in the snapshot", path);
		}
		memcpy(cur, n->subtree, 32);
		lb_tree_release(&t);
		p = next;
	}
}

static int walk(struct lb_repo *r, const uint8_t id[32], struct lb_buf *path, bool recursive, lb_browse_fn fn,
		void *ctx)
{
	struct lb_tree t;
	int e = lb_browse_load_tree(r, id, &t);

	if (e < 0)
		return lb_err_wrap(e, "%s", path->len ? (char *)path->data : "/");
	for (size_t i = 0; i < t.n && e == 0; i++) {
		const struct lb_node *n = &t.nodes[i];
		size_t saved = path->len;

		if ((e = lb_buf_put_u8(path, '/')) < 0 || (e = lb_buf_append(path, n->name, n->namelen)) < 0 ||
		    (e = lb_buf_put_u8(path, 0)) < 0)
			break;
		path->len--;
		e = fn(ctx, (const char *)path->data, path->len, n);
		if (e == 0 && recursive && n->type == LB_NODE_DIR)
			e = walk(r, n->subtree, path, true, fn, ctx);
		path->len = saved;
		path->data[saved] = 0;
	}
	lb_tree_release(&t);
	return e;
}

int lb_browse_walk(struct lb_repo *r, const uint8_t root[32], const char *path, bool recursive,
		   lb_browse_fn fn, void *ctx)
{
	struct lb_node n;
	struct lb_buf p;
	const char *s = path;
	int e;

	if ((e = lb_browse_lookup(r, root, path, &n)) < 0)
		return e;
	lb_buf_init(&p, 0);
	while (*s == '/')
		s++;
	lb_buf_put_u8(&p, '/');
	lb_buf_append(&p, s, strlen(s) + 1);
	p.len--;
	while (p.len > 1 && p.data[p.len - 1] == '/')
		p.data[--p.len] = 0;
	if (p.len == 1) {
		/* the root itself is not an entry: list what it holds */
		p.len = 0;
		p.data[0] = 0;
		e = walk(r, n.subtree, &p, recursive, fn, ctx);
	} else {
		e = fn(ctx, (const char *)p.data, p.len, &n);
		if (e == 0 && recursive && n.type == LB_NODE_DIR)
			e = walk(r, n.subtree, &p, true, fn, ctx);
	}
	lb_node_release(&n);
	lb_buf_release(&p);
	return e;
}

int lb_browse_find(struct lb_repo *r, const uint8_t root[32], const char *path, struct lb_node *out)
{
	uint8_t cur[32];
	const char *p = path;
	int e;

	while (*p == '/')
		p++;
	if (!*p)
		return lb_browse_lookup(r, root, "/", out);
	memset(out, 0, sizeof *out);
	memcpy(cur, root, 32);
	for (;;) {
		size_t len = strcspn(p, "/");
		const struct lb_node *n;
		struct lb_tree t;
		const char *next = p + len;

		while (*next == '/')
			next++;
		if ((e = lb_browse_load_tree(r, cur, &t)) < 0)
			return lb_err_wrap(e, "%s", path);
		n = lb_tree_find(&t, (const uint8_t *)p, len);
		if (!n || (*next && n->type != LB_NODE_DIR)) {
			lb_tree_release(&t);
			return 1;
		}
		if (!*next) {
			e = lb_node_copy(out, n);
			lb_tree_release(&t);
			return e;
		}
		memcpy(cur, n->subtree, 32);
		lb_tree_release(&t);
		p = next;
	}
}
