/* lifeboat — prune: frees the space that forgotten snapshots held, without
 * ever breaking a backup that runs at the same moment.
 *
 * Phase one (mark) finds every blob a snapshot reaches, repacks the live
 * blobs of packs that are mostly garbage, writes one consolidated index
 * without the packs it gives up, and records them in locks/prune-plan.
 * From then on no run deduplicates against those packs.  Phase two
 * (sweep) deletes them once the grace period is over and every run that
 * started before the plan has ended (run markers, lifeboat/marker.h);
 * first it re-reads the snapshots written since the plan and keeps any
 * condemned pack one of them came to use.  A SIGKILL at any instant
 * leaves a repository that is complete, at worst with duplicate copies
 * the next prune removes. */
#ifndef LIFEBOAT_PRUNE_H
#define LIFEBOAT_PRUNE_H

#include <stdbool.h>
#include <stdint.h>

struct lb_repo;

/* level is LB_LOG_INFO for progress, LB_LOG_WARN, LB_LOG_ERROR. */
typedef void (*lb_prune_report_fn)(void *ctx, int level, const char *msg);

struct lb_prune_opts {
	double repack_pct;   /* rewrite a pack once at least this share of it is garbage
			      * (default 20; 100 = only drop wholly unused packs) */
	int64_t grace_s;     /* the sweep waits at least this long after the plan */
	bool dry_run;        /* report what would happen, change nothing */
	lb_prune_report_fn report;
	void *ctx;
};

struct lb_prune_stats {
	/* mark */
	bool marked;                   /* a new plan was made (or would be, dry run) */
	uint64_t snapshots, trees, blobs_used, blobs_missing;
	uint64_t packs, packs_drop, packs_repack, packs_gone;
	uint64_t bytes, bytes_used;    /* all packs; bytes of live blobs */
	uint64_t blobs_moved, bytes_moved_raw, bytes_written;
	uint64_t bytes_condemned;      /* size of the packs the plan gives up */
	uint64_t index_files_in, index_files_out;
	/* sweep */
	bool plan_pending;             /* a plan waits (see waiting_for) */
	bool swept;
	int64_t plan_time_s;
	char waiting_for[512];         /* why the sweep has to wait */
	uint64_t packs_deleted, bytes_deleted, packs_kept_back, index_rewritten;
	/* housekeeping */
	uint64_t markers_removed, temps_removed;
};

/* Runs a pending sweep if it may, then (unless a plan still waits) a new
 * mark, and a sweep right after it when grace_s is 0 and no run stands in
 * the way.  Refuses (-LB_E_BUSY) while another prune runs. */
int lb_prune_run(struct lb_repo *r, const struct lb_prune_opts *o, struct lb_prune_stats *st);

#endif
