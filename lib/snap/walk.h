/* lifeboat — pieces of the file-system walk shared by backup and its
 * estimating scanner. */
#ifndef LB_WALK_H
#define LB_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include "lifeboat/backup.h"

/* Exclude rules (lifeboat(1)): a pattern without '/' is matched against the
 * entry's name; a pattern with '/' against its whole path, where '*' does
 * not cross '/'.  An excluded directory is not entered. */
bool lb_exclude_match(const char *const *pats, size_t n, const char *path, const char *name);

/* A background thread that counts files and bytes under paths (honouring
 * excludes and --one-file-system) into progress->files_total/bytes_total,
 * so a progress line can show an ETA.  Best effort: failures only leave the
 * estimate unknown. */
struct lb_walk_scan;
void lb_walk_scan_start(const char *const *paths, size_t n, const struct lb_backup_opts *o,
			struct lb_progress *p, struct lb_walk_scan **ret);
void lb_walk_scan_stop(struct lb_walk_scan *s);

#endif
