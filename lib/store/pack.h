/* lifeboat — pack file format (see docs/FORMAT.md, "Packs").
 *
 *   header   "LBPK" u8 version u8[3] zero, salt[16]                 24 bytes
 *   blob     type u8, flags u8, u16 zero, stored u32, raw u32, id[32]  44 bytes
 *            sealed payload: stored bytes + 16-byte tag
 *   ...
 *   trailer  sealed table of contents: count x 48-byte entries + tag
 *   footer   trailer length u32, count u32, "LBPE"                   12 bytes
 *
 * Pack key = HKDF(enc key, salt, "lifeboat pack v1").  Blob nonce =
 * (domain 0, offset of its header); trailer nonce = (domain 1, 0).  Each
 * blob's header is its AAD; the trailer's AAD is the pack header followed
 * by the count.  Offsets are unique within a pack, so no nonce repeats. */
#ifndef LB_PACK_H
#define LB_PACK_H

#include <stdint.h>
#include <stddef.h>

#include "crypto/crypto.h"
#include "store/index.h"

#define LB_PACK_MAGIC "LBPK"
#define LB_PACK_END_MAGIC "LBPE"
#define LB_PACK_VERSION 1
#define LB_PACK_HEADER_LEN 24
#define LB_BLOB_HEADER_LEN 44
#define LB_TOC_ENTRY_LEN 48
#define LB_PACK_FOOTER_LEN 12
#define LB_PACK_INFO "lifeboat pack v1"
#define LB_NONCE_DOMAIN_BLOB 0u
#define LB_NONCE_DOMAIN_TRAILER 1u
#define LB_BLOB_FLAG_ZSTD 0x01
#define LB_BLOB_MAX (64u << 20)          /* largest blob (a huge directory's tree) */
#define LB_PACK_MAX_BYTES 0xF0000000u    /* offsets are u32 */
#define LB_PACK_MAX_BLOBS (1u << 24)

/* One table-of-contents entry, as in trailers and index files. */
struct lb_toc_entry {
	uint8_t id[LB_ID_LEN];
	uint8_t type;
	uint8_t flags;
	uint32_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
};

void lb_toc_entry_encode(uint8_t out[LB_TOC_ENTRY_LEN], const struct lb_toc_entry *e);
/* Decodes and validates type and flags/length consistency. */
int lb_toc_entry_decode(const uint8_t in[LB_TOC_ENTRY_LEN], struct lb_toc_entry *e);

void lb_blob_header_encode(uint8_t out[LB_BLOB_HEADER_LEN], const struct lb_toc_entry *e);
int lb_blob_header_decode(const uint8_t in[LB_BLOB_HEADER_LEN], struct lb_toc_entry *e);

/* Parses a pack header; returns the salt. */
int lb_pack_header_decode(const uint8_t in[LB_PACK_HEADER_LEN], uint8_t salt[LB_SALT_LEN]);
void lb_pack_header_encode(uint8_t out[LB_PACK_HEADER_LEN], const uint8_t salt[LB_SALT_LEN]);

/* Validates a decrypted table of contents against the pack's size: the
 * blobs are contiguous from the header to the trailer, in table order. */
int lb_toc_validate(const struct lb_toc_entry *e, uint32_t count, uint64_t blob_area_end);

#endif
