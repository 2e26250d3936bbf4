/* lifeboat — taking a snapshot of files. */
#ifndef LIFEBOAT_BACKUP_H
#define LIFEBOAT_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lifeboat/progress.h"
#include "lifeboat/source.h"

struct lb_repo;

/* Called for each entry that could not be backed up as it was (vanished,
 * unreadable, changed while read).  path is raw bytes from the file system. */
typedef void (*lb_warn_fn)(void *ctx, const char *path, const char *msg);

struct lb_backup_opts {
	const char *const *paths;    /* absolute or relative; at least one */
	size_t npaths;
	const char *const *excludes; /* glob patterns, see lifeboat(1) */
	size_t nexcludes;
	const char *const *tags;
	size_t ntags;
	const char *host;            /* NULL: this machine's host name */
	const char *parent;          /* snapshot id for the files cache; NULL: latest with same host and paths */
	bool one_file_system;
	bool estimate;               /* count the total first, for an ETA (a scanner thread) */
	unsigned workers;            /* compression threads; 0 = one per CPU */
	json_t *sections;            /* extra manifest sections, borrowed */
	struct lb_source *const *sources; /* live services to quiesce and dump (lifeboat/source.h) */
	size_t nsources;
	lb_warn_fn warn;
	void *warn_ctx;
	struct lb_progress *progress; /* may be NULL */
};

struct lb_backup_stats {
	uint64_t files_new, files_changed, files_unmodified;
	uint64_t dirs, others;
	uint64_t bytes_total;     /* content bytes of all files in the snapshot */
	uint64_t bytes_read;      /* bytes actually read from disk */
	uint64_t blobs_new;
	uint64_t bytes_new_raw;   /* plaintext of new blobs */
	uint64_t bytes_added;     /* growth of the repository */
	uint64_t packs;
	uint64_t warnings;
	int64_t duration_ns;
	char parent[65];
};

/* Backs up the paths and writes the snapshot manifest (the commit point).
 * Returns 0 and fills id (and stats) when the snapshot was written, even if
 * warnings were reported; stats->warnings says how many. */
int lb_backup_run(struct lb_repo *r, const struct lb_backup_opts *o, struct lb_backup_stats *stats,
		  char id[65]);

#endif
