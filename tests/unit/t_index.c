/* Unit tests for lib/store/index.c: the in-memory blob index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "store/index.h"
#include "util/util.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void rand_id(uint8_t id[32])
{
	for (int i = 0; i < 32; i += 8) {
		uint64_t v = rnd();

		memcpy(id + i, &v, 8);
	}
}

static struct lb_blob_loc mkloc(uint32_t pack, uint32_t off, uint32_t stored, uint32_t raw, uint8_t type)
{
	struct lb_blob_loc l = { .pack = pack, .offset = off, .stored_len = stored, .raw_len = raw, .type = type };

	return l;
}

static int loc_eq(const struct lb_blob_loc *a, const struct lb_blob_loc *b)
{
	return a->pack == b->pack && a->offset == b->offset && a->stored_len == b->stored_len &&
	       a->raw_len == b->raw_len && a->type == b->type;
}

static void test_basic(void)
{
	struct lb_index *idx = NULL;
	uint8_t ids[1000][32], other[32];
	struct lb_blob_loc l, want;
	int good = 1;

	ok(lb_index_new(&idx) == 0, "new index");
	is(lb_index_count(idx), 0, "empty");
	rand_id(other);
	is(lb_index_lookup(idx, other, &l), 0, "lookup in an empty index finds nothing");
	for (int i = 0; i < 1000; i++) {
		rand_id(ids[i]);
		l = mkloc((uint32_t)i % 7, (uint32_t)i * 100, (uint32_t)i, (uint32_t)i * 2, i % 2 ? LB_BLOB_DATA : LB_BLOB_TREE);
		if (lb_index_add(idx, ids[i], &l) != 0)
			good = 0;
	}
	ok(good, "1000 adds succeed");
	is(lb_index_count(idx), 1000, "count 1000");
	good = 1;
	for (int i = 0; i < 1000; i++) {
		want = mkloc((uint32_t)i % 7, (uint32_t)i * 100, (uint32_t)i, (uint32_t)i * 2, i % 2 ? LB_BLOB_DATA : LB_BLOB_TREE);
		memset(&l, 0, sizeof l);
		if (lb_index_lookup(idx, ids[i], &l) != 1 || !loc_eq(&l, &want))
			good = 0;
	}
	ok(good, "every added id is found with its location (before compaction)");
	is(lb_index_lookup(idx, other, NULL), 0, "an absent id is not found");
	is(lb_index_compact(idx), 0, "compact");
	is(lb_index_count(idx), 1000, "count unchanged by compaction");
	good = 1;
	for (int i = 0; i < 1000; i++) {
		want = mkloc((uint32_t)i % 7, (uint32_t)i * 100, (uint32_t)i, (uint32_t)i * 2, i % 2 ? LB_BLOB_DATA : LB_BLOB_TREE);
		if (lb_index_lookup(idx, ids[i], &l) != 1 || !loc_eq(&l, &want))
			good = 0;
	}
	ok(good, "every id is found after compaction");
	is(lb_index_lookup(idx, ids[5], NULL), 1, "lookup with a NULL location just answers");
	is(lb_index_lookup(idx, other, &l), 0, "an absent id is still not found");

	/* a committed location wins over a new one, in both tables */
	l = mkloc(99, 1, 1, 1, LB_BLOB_DATA);
	lb_index_add(idx, ids[3], &l);
	want = mkloc(3, 300, 3, 6, LB_BLOB_DATA);
	ok(lb_index_lookup(idx, ids[3], &l) == 1 && loc_eq(&l, &want), "re-adding a committed id keeps the old location");
	is(lb_index_count(idx), 1000, "...and adds no entry");
	rand_id(other);
	l = mkloc(1, 2, 3, 4, LB_BLOB_DATA);
	lb_index_add(idx, other, &l);
	l = mkloc(5, 6, 7, 8, LB_BLOB_TREE);
	lb_index_add(idx, other, &l);
	want = mkloc(1, 2, 3, 4, LB_BLOB_DATA);
	ok(lb_index_lookup(idx, other, &l) == 1 && loc_eq(&l, &want), "same for an id in the recent-additions table");
	is(lb_index_count(idx), 1001, "one new entry");
	lb_index_compact(idx);
	is(lb_index_count(idx), 1001, "count after a second compaction");

	/* extremes of every field */
	rand_id(other);
	l = mkloc(LB_PACK_NUM_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, LB_BLOB_TREE);
	lb_index_add(idx, other, &l);
	want = l;
	ok(lb_index_lookup(idx, other, &l) == 1 && loc_eq(&l, &want), "largest pack number and u32 fields survive");
	lb_index_compact(idx);
	ok(lb_index_lookup(idx, other, &l) == 1 && loc_eq(&l, &want), "...and compaction");
	lb_index_free(idx);
	lb_index_free(NULL);
}

static void test_pending(void)
{
	struct lb_index *idx = NULL;
	uint8_t a[32], b[32], c[32], d[32];
	struct lb_blob_loc pend = mkloc(LB_PACK_PENDING, 0, 0, 0, LB_BLOB_DATA), real, l;

	lb_index_new(&idx);
	rand_id(a);
	rand_id(b);
	rand_id(c);
	rand_id(d);
	lb_index_add(idx, a, &pend);
	ok(lb_index_lookup(idx, a, &l) == 1 && l.pack == LB_PACK_PENDING, "a pending placeholder is found");
	real = mkloc(4, 24, 100, 200, LB_BLOB_DATA);
	lb_index_add(idx, a, &real);
	ok(lb_index_lookup(idx, a, &l) == 1 && loc_eq(&l, &real), "the real location replaces the placeholder");
	is(lb_index_count(idx), 1, "no second entry");
	lb_index_add(idx, a, &pend);
	ok(lb_index_lookup(idx, a, &l) == 1 && loc_eq(&l, &real), "a placeholder never replaces a real location");

	/* placeholder compacted into the sorted table, then replaced there */
	lb_index_add(idx, b, &pend);
	lb_index_compact(idx);
	ok(lb_index_lookup(idx, b, &l) == 1 && l.pack == LB_PACK_PENDING, "placeholder survives compaction");
	real = mkloc(7, 24, 10, 20, LB_BLOB_DATA);
	lb_index_add(idx, b, &real);
	ok(lb_index_lookup(idx, b, &l) == 1 && loc_eq(&l, &real), "a compacted placeholder is replaced in place");
	is(lb_index_count(idx), 2, "still two entries");

	/* duplicates through bulk_add: the real one wins whatever the order */
	real = mkloc(8, 24, 10, 20, LB_BLOB_DATA);
	lb_index_bulk_add(idx, c, &pend);
	lb_index_bulk_add(idx, c, &real);
	lb_index_bulk_add(idx, d, &real);
	lb_index_bulk_add(idx, d, &pend);
	lb_index_compact(idx);
	ok(lb_index_lookup(idx, c, &l) == 1 && loc_eq(&l, &real), "pending then real (bulk): real wins");
	ok(lb_index_lookup(idx, d, &l) == 1 && loc_eq(&l, &real), "real then pending (bulk): real wins");
	is(lb_index_count(idx), 4, "duplicates dropped by compaction");

	/* placeholder in the sorted table, a bulk real entry for it */
	{
		uint8_t e[32];

		rand_id(e);
		lb_index_add(idx, e, &pend);
		lb_index_compact(idx);
		lb_index_bulk_add(idx, e, &real);
		lb_index_compact(idx);
		ok(lb_index_lookup(idx, e, &l) == 1 && loc_eq(&l, &real), "sorted placeholder + bulk real: real wins");
		is(lb_index_count(idx), 5, "one entry for it");
	}
	lb_index_free(idx);
}

static void test_drop_pending(void)
{
	struct lb_index *idx = NULL;
	uint8_t ids[6][32];
	struct lb_blob_loc l;
	int e;

	lb_index_new(&idx);
	for (int i = 0; i < 6; i++)
		rand_id(ids[i]);
	/* writer 1 and writer 2 each have a placeholder in the sorted table and one in the hash table */
	l = mkloc(LB_PACK_PENDING, 1, 0, 0, LB_BLOB_DATA);
	lb_index_add(idx, ids[0], &l);
	l = mkloc(LB_PACK_PENDING, 2, 0, 0, LB_BLOB_DATA);
	lb_index_add(idx, ids[1], &l);
	l = mkloc(3, 1, 10, 10, LB_BLOB_DATA); /* a real blob at offset 1: not a placeholder */
	lb_index_add(idx, ids[2], &l);
	lb_index_compact(idx);
	l = mkloc(LB_PACK_PENDING, 1, 0, 0, LB_BLOB_DATA);
	lb_index_add(idx, ids[3], &l);
	l = mkloc(LB_PACK_PENDING, 2, 0, 0, LB_BLOB_DATA);
	lb_index_add(idx, ids[4], &l);
	l = mkloc(4, 1, 10, 10, LB_BLOB_TREE);
	lb_index_add(idx, ids[5], &l);
	e = lb_index_drop_pending(idx, 1);
	is(e, 0, "drop_pending(1)");
	ok(!lb_index_lookup(idx, ids[0], NULL) && !lb_index_lookup(idx, ids[3], NULL),
	   "writer 1's placeholders are gone from both tables");
	ok(lb_index_lookup(idx, ids[1], &l) && l.pack == LB_PACK_PENDING && lb_index_lookup(idx, ids[4], &l) &&
	   l.pack == LB_PACK_PENDING, "writer 2's placeholders stay");
	ok(lb_index_lookup(idx, ids[2], &l) && l.pack == 3 && lb_index_lookup(idx, ids[5], &l) && l.pack == 4,
	   "real locations with the same offset stay");
	is(lb_index_count(idx), 4, "count drops by two");
	{
		/* what remains is still consistent: more adds, a compaction, lookups */
		uint8_t more[200][32];
		int good = 1;

		for (int i = 0; i < 200; i++) {
			rand_id(more[i]);
			l = mkloc(5, (uint32_t)i, 1, 1, LB_BLOB_DATA);
			lb_index_add(idx, more[i], &l);
		}
		for (int i = 0; i < 200; i++)
			good &= lb_index_lookup(idx, more[i], &l) == 1 && l.offset == (uint32_t)i;
		lb_index_compact(idx);
		for (int i = 0; i < 200; i++)
			good &= lb_index_lookup(idx, more[i], &l) == 1 && l.offset == (uint32_t)i;
		good &= lb_index_lookup(idx, ids[1], NULL) && lb_index_lookup(idx, ids[2], NULL) && !lb_index_lookup(idx, ids[0], NULL);
		ok(good && lb_index_count(idx) == 204, "the index stays consistent after dropping");
	}
	is(lb_index_drop_pending(idx, 9), 0, "dropping for a writer with no placeholders changes nothing");
	is(lb_index_count(idx), 204, "...count unchanged");
	lb_index_free(idx);
}

static void test_dups_and_mixed(void)
{
	struct lb_index *idx = NULL;
	uint8_t (*ids)[32] = malloc(3000 * 32);
	struct lb_blob_loc l;
	int good = 1;

	lb_index_new(&idx);
	for (int i = 0; i < 3000; i++)
		rand_id(ids[i]);
	/* each id three times, through every path */
	for (int i = 0; i < 3000; i++) {
		l = mkloc(1, (uint32_t)i, 1, 1, LB_BLOB_DATA);
		lb_index_bulk_add(idx, ids[i], &l);
	}
	for (int i = 0; i < 3000; i++) {
		l = mkloc(1, (uint32_t)i, 1, 1, LB_BLOB_DATA);
		lb_index_add(idx, ids[i], &l); /* unsorted main: goes to the add table */
		lb_index_bulk_add(idx, ids[i], &l);
	}
	is(lb_index_count(idx) >= 3000, 1, "before compaction, duplicates are counted (%zu)", lb_index_count(idx));
	lb_index_compact(idx);
	is(lb_index_count(idx), 3000, "compaction leaves one entry per id");
	for (int i = 0; i < 3000; i++)
		if (lb_index_lookup(idx, ids[i], &l) != 1 || l.offset != (uint32_t)i)
			good = 0;
	ok(good, "every id still found with its location");
	lb_index_free(idx);
	free(ids);
}

static void test_edges(void)
{
	struct lb_index *idx = NULL;
	uint8_t id[32];
	struct lb_blob_loc l;
	int good = 1, n = 0;

	lb_index_new(&idx);
	/* ids in the first and last directory buckets, and many in one bucket */
	for (int v = 0; v < 600; v++) {
		memset(id, v < 200 ? 0x00 : v < 400 ? 0xff : 0x7f, 32);
		id[2] = (uint8_t)v;
		id[31] = (uint8_t)(v * 13);
		id[30] = (uint8_t)(v >> 8);
		l = mkloc(0, (uint32_t)v, 0, 0, LB_BLOB_DATA);
		lb_index_bulk_add(idx, id, &l);
		n++;
	}
	/* ids that differ only in their last byte */
	for (int v = 0; v < 256; v++) {
		memset(id, 0x33, 32);
		id[31] = (uint8_t)v;
		l = mkloc(0, 1000u + (uint32_t)v, 0, 0, LB_BLOB_DATA);
		lb_index_add(idx, id, &l);
		n++;
	}
	lb_index_compact(idx);
	is(lb_index_count(idx), (size_t)n, "%d edge ids indexed", n);
	for (int v = 0; v < 600; v++) {
		memset(id, v < 200 ? 0x00 : v < 400 ? 0xff : 0x7f, 32);
		id[2] = (uint8_t)v;
		id[31] = (uint8_t)(v * 13);
		id[30] = (uint8_t)(v >> 8);
		if (lb_index_lookup(idx, id, &l) != 1 || l.offset != (uint32_t)v)
			good = 0;
	}
	for (int v = 0; v < 256; v++) {
		memset(id, 0x33, 32);
		id[31] = (uint8_t)v;
		if (lb_index_lookup(idx, id, &l) != 1 || l.offset != 1000u + (uint32_t)v)
			good = 0;
	}
	ok(good, "ids in bucket 0000, ffff, one crowded bucket, and near-identical ids are all found");
	memset(id, 0xff, 32);
	ok(lb_index_lookup(idx, id, NULL) == 0, "all-ff id (past the last real one) not found");
	memset(id, 0, 32);
	id[5] = 1;
	ok(lb_index_lookup(idx, id, NULL) == 0, "an absent id in the crowded bucket 0000 not found");

	/* ids colliding in the hash (same bytes 8..15) in the recent-additions table */
	{
		struct lb_index *h = NULL;

		lb_index_new(&h);
		good = 1;
		for (int v = 0; v < 3000; v++) {
			rand_id(id);
			memset(id + 8, 0x5a, 8);
			id[0] = (uint8_t)v;
			id[1] = (uint8_t)(v >> 8);
			l = mkloc(0, (uint32_t)v, 0, 0, LB_BLOB_DATA);
			lb_index_add(h, id, &l);
			if (lb_index_lookup(h, id, &l) != 1 || l.offset != (uint32_t)v)
				good = 0;
		}
		ok(good && lb_index_count(h) == 3000, "3000 ids with the same hash bytes are kept apart");
		lb_index_free(h);
	}
	lb_index_free(idx);
}

struct visit {
	uint8_t *seen;
	size_t n, calls, bad, stop_after;
	uint8_t prev[32];
	int unsorted;
};

static int visit_cb(const uint8_t id[32], const struct lb_blob_loc *loc, void *ctx)
{
	struct visit *v = ctx;

	if (v->calls > 0 && memcmp(v->prev, id, 32) >= 0)
		v->unsorted = 1;
	memcpy(v->prev, id, 32);
	v->calls++;
	if (loc->offset >= v->n || v->seen[loc->offset])
		v->bad++;
	else
		v->seen[loc->offset] = 1;
	if (v->stop_after && v->calls == v->stop_after)
		return 42;
	return 0;
}

static void test_bulk_200k(void)
{
	struct lb_index *idx = NULL;
	size_t n = 200000;
	uint8_t (*ids)[32] = malloc(n * 32);
	struct lb_blob_loc l;
	struct visit v = { 0 };
	int good = 1;

	lb_index_new(&idx);
	for (size_t i = 0; i < n; i++) {
		rand_id(ids[i]);
		l = mkloc((uint32_t)(i % 1000), (uint32_t)i, 1, 1, LB_BLOB_DATA);
		if (lb_index_bulk_add(idx, ids[i], &l) != 0)
			good = 0;
	}
	ok(good, "200k bulk adds");
	is(lb_index_compact(idx), 0, "compact 200k");
	is(lb_index_count(idx), n, "count 200k");
	for (size_t i = 0; i < n; i++)
		if (lb_index_lookup(idx, ids[i], &l) != 1 || l.offset != (uint32_t)i || l.pack != i % 1000)
			good = 0;
	ok(good, "all 200k found with the right location");
	{
		size_t misses = 0;
		uint8_t id[32];

		for (int i = 0; i < 10000; i++) {
			rand_id(id);
			misses += lb_index_lookup(idx, id, NULL) == 0;
		}
		is(misses, 10000, "10k random absent ids are not found");
	}

	v.seen = calloc(n, 1);
	v.n = n;
	is(lb_index_foreach(idx, visit_cb, &v), 0, "foreach returns 0");
	ok(v.calls == n && v.bad == 0, "foreach visits all 200k exactly once (%zu calls, %zu bad)", v.calls, v.bad);
	ok(!v.unsorted, "foreach visits a compacted index in id order");

	/* with recent additions too */
	{
		uint8_t id[32];

		rand_id(id);
		l = mkloc(1, (uint32_t)n, 1, 1, LB_BLOB_DATA);
		free(v.seen);
		memset(&v, 0, sizeof v);
		v.seen = calloc(n + 1, 1);
		v.n = n + 1;
		lb_index_add(idx, id, &l);
		lb_index_foreach(idx, visit_cb, &v);
		ok(v.calls == n + 1 && v.bad == 0, "foreach also visits recent additions");
	}
	/* a non-zero return stops the walk */
	free(v.seen);
	memset(&v, 0, sizeof v);
	v.seen = calloc(n + 1, 1);
	v.n = n + 1;
	v.stop_after = 10;
	is(lb_index_foreach(idx, visit_cb, &v), 42, "a callback's non-zero return is returned");
	is(v.calls, 10, "...and stops the walk");
	free(v.seen);
	lb_index_free(idx);
	free(ids);
}

static void test_packs(void)
{
	struct lb_index *idx = NULL;
	uint8_t (*ids)[32] = malloc(1000 * 32), other[32];
	uint32_t num = 12345;
	int good = 1;

	lb_index_new(&idx);
	is(lb_index_npacks(idx), 0, "no packs yet");
	rand_id(other);
	is(lb_index_pack_find(idx, other, &num), 0, "find in an empty pack table");
	ok(lb_index_pack_id(idx, 0) == NULL, "pack_id(0) of an empty table is NULL");
	for (uint32_t i = 0; i < 1000; i++) {
		rand_id(ids[i]);
		if (lb_index_pack_add(idx, ids[i], &num) != 0 || num != i)
			good = 0;
	}
	ok(good, "1000 packs numbered 0..999 in order");
	is(lb_index_npacks(idx), 1000, "npacks 1000");
	good = 1;
	for (uint32_t i = 0; i < 1000; i++) {
		num = 0xdead;
		if (lb_index_pack_find(idx, ids[i], &num) != 1 || num != i)
			good = 0;
		if (!lb_index_pack_id(idx, i) || memcmp(lb_index_pack_id(idx, i), ids[i], 32))
			good = 0;
	}
	ok(good, "every pack found by id, and every number maps back to its id");
	ok(lb_index_pack_add(idx, ids[500], &num) == 0 && num == 500, "adding a known pack returns its number");
	is(lb_index_npacks(idx), 1000, "...without a new entry");
	is(lb_index_pack_find(idx, other, &num), 0, "an unknown pack is not found");
	ok(lb_index_pack_id(idx, 1000) == NULL, "pack_id past the end is NULL");
	ok(lb_index_pack_id(idx, LB_PACK_PENDING) == NULL, "pack_id(PENDING) is NULL");
	lb_index_free(idx);
	free(ids);
}

static void test_memory(void)
{
	size_t n = 1000000;
	uint8_t id[32];
	struct lb_blob_loc l = mkloc(3, 100, 50, 60, LB_BLOB_DATA);
	struct lb_index *idx = NULL;
	double per;

	/* the way index files are loaded */
	lb_index_new(&idx);
	for (size_t i = 0; i < n; i++) {
		rand_id(id);
		lb_index_bulk_add(idx, id, &l);
	}
	lb_index_compact(idx);
	per = (double)lb_index_memory(idx) / (double)lb_index_count(idx);
	ok(lb_index_count(idx) == n && per <= 56.0,
	   "1M entries loaded with bulk_add: %.1f bytes/entry after compaction (<= 56)", per);
	lb_index_free(idx);

	/* the way a backup adds new blobs, then compacts */
	lb_index_new(&idx);
	for (size_t i = 0; i < n; i++) {
		rand_id(id);
		lb_index_add(idx, id, &l);
	}
	lb_index_compact(idx);
	per = (double)lb_index_memory(idx) / (double)lb_index_count(idx);
	ok(lb_index_count(idx) == n && per <= 56.0,
	   "1M entries added with lb_index_add: %.1f bytes/entry after compaction (<= 56)", per);
	lb_index_free(idx);
}

int main(void)
{
	test_basic();
	test_pending();
	test_drop_pending();
	test_dups_and_mixed();
	test_edges();
	test_bulk_200k();
	test_packs();
	test_memory();
	return done_testing();
}
