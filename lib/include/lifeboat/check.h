/* lifeboat — verifying a repository. */
#ifndef LIFEBOAT_CHECK_H
#define LIFEBOAT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "lifeboat/progress.h"

struct lb_repo;

/* level is LB_LOG_ERROR (the repository is damaged), LB_LOG_WARN
 * (untidy but sound, e.g. packs left by an interrupted backup) or
 * LB_LOG_INFO. */
typedef void (*lb_check_report_fn)(void *ctx, int level, const char *msg);

struct lb_check_opts {
	bool read_data;         /* read back and verify every blob of the chosen packs */
	double subset_pct;      /* with read_data: percent of packs, chosen at random; 0 = all */
	unsigned subset_n, subset_m; /* or: group n of m (1-based), by pack id; 0 = unused */
	lb_check_report_fn report;
	void *ctx;
	struct lb_progress *progress;
};

struct lb_check_stats {
	uint64_t errors, warnings;
	uint64_t index_files, packs, blobs, snapshots, trees;
	uint64_t packs_read, blobs_read, bytes_read;
};

/* Checks structure always: index files, every pack's sealed table of
 * contents against the index, every snapshot and every tree it reaches,
 * and that every chunk a file needs is in the index.  Returns 0 when the
 * check ran (look at stats->errors), negative when it could not run. */
int lb_check_run(struct lb_repo *r, const struct lb_check_opts *o, struct lb_check_stats *st);

#endif
