/* Fuzzes whole pack files through a real repository: the input is written
 * to packs/ab/<id> and read the ways lifeboat reads packs, with
 * lb_repo_read_pack_toc (footer, trailer authentication, entry decoding,
 * lb_toc_validate), lb_repo_open_blob_record on every listed record (what
 * `check --read-data` does), and lb_repo_read_blob / lb_repo_read_blob_at
 * through the in-memory index and the backend (what restore does); tree
 * blobs that come out are handed to lb_tree_decode.
 *
 * Input: one flag byte, then the pack.
 *   bit 0  the encrypted repository (else the unencrypted, HMAC-only one)
 *   bit 1  the pack is plaintext: before it is stored, blob ids are set to
 *          the keyed hash of their content and every blob and the trailer
 *          are sealed with the repository's keys, so the code behind
 *          authentication sees fuzzed lengths, offsets and zstd frames
 *
 * Invariants: errors come back as negative codes with nothing leaked; an
 * accepted table of contents lists records back to back from the header to
 * the trailer, so each can be sliced from the file; a blob that opens has
 * its raw length. */
#include <string.h>

#include "lifeboat/tree.h"
#include "fuzz_repo.h"
#include "fuzz.h"

#define RESEAL_RAW_MAX (1u << 20) /* decompress at most this much to fix an id */

static char tmpdir[512];
static struct lb_repo *repos[2];
static uint8_t pack_id[LB_ID_LEN];

static void cleanup(void)
{
	for (int i = 0; i < 2; i++)
		lb_repo_close(repos[i]);
	if (tmpdir[0])
		fuzz_rm_rf(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[PATH_MAX];
	const char *t = getenv("TMPDIR");

	(void)argc; (void)argv;
	snprintf(tmpdir, sizeof tmpdir, "%s/lbfuzz-repopack.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(cleanup);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/repo%d", tmpdir, i);
		if (fuzz_repo_create(path, i, &repos[i]) < 0) {
			fprintf(stderr, "fuzz_repopack: cannot create a repository: %s\n", lb_errmsg());
			abort();
		}
		snprintf(path, sizeof path, "%s/repo%d/packs/ab", tmpdir, i);
		mkdir(path, 0700);
	}
	lb_unhex(pack_id, LB_ID_LEN, FUZZ_OBJ_NAME);
	return 0;
}

/* Makes a plaintext pack authentic: ids, blob tags, trailer tag.  Leaves
 * whatever does not look like a pack as it is. */
static void reseal(struct lb_repo *r, uint8_t *p, size_t n)
{
	uint8_t key[LB_KEY_LEN], nonce[LB_NONCE_LEN], aad[LB_PACK_HEADER_LEN + 4];
	struct lb_aead *a = NULL;
	uint32_t tlen, count;
	size_t tstart;

	if (n < LB_PACK_HEADER_LEN + LB_PACK_FOOTER_LEN + LB_TAG_LEN)
		return;
	tlen = lb_le32_get(p + n - LB_PACK_FOOTER_LEN);
	count = lb_le32_get(p + n - LB_PACK_FOOTER_LEN + 4);
	if (count > LB_PACK_MAX_BLOBS || tlen != (uint64_t)count * LB_TOC_ENTRY_LEN + LB_TAG_LEN ||
	    tlen > n - LB_PACK_HEADER_LEN - LB_PACK_FOOTER_LEN)
		return;
	tstart = n - LB_PACK_FOOTER_LEN - tlen;
	if (lb_repo_pack_key(r, p + 8, key) < 0 || lb_aead_new(r->cfg.enc, key, &a) < 0)
		return;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *ent = p + tstart + (size_t)i * LB_TOC_ENTRY_LEN, *rec, id[LB_ID_LEN];
		uint64_t off = lb_le32_get(ent + 4), stored = lb_le32_get(ent + 8), raw = lb_le32_get(ent + 12);

		if (off < LB_PACK_HEADER_LEN || off + LB_BLOB_HEADER_LEN + stored + LB_TAG_LEN > tstart)
			continue;
		rec = p + off;
		if (ent[1] & LB_BLOB_FLAG_ZSTD) {
			uint8_t *plain = raw <= RESEAL_RAW_MAX ? malloc(raw ? raw : 1) : NULL;

			if (plain && lb_zdecompress_tl(rec + LB_BLOB_HEADER_LEN, stored, plain, raw) == 0 &&
			    lb_repo_blob_id(r, plain, raw, id) == 0) {
				memcpy(ent + 16, id, LB_ID_LEN);
				memcpy(rec + 12, id, LB_ID_LEN);
			}
			free(plain);
		} else if (lb_repo_blob_id(r, rec + LB_BLOB_HEADER_LEN, stored, id) == 0) {
			memcpy(ent + 16, id, LB_ID_LEN);
			memcpy(rec + 12, id, LB_ID_LEN);
		}
		lb_nonce(nonce, LB_NONCE_DOMAIN_BLOB, off);
		lb_aead_seal(a, nonce, rec, LB_BLOB_HEADER_LEN, rec + LB_BLOB_HEADER_LEN, stored,
			     rec + LB_BLOB_HEADER_LEN);
	}
	memcpy(aad, p, LB_PACK_HEADER_LEN);
	lb_le32_put(aad + LB_PACK_HEADER_LEN, count);
	lb_nonce(nonce, LB_NONCE_DOMAIN_TRAILER, 0);
	lb_aead_seal(a, nonce, aad, sizeof aad, p + tstart, (size_t)count * LB_TOC_ENTRY_LEN, p + tstart);
	lb_aead_free(a);
	lb_wipe(key, sizeof key);
}

static void try_tree(const struct lb_toc_entry *e, const struct lb_buf *b)
{
	struct lb_tree t;

	if (e->type == LB_BLOB_TREE && lb_tree_decode(b->data, b->len, &t) == 0)
		lb_tree_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_toc_entry *ents = NULL;
	uint8_t salt[LB_SALT_LEN], key[LB_KEY_LEN];
	struct lb_repo *r;
	struct lb_buf out;
	char path[PATH_MAX];
	uint8_t *pack;
	uint64_t psize = 0, pos = LB_PACK_HEADER_LEN;
	uint32_t count = 0;
	size_t n;
	int e;

	if (size < 1 || !repos[0])
		return 0;
	r = repos[data[0] & 1];
	n = size - 1;
	pack = malloc(n ? n : 1);
	if (!pack)
		return 0;
	memcpy(pack, data + 1, n);
	if (data[0] & 2)
		reseal(r, pack, n);
	snprintf(path, sizeof path, "%s/repo%d/packs/ab/%s", tmpdir, data[0] & 1, FUZZ_OBJ_NAME);
	FUZZ_ASSERT(fuzz_write_file(path, pack, n) == 0);
	fuzz_repo_reset(r);
	lb_buf_init(&out, LB_BLOB_MAX);

	e = lb_repo_read_pack_toc(r, FUZZ_OBJ_NAME, &ents, &count, salt, &psize);
	if (e < 0) {
		FUZZ_ASSERT(ents == NULL);
		goto out;
	}
	FUZZ_ASSERT(psize == n && count <= LB_PACK_MAX_BLOBS);
	FUZZ_ASSERT(memcmp(salt, pack + 8, LB_SALT_LEN) == 0);
	FUZZ_ASSERT(lb_repo_pack_key(r, salt, key) == 0);
	for (uint32_t i = 0; i < count; i++) {
		const struct lb_toc_entry *te = &ents[i];
		size_t reclen = LB_BLOB_HEADER_LEN + (size_t)te->stored_len + LB_TAG_LEN;

		FUZZ_ASSERT(te->offset == pos && te->offset + reclen <= n - LB_PACK_FOOTER_LEN);
		pos = te->offset + reclen;
		/* check --read-data: the record sliced from the whole pack */
		if (lb_repo_open_blob_record(r, key, te->offset, pack + te->offset, reclen, te, &out) == 0) {
			FUZZ_ASSERT(out.len == te->raw_len);
			try_tree(te, &out);
		}
	}
	/* the records fill the blob area up to the trailer */
	FUZZ_ASSERT(pos == n - LB_PACK_FOOTER_LEN - ((size_t)count * LB_TOC_ENTRY_LEN + LB_TAG_LEN));
	/* restore: through the index and the backend */
	FUZZ_ASSERT(lb_repo_index_add_pack(r, pack_id, ents, count) == 0);
	for (uint32_t i = 0; i < count; i++) {
		/* by id: with duplicate ids the index picks one of them */
		if (lb_repo_read_blob(r, ents[i].id, 0, &out) == 0)
			try_tree(&ents[i], &out);
		if (lb_repo_read_blob_at(r, pack_id, &ents[i], &out) == 0)
			FUZZ_ASSERT(out.len == ents[i].raw_len);
	}
out:
	lb_wipe(key, sizeof key);
	lb_buf_release(&out);
	free(ents);
	free(pack);
	return 0;
}
