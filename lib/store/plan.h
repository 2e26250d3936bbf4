/* lifeboat — the prune plan: what a prune's first phase condemned.
 *
 * locks/prune-plan (sealed, magic LBLK) names the packs prune will delete
 * once no run that might still use them is alive, with their tables of
 * contents so readers can still find blobs in them meanwhile.  Every
 * loader of the index reads it and never deduplicates against a
 * condemned pack. */
#ifndef LB_PLAN_H
#define LB_PLAN_H

#include "store/store.h"

#define LB_PLAN_NAME "prune-plan"

struct lb_prune_plan {
	int64_t time_s;            /* when the plan was written */
	int64_t grace_s;           /* the sweep waits at least this long after time_s */
	char host[256];
	long pid;
	char (*index_files)[65];   /* the consolidated index files the plan relies on */
	size_t nindex;
	char (*snapshots)[65];     /* the snapshots whose blobs were kept */
	size_t nsnap;
	struct lb_index_pack *packs; /* condemned packs and their contents */
	size_t npacks;
};

/* Payload: u32 json length, JSON {time, grace, host, pid, index, snapshots},
 * then the condemned packs in the index-file encoding. */
int lb_plan_encode(const struct lb_prune_plan *p, struct lb_buf *out);
/* Validates fully before it fills anything (fuzzed; see tests/fuzz). */
int lb_plan_decode(const uint8_t *data, size_t n, struct lb_prune_plan *p);
void lb_plan_release(struct lb_prune_plan *p);

/* 0 and *p filled, -ENOENT when no plan exists, or another error (a plan
 * that cannot be read is an error: which packs it condemned is unknown). */
int lb_plan_read(struct lb_repo *r, struct lb_prune_plan *p);
int lb_plan_write(struct lb_repo *r, const struct lb_prune_plan *p);
int lb_plan_remove(struct lb_repo *r);

#endif
