/* lifeboat — block-level images: a block device or a raw image file as one
 * snapshot, and writing such a snapshot back onto a device or a file.
 *
 * An image snapshot is an ordinary snapshot (docs/FORMAT.md, "Image
 * snapshots"): its root tree holds one regular-file node whose content is
 * the device's bytes, cut by the repository's chunker and stored through
 * the packer like any file, so images deduplicate against earlier images
 * and files.  Runs of zero bytes become holes.  The manifest's top-level
 * "image" object says what was imaged.
 *
 * A whole-server image of a running machine is taken file by file from a
 * directory on btrfs (normally /): lifeboat snapshots the subvolume that
 * holds it (read-only, atomically, no downtime), backs the snapshot's tree
 * up as an ordinary file backup, and deletes the snapshot.  Its manifest's
 * "sources"."image" object (kind "tree") names the directory in the
 * snapshot's tree that holds the server's root; restore --image puts that
 * directory's content at the top of an empty target root.  On LVM, image a
 * snapshot of the logical volume as a device instead (a pre hook makes it). */
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
	const char *source;          /* a block device, a regular file, or a directory on btrfs (a
				      * whole-server image, read from a snapshot lifeboat takes) */
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
	bool tree;                   /* a whole-server image: the fields below, and size (bytes of file
				      * content), bytes_read, blobs_new, bytes_new_raw, bytes_added, packs,
				      * warnings; the data/hole/chunk counts stay 0 */
	uint64_t files, dirs, others;
	char snapshot_dir[4096];     /* tree: the btrfs snapshot it was read from (deleted since) */
	int64_t duration_ns;
};

/* Reads o->source from start to end in large sequential reads and writes
 * an image snapshot (the manifest is the commit point, as for backups).
 * Returns 0 and fills id when the snapshot was written; st->warnings says
 * whether something was reported through o->warn.  A block device that is
 * mounted read-write, or held by the kernel (LVM, RAID, device mapper), is
 * refused unless o->allow_mounted: image a snapshot of a live device.
 *
 * A directory is a whole-server image: it must be on btrfs (-ENOTSUP
 * otherwise, the message pointing at LVM).  The read-only snapshot is made
 * at SUBVOLUME/.lifeboat-image-ID (ID: the repository's id, 12 hex digits;
 * always the same path, so that the next image reads only changed files),
 * one left by a killed run is deleted first, and the snapshot is deleted
 * when the backup ends, whatever happened.  Only that one file system is
 * read: other mounts (/boot, /proc) and nested subvolumes are empty
 * directories in it; the repository, if it is inside the directory, is
 * excluded. */
int lb_image_backup(struct lb_repo *r, const struct lb_image_backup_opts *o, struct lb_image_backup_stats *st,
		    char id[65]);

/* What an image snapshot says about its source (from the manifest). */
struct lb_image_info {
	char source[4096];           /* the device, file or directory imaged */
	uint64_t size;               /* tree: bytes of file content */
	uint32_t sector_size;        /* 0 when unknown (a file) */
	bool block_device;
	bool tree;                   /* a whole-server image, file by file */
	char root[4096];             /* tree: the directory in the snapshot's tree holding the server's root */
};

/* Fills info from s's "image" section; -LB_E_NOTFOUND (message set) when
 * s is not an image snapshot. */
int lb_image_info(const struct lb_snapshot *s, struct lb_image_info *info);

struct lb_image_restore_opts {
	const char *target;          /* block device, or regular file (created if absent); for a
				      * whole-server image, an empty directory (created if absent) */
	bool no_compare;             /* write every chunk and zero every hole without reading the target first */
	unsigned workers;            /* threads; 0 = one per CPU */
	struct lb_progress *progress; /* may be NULL */
	/* whole-server images: each entry that could not be restored (the
	 * restore goes on; stats->errors counts them) */
	void (*error)(void *ctx, const char *path, size_t pathlen, const char *msg);
	void *error_ctx;
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
	bool tree;                   /* a whole-server image restored into a directory: */
	uint64_t files, dirs, others, links, errors; /* size is then the bytes of file content */
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
 * incomplete; the message says so.
 *
 * A whole-server image goes into a directory that must be empty (but for
 * lost+found), checked before anything is written: the tree is restored
 * into TARGET/.lifeboat-restore-PID, its root directory's entries are then
 * renamed to the top of TARGET, which gets the root's owner, mode and
 * times, and the staging directory is removed; ends with syncfs.  Returns
 * 0 when that finished; st->errors counts the entries not restored (each
 * reported through o->error). */
int lb_image_restore(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_image_restore_opts *o,
		     struct lb_image_restore_stats *st);

#endif
