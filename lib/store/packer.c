#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/packer.h"

#define INDEX_EVERY_PACKS 8 /* an index file per this many packs, so a long
			     * backup's progress survives a crash cheaply */

struct job {
	uint8_t id[LB_ID_LEN];
	uint8_t type;
	uint8_t *data;
	size_t len;
};

struct worker {
	struct lb_packer *p;
	pthread_t th;
	bool started;
	bool flushed;
	struct lb_zctx *z;
	/* the open pack */
	struct lb_bwriter *w;
	struct lb_aead *aead;
	uint8_t hdr[LB_PACK_HEADER_LEN];
	uint64_t off;
	struct lb_toc_entry *toc;
	uint32_t ntoc, captoc;
	struct lb_buf zbuf, rec;
};

struct lb_packer {
	struct lb_repo *r;
	unsigned nworkers;
	struct worker *workers;

	pthread_mutex_t mu;
	pthread_cond_t cv_work;  /* a job or a flush request for workers */
	pthread_cond_t cv_space; /* room in the queue for put() */
	pthread_cond_t cv_done;  /* a worker finished its flush */
	struct job *q;
	size_t qcap, qhead, qlen;
	bool stop, flushing;
	unsigned nflushed;
	int err;
	char errmsg[1024];
	struct lb_packer_stats st;

	pthread_mutex_t ixmu;    /* guards unindexed and index writes */
	struct lb_index_pack *unindexed;
	size_t nunindexed, capunindexed;
};

static void set_error(struct lb_packer *p, int e)
{
	pthread_mutex_lock(&p->mu);
	if (!p->err) {
		p->err = e;
		snprintf(p->errmsg, sizeof p->errmsg, "%s", lb_errmsg()[0] ? lb_errmsg() : lb_strerror(e));
	}
	pthread_cond_broadcast(&p->cv_space);
	pthread_cond_broadcast(&p->cv_done);
	pthread_mutex_unlock(&p->mu);
}

/* Writes an index file for the packs committed since the last one. */
static int write_pending_index(struct lb_packer *p)
{
	int e;

	pthread_mutex_lock(&p->ixmu);
	e = lb_repo_write_index(p->r, p->unindexed, p->nunindexed);
	if (e == 0 && p->nunindexed) {
		for (size_t i = 0; i < p->nunindexed; i++)
			free(p->unindexed[i].entries);
		p->nunindexed = 0;
		__atomic_add_fetch(&p->st.index_files, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&p->ixmu);
	return e;
}

static int remember_pack(struct lb_packer *p, const uint8_t id[LB_ID_LEN], const struct lb_toc_entry *toc,
			 uint32_t n, bool *want_index)
{
	struct lb_index_pack *ip;
	int e = 0;

	pthread_mutex_lock(&p->ixmu);
	if (p->nunindexed == p->capunindexed) {
		size_t ncap = p->capunindexed ? p->capunindexed * 2 : 16;
		void *np = realloc(p->unindexed, ncap * sizeof *p->unindexed);

		if (!np) {
			e = -ENOMEM;
			goto out;
		}
		p->unindexed = np;
		p->capunindexed = ncap;
	}
	ip = &p->unindexed[p->nunindexed];
	memcpy(ip->id, id, LB_ID_LEN);
	ip->count = n;
	ip->entries = malloc((n ? n : 1) * sizeof *toc);
	if (!ip->entries) {
		e = -ENOMEM;
		goto out;
	}
	memcpy(ip->entries, toc, n * sizeof *toc);
	p->nunindexed++;
	*want_index = p->nunindexed >= INDEX_EVERY_PACKS;
out:
	pthread_mutex_unlock(&p->ixmu);
	return e;
}

static int pack_open(struct worker *w)
{
	struct lb_repo *r = w->p->r;
	uint8_t salt[LB_SALT_LEN], key[LB_KEY_LEN];
	int e;

	if ((e = lb_random(salt, sizeof salt)) < 0)
		return e;
	lb_pack_header_encode(w->hdr, salt);
	if ((e = lb_repo_pack_key(r, salt, key)) < 0)
		return e;
	e = lb_aead_new(r->cfg.enc, key, &w->aead);
	lb_wipe(key, sizeof key);
	if (e < 0)
		return e;
	if ((e = r->be->ops->writer_open(r->be, LB_KIND_PACK, &w->w)) < 0)
		goto fail;
	if ((e = r->be->ops->writer_write(w->w, w->hdr, sizeof w->hdr)) < 0)
		goto fail;
	w->off = LB_PACK_HEADER_LEN;
	w->ntoc = 0;
	return 0;
fail:
	if (w->w)
		r->be->ops->writer_abort(w->w);
	w->w = NULL;
	lb_aead_free(w->aead);
	w->aead = NULL;
	return e;
}

static void pack_abort(struct worker *w)
{
	if (w->w)
		w->p->r->be->ops->writer_abort(w->w);
	w->w = NULL;
	lb_aead_free(w->aead);
	w->aead = NULL;
	w->ntoc = 0;
}

/* Seals the table of contents, commits the pack, then indexes it: the
 * index never names a pack that is not durable. */
static int pack_finish(struct worker *w)
{
	struct lb_packer *p = w->p;
	struct lb_repo *r = p->r;
	uint8_t nonce[LB_NONCE_LEN], aad[LB_PACK_HEADER_LEN + 4], foot[LB_PACK_FOOTER_LEN], id[LB_ID_LEN];
	size_t tlen = (size_t)w->ntoc * LB_TOC_ENTRY_LEN;
	char name[65];
	bool want_index = false;
	int e;

	if (!w->w)
		return 0;
	lb_buf_reset(&w->rec);
	if ((e = lb_buf_reserve(&w->rec, tlen + LB_TAG_LEN)) < 0)
		goto fail;
	for (uint32_t i = 0; i < w->ntoc; i++)
		lb_toc_entry_encode(w->rec.data + (size_t)i * LB_TOC_ENTRY_LEN, &w->toc[i]);
	memcpy(aad, w->hdr, sizeof w->hdr);
	lb_le32_put(aad + sizeof w->hdr, w->ntoc);
	lb_nonce(nonce, LB_NONCE_DOMAIN_TRAILER, 0);
	if ((e = lb_aead_seal(w->aead, nonce, aad, sizeof aad, w->rec.data, tlen, w->rec.data)) < 0)
		goto fail;
	lb_le32_put(foot, (uint32_t)(tlen + LB_TAG_LEN));
	lb_le32_put(foot + 4, w->ntoc);
	memcpy(foot + 8, LB_PACK_END_MAGIC, 4);
	if ((e = r->be->ops->writer_write(w->w, w->rec.data, tlen + LB_TAG_LEN)) < 0 ||
	    (e = r->be->ops->writer_write(w->w, foot, sizeof foot)) < 0)
		goto fail;
	if ((e = lb_random(id, sizeof id)) < 0)
		goto fail;
	lb_hex(name, id, sizeof id);
	e = r->be->ops->writer_commit(w->w, name);
	w->w = NULL;
	if (e < 0)
		goto fail;
	lb_aead_free(w->aead);
	w->aead = NULL;
	__atomic_add_fetch(&p->st.packs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&p->st.stored_new, w->off + tlen + LB_TAG_LEN + sizeof foot, __ATOMIC_RELAXED);
	if ((e = lb_repo_index_add_pack(r, id, w->toc, w->ntoc)) < 0)
		return e;
	if ((e = remember_pack(p, id, w->toc, w->ntoc, &want_index)) < 0)
		return e;
	w->ntoc = 0;
	if (want_index)
		return write_pending_index(p);
	return 0;
fail:
	pack_abort(w);
	return e;
}

static int store_blob(struct worker *w, struct job *j)
{
	struct lb_repo *r = w->p->r;
	struct lb_toc_entry te;
	uint8_t nonce[LB_NONCE_LEN];
	const uint8_t *payload;
	size_t reclen;
	long clen;
	int e;

	lb_buf_reset(&w->zbuf);
	if ((e = lb_buf_reserve(&w->zbuf, lb_zbound(j->len))) < 0)
		return e;
	clen = lb_zcompress(w->z, j->data, j->len, w->zbuf.data, w->zbuf.cap);
	if (clen < 0)
		return (int)clen;
	memcpy(te.id, j->id, LB_ID_LEN);
	te.type = j->type;
	te.flags = clen > 0 ? LB_BLOB_FLAG_ZSTD : 0;
	te.stored_len = clen > 0 ? (uint32_t)clen : (uint32_t)j->len;
	te.raw_len = (uint32_t)j->len;
	payload = clen > 0 ? w->zbuf.data : j->data;
	reclen = LB_BLOB_HEADER_LEN + te.stored_len + LB_TAG_LEN;

	if (w->w && w->off + reclen > LB_PACK_MAX_BYTES - (1u << 20))
		if ((e = pack_finish(w)) < 0)
			return e;
	if (!w->w && (e = pack_open(w)) < 0)
		return e;
	te.offset = (uint32_t)w->off;
	lb_buf_reset(&w->rec);
	if ((e = lb_buf_reserve(&w->rec, reclen)) < 0)
		return e;
	lb_blob_header_encode(w->rec.data, &te);
	lb_nonce(nonce, LB_NONCE_DOMAIN_BLOB, te.offset);
	e = lb_aead_seal(w->aead, nonce, w->rec.data, LB_BLOB_HEADER_LEN, payload, te.stored_len,
			 w->rec.data + LB_BLOB_HEADER_LEN);
	if (e < 0)
		return e;
	if ((e = r->be->ops->writer_write(w->w, w->rec.data, reclen)) < 0)
		return e;
	if (w->ntoc == w->captoc) {
		uint32_t ncap = w->captoc ? w->captoc * 2 : 256;
		void *np = realloc(w->toc, ncap * sizeof *w->toc);

		if (!np)
			return -ENOMEM;
		w->toc = np;
		w->captoc = ncap;
	}
	w->toc[w->ntoc++] = te;
	w->off += reclen;
	__atomic_add_fetch(&w->p->st.raw_new, j->len, __ATOMIC_RELAXED);
	__atomic_add_fetch(&w->p->st.blobs_new, 1, __ATOMIC_RELAXED);
	if (w->off >= r->cfg.pack_size || w->ntoc >= LB_PACK_MAX_BLOBS)
		return pack_finish(w);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct lb_packer *p = w->p;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->qlen > 0) {
			struct job j = p->q[p->qhead];
			int e;

			p->qhead = (p->qhead + 1) % p->qcap;
			p->qlen--;
			pthread_cond_signal(&p->cv_space);
			pthread_mutex_unlock(&p->mu);
			e = __atomic_load_n(&p->err, __ATOMIC_RELAXED) ? 0 : store_blob(w, &j);
			free(j.data);
			if (e < 0)
				set_error(p, e);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (p->flushing && !w->flushed) {
			int e;

			pthread_mutex_unlock(&p->mu);
			e = __atomic_load_n(&p->err, __ATOMIC_RELAXED) ? 0 : pack_finish(w);
			if (e < 0)
				set_error(p, e);
			pthread_mutex_lock(&p->mu);
			w->flushed = true;
			p->nflushed++;
			pthread_cond_broadcast(&p->cv_done);
			continue;
		}
		if (p->stop)
			break;
		pthread_cond_wait(&p->cv_work, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int lb_packer_new(struct lb_repo *r, unsigned nworkers, struct lb_packer **ret)
{
	struct lb_packer *p;
	int e;

	if (nworkers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		nworkers = n > 0 ? (unsigned)n : 1;
	}
	if (nworkers > 64)
		nworkers = 64;
	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->r = r;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->ixmu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_space, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	p->qcap = 2 * nworkers + 2;
	p->q = calloc(p->qcap, sizeof *p->q);
	p->workers = calloc(nworkers, sizeof *p->workers);
	if (!p->q || !p->workers) {
		lb_packer_free(p);
		return -ENOMEM;
	}
	p->nworkers = nworkers;
	for (unsigned i = 0; i < nworkers; i++) {
		struct worker *w = &p->workers[i];

		w->p = p;
		lb_buf_init(&w->zbuf, 0);
		lb_buf_init(&w->rec, 0);
	}
	for (unsigned i = 0; i < nworkers; i++) {
		struct worker *w = &p->workers[i];

		if ((e = lb_zctx_new(r->cfg.zstd_level, &w->z)) < 0) {
			lb_packer_free(p);
			return e;
		}
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			lb_packer_free(p);
			return lb_err(-EAGAIN, "cannot start a compression thread");
		}
		w->started = true;
	}
	/* packs an interrupted run committed but never indexed: index them now */
	pthread_mutex_lock(&r->lock);
	p->unindexed = r->orphans;
	p->nunindexed = p->capunindexed = r->norphans;
	r->orphans = NULL;
	r->norphans = 0;
	pthread_mutex_unlock(&r->lock);
	*ret = p;
	return 0;
}

static int packer_error(struct lb_packer *p)
{
	lb_err_set_text(p->errmsg);
	return p->err;
}

int lb_packer_put(struct lb_packer *p, enum lb_blob_type type, const uint8_t id[LB_ID_LEN], const void *data,
		  size_t n)
{
	struct lb_repo *r = p->r;
	struct lb_blob_loc loc = { .pack = LB_PACK_PENDING, .type = type };
	struct job j;
	int e, found;

	if (__atomic_load_n(&p->err, __ATOMIC_RELAXED))
		return packer_error(p);
	if (n > LB_BLOB_MAX)
		return lb_err(-EFBIG, "blob of %zu bytes exceeds the limit of %u", n, LB_BLOB_MAX);
	pthread_mutex_lock(&r->lock);
	found = lb_index_lookup(r->idx, id, NULL);
	e = found ? 0 : lb_index_add(r->idx, id, &loc);
	pthread_mutex_unlock(&r->lock);
	if (e < 0)
		return e;
	if (found) {
		__atomic_add_fetch(&p->st.blobs_known, 1, __ATOMIC_RELAXED);
		return 0;
	}
	memcpy(j.id, id, LB_ID_LEN);
	j.type = (uint8_t)type;
	j.len = n;
	j.data = malloc(n ? n : 1);
	if (!j.data)
		return -ENOMEM;
	memcpy(j.data, data, n);
	pthread_mutex_lock(&p->mu);
	while (p->qlen == p->qcap && !p->err)
		pthread_cond_wait(&p->cv_space, &p->mu);
	if (p->err) {
		pthread_mutex_unlock(&p->mu);
		free(j.data);
		return packer_error(p);
	}
	p->q[(p->qhead + p->qlen) % p->qcap] = j;
	p->qlen++;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	return 1;
}

int lb_packer_flush(struct lb_packer *p)
{
	pthread_mutex_lock(&p->mu);
	p->flushing = true;
	p->nflushed = 0;
	for (unsigned i = 0; i < p->nworkers; i++)
		p->workers[i].flushed = false;
	pthread_cond_broadcast(&p->cv_work);
	while (p->nflushed < p->nworkers || p->qlen > 0)
		pthread_cond_wait(&p->cv_done, &p->mu);
	p->flushing = false;
	pthread_mutex_unlock(&p->mu);
	if (p->err)
		return packer_error(p);
	return write_pending_index(p);
}

void lb_packer_stats(struct lb_packer *p, struct lb_packer_stats *s)
{
	pthread_mutex_lock(&p->mu);
	*s = p->st;
	pthread_mutex_unlock(&p->mu);
}

void lb_packer_free(struct lb_packer *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];

		if (w->started)
			pthread_join(w->th, NULL);
		pack_abort(w);
		lb_zctx_free(w->z);
		lb_buf_release(&w->zbuf);
		lb_buf_release(&w->rec);
		free(w->toc);
	}
	while (p->qlen > 0) {
		free(p->q[p->qhead].data);
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
	}
	for (size_t i = 0; i < p->nunindexed; i++)
		free(p->unindexed[i].entries);
	free(p->unindexed);
	free(p->q);
	free(p->workers);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->ixmu);
	pthread_cond_destroy(&p->cv_work);
	pthread_cond_destroy(&p->cv_space);
	pthread_cond_destroy(&p->cv_done);
	free(p);
}
