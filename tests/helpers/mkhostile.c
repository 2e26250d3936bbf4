/* mkhostile REPO SCENARIO TOKEN OUTSIDE: writes a hand-built, hostile
 * snapshot into REPO and prints its id.  Used by tests/cli/t-hostile.t to
 * check that restore never writes outside --target.
 *
 * Trees are sorted by name (stably, so deliberate duplicates stay right
 * after the entry they shadow), except the root of "unsorted".
 *
 * Every scenario holds the same harmless siblings (ok-before.txt,
 * ok-dir/inner.txt, zz-after.txt) around its hostile entries, so the test
 * can check that restore still brings those back.  Every file an attack
 * would create is named TOKEN-..., so the test can look for it anywhere.
 * OUTSIDE is an absolute directory outside the restore target that the
 * symlinks point to.
 *
 *   dotdot    entries "..", "." and nest/../.. (directories with a file in each)
 *   slash     entries "/", "a" then "a/b", "../TOKEN-x", "x/../../TOKEN-y"
 *   badname   an empty name, a name with a NUL byte, a 300-byte name, and a
 *             valid 255-byte name (which must be restored)
 *   symlink   a symlink "esc" -> OUTSIDE followed by a directory "esc"
 *             holding a file (the duplicate is deliberate: real trees are
 *             sorted and unique); a symlink -> OUTSIDE/victim followed by
 *             a file of the same name; a symlink -> OUTSIDE/victim
 *             carrying xattrs
 *   unsorted  the symlink "q-esc2" -> OUTSIDE, a file "q-esc2-mid", then a
 *             directory "q-esc2" holding a file: apart and out of order
 *   hardlink  d/e/up -> ../../../.. plus a directory d/e/up holding the first
 *             member of a hard-link group whose second member is harmless;
 *             and a group whose first member is harmless and whose second
 *             would be created through the symlink
 *   clean     only the harmless siblings (for --include tests) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "store/packer.h"
#include "lifeboat/tree.h"
#include "lifeboat/snapshot.h"

static struct lb_repo *repo;
static struct lb_packer *packer;
static const char *token, *outside;
static uint64_t next_ino = 1000;

static void die(const char *what, int e)
{
	const char *m = lb_errmsg();

	fprintf(stderr, "mkhostile: %s: %s\n", what, m && m[0] ? m : strerror(-e));
	exit(2);
}

static int password(char *buf, size_t n, void *ctx)
{
	const char *p = getenv("LIFEBOAT_PASSWORD");

	(void)ctx;
	if (!p)
		return -EINVAL;
	snprintf(buf, n, "%s", p);
	return 0;
}

static struct lb_node *add(struct lb_tree *t, const void *name, size_t namelen, uint8_t type)
{
	struct lb_node *n;
	int e = lb_tree_add(t, &n);

	if (e < 0)
		die("tree add", e);
	n->name = malloc(namelen + 1);
	if (!n->name)
		die("malloc", -ENOMEM);
	memcpy(n->name, name, namelen);
	n->name[namelen] = 0;
	n->namelen = namelen;
	n->type = type;
	n->mode = type == LB_NODE_DIR ? 0755 : 0644;
	n->user = strdup("root");
	n->group = strdup("root");
	n->mtime_s = n->atime_s = n->ctime_s = 1700000000;
	n->dev = 42;
	n->ino = next_ino++;
	n->nlink = 1;
	return n;
}

static struct lb_node *add_file_n(struct lb_tree *t, const void *name, size_t namelen, const char *content)
{
	struct lb_node *n = add(t, name, namelen, LB_NODE_FILE);
	struct lb_extent x = { 0 };
	size_t len = strlen(content);
	int e;

	n->size = len;
	if (len == 0)
		return n;
	if ((e = lb_repo_blob_id(repo, content, len, x.id)) < 0)
		die("blob id", e);
	if ((e = lb_packer_put(packer, LB_BLOB_DATA, x.id, content, len)) < 0)
		die("packer put", e);
	x.len = len;
	if ((e = lb_extent_append(n, &x)) < 0)
		die("extent", e);
	return n;
}

static struct lb_node *add_file(struct lb_tree *t, const char *name, const char *content)
{
	return add_file_n(t, name, strlen(name), content);
}

static int keep_order; /* the "unsorted" scenario's root keeps its order */

/* Sorts by name as lifeboat writes trees, but stably, so that a deliberate
 * duplicate stays right after the entry it shadows: each hostile entry then
 * meets the defence meant for it, not the rule against unsorted trees. */
static void stable_sort(struct lb_tree *t)
{
	for (size_t i = 1; i < t->n; i++) {
		struct lb_node x = t->nodes[i];
		size_t j = i;

		while (j > 0 && lb_name_cmp(t->nodes[j - 1].name, t->nodes[j - 1].namelen, x.name, x.namelen) > 0) {
			t->nodes[j] = t->nodes[j - 1];
			j--;
		}
		t->nodes[j] = x;
	}
}

/* Stores sub as a tree blob; sub is released. */
static void store_tree(struct lb_tree *sub, uint8_t id[32])
{
	struct lb_buf b;
	int e;

	if (!keep_order)
		stable_sort(sub);
	lb_buf_init(&b, LB_BLOB_MAX);
	if ((e = lb_tree_encode(sub, &b)) < 0)
		die("tree encode", e);
	if ((e = lb_repo_blob_id(repo, b.data, b.len, id)) < 0)
		die("blob id", e);
	if ((e = lb_packer_put(packer, LB_BLOB_TREE, id, b.data, b.len)) < 0)
		die("packer put", e);
	lb_buf_release(&b);
	lb_tree_release(sub);
}

static struct lb_node *add_dir_n(struct lb_tree *t, const void *name, size_t namelen, struct lb_tree *sub)
{
	struct lb_node *n;
	uint8_t id[32];

	store_tree(sub, id); /* before add(): it may move t's nodes */
	n = add(t, name, namelen, LB_NODE_DIR);
	memcpy(n->subtree, id, 32);
	return n;
}

static struct lb_node *add_dir(struct lb_tree *t, const char *name, struct lb_tree *sub)
{
	return add_dir_n(t, name, strlen(name), sub);
}

static struct lb_node *add_symlink(struct lb_tree *t, const char *name, const char *target)
{
	struct lb_node *n = add(t, name, strlen(name), LB_NODE_SYMLINK);

	n->mode = 0777;
	n->target = (uint8_t *)strdup(target);
	n->targetlen = strlen(target);
	n->size = n->targetlen;
	return n;
}

/* A directory holding one file named TOKEN-what. */
static void add_trap_dir_n(struct lb_tree *t, const void *name, size_t namelen, const char *what)
{
	struct lb_tree sub;
	char fname[256];

	lb_tree_init(&sub);
	snprintf(fname, sizeof fname, "%s-%s", token, what);
	add_file(&sub, fname, "PWNED\n");
	add_dir_n(t, name, namelen, &sub);
}

static void add_trap_dir(struct lb_tree *t, const char *name, const char *what)
{
	add_trap_dir_n(t, name, strlen(name), what);
}

static void siblings_first(struct lb_tree *t)
{
	struct lb_tree sub;

	add_file(t, "ok-before.txt", "harmless before\n");
	lb_tree_init(&sub);
	add_file(&sub, "inner.txt", "harmless inner\n");
	add_dir(t, "ok-dir", &sub);
}

static void siblings_last(struct lb_tree *t)
{
	add_file(t, "zz-after.txt", "harmless after\n");
}

static void scenario(const char *name, struct lb_tree *root)
{
	char buf[1024];

	siblings_first(root);
	if (!strcmp(name, "clean")) {
		/* nothing else */
	} else if (!strcmp(name, "dotdot")) {
		struct lb_tree nest, mid;

		add_trap_dir(root, "..", "dotdot");
		add_trap_dir(root, ".", "dot");
		/* nest/../.. : only the inner level leaves the target */
		lb_tree_init(&mid);
		add_trap_dir(&mid, "..", "nested-dotdot");
		lb_tree_init(&nest);
		add_dir(&nest, "..", &mid);
		add_dir(root, "nest", &nest);
	} else if (!strcmp(name, "slash")) {
		struct lb_tree a;

		add_trap_dir(root, "/", "slash");
		lb_tree_init(&a);
		add_dir(root, "a", &a);
		add_file(root, "a/b", "PWNED a/b\n");
		snprintf(buf, sizeof buf, "../%s-name-escape", token);
		add_file(root, buf, "PWNED\n");
		snprintf(buf, sizeof buf, "x/../../%s-name-escape2", token);
		add_file(root, buf, "PWNED\n");
		snprintf(buf, sizeof buf, "%s/%s-absolute", outside, token);
		add_file(root, buf, "PWNED\n");
	} else if (!strcmp(name, "badname")) {
		char nul[32], longname[301], okname[256];
		int k = snprintf(nul, sizeof nul, "nul");

		add_file_n(root, "", 0, "PWNED empty name\n");
		nul[k] = 0;
		memcpy(nul + k + 1, "byte", 5);
		add_file_n(root, nul, (size_t)k + 5, "PWNED nul\n");
		memset(longname, 'L', 300);
		memcpy(longname, "long300-", 8);
		add_file_n(root, longname, 300, "PWNED long\n");
		memset(okname, 'K', 255);
		memcpy(okname, "ok255-", 6);
		add_file_n(root, okname, 255, "harmless 255\n");
	} else if (!strcmp(name, "symlink")) {
		snprintf(buf, sizeof buf, "%s/victim", outside);
		/* adjacent duplicate: symlink then directory */
		add_symlink(root, "esc", outside);
		add_trap_dir(root, "esc", "through-symlink");
		/* symlink to a file, then a file of the same name */
		add_symlink(root, "esc3", buf);
		add_file(root, "esc3", "PWNED victim\n");
		/* a symlink whose metadata must not land on its target */
		{
			struct lb_node *n = add_symlink(root, "xl", buf);

			n->xattrs = calloc(2, sizeof *n->xattrs);
			n->xattrs[0].name = strdup("trusted.pwned");
			n->xattrs[0].value = (uint8_t *)strdup("1");
			n->xattrs[0].len = 1;
			n->xattrs[1].name = strdup("user.pwned");
			n->xattrs[1].value = (uint8_t *)strdup("1");
			n->xattrs[1].len = 1;
			n->nxattrs = 2;
			n->mtime_s = n->atime_s = 1000000000; /* lutimes, not utimes */
			n->uid = 4242;
			n->gid = 4242;
		}
	} else if (!strcmp(name, "unsorted")) {
		/* the duplicate apart from the symlink it shadows, out of order */
		add_symlink(root, "q-esc2", outside);
		add_file(root, "q-esc2-mid", "harmless middle\n");
		add_trap_dir(root, "q-esc2", "through-symlink2");
		keep_order = 1; /* for the root only: it is stored last */
	} else if (!strcmp(name, "hardlink")) {
		struct lb_tree d, e, up, real;
		struct lb_node *n;

		/* group A: first member through the symlink, second harmless */
		lb_tree_init(&up);
		snprintf(buf, sizeof buf, "%s-hl-first", token);
		n = add_file(&up, buf, "hard link group A\n");
		n->nlink = 2;
		n->ino = 777001;
		lb_tree_init(&e);
		add_symlink(&e, "up", "../../../..");
		add_dir(&e, "up", &up);
		/* group B: first member harmless, second through the symlink */
		lb_tree_init(&real);
		n = add_file(&real, "hl-b-first", "hard link group B\n");
		n->nlink = 2;
		n->ino = 777002;
		lb_tree_init(&d);
		add_dir(&d, "a-real", &real);
		add_dir(&d, "e", &e);
		{
			struct lb_tree up2;

			lb_tree_init(&up2);
			snprintf(buf, sizeof buf, "%s-hl-b-second", token);
			n = add_file(&up2, buf, "hard link group B\n");
			n->nlink = 2;
			n->ino = 777002;
			add_symlink(&d, "up2", "../../..");
			add_dir(&d, "up2", &up2);
		}
		add_dir(root, "d", &d);
		n = add_file(root, "hl-a-second", "hard link group A\n");
		n->nlink = 2;
		n->ino = 777001;
	} else {
		fprintf(stderr, "mkhostile: unknown scenario '%s'\n", name);
		exit(2);
	}
	siblings_last(root);
}

int main(int argc, char **argv)
{
	struct lb_snapshot s;
	struct lb_tree root;
	char *paths[1] = { (char *)"/hostile" };
	int e;

	if (argc != 5) {
		fprintf(stderr, "usage: mkhostile REPO SCENARIO TOKEN OUTSIDE\n");
		return 2;
	}
	token = argv[3];
	outside = argv[4];
	if ((e = lb_repo_open(argv[1], password, NULL, &repo)) < 0)
		die("open", e);
	if ((e = lb_repo_load_index(repo, 0)) < 0)
		die("load index", e);
	if ((e = lb_packer_new(repo, 1, &packer)) < 0)
		die("packer", e);
	lb_tree_init(&root);
	scenario(argv[2], &root);
	memset(&s, 0, sizeof s);
	store_tree(&root, s.tree);
	if ((e = lb_packer_flush(packer)) < 0)
		die("packer flush", e);
	s.time_s = (int64_t)time(NULL);
	s.host = (char *)"hostile";
	s.user = (char *)"root";
	s.paths = paths;
	s.npaths = 1;
	if ((e = lb_snapshot_save(repo, &s)) < 0)
		die("snapshot save", e);
	printf("%s\n", s.id);
	json_decref(s.json);
	lb_packer_free(packer);
	lb_repo_close(repo);
	return 0;
}
