/* Unit tests for lib/snap/browse.c: path lookups and walks over trees
 * built by hand and stored through the packer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "lifeboat/browse.h"
#include "store/packer.h"
#include "store/store.h"

static struct lb_repo *repo;
static struct lb_packer *pk;

static int pwcb(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "%s", (const char *)ctx);
	return 0;
}

static struct lb_node *add(struct lb_tree *t, const char *name, uint8_t type)
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

static void add_chunk(struct lb_node *n, uint64_t len, uint8_t fill)
{
	struct lb_extent x = { .len = len };

	memset(x.id, fill, 32);
	lb_extent_append(n, &x);
	n->size += len;
}

/* Stores t as a tree blob and releases it. */
static void store(struct lb_tree *t, uint8_t id[32])
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

static uint8_t root_id[32], a_id[32], y_id[32], empty_id[32], broken_root[32];

static void build(void)
{
	struct lb_tree t;
	struct lb_node *n;

	lb_tree_init(&t);
	store(&t, empty_id);

	lb_tree_init(&t);
	n = add(&t, "deep", LB_NODE_FILE);
	add_chunk(n, 100, 0xd1);
	n = add(&t, "empty", LB_NODE_DIR);
	memcpy(n->subtree, empty_id, 32);
	store(&t, y_id);

	lb_tree_init(&t);
	n = add(&t, "y2", LB_NODE_FIFO);
	n = add(&t, "y", LB_NODE_DIR);
	memcpy(n->subtree, y_id, 32);
	n = add(&t, "x", LB_NODE_FILE);
	add_chunk(n, 10, 0x10);
	add_chunk(n, 20, 0x20);
	store(&t, a_id);

	lb_tree_init(&t);
	n = add(&t, "\xff", LB_NODE_FILE);
	n = add(&t, "z z", LB_NODE_SYMLINK);
	n->target = (uint8_t *)strdup("a/x");
	n->targetlen = 3;
	n = add(&t, "b", LB_NODE_FILE);
	add_chunk(n, 5, 0xbb);
	n->xattrs = calloc(1, sizeof *n->xattrs);
	n->xattrs[0].name = strdup("user.k");
	n->xattrs[0].value = (uint8_t *)strdup("value");
	n->xattrs[0].len = 5;
	n->nxattrs = 1;
	n = add(&t, "a", LB_NODE_DIR);
	memcpy(n->subtree, a_id, 32);
	store(&t, root_id);

	/* a root whose directory points at a tree that was never stored */
	lb_tree_init(&t);
	n = add(&t, "gone", LB_NODE_DIR);
	memset(n->subtree, 0x66, 32);
	n = add(&t, "ok", LB_NODE_FILE);
	store(&t, broken_root);
}

static void test_lookup(void)
{
	struct lb_node n;
	int e;

	e = lb_browse_lookup(repo, root_id, "/", &n);
	ok(e == 0 && n.type == LB_NODE_DIR && !memcmp(n.subtree, root_id, 32) && n.namelen == 1 && n.name[0] == '/',
	   "'/' is a directory node whose subtree is the root");
	lb_node_release(&n);
	e = lb_browse_lookup(repo, root_id, "", &n);
	ok(e == 0 && !memcmp(n.subtree, root_id, 32), "'' is the root too");
	lb_node_release(&n);
	e = lb_browse_lookup(repo, root_id, "///", &n);
	ok(e == 0 && !memcmp(n.subtree, root_id, 32), "'///' is the root too");
	lb_node_release(&n);

	{
		static const char *forms[] = { "a", "/a", "/a/", "//a//" };
		int all = 1;

		for (size_t i = 0; i < LB_ARRAY_SIZE(forms); i++) {
			e = lb_browse_lookup(repo, root_id, forms[i], &n);
			if (e != 0 || n.type != LB_NODE_DIR || memcmp(n.subtree, a_id, 32) || n.namelen != 1 || n.name[0] != 'a')
				all = 0;
			if (e == 0)
				lb_node_release(&n);
		}
		ok(all, "'a', '/a', '/a/' and '//a//' all find directory a");
	}
	e = lb_browse_lookup(repo, root_id, "/a/y/deep", &n);
	ok(e == 0 && n.type == LB_NODE_FILE && n.size == 100 && n.nextents == 1 && n.extents[0].id[0] == 0xd1,
	   "/a/y/deep is the file, with its extents");
	lb_node_release(&n);
	e = lb_browse_lookup(repo, root_id, "a//y///deep", &n);
	ok(e == 0 && n.type == LB_NODE_FILE && n.size == 100, "repeated slashes are one separator");
	lb_node_release(&n);
	e = lb_browse_lookup(repo, root_id, "/a/y/empty", &n);
	ok(e == 0 && n.type == LB_NODE_DIR && !memcmp(n.subtree, empty_id, 32), "an empty directory");
	lb_node_release(&n);
	e = lb_browse_lookup(repo, root_id, "/\xff", &n);
	ok(e == 0 && n.type == LB_NODE_FILE, "a name that is not UTF-8");
	lb_node_release(&n);
	e = lb_browse_lookup(repo, root_id, "/z z", &n);
	ok(e == 0 && n.type == LB_NODE_SYMLINK && n.targetlen == 3 && !memcmp(n.target, "a/x", 3), "a symlink with a space in its name");
	lb_node_release(&n);
	e = lb_browse_lookup(repo, root_id, "/z z/x", &n);
	is(e, -ENOTDIR, "a path through a symlink is not followed: -ENOTDIR");
	e = lb_browse_lookup(repo, root_id, "/b/x", &n);
	is(e, -ENOTDIR, "a path through a file: -ENOTDIR");
	ok(strstr(lb_errmsg(), "/b/x") != NULL, "...naming the path: %s", lb_errmsg());
	e = lb_browse_lookup(repo, root_id, "/nope", &n);
	is(e, -LB_E_NOTFOUND, "a missing name: -LB_E_NOTFOUND");
	ok(strstr(lb_errmsg(), "/nope") != NULL, "...naming the path: %s", lb_errmsg());
	e = lb_browse_lookup(repo, root_id, "/a/y/deeper", &n);
	is(e, -LB_E_NOTFOUND, "a missing name deep down: -LB_E_NOTFOUND");
	e = lb_browse_lookup(repo, root_id, "/a/.", &n);
	is(e, -LB_E_NOTFOUND, "'.' is not an entry");
	e = lb_browse_lookup(repo, root_id, "/a/y/..", &n);
	is(e, -LB_E_NOTFOUND, "'..' is not an entry");
	e = lb_browse_lookup(repo, broken_root, "/gone/x", &n);
	ok(e < 0, "a directory whose tree is missing: an error (%d: %s)", e, lb_errmsg());
	e = lb_browse_lookup(repo, broken_root, "/ok", &n);
	ok(e == 0, "...its siblings are fine");
	lb_node_release(&n);
	{
		uint8_t bogus[32];

		memset(bogus, 0x99, 32);
		ok(lb_browse_lookup(repo, bogus, "/x", &n) < 0, "an unknown root: an error");
	}
	/* a data blob is not a tree */
	{
		struct lb_tree t;
		uint8_t did[32];

		lb_repo_blob_id(repo, "data", 4, did);
		lb_packer_put(pk, LB_BLOB_DATA, did, "data", 4);
		lb_packer_flush(pk);
		ok(lb_browse_load_tree(repo, did, &t) < 0, "load_tree of a data blob fails");
	}
}

struct rec {
	char paths[32][64];
	uint8_t types[32];
	int n, stop_at;
};

static int rec_cb(void *ctx, const char *path, size_t pathlen, const struct lb_node *n)
{
	struct rec *r = ctx;

	if (r->n < 32) {
		snprintf(r->paths[r->n], sizeof r->paths[r->n], "%s", path);
		r->types[r->n] = n->type;
	}
	r->n++;
	if (r->stop_at && r->n == r->stop_at)
		return 7;
	return 0;
}

static int rec_is(const struct rec *r, const char *const *want, int n)
{
	if (r->n != n) {
		diag("got %d entries, want %d", r->n, n);
		for (int i = 0; i < r->n && i < 32; i++)
			diag("  %s", r->paths[i]);
		return 0;
	}
	for (int i = 0; i < n; i++)
		if (strcmp(r->paths[i], want[i])) {
			diag("entry %d is '%s', want '%s'", i, r->paths[i], want[i]);
			return 0;
		}
	return 1;
}

static void test_walk(void)
{
	static const char *const all[] = { "/a", "/a/x", "/a/y", "/a/y/deep", "/a/y/empty", "/a/y2", "/b", "/z z", "/\xff" };
	static const char *const top[] = { "/a", "/b", "/z z", "/\xff" };
	static const char *const sub[] = { "/a", "/a/x", "/a/y", "/a/y/deep", "/a/y/empty", "/a/y2" };
	static const char *const y[] = { "/a/y", "/a/y/deep", "/a/y/empty" };
	struct rec r;
	int e;

	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, root_id, "/", true, rec_cb, &r);
	ok(e == 0 && rec_is(&r, all, 9), "a recursive walk from / is depth first in byte order of names");
	ok(r.types[0] == LB_NODE_DIR && r.types[1] == LB_NODE_FILE && r.types[5] == LB_NODE_FIFO && r.types[7] == LB_NODE_SYMLINK,
	   "...with each entry's node");
	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, root_id, "", false, rec_cb, &r);
	ok(e == 0 && rec_is(&r, top, 4), "a flat walk of the root lists what it holds");
	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, root_id, "/a", true, rec_cb, &r);
	ok(e == 0 && rec_is(&r, sub, 6), "a recursive walk of /a starts with /a itself");
	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, root_id, "a/y/", true, rec_cb, &r);
	ok(e == 0 && rec_is(&r, y, 3), "'a/y/' walks as /a/y (no trailing slash, leading slash added)");
	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, root_id, "/a", false, rec_cb, &r);
	ok(e == 0 && r.n == 1 && !strcmp(r.paths[0], "/a"), "a flat walk of a directory calls fn for it alone");
	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, root_id, "/b", true, rec_cb, &r);
	ok(e == 0 && r.n == 1 && !strcmp(r.paths[0], "/b") && r.types[0] == LB_NODE_FILE, "a walk of a file is the file");
	memset(&r, 0, sizeof r);
	r.stop_at = 3;
	e = lb_browse_walk(repo, root_id, "/", true, rec_cb, &r);
	ok(e == 7 && r.n == 3, "a callback's non-zero return stops the walk and is returned");
	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, root_id, "/missing", true, rec_cb, &r);
	ok(e == -LB_E_NOTFOUND && r.n == 0, "walking a missing path: -LB_E_NOTFOUND, no calls");
	memset(&r, 0, sizeof r);
	e = lb_browse_walk(repo, broken_root, "/", true, rec_cb, &r);
	ok(e < 0 && strstr(lb_errmsg(), "/gone") != NULL, "a missing subtree stops the walk with an error naming it: %s",
	   lb_errmsg());
}

static void test_copy(void)
{
	struct lb_node src, dst;
	int e;

	e = lb_browse_lookup(repo, root_id, "/b", &src);
	ok(e == 0 && src.nxattrs == 1, "look up a node with an xattr");
	e = lb_node_copy(&dst, &src);
	ok(e == 0, "lb_node_copy");
	ok(dst.name != src.name && dst.user != src.user && dst.extents != src.extents && dst.xattrs != src.xattrs &&
	   dst.xattrs[0].value != src.xattrs[0].value, "the copy shares no memory");
	lb_node_release(&src);
	ok(dst.namelen == 1 && dst.name[0] == 'b' && !strcmp(dst.user, "root") && dst.nextents == 1 && dst.size == 5 &&
	   dst.extents[0].id[0] == 0xbb && !strcmp(dst.xattrs[0].name, "user.k") && dst.xattrs[0].len == 5 &&
	   !memcmp(dst.xattrs[0].value, "value", 5), "the copy outlives the original, every field intact");
	lb_node_release(&dst);
}

int main(void)
{
	struct lb_init_opts o = { .encrypt = 0 };
	char path[600];
	int e;

	snprintf(path, sizeof path, "%s/repo", tap_tmp());
	e = lb_repo_init(path, &o, pwcb, "pw", &repo);
	ok(e == 0, "init");
	if (e)
		return done_testing();
	lb_packer_new(repo, 1, &pk);
	build();
	ok(lb_packer_flush(pk) == 0, "trees stored");
	test_lookup();
	test_walk();
	test_copy();
	lb_packer_free(pk);
	lb_repo_close(repo);
	tap_tmp_cleanup();
	return done_testing();
}
