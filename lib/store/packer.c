/* The packer: blobs in, packs and index files out.
 *
 *   put() ──queue──> workers: compress, reserve an offset in the shared
 *                    open pack, seal (nonce = offset), pwrite
 *                                 │ pack full and its writes landed
 *                                 v
 *                    committer: seal the table of contents, fsync, rename,
 *                    index the pack, write an index file every few packs
 *
 * Workers never wait for the disk to flush; only the committer fsyncs.
 * All workers fill one pack, so a flush leaves at most one partly filled
 * pack, however many threads there are. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/packer.h"

#define INDEX_EVERY_PACKS 8  /* an index file per this many packs, so a long
			      * backup's progress survives a crash cheaply */
#define PACK_HEADROOM (1u << 20) /* stop a pack this far below LB_PACK_MAX_BYTES */

struct job {
	uint8_t id[LB_ID_LEN];
	uint8_t type;
	uint8_t *data;
	size_t len, cap;
};

struct pack {
	struct lb_bwriter *w;
	uint8_t hdr[LB_PACK_HEADER_LEN];
	uint8_t key[LB_KEY_LEN];
	uint64_t gen;             /* lets workers cache an AEAD per pack */
	uint64_t off;             /* next offset to reserve */
	struct lb_toc_entry *toc; /* in offset order: records are contiguous */
	uint32_t ntoc, captoc;
	unsigned inflight;        /* reserved records not yet written */
	bool full;                /* takes no more reservations */
	int err;
	struct pack *next;        /* committer queue */
};

struct worker {
	struct lb_packer *p;
	pthread_t th;
	bool started;
	struct lb_zctx *z;
	struct lb_aead *aead;
	uint64_t aead_gen;
	struct lb_buf zbuf, rec;
};

struct lb_packer {
	struct lb_repo *r;
	unsigned nworkers;
	struct worker *workers;
	struct worker self;       /* the callers' own, for blobs they store themselves */
	pthread_mutex_t self_mu;  /* one caller at a time uses self */

	pthread_mutex_t mu;
	pthread_cond_t cv_work;   /* a job for the workers, or stop */
	pthread_cond_t cv_space;  /* room in the queue */
	pthread_cond_t cv_idle;   /* a worker or the committer went idle */
	pthread_cond_t cv_commit; /* a pack for the committer, or stop */
	struct job *q;
	size_t qcap, qhead, qlen;
	unsigned nbusy;           /* workers holding a job */
	struct job *spare;        /* buffers for put() to reuse */
	size_t nspare, capspare;
	bool stop;
	int err;
	char errmsg[1024];
	struct lb_packer_stats st;

	struct pack *cur;         /* the pack being filled */
	uint64_t next_gen;
	struct pack *cq_head, *cq_tail; /* full packs, oldest first */
	bool committing;
	pthread_t committer;
	bool committer_started;
	struct lb_aead *caead;    /* the committer's, for trailers */

	void (*on_commit)(const uint8_t id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t n, void *ctx);
	void *on_commit_ctx;
	uint32_t owner;           /* tags this packer's pending index entries */
	struct lb_index_pack *unindexed; /* committed packs not yet in an index file */
	size_t nunindexed, capunindexed;
};

/* ---- errors ---- */

static void set_error_locked(struct lb_packer *p, int e)
{
	if (!p->err) {
		p->err = e;
		snprintf(p->errmsg, sizeof p->errmsg, "%s", lb_errmsg()[0] ? lb_errmsg() : lb_strerror(e));
	}
	pthread_cond_broadcast(&p->cv_space);
	pthread_cond_broadcast(&p->cv_idle);
}


static int packer_error(struct lb_packer *p)
{
	lb_err_set_text(p->errmsg);
	return p->err;
}

/* ---- packs ---- */

static void pack_free(struct lb_packer *p, struct pack *pk)
{
	if (!pk)
		return;
	if (pk->w)
		p->r->be->ops->writer_abort(pk->w);
	lb_wipe(pk->key, sizeof pk->key);
	free(pk->toc);
	free(pk);
}

/* Called with p->mu held. */
static int pack_open_locked(struct lb_packer *p, struct pack **ret)
{
	struct lb_repo *r = p->r;
	uint8_t salt[LB_SALT_LEN];
	struct pack *pk = calloc(1, sizeof *pk);
	int e;

	if (!pk)
		return -ENOMEM;
	if ((e = lb_random(salt, sizeof salt)) < 0 || (e = lb_repo_pack_key(r, salt, pk->key)) < 0)
		goto fail;
	lb_pack_header_encode(pk->hdr, salt);
	if ((e = r->be->ops->writer_open(r->be, LB_KIND_PACK, &pk->w)) < 0)
		goto fail;
	if ((e = r->be->ops->writer_pwrite(pk->w, pk->hdr, sizeof pk->hdr, 0)) < 0)
		goto fail;
	pk->off = LB_PACK_HEADER_LEN;
	pk->gen = ++p->next_gen;
	*ret = pk;
	return 0;
fail:
	pack_free(p, pk);
	return e;
}

/* Called with p->mu held: a full pack whose writes all landed goes to the
 * committer. */
static void pack_maybe_queue_locked(struct lb_packer *p, struct pack *pk)
{
	if (!pk->full || pk->inflight)
		return;
	pk->next = NULL;
	if (p->cq_tail)
		p->cq_tail->next = pk;
	else
		p->cq_head = pk;
	p->cq_tail = pk;
	pthread_cond_signal(&p->cv_commit);
}

static int write_pending_index(struct lb_packer *p)
{
	int e = lb_repo_write_index(p->r, p->unindexed, p->nunindexed, NULL);

	if (e == 0 && p->nunindexed) {
		for (size_t i = 0; i < p->nunindexed; i++)
			free(p->unindexed[i].entries);
		p->nunindexed = 0;
		p->st.index_files++;
	}
	return e;
}

static int remember_pack(struct lb_packer *p, const uint8_t id[LB_ID_LEN], struct pack *pk)
{
	struct lb_index_pack *ip;

	if (p->nunindexed == p->capunindexed) {
		size_t ncap = p->capunindexed ? p->capunindexed * 2 : 16;
		void *np = realloc(p->unindexed, ncap * sizeof *p->unindexed);

		if (!np)
			return -ENOMEM;
		p->unindexed = np;
		p->capunindexed = ncap;
	}
	ip = &p->unindexed[p->nunindexed++];
	memcpy(ip->id, id, LB_ID_LEN);
	ip->count = pk->ntoc;
	ip->entries = pk->toc; /* ownership moves */
	pk->toc = NULL;
	return 0;
}

/* Seals the table of contents, makes the pack durable under its name, then
 * indexes it: the index never names a pack that is not durable. */
static int pack_commit(struct lb_packer *p, struct pack *pk)
{
	struct lb_repo *r = p->r;
	uint8_t nonce[LB_NONCE_LEN], aad[LB_PACK_HEADER_LEN + 4], foot[LB_PACK_FOOTER_LEN], id[LB_ID_LEN];
	size_t tlen = (size_t)pk->ntoc * LB_TOC_ENTRY_LEN;
	uint8_t *trailer = malloc(tlen + LB_TAG_LEN);
	char name[65];
	int e;

	if (!trailer)
		return -ENOMEM;
	lb_aead_free(p->caead);
	p->caead = NULL;
	if ((e = lb_aead_new(r->cfg.enc, pk->key, &p->caead)) < 0)
		goto out;
	for (uint32_t i = 0; i < pk->ntoc; i++)
		lb_toc_entry_encode(trailer + (size_t)i * LB_TOC_ENTRY_LEN, &pk->toc[i]);
	memcpy(aad, pk->hdr, sizeof pk->hdr);
	lb_le32_put(aad + sizeof pk->hdr, pk->ntoc);
	lb_nonce(nonce, LB_NONCE_DOMAIN_TRAILER, 0);
	if ((e = lb_aead_seal(p->caead, nonce, aad, sizeof aad, trailer, tlen, trailer)) < 0)
		goto out;
	lb_le32_put(foot, (uint32_t)(tlen + LB_TAG_LEN));
	lb_le32_put(foot + 4, pk->ntoc);
	memcpy(foot + 8, LB_PACK_END_MAGIC, 4);
	if ((e = r->be->ops->writer_pwrite(pk->w, trailer, tlen + LB_TAG_LEN, pk->off)) < 0 ||
	    (e = r->be->ops->writer_pwrite(pk->w, foot, sizeof foot, pk->off + tlen + LB_TAG_LEN)) < 0)
		goto out;
	if ((e = lb_random(id, sizeof id)) < 0)
		goto out;
	lb_hex(name, id, sizeof id);
	e = r->be->ops->writer_commit(pk->w, name);
	pk->w = NULL;
	if (e < 0)
		goto out;
	p->st.packs++;
	p->st.stored_new += pk->off + tlen + LB_TAG_LEN + sizeof foot;
	if ((e = lb_repo_index_add_pack(r, id, pk->toc, pk->ntoc)) < 0)
		goto out;
	if (p->on_commit)
		p->on_commit(id, pk->toc, pk->ntoc, p->on_commit_ctx);
	if ((e = remember_pack(p, id, pk)) < 0)
		goto out;
	if (p->nunindexed >= INDEX_EVERY_PACKS)
		e = write_pending_index(p);
out:
	free(trailer);
	return e;
}

static void *committer_main(void *arg)
{
	struct lb_packer *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct pack *pk = p->cq_head;
		int e;

		if (!pk) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->cv_commit, &p->mu);
			continue;
		}
		p->cq_head = pk->next;
		if (!p->cq_head)
			p->cq_tail = NULL;
		p->committing = true;
		pthread_mutex_unlock(&p->mu);
		e = pk->err ? pk->err : __atomic_load_n(&p->err, __ATOMIC_RELAXED) ? 0 : pack_commit(p, pk);
		pack_free(p, pk);
		pthread_mutex_lock(&p->mu);
		if (e < 0)
			set_error_locked(p, e);
		p->committing = false;
		pthread_cond_broadcast(&p->cv_idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- workers ---- */

static int store_blob(struct worker *w, struct job *j)
{
	struct lb_packer *p = w->p;
	struct lb_repo *r = p->r;
	struct lb_toc_entry te;
	uint8_t nonce[LB_NONCE_LEN];
	const uint8_t *payload;
	struct pack *pk;
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

	/* reserve a place in the shared pack */
	pthread_mutex_lock(&p->mu);
	if (p->err) {
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	if (!p->cur && (e = pack_open_locked(p, &p->cur)) < 0) {
		pthread_mutex_unlock(&p->mu);
		return e;
	}
	pk = p->cur;
	if (pk->ntoc == pk->captoc) {
		uint32_t ncap = pk->captoc ? pk->captoc * 2 : 256;
		void *np = realloc(pk->toc, ncap * sizeof *pk->toc);

		if (!np) {
			pthread_mutex_unlock(&p->mu);
			return -ENOMEM;
		}
		pk->toc = np;
		pk->captoc = ncap;
	}
	te.offset = (uint32_t)pk->off;
	pk->toc[pk->ntoc++] = te;
	pk->off += reclen;
	pk->inflight++;
	if (pk->off >= r->cfg.pack_size || pk->ntoc >= LB_PACK_MAX_BLOBS ||
	    pk->off + LB_BLOB_MAX + PACK_HEADROOM > LB_PACK_MAX_BYTES) {
		pk->full = true;
		p->cur = NULL;
	}
	pthread_mutex_unlock(&p->mu);

	/* seal and write outside the lock: other workers do the same at their offsets */
	if (w->aead_gen != pk->gen) {
		lb_aead_free(w->aead);
		w->aead = NULL;
		w->aead_gen = 0;
		e = lb_aead_new(r->cfg.enc, pk->key, &w->aead);
		if (e == 0)
			w->aead_gen = pk->gen;
	} else {
		e = 0;
	}
	if (e == 0) {
		lb_buf_reset(&w->rec);
		e = lb_buf_reserve(&w->rec, reclen);
	}
	if (e == 0) {
		lb_blob_header_encode(w->rec.data, &te);
		lb_nonce(nonce, LB_NONCE_DOMAIN_BLOB, te.offset);
		e = lb_aead_seal(w->aead, nonce, w->rec.data, LB_BLOB_HEADER_LEN, payload, te.stored_len,
				 w->rec.data + LB_BLOB_HEADER_LEN);
	}
	if (e == 0)
		e = r->be->ops->writer_pwrite(pk->w, w->rec.data, reclen, te.offset);

	pthread_mutex_lock(&p->mu);
	if (e < 0 && !pk->err)
		pk->err = e;
	pk->inflight--;
	p->st.raw_new += j->len;
	p->st.blobs_new++;
	pack_maybe_queue_locked(p, pk);
	pthread_mutex_unlock(&p->mu);
	return e;
}

static void spare_put_locked(struct lb_packer *p, struct job *j)
{
	if (p->nspare < p->capspare) {
		p->spare[p->nspare++] = *j;
	} else {
		free(j->data);
	}
	j->data = NULL;
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
			p->nbusy++;
			pthread_cond_signal(&p->cv_space);
			pthread_mutex_unlock(&p->mu);
			e = __atomic_load_n(&p->err, __ATOMIC_RELAXED) ? 0 : store_blob(w, &j);
			if (e < 0)
				lb_err_wrap(e, "storing a blob");
			pthread_mutex_lock(&p->mu);
			if (e < 0)
				set_error_locked(p, e);
			spare_put_locked(p, &j);
			p->nbusy--;
			pthread_cond_broadcast(&p->cv_idle);
			continue;
		}
		if (p->stop)
			break;
		pthread_cond_wait(&p->cv_work, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- the interface ---- */

static int put(struct lb_packer *p, enum lb_blob_type type, const uint8_t id[LB_ID_LEN], const void *data,
	       size_t n, bool move);

static uint32_t owner_seq;

int lb_packer_new(struct lb_repo *r, unsigned nworkers, struct lb_packer **ret)
{
	struct lb_packer *p;
	int e;

	if (nworkers == 0) {
		/* the caller stores blobs itself whenever the workers fall behind,
		 * so one worker fewer than CPUs keeps every core busy */
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		nworkers = n > 1 ? (unsigned)n - 1 : 1;
	}
	if (nworkers > 64)
		nworkers = 64;
	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->r = r;
	p->owner = __atomic_add_fetch(&owner_seq, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->self_mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_space, NULL);
	pthread_cond_init(&p->cv_idle, NULL);
	pthread_cond_init(&p->cv_commit, NULL);
	p->qcap = 2 * nworkers + 2;
	p->capspare = p->qcap + nworkers;
	p->q = calloc(p->qcap, sizeof *p->q);
	p->spare = calloc(p->capspare, sizeof *p->spare);
	p->workers = calloc(nworkers, sizeof *p->workers);
	if (!p->q || !p->spare || !p->workers) {
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
	p->self.p = p;
	lb_buf_init(&p->self.zbuf, 0);
	lb_buf_init(&p->self.rec, 0);
	if ((e = lb_zctx_new(r->cfg.zstd_level, &p->self.z)) < 0) {
		lb_packer_free(p);
		return e;
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
	if (pthread_create(&p->committer, NULL, committer_main, p) != 0) {
		lb_packer_free(p);
		return lb_err(-EAGAIN, "cannot start the pack committer thread");
	}
	p->committer_started = true;
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

void lb_packer_on_commit(struct lb_packer *p, void (*fn)(const uint8_t id[LB_ID_LEN], const struct lb_toc_entry *e,
							  uint32_t n, void *ctx), void *ctx)
{
	p->on_commit = fn;
	p->on_commit_ctx = ctx;
}

int lb_packer_put(struct lb_packer *p, enum lb_blob_type type, const uint8_t id[LB_ID_LEN], const void *data,
		  size_t n)
{
	return put(p, type, id, data, n, false);
}

int lb_packer_put_move(struct lb_packer *p, enum lb_blob_type type, const uint8_t id[LB_ID_LEN], const void *data,
		       size_t n)
{
	return put(p, type, id, data, n, true);
}

static int put(struct lb_packer *p, enum lb_blob_type type, const uint8_t id[LB_ID_LEN], const void *data,
	       size_t n, bool move)
{
	struct lb_repo *r = p->r;
	struct lb_blob_loc loc = { .pack = LB_PACK_PENDING, .type = type, .offset = p->owner };
	struct job j = { .type = (uint8_t)type, .len = n };
	int e, found;

	if (__atomic_load_n(&p->err, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&p->mu);
		e = packer_error(p);
		pthread_mutex_unlock(&p->mu);
		return e;
	}
	if (n > LB_BLOB_MAX)
		return lb_err(-EFBIG, "blob of %zu bytes exceeds the limit of %u", n, LB_BLOB_MAX);
	if (move) {
		/* repacking: the blob is known, but lives in a pack that goes */
		found = 0;
		e = 0;
	} else {
		pthread_mutex_lock(&r->lock);
		found = lb_index_lookup(r->idx, id, NULL);
		e = found ? 0 : lb_index_add(r->idx, id, &loc);
		pthread_mutex_unlock(&r->lock);
	}
	if (e < 0)
		return e;
	if (found) {
		pthread_mutex_lock(&p->mu);
		p->st.blobs_known++;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	memcpy(j.id, id, LB_ID_LEN);
	pthread_mutex_lock(&p->mu);
	if (p->qlen == p->qcap && pthread_mutex_trylock(&p->self_mu) == 0) {
		/* every worker is busy and the queue is full: rather than sleep,
		 * store this blob here (no copy, no wake-up) */
		pthread_mutex_unlock(&p->mu);
		j.data = (uint8_t *)data;
		e = store_blob(&p->self, &j);
		pthread_mutex_unlock(&p->self_mu);
		if (e < 0) {
			lb_err_wrap(e, "storing a blob");
			pthread_mutex_lock(&p->mu);
			set_error_locked(p, e);
			e = packer_error(p);
			pthread_mutex_unlock(&p->mu);
			return e;
		}
		return 1;
	}
	/* reuse a buffer a worker finished with */
	for (size_t i = p->nspare; i-- > 0;) {
		if (p->spare[i].cap >= n) {
			j.data = p->spare[i].data;
			j.cap = p->spare[i].cap;
			p->spare[i] = p->spare[--p->nspare];
			break;
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (!j.data) {
		j.cap = n < (256u << 10) ? (256u << 10) : n;
		j.data = malloc(j.cap);
		if (!j.data)
			return -ENOMEM;
	}
	memcpy(j.data, data, n);
	pthread_mutex_lock(&p->mu);
	while (p->qlen == p->qcap && !p->err)
		pthread_cond_wait(&p->cv_space, &p->mu);
	if (p->err) {
		free(j.data);
		e = packer_error(p);
		pthread_mutex_unlock(&p->mu);
		return e;
	}
	p->q[(p->qhead + p->qlen) % p->qcap] = j;
	p->qlen++;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	return 1;
}

int lb_packer_flush(struct lb_packer *p)
{
	int e;

	pthread_mutex_lock(&p->mu);
	while ((p->qlen || p->nbusy) && !p->err)
		pthread_cond_wait(&p->cv_idle, &p->mu);
	if (p->cur) {
		p->cur->full = true;
		pack_maybe_queue_locked(p, p->cur);
		p->cur = NULL;
	}
	while ((p->cq_head || p->committing || p->nbusy) && !p->err)
		pthread_cond_wait(&p->cv_idle, &p->mu);
	if (p->err) {
		e = packer_error(p);
		pthread_mutex_unlock(&p->mu);
		return e;
	}
	/* the committer is idle and stays so until the next put */
	e = write_pending_index(p);
	pthread_mutex_unlock(&p->mu);
	return e;
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
	if (!p->err)
		p->err = -LB_E_CANCELED; /* nothing queued from here on is committed */
	pthread_cond_broadcast(&p->cv_work);
	pthread_cond_broadcast(&p->cv_commit);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nworkers; i++)
		if (p->workers[i].started)
			pthread_join(p->workers[i].th, NULL);
	if (p->committer_started)
		pthread_join(p->committer, NULL);
	pack_free(p, p->cur);
	while (p->cq_head) {
		struct pack *pk = p->cq_head;

		p->cq_head = pk->next;
		pack_free(p, pk);
	}
	for (unsigned i = 0; i <= p->nworkers; i++) {
		struct worker *w = i < p->nworkers ? &p->workers[i] : &p->self;

		lb_zctx_free(w->z);
		lb_aead_free(w->aead);
		lb_buf_release(&w->zbuf);
		lb_buf_release(&w->rec);
	}
	while (p->qlen > 0) {
		free(p->q[p->qhead].data);
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
	}
	for (size_t i = 0; i < p->nspare; i++)
		free(p->spare[i].data);
	for (size_t i = 0; i < p->nunindexed; i++)
		free(p->unindexed[i].entries);
	/* blobs queued but never committed must not look stored to the next writer */
	pthread_mutex_lock(&p->r->lock);
	lb_index_drop_pending(p->r->idx, p->owner);
	pthread_mutex_unlock(&p->r->lock);
	lb_aead_free(p->caead);
	free(p->unindexed);
	free(p->spare);
	free(p->q);
	free(p->workers);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->self_mu);
	pthread_cond_destroy(&p->cv_work);
	pthread_cond_destroy(&p->cv_space);
	pthread_cond_destroy(&p->cv_idle);
	pthread_cond_destroy(&p->cv_commit);
	free(p);
}
