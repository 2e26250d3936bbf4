/* Unit tests for lib/store/chunker.c: the keyed content-defined chunker. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "crypto/crypto.h"
#include "store/chunker.h"
#include "util/util.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic test data */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	rng_state = seed;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 56);
}

struct cuts {
	size_t *len;
	size_t n, cap;
};

static void cuts_add(struct cuts *c, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->len = realloc(c->len, c->cap * sizeof *c->len);
	}
	c->len[c->n++] = len;
}

/* All data in one buffer, eof from the start. */
static void chunk_whole(const struct lb_chunker *c, const uint8_t *p, size_t n, struct cuts *out)
{
	size_t off = 0, k;

	while (off < n && (k = lb_chunker_next(c, p + off, n - off, true)) > 0) {
		cuts_add(out, k);
		off += k;
	}
}

/* The way a reader feeds it: a buffer of cap bytes filled by reads of
 * random sizes in [1, maxpiece]; after every read, cut what can be cut. */
static int chunk_stream(const struct lb_chunker *c, const uint8_t *p, size_t n, size_t cap, size_t maxpiece,
			uint64_t seed, struct cuts *out)
{
	uint8_t *buf = malloc(cap);
	size_t have = 0, pos = 0;
	int sane = 1;

	rng_state = seed;
	for (;;) {
		size_t off = 0, k;
		bool eof;

		if (have < cap && pos < n) {
			size_t want = 1 + (size_t)(rnd() % maxpiece);

			want = LB_MIN(want, LB_MIN(cap - have, n - pos));
			memcpy(buf + have, p + pos, want);
			have += want;
			pos += want;
		}
		eof = pos >= n;
		while (off < have && (k = lb_chunker_next(c, buf + off, have - off, eof)) > 0) {
			if (k > have - off)
				sane = 0;
			cuts_add(out, k);
			off += k;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (eof && have == 0)
			break;
		if (have == cap && off == 0) {
			sane = 0; /* a full buffer of cap >= max must always cut */
			break;
		}
	}
	free(buf);
	return sane;
}

static int same_cuts(const struct cuts *a, const struct cuts *b)
{
	return a->n == b->n && !memcmp(a->len, b->len, a->n * sizeof *a->len);
}

static size_t sum_cuts(const struct cuts *a)
{
	size_t s = 0;

	for (size_t i = 0; i < a->n; i++)
		s += a->len[i];
	return s;
}

static void test_params(void)
{
	struct lb_chunker c;
	uint8_t key[32] = { 0 };

	is(lb_chunker_init(&c, key, 16 << 10, 64 << 10, 256 << 10), 0, "the default sizes are accepted");
	is(lb_chunker_init(&c, key, 512, 1024, 2048), 0, "min at the 512-byte floor accepted");
	is(lb_chunker_init(&c, key, 511, 1024, 2048), -EINVAL, "min below 512 refused");
	is(lb_chunker_init(&c, key, 0, 1024, 2048), -EINVAL, "min 0 refused");
	is(lb_chunker_init(&c, key, 1 << 20, 4 << 20, 16 << 20), 0, "max at the 16 MiB ceiling accepted");
	is(lb_chunker_init(&c, key, 1 << 20, 4 << 20, (16 << 20) + 1), -EINVAL, "max above 16 MiB refused");
	is(lb_chunker_init(&c, key, 4096, 4096, 8192), -EINVAL, "min == avg refused");
	is(lb_chunker_init(&c, key, 4096, 8192, 8192), -EINVAL, "avg == max refused");
	is(lb_chunker_init(&c, key, 8192, 4096, 16384), -EINVAL, "min > avg refused");
	is(lb_chunker_init(&c, key, 1024, 3000, 8192), -EINVAL, "avg not a power of two refused");
	is(lb_chunker_init(&c, key, 1024, 8192, 4096), -EINVAL, "max < avg refused");
}

static void test_small_inputs(void)
{
	struct lb_chunker c;
	uint8_t key[32] = { 1 }, data[4096];

	fill_random(data, sizeof data, 3);
	lb_chunker_init(&c, key, 1024, 2048, 4096);
	is(lb_chunker_next(&c, data, 0, true), 0, "no data at eof: no chunk");
	is(lb_chunker_next(&c, data, 100, true), 100, "a short tail at eof is one chunk");
	is(lb_chunker_next(&c, data, 1024, true), 1024, "exactly min at eof is one chunk");
	is(lb_chunker_next(&c, data, 100, false), 0, "less than min without eof: needs more");
	is(lb_chunker_next(&c, data, 4095, false), 0, "less than max without eof: needs more");
	ok(lb_chunker_next(&c, data, 4096, false) > 0, "a full max window without eof decides");
	is(lb_chunker_next(&c, data, 4096, false), lb_chunker_next(&c, data, 4096, true),
	   "with a full window, eof makes no difference");
}

#define DATA_LEN (4u << 20)

static void test_sizes_and_determinism(const uint8_t *data)
{
	struct lb_chunker c, c2;
	uint8_t key[32];
	struct cuts a = { 0 }, b = { 0 };
	size_t min = 2048, avg = 8192, max = 32768, small = 0;
	int bounds = 1;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 3 + 1);
	lb_chunker_init(&c, key, min, avg, max);
	chunk_whole(&c, data, DATA_LEN, &a);
	is(sum_cuts(&a), DATA_LEN, "chunks cover every byte exactly once");
	for (size_t i = 0; i < a.n; i++) {
		if (a.len[i] > max || (i + 1 < a.n && a.len[i] < min))
			bounds = 0;
		if (a.len[i] < 2 * min)
			small++;
	}
	ok(bounds, "every chunk is <= max and every chunk but the last >= min (%zu chunks)", a.n);
	{
		double mean = (double)DATA_LEN / (double)a.n;

		ok(mean > avg * 0.6 && mean < avg * 1.6, "mean chunk size %.0f is near avg %zu", mean, avg);
	}
	{
		size_t at_max = 0;

		for (size_t i = 0; i < a.n; i++)
			at_max += a.len[i] == max;
		ok(at_max * 20 < a.n, "few chunks are forced cuts at max (%zu of %zu)", at_max, a.n);
	}

	/* same key, a fresh chunker: identical cuts */
	lb_chunker_init(&c2, key, min, avg, max);
	chunk_whole(&c2, data, DATA_LEN, &b);
	ok(same_cuts(&a, &b), "deterministic: a second chunker with the same key cuts the same");
	ok(!memcmp(c.gear, c2.gear, sizeof c.gear), "the gear table derives from the key alone");

	/* read splits: tiny reads, odd reads, big reads, a buffer of exactly max */
	{
		static const struct { size_t cap, piece; } runs[] = {
			{ 65536, 1000 }, { 65536, 7 }, { 32768, 32768 }, { 100000, 65536 }, { 32768, 4097 },
		};
		int good = 1, sane = 1;

		for (size_t r = 0; r < LB_ARRAY_SIZE(runs); r++) {
			struct cuts s = { 0 };
			/* tiny pieces on the full 4 MiB would be slow: use a prefix */
			size_t n = runs[r].piece < 100 ? 256 << 10 : DATA_LEN;
			struct cuts ref = { 0 };

			sane &= chunk_stream(&c, data, n, runs[r].cap, runs[r].piece, 100 + r, &s);
			chunk_whole(&c, data, n, &ref);
			if (!same_cuts(&s, &ref)) {
				good = 0;
				diag("split run %zu (cap %zu, reads up to %zu) cut differently", r, runs[r].cap,
				     runs[r].piece);
			}
			free(s.len);
			free(ref.len);
		}
		ok(sane, "streaming never gets stuck and never cuts past the data");
		ok(good, "boundaries do not depend on how the input was split into reads");
	}

	/* another key, other boundaries */
	{
		struct cuts d = { 0 };
		size_t same = 0, pa = 0, pd = 0, i = 0, j = 0;

		key[0] ^= 1;
		lb_chunker_init(&c2, key, min, avg, max);
		chunk_whole(&c2, data, DATA_LEN, &d);
		ok(!same_cuts(&a, &d), "a different key gives different boundaries");
		/* count cut positions the two share */
		while (i < a.n && j < d.n) {
			if (pa + a.len[i] == pd + d.len[j]) {
				same++;
				pa += a.len[i++];
				pd += d.len[j++];
			} else if (pa + a.len[i] < pd + d.len[j]) {
				pa += a.len[i++];
			} else {
				pd += d.len[j++];
			}
		}
		ok(same * 4 < a.n, "...and most cut points differ (%zu of %zu shared)", same, a.n);
		free(d.len);
	}
	free(a.len);
	free(b.len);
}

/* ids of chunks (plain SHA-256 is enough here) */
static uint8_t (*chunk_ids(const uint8_t *p, const struct cuts *c))[32]
{
	uint8_t (*ids)[32] = malloc(c->n * 32);
	size_t off = 0;

	for (size_t i = 0; i < c->n; i++) {
		lb_sha256(p + off, c->len[i], ids[i]);
		off += c->len[i];
	}
	return ids;
}

static void test_shift(const uint8_t *data)
{
	struct lb_chunker c;
	uint8_t key[32] = { 9, 8, 7 };
	struct cuts a = { 0 }, b = { 0 };
	uint8_t *edited = malloc(DATA_LEN + 100);
	uint8_t (*ia)[32], (*ib)[32];
	size_t found = 0, after = 0;

	lb_chunker_init(&c, key, 2048, 8192, 32768);
	/* insert 100 bytes at offset 5000 */
	memcpy(edited, data, 5000);
	memset(edited + 5000, 'X', 100);
	memcpy(edited + 5100, data + 5000, DATA_LEN - 5000);
	chunk_whole(&c, data, DATA_LEN, &a);
	chunk_whole(&c, edited, DATA_LEN + 100, &b);
	ia = chunk_ids(data, &a);
	ib = chunk_ids(edited, &b);
	for (size_t i = 0; i < a.n; i++) {
		size_t start = 0;

		for (size_t k = 0; k < i; k++)
			start += a.len[k];
		if (start < 5000 + 32768 * 2)
			continue; /* near the edit: allowed to change */
		after++;
		for (size_t j = 0; j < b.n; j++)
			if (!memcmp(ia[i], ib[j], 32)) {
				found++;
				break;
			}
	}
	ok(after > 100 && found == after, "an early insert changes only nearby chunks: %zu of %zu later chunks kept",
	   found, after);
	{
		size_t common = 0;

		for (size_t i = 0; i < a.n; i++)
			for (size_t j = 0; j < b.n; j++)
				if (!memcmp(ia[i], ib[j], 32)) {
					common++;
					break;
				}
		ok(common + 3 >= a.n, "at most 3 chunks differ after a 100-byte insert (%zu of %zu kept)", common,
		   a.n);
	}
	free(ia);
	free(ib);
	free(a.len);
	free(b.len);
	free(edited);
}

static void test_low_entropy(void)
{
	struct lb_chunker c;
	uint8_t key[32] = { 5 };
	size_t n = 1 << 20;
	uint8_t *z = calloc(1, n);
	struct cuts a = { 0 };
	int bounds = 1;

	lb_chunker_init(&c, key, 2048, 8192, 32768);
	chunk_whole(&c, z, n, &a);
	for (size_t i = 0; i < a.n; i++)
		if (a.len[i] > 32768 || (i + 1 < a.n && a.len[i] < 2048))
			bounds = 0;
	ok(bounds && sum_cuts(&a) == n, "all-zero input respects min and max (%zu chunks)", a.n);
	free(a.len);
	free(z);
}

static void test_default_sizes(const uint8_t *data)
{
	struct lb_chunker c;
	uint8_t key[32] = { 0x42 };
	struct cuts a = { 0 }, s = { 0 };
	int bounds = 1;

	lb_chunker_init(&c, key, 16 << 10, 64 << 10, 256 << 10);
	chunk_whole(&c, data, DATA_LEN, &a);
	for (size_t i = 0; i < a.n; i++)
		if (a.len[i] > (256 << 10) || (i + 1 < a.n && a.len[i] < (16 << 10)))
			bounds = 0;
	ok(bounds && sum_cuts(&a) == DATA_LEN, "default sizes: bounds hold (%zu chunks, mean %zu)", a.n,
	   (size_t)DATA_LEN / a.n);
	/* the backup reader's buffer is max(4 MiB, 2*max): emulate 1 MiB reads into it */
	ok(chunk_stream(&c, data, DATA_LEN, 4 << 20, 1 << 20, 77, &s) && same_cuts(&a, &s),
	   "default sizes: the backup's read pattern cuts the same");
	free(a.len);
	free(s.len);
}

int main(void)
{
	uint8_t *data = malloc(DATA_LEN);

	fill_random(data, DATA_LEN, 0x1234567);
	test_params();
	test_small_inputs();
	test_sizes_and_determinism(data);
	test_shift(data);
	test_low_entropy();
	test_default_sizes(data);
	free(data);
	return done_testing();
}
