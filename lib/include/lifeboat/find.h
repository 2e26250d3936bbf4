/* lifeboat — finding files across snapshots.
 *
 * Snapshots are searched one after the other into one result: for each
 * matching path, the snapshots that hold it and what it was in each.  A
 * directory met again at the same path with the same tree id (the common
 * case from one night to the next) is not read again: its matches are
 * copied from the first search, so thirty nightly snapshots cost little
 * more than one plus what changed. */
#ifndef LIFEBOAT_FIND_H
#define LIFEBOAT_FIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lb_repo;

struct lb_find_opts {
	const char *pattern;  /* glob (fnmatch) on the name; on the whole path if it holds a '/' */
	bool casefold;        /* match ignoring case */
	const char *path;     /* search below this path only (NULL or "/": everywhere) */
	bool newer, older;    /* filters on the entry's mtime: */
	int64_t newer_s;      /*   mtime > newer_s */
	int64_t older_s;      /*   mtime < older_s */
};

/* An entry that matched in one snapshot. */
struct lb_find_hit {
	size_t snap;          /* the caller's number for the snapshot (see lb_find_search) */
	uint8_t type;         /* enum lb_node_type */
	uint32_t mode, uid, gid;
	uint64_t size;
	int64_t mtime_s;
	uint32_t mtime_ns;
	uint8_t content[32];  /* keyed hash of the content: chunk ids and holes, link target, device, subtree */
	unsigned version;     /* 1 for the first content seen at this path, 2 for the next new one, ... */
};

/* One matching path and its hits, in the order the snapshots were searched. */
struct lb_find_path {
	const char *path;     /* NUL-terminated; pathlen raw bytes */
	size_t pathlen;
	struct lb_find_hit *hits;
	size_t nhits;
	unsigned nversions;
};

struct lb_find;

int lb_find_new(struct lb_repo *r, const struct lb_find_opts *o, struct lb_find **ret);
void lb_find_free(struct lb_find *f);
/* Searches the tree root of one snapshot; its hits carry snap.  Returns 0,
 * 1 when o->path is not in this snapshot, or a negative code (the hits
 * found before the error are kept). */
int lb_find_search(struct lb_find *f, const uint8_t root[32], size_t snap);
/* The matches so far, sorted by path; owned by f, valid until the next
 * lb_find_search or lb_find_free. */
int lb_find_results(struct lb_find *f, const struct lb_find_path **paths, size_t *n);
/* Trees read and subtrees skipped (found again at the same path), for
 * tests and -v. */
void lb_find_stats(const struct lb_find *f, uint64_t *trees_read, uint64_t *trees_reused);

#endif
