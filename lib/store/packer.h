/* lifeboat — the write side of the store: blobs in, packs and index files
 * out.  put() dedups against the index and queues new blobs; worker threads
 * compress and seal them into one shared pack, and a committer thread
 * makes full packs durable and indexes them, so compression runs on every
 * core while the caller keeps reading and chunking (see packer.c). */
#ifndef LB_PACKER_H
#define LB_PACKER_H

#include <stdint.h>

#include "store/store.h"

struct lb_packer;

struct lb_packer_stats {
	uint64_t blobs_new;    /* blobs this packer stored */
	uint64_t blobs_known;  /* put() calls answered by the index */
	uint64_t raw_new;      /* plaintext bytes of new blobs */
	uint64_t stored_new;   /* bytes added to packs (headers and tags included) */
	uint64_t packs;        /* packs committed */
	uint64_t index_files;  /* index files written */
};

/* nworkers 0 = one fewer than the online CPUs (at least one): a caller
 * stores a blob itself when the queue is full.  put() may be called from
 * several threads at once (a source dumping over several connections). */
int lb_packer_new(struct lb_repo *r, unsigned nworkers, struct lb_packer **ret);
/* Stores a blob unless the repository has it.  Copies data.  Returns 1 if
 * the blob was queued, 0 if already present, negative on error (including
 * an earlier failure of a worker). */
int lb_packer_put(struct lb_packer *p, enum lb_blob_type type, const uint8_t id[LB_ID_LEN], const void *data,
		  size_t n);
/* Stores a blob even though the index has it: prune moves the live blobs
 * of a pack it is about to drop. */
int lb_packer_put_move(struct lb_packer *p, enum lb_blob_type type, const uint8_t id[LB_ID_LEN], const void *data,
		       size_t n);
/* Calls fn (from the committer thread) with each pack once it is durable;
 * prune learns where the blobs it moved now live. */
void lb_packer_on_commit(struct lb_packer *p, void (*fn)(const uint8_t id[LB_ID_LEN], const struct lb_toc_entry *e,
							  uint32_t n, void *ctx), void *ctx);
/* Waits for every queued blob, commits the open packs and writes the index
 * file for everything committed so far.  On return every blob put() was
 * given is durable and indexed. */
int lb_packer_flush(struct lb_packer *p);
void lb_packer_stats(struct lb_packer *p, struct lb_packer_stats *s);
/* Stops the workers; packs not yet committed are discarded. */
void lb_packer_free(struct lb_packer *p);

#endif
