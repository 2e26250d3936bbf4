/* Fuzzes the bounded reader every binary decoder is built on
 * (lb_get_u8/le16/le32/le64/uvarint/svarint/raw/bytes in util/util.h),
 * plus lb_unhex and lb_time_parse, which see ids and times from disk.
 *
 * The input is both program and data: each step reads an opcode byte from
 * the reader itself, then the field it names.  Invariants: the offset never
 * passes the end; returned pointers lie inside the input; lengths respect
 * their limit; varints decode to values whose canonical encoding decodes
 * back to the same value and is no longer than what was read. */
#include <string.h>

#include "util/util.h"
#include "fuzz.h"

static void varint_roundtrip(uint64_t v, size_t consumed, int sign)
{
	struct lb_buf b;
	struct lb_reader r;
	uint64_t u;
	int64_t s;

	lb_buf_init(&b, 64);
	if (sign)
		FUZZ_ASSERT(lb_buf_put_svarint(&b, (int64_t)v) == 0);
	else
		FUZZ_ASSERT(lb_buf_put_uvarint(&b, v) == 0);
	FUZZ_ASSERT(b.len >= 1 && b.len <= 10 && b.len <= consumed);
	lb_reader_init(&r, b.data, b.len);
	if (sign) {
		FUZZ_ASSERT(lb_get_svarint(&r, &s) == 0 && s == (int64_t)v);
	} else {
		FUZZ_ASSERT(lb_get_uvarint(&r, &u) == 0 && u == v);
	}
	FUZZ_ASSERT(lb_reader_left(&r) == 0);
	lb_buf_release(&b);
}

static void reader(const uint8_t *data, size_t size)
{
	struct lb_reader r;

	lb_reader_init(&r, data, size);
	for (;;) {
		const uint8_t *p = NULL;
		uint8_t op, u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		int64_t s64;
		size_t before, n = 0;
		int e;

		if (lb_get_u8(&r, &op) < 0)
			break;
		before = r.off;
		switch (op & 7) {
		case 0: e = lb_get_u8(&r, &u8); break;
		case 1: e = lb_get_le16(&r, &u16); break;
		case 2: e = lb_get_le32(&r, &u32); break;
		case 3: e = lb_get_le64(&r, &u64); break;
		case 4:
			e = lb_get_uvarint(&r, &u64);
			if (e == 0)
				varint_roundtrip(u64, r.off - before, 0);
			break;
		case 5:
			e = lb_get_svarint(&r, &s64);
			if (e == 0)
				varint_roundtrip((uint64_t)s64, r.off - before, 1);
			break;
		case 6:
			e = lb_get_raw(&r, op >> 3, &p);
			n = op >> 3;
			break;
		default:
			/* limits 0..31 and a few large ones */
			n = op >> 3;
			e = lb_get_bytes(&r, n == 31 ? SIZE_MAX : n * n, &p, &n);
			if (e == 0)
				FUZZ_ASSERT((op >> 3) == 31 || n <= (size_t)(op >> 3) * (op >> 3));
			break;
		}
		FUZZ_ASSERT(r.off <= r.len);
		if (e < 0) {
			FUZZ_ASSERT(e == -LB_E_CORRUPT);
			break;
		}
		FUZZ_ASSERT(r.off > before || (op & 7) >= 6);
		if (p) {
			FUZZ_ASSERT(p >= data && p + n <= data + size);
			FUZZ_ASSERT(p + n == data + r.off);
		}
	}
}

static void hex(const uint8_t *data, size_t size)
{
	/* lb_unhex reads a C string; ids come from file names and JSON */
	char *s = malloc(size + 1);
	uint8_t out[64];
	char back[129];

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = 0;
	for (size_t n = 0; n <= 64; n += 16) {
		if (lb_unhex(out, n, s) == 0) {
			FUZZ_ASSERT(strlen(s) == 2 * n);
			lb_hex(back, out, n);
			FUZZ_ASSERT(strncasecmp(back, s, 2 * n) == 0);
		}
	}
	free(s);
}

static void time_parse(const uint8_t *data, size_t size)
{
	char s[128], back[64];
	int64_t sec;
	long ns;

	if (size >= sizeof s)
		return;
	memcpy(s, data, size);
	s[size] = 0;
	if (lb_time_parse(s, &sec, &ns) < 0)
		return;
	FUZZ_ASSERT(ns >= 0 && ns < 1000000000L);
	lb_time_format(back, sizeof back, sec, ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reader(data, size);
	hex(data, size);
	time_parse(data, size);
	return 0;
}
