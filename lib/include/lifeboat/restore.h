/* lifeboat — restoring a snapshot, or part of one, into a directory. */
#ifndef LIFEBOAT_RESTORE_H
#define LIFEBOAT_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifeboat/progress.h"

struct lb_repo;
struct lb_snapshot;

/* Called for every entry that could not be restored; restore goes on with
 * the rest.  path (pathlen bytes, raw; a hostile name may even hold a NUL)
 * is the entry's path inside the snapshot. */
typedef void (*lb_restore_err_fn)(void *ctx, const char *path, size_t pathlen, const char *msg);

struct lb_restore_opts {
	const char *target;              /* created if absent */
	const char *const *includes;     /* snapshot paths ("/etc/ssh"); none = everything */
	size_t nincludes;
	lb_restore_err_fn error;
	void *error_ctx;
	struct lb_progress *progress;    /* may be NULL */
	unsigned workers;                /* threads writing file content; 0 = one per CPU */
};

struct lb_restore_stats {
	uint64_t files, dirs, others, links;
	uint64_t bytes;                  /* content bytes of the files restored */
	uint64_t errors;                 /* entries not restored, each reported */
};

/* Restores into o->target.  Nothing is ever created outside it: every step
 * goes through directory descriptors with O_NOFOLLOW, and names that could
 * climb out ("..", "/", "a/b") are refused.  Returns 0 when the walk
 * finished (check stats->errors), negative when it could not start. */
int lb_restore_run(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_restore_opts *o,
		   struct lb_restore_stats *st);

#endif
