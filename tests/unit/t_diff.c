/* Unit tests for lib/snap/diff.c: every kind of change between two hand-made
 * trees, reported in name order; identical subtrees skipped by id without
 * being read; a PATH; ignored changes; a callback that stops. */
#include <errno.h>

#include "tap.h"
#include "treebuild.h"
#include "lifeboat/diff.h"

static uint8_t old_root[32], new_root[32], missing[32];

static void build(void)
{
	struct lb_tree t, s;
	struct lb_node *n;
	uint8_t sub_old[32], sub_new[32], tdir[32];

	memset(missing, 0x42, 32);
	lb_tree_init(&s);
	add_chunk(add(&s, "c", LB_NODE_FILE), 10, 0xc1);
	store(&s, sub_old);
	lb_tree_init(&s);
	add_chunk(add(&s, "c", LB_NODE_FILE), 10, 0xc1);
	add_chunk(add(&s, "c2", LB_NODE_FILE), 5, 0xc2);
	store(&s, sub_new);
	lb_tree_init(&s);
	add(&s, "inner", LB_NODE_FILE);
	store(&s, tdir);

	lb_tree_init(&t);
	add_chunk(add(&t, "a", LB_NODE_FILE), 100, 0xa1);
	memcpy(add(&t, "b", LB_NODE_DIR)->subtree, sub_old, 32);
	n = add(&t, "d", LB_NODE_SYMLINK);
	n->target = (uint8_t *)strdup("x");
	n->targetlen = 1;
	add(&t, "e", LB_NODE_FILE);
	add_chunk(add(&t, "f", LB_NODE_FILE), 7, 0xf1);
	memcpy(add(&t, "same", LB_NODE_DIR)->subtree, missing, 32);   /* never stored */
	add(&t, "t", LB_NODE_FILE);
	n = add(&t, "x", LB_NODE_FILE);
	add_xattr(n, "system.posix_acl_access", "acl1");
	add_xattr(n, "user.k", "1");
	add(&t, "z", LB_NODE_FILE)->atime_s = 1;
	store(&t, old_root);

	lb_tree_init(&t);
	add_chunk(add(&t, "a", LB_NODE_FILE), 200, 0xa2);
	memcpy(add(&t, "b", LB_NODE_DIR)->subtree, sub_new, 32);
	n = add(&t, "d", LB_NODE_SYMLINK);
	n->target = (uint8_t *)strdup("y");
	n->targetlen = 1;
	n = add(&t, "e", LB_NODE_FILE);
	n->mode = 0600;
	n->uid = 1234;
	add(&t, "g", LB_NODE_FILE);
	memcpy(add(&t, "same", LB_NODE_DIR)->subtree, missing, 32);
	memcpy(add(&t, "t", LB_NODE_DIR)->subtree, tdir, 32);
	n = add(&t, "x", LB_NODE_FILE);
	add_xattr(n, "system.posix_acl_access", "acl2");
	add_xattr(n, "user.k", "2");
	add(&t, "z", LB_NODE_FILE)->atime_s = 2;
	store(&t, new_root);
	lb_packer_flush(pk);
}

struct rec {
	char lines[32][128];
	int n, stop_at;
};

static int rec_cb(void *ctx, const struct lb_diff_entry *e)
{
	struct rec *r = ctx;

	if (r->n < 32)
		snprintf(r->lines[r->n], sizeof r->lines[0], "%c %s %x", (char)e->kind, e->path, e->changes);
	if (e->kind == LB_DIFF_ADDED && (e->old || !e->new_))
		snprintf(r->lines[r->n], sizeof r->lines[0], "added with old set");
	if (e->kind == LB_DIFF_REMOVED && (!e->old || e->new_))
		snprintf(r->lines[r->n], sizeof r->lines[0], "removed with new set");
	r->n++;
	return r->stop_at && r->n == r->stop_at ? 5 : 0;
}

static int rec_is(const struct rec *r, const char *const *want, int n)
{
	int good = r->n == n;

	for (int i = 0; good && i < n; i++)
		good = strcmp(r->lines[i], want[i]) == 0;
	if (!good)
		for (int i = 0; i < r->n && i < 32; i++)
			diag("  %s", r->lines[i]);
	return good;
}

int main(void)
{
	struct lb_init_opts o = { .encrypt = 0 };
	struct lb_diff_opts dflt = { .ignore = LB_DIFF_IGNORE_DEFAULT }, all = { 0 };
	char path[600], want_line[8][128];
	struct rec r;
	int e;

	snprintf(path, sizeof path, "%s/repo", tap_tmp());
	e = lb_repo_init(path, &o, pwcb, "pw", &repo);
	ok(e == 0, "init");
	if (e)
		return done_testing();
	lb_packer_new(repo, 1, &pk);
	build();

	snprintf(want_line[0], 128, "M /a %x", LB_DIFF_CONTENT | LB_DIFF_SIZE);
	snprintf(want_line[1], 128, "M /d %x", LB_DIFF_TARGET);
	snprintf(want_line[2], 128, "M /e %x", LB_DIFF_MODE | LB_DIFF_OWNER);
	snprintf(want_line[3], 128, "M /t %x", LB_DIFF_TYPE | LB_DIFF_MODE);
	snprintf(want_line[4], 128, "M /x %x", LB_DIFF_XATTRS | LB_DIFF_ACL);
	{
		const char *const want[] = { want_line[0], "+ /b/c2 0", want_line[1], want_line[2], "- /f 0", "+ /g 0",
					     want_line[3], "+ /t/inner 0", want_line[4] };

		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, old_root, new_root, "/", &dflt, rec_cb, &r);
		ok(e == 0, "diff of two trees: %s", e ? lb_errmsg() : "ok");
		ok(rec_is(&r, want, 9), "content, size, target, mode, owner, type, xattrs and ACLs; adds and removes "
					"below too, in name order");
		ok(1, "the subtree both sides share by id was never read (it is not in the repository)");
	}
	{
		char z[128];
		const char *const want[] = { z };

		snprintf(z, sizeof z, "M /z %x", LB_DIFF_ATIME);
		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, old_root, new_root, "/z", &all, rec_cb, &r);
		ok(e == 0 && rec_is(&r, want, 1), "with nothing ignored, an atime change shows");
		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, old_root, new_root, "/z", &dflt, rec_cb, &r);
		ok(e == 0 && r.n == 0, "by default it does not");
	}
	{
		const char *const want[] = { "+ /b/c2 0" };

		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, old_root, new_root, "b/", &dflt, rec_cb, &r);
		ok(e == 0 && rec_is(&r, want, 1), "a PATH: only what changed below it");
	}
	{
		const char *const want[] = { "- /f 0" }, *const want2[] = { "+ /f 0" };

		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, old_root, new_root, "/f", &dflt, rec_cb, &r);
		ok(e == 0 && rec_is(&r, want, 1), "a PATH only in the old tree: removed");
		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, new_root, old_root, "/f", &dflt, rec_cb, &r);
		ok(e == 0 && rec_is(&r, want2, 1), "...the other way round: added");
	}
	{
		const char *const want[] = { "- /t/inner 0", "- /b/c2 0" };

		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, new_root, old_root, "/t", &dflt, rec_cb, &r);
		ok(e == 0 && r.n == 2 && !strncmp(r.lines[0], "M /t", 4) && !strcmp(r.lines[1], want[0]),
		   "a directory that became a file: the type change, then its content as removed");
	}
	memset(&r, 0, sizeof r);
	e = lb_diff_trees(repo, old_root, old_root, "/", &dflt, rec_cb, &r);
	ok(e == 0 && r.n == 0, "a tree against itself: nothing, nothing read");
	memset(&r, 0, sizeof r);
	e = lb_diff_trees(repo, old_root, new_root, "/nope", &dflt, rec_cb, &r);
	ok(e == -LB_E_NOTFOUND && strstr(lb_errmsg(), "/nope"), "a PATH in neither tree: -LB_E_NOTFOUND naming it: %s",
	   lb_errmsg());
	memset(&r, 0, sizeof r);
	e = lb_diff_trees(repo, old_root, new_root, "/same/x", &dflt, rec_cb, &r);
	ok(e < 0 && strstr(lb_errmsg(), "blob"), "a PATH through a missing tree: the read error, not 'no such path' (%s)",
	   lb_errmsg());
	memset(&r, 0, sizeof r);
	r.stop_at = 2;
	e = lb_diff_trees(repo, old_root, new_root, "/", &dflt, rec_cb, &r);
	ok(e == 5 && r.n == 2, "a callback's non-zero return stops the walk and is returned");
	{
		uint8_t other[32];
		struct lb_tree t;

		lb_tree_init(&t);
		memcpy(add(&t, "same", LB_NODE_DIR)->subtree, old_root, 32);
		store(&t, other);
		lb_packer_flush(pk);
		memset(&r, 0, sizeof r);
		e = lb_diff_trees(repo, old_root, other, "/", &dflt, rec_cb, &r);
		ok(e < 0 && strstr(lb_errmsg(), "/same"), "a differing subtree that cannot be read: an error naming it: %s",
		   lb_errmsg());
	}
	lb_packer_free(pk);
	lb_repo_close(repo);
	tap_tmp_cleanup();
	return done_testing();
}
