/* Unit tests for lib/store/backend_local.c: the local-directory backend. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "store/backend.h"

#define PACK_A "00aa000000000000000000000000000000000000000000000000000000000001"
#define PACK_B "7f00000000000000000000000000000000000000000000000000000000000002"

static char repo[600];
static struct lb_backend *be;

struct names {
	char v[16][80];
	uint64_t size[16];
	int n, stop_after;
};

static int collect(const char *name, uint64_t size, void *ctx)
{
	struct names *c = ctx;

	if (c->n < 16) {
		snprintf(c->v[c->n], sizeof c->v[c->n], "%s", name);
		c->size[c->n] = size;
	}
	c->n++;
	return c->stop_after && c->n == c->stop_after ? 99 : 0;
}

static int has(const struct names *c, const char *name)
{
	for (int i = 0; i < c->n && i < 16; i++)
		if (!strcmp(c->v[i], name))
			return 1;
	return 0;
}

static int collect_temp(const char *name, uint64_t size, int64_t mtime, void *ctx)
{
	(void)mtime;
	return collect(name, size, ctx);
}

static int exists(const char *rel)
{
	char p[1200];

	snprintf(p, sizeof p, "%s/%s", repo, rel);
	return access(p, F_OK) == 0;
}

static void touch(const char *rel, const char *text)
{
	char p[1200];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", repo, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_open(void)
{
	struct lb_backend *b2 = NULL;
	struct stat st;
	int e;

	snprintf(repo, sizeof repo, "%s/repo", tap_tmp());
	e = lb_backend_local_open(repo, 1, &be);
	ok(e == 0 && be, "create the layout");
	ok(!strcmp(be->location, repo) && !strcmp(be->ops->name, "local"), "location and name");
	ok(exists("keys") && exists("index") && exists("snapshots") && exists("packs/00") && exists("packs/ff"),
	   "keys/, index/, snapshots/ and packs/00..ff exist");
	ok(stat(repo, &st) == 0 && (st.st_mode & 0777) == 0700, "the root is 0700");
	is(lb_backend_local_open(repo, 1, &b2), -EEXIST, "create over a non-empty directory: -EEXIST");
	e = lb_backend_local_open(repo, 0, &b2);
	ok(e == -ENOENT && strstr(lb_errmsg(), "not a lifeboat repository"),
	   "a layout without config is not a repository: %s", lb_errmsg());
	ok(be->ops->put(be, LB_KIND_CONFIG, "config", "{}", 2) == 0, "put a config");
	e = lb_backend_local_open(repo, 0, &b2);
	ok(e == 0, "open the existing layout");
	lb_backend_close(b2);
	{
		char p[700];

		snprintf(p, sizeof p, "%s/missing", tap_tmp());
		is(lb_backend_local_open(p, 0, &b2), -ENOENT, "open of a missing directory: -ENOENT");
	}
	ok(!strcmp(lb_kind_name(LB_KIND_PACK), "pack") && !strcmp(lb_kind_name(LB_KIND_SNAPSHOT), "snapshot") &&
	   !strcmp(lb_kind_name(LB_KIND_COUNT), "object"), "kind names");
}

static void test_objects(void)
{
	const struct lb_backend_ops *o = be->ops;
	struct lb_buf b;
	uint64_t size = 0;
	char buf[16];
	struct stat st;
	char p[1200];

	lb_buf_init(&b, 0);
	is(o->put(be, LB_KIND_CONFIG, "config", "{}", 2), 0, "put config");
	ok(o->get(be, LB_KIND_CONFIG, "config", 100, &b) == 0 && b.len == 2 && !memcmp(b.data, "{}", 2), "get config");
	is(o->put(be, LB_KIND_CONFIG, "other", "{}", 2), -EINVAL, "a config object named otherwise: -EINVAL");

	is(o->put(be, LB_KIND_KEY, "k1", "key data", 8), 0, "put a key");
	snprintf(p, sizeof p, "%s/keys/k1", repo);
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "key files are 0600");
	is(o->put(be, LB_KIND_INDEX, "i1", "0123456789", 10), 0, "put an index object");
	snprintf(p, sizeof p, "%s/index/i1", repo);
	ok(stat(p, &st) == 0 && (st.st_mode & 0666) == (0644 & ~(mode_t)0), "other objects are 0644 (before umask)");
	ok(o->size(be, LB_KIND_INDEX, "i1", &size) == 0 && size == 10, "size");
	ok(o->get(be, LB_KIND_INDEX, "i1", 10, &b) == 0 && b.len == 10, "get at exactly the limit");
	is(o->get(be, LB_KIND_INDEX, "i1", 9, &b), -LB_E_CORRUPT, "get over the limit: -LB_E_CORRUPT");
	ok(o->read_at(be, LB_KIND_INDEX, "i1", 3, buf, 4) == 0 && !memcmp(buf, "3456", 4), "read_at inside");
	is(o->read_at(be, LB_KIND_INDEX, "i1", 8, buf, 4), -LB_E_CORRUPT, "read_at past the end: -LB_E_CORRUPT");
	ok(strstr(lb_errmsg(), "truncated") && strstr(lb_errmsg(), "i1"), "...'truncated', naming it: %s", lb_errmsg());
	is(o->get(be, LB_KIND_INDEX, "nope", 100, &b), -ENOENT, "get of a missing object: -ENOENT");
	is(o->size(be, LB_KIND_SNAPSHOT, "nope", &size), -ENOENT, "size of a missing object: -ENOENT");
	is(o->read_at(be, LB_KIND_PACK, PACK_A, 0, buf, 1), -ENOENT, "read_at of a missing pack: -ENOENT");

	/* names */
	{
		static const char *bad[] = { "", "a/b", "../config", ".hidden", "..",
					     "01234567890123456789012345678901234567890123456789012345678901234" };
		int all = 1;

		for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
			if (o->put(be, LB_KIND_SNAPSHOT, bad[i], "x", 1) != -EINVAL ||
			    o->get(be, LB_KIND_SNAPSHOT, bad[i], 10, &b) != -EINVAL ||
			    o->size(be, LB_KIND_SNAPSHOT, bad[i], &size) != -EINVAL ||
			    o->remove(be, LB_KIND_SNAPSHOT, bad[i]) != -EINVAL ||
			    o->read_at(be, LB_KIND_SNAPSHOT, bad[i], 0, buf, 1) != -EINVAL) {
				all = 0;
				diag("name '%s' was not refused everywhere", bad[i]);
			}
		}
		ok(all, "empty, '/', leading '.', and 65-character names are refused by every operation");
		ok(o->put(be, LB_KIND_SNAPSHOT, "0123456789012345678901234567890123456789012345678901234567890123", "x", 1) == 0,
		   "a 64-character name is fine");
		is(o->get(be, LB_KIND_PACK, "abc", 10, &b), -EINVAL, "a pack name that is not 64 hex digits: -EINVAL");
		is(o->get(be, LB_KIND_PACK, "00AA000000000000000000000000000000000000000000000000000000000001", 10, &b), -EINVAL,
		   "upper-case pack names: -EINVAL");
	}

	is(o->remove(be, LB_KIND_KEY, "k1"), 0, "remove");
	ok(!exists("keys/k1"), "...gone");
	is(o->remove(be, LB_KIND_KEY, "k1"), -ENOENT, "remove again: -ENOENT");
	lb_buf_release(&b);
}

static void test_writer(void)
{
	const struct lb_backend_ops *o = be->ops;
	struct lb_bwriter *w = NULL;
	struct names c;
	uint64_t size = 0;
	char buf[32];

	ok(o->writer_open(be, LB_KIND_PACK, &w) == 0, "open a pack writer");
	memset(&c, 0, sizeof c);
	o->list_temp(be, LB_KIND_PACK, collect_temp, &c);
	ok(c.n == 1 && !strncmp(c.v[0], ".tmp-", 5), "list_temp shows the work in progress (%s)", c.n ? c.v[0] : "-");
	memset(&c, 0, sizeof c);
	o->list(be, LB_KIND_PACK, collect, &c);
	is(c.n, 0, "...which is not listed as a pack");
	ok(o->writer_write(w, "hello", 5) == 0, "write");
	ok(o->writer_pwrite(w, "world", 5, 10) == 0, "pwrite past the end");
	ok(o->writer_pwrite(w, "HE", 2, 0) == 0, "pwrite over the start");
	is(o->writer_commit(w, PACK_A), 0, "commit under a 64-hex name");
	ok(exists("packs/00/" PACK_A), "the pack lives in packs/00/");
	ok(o->size(be, LB_KIND_PACK, PACK_A, &size) == 0 && size == 15, "its size is 15");
	ok(o->read_at(be, LB_KIND_PACK, PACK_A, 0, buf, 15) == 0 && !memcmp(buf, "HEllo\0\0\0\0\0world", 15),
	   "content: writes, pwrites and the hole between");
	memset(&c, 0, sizeof c);
	o->list_temp(be, LB_KIND_PACK, collect_temp, &c);
	is(c.n, 0, "no temporary left after commit");

	ok(o->writer_open(be, LB_KIND_PACK, &w) == 0 && o->writer_write(w, "x", 1) == 0, "another writer");
	o->writer_abort(w);
	memset(&c, 0, sizeof c);
	o->list_temp(be, LB_KIND_PACK, collect_temp, &c);
	is(c.n, 0, "abort removes the temporary");

	ok(o->writer_open(be, LB_KIND_PACK, &w) == 0, "a writer committed under a bad name");
	ok(o->writer_commit(w, "not-hex") < 0, "...fails");
	memset(&c, 0, sizeof c);
	o->list_temp(be, LB_KIND_PACK, collect_temp, &c);
	is(c.n, 0, "...and leaves no temporary");

	/* a temporary left by a whole-object write */
	touch("index/.tmp-0011223344556677-i2", "partial");
	memset(&c, 0, sizeof c);
	o->list_temp(be, LB_KIND_INDEX, collect_temp, &c);
	ok(c.n == 1 && c.size[0] == 7, "list_temp finds a leftover whole-object temporary");
	o->writer_open(be, LB_KIND_PACK, &w);
	o->writer_write(w, "second", 6);
	o->writer_commit(w, PACK_B);
}

static void test_list(void)
{
	const struct lb_backend_ops *o = be->ops;
	struct names c;
	char p[1200];

	touch("snapshots/.hidden", "x");
	touch("snapshots/aaaa", "1234");
	snprintf(p, sizeof p, "%s/snapshots/adir", repo);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/snapshots/alink", repo);
	symlink("aaaa", p);
	memset(&c, 0, sizeof c);
	ok(o->list(be, LB_KIND_SNAPSHOT, collect, &c) == 0, "list snapshots");
	ok(has(&c, "aaaa") && !has(&c, ".hidden") && !has(&c, "adir") && !has(&c, "alink"),
	   "list gives regular files only: no dot files, directories or symlinks");
	is(c.n, 2, "two snapshots (aaaa and the 64-character one)");

	touch("packs/00/notapack", "x");
	touch("packs/7f/" PACK_B "x", "x");
	memset(&c, 0, sizeof c);
	o->list(be, LB_KIND_PACK, collect, &c);
	ok(c.n == 2 && has(&c, PACK_A) && has(&c, PACK_B), "list packs: only 64-hex names, across fan-out directories");
	ok((c.size[0] == 15 && c.size[1] == 6) || (c.size[0] == 6 && c.size[1] == 15), "...with their sizes");
	memset(&c, 0, sizeof c);
	c.stop_after = 1;
	is(o->list(be, LB_KIND_PACK, collect, &c), 99, "a callback's non-zero return stops the listing and is returned");
	is(c.n, 1, "...after one call");
	memset(&c, 0, sizeof c);
	o->list(be, LB_KIND_CONFIG, collect, &c);
	ok(c.n == 1 && !strcmp(c.v[0], "config"), "listing config gives 'config'");

	/* a read-only copy may lack optional and fan-out directories; listing must not create them */
	snprintf(p, sizeof p, "%s/packs/42", repo);
	rmdir(p);
	snprintf(p, sizeof p, "%s/verdicts", repo);
	rmdir(p);
	{
		struct lb_backend *b2 = NULL;

		ok(lb_backend_local_open(repo, 0, &b2) == 0, "reopen");
		memset(&c, 0, sizeof c);
		b2->ops->list(b2, LB_KIND_PACK, collect, &c);
		is(c.n, 2, "a missing fan-out directory is skipped");
		ok(!exists("packs/42"), "...and not created by listing");
		memset(&c, 0, sizeof c);
		ok(b2->ops->list(b2, LB_KIND_VERDICT, collect, &c) == 0 && c.n == 0 && !exists("verdicts"),
		   "listing verdicts/ before it exists: nothing, and nothing created");
		ok(b2->ops->put(b2, LB_KIND_VERDICT, "v1", "ok", 2) == 0 && exists("verdicts/v1"), "verdicts/ is made on first put");
		lb_backend_close(b2);
	}
}

int main(void)
{
	test_open();
	test_objects();
	test_writer();
	test_list();
	lb_backend_close(be);
	lb_backend_close(NULL);
	tap_tmp_cleanup();
	return done_testing();
}
