/* Writes the seed corpora of the fuzz targets from real repositories.
 *
 *   mkseeds CORPUS_DIR      (run by tests/fuzz/mkseeds.sh)
 *
 * Makes the two fixed-key repositories of fuzz_repo.h plus one made by
 * lb_repo_init, backs up a small tree with every kind of entry into them
 * (twice, so manifests name a parent), then dumps what lifeboat itself
 * wrote: configs, key files, sealed and plain index files and manifests,
 * plain tree blobs, whole packs (as stored, and decrypted for the
 * targets' reseal mode) and their headers and tables; and the prune plan
 * a prune leaves pending after a snapshot was forgotten.
 *
 * Seeds are named seed-*; regenerating replaces exactly those and leaves
 * the hand-made and crash inputs alone.  Packs are random (salts, nonces),
 * so regenerating changes bytes but not coverage. */
#include <dirent.h>
#include <stdarg.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "lifeboat/backup.h"
#include "lifeboat/forget.h"
#include "lifeboat/prune.h"
#include "lifeboat/repo.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/tree.h"
#include "store/plan.h"
#include "fuzz_repo.h"

static const char *out_dir;
static unsigned seq;

#define DIE(...) do { fprintf(stderr, "mkseeds: " __VA_ARGS__); fprintf(stderr, ": %s\n", lb_errmsg()); exit(1); } while (0)

/* snprintf into a PATH_MAX buffer; a path that does not fit is fatal. */
static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "mkseeds: path too long\n");
		exit(1);
	}
}

/* Writes corpus/<target>/seed-<what>-<nn> as flag byte (if >= 0) + data. */
static void seed(const char *target, const char *what, int flag, const void *data, size_t n)
{
	char path[PATH_MAX];
	FILE *f;

	pathf(path, "%s/%s", out_dir, target);
	mkdir(path, 0755);
	pathf(path, "%s/%s/seed-%s-%02u", out_dir, target, what, ++seq);
	f = fopen(path, "wb");
	if (!f || (flag >= 0 && fputc(flag, f) == EOF) || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void put(const char *path, const void *data, size_t n)
{
	if (fuzz_write_file(path, data, n) < 0)
		DIE("%s", path);
}

/* A little of everything a tree can hold. */
static void make_source(const char *src)
{
	char p[PATH_MAX], buf[9000];
	uint32_t x = 12345;
	int fd;

	mkdir(src, 0755);
	pathf(p, "%s/hello.txt", src);
	put(p, "hello, lifeboat\n", 16);
	/* compressible: stored with zstd */
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = "abcabcabd\n"[i % 10];
	pathf(p, "%s/text.txt", src);
	put(p, buf, 7000);
	/* incompressible, several chunks (the repositories chunk at 512..4096) */
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245 + 12345;
		buf[i] = (char)(x >> 16);
	}
	pathf(p, "%s/random.bin", src);
	put(p, buf, sizeof buf);
	pathf(p, "%s/empty", src);
	put(p, "", 0);
	/* sparse: a hole, then data */
	pathf(p, "%s/sparse", src);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (pwrite(fd, "tail", 4, 1 << 20) != 4)
			perror("sparse");
		close(fd);
	}
	pathf(p, "%s/setuid", src);
	put(p, "#!/bin/sh\n", 10);
	chmod(p, 04755);
	pathf(p, "%s/xattr", src);
	put(p, "x", 1);
	setxattr(p, "user.note", "a note", 6, 0); /* best effort: not every fs has user xattrs */
	pathf(p, "%s/sub", src);
	mkdir(p, 0750);
	pathf(p, "%s/sub/deeper", src);
	mkdir(p, 0700);
	pathf(p, "%s/sub/deeper/n\xc3\xa4me with spaces", src);
	put(p, "nested\n", 7);
	pathf(p, "%s/sub/link", src);
	symlink("../hello.txt", p);
	pathf(p, "%s/sub/hardlink", src);
	{
		char q[PATH_MAX];

		pathf(q, "%s/hello.txt", src);
		link(q, p);
	}
	pathf(p, "%s/fifo", src);
	mkfifo(p, 0600);
	pathf(p, "%s/null", src);
	mknod(p, S_IFCHR | 0666, makedev(1, 3)); /* root only; skipped otherwise */
}

static void backup(struct lb_repo *r, const char *src, const char *tag)
{
	const char *paths[] = { src }, *tags[] = { tag };
	struct lb_backup_opts o = {
		.paths = paths, .npaths = 1, .tags = tags, .ntags = 1, .host = "seedhost", .workers = 1,
	};
	struct lb_backup_stats st;
	char id[65];

	memset(&st, 0, sizeof st);
	if (lb_backup_run(r, &o, &st, id) < 0)
		DIE("backup of %s", src);
}

struct dump {
	struct lb_repo *r;
	int enc;
	const char *dir;
	int ntrees;
};

static int tree_cb(const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc, void *ctx)
{
	struct dump *d = ctx;
	struct lb_buf b;

	if (loc->type != LB_BLOB_TREE || d->ntrees >= 8)
		return 0;
	lb_buf_init(&b, LB_BLOB_MAX);
	if (lb_repo_read_blob(d->r, id, LB_BLOB_TREE, &b) < 0)
		DIE("tree blob");
	seed("tree", "tree", -1, b.data, b.len);
	d->ntrees++;
	lb_buf_release(&b);
	return 0;
}

static int file_cb(const char *name, uint64_t size, void *ctx, enum lb_kind k)
{
	struct dump *d = ctx;
	struct lb_buf raw, plain;
	int snap = k == LB_KIND_SNAPSHOT;

	lb_buf_init(&raw, 0);
	lb_buf_init(&plain, 0);
	if (d->r->be->ops->get(d->r->be, k, name, LB_INDEX_FILE_MAX, &raw) < 0 ||
	    lb_repo_get_sealed(d->r, k, name, &plain) < 0)
		DIE("%s %s", lb_kind_name(k), name);
	seed("envelope", snap ? "snapshot" : "index", d->enc | (snap ? 2 : 0), raw.data, raw.len);
	seed("envelope", snap ? "snapshot-plain" : "index-plain", d->enc | (snap ? 2 : 0) | 4, plain.data,
	     plain.len);
	seed(snap ? "snapshot" : "index", d->enc ? "enc" : "plain", -1, plain.data, plain.len);
	lb_buf_release(&raw);
	lb_buf_release(&plain);
	return 0;
}

static int index_cb(const char *name, uint64_t size, void *ctx)
{
	return file_cb(name, size, ctx, LB_KIND_INDEX);
}

static int snapshot_cb(const char *name, uint64_t size, void *ctx)
{
	return file_cb(name, size, ctx, LB_KIND_SNAPSHOT);
}

static int pack_cb(const char *name, uint64_t size, void *ctx)
{
	struct dump *d = ctx;
	struct lb_toc_entry *toc = NULL;
	uint8_t salt[LB_SALT_LEN], key[LB_KEY_LEN], nonce[LB_NONCE_LEN], aad[LB_PACK_HEADER_LEN + 4];
	struct lb_aead *a = NULL;
	struct lb_buf raw;
	uint32_t count;
	uint64_t sz;
	size_t tlen, tstart;
	uint8_t *t;

	lb_buf_init(&raw, 0);
	if (d->r->be->ops->get(d->r->be, LB_KIND_PACK, name, LB_PACK_MAX_BYTES, &raw) < 0 ||
	    lb_repo_read_pack_toc(d->r, name, &toc, &count, salt, &sz) < 0)
		DIE("pack %s", name);
	seed("repopack", "pack", d->enc, raw.data, raw.len);
	seed("packfmt", "packheader", 0, raw.data, LB_PACK_HEADER_LEN);
	for (uint32_t i = 0; i < count && i < 1; i++) {
		uint8_t ent[LB_TOC_ENTRY_LEN];

		seed("packfmt", "blobheader", 1, raw.data + toc[i].offset, LB_BLOB_HEADER_LEN);
		lb_toc_entry_encode(ent, &toc[i]);
		seed("packfmt", "tocentry", 2, ent, sizeof ent);
	}
	/* decrypt in place: the reseal-mode seed and the whole-table seed */
	tlen = (size_t)count * LB_TOC_ENTRY_LEN + LB_TAG_LEN;
	tstart = raw.len - LB_PACK_FOOTER_LEN - tlen;
	if (lb_repo_pack_key(d->r, salt, key) < 0 || lb_aead_new(d->r->cfg.enc, key, &a) < 0)
		DIE("pack key");
	memcpy(aad, raw.data, LB_PACK_HEADER_LEN);
	lb_le32_put(aad + LB_PACK_HEADER_LEN, count);
	lb_nonce(nonce, LB_NONCE_DOMAIN_TRAILER, 0);
	if (lb_aead_open(a, nonce, aad, sizeof aad, raw.data + tstart, tlen - LB_TAG_LEN, raw.data + tstart) < 0)
		DIE("trailer");
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *rec = raw.data + toc[i].offset;

		lb_nonce(nonce, LB_NONCE_DOMAIN_BLOB, toc[i].offset);
		if (lb_aead_open(a, nonce, rec, LB_BLOB_HEADER_LEN, rec + LB_BLOB_HEADER_LEN, toc[i].stored_len,
				 rec + LB_BLOB_HEADER_LEN) < 0)
			DIE("blob");
	}
	seed("repopack", "pack-plain", d->enc | 2, raw.data, raw.len);
	t = malloc(8 + tlen);
	lb_le64_put(t, tstart);
	memcpy(t + 8, raw.data + tstart, tlen - LB_TAG_LEN);
	seed("packfmt", "toc", 3, t, 8 + tlen - LB_TAG_LEN);
	free(t);
	lb_aead_free(a);
	free(toc);
	lb_buf_release(&raw);
	return 0;
}

static void dump(struct lb_repo *r, int enc, const char *dir)
{
	struct dump d = { .r = r, .enc = enc, .dir = dir };
	struct lb_buf b;
	char p[PATH_MAX];
	DIR *dd;
	struct dirent *de;

	if (lb_repo_load_index(r, 0) < 0)
		DIE("load index");
	lb_index_foreach(r->idx, tree_cb, &d);
	r->be->ops->list(r->be, LB_KIND_INDEX, index_cb, &d);
	r->be->ops->list(r->be, LB_KIND_SNAPSHOT, snapshot_cb, &d);
	r->be->ops->list(r->be, LB_KIND_PACK, pack_cb, &d);
	lb_buf_init(&b, 0);
	pathf(p, "%s/config", dir);
	if (lb_read_file(AT_FDCWD, p, LB_CONFIG_MAX, &b) < 0)
		DIE("config");
	seed("config", "config", -1, b.data, b.len);
	pathf(p, "%s/keys", dir);
	dd = opendir(p);
	while (dd && (de = readdir(dd))) {
		if (de->d_name[0] == '.')
			continue;
		pathf(p, "%s/keys/%s", dir, de->d_name);
		if (lb_read_file(AT_FDCWD, p, LB_KEYFILE_MAX, &b) < 0)
			DIE("key file");
		seed("keyfile", "key", -1, b.data, b.len);
	}
	if (dd)
		closedir(dd);
	lb_buf_release(&b);
}

static void reader_seeds(void)
{
	static const char *const text[] = {
		"2026-11-25T03:00:01.123456789Z",
		"1970-01-01 00:00:00",
		"0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef",
	};
	/* opcodes: u8 le16 le32 le64 uvarint svarint raw(op>>3) bytes(max (op>>3)^2) */
	static const uint8_t prog1[] = { 0x00, 0x7f, 0x01, 0x34, 0x12, 0x02, 1, 2, 3, 4, 0x03, 1, 2, 3, 4, 5, 6, 7, 8,
					 0x04, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
					 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
					 0x1e, 'a', 'b', 'c', 0x17, 0x03, 'x', 'y', 'z' };
	static const uint8_t prog2[] = { 0x04, 0x80, 0x00, 0x05, 0x01, 0xff, 0x05, 'h', 'e', 'l', 'l', 'o' };

	for (size_t i = 0; i < LB_ARRAY_SIZE(text); i++)
		seed("reader", "text", -1, text[i], strlen(text[i]));
	seed("reader", "prog", -1, prog1, sizeof prog1);
	seed("reader", "prog", -1, prog2, sizeof prog2);
}

/* Prune plans (fuzz_plan): the one a real prune writes and leaves pending
 * (grace period) after the newer of two snapshots was forgotten, as
 * lb_plan_read gets it; then that plan re-encoded without its packs, and
 * one with nothing in it. */
static void plan_seeds(const char *tmp, const char *src)
{
	struct lb_prune_opts po = { .repack_pct = 1, .grace_s = 86400 };
	struct lb_prune_stats st;
	struct lb_prune_plan plan;
	struct lb_snapshot **v;
	struct lb_repo *r;
	struct lb_buf b;
	char p[PATH_MAX], name[PATH_MAX];
	size_t n;

	pathf(p, "%s/repo-plan", tmp);
	if (fuzz_repo_create(p, 0, &r) < 0)
		DIE("repository");
	backup(r, src, "first");
	pathf(name, "%s/sub/forgotten", src);
	put(name, "only in the forgotten snapshot\n", 31);
	backup(r, src, "second");
	unlink(name);
	if (lb_snapshot_list(r, &v, &n) < 0 || n != 2)
		DIE("snapshots");
	if (lb_forget_snapshot(r, v[1]->id) < 0) /* oldest first: v[1] is "second" */
		DIE("forget");
	lb_snapshot_list_free(v, n);
	memset(&st, 0, sizeof st);
	if (lb_prune_run(r, &po, &st) < 0 || !st.plan_pending)
		DIE("prune (no plan left pending)");
	lb_buf_init(&b, LB_INDEX_FILE_MAX);
	if (lb_repo_get_sealed(r, LB_KIND_LOCK, LB_PLAN_NAME, &b) < 0 || lb_plan_decode(b.data, b.len, &plan) < 0)
		DIE("plan");
	seed("plan", "plan", -1, b.data, b.len);
	lb_buf_release(&b);
	for (size_t i = 0; i < plan.npacks; i++)
		free(plan.packs[i].entries);
	plan.npacks = 0;
	lb_buf_init(&b, LB_INDEX_FILE_MAX);
	if (lb_plan_encode(&plan, &b) < 0)
		DIE("plan without packs");
	seed("plan", "nopacks", -1, b.data, b.len);
	lb_buf_release(&b);
	lb_plan_release(&plan);
	memset(&plan, 0, sizeof plan);
	lb_buf_init(&b, LB_INDEX_FILE_MAX);
	if (lb_plan_encode(&plan, &b) < 0)
		DIE("empty plan");
	seed("plan", "empty", -1, b.data, b.len);
	lb_buf_release(&b);
	lb_repo_close(r);
}

static void clear_seeds(void)
{
	static const char *const targets[] = { "tree", "index", "packfmt", "snapshot", "config", "keyfile",
						"reader", "envelope", "repopack", "plan" };
	char p[PATH_MAX];

	for (size_t i = 0; i < LB_ARRAY_SIZE(targets); i++) {
		DIR *d;
		struct dirent *de;

		pathf(p, "%s/%s", out_dir, targets[i]);
		if (!(d = opendir(p)))
			continue;
		while ((de = readdir(d)))
			if (strncmp(de->d_name, "seed-", 5) == 0) {
				pathf(p, "%s/%s/%s", out_dir, targets[i], de->d_name);
				unlink(p);
			}
		closedir(d);
	}
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/lbseeds.XXXXXX", src[PATH_MAX], p[PATH_MAX], name[PATH_MAX];
	struct lb_repo *r;
	struct lb_init_opts o = { .encrypt = 1, .scrypt_n = 1024 };

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS_DIR\n");
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	clear_seeds();
	if (!mkdtemp(tmp))
		return 1;
	pathf(src, "%s/src", tmp);
	make_source(src);
	for (int enc = 0; enc < 2; enc++) {
		pathf(p, "%s/repo%d", tmp, enc);
		if (fuzz_repo_create(p, enc, &r) < 0)
			DIE("repository");
		backup(r, src, "first");
		pathf(name, "%s/sub/added", src);
		put(name, enc ? "second run, encrypted\n" : "second run\n", enc ? 22 : 11);
		backup(r, src, "second");
		unlink(name);
		fuzz_repo_reset(r);
		dump(r, enc, p);
		lb_repo_close(r);
	}
	/* a repository as `lifeboat init` makes one: random ids, real key file */
	pathf(p, "%s/repo-init", tmp);
	if (lb_repo_init(p, &o, fuzz_password, NULL, &r) < 0)
		DIE("init");
	lb_repo_close(r);
	{
		struct lb_buf b;
		DIR *dd;
		struct dirent *de;

		lb_buf_init(&b, 0);
		pathf(name, "%s/config", p);
		if (lb_read_file(AT_FDCWD, name, LB_CONFIG_MAX, &b) == 0)
			seed("config", "init", -1, b.data, b.len);
		pathf(name, "%s/keys", p);
		dd = opendir(name);
		while (dd && (de = readdir(dd))) {
			char kp[PATH_MAX];

			if (de->d_name[0] == '.')
				continue;
			pathf(kp, "%s/keys/%s", p, de->d_name);
			if (lb_read_file(AT_FDCWD, kp, LB_KEYFILE_MAX, &b) == 0)
				seed("keyfile", "init", -1, b.data, b.len);
		}
		if (dd)
			closedir(dd);
		lb_buf_release(&b);
	}
	reader_seeds();
	plan_seeds(tmp, src);
	fuzz_rm_rf(tmp);
	printf("mkseeds: seeds written to %s\n", out_dir);
	return 0;
}
