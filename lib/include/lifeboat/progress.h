/* lifeboat — live progress of a long operation, shared with a front end's
 * progress line and stall watchdog.  The library writes; any thread reads. */
#ifndef LIFEBOAT_PROGRESS_H
#define LIFEBOAT_PROGRESS_H

#include <pthread.h>
#include <stdint.h>

struct lb_progress {
	pthread_mutex_t lock;        /* guards current and op_start_ns */
	char current[4096];          /* the path being read or written now */
	int64_t op_start_ns;         /* monotonic time the current blocking operation began; 0 when idle */
	uint64_t files, dirs;        /* entries done (atomic) */
	uint64_t bytes;              /* content bytes done (atomic) */
	uint64_t bytes_total;        /* estimate, 0 when unknown (atomic) */
	uint64_t files_total;        /* estimate, 0 when unknown (atomic) */
	int total_done;              /* the estimate is final (atomic) */
	volatile int cancel;         /* set by the caller: stop at the next safe point */
	int phase;                   /* enum lb_phase (atomic) */
};

enum lb_phase {
	LB_PHASE_WORK = 0,   /* reading and storing: cancel stops it cleanly */
	LB_PHASE_COMMIT = 1, /* writing the last packs, index and manifest: let it finish */
};

void lb_progress_init(struct lb_progress *p);
void lb_progress_release(struct lb_progress *p);
/* Marks the start of a blocking operation on path (NULL: now idle). */
void lb_progress_op(struct lb_progress *p, const char *path);
/* Copies the current path and how long its operation has run (ns). */
void lb_progress_current(struct lb_progress *p, char *path, size_t n, int64_t *running_ns);

#endif
