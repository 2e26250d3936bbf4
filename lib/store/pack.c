#include <errno.h>
#include <string.h>

#include "store/pack.h"
#include "util/util.h"

static int valid_type(uint8_t t)
{
	return t == LB_BLOB_DATA || t == LB_BLOB_TREE;
}

static int check_entry(const struct lb_toc_entry *e)
{
	if (!valid_type(e->type))
		return lb_err(-LB_E_CORRUPT, "unknown blob type %u", e->type);
	if (e->flags & ~LB_BLOB_FLAG_ZSTD)
		return lb_err(-LB_E_CORRUPT, "unknown blob flags 0x%02x", e->flags);
	if (e->raw_len > LB_BLOB_MAX)
		return lb_err(-LB_E_CORRUPT, "blob of %u bytes exceeds the limit", e->raw_len);
	if ((e->flags & LB_BLOB_FLAG_ZSTD) ? e->stored_len >= e->raw_len || e->stored_len == 0
					     : e->stored_len != e->raw_len)
		return lb_err(-LB_E_CORRUPT, "blob lengths inconsistent (stored %u, raw %u, flags 0x%02x)",
			      e->stored_len, e->raw_len, e->flags);
	return 0;
}

void lb_toc_entry_encode(uint8_t out[LB_TOC_ENTRY_LEN], const struct lb_toc_entry *e)
{
	out[0] = e->type;
	out[1] = e->flags;
	out[2] = out[3] = 0;
	lb_le32_put(out + 4, e->offset);
	lb_le32_put(out + 8, e->stored_len);
	lb_le32_put(out + 12, e->raw_len);
	memcpy(out + 16, e->id, LB_ID_LEN);
}

int lb_toc_entry_decode(const uint8_t in[LB_TOC_ENTRY_LEN], struct lb_toc_entry *e)
{
	e->type = in[0];
	e->flags = in[1];
	if (in[2] || in[3])
		return lb_err(-LB_E_CORRUPT, "reserved bytes of a table entry are set");
	e->offset = lb_le32_get(in + 4);
	e->stored_len = lb_le32_get(in + 8);
	e->raw_len = lb_le32_get(in + 12);
	memcpy(e->id, in + 16, LB_ID_LEN);
	return check_entry(e);
}

void lb_blob_header_encode(uint8_t out[LB_BLOB_HEADER_LEN], const struct lb_toc_entry *e)
{
	out[0] = e->type;
	out[1] = e->flags;
	out[2] = out[3] = 0;
	lb_le32_put(out + 4, e->stored_len);
	lb_le32_put(out + 8, e->raw_len);
	memcpy(out + 12, e->id, LB_ID_LEN);
}

int lb_blob_header_decode(const uint8_t in[LB_BLOB_HEADER_LEN], struct lb_toc_entry *e)
{
	e->type = in[0];
	e->flags = in[1];
	if (in[2] || in[3])
		return lb_err(-LB_E_CORRUPT, "reserved bytes of a blob header are set");
	e->stored_len = lb_le32_get(in + 4);
	e->raw_len = lb_le32_get(in + 8);
	memcpy(e->id, in + 12, LB_ID_LEN);
	return check_entry(e);
}

void lb_pack_header_encode(uint8_t out[LB_PACK_HEADER_LEN], const uint8_t salt[LB_SALT_LEN])
{
	memcpy(out, LB_PACK_MAGIC, 4);
	out[4] = LB_PACK_VERSION;
	out[5] = out[6] = out[7] = 0;
	memcpy(out + 8, salt, LB_SALT_LEN);
}

int lb_pack_header_decode(const uint8_t in[LB_PACK_HEADER_LEN], uint8_t salt[LB_SALT_LEN])
{
	if (memcmp(in, LB_PACK_MAGIC, 4) != 0)
		return lb_err(-LB_E_CORRUPT, "not a lifeboat pack (bad magic)");
	if (in[4] > LB_PACK_VERSION)
		return lb_err(-LB_E_VERSION, "pack format version %u is newer than this lifeboat supports (%u)",
			      in[4], LB_PACK_VERSION);
	if (in[4] == 0 || in[5] || in[6] || in[7])
		return lb_err(-LB_E_CORRUPT, "pack header damaged");
	memcpy(salt, in + 8, LB_SALT_LEN);
	return 0;
}

int lb_toc_validate(const struct lb_toc_entry *e, uint32_t count, uint64_t blob_area_end)
{
	uint64_t pos = LB_PACK_HEADER_LEN;

	/* blobs are written back to back: any gap or overlap is damage */
	for (uint32_t i = 0; i < count; i++) {
		if (e[i].offset != pos)
			return lb_err(-LB_E_CORRUPT, "table entry %u: offset %u, expected %llu (blobs must be contiguous)",
				      i, e[i].offset, (unsigned long long)pos);
		pos += LB_BLOB_HEADER_LEN + (uint64_t)e[i].stored_len + LB_TAG_LEN;
		if (pos > blob_area_end)
			return lb_err(-LB_E_CORRUPT, "table entry %u runs past the blob area", i);
	}
	if (pos != blob_area_end)
		return lb_err(-LB_E_CORRUPT, "%llu stray bytes between the last blob and the table of contents",
			      (unsigned long long)(blob_area_end - pos));
	return 0;
}
