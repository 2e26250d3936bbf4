/* Fuzzes the fixed-size pack structures (store/pack.h): the pack header,
 * blob headers, table-of-contents entries, and lb_toc_validate over a
 * whole decoded table.
 *
 * Input: one selector byte, then the bytes for that decoder.
 *   0  pack header (24 bytes)
 *   1  blob header (44 bytes)
 *   2  table entry (48 bytes)
 *   3  u64 blob_area_end, then count x 48-byte table entries
 *
 * Invariants: anything accepted re-encodes to the same bytes; an accepted
 * entry has a known type and consistent lengths; a table that validates
 * describes records laid back to back from the end of the pack header to
 * blob_area_end (docs/FORMAT.md 8.6). */
#include <string.h>

#include "store/pack.h"
#include "store/index.h"
#include "util/util.h"
#include "fuzz.h"

static void check_entry(const struct lb_toc_entry *e)
{
	FUZZ_ASSERT(e->type == LB_BLOB_DATA || e->type == LB_BLOB_TREE);
	FUZZ_ASSERT((e->flags & ~LB_BLOB_FLAG_ZSTD) == 0);
	FUZZ_ASSERT(e->raw_len <= LB_BLOB_MAX);
	if (e->flags & LB_BLOB_FLAG_ZSTD)
		FUZZ_ASSERT(e->stored_len > 0 && e->stored_len < e->raw_len);
	else
		FUZZ_ASSERT(e->stored_len == e->raw_len);
}

static void pack_header(const uint8_t *p, size_t n)
{
	uint8_t in[LB_PACK_HEADER_LEN] = { 0 }, salt[LB_SALT_LEN], out[LB_PACK_HEADER_LEN];

	memcpy(in, p, LB_MIN(n, sizeof in));
	if (lb_pack_header_decode(in, salt) < 0)
		return;
	lb_pack_header_encode(out, salt);
	FUZZ_ASSERT(memcmp(in, out, sizeof in) == 0);
}

static void blob_header(const uint8_t *p, size_t n)
{
	uint8_t in[LB_BLOB_HEADER_LEN] = { 0 }, out[LB_BLOB_HEADER_LEN];
	struct lb_toc_entry e;

	memcpy(in, p, LB_MIN(n, sizeof in));
	if (lb_blob_header_decode(in, &e) < 0)
		return;
	check_entry(&e);
	lb_blob_header_encode(out, &e);
	FUZZ_ASSERT(memcmp(in, out, sizeof in) == 0);
}

static void toc_entry(const uint8_t *p, size_t n)
{
	uint8_t in[LB_TOC_ENTRY_LEN] = { 0 }, out[LB_TOC_ENTRY_LEN];
	struct lb_toc_entry e;

	memcpy(in, p, LB_MIN(n, sizeof in));
	if (lb_toc_entry_decode(in, &e) < 0)
		return;
	check_entry(&e);
	lb_toc_entry_encode(out, &e);
	FUZZ_ASSERT(memcmp(in, out, sizeof in) == 0);
}

/* What lb_repo_read_pack_toc does once the trailer is authenticated. */
static void toc(const uint8_t *p, size_t n)
{
	struct lb_toc_entry *ents;
	uint64_t end, pos = LB_PACK_HEADER_LEN;
	uint32_t count;

	if (n < 8)
		return;
	end = lb_le64_get(p);
	p += 8;
	n -= 8;
	count = (uint32_t)(n / LB_TOC_ENTRY_LEN);
	ents = calloc(count ? count : 1, sizeof *ents);
	if (!ents)
		return;
	for (uint32_t i = 0; i < count; i++)
		if (lb_toc_entry_decode(p + (size_t)i * LB_TOC_ENTRY_LEN, &ents[i]) < 0)
			goto out;
	if (lb_toc_validate(ents, count, end) < 0)
		goto out;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t rec_end = (uint64_t)ents[i].offset + LB_BLOB_HEADER_LEN + ents[i].stored_len + LB_TAG_LEN;

		check_entry(&ents[i]);
		FUZZ_ASSERT(ents[i].offset == pos); /* contiguous, in table order */
		FUZZ_ASSERT(rec_end <= end);
		pos = rec_end;
	}
	FUZZ_ASSERT(pos == end); /* the last record ends where the trailer starts */
out:
	free(ents);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0: pack_header(data + 1, size - 1); break;
	case 1: blob_header(data + 1, size - 1); break;
	case 2: toc_entry(data + 1, size - 1); break;
	case 3: toc(data + 1, size - 1); break;
	}
	return 0;
}
