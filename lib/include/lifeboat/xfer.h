/* lifeboat — snapshots out to archive files and archive files in (libarchive).
 *
 * export streams a snapshot, or a path in one, as a pax, ustar or zip
 * archive, content chunk by chunk as it is read from the repository:
 * nothing is staged, and memory stays flat whatever the size.
 *
 * import reads a tar (any flavour libarchive knows, compressed or not),
 * zip or cpio archive, and makes it a snapshot as if the tree it holds had
 * been backed up: content chunked and deduplicated through the packer,
 * every piece of metadata the archive carries kept.  The manifest is
 * written only once the whole archive has been read without a fault; a
 * damaged archive leaves no snapshot (packs written before the fault was
 * found are orphans: unreferenced, harmless, reused by the next backup).
 *
 * Names are raw bytes on both sides.  The caller should run with a UTF-8
 * LC_CTYPE (C.UTF-8 will do): libarchive then writes and reads pax path
 * records as they are, and falls back to hdrcharset=BINARY for names that
 * are not UTF-8. */
#ifndef LIFEBOAT_XFER_H
#define LIFEBOAT_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifeboat/progress.h"

struct lb_repo;
struct lb_snapshot;

/* ---- export ---- */

enum lb_export_format {
	LB_EXPORT_PAX = 1,   /* POSIX pax: everything lifeboat records */
	LB_EXPORT_USTAR = 2, /* "tar": plain ustar, for old readers */
	LB_EXPORT_ZIP = 3,
};

/* "pax", "tar" (ustar) or "zip"; -EINVAL for anything else. */
int lb_export_format_parse(const char *name, enum lb_export_format *f);

/* Reports an entry the format could not hold in full: skipped, or written
 * without some of its metadata.  path is the snapshot path (raw bytes). */
typedef void (*lb_xfer_warn_fn)(void *ctx, const char *path, size_t pathlen, const char *msg);

struct lb_export_opts {
	enum lb_export_format format;
	const char *path;              /* what to export: "/" (NULL) or a path in the snapshot */
	int fd;                        /* the archive goes here (a file or a pipe) */
	struct lb_progress *progress;  /* may be NULL; cancel stops the export */
	lb_xfer_warn_fn warn;          /* may be NULL */
	void *warn_ctx;
};

struct lb_export_stats {
	uint64_t entries;         /* written to the archive */
	uint64_t files, bytes;    /* regular files and their logical size (holes included) */
	uint64_t skipped;         /* entries the format cannot hold at all (warned) */
	uint64_t lost_meta;       /* entries written without xattrs, ACLs or sparse map the format cannot hold */
	uint64_t archive_bytes;   /* bytes written to fd */
};

/* Writes the archive of o->path in snapshot s to o->fd.  Archive paths are
 * the snapshot paths without the leading '/', so extracting in / puts
 * everything back where it was backed up from.  Hard-link groups become
 * one file and hardlink entries to it; in pax, sparse files keep their
 * hole map (holes take no room in the archive).  Returns 0 (entries the
 * format cannot hold are counted in st->skipped and reported through
 * o->warn), or a negative code with the message set: a blob that cannot be
 * read, a write error, cancellation.  On error the archive is incomplete
 * and must be discarded. */
int lb_export_run(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_export_opts *o,
		  struct lb_export_stats *st);

/* ---- import ---- */

struct lb_import_opts {
	const char *archive;           /* file name; "-" or NULL: read fd */
	int fd;                        /* used when archive is "-" or NULL */
	const char *host;              /* the snapshot's host ("" if NULL) */
	bool time_set;                 /* else: the newest mtime in the archive, or now if it has none */
	int64_t time_s;
	long time_ns;
	const char *const *tags;
	size_t ntags;
	struct lb_progress *progress;  /* may be NULL; cancel stops before anything is committed */
	lb_xfer_warn_fn warn;          /* entries left out or changed; may be NULL */
	void *warn_ctx;
};

struct lb_import_stats {
	char format[64];             /* as libarchive names it: "GNU tar format", "ZIP 2.0 (deflation)" */
	char filters[64];            /* compression: "gzip", "none", ... */
	uint64_t entries;            /* read from the archive */
	uint64_t files, dirs, symlinks, others, hardlinks;
	uint64_t bytes;              /* logical size of the files (holes included) */
	uint64_t skipped;            /* entries left out (warned): a name restore would refuse, a conflict */
	uint64_t warnings;           /* metadata dropped or adjusted (warned) */
	uint64_t blobs_new, blobs_known; /* chunks and trees stored vs found in the repository */
	uint64_t raw_new, stored_new;    /* bytes of new blobs before and after compression */
	uint64_t archive_bytes;      /* bytes read from the archive file */
	int64_t time_s;              /* the snapshot's time */
	long time_ns;
};

/* Reads the whole archive into a new snapshot and writes its id to id.
 * Returns 0 (skipped entries and dropped metadata counted in st and
 * reported through o->warn), or a negative code with the message set and
 * no snapshot made.  A damaged or truncated archive gives -LB_E_CORRUPT
 * with a message naming the byte offset (in the file, and in the
 * decompressed stream when compressed) and the entry being read. */
int lb_import_run(struct lb_repo *r, const struct lb_import_opts *o, struct lb_import_stats *st, char id[65]);

#endif
