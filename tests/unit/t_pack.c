/* Unit tests for lib/store/pack.c: pack header, blob header and
 * table-of-contents codecs and their validation. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "store/pack.h"
#include "util/util.h"

static struct lb_toc_entry mk(uint8_t type, uint8_t flags, uint32_t off, uint32_t stored, uint32_t raw)
{
	struct lb_toc_entry e;

	memset(&e, 0, sizeof e);
	for (int i = 0; i < 32; i++)
		e.id[i] = (uint8_t)(0xa0 + i);
	e.type = type;
	e.flags = flags;
	e.offset = off;
	e.stored_len = stored;
	e.raw_len = raw;
	return e;
}

static int entry_eq(const struct lb_toc_entry *a, const struct lb_toc_entry *b, int with_offset)
{
	return !memcmp(a->id, b->id, 32) && a->type == b->type && a->flags == b->flags &&
	       (!with_offset || a->offset == b->offset) && a->stored_len == b->stored_len && a->raw_len == b->raw_len;
}

static void test_toc_entry(void)
{
	uint8_t buf[LB_TOC_ENTRY_LEN];
	struct lb_toc_entry e = mk(LB_BLOB_DATA, LB_BLOB_FLAG_ZSTD, 0x01020304, 0x100, 0x2000), d;

	lb_toc_entry_encode(buf, &e);
	ok(buf[0] == LB_BLOB_DATA && buf[1] == LB_BLOB_FLAG_ZSTD && buf[2] == 0 && buf[3] == 0, "type, flags, zero, zero");
	ok(lb_le32_get(buf + 4) == 0x01020304 && lb_le32_get(buf + 8) == 0x100 && lb_le32_get(buf + 12) == 0x2000,
	   "offset, stored, raw as le32 at 4, 8, 12");
	ok(!memcmp(buf + 16, e.id, 32), "id at 16");
	memset(&d, 0xee, sizeof d);
	ok(lb_toc_entry_decode(buf, &d) == 0 && entry_eq(&d, &e, 1), "decode round-trips");

	e = mk(LB_BLOB_TREE, 0, 24, 777, 777);
	lb_toc_entry_encode(buf, &e);
	ok(lb_toc_entry_decode(buf, &d) == 0 && entry_eq(&d, &e, 1), "a raw tree entry round-trips");
	e = mk(LB_BLOB_DATA, 0, 24, 0, 0);
	lb_toc_entry_encode(buf, &e);
	ok(lb_toc_entry_decode(buf, &d) == 0 && entry_eq(&d, &e, 1), "an empty raw blob is valid");
	e = mk(LB_BLOB_DATA, 0, 24, LB_BLOB_MAX, LB_BLOB_MAX);
	lb_toc_entry_encode(buf, &e);
	is(lb_toc_entry_decode(buf, &d), 0, "a blob of exactly LB_BLOB_MAX is valid");
	e = mk(LB_BLOB_DATA, LB_BLOB_FLAG_ZSTD, 24, 1, 2);
	lb_toc_entry_encode(buf, &e);
	is(lb_toc_entry_decode(buf, &d), 0, "zstd with stored < raw is valid");

	/* rejections */
	{
		static const struct { uint8_t type, flags; uint32_t stored, raw; const char *what; } bad[] = {
			{ 0, 0, 10, 10, "type 0" },
			{ 3, 0, 10, 10, "type 3" },
			{ 255, 0, 10, 10, "type 255" },
			{ LB_BLOB_DATA, 0x02, 10, 10, "flag 0x02" },
			{ LB_BLOB_DATA, 0x80, 10, 10, "flag 0x80" },
			{ LB_BLOB_DATA, 0x03, 5, 10, "zstd plus an unknown flag" },
			{ LB_BLOB_DATA, 0, 9, 10, "raw with stored < raw" },
			{ LB_BLOB_DATA, 0, 11, 10, "raw with stored > raw" },
			{ LB_BLOB_DATA, LB_BLOB_FLAG_ZSTD, 10, 10, "zstd with stored == raw" },
			{ LB_BLOB_DATA, LB_BLOB_FLAG_ZSTD, 11, 10, "zstd with stored > raw" },
			{ LB_BLOB_DATA, LB_BLOB_FLAG_ZSTD, 0, 10, "zstd with stored 0" },
			{ LB_BLOB_DATA, LB_BLOB_FLAG_ZSTD, 0, 0, "zstd of an empty blob" },
			{ LB_BLOB_DATA, 0, LB_BLOB_MAX + 1, LB_BLOB_MAX + 1, "raw_len over LB_BLOB_MAX" },
			{ LB_BLOB_TREE, LB_BLOB_FLAG_ZSTD, 100, UINT32_MAX, "zstd raw_len UINT32_MAX" },
		};

		for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
			e = mk(bad[i].type, bad[i].flags, 24, bad[i].stored, bad[i].raw);
			lb_toc_entry_encode(buf, &e);
			is(lb_toc_entry_decode(buf, &d), -LB_E_CORRUPT, "TOC entry rejects %s", bad[i].what);
		}
	}
	e = mk(LB_BLOB_DATA, 0, 24, 10, 10);
	lb_toc_entry_encode(buf, &e);
	buf[2] = 1;
	is(lb_toc_entry_decode(buf, &d), -LB_E_CORRUPT, "TOC entry rejects reserved byte 2 set");
	buf[2] = 0;
	buf[3] = 0x80;
	is(lb_toc_entry_decode(buf, &d), -LB_E_CORRUPT, "TOC entry rejects reserved byte 3 set");
}

static void test_blob_header(void)
{
	uint8_t buf[LB_BLOB_HEADER_LEN];
	struct lb_toc_entry e = mk(LB_BLOB_TREE, LB_BLOB_FLAG_ZSTD, 999, 0x1234, 0x56789), d;

	lb_blob_header_encode(buf, &e);
	ok(buf[0] == LB_BLOB_TREE && buf[1] == LB_BLOB_FLAG_ZSTD && !buf[2] && !buf[3], "type, flags, zero, zero");
	ok(lb_le32_get(buf + 4) == 0x1234 && lb_le32_get(buf + 8) == 0x56789, "stored and raw as le32 at 4 and 8");
	ok(!memcmp(buf + 12, e.id, 32), "id at 12: 44 bytes in all");
	memset(&d, 0, sizeof d);
	ok(lb_blob_header_decode(buf, &d) == 0 && entry_eq(&d, &e, 0), "decode round-trips (no offset in a header)");

	buf[0] = 7;
	is(lb_blob_header_decode(buf, &d), -LB_E_CORRUPT, "blob header rejects type 7");
	buf[0] = LB_BLOB_TREE;
	buf[1] = 0x41;
	is(lb_blob_header_decode(buf, &d), -LB_E_CORRUPT, "blob header rejects unknown flags");
	buf[1] = LB_BLOB_FLAG_ZSTD;
	buf[3] = 1;
	is(lb_blob_header_decode(buf, &d), -LB_E_CORRUPT, "blob header rejects reserved bytes");
	buf[3] = 0;
	lb_le32_put(buf + 4, 0x56789);
	is(lb_blob_header_decode(buf, &d), -LB_E_CORRUPT, "blob header rejects zstd with stored == raw");
	buf[1] = 0;
	is(lb_blob_header_decode(buf, &d), 0, "...which is fine without the zstd flag");
	lb_le32_put(buf + 4, 0x56788);
	is(lb_blob_header_decode(buf, &d), -LB_E_CORRUPT, "blob header rejects raw with stored != raw");
}

static void test_pack_header(void)
{
	uint8_t buf[LB_PACK_HEADER_LEN], salt[16], back[16];

	for (int i = 0; i < 16; i++)
		salt[i] = (uint8_t)(i * 17);
	lb_pack_header_encode(buf, salt);
	ok(!memcmp(buf, "LBPK", 4) && buf[4] == LB_PACK_VERSION && !buf[5] && !buf[6] && !buf[7],
	   "header: magic, version, three zeros");
	ok(!memcmp(buf + 8, salt, 16), "salt at 8");
	ok(lb_pack_header_decode(buf, back) == 0 && !memcmp(back, salt, 16), "decode gives the salt");

	buf[0] = 'X';
	is(lb_pack_header_decode(buf, back), -LB_E_CORRUPT, "bad magic: -LB_E_CORRUPT");
	buf[0] = 'L';
	buf[4] = LB_PACK_VERSION + 1;
	is(lb_pack_header_decode(buf, back), -LB_E_VERSION, "a newer version: -LB_E_VERSION");
	ok(strstr(lb_errmsg(), "newer") != NULL, "...saying so: %s", lb_errmsg());
	buf[4] = 255;
	is(lb_pack_header_decode(buf, back), -LB_E_VERSION, "version 255: -LB_E_VERSION");
	buf[4] = 0;
	is(lb_pack_header_decode(buf, back), -LB_E_CORRUPT, "version 0: -LB_E_CORRUPT");
	buf[4] = LB_PACK_VERSION;
	buf[6] = 1;
	is(lb_pack_header_decode(buf, back), -LB_E_CORRUPT, "reserved byte set: -LB_E_CORRUPT");
}

static uint32_t rec_end(const struct lb_toc_entry *e)
{
	return e->offset + LB_BLOB_HEADER_LEN + e->stored_len + LB_TAG_LEN;
}

static void test_toc_validate(void)
{
	struct lb_toc_entry t[4];
	uint64_t area;

	/* pack.h: the blobs are contiguous from the header to the trailer */
	t[0] = mk(LB_BLOB_DATA, 0, LB_PACK_HEADER_LEN, 100, 100);
	t[1] = mk(LB_BLOB_DATA, LB_BLOB_FLAG_ZSTD, rec_end(&t[0]), 50, 500);
	t[2] = mk(LB_BLOB_TREE, 0, rec_end(&t[1]), 0, 0);
	t[3] = mk(LB_BLOB_DATA, 0, rec_end(&t[2]), 7, 7);
	area = rec_end(&t[3]);
	is(lb_toc_validate(t, 4, area), 0, "back-to-back entries from the header to the trailer");
	is(lb_toc_validate(t, 0, LB_PACK_HEADER_LEN), 0, "an empty table with an empty blob area is valid");
	is(lb_toc_validate(t, 0, LB_PACK_HEADER_LEN + 1), -LB_E_CORRUPT, "an empty table with stray blob bytes: corrupt");
	is(lb_toc_validate(t, 4, area - 1), -LB_E_CORRUPT, "last entry one byte past the area: corrupt");
	is(lb_toc_validate(t, 4, area + 1), -LB_E_CORRUPT, "a stray byte between the last blob and the trailer: corrupt");
	is(lb_toc_validate(t, 3, area), -LB_E_CORRUPT, "a blob the table does not list: corrupt");

	t[3].offset += 10;
	is(lb_toc_validate(t, 4, area + 10), -LB_E_CORRUPT, "a gap between blobs: corrupt");
	t[3].offset -= 10;

	t[0].offset = LB_PACK_HEADER_LEN - 1;
	is(lb_toc_validate(t, 4, area), -LB_E_CORRUPT, "an entry inside the pack header: corrupt");
	t[0].offset = 0;
	is(lb_toc_validate(t, 4, area), -LB_E_CORRUPT, "an entry at offset 0: corrupt");
	t[0].offset = LB_PACK_HEADER_LEN + 1;
	is(lb_toc_validate(t, 1, rec_end(&t[0])), -LB_E_CORRUPT, "a first entry after the header: corrupt");
	t[0].offset = LB_PACK_HEADER_LEN;

	t[1].offset -= 1;
	is(lb_toc_validate(t, 4, area), -LB_E_CORRUPT, "overlapping by one byte: corrupt");
	t[1].offset += 1;

	{
		struct lb_toc_entry s[2] = { t[1], t[0] };

		is(lb_toc_validate(s, 2, area), -LB_E_CORRUPT, "entries out of order: corrupt");
	}
	{
		struct lb_toc_entry s[2] = { t[0], t[0] };

		is(lb_toc_validate(s, 2, area), -LB_E_CORRUPT, "the same entry twice: corrupt");
	}
	{
		struct lb_toc_entry s[2] = { mk(LB_BLOB_DATA, 0, LB_PACK_HEADER_LEN, 0xFFFFFFF0u, 0xFFFFFFF0u),
					     mk(LB_BLOB_DATA, 0, 0x4u, 1, 1) };

		/* 24 + 44 + 0xFFFFFFF0 + 16 wraps to 0x4 in 32 bits */
		is(lb_toc_validate(s, 2, 0x100000000ull + 100), -LB_E_CORRUPT, "lengths that wrap 32 bits: corrupt");
	}
	is(lb_toc_validate(t, 1, LB_PACK_HEADER_LEN), -LB_E_CORRUPT, "an entry with no blob area: corrupt");
}

int main(void)
{
	ok(LB_BLOB_HEADER_LEN == 44 && LB_TOC_ENTRY_LEN == 48 && LB_PACK_HEADER_LEN == 24 && LB_PACK_FOOTER_LEN == 12,
	   "format constants: 44-byte blob header, 48-byte entry, 24-byte header, 12-byte footer");
	test_toc_entry();
	test_blob_header();
	test_pack_header();
	test_toc_validate();
	return done_testing();
}
