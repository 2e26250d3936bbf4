/* Unit tests for lib/util/buf.c: growable buffers with a ceiling, varints,
 * the bounded reader, hex. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "util/util.h"

static void test_growth(void)
{
	struct lb_buf b;
	uint8_t chunk[1000];
	int ok_all = 1;

	lb_buf_init(&b, 0);
	is(b.max, LB_BUF_DEFAULT_MAX, "max 0 means the default ceiling");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "a new buffer is empty and owns nothing");
	for (size_t i = 0; i < sizeof chunk; i++)
		chunk[i] = (uint8_t)(i * 7);
	for (int i = 0; i < 100; i++) {
		if (lb_buf_append(&b, chunk, sizeof chunk) != 0)
			ok_all = 0;
		if (b.cap < b.len)
			ok_all = 0;
	}
	ok(ok_all, "100 appends of 1000 bytes succeed and cap >= len throughout");
	is(b.len, 100000, "length is the sum of the appends");
	ok(memcmp(b.data + 99000, chunk, sizeof chunk) == 0 && memcmp(b.data, chunk, sizeof chunk) == 0,
	   "contents survive reallocation");
	is(lb_buf_append(&b, NULL, 0), 0, "appending nothing succeeds");
	is(b.len, 100000, "appending nothing changes nothing");
	lb_buf_reset(&b);
	is(b.len, 0, "reset empties");
	ok(b.cap >= 100000, "reset keeps the allocation");
	lb_buf_release(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "release frees and zeroes");

	/* secure release on an empty buffer must not crash */
	lb_buf_init(&b, 0);
	lb_buf_release_secure(&b);
	lb_buf_init(&b, 0);
	lb_buf_append(&b, "secret", 6);
	lb_buf_release_secure(&b);
	ok(b.data == NULL && b.len == 0, "release_secure frees");
}

static void test_ceiling(void)
{
	struct lb_buf b;
	uint8_t big[700];
	int e;

	memset(big, 0xab, sizeof big);
	lb_buf_init(&b, 1000);
	is(b.max, 1000, "explicit ceiling kept");
	is(lb_buf_append(&b, big, 700), 0, "700 bytes fit under a 1000-byte ceiling");
	lb_err_clear();
	e = lb_buf_append(&b, big, 301);
	is(e, -EFBIG, "growing past the ceiling fails with -EFBIG");
	ok(strstr(lb_errmsg(), "1000") != NULL, "the message names the limit: %s", lb_errmsg());
	is(b.len, 700, "a failed append leaves the length alone");
	ok(b.cap <= 1000, "capacity never exceeds the ceiling (cap %zu)", b.cap);
	is(lb_buf_append(&b, big, 300), 0, "filling exactly to the ceiling works");
	is(b.len, 1000, "buffer is exactly at the ceiling");
	is(b.cap, 1000, "capacity clamped to the ceiling, not doubled past it");
	is(lb_buf_put_u8(&b, 1), -EFBIG, "one more byte is refused");
	is(lb_buf_reserve(&b, 0), 0, "reserving nothing at the ceiling is fine");
	is(lb_buf_reserve(&b, SIZE_MAX), -EFBIG, "reserve(SIZE_MAX) is refused, no overflow");
	lb_buf_reset(&b);
	is(lb_buf_reserve(&b, SIZE_MAX - 3), -EFBIG, "reserve near SIZE_MAX on an empty buffer refused");
	lb_buf_release(&b);

	lb_buf_init(&b, 10);
	is(lb_buf_reserve(&b, 11), -EFBIG, "reserve above a tiny ceiling refused");
	is(lb_buf_reserve(&b, 10), 0, "reserve up to a tiny ceiling allowed");
	ok(b.cap >= 10 && b.cap <= 10, "cap is exactly the tiny ceiling (%zu)", b.cap);
	lb_buf_release(&b);
}

static void test_fixed(void)
{
	struct lb_buf b;
	struct lb_reader r;
	uint8_t u8 = 0;
	uint16_t u16 = 0;
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	const uint8_t le16[2] = { 0x34, 0x12 };

	lb_buf_init(&b, 0);
	lb_buf_put_u8(&b, 0xfe);
	lb_buf_put_le32(&b, 0x01020304u);
	lb_buf_put_le64(&b, 0x1122334455667788ull);
	is(b.len, 13, "u8 + le32 + le64 = 13 bytes");
	ok(b.data[1] == 0x04 && b.data[4] == 0x01, "le32 is little-endian");
	ok(b.data[5] == 0x88 && b.data[12] == 0x11, "le64 is little-endian");
	lb_reader_init(&r, b.data, b.len);
	ok(lb_get_u8(&r, &u8) == 0 && u8 == 0xfe, "u8 reads back");
	ok(lb_get_le32(&r, &u32) == 0 && u32 == 0x01020304u, "le32 reads back");
	ok(lb_get_le64(&r, &u64) == 0 && u64 == 0x1122334455667788ull, "le64 reads back");
	is(lb_reader_left(&r), 0, "reader consumed everything");
	is(lb_get_u8(&r, &u8), -LB_E_CORRUPT, "u8 past the end is -LB_E_CORRUPT");
	lb_reader_init(&r, le16, 2);
	ok(lb_get_le16(&r, &u16) == 0 && u16 == 0x1234, "le16 reads");
	lb_reader_init(&r, le16, 1);
	is(lb_get_le16(&r, &u16), -LB_E_CORRUPT, "le16 on 1 byte is refused");
	is(r.off, 0, "failed read does not advance");
	lb_reader_init(&r, b.data, 3);
	is(lb_get_le32(&r, &u32), -LB_E_CORRUPT, "le32 on 3 bytes is refused");
	lb_reader_init(&r, b.data, 7);
	is(lb_get_le64(&r, &u64), -LB_E_CORRUPT, "le64 on 7 bytes is refused");

	{
		uint8_t t[8];

		lb_be64_put(t, 0x0102030405060708ull);
		ok(t[0] == 1 && t[7] == 8, "be64_put is big-endian");
		lb_le64_put(t, 0x0102030405060708ull);
		ok(t[0] == 8 && t[7] == 1 && lb_le64_get(t) == 0x0102030405060708ull, "le64 put/get inline");
	}
	lb_buf_release(&b);
}

static size_t uvarint_len(uint64_t v)
{
	struct lb_buf b;
	size_t n;

	lb_buf_init(&b, 0);
	lb_buf_put_uvarint(&b, v);
	n = b.len;
	lb_buf_release(&b);
	return n;
}

static void test_varints(void)
{
	static const uint64_t uvals[] = {
		0, 1, 127, 128, 129, 255, 256, 16383, 16384, 1ull << 32, (1ull << 63) - 1, 1ull << 63,
		(1ull << 63) + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	static const int64_t svals[] = {
		0, 1, -1, 63, -64, 64, -65, 127, 128, -128, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
		INT64_MAX - 1, INT64_MIN + 1,
	};
	struct lb_buf b;
	struct lb_reader r;
	int good = 1;

	lb_buf_init(&b, 0);
	for (size_t i = 0; i < LB_ARRAY_SIZE(uvals); i++)
		lb_buf_put_uvarint(&b, uvals[i]);
	lb_reader_init(&r, b.data, b.len);
	for (size_t i = 0; i < LB_ARRAY_SIZE(uvals); i++) {
		uint64_t v = 0;

		if (lb_get_uvarint(&r, &v) != 0 || v != uvals[i]) {
			good = 0;
			diag("uvarint %llu came back as %llu", (unsigned long long)uvals[i], (unsigned long long)v);
		}
	}
	ok(good, "uvarints round-trip at the edges (0, 127, 128, 2^63, UINT64_MAX ...)");
	is(lb_reader_left(&r), 0, "no stray bytes after the uvarints");

	is(uvarint_len(0), 1, "0 is one byte");
	is(uvarint_len(127), 1, "127 is one byte");
	is(uvarint_len(128), 2, "128 is two bytes");
	is(uvarint_len(16383), 2, "16383 is two bytes");
	is(uvarint_len(16384), 3, "16384 is three bytes");
	is(uvarint_len(1ull << 63), 10, "2^63 is ten bytes");
	is(uvarint_len(UINT64_MAX), 10, "UINT64_MAX is ten bytes");
	lb_buf_reset(&b);
	lb_buf_put_uvarint(&b, 128);
	ok(b.data[0] == 0x80 && b.data[1] == 0x01, "128 encodes as 80 01");

	lb_buf_reset(&b);
	good = 1;
	for (size_t i = 0; i < LB_ARRAY_SIZE(svals); i++)
		lb_buf_put_svarint(&b, svals[i]);
	lb_reader_init(&r, b.data, b.len);
	for (size_t i = 0; i < LB_ARRAY_SIZE(svals); i++) {
		int64_t v = 12345;

		if (lb_get_svarint(&r, &v) != 0 || v != svals[i]) {
			good = 0;
			diag("svarint %lld came back as %lld", (long long)svals[i], (long long)v);
		}
	}
	ok(good, "svarints round-trip (0, +-1, INT64_MIN, INT64_MAX ...)");
	is(lb_reader_left(&r), 0, "no stray bytes after the svarints");

	/* zigzag: small magnitudes stay short, and the mapping is the standard one */
	lb_buf_reset(&b);
	lb_buf_put_svarint(&b, -1);
	lb_buf_put_svarint(&b, 1);
	lb_buf_put_svarint(&b, -64);
	lb_buf_put_svarint(&b, 63);
	ok(b.len == 4 && b.data[0] == 1 && b.data[1] == 2 && b.data[2] == 127 && b.data[3] == 126,
	   "zigzag maps -1->1, 1->2, -64->127, 63->126");
	lb_buf_reset(&b);
	lb_buf_put_svarint(&b, INT64_MIN);
	is(b.len, 10, "INT64_MIN is ten bytes");
	lb_reader_init(&r, b.data, b.len);
	{
		uint64_t u = 0;

		ok(lb_get_uvarint(&r, &u) == 0 && u == UINT64_MAX, "INT64_MIN zigzags to UINT64_MAX");
	}
	lb_buf_release(&b);
}

static void test_varint_errors(void)
{
	struct lb_reader r;
	uint64_t v = 0;
	int64_t s = 0;
	/* ten bytes, last one 0x02: would need bit 64 */
	static const uint8_t overflow[10] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02 };
	static const uint8_t max10[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t eleven[11] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t ten_cont[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81 };
	static const uint8_t trunc[3] = { 0x80, 0x80, 0x80 };

	lb_reader_init(&r, max10, sizeof max10);
	ok(lb_get_uvarint(&r, &v) == 0 && v == UINT64_MAX, "ff*9 01 is UINT64_MAX");
	lb_reader_init(&r, overflow, sizeof overflow);
	is(lb_get_uvarint(&r, &v), -LB_E_CORRUPT, "a tenth byte above 1 overflows: -LB_E_CORRUPT");
	lb_reader_init(&r, eleven, sizeof eleven);
	is(lb_get_uvarint(&r, &v), -LB_E_CORRUPT, "an 11-byte varint is refused");
	lb_reader_init(&r, ten_cont, sizeof ten_cont);
	is(lb_get_uvarint(&r, &v), -LB_E_CORRUPT, "a tenth byte with the continuation bit is refused");
	lb_reader_init(&r, trunc, sizeof trunc);
	is(lb_get_uvarint(&r, &v), -LB_E_CORRUPT, "a varint cut off mid-way is refused");
	lb_reader_init(&r, trunc, 0);
	is(lb_get_uvarint(&r, &v), -LB_E_CORRUPT, "a varint from no bytes is refused");
	lb_reader_init(&r, trunc, sizeof trunc);
	is(lb_get_svarint(&r, &s), -LB_E_CORRUPT, "svarint shares the truncation check");

	/* every strict prefix of a long varint fails */
	{
		int good = 1;

		for (size_t k = 0; k < sizeof max10; k++) {
			lb_reader_init(&r, max10, k);
			if (lb_get_uvarint(&r, &v) != -LB_E_CORRUPT)
				good = 0;
		}
		ok(good, "every strict prefix of a 10-byte varint is -LB_E_CORRUPT");
	}
}

static void test_bytes(void)
{
	struct lb_buf b;
	struct lb_reader r;
	const uint8_t *p = NULL;
	size_t n = 0;

	lb_buf_init(&b, 0);
	lb_buf_put_bytes(&b, "hello", 5);
	lb_buf_put_bytes(&b, "", 0);
	lb_buf_put_bytes(&b, "world!", 6);
	is(b.len, 1 + 5 + 1 + 1 + 6, "length-prefixed bytes are uvarint + data");
	lb_reader_init(&r, b.data, b.len);
	ok(lb_get_bytes(&r, 5, &p, &n) == 0 && n == 5 && !memcmp(p, "hello", 5), "bytes at exactly the max");
	ok(lb_get_bytes(&r, 0, &p, &n) == 0 && n == 0, "empty bytes with max 0");
	is(lb_get_bytes(&r, 5, &p, &n), -LB_E_CORRUPT, "6 bytes against a max of 5 refused");
	lb_reader_init(&r, b.data, b.len);
	lb_get_bytes(&r, 5, &p, &n);
	lb_get_bytes(&r, 5, &p, &n);
	ok(lb_get_bytes(&r, 6, &p, &n) == 0 && n == 6 && !memcmp(p, "world!", 6), "third field reads");
	is(lb_reader_left(&r), 0, "all consumed");

	/* a length that claims more than is there */
	lb_buf_reset(&b);
	lb_buf_put_uvarint(&b, 10);
	lb_buf_append(&b, "abc", 3);
	lb_reader_init(&r, b.data, b.len);
	is(lb_get_bytes(&r, 100, &p, &n), -LB_E_CORRUPT, "length beyond the data refused");
	/* a huge length with a huge max: must not wrap */
	lb_buf_reset(&b);
	lb_buf_put_uvarint(&b, UINT64_MAX);
	lb_reader_init(&r, b.data, b.len);
	is(lb_get_bytes(&r, SIZE_MAX, &p, &n), -LB_E_CORRUPT, "length UINT64_MAX with max SIZE_MAX refused");

	lb_reader_init(&r, "abcdef", 6);
	ok(lb_get_raw(&r, 6, &p) == 0 && p[0] == 'a' && lb_reader_left(&r) == 0, "get_raw takes n bytes");
	lb_reader_init(&r, "abcdef", 6);
	lb_get_raw(&r, 2, &p);
	is(lb_get_raw(&r, 5, &p), -LB_E_CORRUPT, "get_raw past the end refused");
	is(r.off, 2, "...without moving");
	is(lb_get_raw(&r, SIZE_MAX, &p), -LB_E_CORRUPT, "get_raw(SIZE_MAX) refused");
	lb_buf_release(&b);
}

static void test_hex(void)
{
	uint8_t in[4] = { 0x00, 0x9f, 0xa0, 0xff }, out[4];
	char hex[9];

	lb_hex(hex, in, 4);
	ok(strcmp(hex, "009fa0ff") == 0, "lb_hex writes lowercase: %s", hex);
	memset(out, 0, sizeof out);
	ok(lb_unhex(out, 4, "009fa0ff") == 0 && memcmp(out, in, 4) == 0, "lb_unhex round-trips");
	ok(lb_unhex(out, 4, "009FA0FF") == 0 && memcmp(out, in, 4) == 0, "uppercase accepted");
	is(lb_unhex(out, 4, "009fa0f"), -EINVAL, "one digit short: -EINVAL");
	is(lb_unhex(out, 4, "009fa0"), -EINVAL, "one byte short: -EINVAL");
	is(lb_unhex(out, 4, "009fa0ff0"), -EINVAL, "one digit too many: -EINVAL");
	is(lb_unhex(out, 4, "009fa0ff00"), -EINVAL, "one byte too many: -EINVAL");
	is(lb_unhex(out, 4, "009fa0fg"), -EINVAL, "bad digit 'g': -EINVAL");
	is(lb_unhex(out, 4, "0x9fa0ff"), -EINVAL, "bad digit 'x': -EINVAL");
	is(lb_unhex(out, 4, " 09fa0ff"), -EINVAL, "space: -EINVAL");
	is(lb_unhex(out, 4, "009fa0f:"), -EINVAL, "':' (just past '9'): -EINVAL");
	is(lb_unhex(out, 4, "009fa0f@"), -EINVAL, "'@' (just before 'A'): -EINVAL");
	is(lb_unhex(out, 4, ""), -EINVAL, "empty string: -EINVAL");
	is(lb_unhex(out, 0, ""), 0, "zero bytes from an empty string");
	is(lb_unhex(out, 0, "a"), -EINVAL, "zero bytes but trailing input: -EINVAL");
	lb_hex(hex, in, 0);
	is(hex[0], 0, "lb_hex of nothing is the empty string");

	{
		uint8_t all[256], back[256];
		char h[513];

		for (int i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		lb_hex(h, all, 256);
		ok(lb_unhex(back, 256, h) == 0 && !memcmp(all, back, 256), "every byte value round-trips");
	}
}

int main(void)
{
	test_growth();
	test_ceiling();
	test_fixed();
	test_varints();
	test_varint_errors();
	test_bytes();
	test_hex();
	return done_testing();
}
