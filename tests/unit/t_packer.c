/* Unit tests for lib/store/packer.c and the read side in repo_data.c:
 * blobs in, packs and index files out, every blob read back. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "store/packer.h"
#include "store/store.h"

#define NBLOBS 400

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct blob {
	uint8_t id[32];
	uint8_t type;
	uint8_t *data;
	size_t len;
};

static struct blob blobs[NBLOBS];
static char repo_path[512];

static int pwcb(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "%s", (const char *)ctx);
	return 0;
}

static void make_blobs(struct lb_repo *r)
{
	for (int i = 0; i < NBLOBS; i++) {
		struct blob *b = &blobs[i];

		b->len = i == 0 ? 0 : 1 + rnd() % 20000;
		b->data = malloc(b->len ? b->len : 1);
		if (i % 3 == 0) {
			for (size_t k = 0; k < b->len; k++)
				b->data[k] = (uint8_t)"lifeboat packs blobs "[(k + i) % 21];
		} else {
			for (size_t k = 0; k < b->len; k++)
				b->data[k] = (uint8_t)rnd();
		}
		b->type = i % 10 == 0 ? LB_BLOB_TREE : LB_BLOB_DATA;
		lb_repo_blob_id(r, b->data, b->len, b->id);
	}
}

static int count_files(const char *sub)
{
	char p[1024];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof p, "%s/%s", repo_path, sub);
	d = opendir(p);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

static int count_packs(void)
{
	int n = 0;

	for (int v = 0; v < 256; v++) {
		char sub[16];

		snprintf(sub, sizeof sub, "packs/%02x", v);
		n += count_files(sub);
	}
	return n;
}

static void remove_index_files(void)
{
	char p[1024], f[1400];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof p, "%s/index", repo_path);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof f, "%s/%s", p, de->d_name);
		unlink(f);
	}
	if (d)
		closedir(d);
}

/* Reads every blob back; returns how many came back byte-identical. */
static int read_all(struct lb_repo *r, int *typed_ok)
{
	struct lb_buf out;
	int good = 0;

	*typed_ok = 1;
	lb_buf_init(&out, LB_BLOB_MAX);
	for (int i = 0; i < NBLOBS; i++) {
		int e = lb_repo_read_blob(r, blobs[i].id, blobs[i].type, &out);

		if (e == 0 && out.len == blobs[i].len && (!out.len || !memcmp(out.data, blobs[i].data, out.len)))
			good++;
		else if (good == i)
			diag("blob %d (%zu bytes): %d %s", i, blobs[i].len, e, e ? lb_errmsg() : "differs");
		if (i % 10 == 0 && lb_repo_read_blob(r, blobs[i].id, 0, &out) != 0)
			*typed_ok = 0;
	}
	lb_buf_release(&out);
	return good;
}

static void test_put_flush_read(void)
{
	struct lb_init_opts o = { .encrypt = 1, .scrypt_n = 1024, .pack_size = 65536 };
	struct lb_repo *r = NULL;
	struct lb_packer *p = NULL;
	struct lb_packer_stats st;
	size_t total = 0;
	int e, queued = 0, dup = 0, typed;

	e = lb_repo_init(repo_path, &o, pwcb, "pw", &r);
	ok(e == 0, "init with pack_size 64 KiB (%s)", e ? lb_errmsg() : "ok");
	if (e)
		return;
	make_blobs(r);
	ok(lb_packer_new(r, 2, &p) == 0, "packer with 2 workers");
	for (int i = 0; i < NBLOBS; i++) {
		e = lb_packer_put(p, blobs[i].type, blobs[i].id, blobs[i].data, blobs[i].len);
		queued += e == 1;
		total += blobs[i].len;
		/* the same blob again at once, while it is still queued */
		if (i % 4 == 0)
			dup += lb_packer_put(p, blobs[i].type, blobs[i].id, blobs[i].data, blobs[i].len) == 0;
	}
	is(queued, NBLOBS, "every new blob is queued (put returns 1)");
	is(dup, NBLOBS / 4, "a second put of a queued blob returns 0 (dedup)");
	is(lb_packer_flush(p), 0, "flush");
	dup = 0;
	for (int i = 0; i < NBLOBS; i += 7)
		dup += lb_packer_put(p, blobs[i].type, blobs[i].id, blobs[i].data, blobs[i].len) == 0;
	is(dup, (NBLOBS + 6) / 7, "after the flush, puts of stored blobs return 0");
	is(lb_packer_flush(p), 0, "a flush with nothing queued");
	lb_packer_stats(p, &st);
	is(st.blobs_new, NBLOBS, "stats: blobs_new");
	is(st.blobs_known, NBLOBS / 4 + (NBLOBS + 6) / 7, "stats: blobs_known");
	is(st.raw_new, total, "stats: raw_new is the plaintext total");
	ok(st.packs >= 10, "pack_size 64 KiB forces many packs (%llu for %zu bytes)", (unsigned long long)st.packs, total);
	is(count_packs(), (int)st.packs, "that many packs on disk");
	ok(st.index_files >= 1 && count_files("index") == (int)st.index_files, "index files written (%llu)",
	   (unsigned long long)st.index_files);
	ok(st.stored_new > 0 && st.stored_new < total + st.packs * 100000, "stats: stored_new plausible (%llu)",
	   (unsigned long long)st.stored_new);
	lb_packer_free(p);

	is(read_all(r, &typed), NBLOBS, "every blob reads back byte-identical through the writer's handle");
	ok(typed, "type 0 reads any blob");
	{
		struct lb_buf out;
		uint8_t missing[32];

		lb_buf_init(&out, LB_BLOB_MAX);
		memset(missing, 0x42, 32);
		is(lb_repo_read_blob(r, missing, 0, &out), -LB_E_NOTFOUND, "an unknown id: -LB_E_NOTFOUND");
		is(lb_repo_read_blob(r, blobs[1].id, LB_BLOB_TREE, &out), -LB_E_CORRUPT, "a data blob read as a tree: refused");
		lb_buf_release(&out);
	}
	lb_repo_close(r);
}

static void test_reopen(void)
{
	struct lb_repo *r = NULL;
	size_t nblobs = 0, npacks = 0, bytes = 0;
	int typed;

	ok(lb_repo_open(repo_path, pwcb, "pw", &r) == 0, "reopen");
	lb_repo_index_stats(r, &nblobs, &npacks, NULL);
	is(nblobs, 0, "nothing indexed before load_index");
	is(lb_repo_load_index(r, 0), 0, "load_index");
	lb_repo_index_stats(r, &nblobs, &npacks, &bytes);
	is(nblobs, NBLOBS, "the index lists every blob");
	is(npacks, count_packs(), "...in every pack");
	is(read_all(r, &typed), NBLOBS, "every blob reads back byte-identical after reopening");
	is(lb_repo_load_index(r, 0), 0, "loading the index twice");
	lb_repo_index_stats(r, &nblobs, &npacks, NULL);
	ok(nblobs == NBLOBS && npacks == (size_t)count_packs(), "...does not double anything (%zu, %zu)", nblobs, npacks);

	/* every pack's own table of contents agrees */
	{
		uint32_t total = 0, partial = 0;
		int good = 1;

		for (uint32_t i = 0; i < npacks; i++) {
			char name[65];
			struct lb_toc_entry *toc = NULL;
			uint32_t n = 0;
			uint8_t salt[16];
			uint64_t size;

			lb_hex(name, lb_index_pack_id(r->idx, i), 32);
			if (lb_repo_read_pack_toc(r, name, &toc, &n, salt, &size) != 0)
				good = 0;
			else if (size > 65536 + 20000 + 1000 || n == 0)
				good = 0;
			partial += size < 65536;
			total += n;
			free(toc);
		}
		ok(good, "every pack's sealed table of contents reads, and no pack much exceeds pack_size");
		is(total, NBLOBS, "the tables of contents hold every blob once");
		ok(partial <= 1, "packs are filled in turn: one flush leaves at most one pack under pack_size (%u)", partial);
	}
	lb_repo_close(r);
}

static void test_orphans(void)
{
	struct lb_repo *r = NULL;
	struct lb_packer *p = NULL;
	struct lb_packer_stats st;
	size_t nblobs = 0;
	int typed;

	/* a crash after the packs were committed but before any index file */
	remove_index_files();
	is(count_files("index"), 0, "index files deleted");
	lb_repo_open(repo_path, pwcb, "pw", &r);
	lb_repo_load_index(r, 0);
	lb_repo_index_stats(r, &nblobs, NULL, NULL);
	is(nblobs, 0, "without index files, load_index(0) finds nothing");
	{
		struct lb_buf out;

		lb_buf_init(&out, LB_BLOB_MAX);
		is(lb_repo_read_blob(r, blobs[3].id, 0, &out), -LB_E_NOTFOUND, "...and reads fail with -LB_E_NOTFOUND");
		lb_buf_release(&out);
	}
	is(lb_repo_load_index(r, LB_LOAD_ORPHANS), 0, "load_index(LB_LOAD_ORPHANS)");
	lb_repo_index_stats(r, &nblobs, NULL, NULL);
	is(nblobs, NBLOBS, "the orphan scan finds every blob from the packs' trailers");
	is(read_all(r, &typed), NBLOBS, "and every blob reads back");

	/* the next writer indexes the adopted packs */
	lb_packer_new(r, 2, &p);
	ok(lb_packer_put(p, blobs[5].type, blobs[5].id, blobs[5].data, blobs[5].len) == 0, "adopted blobs dedup");
	is(lb_packer_flush(p), 0, "flush after adoption");
	lb_packer_stats(p, &st);
	ok(st.index_files >= 1 && count_files("index") >= 1, "an index file now lists the adopted packs");
	lb_packer_free(p);
	lb_repo_close(r);
	r = NULL;
	lb_repo_open(repo_path, pwcb, "pw", &r);
	lb_repo_load_index(r, 0);
	lb_repo_index_stats(r, &nblobs, NULL, NULL);
	is(nblobs, NBLOBS, "after reopening, the index files list every blob again (no orphan scan)");
	lb_repo_close(r);
}

static void test_edges(void)
{
	struct lb_repo *r = NULL;
	struct lb_packer *p = NULL;
	uint8_t id[32], *big;
	struct lb_buf out;
	int e;

	lb_repo_open(repo_path, pwcb, "pw", &r);
	lb_repo_load_index(r, 0);
	lb_packer_new(r, 2, &p);
	big = calloc(1, LB_BLOB_MAX + 1);
	memset(id, 0x77, 32);
	is(lb_packer_put(p, LB_BLOB_DATA, id, big, LB_BLOB_MAX + 1), -EFBIG, "a blob over LB_BLOB_MAX: -EFBIG");
	/* the largest blob, all zeros: compresses well */
	lb_repo_blob_id(r, big, LB_BLOB_MAX, id);
	is(lb_packer_put(p, LB_BLOB_DATA, id, big, LB_BLOB_MAX), 1, "a blob of exactly LB_BLOB_MAX is queued");
	is(lb_packer_flush(p), 0, "...and stored");
	lb_buf_init(&out, LB_BLOB_MAX);
	e = lb_repo_read_blob(r, id, LB_BLOB_DATA, &out);
	ok(e == 0 && out.len == LB_BLOB_MAX && !memcmp(out.data, big, LB_BLOB_MAX), "...and reads back");
	lb_packer_free(p);
	free(big);

	/* a packer dropped without a flush: its queued blobs were never stored;
	 * the next packer on the same handle must store them */
	{
		uint8_t data[3000];
		struct lb_packer *p2 = NULL;

		for (size_t k = 0; k < sizeof data; k++)
			data[k] = (uint8_t)rnd();
		lb_repo_blob_id(r, data, sizeof data, id);
		lb_packer_new(r, 1, &p);
		is(lb_packer_put(p, LB_BLOB_DATA, id, data, sizeof data), 1, "put, then drop the packer unflushed");
		lb_packer_free(p);
		lb_packer_new(r, 1, &p2);
		e = lb_packer_put(p2, LB_BLOB_DATA, id, data, sizeof data);
		is(e, 1, "a later packer stores a blob the dropped one never wrote (put returns 1, not 0)");
		lb_packer_flush(p2);
		lb_packer_free(p2);
		e = lb_repo_read_blob(r, id, LB_BLOB_DATA, &out);
		ok(e == 0 && out.len == sizeof data, "...so it can be read (%d: %s)", e, e ? lb_errmsg() : "ok");
	}
	lb_buf_release(&out);
	lb_repo_close(r);
}

/* A flipped byte in a pack is caught and named. */
static void test_damage(void)
{
	struct lb_repo *r = NULL;
	struct lb_buf out;
	struct lb_blob_loc loc;
	char name[65], path[1200], idhex[65];
	int i = 7, e;
	FILE *f;

	lb_repo_open(repo_path, pwcb, "pw", &r);
	lb_repo_load_index(r, 0);
	lb_index_lookup(r->idx, blobs[i].id, &loc);
	lb_hex(name, lb_index_pack_id(r->idx, loc.pack), 32);
	lb_hex(idhex, blobs[i].id, 32);
	snprintf(path, sizeof path, "%s/packs/%.2s/%s", repo_path, name, name);
	f = fopen(path, "r+b");
	fseek(f, (long)loc.offset + LB_BLOB_HEADER_LEN + 3, SEEK_SET);
	{
		int c = fgetc(f);

		fseek(f, (long)loc.offset + LB_BLOB_HEADER_LEN + 3, SEEK_SET);
		fputc(c ^ 0x10, f);
	}
	fclose(f);
	lb_buf_init(&out, LB_BLOB_MAX);
	e = lb_repo_read_blob(r, blobs[i].id, 0, &out);
	is(e, -LB_E_AUTH, "a flipped payload byte: -LB_E_AUTH");
	ok(strstr(lb_errmsg(), name) && strstr(lb_errmsg(), idhex), "the error names the pack and the blob");
	ok(lb_repo_read_blob(r, blobs[i + 1].id, 0, &out) == 0 || loc.pack != 0, "other blobs still read");
	lb_buf_release(&out);
	lb_repo_close(r);
}

int main(void)
{
	snprintf(repo_path, sizeof repo_path, "%s/repo", tap_tmp());
	test_put_flush_read();
	test_reopen();
	test_orphans();
	test_edges();
	test_damage();
	for (int i = 0; i < NBLOBS; i++)
		free(blobs[i].data);
	tap_tmp_cleanup();
	return done_testing();
}
