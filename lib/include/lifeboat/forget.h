/* lifeboat — retention: which snapshots a keep policy keeps, and why.
 *
 * Snapshots are grouped by host and paths (and by what sources they
 * hold); within a group, newest first, a snapshot is kept if any rule
 * keeps it.  Binlog segments are kept while an unforgotten MySQL backup of
 * the same server may need them for point-in-time recovery. */
#ifndef LIFEBOAT_FORGET_H
#define LIFEBOAT_FORGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lb_repo;
struct lb_snapshot;

struct lb_keep_policy {
	unsigned last, hourly, daily, weekly, monthly, yearly;
	int64_t within_s;            /* keep everything this much older than the group's newest */
	const char *const *tags;     /* keep every snapshot carrying one of these */
	size_t ntags;
};

struct lb_forget_item {
	struct lb_snapshot *s;       /* borrowed from the list passed in */
	bool keep;
	char reason[256];            /* "last 1, daily 2026-11-24, tag pre-upgrade" or why it goes */
	char group[512];             /* "web1 /etc /var/www" */
};

/* True when the policy keeps nothing by itself (a forget without rules
 * would forget everything, and is refused). */
bool lb_keep_policy_empty(const struct lb_keep_policy *p);

/* Decides for every snapshot in v (any order); items come back grouped and
 * newest first.  Local time defines hours, days, weeks (ISO), months. */
int lb_forget_plan(struct lb_snapshot **v, size_t n, const struct lb_keep_policy *p, struct lb_forget_item **items);

/* Removes the snapshot (and its verdict) from the repository. */
int lb_forget_snapshot(struct lb_repo *r, const char *id);

#endif
