/* Unit tests for the MySQL dump's own helpers that need no server:
 * lb_my_escape (which must write exactly what the client library's
 * mysql_real_escape_string writes on a binary connection) and the row
 * checksum, both hashes (which must not change: manifests hold them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "tap.h"
#include "crypto/crypto.h"
#include "sources/mysql_internal.h"

/* the library's escaping, on a handle with no connection: its default
 * character set, in which (as in binary, and in every character set a
 * server uses) the bytes that need escaping are single ASCII bytes */
static size_t lib_escape(MYSQL *m, char *out, const char *in, size_t len)
{
	return mysql_real_escape_string(m, out, in, (unsigned long)len);
}

static void test_escape(void)
{
	MYSQL *m = mysql_init(NULL);
	char out[2 * 4096 + 1], ref[2 * 4096 + 1], in[4096];
	unsigned seed = 12345, bad = 0, rounds = 0;
	size_t n;

	if (!m) {
		skip("mysql_init failed");
		return;
	}
	n = lb_my_escape(out, "it's a \\ \"q\"\n\r\x1a", 15);
	out[n] = 0;
	is(strcmp(out, "it\\'s a \\\\ \\\"q\\\"\\n\\r\\Z"), 0, "quotes, backslash, newline, CR and ^Z escaped");
	n = lb_my_escape(out, "a\0b", 3);
	ok(n == 4 && memcmp(out, "a\\0b", 4) == 0, "a NUL byte becomes \\0");
	is(lb_my_escape(out, "", 0), 0, "nothing in, nothing out");
	n = lb_my_escape(out, "plain text, no specials", 23);
	ok(n == 23 && memcmp(out, "plain text, no specials", 23) == 0, "ordinary bytes pass unchanged");
	memset(in, '\'', sizeof in);
	is(lb_my_escape(out, in, sizeof in), 2 * sizeof in, "the worst case is twice the length");

	/* every byte value, and random strings, against the library */
	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	n = lb_my_escape(out, in, 256);
	ok(n == lib_escape(m, ref, in, 256) && memcmp(out, ref, n) == 0, "all 256 byte values: as the library");
	for (; rounds < 2000; rounds++) {
		size_t len = (size_t)(rand_r(&seed) % 300);

		for (size_t i = 0; i < len; i++) {
			unsigned r = (unsigned)rand_r(&seed);
			/* specials often, so runs of them and at the ends are covered */
			in[i] = r % 4 == 0 ? "\0\n\r\\'\"\x1a"[r / 4 % 7] : (char)(r >> 8);
		}
		n = lb_my_escape(out, in, len);
		if (n != lib_escape(m, ref, in, len) || memcmp(out, ref, n) != 0)
			bad++;
	}
	is(bad, 0, "%u random strings: byte for byte as mysql_real_escape_string", rounds);
	mysql_close(m);
}

/* the reference: the algorithm over the whole encoding at once */
static uint64_t ref_hash(enum lb_my_sumalg alg, const void *enc, size_t n)
{
	uint8_t d[32];

	if (alg == LB_MY_SUM_XXH3)
		return XXH3_64bits(enc, n);
	if (lb_sha256(enc, n, d) != 0)
		return 0;
	return lb_le64_get(d);
}

static void test_sum(enum lb_my_sumalg alg)
{
	const char *an = lb_my_sumalg_name(alg);
	struct lb_my_hasher h;
	struct lb_my_sum a = { 0 }, b = { 0 };
	char *r1[] = { "1", "alice", NULL }, *r2[] = { "2", "bob", "x" };
	unsigned long l1[] = { 1, 5, 0 }, l2[] = { 1, 3, 1 };
	char hex[33];

	ok(lb_my_hasher_init(&h, alg) == 0, "%s: a reusable hashing state", an);
	ok(lb_my_sum_row(&a, &h, r1, l1, 3) == 0 && lb_my_sum_row(&a, &h, r2, l2, 3) == 0, "%s: two rows summed", an);
	ok(lb_my_sum_row(&b, &h, r2, l2, 3) == 0 && lb_my_sum_row(&b, &h, r1, l1, 3) == 0,
	   "%s: the same rows, other order", an);
	ok(a.rows == 2 && a.sum == b.sum && a.xr == b.xr, "%s: the checksum does not depend on row order", an);
	lb_my_sum_hex(&a, hex);
	diag("%s checksum of the two rows: %s", an, hex);
	/* a row's value: the hash of (flag, le64 length, bytes) per column,
	 * (SHA-256: its first 8 bytes) little-endian; what old snapshots
	 * recorded must still come out the same */
	{
		uint8_t msg[3 * 9 + 1 + 5];
		size_t o = 0;
		uint64_t v;
		struct lb_my_sum one = { 0 };

		msg[o++] = 1, lb_le64_put(msg + o, 1), o += 8, msg[o++] = '1';
		msg[o++] = 1, lb_le64_put(msg + o, 5), o += 8, memcpy(msg + o, "alice", 5), o += 5;
		msg[o++] = 0, lb_le64_put(msg + o, 0), o += 8;
		v = ref_hash(alg, msg, o);
		lb_my_sum_row(&one, &h, r1, l1, 3);
		ok(one.rows == 1 && one.sum == v && one.xr == v, "%s: a row's value is the hash of its encoding", an);
	}
	/* rows whose encoding crosses the gathering buffer: many short
	 * columns, values of every length around its size, NULLs between */
	{
		enum { NC = 700 };
		static char big[9000];
		char *row[NC];
		unsigned long lens[NC];
		struct lb_buf enc;
		unsigned bad = 0;

		memset(big, 'x', sizeof big);
		for (unsigned round = 0; round < 40; round++) {
			struct lb_my_sum got = { 0 };
			unsigned nc = round < 20 ? NC : 1 + round; /* short rows too: the one-call path */

			lb_buf_init(&enc, 0);
			for (unsigned i = 0; i < nc; i++) {
				unsigned r = (i * 2654435761u + round * 40503u) % 97;
				size_t len = r < 5 ? 4000 + round * 50 + r : r < 10 ? 0 : r % 13;
				uint8_t hdr[9];

				row[i] = r == 7 ? NULL : big;
				lens[i] = (unsigned long)len;
				hdr[0] = row[i] ? 1 : 0;
				lb_le64_put(hdr + 1, row[i] ? len : 0);
				lb_buf_append(&enc, hdr, 9);
				if (row[i])
					lb_buf_append(&enc, big, len);
			}
			lb_my_sum_row(&got, &h, row, lens, nc);
			if (got.sum != ref_hash(alg, enc.data, enc.len))
				bad++;
			lb_buf_release(&enc);
		}
		is(bad, 0, "%s: 40 rows of up to 700 columns (short, long, empty, NULL): as one hash of their encoding",
		   an);
	}
	lb_my_hasher_release(&h);
}

int main(void)
{
	test_escape();
	test_sum(LB_MY_SUM_SHA256);
	test_sum(LB_MY_SUM_XXH3);
	is(lb_my_sumalg_parse(NULL), LB_MY_SUM_SHA256, "a manifest without checksum_alg: SHA-256");
	is(lb_my_sumalg_parse("xxh3-64"), LB_MY_SUM_XXH3, "xxh3-64 read back");
	is(lb_my_sumalg_parse("blake9"), -1, "an unknown name is refused");
	return done_testing();
}
