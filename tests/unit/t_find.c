/* Unit tests for lib/snap/find.c: matches across snapshots grouped by path,
 * versions numbered by content, subtrees met again at the same path not
 * read again, whole-path patterns, a starting path, mtime filters. */
#include <errno.h>

#include "tap.h"
#include "treebuild.h"
#include "lifeboat/find.h"

static uint8_t r1[32], r2[32], r3[32];

static void build(void)
{
	struct lb_tree t;
	struct lb_node *n;
	uint8_t m1[32], m3[32], other[32];

	lb_tree_init(&t);
	add_chunk(add(&t, "f1", LB_NODE_FILE), 10, 0x01);
	add_chunk(add(&t, "f2", LB_NODE_FILE), 20, 0x02);
	store(&t, m1);
	lb_tree_init(&t);
	n = add(&t, "f1", LB_NODE_FILE);
	add_chunk(n, 11, 0x03);
	n->mtime_s = 1800000000;
	add_chunk(add(&t, "f2", LB_NODE_FILE), 20, 0x02);
	store(&t, m3);
	lb_tree_init(&t);
	add_chunk(add(&t, "F1", LB_NODE_FILE), 5, 0x05);
	store(&t, other);

	lb_tree_init(&t);
	memcpy(add(&t, "m", LB_NODE_DIR)->subtree, m1, 32);
	memcpy(add(&t, "other", LB_NODE_DIR)->subtree, other, 32);
	store(&t, r1);
	lb_tree_init(&t);                     /* one more file at the top */
	memcpy(add(&t, "m", LB_NODE_DIR)->subtree, m1, 32);
	memcpy(add(&t, "other", LB_NODE_DIR)->subtree, other, 32);
	add(&t, "top", LB_NODE_FILE);
	store(&t, r2);
	lb_tree_init(&t);                     /* f1 changed */
	memcpy(add(&t, "m", LB_NODE_DIR)->subtree, m3, 32);
	memcpy(add(&t, "other", LB_NODE_DIR)->subtree, other, 32);
	store(&t, r3);
	lb_packer_flush(pk);
}

/* Runs a search over r1, r2, r3 (snapshots 0, 1, 2). */
static struct lb_find *run(const struct lb_find_opts *o, int *rc)
{
	const uint8_t *roots[] = { r1, r2, r3 };
	struct lb_find *f;

	*rc = 0;
	if (lb_find_new(repo, o, &f) < 0)
		return NULL;
	for (size_t i = 0; i < 3; i++) {
		int e = lb_find_search(f, roots[i], i);

		if (e != 0 && *rc == 0)
			*rc = e;
	}
	return f;
}

static const struct lb_find_path *get(struct lb_find *f, size_t *n)
{
	const struct lb_find_path *p = NULL;

	*n = 0;
	if (f)
		lb_find_results(f, &p, n);
	return p;
}

int main(void)
{
	struct lb_init_opts io = { .encrypt = 0 };
	const struct lb_find_path *p;
	struct lb_find *f;
	char path[600];
	uint64_t rd, reused;
	size_t n;
	int e, rc;

	snprintf(path, sizeof path, "%s/repo", tap_tmp());
	e = lb_repo_init(path, &io, pwcb, "pw", &repo);
	ok(e == 0, "init");
	if (e)
		return done_testing();
	lb_packer_new(repo, 1, &pk);
	build();

	{
		struct lb_find_opts o = { .pattern = "f1" };

		f = run(&o, &rc);
		p = get(f, &n);
		ok(rc == 0 && n == 1 && !strcmp(p[0].path, "/m/f1") && p[0].pathlen == 5, "'f1': one path, /m/f1");
		ok(n == 1 && p[0].nhits == 3 && p[0].hits[0].snap == 0 && p[0].hits[1].snap == 1 && p[0].hits[2].snap == 2,
		   "...in the three snapshots, in order");
		ok(n == 1 && p[0].nversions == 2 && p[0].hits[0].version == 1 && p[0].hits[1].version == 1 &&
		   p[0].hits[2].version == 2, "...two versions: the third snapshot's content is new");
		ok(n == 1 && p[0].hits[0].size == 10 && p[0].hits[2].size == 11 && p[0].hits[2].mtime_s == 1800000000 &&
		   p[0].hits[0].type == LB_NODE_FILE && p[0].hits[0].mode == 0644, "...with each one's size, mtime, type, mode");
		lb_find_stats(f, &rd, &reused);
		is(rd, 6, "trees read: 3 for the first snapshot, the new root of the second, the changed two of the third");
		is(reused, 3, "subtrees met again at the same path were not read again");
		lb_find_free(f);
	}
	{
		struct lb_find_opts o = { .pattern = "f1", .casefold = true };

		f = run(&o, &rc);
		p = get(f, &n);
		ok(n == 2 && !strcmp(p[0].path, "/m/f1") && !strcmp(p[1].path, "/other/F1") && p[1].nhits == 3 &&
		   p[1].nversions == 1, "-i: /other/F1 too (three snapshots, one version), sorted by path");
		lb_find_free(f);
	}
	{
		struct lb_find_opts o = { .pattern = "m/f*" };

		f = run(&o, &rc);
		p = get(f, &n);
		ok(n == 2 && !strcmp(p[0].path, "/m/f1") && !strcmp(p[1].path, "/m/f2") && p[1].nversions == 1,
		   "a pattern with a '/' matches the end of the whole path");
		lb_find_free(f);
		o.pattern = "/f*";
		f = run(&o, &rc);
		get(f, &n);
		is(n, 0, "...and one starting with '/' all of it");
		lb_find_free(f);
		o.pattern = "/*/f2";
		f = run(&o, &rc);
		p = get(f, &n);
		ok(n == 1 && !strcmp(p[0].path, "/m/f2"), "'/*/f2'");
		lb_find_free(f);
	}
	{
		struct lb_find_opts o = { .pattern = "*", .path = "/other" };

		f = run(&o, &rc);
		p = get(f, &n);
		ok(rc == 0 && n == 2 && !strcmp(p[0].path, "/other") && !strcmp(p[1].path, "/other/F1"),
		   "--path: the path itself and what is below it");
		lb_find_free(f);
		o.path = "//other/F1/";
		f = run(&o, &rc);
		p = get(f, &n);
		ok(rc == 0 && n == 1 && !strcmp(p[0].path, "/other/F1"), "--path naming a file, slashes tidied");
		lb_find_free(f);
		o.path = "/top";
		f = run(&o, &rc);
		p = get(f, &n);
		ok(rc == 1 && n == 1 && p[0].nhits == 1 && p[0].hits[0].snap == 1,
		   "--path in one snapshot only: the others say 1 (not there)");
		lb_find_free(f);
	}
	{
		struct lb_find_opts o = { .pattern = "f*", .newer = true, .newer_s = 1750000000 };

		f = run(&o, &rc);
		p = get(f, &n);
		ok(n == 1 && p[0].nhits == 1 && p[0].hits[0].snap == 2 && p[0].hits[0].size == 11,
		   "--newer: only versions with a later mtime");
		lb_find_free(f);
		o.newer = false;
		o.older = true;
		o.older_s = 1750000000;
		f = run(&o, &rc);
		p = get(f, &n);
		ok(n == 2 && p[0].nhits == 2 && p[1].nhits == 3, "--older: only versions with an earlier mtime");
		lb_find_free(f);
	}
	{
		struct lb_find_opts o = { .pattern = "" };

		ok(lb_find_new(repo, &o, &f) < 0, "an empty pattern is refused");
	}
	{
		struct lb_find_opts o = { .pattern = "*" };
		uint8_t missing[32];

		memset(missing, 0x77, 32);
		lb_find_new(repo, &o, &f);
		e = lb_find_search(f, missing, 0);
		ok(e < 0 && lb_errmsg()[0], "a root that cannot be read: an error (%s)", lb_errmsg());
		lb_find_free(f);
	}
	lb_packer_free(pk);
	lb_repo_close(repo);
	tap_tmp_cleanup();
	return done_testing();
}
