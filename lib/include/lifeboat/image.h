/* lifeboat — block-level images: a block device or a raw image file as one
 * snapshot, and writing such a snapshot back onto a device or a file.
 *
 * An image snapshot is an ordinary snapshot (docs/FORMAT.md, "Image
 * snapshots"): its root tree holds one regular-file node whose content is
 * the device's bytes, cut by the repository's chunker and stored through
 * the packer like any file, so images deduplicate against earlier images
 * and files.  Runs of zero bytes become holes.  The manifest's top-level
 * "image" object says what was imaged. */
#ifndef LIFEBOAT_IMAGE_H
#define LIFEBOAT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifeboat/backup.h"
#include "lifeboat/progress.h"

struct lb_repo;
struct lb_snapshot;

struct lb_image_backup_opts {
	const char *source;          /* a block device or a regular file */
	const char *const *tags;
	size_t ntags;
	const char *host;            /* NULL: this machine's host name */
	unsigned workers;            /* compression threads; 0 = one per CPU */
	bool allow_mounted;          /* image a device mounted read-write (or held by the kernel) with a
				      * warning instead of refusing: the image may be inconsistent */
	lb_warn_fn warn;             /* warnings (path is the source) */
	void *warn_ctx;
	struct lb_progress *progress; /* may be NULL; bytes_total is the image size */
};

struct lb_image_backup_stats {
	uint64_t size;               /* bytes in the image */
	uint64_t bytes_read;         /* bytes read from the source (holes found by SEEK_HOLE are not read) */
	uint64_t bytes_data;         /* bytes stored as data extents */
	uint64_t bytes_hole;         /* bytes recorded as holes (file holes and zero runs) */
	uint64_t chunks;             /* data extents */
	uint64_t blobs_new;          /* chunks the repository did not have */
	uint64_t bytes_new_raw;      /* their plaintext */
	uint64_t bytes_added;        /* growth of the repository (packs) */
	uint64_t packs;
	uint64_t warnings;
	uint32_t sector_size;        /* logical sector size of a device; 0 for a file */
	bool block_device;
	int64_t duration_ns;
};

/* Reads o->source from start to end in large sequential reads and writes
 * an image snapshot (the manifest is the commit point, as for backups).
 * Returns 0 and fills id when the snapshot was written; st->warnings says
 * whether something was reported through o->warn.  A block device that is
 * mounted read-write, or held by the kernel (LVM, RAID, device mapper), is
 * refused unless o->allow_mounted: image a snapshot of a live device. */
int lb_image_backup(struct lb_repo *r, const struct lb_image_backup_opts *o, struct lb_image_backup_stats *st,
		    char id[65]);

/* What an image snapshot says about its source (from the manifest). */
struct lb_image_info {
	char source[4096];           /* the device or file imaged */
	uint64_t size;
	uint32_t sector_size;        /* 0 when unknown (a file) */
	bool block_device;
};

/* Fills info from s's "image" section; -LB_E_NOTFOUND (message set) when
 * s is not an image snapshot. */
int lb_image_info(const struct lb_snapshot *s, struct lb_image_info *info);

struct lb_image_restore_opts {
	const char *target;          /* block device, or regular file (created if absent) */
	bool no_compare;             /* write every chunk and zero every hole without reading the target first */
	unsigned workers;            /* threads; 0 = one per CPU */
	struct lb_progress *progress; /* may be NULL */
};

struct lb_image_restore_stats {
	uint64_t size;               /* bytes in the image */
	uint64_t target_size;        /* the target's size before the restore (a device's capacity) */
	uint64_t bytes_compared;     /* bytes of the target read and compared */
	uint64_t bytes_written;      /* data bytes written */
	uint64_t bytes_zeroed;       /* hole bytes zeroed (hole punched, BLKZEROOUT or zeros written) */
	uint64_t bytes_skipped;      /* bytes already right: equal data, or zeros where a hole is */
	uint64_t chunks_fetched;     /* chunks read from the repository */
	bool created;                /* the target file did not exist */
	bool block_device;
	int64_t duration_ns;
};

/* Writes image snapshot s onto o->target, verifying every chunk read from
 * the repository.  Regions the target already holds (same keyed chunk id,
 * or zeros where the image has a hole) are not written, so restoring over
 * an older copy of the image writes only what differs.  A file target is
 * made exactly the image's size, holes left or punched as holes; a device
 * must be at least as large as the image, and must not be mounted or held
 * (it is opened O_EXCL): both are checked before anything is written.
 * Ends with fsync.  On an error after writing began the target is
 * incomplete; the message says so. */
int lb_image_restore(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_image_restore_opts *o,
		     struct lb_image_restore_stats *st);

#endif
