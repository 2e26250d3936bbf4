/* lifeboat — pieces of the file-system walk shared by backup and its
 * estimating scanner. */
#ifndef LB_WALK_H
#define LB_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifeboat/backup.h"

/* Exclude rules (lifeboat(1)): a pattern without '/' is matched against the
 * entry's name; a pattern with '/' against its whole path, where '*' does
 * not cross '/'.  An excluded directory is not entered. */
bool lb_exclude_match(const char *const *pats, size_t n, const char *path, const char *name);

/* A background thread that counts files and bytes under paths (honouring
 * excludes and one_fs), so a progress line can show an ETA.  It owns
 * copies of everything it uses and never touches the caller's memory: it
 * may outlive the backup if it is stuck on a hung mount, and then frees
 * itself when it finishes.  Best effort: failures leave the estimate low. */
struct lb_walk_scan;
void lb_walk_scan_start(const char *const *paths, size_t n, const char *const *excludes, size_t nexcludes,
			bool one_fs, struct lb_walk_scan **ret);
/* The counts so far; *done once the whole tree was walked. */
void lb_walk_scan_totals(struct lb_walk_scan *s, uint64_t *files, uint64_t *bytes, int *done);
/* Asks the thread to stop and drops the caller's reference. */
void lb_walk_scan_stop(struct lb_walk_scan *s);

#endif
