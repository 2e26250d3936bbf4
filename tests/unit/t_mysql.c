/* Unit tests for the MySQL dump's own helpers that need no server:
 * lb_my_escape (which must write exactly what the client library's
 * mysql_real_escape_string writes on a binary connection) and the row
 * checksum (which must not change: manifests of old snapshots hold it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static void test_sum(void)
{
	struct lb_sha256_state *h = NULL;
	struct lb_my_sum a = { 0 }, b = { 0 };
	char *r1[] = { "1", "alice", NULL }, *r2[] = { "2", "bob", "x" };
	unsigned long l1[] = { 1, 5, 0 }, l2[] = { 1, 3, 1 };
	char hex[33];
	uint8_t d[32];

	ok(lb_sha256_new(&h) == 0, "a reusable SHA-256 state");
	ok(lb_my_sum_row(&a, h, r1, l1, 3) == 0 && lb_my_sum_row(&a, h, r2, l2, 3) == 0, "two rows summed");
	ok(lb_my_sum_row(&b, h, r2, l2, 3) == 0 && lb_my_sum_row(&b, h, r1, l1, 3) == 0, "the same rows, other order");
	ok(a.rows == 2 && a.sum == b.sum && a.xr == b.xr, "the checksum does not depend on row order");
	/* the recorded value: SHA-256 over (flag, le64 length, bytes) per
	 * column, first 8 bytes little-endian; pinned so that a change of
	 * the hashing shows here before it breaks old snapshots' drills */
	lb_my_sum_hex(&a, hex);
	diag("checksum of the two rows: %s", hex);
	{
		uint8_t msg[3 * 9 + 1 + 5];
		size_t o = 0;
		uint64_t v;

		msg[o++] = 1, lb_le64_put(msg + o, 1), o += 8, msg[o++] = '1';
		msg[o++] = 1, lb_le64_put(msg + o, 5), o += 8, memcpy(msg + o, "alice", 5), o += 5;
		msg[o++] = 0, lb_le64_put(msg + o, 0), o += 8;
		ok(lb_sha256(msg, o, d) == 0, "SHA-256 of the first row's encoding");
		v = lb_le64_get(d);
		struct lb_my_sum one = { 0 };

		lb_my_sum_row(&one, h, r1, l1, 3);
		ok(one.rows == 1 && one.sum == v && one.xr == v, "a row's value is the first 8 bytes of that hash");
	}
	lb_sha256_free(h);
}

int main(void)
{
	test_escape();
	test_sum();
	return done_testing();
}
