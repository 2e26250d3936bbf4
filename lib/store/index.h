/* lifeboat — the in-memory blob index: blob id -> (pack, offset, lengths).
 *
 * 48 bytes per blob: committed entries live in one array sorted by id with
 * a 64 Ki-bucket directory on the first two id bytes; blobs added during a
 * run go to a small hash table until the next compaction.  Not thread-safe:
 * callers hold their own lock. */
#ifndef LB_INDEX_H
#define LB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

enum lb_blob_type {
	LB_BLOB_DATA = 1,
	LB_BLOB_TREE = 2,
};

#define LB_PACK_PENDING 0x0FFFFFFFu /* blob queued in this process, not yet in a pack */
#define LB_PACK_NUM_MAX 0x0FFFFFFEu

struct lb_blob_loc {
	uint32_t pack;       /* pack number in this index's pack table */
	uint32_t offset;     /* of the blob header within the pack */
	uint32_t stored_len; /* ciphertext length (no header, no tag) */
	uint32_t raw_len;    /* plaintext length */
	uint8_t type;        /* enum lb_blob_type */
};

struct lb_index;

int lb_index_new(struct lb_index **ret);
void lb_index_free(struct lb_index *idx);

/* Pack table: pack id <-> small number.  Adding an id already present
 * returns its number. */
int lb_index_pack_add(struct lb_index *idx, const uint8_t id[LB_ID_LEN], uint32_t *num);
int lb_index_pack_find(const struct lb_index *idx, const uint8_t id[LB_ID_LEN], uint32_t *num);
const uint8_t *lb_index_pack_id(const struct lb_index *idx, uint32_t num);
uint32_t lb_index_npacks(const struct lb_index *idx);

/* Adds a blob.  An existing committed location wins over a new one; a
 * pending placeholder is replaced by a real location. */
int lb_index_add(struct lb_index *idx, const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc);
/* Appends without lookups (loading index files); call lb_index_compact()
 * before the next lookup. */
int lb_index_bulk_add(struct lb_index *idx, const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc);
/* Makes room for n more entries in one allocation (before a bulk load,
 * so loading never holds two copies of a large array). */
int lb_index_reserve(struct lb_index *idx, size_t n);
/* 1 and *loc filled when found, 0 when not. */
int lb_index_lookup(const struct lb_index *idx, const uint8_t id[LB_ID_LEN], struct lb_blob_loc *loc);
/* Removes the pending placeholders a writer added (loc.offset holds the
 * writer's tag while pack is LB_PACK_PENDING): a writer that stops
 * without committing must not leave ids that claim to be stored. */
int lb_index_drop_pending(struct lb_index *idx, uint32_t owner);
/* Sorts, drops duplicates, folds the hash table into the sorted array. */
int lb_index_compact(struct lb_index *idx);
size_t lb_index_count(const struct lb_index *idx);
/* Bytes held, for the memory figures in docs/PERFORMANCE.md. */
size_t lb_index_memory(const struct lb_index *idx);

typedef int (*lb_index_fn)(const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc, void *ctx);
int lb_index_foreach(const struct lb_index *idx, lb_index_fn fn, void *ctx);

#endif
