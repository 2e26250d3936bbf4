/* Unit tests for lib/snap/snapfs.c, the file system behind `lifeboat mount`,
 * driven without FUSE: the layout (ids, hosts, latest), attributes, xattrs,
 * streaming reads at any offset across chunks and holes, SEEK_DATA/HOLE,
 * damaged data (EIO for that file only, reported), tiny caches, and reads
 * from several threads at once. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "lifeboat/snapfs.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/tree.h"
#include "store/packer.h"
#include "store/store.h"

static struct lb_repo *repo;
static struct lb_packer *pk;

#define LEN_A 1000
#define LEN_B 3000
#define LEN_C 501
#define HOLE 5000
#define MULTI_LEN (LEN_A + HOLE + LEN_B + LEN_C)

static uint8_t da[LEN_A], db[LEN_B], dc[LEN_C], expect_multi[MULTI_LEN];
static uint8_t id_a[32], id_b[32], id_c[32], id_short[32], root1[32], root2[32];
static char snap_old[65], snap_new[65], snap_web[65], snap_binlog[65];

static int pwcb(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "%s", (const char *)ctx);
	return 0;
}

static void put_data(const void *p, size_t n, uint8_t id[32])
{
	lb_repo_blob_id(repo, p, n, id);
	lb_packer_put(pk, LB_BLOB_DATA, id, p, n);
}

static struct lb_node *add(struct lb_tree *t, const char *name, uint8_t type, uint32_t mode)
{
	struct lb_node *n;

	lb_tree_add(t, &n);
	n->namelen = strlen(name);
	n->name = (uint8_t *)strdup(name);
	n->type = type;
	n->mode = mode;
	n->uid = 1234;
	n->gid = 5678;
	n->user = strdup("u");
	n->group = strdup("g");
	n->nlink = 1;
	n->mtime_s = 1700000000;
	n->mtime_ns = 123456789;
	n->atime_s = 1600000000;
	n->ctime_s = 1700000001;
	return n;
}

static void chunk(struct lb_node *n, const uint8_t id[32], uint64_t len)
{
	struct lb_extent x = { .len = len };

	memcpy(x.id, id, 32);
	lb_extent_append(n, &x);
	n->size += len;
}

static void hole(struct lb_node *n, uint64_t len)
{
	struct lb_extent x = { .len = len, .hole = true };

	lb_extent_append(n, &x);
	n->size += len;
}

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

static void save(const char *host, int64_t t, long ns, const uint8_t tree[32], bool binlog, char id[65])
{
	struct lb_snapshot s;

	memset(&s, 0, sizeof s);
	s.time_s = t;
	s.time_ns = ns;
	s.host = (char *)host;
	s.user = (char *)"root";
	memcpy(s.tree, tree, 32);
	if (binlog)
		s.json = json_pack("{s:{s:{}}}", "sources", "binlog");
	if (lb_snapshot_save(repo, &s) < 0)
		diag("save: %s", lb_errmsg());
	json_decref(s.json);
	memcpy(id, s.id, 65);
}

static void build(void)
{
	struct lb_tree t, d;
	struct lb_node *n;
	uint8_t dir_id[32], missing[32];
	struct lb_xattr *x;

	lb_random(da, sizeof da);
	lb_random(db, sizeof db);
	lb_random(dc, sizeof dc);
	put_data(da, sizeof da, id_a);
	put_data(db, sizeof db, id_b);
	put_data(dc, sizeof dc, id_c);
	put_data("short", 5, id_short);
	memset(missing, 0x5a, 32);
	memcpy(expect_multi, da, LEN_A);
	memset(expect_multi + LEN_A, 0, HOLE);
	memcpy(expect_multi + LEN_A + HOLE, db, LEN_B);
	memcpy(expect_multi + LEN_A + HOLE + LEN_B, dc, LEN_C);

	lb_tree_init(&d);
	n = add(&d, "inner", LB_NODE_FILE, 0600);
	chunk(n, id_c, LEN_C);
	store(&d, dir_id);

	lb_tree_init(&t);
	n = add(&t, "multi", LB_NODE_FILE, 0640);
	chunk(n, id_a, LEN_A);
	hole(n, HOLE);
	chunk(n, id_b, LEN_B);
	chunk(n, id_c, LEN_C);
	x = n->xattrs = calloc(2, sizeof *n->xattrs);
	n->nxattrs = 2;
	x[0].name = strdup("system.posix_acl_access");
	x[0].value = malloc(4);
	memcpy(x[0].value, "\x02\x00\x00\x00", 4);
	x[0].len = 4;
	x[1].name = strdup("user.note");
	x[1].value = (uint8_t *)strdup("a note");
	x[1].len = 6;
	n = add(&t, "sparse-end", LB_NODE_FILE, 0644);
	chunk(n, id_c, LEN_C);
	hole(n, 100000);
	n = add(&t, "d", LB_NODE_DIR, 0750);
	memcpy(n->subtree, dir_id, 32);
	n = add(&t, "link", LB_NODE_SYMLINK, 0777);
	n->target = (uint8_t *)strdup("d/inner");
	n->targetlen = 7;
	n = add(&t, "fifo", LB_NODE_FIFO, 0600);
	n = add(&t, "damaged", LB_NODE_FILE, 0644);
	chunk(n, id_a, LEN_A);
	chunk(n, missing, 4096);
	n = add(&t, "wronglen", LB_NODE_FILE, 0644);
	chunk(n, id_short, 6);
	n = add(&t, "bad/name", LB_NODE_FILE, 0644);
	n = add(&t, "gone", LB_NODE_DIR, 0755);
	memcpy(n->subtree, missing, 32);
	store(&t, root1);

	lb_tree_init(&t);
	n = add(&t, "only-in-new", LB_NODE_FILE, 0644);
	chunk(n, id_b, LEN_B);
	store(&t, root2);

	lb_packer_flush(pk);
	save("h1", 1700000000, 100, root1, false, snap_old);
	save("h1", 1700000000, 900, root2, false, snap_new); /* the same second */
	save("web/1", 1690000000, 0, root1, false, snap_web);
	save("h1", 1700000500, 0, root2, true, snap_binlog); /* not a backup: not latest */
}

struct names {
	char v[16][80];
	struct stat st[16];
	int n;
};

static int collect(void *ctx, const char *name, const struct stat *st)
{
	struct names *l = ctx;

	if (l->n < 16) {
		snprintf(l->v[l->n], sizeof l->v[0], "%s", name);
		l->st[l->n] = *st;
	}
	l->n++;
	return 0;
}

static bool has(const struct names *l, const char *name)
{
	for (int i = 0; i < l->n && i < 16; i++)
		if (!strcmp(l->v[i], name))
			return true;
	return false;
}

static char errs[8][512];
static int nerrs;
static pthread_mutex_t errs_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_error(void *ctx, const char *path, const char *msg)
{
	pthread_mutex_lock(&errs_lock);
	if (nerrs < 8)
		snprintf(errs[nerrs], sizeof errs[0], "%s: %s", path, msg);
	nerrs++;
	pthread_mutex_unlock(&errs_lock);
}

static void test_layout(struct lb_snapfs *fs)
{
	struct names l;
	struct stat st;
	char buf[256], p[256];
	const char *name_old = NULL, *name_new = NULL;

	is(lb_snapfs_count(fs), 4, "four snapshots");
	memset(&l, 0, sizeof l);
	ok(lb_snapfs_readdir(fs, "/", collect, &l) == 0 && l.n == 3 && has(&l, "ids") && has(&l, "hosts") &&
	   has(&l, "latest"), "/ holds ids, hosts and latest");
	ok(lb_snapfs_readlink(fs, "/latest", buf, sizeof buf) == 0 && !strncmp(buf, "ids/", 4) &&
	   !strcmp(buf + 4, snap_new), "latest -> ids/<the newest backup, not the binlog segment>");
	ok(lb_snapfs_stat(fs, "/latest", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == (off_t)strlen(buf),
	   "latest is a symbolic link of the target's length");
	memset(&l, 0, sizeof l);
	ok(lb_snapfs_readdir(fs, "/ids", collect, &l) == 0 && l.n == 4 && has(&l, snap_old) && has(&l, snap_binlog),
	   "/ids lists every snapshot by id");
	snprintf(p, sizeof p, "/ids/%s", snap_web);
	ok(lb_snapfs_stat(fs, p, &st) == 0 && S_ISDIR(st.st_mode) && st.st_mtim.tv_sec == 1690000000,
	   "a snapshot's directory carries its time");
	memset(&l, 0, sizeof l);
	ok(lb_snapfs_readdir(fs, "/hosts", collect, &l) == 0 && l.n == 2 && has(&l, "h1") && has(&l, "web_1"),
	   "/hosts: one directory per host, '/' in a host name made '_'");
	memset(&l, 0, sizeof l);
	ok(lb_snapfs_readdir(fs, "/hosts/h1", collect, &l) == 0 && l.n == 4 && has(&l, "latest"),
	   "/hosts/h1: its three snapshots and latest");
	for (int i = 0; i < l.n; i++) {
		if (!strcmp(l.v[i], "latest"))
			continue;
		snprintf(p, sizeof p, "/hosts/h1/%s/only-in-new", l.v[i]);
		if (strlen(l.v[i]) == 19 && lb_snapfs_stat(fs, p, &st) == -ENOENT)
			name_old = l.v[i];
		else if (strlen(l.v[i]) == 28 && lb_snapfs_stat(fs, p, &st) == 0)
			name_new = l.v[i];
	}
	ok(name_old && name_new && !strncmp(name_old, name_new, 19) && name_new[19] == '-' &&
	   !strncmp(name_new + 20, snap_new, 8),
	   "two snapshots in one second: the second is TIME-<8 id digits> (%s, %s)", name_old ? name_old : "?",
	   name_new ? name_new : "?");
	ok(lb_snapfs_readlink(fs, "/hosts/h1/latest", buf, sizeof buf) == 0 && name_new && !strcmp(buf, name_new),
	   "/hosts/h1/latest -> the host's newest backup");
	ok(lb_snapfs_stat(fs, "/hosts/web_1/latest/multi", &st) == -ENOTDIR || lb_snapfs_stat(fs, "/hosts/web_1/latest/multi", &st) == -ENOENT,
	   "a path through a symbolic link is not followed here (the kernel does that)");
	is(lb_snapfs_stat(fs, "/nope", &st), -ENOENT, "an unknown name at the top: -ENOENT");
	is(lb_snapfs_stat(fs, "/ids/0123", &st), -ENOENT, "an unknown id: -ENOENT");
	is(lb_snapfs_stat(fs, "/hosts/h2", &st), -ENOENT, "an unknown host: -ENOENT");
	is(lb_snapfs_stat(fs, "/hosts/h1/2001-01-01T00:00:00", &st), -ENOENT, "an unknown time: -ENOENT");
}

static void test_entries(struct lb_snapfs *fs)
{
	struct names l;
	struct stat st;
	char p[256], buf[256];
	ssize_t n;

	snprintf(p, sizeof p, "/ids/%s", snap_old);
	memset(&l, 0, sizeof l);
	ok(lb_snapfs_readdir(fs, p, collect, &l) == 0 && l.n == 8 && has(&l, "multi") && !has(&l, "bad/name"),
	   "a snapshot's root lists its entries, leaving out a name with a '/'");
	snprintf(p, sizeof p, "/ids/%s/multi", snap_old);
	ok(lb_snapfs_stat(fs, p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640 &&
	   st.st_uid == 1234 && st.st_gid == 5678 && st.st_size == MULTI_LEN && st.st_mtim.tv_sec == 1700000000 &&
	   st.st_mtim.tv_nsec == 123456789 && st.st_atim.tv_sec == 1600000000 && st.st_ctim.tv_sec == 1700000001,
	   "a file's type, mode, owner, size and times are as saved");
	is(st.st_blocks, (LEN_A + LEN_B + LEN_C + 511) / 512, "st_blocks counts the stored bytes, not the hole");
	snprintf(p, sizeof p, "/ids/%s/d", snap_old);
	ok(lb_snapfs_stat(fs, p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750,
	   "a directory as saved");
	snprintf(p, sizeof p, "/ids/%s/d/inner", snap_old);
	ok(lb_snapfs_stat(fs, p, &st) == 0 && st.st_size == LEN_C && (st.st_mode & 07777) == 0600, "a file below it");
	snprintf(p, sizeof p, "/ids/%s/fifo", snap_old);
	ok(lb_snapfs_stat(fs, p, &st) == 0 && S_ISFIFO(st.st_mode), "a fifo");
	snprintf(p, sizeof p, "/ids/%s/link", snap_old);
	ok(lb_snapfs_stat(fs, p, &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 7, "a symbolic link");
	ok(lb_snapfs_readlink(fs, p, buf, sizeof buf) == 0 && !strcmp(buf, "d/inner"), "...and its target");
	ok(lb_snapfs_readlink(fs, p, buf, 4) == 0 && !strcmp(buf, "d/i"), "...cut to the buffer");
	snprintf(p, sizeof p, "/ids/%s/multi/x", snap_old);
	is(lb_snapfs_stat(fs, p, &st), -ENOTDIR, "a path through a file: -ENOTDIR");
	snprintf(p, sizeof p, "/ids/%s/nothing", snap_old);
	is(lb_snapfs_stat(fs, p, &st), -ENOENT, "a missing entry: -ENOENT");

	snprintf(p, sizeof p, "/ids/%s/multi", snap_old);
	n = lb_snapfs_listxattr(fs, p, NULL, 0);
	is(n, (ssize_t)sizeof "system.posix_acl_access" + (ssize_t)sizeof "user.note", "listxattr: the size needed");
	ok(lb_snapfs_listxattr(fs, p, buf, sizeof buf) == n && !strcmp(buf, "system.posix_acl_access") &&
	   !strcmp(buf + sizeof "system.posix_acl_access", "user.note"), "listxattr: both names, ACL included");
	is(lb_snapfs_listxattr(fs, p, buf, 3), -ERANGE, "listxattr into too small a buffer: -ERANGE");
	is(lb_snapfs_getxattr(fs, p, "user.note", NULL, 0), 6, "getxattr: the size");
	memset(buf, 0, sizeof buf);
	ok(lb_snapfs_getxattr(fs, p, "user.note", buf, sizeof buf) == 6 && !strcmp(buf, "a note"), "getxattr: the value");
	is(lb_snapfs_getxattr(fs, p, "user.note", buf, 2), -ERANGE, "getxattr into too small a buffer: -ERANGE");
	is(lb_snapfs_getxattr(fs, p, "user.other", buf, sizeof buf), -ENODATA, "a missing xattr: -ENODATA");
	is(lb_snapfs_listxattr(fs, "/ids", buf, sizeof buf), 0, "the layout's directories have no xattrs");
}

static void test_reads(struct lb_snapfs *fs)
{
	static const struct { uint64_t off, len; } cases[] = {
		{ 0, MULTI_LEN }, { 0, 1 }, { 999, 2 }, { 1000, 5000 }, { 1001, 17 }, { 5999, 2 },
		{ 6000, 3000 }, { 7777, 3333 }, { MULTI_LEN - 1, 10 }, { 3, MULTI_LEN }, { 8999, 2 },
	};
	struct lb_snapfs_file *f;
	uint8_t buf[MULTI_LEN + 100];
	char p[256];
	uint64_t rd, cached;
	int all = 1;

	snprintf(p, sizeof p, "/ids/%s/multi", snap_old);
	ok(lb_snapfs_open(fs, p, &f) == 0, "open a file of chunks and a hole");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t want = LB_MIN(cases[i].len, MULTI_LEN - cases[i].off);
		ssize_t n = lb_snapfs_read(f, buf, cases[i].len, cases[i].off);

		if (n != (ssize_t)want || memcmp(buf, expect_multi + cases[i].off, want) != 0) {
			diag("read of %llu at %llu: %zd bytes", (unsigned long long)cases[i].len,
			     (unsigned long long)cases[i].off, n);
			all = 0;
		}
	}
	ok(all, "reads at odd offsets, across chunk and hole boundaries, match byte for byte");
	is(lb_snapfs_read(f, buf, 10, MULTI_LEN), 0, "a read at the end: 0");
	is(lb_snapfs_read(f, buf, 10, MULTI_LEN + 5000), 0, "a read past the end: 0");
	is(lb_snapfs_seek(f, 0, SEEK_DATA), 0, "SEEK_DATA at 0: 0");
	is(lb_snapfs_seek(f, 0, SEEK_HOLE), LEN_A, "SEEK_HOLE at 0: the hole's start");
	is(lb_snapfs_seek(f, LEN_A + 10, SEEK_DATA), LEN_A + HOLE, "SEEK_DATA in the hole: its end");
	is(lb_snapfs_seek(f, LEN_A + 10, SEEK_HOLE), LEN_A + 10, "SEEK_HOLE in the hole: where we are");
	is(lb_snapfs_seek(f, LEN_A + HOLE, SEEK_HOLE), MULTI_LEN, "SEEK_HOLE in the last data: the end");
	is(lb_snapfs_seek(f, MULTI_LEN, SEEK_DATA), -ENXIO, "SEEK_DATA at the end: -ENXIO");
	lb_snapfs_close(f);

	snprintf(p, sizeof p, "/ids/%s/sparse-end", snap_old);
	ok(lb_snapfs_open(fs, p, &f) == 0, "open a file ending in a hole");
	ok(lb_snapfs_read(f, buf, 600, LEN_C - 100) == 600 && !memcmp(buf, dc + LEN_C - 100, 100) &&
	   buf[100] == 0 && buf[599] == 0, "a read across its data into the hole");
	is(lb_snapfs_seek(f, LEN_C + 5, SEEK_DATA), -ENXIO, "SEEK_DATA in the trailing hole: -ENXIO");
	lb_snapfs_close(f);

	lb_snapfs_stats(fs, &rd, &cached);
	snprintf(p, sizeof p, "/ids/%s/d/inner", snap_old);
	ok(lb_snapfs_open(fs, p, &f) == 0 && lb_snapfs_read(f, buf, LEN_C, 0) == LEN_C && !memcmp(buf, dc, LEN_C),
	   "a chunk read before, in another file");
	lb_snapfs_close(f);
	{
		uint64_t rd2, cached2;

		lb_snapfs_stats(fs, &rd2, &cached2);
		ok(rd2 == rd && cached2 > cached, "...comes from the chunk cache (%llu read, %llu cached)",
		   (unsigned long long)rd2, (unsigned long long)cached2);
	}

	snprintf(p, sizeof p, "/ids/%s/d", snap_old);
	is(lb_snapfs_open(fs, p, &f), -EISDIR, "opening a directory: -EISDIR");
}

static void test_damage(struct lb_snapfs *fs)
{
	struct lb_snapfs_file *f;
	uint8_t buf[MULTI_LEN];
	struct stat st;
	struct names l;
	char p[256];

	nerrs = 0;
	snprintf(p, sizeof p, "/ids/%s/damaged", snap_old);
	ok(lb_snapfs_open(fs, p, &f) == 0, "open a file one of whose chunks is missing");
	ok(lb_snapfs_read(f, buf, 100, 10) == 100 && !memcmp(buf, da + 10, 100), "its intact chunk reads");
	is(lb_snapfs_read(f, buf, 100, LEN_A + 10), -EIO, "its missing chunk: -EIO");
	ok(nerrs == 1 && strstr(errs[0], "/damaged: ") && strstr(errs[0], "blob"),
	   "...reported once, with the path and the reason: %s", errs[0]);
	is(lb_snapfs_read(f, buf, 2000, 0), -EIO, "a read that spans into it: -EIO");
	lb_snapfs_close(f);

	snprintf(p, sizeof p, "/ids/%s/wronglen", snap_old);
	ok(lb_snapfs_open(fs, p, &f) == 0 && lb_snapfs_read(f, buf, 6, 0) == -EIO,
	   "a chunk shorter than its extent says: -EIO");
	ok(strstr(errs[nerrs - 1], "5 bytes") != NULL, "...saying so: %s", errs[nerrs - 1]);
	lb_snapfs_close(f);

	snprintf(p, sizeof p, "/ids/%s/gone", snap_old);
	ok(lb_snapfs_stat(fs, p, &st) == 0 && S_ISDIR(st.st_mode), "a directory whose tree is missing still stats");
	memset(&l, 0, sizeof l);
	is(lb_snapfs_readdir(fs, p, collect, &l), -EIO, "...but listing it: -EIO");
	snprintf(p, sizeof p, "/ids/%s/gone/x", snap_old);
	is(lb_snapfs_stat(fs, p, &st), -EIO, "...and looking inside it: -EIO");

	snprintf(p, sizeof p, "/ids/%s/multi", snap_old);
	ok(lb_snapfs_open(fs, p, &f) == 0 && lb_snapfs_read(f, buf, MULTI_LEN, 0) == MULTI_LEN &&
	   !memcmp(buf, expect_multi, MULTI_LEN), "other files still read");
	lb_snapfs_close(f);
}

struct reader {
	struct lb_snapfs *fs;
	unsigned seed;
	int bad;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	char p[256];
	uint8_t buf[MULTI_LEN];

	snprintf(p, sizeof p, "/ids/%s/multi", snap_old);
	for (int i = 0; i < 300; i++) {
		struct lb_snapfs_file *f;
		uint64_t off = (uint64_t)rand_r(&r->seed) % MULTI_LEN, len = 1 + (uint64_t)rand_r(&r->seed) % 4000;
		uint64_t want = LB_MIN(len, MULTI_LEN - off);
		struct stat st;

		if (lb_snapfs_stat(r->fs, p, &st) != 0 || lb_snapfs_open(r->fs, p, &f) != 0) {
			r->bad++;
			continue;
		}
		if (lb_snapfs_read(f, buf, len, off) != (ssize_t)want || memcmp(buf, expect_multi + off, want))
			r->bad++;
		lb_snapfs_close(f);
	}
	return NULL;
}

static void test_small_caches(void)
{
	struct lb_snapfs_opts o = { .tree_cache_bytes = 1, .chunk_cache_bytes = 1, .error = on_error };
	struct lb_snapfs *fs;
	struct reader rs[4];
	pthread_t th[4];
	int bad = 0;

	ok(lb_snapfs_new(repo, &o, &fs) == 0, "a file system with caches of one byte");
	for (int i = 0; i < 4; i++) {
		rs[i] = (struct reader){ .fs = fs, .seed = (unsigned)i + 1 };
		pthread_create(&th[i], NULL, reader_thread, &rs[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += rs[i].bad;
	}
	is(bad, 0, "four threads reading at random offsets through evicting caches: every byte right");
	lb_snapfs_free(fs);
}

/* A mount that ends while files are open never gets their release: the
 * file system frees them (the sanitizer build shows a leak otherwise). */
static void test_left_open(void)
{
	struct lb_snapfs_opts o = { .error = on_error };
	struct lb_snapfs_file *f1 = NULL, *f2 = NULL, *f3 = NULL;
	struct lb_snapfs *fs;
	uint8_t buf[16];
	char p[256];

	ok(lb_snapfs_new(repo, &o, &fs) == 0, "a file system for files left open");
	snprintf(p, sizeof p, "/ids/%s/multi", snap_old);
	ok(lb_snapfs_open(fs, p, &f1) == 0 && lb_snapfs_open(fs, p, &f2) == 0 && lb_snapfs_open(fs, p, &f3) == 0,
	   "three opens of one file");
	ok(lb_snapfs_read(f2, buf, sizeof buf, 0) == (ssize_t)sizeof buf, "a read");
	lb_snapfs_close(f2);  /* the middle one closed: the others stay listed */
	lb_snapfs_free(fs);   /* f1 and f3 go with it */
	ok(1, "freed with two files still open");
}

int main(void)
{
	struct lb_init_opts o = { .encrypt = 0 };
	struct lb_snapfs_opts fo = { .error = on_error };
	struct lb_snapfs *fs = NULL;
	char path[600];
	int e;

	setenv("TZ", "UTC", 1);
	snprintf(path, sizeof path, "%s/repo", tap_tmp());
	e = lb_repo_init(path, &o, pwcb, "pw", &repo);
	ok(e == 0, "init");
	if (e)
		return done_testing();
	lb_packer_new(repo, 1, &pk);
	build();
	ok(lb_snapfs_new(repo, &fo, &fs) == 0, "lb_snapfs_new");
	if (fs) {
		test_layout(fs);
		test_entries(fs);
		test_reads(fs);
		test_damage(fs);
		lb_snapfs_free(fs);
	}
	test_small_caches();
	test_left_open();
	lb_packer_free(pk);
	lb_repo_close(repo);
	tap_tmp_cleanup();
	return done_testing();
}
