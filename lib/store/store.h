/* lifeboat — the repository internals shared by store/ and snap/. */
#ifndef LB_STORE_H
#define LB_STORE_H

#include <pthread.h>
#include <stdbool.h>

#include "lifeboat/repo.h"
#include "crypto/crypto.h"
#include "store/backend.h"
#include "store/chunker.h"
#include "store/compress.h"
#include "store/index.h"
#include "store/pack.h"
#include "util/util.h"
#include "lifeboat/util.h"

#define LB_CONFIG_MAX (64u << 10)
#define LB_KEYFILE_MAX (64u << 10)
#define LB_INDEX_FILE_MAX (1u << 30)
#define LB_SNAPSHOT_MAX (64u << 20)

/* Sealed whole-object envelope (index files, snapshots, verdicts). */
#define LB_ENVELOPE_HEADER_LEN 24
#define LB_MAGIC_INDEX "LBIX"
#define LB_MAGIC_SNAPSHOT "LBSN"
#define LB_MAGIC_VERDICT "LBVD"
#define LB_MAGIC_LOCK "LBLK"          /* run markers and the prune plan in locks/ */
#define LB_ENVELOPE_VERSION 1

#define LB_DEFAULT_CHUNK_MIN (16u << 10)
#define LB_DEFAULT_CHUNK_AVG (64u << 10)
#define LB_DEFAULT_CHUNK_MAX (256u << 10)
#define LB_DEFAULT_PACK_SIZE (16u << 20)
#define LB_DEFAULT_ZSTD_LEVEL 2 /* as fast as 1 on text, within 1% of 3 (docs/PERFORMANCE.md) */
#define LB_DEFAULT_SCRYPT_N (1u << 15)
#define LB_PACK_SIZE_MIN (64u << 10)
#define LB_PACK_SIZE_MAX (1u << 30)
#define LB_ZSTD_LEVEL_MIN (-7)
#define LB_ZSTD_LEVEL_MAX 22

struct lb_repo_config {
	int version;
	uint8_t id[LB_ID_LEN];
	enum lb_enc enc;
	uint32_t chunk_min, chunk_avg, chunk_max;
	uint32_t pack_size;
	int zstd_level;
};

/* One pack's table of contents, as index files list it. */
struct lb_index_pack {
	uint8_t id[LB_ID_LEN];
	struct lb_toc_entry *entries;
	uint32_t count;
};

struct lb_pack_key {
	uint8_t key[LB_KEY_LEN];
	bool have;
};

struct lb_repo {
	struct lb_backend *be;
	struct lb_repo_config cfg;
	struct lb_keys keys;
	struct lb_idhash *idh;     /* keyed blob ids */
	struct lb_chunker chunker;
	char key_name[65];

	pthread_mutex_t lock;      /* guards idx, pkeys */
	struct lb_index *idx;
	struct lb_pack_key *pkeys; /* by pack number: derived pack keys */
	size_t npkeys;
	bool index_loaded;
	struct lb_index_pack *orphans; /* adopted packs no index file lists yet */
	size_t norphans;
	struct lb_index *cidx;     /* blobs in packs a prune plan condemned: still
				    * readable, never deduplicated against */
	struct lb_marker *marker;  /* announces this run while the index is loaded */
};

/* True when a prune plan condemned the pack (index loaded). */
bool lb_repo_pack_condemned(struct lb_repo *r, const uint8_t pack_id[LB_ID_LEN]);

/* Parses the plain JSON config (fuzzed; see tests/fuzz). */
int lb_config_parse(const uint8_t *data, size_t n, struct lb_repo_config *c);
/* Parses a key file without trying to open it (fuzzed). */
int lb_keyfile_check(const uint8_t *buf, size_t len);

/* Keyed id of a blob's plaintext. */
int lb_repo_blob_id(struct lb_repo *r, const void *data, size_t n, uint8_t id[LB_ID_LEN]);

/* Reads, authenticates, decompresses and verifies one blob.  `type` is the
 * expected blob type (0 for any).  Errors name the pack and the blob. */
int lb_repo_read_blob(struct lb_repo *r, const uint8_t id[LB_ID_LEN], int type, struct lb_buf *out);
/* The pack-table entry of an indexed blob (its location, compressed or not). */
void lb_blob_loc_to_toc(const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc, struct lb_toc_entry *te);
/* The same for a blob whose location is already known. */
int lb_repo_read_blob_at(struct lb_repo *r, const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e,
			 struct lb_buf *out);
/* Decrypts a blob record (header + sealed payload) read from a pack. */
int lb_repo_open_blob_record(struct lb_repo *r, const uint8_t pack_key[LB_KEY_LEN], uint32_t offset,
			     const uint8_t *rec, size_t reclen, const struct lb_toc_entry *expect,
			     struct lb_buf *out);
/* The same with an AEAD the caller keeps for the whole pack (one key
 * schedule per pack, not per blob). */
int lb_repo_open_blob_with(struct lb_repo *r, struct lb_aead *a, uint32_t offset, const uint8_t *rec,
			   size_t reclen, const struct lb_toc_entry *expect, struct lb_buf *out);
int lb_repo_pack_key(struct lb_repo *r, const uint8_t salt[LB_SALT_LEN], uint8_t key[LB_KEY_LEN]);
/* The key (cached) and hex name of pack number num of the loaded index. */
int lb_repo_pack_key_num(struct lb_repo *r, uint32_t num, uint8_t key[LB_KEY_LEN], char name[65]);

/* Reads and authenticates a pack's table of contents.  *entries is
 * malloc'd; *salt receives the pack salt. */
int lb_repo_read_pack_toc(struct lb_repo *r, const char *pack_name, struct lb_toc_entry **entries,
			  uint32_t *count, uint8_t salt[LB_SALT_LEN], uint64_t *size);

/* Seals plaintext into an envelope with the given magic and HKDF label. */
int lb_repo_seal_object(struct lb_repo *r, const char magic[4], const char *info, const void *in,
			size_t n, struct lb_buf *out);
int lb_repo_open_object(struct lb_repo *r, const char magic[4], const char *info, const uint8_t *in,
			size_t n, struct lb_buf *out);
/* Store / fetch sealed objects; the name of a content object is its keyed id. */
int lb_repo_put_sealed(struct lb_repo *r, enum lb_kind k, const char *name, const void *plain, size_t n);
int lb_repo_get_sealed(struct lb_repo *r, enum lb_kind k, const char *name, struct lb_buf *out);

/* Index file payload codec (struct lb_index_pack above). */
int lb_index_file_encode(const struct lb_index_pack *packs, size_t npacks, struct lb_buf *out);
typedef int (*lb_index_file_fn)(const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e,
				uint32_t count, void *ctx);
int lb_index_file_decode(const uint8_t *p, size_t n, lb_index_file_fn fn, void *ctx);
/* Adds a pack's entries to the in-memory index (locks r->lock). */
int lb_repo_index_add_pack(struct lb_repo *r, const uint8_t pack_id[LB_ID_LEN],
			   const struct lb_toc_entry *e, uint32_t count);
/* Writes an index file for packs (nothing when npacks is 0); its name
 * goes to name_out when not NULL. */
int lb_repo_write_index(struct lb_repo *r, const struct lb_index_pack *packs, size_t npacks, char name_out[65]);

#endif
