/* Unit tests for lib/store/compress.c: zstd with a store-raw escape. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "store/compress.h"
#include "util/util.h"

static void fill_text(uint8_t *p, size_t n)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog; lifeboat backs up ";

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)words[(i * 7 + i / 13) % (sizeof words - 1)];
}

static void test_roundtrip(void)
{
	struct lb_zctx *z = NULL;
	size_t n = 200000;
	uint8_t *in = malloc(n), *out = malloc(lb_zbound(n)), *back = malloc(n);
	long k;

	fill_text(in, n);
	ok(lb_zctx_new(3, &z) == 0, "zstd context at level 3");
	ok(lb_zbound(n) >= n, "the bound is at least the input size");
	k = lb_zcompress(z, in, n, out, lb_zbound(n));
	ok(k > 0 && (size_t)k < n / 4, "compressible text shrinks (%ld of %zu bytes)", k, n);
	ok(lb_zdecompress(z, out, (size_t)k, back, n) == 0 && !memcmp(in, back, n), "decompresses to the input");
	memset(back, 0, n);
	ok(lb_zdecompress_tl(out, (size_t)k, back, n) == 0 && !memcmp(in, back, n), "the thread-local path too");

	/* sizes around small edges */
	{
		static const size_t sizes[] = { 1, 2, 31, 32, 33, 100, 4096, 65536 };
		int good = 1;

		for (size_t i = 0; i < LB_ARRAY_SIZE(sizes); i++) {
			size_t m = sizes[i];
			long c = lb_zcompress(z, in, m, out, lb_zbound(n));

			if (c < 0) {
				good = 0;
				continue;
			}
			if (c == 0)
				continue; /* stored raw */
			if ((size_t)c >= m - m / 32 || lb_zdecompress(z, out, (size_t)c, back, m) != 0 ||
			    memcmp(in, back, m) != 0) {
				good = 0;
				diag("size %zu: compressed %ld", m, c);
			}
		}
		ok(good, "sizes 1..65536: either raw (0) or a saving of 1/32 that round-trips");
	}
	is(lb_zcompress(z, in, 0, out, lb_zbound(0)), 0, "empty input: store raw");

	/* levels */
	{
		struct lb_zctx *z1 = NULL, *z19 = NULL;
		long a, b;

		lb_zctx_new(1, &z1);
		lb_zctx_new(19, &z19);
		a = lb_zcompress(z1, in, n, out, lb_zbound(n));
		b = lb_zcompress(z19, in, n, out, lb_zbound(n));
		ok(a > 0 && b > 0 && b <= a, "level 19 is no bigger than level 1 (%ld vs %ld)", b, a);
		ok(lb_zdecompress(z1, out, (size_t)b, back, n) == 0 && !memcmp(in, back, n),
		   "any context decompresses any level");
		lb_zctx_free(z1);
		lb_zctx_free(z19);
	}
	lb_zctx_free(z);
	lb_zctx_free(NULL);
	free(in);
	free(out);
	free(back);
}

static void test_incompressible(void)
{
	struct lb_zctx *z = NULL;
	size_t n = 100000;
	uint8_t *in = malloc(n), *out = malloc(lb_zbound(n));

	lb_random(in, n);
	lb_zctx_new(3, &z);
	is(lb_zcompress(z, in, n, out, lb_zbound(n)), 0, "random data returns 0 (store raw)");
	is(lb_zcompress(z, in, 1, out, lb_zbound(1)), 0, "a single byte returns 0 (store raw)");
	/* a capacity too small for the output is not an error: store raw */
	fill_text(in, n);
	is(lb_zcompress(z, in, n, out, 16), 0, "an output buffer too small means store raw, not an error");
	/* half random, half text: compresses a little, maybe less than 1/32 */
	{
		long k;

		lb_random(in, n - n / 40);
		fill_text(in + n - n / 40, n / 40);
		k = lb_zcompress(z, in, n, out, lb_zbound(n));
		ok(k == 0 || (size_t)k < n - n / 32, "a saving under 1/32 is stored raw (%ld)", k);
	}
	lb_zctx_free(z);
	free(in);
	free(out);
}

static void test_errors(void)
{
	struct lb_zctx *z = NULL;
	size_t n = 50000;
	uint8_t *in = malloc(n), *out = malloc(lb_zbound(n)), *back = malloc(n + 100);
	long k;

	fill_text(in, n);
	lb_zctx_new(3, &z);
	k = lb_zcompress(z, in, n, out, lb_zbound(n));
	ok(k > 0, "compressed %ld bytes", k);
	is(lb_zdecompress(z, out, (size_t)k, back, n - 1), -LB_E_CORRUPT, "raw_len one short: -LB_E_CORRUPT");
	is(lb_zdecompress(z, out, (size_t)k, back, n + 1), -LB_E_CORRUPT, "raw_len one long: -LB_E_CORRUPT");
	ok(strstr(lb_errmsg(), "expected") != NULL, "the message gives the expected size: %s", lb_errmsg());
	is(lb_zdecompress_tl(out, (size_t)k, back, n + 100), -LB_E_CORRUPT, "thread-local: raw_len long: corrupt");
	is(lb_zdecompress_tl(out, (size_t)k, back, 10), -LB_E_CORRUPT, "thread-local: raw_len short: corrupt");
	is(lb_zdecompress(z, out, (size_t)k - 1, back, n), -LB_E_CORRUPT, "truncated frame: -LB_E_CORRUPT");
	is(lb_zdecompress(z, "garbage!garbage!", 16, back, n), -LB_E_CORRUPT, "garbage: -LB_E_CORRUPT");
	is(lb_zdecompress(z, out, 0, back, n), -LB_E_CORRUPT, "no input: -LB_E_CORRUPT");
	is(lb_zdecompress_tl(in, 1000, back, n), -LB_E_CORRUPT, "thread-local: text is not a frame");
	{
		/* flip bytes through the frame: never a crash and never another
		 * error code (frames carry no checksum, so a flip may still decode:
		 * the AEAD tag and the keyed id catch that one level up) */
		int crashes = 0;

		for (long i = 0; i < k; i += 7) {
			out[i] ^= 0x55;
			int e = lb_zdecompress(z, out, (size_t)k, back, n);

			if (e != 0 && e != -LB_E_CORRUPT)
				crashes++;
			out[i] ^= 0x55;
		}
		is(crashes, 0, "flipped frames fail with -LB_E_CORRUPT or decode (no other outcome)");
	}
	ok(lb_zdecompress(z, out, (size_t)k, back, n) == 0 && !memcmp(back, in, n), "the context still works after errors");
	lb_zctx_free(z);
	free(in);
	free(out);
	free(back);
}

struct thr {
	const uint8_t *frame;
	size_t flen;
	const uint8_t *want;
	size_t n;
	int bad;
};

static void *tl_thread(void *arg)
{
	struct thr *t = arg;
	uint8_t *back = malloc(t->n);

	for (int i = 0; i < 50; i++)
		if (lb_zdecompress_tl(t->frame, t->flen, back, t->n) != 0 || memcmp(back, t->want, t->n))
			t->bad++;
	free(back);
	return NULL;
}

static void test_threads(void)
{
	struct lb_zctx *z = NULL;
	size_t n = 100000;
	uint8_t *in = malloc(n), *out = malloc(lb_zbound(n));
	struct thr a, b;
	pthread_t ta, tb;

	fill_text(in, n);
	lb_zctx_new(3, &z);
	a.flen = (size_t)lb_zcompress(z, in, n, out, lb_zbound(n));
	a.frame = out;
	a.want = in;
	a.n = n;
	a.bad = 0;
	b = a;
	pthread_create(&ta, NULL, tl_thread, &a);
	pthread_create(&tb, NULL, tl_thread, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(a.bad == 0 && b.bad == 0, "two threads decompress with their own contexts");
	lb_zctx_free(z);
	free(in);
	free(out);
}

int main(void)
{
	test_roundtrip();
	test_incompressible();
	test_errors();
	test_threads();
	return done_testing();
}
