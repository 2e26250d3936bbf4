/* lifeboat — one run at a time per job: a cron pile-up's second run exits
 * at once instead of running beside the first.  The lock is an flock() on a
 * local file, so it disappears with its holder, however it dies. */
#ifndef LIFEBOAT_JOBLOCK_H
#define LIFEBOAT_JOBLOCK_H

#include <stddef.h>

struct lb_joblock;

/* The directory for job locks: $LIFEBOAT_LOCK_DIR, else /run/lifeboat for
 * root, else $XDG_RUNTIME_DIR/lifeboat, else /tmp/lifeboat-<uid>. */
const char *lb_joblock_dir(char *buf, size_t n);

/* Takes the lock for key (any string naming the job).  When another live
 * process holds it, returns -LB_E_BUSY with the message naming that
 * process's pid and start time. */
int lb_joblock_acquire(const char *key, const char *what, struct lb_joblock **ret);
void lb_joblock_release(struct lb_joblock *l);

#endif
