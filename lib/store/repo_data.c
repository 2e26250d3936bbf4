/* Repository data: index files, pack tables of contents, blob reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/marker.h"
#include "store/plan.h"
#include "store/store.h"

/* ---- index file payload ----
 *   u32 npacks, then per pack: id[32], u32 count, count x 48-byte entries,
 *   then u32 nsuper and nsuper x index id[32] this file supersedes. */

int lb_index_file_encode(const struct lb_index_pack *packs, size_t npacks, struct lb_buf *out)
{
	uint8_t ent[LB_TOC_ENTRY_LEN];
	int e = lb_buf_put_le32(out, (uint32_t)npacks);

	for (size_t i = 0; e == 0 && i < npacks; i++) {
		e = lb_buf_append(out, packs[i].id, LB_ID_LEN);
		if (e == 0)
			e = lb_buf_put_le32(out, packs[i].count);
		if (e == 0)
			e = lb_buf_reserve(out, (size_t)packs[i].count * LB_TOC_ENTRY_LEN);
		for (uint32_t j = 0; e == 0 && j < packs[i].count; j++) {
			lb_toc_entry_encode(ent, &packs[i].entries[j]);
			e = lb_buf_append(out, ent, sizeof ent);
		}
	}
	if (e == 0)
		e = lb_buf_put_le32(out, 0); /* supersedes nothing (prune writes these) */
	return e;
}

/* Walks the payload; with fn NULL it only validates.  Decoding validates
 * the whole file first, so a damaged file never half-loads. */
static int index_walk(const uint8_t *p, size_t n, lb_index_file_fn fn, void *ctx)
{
	struct lb_toc_entry *ents = NULL;
	struct lb_reader rd;
	uint32_t npacks, nsuper;
	size_t cap = 0;
	int e;

	lb_reader_init(&rd, p, n);
	if ((e = lb_get_le32(&rd, &npacks)) < 0)
		goto out;
	if (npacks > lb_reader_left(&rd) / (LB_ID_LEN + 4)) {
		e = lb_err(-LB_E_CORRUPT, "index claims %u packs, more than its size allows", npacks);
		goto out;
	}
	for (uint32_t i = 0; i < npacks; i++) {
		const uint8_t *id, *raw;
		uint32_t count;

		if ((e = lb_get_raw(&rd, LB_ID_LEN, &id)) < 0 || (e = lb_get_le32(&rd, &count)) < 0)
			goto out;
		if (count > LB_PACK_MAX_BLOBS || count > lb_reader_left(&rd) / LB_TOC_ENTRY_LEN) {
			e = lb_err(-LB_E_CORRUPT, "index entry for pack %u claims %u blobs, more than its size allows",
				   i, count);
			goto out;
		}
		if (count > cap) {
			void *np = realloc(ents, (size_t)count * sizeof *ents);

			if (!np) {
				e = -ENOMEM;
				goto out;
			}
			ents = np;
			cap = count;
		}
		if ((e = lb_get_raw(&rd, (size_t)count * LB_TOC_ENTRY_LEN, &raw)) < 0)
			goto out;
		for (uint32_t j = 0; j < count; j++)
			if ((e = lb_toc_entry_decode(raw + (size_t)j * LB_TOC_ENTRY_LEN, &ents[j])) < 0)
				goto out;
		if (fn && (e = fn(id, ents, count, ctx)) != 0)
			goto out;
	}
	if ((e = lb_get_le32(&rd, &nsuper)) < 0)
		goto out;
	if (nsuper != lb_reader_left(&rd) / LB_ID_LEN || lb_reader_left(&rd) % LB_ID_LEN) {
		e = lb_err(-LB_E_CORRUPT, "index trailer length mismatch");
		goto out;
	}
	e = 0;
out:
	free(ents);
	return e;
}

int lb_index_file_decode(const uint8_t *p, size_t n, lb_index_file_fn fn, void *ctx)
{
	int e = index_walk(p, n, NULL, NULL);

	return e < 0 ? e : index_walk(p, n, fn, ctx);
}

static int add_pack_to(struct lb_index *idx, const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e,
		       uint32_t count, int bulk)
{
	uint32_t num;
	int ret = lb_index_pack_add(idx, pack_id, &num);

	for (uint32_t i = 0; ret == 0 && i < count; i++) {
		struct lb_blob_loc loc = {
			.pack = num, .offset = e[i].offset, .stored_len = e[i].stored_len,
			.raw_len = e[i].raw_len, .type = e[i].type,
		};
		ret = bulk ? lb_index_bulk_add(idx, e[i].id, &loc) : lb_index_add(idx, e[i].id, &loc);
	}
	return ret;
}

static int bulk_add_pack(struct lb_repo *r, const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e,
			 uint32_t count, int bulk)
{
	return add_pack_to(r->idx, pack_id, e, count, bulk);
}

bool lb_repo_pack_condemned(struct lb_repo *r, const uint8_t pack_id[LB_ID_LEN])
{
	uint32_t num;

	return r->cidx && lb_index_pack_find(r->cidx, pack_id, &num);
}

int lb_repo_index_add_pack(struct lb_repo *r, const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e,
			   uint32_t count)
{
	int ret;

	pthread_mutex_lock(&r->lock);
	ret = bulk_add_pack(r, pack_id, e, count, 0);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int lb_repo_write_index(struct lb_repo *r, const struct lb_index_pack *packs, size_t npacks, char name_out[65])
{
	struct lb_buf plain;
	uint8_t rnd[LB_ID_LEN];
	char name[65];
	int e;

	if (npacks == 0)
		return 0;
	lb_buf_init(&plain, LB_INDEX_FILE_MAX);
	e = lb_index_file_encode(packs, npacks, &plain);
	if (e == 0)
		e = lb_random(rnd, sizeof rnd);
	if (e == 0) {
		lb_hex(name, rnd, sizeof rnd);
		e = lb_repo_put_sealed(r, LB_KIND_INDEX, name, plain.data, plain.len);
	}
	if (e == 0 && name_out)
		memcpy(name_out, name, 65);
	lb_buf_release(&plain);
	return e;
}

/* ---- loading ---- */

struct load_ctx {
	struct lb_repo *r;
	struct lb_buf buf;
	int damaged;
};

static int load_pack_cb(const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t count,
			void *ctx)
{
	struct load_ctx *c = ctx;

	if (lb_repo_pack_condemned(c->r, pack_id))
		return 0; /* prune will delete it: nothing may come to depend on it */
	return bulk_add_pack(c->r, pack_id, e, count, 1);
}

static int load_index_cb(const char *name, uint64_t size, void *ctx)
{
	struct load_ctx *c = ctx;
	int e;

	e = lb_repo_get_sealed(c->r, LB_KIND_INDEX, name, &c->buf);
	if (e == 0) {
		e = lb_index_file_decode(c->buf.data, c->buf.len, load_pack_cb, c);
		if (e < 0 && e != -ENOMEM)
			lb_err_wrap(e, "index %s", name);
	}
	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		/* its packs are still found by the orphan scan; check reports it */
		lb_log(LB_LOG_WARN, "%s", lb_errmsg());
		c->damaged++;
	}
	return 0;
}

struct orphan_ctx {
	struct lb_repo *r;
	size_t adopted;
};

static int orphan_cb(const char *name, uint64_t size, void *ctx)
{
	struct orphan_ctx *c = ctx;
	struct lb_toc_entry *ents = NULL;
	uint8_t id[LB_ID_LEN], salt[LB_SALT_LEN];
	uint32_t num, count;
	uint64_t sz;
	int e;

	if (lb_unhex(id, LB_ID_LEN, name) < 0)
		return 0;
	if (lb_index_pack_find(c->r->idx, id, &num) || lb_repo_pack_condemned(c->r, id))
		return 0;
	e = lb_repo_read_pack_toc(c->r, name, &ents, &count, salt, &sz);
	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		lb_log(LB_LOG_WARN, "%s", lb_errmsg());
		return 0;
	}
	e = bulk_add_pack(c->r, id, ents, count, 1);
	if (e == 0) {
		struct lb_repo *r = c->r;
		void *np = realloc(r->orphans, (r->norphans + 1) * sizeof *r->orphans);

		if (!np) {
			free(ents);
			return -ENOMEM;
		}
		r->orphans = np;
		memcpy(r->orphans[r->norphans].id, id, LB_ID_LEN);
		r->orphans[r->norphans].entries = ents;
		r->orphans[r->norphans].count = count;
		r->norphans++;
		ents = NULL;
		c->adopted++;
	}
	free(ents);
	return e;
}

static int sum_size_cb(const char *name, uint64_t size, void *ctx)
{
	*(uint64_t *)ctx += size;
	return 0;
}

/* Forgets a loaded index (prune reloads after it rewrote the index). */
static int index_reset(struct lb_repo *r)
{
	struct lb_index *fresh;
	int e;

	if ((e = lb_index_new(&fresh)) < 0)
		return e;
	lb_index_free(r->idx);
	r->idx = fresh;
	lb_index_free(r->cidx);
	r->cidx = NULL;
	if (r->pkeys)
		lb_wipe(r->pkeys, r->npkeys * sizeof *r->pkeys);
	free(r->pkeys);
	r->pkeys = NULL;
	r->npkeys = 0;
	for (size_t i = 0; i < r->norphans; i++)
		free(r->orphans[i].entries);
	free(r->orphans);
	r->orphans = NULL;
	r->norphans = 0;
	r->index_loaded = false;
	return 0;
}

/* The condemned packs of a pending prune plan go to r->cidx. */
static int load_plan(struct lb_repo *r)
{
	struct lb_prune_plan plan;
	int e = lb_plan_read(r, &plan);

	if (e == -ENOENT)
		return 0;
	if (e < 0) {
		if (e != -ENOMEM)
			lb_err_wrap(e, "cannot tell which packs prune condemned (removing locks/%s keeps them all)",
				    LB_PLAN_NAME);
		return e;
	}
	if ((e = lb_index_new(&r->cidx)) == 0)
		for (size_t i = 0; e == 0 && i < plan.npacks; i++)
			e = add_pack_to(r->cidx, plan.packs[i].id, plan.packs[i].entries, plan.packs[i].count, 1);
	if (e == 0)
		e = lb_index_compact(r->cidx);
	lb_plan_release(&plan);
	return e;
}

int lb_repo_load_index(struct lb_repo *r, unsigned flags)
{
	struct load_ctx c = { .r = r };
	uint64_t total = 0;
	int e;

	/* announce this run before reading anything: a prune that condemns
	 * packs after this instant waits for it (see lifeboat/marker.h) */
	if (!r->marker && (e = lb_marker_start(r, NULL, &r->marker)) < 0) {
		if (e != -EROFS && e != -EACCES && e != -EPERM)
			return e;
		lb_log(LB_LOG_WARN, "%s; a prune running now could remove data this run reads", lb_errmsg());
		lb_err_clear();
	}
	lb_buf_init(&c.buf, LB_INDEX_FILE_MAX);
	pthread_mutex_lock(&r->lock);
	if (r->index_loaded)
		e = index_reset(r);
	else
		e = 0;
	if (e == 0)
		e = load_plan(r);
	if (e < 0) {
		pthread_mutex_unlock(&r->lock);
		lb_buf_release(&c.buf);
		return e;
	}
	/* size the array once: 48 bytes per entry on disk and in memory */
	if ((e = r->be->ops->list(r->be, LB_KIND_INDEX, sum_size_cb, &total)) == 0)
		e = lb_index_reserve(r->idx, total / LB_TOC_ENTRY_LEN);
	if (e == 0)
		e = r->be->ops->list(r->be, LB_KIND_INDEX, load_index_cb, &c);
	/* a damaged index file loses nothing: its packs are read from their trailers */
	if (e == 0 && ((flags & LB_LOAD_ORPHANS) || c.damaged)) {
		struct orphan_ctx oc = { .r = r };

		e = r->be->ops->list(r->be, LB_KIND_PACK, orphan_cb, &oc);
		if (oc.adopted)
			lb_log(LB_LOG_INFO, "adopted %zu pack%s that no index lists (from an interrupted run)",
			       oc.adopted, oc.adopted == 1 ? "" : "s");
	}
	if (e == 0)
		e = lb_index_compact(r->idx);
	if (e == 0)
		r->index_loaded = true;
	pthread_mutex_unlock(&r->lock);
	lb_buf_release(&c.buf);
	return e;
}

void lb_repo_index_stats(const struct lb_repo *r, size_t *blobs, size_t *packs, size_t *bytes)
{
	pthread_mutex_lock((pthread_mutex_t *)&r->lock);
	if (blobs)
		*blobs = lb_index_count(r->idx);
	if (packs)
		*packs = lb_index_npacks(r->idx);
	if (bytes)
		*bytes = lb_index_memory(r->idx);
	pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
}

/* ---- packs ---- */

int lb_repo_pack_key(struct lb_repo *r, const uint8_t salt[LB_SALT_LEN], uint8_t key[LB_KEY_LEN])
{
	return lb_hkdf(r->keys.enc, salt, LB_SALT_LEN, LB_PACK_INFO, key);
}

int lb_repo_read_pack_toc(struct lb_repo *r, const char *pack_name, struct lb_toc_entry **entries,
			  uint32_t *count, uint8_t salt[LB_SALT_LEN], uint64_t *size)
{
	uint8_t hdr[LB_PACK_HEADER_LEN], foot[LB_PACK_FOOTER_LEN], key[LB_KEY_LEN], nonce[LB_NONCE_LEN];
	uint8_t aad[LB_PACK_HEADER_LEN + 4];
	struct lb_toc_entry *ents = NULL;
	struct lb_aead *a = NULL;
	uint8_t *sealed = NULL;
	uint32_t tlen, n;
	uint64_t sz, tstart;
	int e;

	*entries = NULL;
	e = r->be->ops->size(r->be, LB_KIND_PACK, pack_name, &sz);
	if (e < 0)
		goto out;
	*size = sz;
	if (sz < LB_PACK_HEADER_LEN + LB_PACK_FOOTER_LEN + LB_TAG_LEN) {
		e = lb_err(-LB_E_CORRUPT, "truncated (%llu bytes)", (unsigned long long)sz);
		goto out;
	}
	if ((e = r->be->ops->read_at(r->be, LB_KIND_PACK, pack_name, 0, hdr, sizeof hdr)) < 0 ||
	    (e = r->be->ops->read_at(r->be, LB_KIND_PACK, pack_name, sz - sizeof foot, foot, sizeof foot)) < 0)
		goto out;
	if ((e = lb_pack_header_decode(hdr, salt)) < 0)
		goto out;
	if (memcmp(foot + 8, LB_PACK_END_MAGIC, 4) != 0) {
		e = lb_err(-LB_E_CORRUPT, "no pack footer (truncated or not a pack)");
		goto out;
	}
	tlen = lb_le32_get(foot);
	n = lb_le32_get(foot + 4);
	if (n > LB_PACK_MAX_BLOBS || tlen != (uint64_t)n * LB_TOC_ENTRY_LEN + LB_TAG_LEN ||
	    tlen > sz - LB_PACK_HEADER_LEN - LB_PACK_FOOTER_LEN) {
		e = lb_err(-LB_E_CORRUPT, "pack footer damaged (trailer %u bytes for %u blobs)", tlen, n);
		goto out;
	}
	tstart = sz - LB_PACK_FOOTER_LEN - tlen;
	sealed = malloc(tlen);
	ents = calloc(n ? n : 1, sizeof *ents);
	if (!sealed || !ents) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = r->be->ops->read_at(r->be, LB_KIND_PACK, pack_name, tstart, sealed, tlen)) < 0)
		goto out;
	if ((e = lb_repo_pack_key(r, salt, key)) < 0 || (e = lb_aead_new(r->cfg.enc, key, &a)) < 0)
		goto out;
	memcpy(aad, hdr, sizeof hdr);
	lb_le32_put(aad + sizeof hdr, n);
	lb_nonce(nonce, LB_NONCE_DOMAIN_TRAILER, 0);
	e = lb_aead_open(a, nonce, aad, sizeof aad, sealed, tlen - LB_TAG_LEN, sealed);
	if (e < 0) {
		lb_err(e, "table of contents: %s", lb_strerror(e));
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		if ((e = lb_toc_entry_decode(sealed + (size_t)i * LB_TOC_ENTRY_LEN, &ents[i])) < 0)
			goto out;
	if ((e = lb_toc_validate(ents, n, tstart)) < 0)
		goto out;
	*entries = ents;
	ents = NULL;
	*count = n;
	e = 0;
out:
	if (e < 0 && e != -ENOMEM)
		lb_err_wrap(e, "pack %s", pack_name);
	lb_wipe(key, sizeof key);
	lb_aead_free(a);
	free(sealed);
	free(ents);
	return e;
}

int lb_repo_open_blob_record(struct lb_repo *r, const uint8_t pack_key[LB_KEY_LEN], uint32_t offset,
			     const uint8_t *rec, size_t reclen, const struct lb_toc_entry *expect,
			     struct lb_buf *out)
{
	struct lb_aead *a = NULL;
	int e = lb_aead_new(r->cfg.enc, pack_key, &a);

	if (e < 0)
		return e;
	e = lb_repo_open_blob_with(r, a, offset, rec, reclen, expect, out);
	lb_aead_free(a);
	return e;
}

int lb_repo_open_blob_with(struct lb_repo *r, struct lb_aead *a, uint32_t offset, const uint8_t *rec,
			   size_t reclen, const struct lb_toc_entry *expect, struct lb_buf *out)
{
	struct lb_toc_entry h;
	uint8_t nonce[LB_NONCE_LEN], id[LB_ID_LEN];
	uint8_t *plain = NULL;
	int e;

	if (reclen < LB_BLOB_HEADER_LEN + LB_TAG_LEN)
		return lb_err(-LB_E_CORRUPT, "blob record truncated");
	if ((e = lb_blob_header_decode(rec, &h)) < 0)
		return lb_err_wrap(e, "blob header");
	if (memcmp(h.id, expect->id, LB_ID_LEN) != 0 || h.type != expect->type ||
	    h.stored_len != expect->stored_len || h.raw_len != expect->raw_len || h.flags != expect->flags ||
	    reclen != LB_BLOB_HEADER_LEN + (size_t)h.stored_len + LB_TAG_LEN)
		return lb_err(-LB_E_CORRUPT, "blob header does not match the index");
	lb_buf_reset(out);
	if ((e = lb_buf_reserve(out, h.raw_len)) < 0)
		goto out;
	lb_nonce(nonce, LB_NONCE_DOMAIN_BLOB, offset);
	if (h.flags & LB_BLOB_FLAG_ZSTD) {
		plain = malloc(h.stored_len);
		if (!plain) {
			e = -ENOMEM;
			goto out;
		}
		e = lb_aead_open(a, nonce, rec, LB_BLOB_HEADER_LEN, rec + LB_BLOB_HEADER_LEN, h.stored_len, plain);
		if (e < 0)
			goto out;
		e = lb_zdecompress_tl(plain, h.stored_len, out->data, h.raw_len);
		if (e < 0)
			goto out;
	} else {
		e = lb_aead_open(a, nonce, rec, LB_BLOB_HEADER_LEN, rec + LB_BLOB_HEADER_LEN, h.stored_len, out->data);
		if (e < 0)
			goto out;
	}
	out->len = h.raw_len;
	if ((e = lb_idhash_sum(r->idh, out->data, out->len, id)) < 0)
		goto out;
	if (memcmp(id, h.id, LB_ID_LEN) != 0) {
		e = lb_err(-LB_E_AUTH, "content does not match its id");
		goto out;
	}
	e = 0;
out:
	free(plain);
	return e;
}

/* The key of pack number num, derived once from its header's salt. */
static int pack_key_for(struct lb_repo *r, uint32_t num, const char *pack_name, uint8_t key[LB_KEY_LEN])
{
	uint8_t hdr[LB_PACK_HEADER_LEN], salt[LB_SALT_LEN];
	int e;

	pthread_mutex_lock(&r->lock);
	if (num < r->npkeys && r->pkeys[num].have) {
		memcpy(key, r->pkeys[num].key, LB_KEY_LEN);
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	pthread_mutex_unlock(&r->lock);
	if ((e = r->be->ops->read_at(r->be, LB_KIND_PACK, pack_name, 0, hdr, sizeof hdr)) < 0)
		return e;
	if ((e = lb_pack_header_decode(hdr, salt)) < 0 || (e = lb_repo_pack_key(r, salt, key)) < 0)
		return e;
	pthread_mutex_lock(&r->lock);
	if (num >= r->npkeys) {
		size_t n = lb_index_npacks(r->idx) + 64;
		void *p = realloc(r->pkeys, n * sizeof *r->pkeys);

		if (p) {
			memset((struct lb_pack_key *)p + r->npkeys, 0, (n - r->npkeys) * sizeof *r->pkeys);
			r->pkeys = p;
			r->npkeys = n;
		}
	}
	if (num < r->npkeys) {
		memcpy(r->pkeys[num].key, key, LB_KEY_LEN);
		r->pkeys[num].have = true;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int lb_repo_pack_key_num(struct lb_repo *r, uint32_t num, uint8_t key[LB_KEY_LEN], char name[65])
{
	const uint8_t *pid;

	pthread_mutex_lock(&r->lock);
	pid = lb_index_pack_id(r->idx, num);
	if (pid)
		lb_hex(name, pid, LB_ID_LEN);
	pthread_mutex_unlock(&r->lock);
	if (!pid)
		return lb_err(-LB_E_NOTFOUND, "pack number %u is not in the index", num);
	return pack_key_for(r, num, name, key);
}

static int read_blob_in(struct lb_repo *r, uint32_t num, const char *pack_name, const struct lb_toc_entry *te,
			struct lb_buf *out)
{
	uint8_t key[LB_KEY_LEN];
	size_t reclen = LB_BLOB_HEADER_LEN + (size_t)te->stored_len + LB_TAG_LEN;
	uint8_t *rec = NULL;
	int e;

	if ((e = pack_key_for(r, num, pack_name, key)) < 0)
		goto out;
	rec = malloc(reclen);
	if (!rec) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = r->be->ops->read_at(r->be, LB_KIND_PACK, pack_name, te->offset, rec, reclen)) < 0)
		goto out;
	e = lb_repo_open_blob_record(r, key, te->offset, rec, reclen, te, out);
out:
	lb_wipe(key, sizeof key);
	free(rec);
	return e;
}

void lb_blob_loc_to_toc(const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc, struct lb_toc_entry *te)
{
	memcpy(te->id, id, LB_ID_LEN);
	te->type = loc->type;
	te->offset = loc->offset;
	te->stored_len = loc->stored_len;
	te->raw_len = loc->raw_len;
	te->flags = loc->stored_len < loc->raw_len ? LB_BLOB_FLAG_ZSTD : 0;
}

int lb_repo_read_blob(struct lb_repo *r, const uint8_t id[LB_ID_LEN], int type, struct lb_buf *out)
{
	struct lb_blob_loc loc;
	struct lb_toc_entry te;
	char idhex[65], packhex[65];
	uint8_t pid[LB_ID_LEN];
	bool found, condemned = false, have_pid = false;
	int e;

	lb_hex(idhex, id, LB_ID_LEN);
	pthread_mutex_lock(&r->lock);
	found = lb_index_lookup(r->idx, id, &loc);
	if (!found && r->cidx && lb_index_lookup(r->cidx, id, &loc)) {
		/* only in a pack prune condemned: readable until the sweep */
		found = condemned = true;
	}
	if (found) {
		const uint8_t *p = lb_index_pack_id(condemned ? r->cidx : r->idx, loc.pack);

		if ((have_pid = p != NULL))
			memcpy(pid, p, LB_ID_LEN);
	}
	pthread_mutex_unlock(&r->lock);
	if (!found || !have_pid)
		return lb_err(-LB_E_NOTFOUND, "blob %s: in no index file and no pack (missing from the repository)",
			      idhex);
	if (type && loc.type != type)
		return lb_err(-LB_E_CORRUPT, "blob %s: is a %s blob, expected a %s blob", idhex,
			      loc.type == LB_BLOB_TREE ? "tree" : "data", type == LB_BLOB_TREE ? "tree" : "data");
	lb_blob_loc_to_toc(id, &loc, &te);
	lb_hex(packhex, pid, LB_ID_LEN);
	e = condemned ? lb_repo_read_blob_at(r, pid, &te, out) : read_blob_in(r, loc.pack, packhex, &te, out);
	if (e < 0 && e != -ENOMEM)
		lb_err_wrap(e, "pack %s%s: blob %s", packhex, condemned ? " (condemned by prune)" : "", idhex);
	return e;
}

int lb_repo_read_blob_at(struct lb_repo *r, const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e,
			 struct lb_buf *out)
{
	uint8_t hdr[LB_PACK_HEADER_LEN], salt[LB_SALT_LEN], key[LB_KEY_LEN];
	size_t reclen = LB_BLOB_HEADER_LEN + (size_t)e->stored_len + LB_TAG_LEN;
	char packhex[65];
	uint8_t *rec;
	int ret;

	lb_hex(packhex, pack_id, LB_ID_LEN);
	if ((ret = r->be->ops->read_at(r->be, LB_KIND_PACK, packhex, 0, hdr, sizeof hdr)) < 0)
		return ret;
	if ((ret = lb_pack_header_decode(hdr, salt)) < 0 || (ret = lb_repo_pack_key(r, salt, key)) < 0)
		return ret;
	rec = malloc(reclen);
	if (!rec)
		return -ENOMEM;
	ret = r->be->ops->read_at(r->be, LB_KIND_PACK, packhex, e->offset, rec, reclen);
	if (ret == 0)
		ret = lb_repo_open_blob_record(r, key, e->offset, rec, reclen, e, out);
	lb_wipe(key, sizeof key);
	free(rec);
	return ret;
}

int lb_repo_cat_blob(struct lb_repo *r, const char *idhex, uint8_t **data, size_t *len)
{
	uint8_t id[LB_ID_LEN];
	struct lb_buf b;
	int e;

	if (lb_unhex(id, LB_ID_LEN, idhex) < 0)
		return lb_err(-EINVAL, "blob id must be 64 hex digits");
	if (!r->index_loaded && (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		return e;
	lb_buf_init(&b, LB_BLOB_MAX);
	e = lb_repo_read_blob(r, id, 0, &b);
	if (e < 0) {
		lb_buf_release(&b);
		return e;
	}
	*data = b.data;
	*len = b.len;
	return 0;
}
