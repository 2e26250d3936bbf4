/* Images: a block device or a raw image file as one snapshot, and back.
 *
 * Backup reads the source front to back in large sequential reads (4 MiB,
 * POSIX_FADV_SEQUENTIAL).  A regular file's holes are found with
 * SEEK_DATA/SEEK_HOLE and never read; inside what is read, runs of zero
 * bytes of at least the chunk minimum (counted in 4 KiB blocks aligned on
 * the image) become holes too, so a device's free space costs nothing.
 * The bytes between holes are cut by the repository's chunker and given
 * to the packer exactly as backup does for files: an image deduplicates
 * against earlier images and against files.  The snapshot's root tree
 * holds one regular-file node, so ls, check, export and a file-level
 * restore work on it unchanged; the manifest's "image" object marks it.
 *
 * Restore walks the node's extents with a few threads, each taking runs of
 * extents in order.  For a data extent it first reads the target's bytes
 * there and computes their keyed id: equal to the extent's id means the
 * target already holds exactly that chunk, and nothing is fetched or
 * written.  Otherwise the chunk is read from the repository (which
 * authenticates it and checks its id) and written.  A hole is left alone
 * where the target is already zero (or a hole) and zeroed where it is not:
 * a punched hole in a file, BLKZEROOUT on a device.
 *
 * A whole-server image (a directory on btrfs) is a file backup with one
 * source, "image": its prepare() takes a read-only btrfs snapshot of the
 * subvolume holding the directory and hands the snapshot to the walk, its
 * cleanup() deletes it.  Its restore is a file restore of the snapshot's
 * root directory into a staging directory inside the (empty) target, whose
 * entries are then renamed to the top. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "lifeboat/image.h"
#include "lifeboat/restore.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/source.h"
#include "lifeboat/version.h"
#include "snap/meta.h"
#include "store/packer.h"
#include "store/store.h"

#define IMG_READ_SIZE (4u << 20)   /* one sequential read */
#define ZBLOCK 4096u               /* zero runs are counted in blocks of this size, aligned on the image */
#define HOLE_PIECE (16u << 20)     /* restore: holes are checked and zeroed in pieces of this size */
#define CMP_PIECE (1u << 20)       /* restore: a hole is read back in pieces of this size */
#define BATCH_ITEMS 32             /* restore: extents a worker takes at once */
/* A tree blob is at most LB_BLOB_MAX; a data extent costs at most 36
 * bytes in it (a 4-byte length and a 32-byte id), and the node itself
 * well under a MiB.  More chunks than this cannot be one file node. */
#define EXTENTS_MAX ((LB_BLOB_MAX - (1u << 20)) / 36)

/* ---- shared ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
	/* memcmp of a buffer against itself shifted by one byte: the C
	 * library's vector loop, and it stops at the first non-zero byte */
	return n == 0 || (p[0] == 0 && (n == 1 || memcmp(p, p + 1, n - 1) == 0));
}

/* ---- backup ---- */

struct ictx {
	struct lb_repo *r;
	const struct lb_image_backup_opts *o;
	struct lb_image_backup_stats *st;
	struct lb_progress *pg;
	struct lb_packer *pk;
	struct lb_node *node;
	const char *source;
	uint8_t *rbuf;             /* what one read brought */
	uint8_t *dbuf;             /* the current data run, not yet cut into chunks */
	size_t dhave, dcap;
	uint64_t zrun;             /* zero bytes seen since the last non-zero block, not yet placed */
	uint64_t hole_min;         /* a zero run this long or longer becomes a hole */
};

static void iwarn(struct ictx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void iwarn(struct ictx *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->st->warnings++;
	if (c->o->warn)
		c->o->warn(c->o->warn_ctx, c->source, msg);
}

static int too_many_extents(struct ictx *c)
{
	return lb_err(-EFBIG, "%s: more than %u chunks: an image holds at most about %llu GiB of non-zero data "
		      "with this repository's average chunk of %u KiB (see lifeboat(1), \"Images\")", c->source,
		      (unsigned)EXTENTS_MAX, (unsigned long long)((uint64_t)EXTENTS_MAX * c->r->cfg.chunk_avg >> 30),
		      c->r->cfg.chunk_avg >> 10);
}

static int emit_chunk(struct ictx *c, const uint8_t *p, size_t len)
{
	struct lb_extent x = { .len = len };
	int e;

	if (c->node->nextents >= EXTENTS_MAX)
		return too_many_extents(c);
	if ((e = lb_repo_blob_id(c->r, p, len, x.id)) < 0)
		return e;
	if ((e = lb_packer_put(c->pk, LB_BLOB_DATA, x.id, p, len)) < 0)
		return e;
	c->st->chunks++;
	c->st->bytes_data += len;
	return lb_extent_append(c->node, &x);
}

static int add_hole(struct ictx *c, uint64_t len)
{
	struct lb_node *n = c->node;
	struct lb_extent x = { .len = len, .hole = true };

	if (len == 0)
		return 0;
	c->st->bytes_hole += len;
	if (n->nextents && n->extents[n->nextents - 1].hole) {
		n->extents[n->nextents - 1].len += len;
		return 0;
	}
	if (n->nextents >= EXTENTS_MAX)
		return too_many_extents(c);
	return lb_extent_append(n, &x);
}

/* Cuts what the data buffer holds into chunks; without eof the tail the
 * chunker cannot decide on yet stays for the next call. */
static int drain(struct ictx *c, bool eof)
{
	size_t off = 0, k;
	int e;

	while (off < c->dhave && (k = lb_chunker_next(&c->r->chunker, c->dbuf + off, c->dhave - off, eof)) > 0) {
		if ((e = emit_chunk(c, c->dbuf + off, k)) < 0)
			return e;
		off += k;
	}
	if (off && off < c->dhave)
		memmove(c->dbuf, c->dbuf + off, c->dhave - off);
	c->dhave -= off;
	return 0;
}

/* Appends bytes (zeros when p is NULL) to the current data run. */
static int append(struct ictx *c, const uint8_t *p, uint64_t n)
{
	int e;

	while (n > 0) {
		size_t k = (size_t)LB_MIN((uint64_t)(c->dcap - c->dhave), n);

		if (p) {
			memcpy(c->dbuf + c->dhave, p, k);
			p += k;
		} else {
			memset(c->dbuf + c->dhave, 0, k);
		}
		c->dhave += k;
		n -= k;
		if (c->dhave == c->dcap && (e = drain(c, false)) < 0)
			return e;
	}
	return 0;
}

/* Places the pending zero run: a hole if it is long enough (the data run
 * before it ends there), else part of the data. */
static int place_zeros(struct ictx *c)
{
	uint64_t z = c->zrun;
	int e;

	if (!z)
		return 0;
	c->zrun = 0;
	if (z < c->hole_min)
		return append(c, NULL, z);
	if ((e = drain(c, true)) < 0)
		return e;
	return add_hole(c, z);
}

/* Sorts p[0..n), the bytes at image offset off, into zero runs and data. */
static int scan(struct ictx *c, const uint8_t *p, size_t n, uint64_t off)
{
	size_t i = 0;
	int e;

	while (i < n) {
		size_t end = (size_t)LB_MIN((uint64_t)n, (off + i) / ZBLOCK * ZBLOCK + ZBLOCK - off), j;

		if (all_zero(p + i, end - i)) {
			c->zrun += end - i;
			i = end;
			continue;
		}
		if ((e = place_zeros(c)) < 0)
			return e;
		/* the run of non-zero blocks from here, appended at once */
		for (j = end; j < n;) {
			size_t bend = LB_MIN(n, j + ZBLOCK);

			if (all_zero(p + j, bend - j))
				break;
			j = bend;
		}
		if ((e = append(c, p + i, j - i)) < 0)
			return e;
		i = j;
	}
	return 0;
}

/* Reads and stores [a, b) of the source; the data run ends at b. */
static int read_region(struct ictx *c, int fd, uint64_t a, uint64_t b)
{
	uint64_t pos = a;
	int e;

	while (pos < b) {
		size_t want = (size_t)LB_MIN((uint64_t)IMG_READ_SIZE, b - pos);
		ssize_t got;

		lb_progress_op(c->pg, c->source);
		got = pread(fd, c->rbuf, want, (off_t)pos);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return lb_errno(-errno, "%s: read error at offset %llu", c->source, (unsigned long long)pos);
		}
		if (got == 0)
			return lb_err(-EIO, "%s: ended at %llu bytes while being read, %llu were expected (did it "
				      "shrink?)", c->source, (unsigned long long)pos, (unsigned long long)c->st->size);
		c->st->bytes_read += (uint64_t)got;
		if (c->pg)
			__atomic_add_fetch(&c->pg->bytes, (uint64_t)got, __ATOMIC_RELAXED);
		if ((e = scan(c, c->rbuf, (size_t)got, pos)) < 0)
			return e;
		pos += (uint64_t)got;
		if (c->pg && c->pg->cancel)
			return lb_err(-LB_E_CANCELED, "canceled");
	}
	if ((e = place_zeros(c)) < 0)
		return e;
	return drain(c, true);
}

/* The whole source: data regions (all of a device; SEEK_DATA for a file)
 * read, file holes recorded without reading. */
static int read_image(struct ictx *c, int fd, bool sparse)
{
	uint64_t size = c->st->size, pos = 0;
	int e;

	while (pos < size) {
		uint64_t data = pos, end = size;

		if (sparse) {
			off_t d = lseek(fd, (off_t)pos, SEEK_DATA);

			if (d < 0 && errno == ENXIO) {
				data = size; /* only a hole remains */
			} else if (d < 0) {
				sparse = false; /* no SEEK_DATA here: read it all */
			} else {
				off_t h = lseek(fd, d, SEEK_HOLE);

				data = LB_MIN((uint64_t)d, size);
				end = h < 0 ? size : LB_MIN((uint64_t)h, size);
			}
		}
		if (data > pos) {
			if ((e = add_hole(c, data - pos)) < 0)
				return e;
			if (c->pg)
				__atomic_add_fetch(&c->pg->bytes, data - pos, __ATOMIC_RELAXED);
		}
		if (data >= size)
			break;
		if (end <= data)
			end = size;
		if ((e = read_region(c, fd, data, end)) < 0)
			return e;
		pos = end;
	}
	return 0;
}

/* Is the device in use: mounted read-write, or held by the kernel?  Fills
 * why (empty when it is free, or mounted read-only only). */
static void device_in_use(const char *path, const struct stat *st, char *why, size_t n)
{
	char line[8192], ro_at[4096] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd;

	why[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned maj, min;
		char mnt[4096], opts[1024], *sep, src[4096];
		struct stat sst;
		bool match;

		/* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s %1023s", &maj, &min, mnt, opts) != 4)
			continue;
		match = makedev(maj, min) == st->st_rdev;
		if (!match && (sep = strstr(line, " - ")) && sscanf(sep + 3, "%*s %4095s", src) == 1 &&
		    stat(src, &sst) == 0 && S_ISBLK(sst.st_mode) && sst.st_rdev == st->st_rdev)
			match = true;
		if (!match)
			continue;
		if (!strncmp(opts, "rw", 2) && (opts[2] == ',' || opts[2] == 0)) {
			snprintf(why, n, "is mounted read-write on %.400s", mnt);
			break;
		}
		snprintf(ro_at, sizeof ro_at, "%s", mnt);
	}
	if (f)
		fclose(f);
	if (why[0] || ro_at[0])
		return;
	/* not mounted, but an exclusive open fails when the kernel holds it:
	 * a partition of it mounted, an LVM volume group, RAID, dm-crypt */
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0 && errno == EBUSY)
		snprintf(why, n, "is in use (a partition of it is mounted, or LVM, RAID, device mapper or btrfs "
			 "holds it)");
	if (fd >= 0)
		close(fd);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int store_tree(struct ictx *c, struct lb_tree *t, uint8_t id[32])
{
	struct lb_buf b;
	int e;

	lb_buf_init(&b, LB_BLOB_MAX + (1u << 20));
	lb_tree_sort(t);
	e = lb_tree_encode(t, &b);
	if (e == 0 && b.len > LB_BLOB_MAX)
		e = too_many_extents(c);
	if (e == 0)
		e = lb_repo_blob_id(c->r, b.data, b.len, id);
	if (e == 0 && (e = lb_packer_put(c->pk, LB_BLOB_TREE, id, b.data, b.len)) > 0)
		e = 0;
	lb_buf_release(&b);
	return e;
}

static int write_manifest(struct ictx *c, const char *host, char *path, int64_t start_ns, const uint8_t tree[32],
			  char id[65])
{
	struct lb_image_backup_stats *st = c->st;
	struct lb_snapshot s = { 0 };
	char user[256] = "";
	json_t *j, *img;
	int e;

	j = json_object();
	img = json_pack("{s:o, s:s, s:I, s:I, s:I, s:I}", "source", lb_json_string_bytes(path), "kind",
			st->block_device ? "block" : "file", "size", (json_int_t)st->size, "bytes_data",
			(json_int_t)st->bytes_data, "bytes_hole", (json_int_t)st->bytes_hole, "chunks",
			(json_int_t)st->chunks);
	if (!j || !img) {
		json_decref(j);
		json_decref(img);
		return -ENOMEM;
	}
	if (st->sector_size)
		json_object_set_new(img, "sector_size", json_integer(st->sector_size));
	json_object_set_new(j, "image", img);
	/* the same statistics as a file backup's, for tools that read them */
	json_object_set_new(j, "stats", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}",
			"files_new", (json_int_t)1, "files_changed", (json_int_t)0, "files_unmodified", (json_int_t)0,
			"dirs", (json_int_t)0, "others", (json_int_t)0, "bytes_total", (json_int_t)st->size,
			"bytes_read", (json_int_t)st->bytes_read, "blobs_new", (json_int_t)st->blobs_new,
			"bytes_new_raw", (json_int_t)st->bytes_new_raw, "bytes_added", (json_int_t)st->bytes_added,
			"duration_s", (double)st->duration_ns / 1e9, "warnings", (json_int_t)st->warnings));
	json_object_set_new(j, "program", json_string("lifeboat " LB_VERSION));
	getlogin_r(user, sizeof user - 1);
	if (!user[0])
		snprintf(user, sizeof user, "%s", getenv("USER") ? getenv("USER") : "");
	s.time_s = start_ns / 1000000000;
	s.time_ns = start_ns % 1000000000;
	s.host = (char *)host;
	s.user = user;
	s.paths = &path;
	s.npaths = 1;
	s.tags = (char **)c->o->tags;
	s.ntags = c->o->ntags;
	memcpy(s.tree, tree, 32);
	s.json = j;
	e = lb_snapshot_save(c->r, &s);
	if (e == 0)
		snprintf(id, 65, "%s", s.id);
	json_decref(s.json);
	return e;
}


/* ---- whole-server images: a directory, read from a btrfs snapshot ---- */

#define SNAP_PREFIX ".lifeboat-image-"

struct tsrc {
	struct lb_repo *r;
	const char *dir;           /* as given */
	char abs[4096];            /* realpath of dir */
	char subvol[4096];         /* the btrfs subvolume root holding it */
	char rel[4096];            /* dir inside subvol; "" when it is the root */
	char name[64];             /* the snapshot's name in subvol */
	char snap[4096];           /* subvol/name */
	char root[4096];           /* what is read: snap[/rel] */
	int subfd;                 /* subvol, open */
	bool made;
	int64_t created_ns, took_ns;
	struct lb_source_env *env;
};


/* t->abs, and the btrfs subvolume holding it. */
static int find_subvol(struct tsrc *t)
{
	const char *rel;
	struct statfs sf;
	struct stat top;
	int e;

	if (!realpath(t->dir, t->abs))
		return lb_errno(-errno, "%s", t->dir);
	if (stat(t->abs, &top) < 0)
		return lb_errno(-errno, "%s", t->dir);
	if (!S_ISDIR(top.st_mode))
		return lb_err(-ENOTDIR, "%s: not a directory, a block device or a regular file", t->dir);
	if (statfs(t->abs, &sf) < 0)
		return lb_errno(-errno, "%s", t->dir);
	if (sf.f_type != BTRFS_SUPER_MAGIC)
		return lb_err(-ENOTSUP, "%s is not on btrfs: a whole-server image of a directory is read from a btrfs "
			      "snapshot; on LVM, image a snapshot of the logical volume instead (backup --image "
			      "/dev/VG/LV-snapshot, made by a pre hook; docs/RESTORE-SERVER.md)", t->dir);
	if ((e = lb_btrfs_subvol_of(t->abs, t->subvol, sizeof t->subvol, &rel)) < 0)
		return e;
	snprintf(t->rel, sizeof t->rel, "%s", rel);
	return 0;
}

/* The subvolume, and where the snapshot goes and what of it is read. */
static int tsrc_paths(struct tsrc *t)
{
	char hex[2 * LB_ID_LEN + 1];
	int e;

	if ((e = find_subvol(t)) < 0)
		return e;
	lb_hex(hex, t->r->cfg.id, LB_ID_LEN);
	snprintf(t->name, sizeof t->name, SNAP_PREFIX "%.12s", hex);
	if ((size_t)snprintf(t->snap, sizeof t->snap, "%s%s%s", t->subvol, strcmp(t->subvol, "/") ? "/" : "",
			     t->name) >= sizeof t->snap ||
	    (size_t)snprintf(t->root, sizeof t->root, "%s%s%s", t->snap, t->rel[0] ? "/" : "", t->rel) >= sizeof t->root)
		return lb_err(-ENAMETOOLONG, "%s: its path in the snapshot would be too long", t->dir);
	return 0;
}

/* A repository inside the imaged directory is in the snapshot too: an
 * exclude pattern for its copy there (fnmatch-quoted), or NULL. */
static char *repo_exclude(struct tsrc *t)
{
	char repo[4096], *pat, *q;
	const char *rest;
	size_t alen = strlen(t->abs);

	if (!realpath(lb_repo_location(t->r), repo))
		return NULL;
	if (!strcmp(t->abs, "/"))
		rest = repo + 1;
	else if (!strncmp(repo, t->abs, alen) && repo[alen] == '/')
		rest = repo + alen + 1;
	else
		return NULL;
	pat = malloc(2 * (strlen(t->abs) + strlen(rest)) + 2);
	if (!pat)
		return NULL;
	q = pat;
	for (const char *p = strcmp(t->abs, "/") ? t->abs : ""; *p; p++) {
		if (strchr("*?[\\", *p))
			*q++ = '\\';
		*q++ = *p;
	}
	*q++ = '/';
	for (const char *p = rest; *p; p++) {
		if (strchr("*?[\\", *p))
			*q++ = '\\';
		*q++ = *p;
	}
	*q = 0;
	return pat;
}

static int tsrc_prepare(void *state, struct lb_source_env *env)
{
	struct tsrc *t = state;
	struct stat st;
	int64_t t0;
	int e;

	t->env = env;
	if ((e = tsrc_paths(t)) < 0)
		return e;
	t->subfd = open(t->subvol, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->subfd < 0)
		return lb_errno(-errno, "btrfs subvolume %s", t->subvol);
	/* one left by a run that was killed: a read-only subvolume of ours */
	if (fstatat(t->subfd, t->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		uint64_t fl = 0;
		int fd = S_ISDIR(st.st_mode) && st.st_ino == 256 ?
			 openat(t->subfd, t->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;

		if (fd >= 0 && ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &fl) < 0)
			fl = 0;
		if (fd >= 0)
			close(fd);
		if (!(fl & BTRFS_SUBVOL_RDONLY))
			return lb_err(-EEXIST, "%s exists and is not a read-only snapshot lifeboat left: move it away",
				      t->snap);
		if ((e = lb_btrfs_delete(t->subfd, t->name)) < 0)
			return lb_errno(e, "btrfs: cannot delete %s, left by an earlier run", t->snap);
		env->warn(env, t->snap, "deleted this snapshot, left by an earlier run that did not finish");
	} else if (errno != ENOENT) {
		return lb_errno(-errno, "%s", t->snap);
	}
	t0 = lb_mono_ns();
	t->created_ns = lb_now_ns();
	if ((e = lb_btrfs_snapshot(t->subfd, t->subfd, t->name)) < 0)
		return lb_errno(e, "btrfs: cannot snapshot subvolume %s as %s", t->subvol, t->snap);
	t->took_ns = lb_mono_ns() - t0;
	t->made = true;
	lb_log(LB_LOG_INFO, "image: snapshot %s of %s taken in %.3f s", t->snap, t->subvol, (double)t->took_ns / 1e9);
	/* the directory is read from its snapshot and recorded as itself */
	return env->map_path(env, t->abs, t->root);
}

static int tsrc_report(void *state, json_t *sec)
{
	struct tsrc *t = state;
	json_t *fs = json_pack("{s:s, s:o, s:o, s:I, s:f}", "kind", "btrfs", "subvolume",
			       lb_json_string_bytes(t->subvol), "snapshot", lb_json_string_bytes(t->snap),
			       "created_ns", (json_int_t)t->created_ns, "took_s", (double)t->took_ns / 1e9);

	if (!fs)
		return -ENOMEM;
	json_object_set_new(sec, "kind", json_string("tree"));
	json_object_set_new(sec, "source", lb_json_string_bytes(t->abs));
	json_object_set_new(sec, "root", lb_json_string_bytes(t->abs));
	json_object_set_new(sec, "fs_snapshot", fs);
	return 0;
}

static void tsrc_cleanup(void *state)
{
	struct tsrc *t = state;
	int e;

	if (t->made && (e = lb_btrfs_delete(t->subfd, t->name)) < 0 && t->env) {
		char msg[256];

		snprintf(msg, sizeof msg, "could not delete this btrfs snapshot (%s): the next image deletes it, or "
			 "btrfs subvolume delete", strerror(-e));
		t->env->warn(t->env, t->snap, msg);
	}
	t->made = false;
	if (t->subfd >= 0)
		close(t->subfd);
	t->subfd = -1;
}

static const struct lb_source_ops tsrc_ops = {
	.name = "image",
	.prepare = tsrc_prepare,
	.report = tsrc_report,
	.cleanup = tsrc_cleanup,
};

static int image_tree_backup(struct lb_repo *r, const struct lb_image_backup_opts *o,
			     struct lb_image_backup_stats *st, char id[65])
{
	struct tsrc t = { .r = r, .dir = o->source, .subfd = -1 };
	struct lb_source src = { .ops = &tsrc_ops, .state = &t };
	struct lb_source *srcs[1] = { &src };
	struct lb_backup_opts bo = {
		.tags = o->tags, .ntags = o->ntags, .host = o->host, .one_file_system = true, .workers = o->workers,
		.sources = srcs, .nsources = 1, .warn = o->warn, .warn_ctx = o->warn_ctx, .progress = o->progress,
	};
	struct lb_backup_stats bs;
	const char *ex[1];
	char *exrepo;
	int e;

	/* refusals before the repository is touched */
	if ((e = tsrc_paths(&t)) < 0)
		return e;
	/* the repository's own copy in the snapshot is not backed up */
	if ((exrepo = repo_exclude(&t))) {
		ex[0] = exrepo;
		bo.excludes = ex;
		bo.nexcludes = 1;
	}
	e = lb_backup_run(r, &bo, &bs, id);
	tsrc_cleanup(&t); /* lb_backup_run() did already, unless prepare never ran */
	free(exrepo);
	if (e < 0)
		return e;
	st->tree = true;
	st->size = bs.bytes_total;
	st->bytes_read = bs.bytes_read;
	st->files = bs.files_new + bs.files_changed + bs.files_unmodified;
	st->dirs = bs.dirs;
	st->others = bs.others;
	st->blobs_new = bs.blobs_new;
	st->bytes_new_raw = bs.bytes_new_raw;
	st->bytes_added = bs.bytes_added;
	st->packs = bs.packs;
	st->warnings = bs.warnings;
	st->duration_ns = bs.duration_ns;
	snprintf(st->snapshot_dir, sizeof st->snapshot_dir, "%s", t.root);
	return 0;
}

int lb_image_backup(struct lb_repo *r, const struct lb_image_backup_opts *o, struct lb_image_backup_stats *st,
		    char id[65])
{
	struct ictx c = { .r = r, .o = o, .st = st, .pg = o->progress, .source = o->source };
	struct lb_owner_cache *owners = NULL;
	struct lb_packer_stats ps;
	struct lb_tree t;
	struct lb_node *n;
	struct stat sb, sa;
	char host[256] = "", why[512], *path = NULL;
	uint8_t tree[32];
	int64_t start_ns = lb_now_ns(), start_mono = lb_mono_ns();
	int fd = -1, e;

	memset(st, 0, sizeof *st);
	lb_tree_init(&t);
	if (!o->source || !o->source[0])
		return lb_err(-EINVAL, "image: no device or file given");
	if (stat(o->source, &sb) == 0 && S_ISDIR(sb.st_mode))
		return image_tree_backup(r, o, st, id);
	if (o->host)
		snprintf(host, sizeof host, "%s", o->host);
	else
		gethostname(host, sizeof host - 1);
	fd = open(o->source, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(o->source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = lb_errno(-errno, "%s", o->source);
		goto out;
	}
	if (fstat(fd, &sb) < 0) {
		e = lb_errno(-errno, "%s", o->source);
		goto out;
	}
	if (S_ISBLK(sb.st_mode)) {
		uint64_t bytes = 0;
		int ssz = 0;

		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			e = lb_errno(-errno, "%s: cannot read the device's size (BLKGETSIZE64)", o->source);
			goto out;
		}
		if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
			st->sector_size = (uint32_t)ssz;
		st->size = bytes;
		st->block_device = true;
		device_in_use(o->source, &sb, why, sizeof why);
		if (why[0] && !o->allow_mounted) {
			e = lb_err(-EBUSY, "%s %s: its image would not be consistent; image a snapshot of it (LVM, "
				   "btrfs), or unmount it, or give --allow-mounted", o->source, why);
			goto out;
		}
		if (why[0])
			iwarn(&c, "%s: the image may be inconsistent", why);
	} else if (S_ISREG(sb.st_mode)) {
		st->size = (uint64_t)sb.st_size;
	} else {
		e = lb_err(-EINVAL, "%s: not a block device, a regular file or a directory on btrfs", o->source);
		goto out;
	}
	if (!(path = lb_path_absolute(o->source))) {
		e = -ENOMEM;
		goto out;
	}
	c.hole_min = LB_MAX((uint64_t)r->cfg.chunk_min, (uint64_t)ZBLOCK);
	c.dcap = LB_MAX((size_t)IMG_READ_SIZE, 2 * (size_t)r->cfg.chunk_max);
	c.rbuf = malloc(IMG_READ_SIZE);
	c.dbuf = malloc(c.dcap);
	if (!c.rbuf || !c.dbuf || (e = lb_owner_cache_new(&owners)) < 0) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	if ((e = lb_packer_new(r, o->workers, &c.pk)) < 0)
		goto out;
	if ((e = lb_tree_add(&t, &n)) < 0)
		goto out;
	lb_node_from_stat(n, &sb, owners);
	n->type = LB_NODE_FILE;
	n->rdev = n->dev = n->ino = 0;
	n->nlink = 1;
	n->size = st->size;
	n->name = (uint8_t *)strdup(base_name(path));
	if (!n->name) {
		e = -ENOMEM;
		goto out;
	}
	n->namelen = strlen((char *)n->name);
	if (!lb_name_valid(n->name, n->namelen)) {
		free(n->name);
		n->name = (uint8_t *)strdup("image");
		if (!n->name) {
			e = -ENOMEM;
			goto out;
		}
		n->namelen = 5;
	}
	c.node = n;
	if (c.pg) {
		__atomic_store_n(&c.pg->bytes_total, st->size, __ATOMIC_RELAXED);
		__atomic_store_n(&c.pg->files_total, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&c.pg->total_done, 1, __ATOMIC_RELAXED);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((e = read_image(&c, fd, S_ISREG(sb.st_mode))) < 0)
		goto out;
	lb_progress_op(c.pg, NULL);
	if (S_ISREG(sb.st_mode) && fstat(fd, &sa) == 0 &&
	    (sa.st_size != sb.st_size || sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
	     sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec))
		iwarn(&c, "changed while being read: the image may be inconsistent (image a copy or a snapshot of it)");
	if (c.pg)
		__atomic_add_fetch(&c.pg->files, 1, __ATOMIC_RELAXED);
	if ((e = store_tree(&c, &t, tree)) < 0)
		goto out;
	if (c.pg)
		__atomic_store_n(&c.pg->phase, LB_PHASE_COMMIT, __ATOMIC_RELAXED);
	/* packs and index are durable before the manifest names them */
	if ((e = lb_packer_flush(c.pk)) < 0)
		goto out;
	lb_packer_stats(c.pk, &ps);
	st->blobs_new = ps.blobs_new;
	st->bytes_new_raw = ps.raw_new;
	st->bytes_added = ps.stored_new;
	st->packs = ps.packs;
	st->duration_ns = lb_mono_ns() - start_mono;
	e = write_manifest(&c, host, path, start_ns, tree, id);
	if (e == 0)
		lb_log(LB_LOG_INFO, "image: %s: %llu bytes, %llu read, %llu in %llu chunks, %llu in holes, %.3f s",
		       o->source, (unsigned long long)st->size, (unsigned long long)st->bytes_read,
		       (unsigned long long)st->bytes_data, (unsigned long long)st->chunks,
		       (unsigned long long)st->bytes_hole, (double)st->duration_ns / 1e9);
out:
	if (e < 0 && e != -ENOMEM && !lb_errmsg()[0])
		lb_err(e, "%s", lb_strerror(e));
	lb_progress_op(c.pg, NULL);
	if (fd >= 0)
		close(fd);
	lb_packer_free(c.pk);
	lb_tree_release(&t);
	lb_owner_cache_free(owners);
	free(c.rbuf);
	free(c.dbuf);
	free(path);
	return e;
}

/* ---- what an image snapshot says ---- */

int lb_image_info(const struct lb_snapshot *s, struct lb_image_info *info)
{
	json_t *img = json_object_get(s->json, "image");
	json_t *timg = json_object_get(json_object_get(s->json, "sources"), "image");
	json_t *size, *ssz;
	const char *src, *kind;

	memset(info, 0, sizeof *info);
	if (!json_is_object(img) && json_is_object(timg)) {
		/* a whole-server image: a file backup of a btrfs snapshot */
		const char *root = json_string_value(json_object_get(timg, "root"));
		json_t *stats = json_object_get(s->json, "stats");

		src = json_string_value(json_object_get(timg, "source"));
		kind = json_string_value(json_object_get(timg, "kind"));
		if (!kind || strcmp(kind, "tree") || !root || root[0] != '/' || strlen(root) >= sizeof info->root)
			return lb_err(-LB_E_CORRUPT, "snapshot %.12s: its image section names no valid root directory",
				      s->id);
		info->tree = true;
		snprintf(info->root, sizeof info->root, "%s", root);
		snprintf(info->source, sizeof info->source, "%s", src ? src : "");
		size = json_object_get(stats, "bytes_total");
		if (json_is_integer(size) && json_integer_value(size) >= 0)
			info->size = (uint64_t)json_integer_value(size);
		return 0;
	}
	size = json_object_get(img, "size");
	ssz = json_object_get(img, "sector_size");
	src = json_string_value(json_object_get(img, "source"));
	kind = json_string_value(json_object_get(img, "kind"));
	if (!json_is_object(img))
		return lb_err(-LB_E_NOTFOUND, "snapshot %.12s is not an image (images are made by backup --image)",
			      s->id);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return lb_err(-LB_E_CORRUPT, "snapshot %.12s: its image section has no valid size", s->id);
	snprintf(info->source, sizeof info->source, "%s", src ? src : "");
	info->size = (uint64_t)json_integer_value(size);
	if (json_is_integer(ssz) && json_integer_value(ssz) > 0 && json_integer_value(ssz) <= 1 << 20)
		info->sector_size = (uint32_t)json_integer_value(ssz);
	info->block_device = kind && !strcmp(kind, "block");
	return 0;
}

/* ---- restore ---- */

struct item {
	uint64_t off, len;
	size_t ext;                /* index in the node's extents */
	bool hole;
};

struct rctx {
	struct lb_repo *r;
	const struct lb_image_restore_opts *o;
	struct lb_image_restore_stats *st;
	struct lb_progress *pg;
	const struct lb_node *node;
	int fd;
	bool dev;
	uint64_t fresh_from;       /* a file target holds only zeros (holes) from here on */
	struct item *items;
	size_t nitems, capitems;
	size_t next;               /* next batch (atomic) */
	pthread_mutex_t mu;
	int fatal;
	char fatal_msg[1024];
};

static void set_fatal(struct rctx *c, int e)
{
	pthread_mutex_lock(&c->mu);
	if (!c->fatal) {
		c->fatal = e;
		snprintf(c->fatal_msg, sizeof c->fatal_msg, "%s", lb_errmsg()[0] ? lb_errmsg() : lb_strerror(e));
	}
	pthread_mutex_unlock(&c->mu);
}

static void add_stat(uint64_t *v, uint64_t n)
{
	__atomic_add_fetch(v, n, __ATOMIC_RELAXED);
}

static int write_zeros(struct rctx *c, uint64_t a, uint64_t b)
{
	static const uint8_t zeros[64 << 10];
	int e;

	while (a < b) {
		size_t k = (size_t)LB_MIN((uint64_t)sizeof zeros, b - a);

		if ((e = lb_pwrite_full(c->fd, zeros, k, (off_t)a)) < 0)
			return lb_errno(e, "%s: write at offset %llu", c->o->target, (unsigned long long)a);
		a += k;
	}
	return 0;
}

/* Makes [a, b) of the target read as zeros. */
static int zero_range(struct rctx *c, uint64_t a, uint64_t b)
{
	if (a >= b)
		return 0;
	add_stat(&c->st->bytes_zeroed, b - a);
	if (!c->dev) {
		if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)a, (off_t)(b - a)) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return lb_errno(-errno, "%s: cannot punch a hole at offset %llu", c->o->target,
					(unsigned long long)a);
		return write_zeros(c, a, b);
	} else {
		/* BLKZEROOUT wants whole sectors; 4 KiB covers every sector size */
		uint64_t A = (a + 4095) / 4096 * 4096, B = b / 4096 * 4096;
		int e;

		if (A < B) {
			uint64_t range[2] = { A, B - A };

			if (ioctl(c->fd, BLKZEROOUT, range) == 0) {
				if ((e = write_zeros(c, a, A)) < 0)
					return e;
				return write_zeros(c, B, b);
			}
		}
		return write_zeros(c, a, b);
	}
}

/* A hole of the image at [a, b): zero whatever of it the target does not
 * already read as zero. */
static int restore_hole(struct rctx *c, uint64_t a, uint64_t b, uint8_t *buf)
{
	int e;

	if (!c->dev && a >= c->fresh_from) {
		add_stat(&c->st->bytes_skipped, b - a);
		return 0;
	}
	if (c->o->no_compare)
		return zero_range(c, a, b);
	while (a < b) {
		uint64_t d = a, h = b;

		if (!c->dev) {
			/* only a file's data regions can hold anything but zeros */
			off_t x = lseek(c->fd, (off_t)a, SEEK_DATA);

			if (x < 0 && errno == ENXIO) {
				d = b;
			} else if (x >= 0) {
				off_t y = lseek(c->fd, x, SEEK_HOLE);

				d = LB_MIN((uint64_t)x, b);
				h = y < 0 ? b : LB_MIN((uint64_t)y, b);
			}
			add_stat(&c->st->bytes_skipped, d - a);
			if (d >= b)
				break;
			if (h <= d)
				h = b;
		}
		for (uint64_t p = d; p < h;) {
			size_t k = (size_t)LB_MIN((uint64_t)CMP_PIECE, h - p);

			if ((e = lb_pread_full(c->fd, buf, k, (off_t)p)) < 0)
				return lb_errno(e == -LB_E_CORRUPT ? -EIO : e, "%s: read at offset %llu", c->o->target,
						(unsigned long long)p);
			add_stat(&c->st->bytes_compared, k);
			if (all_zero(buf, k))
				add_stat(&c->st->bytes_skipped, k);
			else if ((e = zero_range(c, p, p + k)) < 0)
				return e;
			p += k;
		}
		a = h;
	}
	return 0;
}

/* A data extent at [off, off + len): written unless the target already
 * holds that very chunk. */
static int restore_data(struct rctx *c, const struct lb_extent *x, uint64_t off, uint8_t *buf, struct lb_buf *blob)
{
	uint8_t id[LB_ID_LEN];
	char hex[65];
	int e;

	if (!c->o->no_compare && (c->dev || off < c->fresh_from)) {
		if ((e = lb_pread_full(c->fd, buf, x->len, (off_t)off)) < 0)
			return lb_errno(e == -LB_E_CORRUPT ? -EIO : e, "%s: read at offset %llu", c->o->target,
					(unsigned long long)off);
		add_stat(&c->st->bytes_compared, x->len);
		if ((e = lb_repo_blob_id(c->r, buf, x->len, id)) < 0)
			return e;
		if (!memcmp(id, x->id, LB_ID_LEN)) {
			add_stat(&c->st->bytes_skipped, x->len);
			return 0;
		}
	}
	/* authenticated, decompressed and checked against its id */
	if ((e = lb_repo_read_blob(c->r, x->id, LB_BLOB_DATA, blob)) < 0) {
		lb_hex(hex, x->id, LB_ID_LEN);
		return lb_err_wrap(e, "the image's chunk at offset %llu (blob %.16s)", (unsigned long long)off, hex);
	}
	if (blob->len != x->len) {
		lb_hex(hex, x->id, LB_ID_LEN);
		return lb_err(-LB_E_CORRUPT, "blob %s: %zu bytes, the image's tree says %llu", hex, blob->len,
			      (unsigned long long)x->len);
	}
	add_stat(&c->st->chunks_fetched, 1);
	if ((e = lb_pwrite_full(c->fd, blob->data, blob->len, (off_t)off)) < 0)
		return lb_errno(e, "%s: write at offset %llu", c->o->target, (unsigned long long)off);
	add_stat(&c->st->bytes_written, x->len);
	return 0;
}

static void *restore_main(void *arg)
{
	struct rctx *c = arg;
	size_t bufsz = LB_MAX((size_t)CMP_PIECE, (size_t)c->r->cfg.chunk_max);
	uint8_t *buf;
	struct lb_buf blob;
	int e = 0;

	/* data extents are at most the chunker's maximum long (checked) */
	buf = malloc(bufsz);
	lb_buf_init(&blob, LB_BLOB_MAX);
	if (!buf) {
		set_fatal(c, -ENOMEM);
		return NULL;
	}
	for (;;) {
		size_t b = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
		size_t i0 = b * BATCH_ITEMS;

		if (i0 >= c->nitems || __atomic_load_n(&c->fatal, __ATOMIC_RELAXED))
			break;
		if (c->pg && c->pg->cancel) {
			set_fatal(c, lb_err(-LB_E_CANCELED, "canceled"));
			break;
		}
		for (size_t i = i0; i < c->nitems && i < i0 + BATCH_ITEMS; i++) {
			const struct item *it = &c->items[i];

			if (it->hole)
				e = restore_hole(c, it->off, it->off + it->len, buf);
			else
				e = restore_data(c, &c->node->extents[it->ext], it->off, buf, &blob);
			if (e < 0) {
				set_fatal(c, e);
				break;
			}
			if (c->pg)
				__atomic_add_fetch(&c->pg->bytes, it->len, __ATOMIC_RELAXED);
		}
		if (e < 0)
			break;
	}
	free(buf);
	lb_buf_release(&blob);
	return NULL;
}

static int add_item(struct rctx *c, uint64_t off, uint64_t len, size_t ext, bool hole)
{
	if (c->nitems == c->capitems) {
		size_t ncap = c->capitems ? c->capitems * 2 : 1024;
		void *p = realloc(c->items, ncap * sizeof *c->items);

		if (!p)
			return -ENOMEM;
		c->items = p;
		c->capitems = ncap;
	}
	c->items[c->nitems++] = (struct item){ .off = off, .len = len, .ext = ext, .hole = hole };
	return 0;
}

/* The image snapshot's one file node. */
static int image_node(struct lb_repo *r, const struct lb_snapshot *s, struct lb_tree *t, const struct lb_node **ret)
{
	struct lb_buf b;
	int e;

	lb_buf_init(&b, LB_BLOB_MAX);
	e = lb_repo_read_blob(r, s->tree, LB_BLOB_TREE, &b);
	if (e == 0)
		e = lb_tree_decode(b.data, b.len, t);
	lb_buf_release(&b);
	if (e < 0)
		return lb_err_wrap(e, "snapshot %.12s: its tree", s->id);
	if (t->n != 1 || t->nodes[0].type != LB_NODE_FILE)
		return lb_err(-LB_E_CORRUPT, "snapshot %.12s: an image's tree holds one file; this one holds %zu "
			      "entries", s->id, t->n);
	*ret = &t->nodes[0];
	return 0;
}

/* Opens the target for writing and checks that the image fits, before
 * anything is written. */
static int open_target(struct rctx *c, uint64_t size)
{
	const char *path = c->o->target;
	char a[32], b[32];
	struct stat sb;
	int fd;

	if (stat(path, &sb) < 0) {
		if (errno != ENOENT)
			return lb_errno(-errno, "target %s", path);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0)
			return lb_errno(-errno, "target %s", path);
		c->st->created = true;
		c->st->target_size = 0;
	} else if (S_ISBLK(sb.st_mode)) {
		uint64_t cap = 0;

		/* O_EXCL: refused while it is mounted or held by the kernel */
		fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 && errno == EBUSY)
			return lb_err(-EBUSY, "target %s is in use (mounted, or held by LVM, RAID or device mapper): "
				      "unmount it first", path);
		if (fd < 0)
			return lb_errno(-errno, "target %s", path);
		if (ioctl(fd, BLKGETSIZE64, &cap) < 0) {
			int err = errno;

			close(fd);
			return lb_errno(-err, "target %s: cannot read the device's size (BLKGETSIZE64)", path);
		}
		c->st->target_size = cap;
		if (cap < size) {
			close(fd);
			snprintf(a, sizeof a, "%llu", (unsigned long long)cap);
			snprintf(b, sizeof b, "%llu", (unsigned long long)size);
			return lb_err(-ENOSPC, "target %s holds %s bytes, less than the image's %s bytes; "
				      "nothing was written", path, a, b);
		}
		c->dev = true;
		c->st->block_device = true;
	} else if (S_ISREG(sb.st_mode)) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return lb_errno(-errno, "target %s", path);
		c->st->target_size = (uint64_t)sb.st_size;
	} else {
		return lb_err(-EINVAL, "target %s is neither a block device nor a regular file", path);
	}
	c->fd = fd;
	if (!c->dev) {
		/* exactly the image's size; what grows reads as a hole */
		if (c->st->target_size != size && ftruncate(fd, (off_t)size) < 0)
			return lb_errno(-errno, "target %s: cannot make it %llu bytes", path, (unsigned long long)size);
		c->fresh_from = LB_MIN(c->st->target_size, size);
	}
	return 0;
}


/* ---- restore of a whole-server image into an empty directory ---- */

/* Is dir empty but for lost+found?  Fills what with the first other entry. */
static int dir_empty(int fd, char *what, size_t n)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;

	what[0] = 0;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "lost+found"))
			continue;
		snprintf(what, n, "%s", de->d_name);
		break;
	}
	closedir(d);
	return 0;
}

/* Opens dir/a/b/c (path "/a/b/c") one component at a time, never following
 * a symbolic link; fills fds[0..ncomp) (fds[0] is a copy of dirfd). */
static int open_components(int dirfd, const char *path, int *fds, char (*names)[256], size_t max, size_t *ncomp)
{
	char buf[4096], *tok, *save = NULL;
	size_t k = 0;

	snprintf(buf, sizeof buf, "%s", path);
	fds[k++] = dup(dirfd);
	if (fds[0] < 0)
		return -errno;
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (k >= max || strlen(tok) >= 256 || !strcmp(tok, ".") || !strcmp(tok, "..")) {
			*ncomp = k;
			return -EINVAL;
		}
		snprintf(names[k], 256, "%s", tok);
		fds[k] = openat(fds[k - 1], tok, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[k] < 0) {
			*ncomp = k;
			return -errno;
		}
		k++;
	}
	*ncomp = k;
	return 0;
}

struct terr {
	const struct lb_image_restore_opts *o;
	struct lb_image_restore_stats *st;
};

static void tree_restore_error(void *ctx, const char *path, size_t pathlen, const char *msg)
{
	struct terr *te = ctx;

	if (te->o->error)
		te->o->error(te->o->error_ctx, path, pathlen, msg);
}

static int image_tree_restore(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_image_info *info,
			      const struct lb_image_restore_opts *o, struct lb_image_restore_stats *st)
{
	const char *target = o->target;
	char stage[64], other[256], *stagepath = NULL;
	struct terr te = { .o = o, .st = st };
	const char *inc[1] = { info->root };
	struct lb_restore_opts ro = { .includes = inc, .nincludes = 1, .error = tree_restore_error, .error_ctx = &te,
				      .progress = o->progress, .workers = o->workers };
	struct lb_restore_stats rs;
	enum { MAXC = 256 };
	int fds[MAXC], tfd = -1, e;
	char (*names)[256] = NULL;
	size_t nc = 0;
	struct stat rst;
	struct timespec ts[2];
	DIR *d = NULL;
	struct dirent *de;
	int64_t t0 = lb_mono_ns();

	st->tree = true;
	if (mkdir(target, 0755) == 0)
		st->created = true;
	else if (errno != EEXIST)
		return lb_errno(-errno, "target %s", target);
	tfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return lb_errno(errno == ENOTDIR ? -ENOTDIR : -errno, "target %s (a whole-server image is restored "
				"into an empty directory: the new root file system, mounted)", target);
	if ((e = dir_empty(tfd, other, sizeof other)) < 0) {
		e = lb_errno(e, "target %s", target);
		goto out;
	}
	if (other[0]) {
		e = lb_err(-ENOTEMPTY, "target %s is not empty (it holds %s): a whole-server image is restored onto an "
			   "empty root; nothing was written", target, other);
		goto out;
	}
	snprintf(stage, sizeof stage, ".lifeboat-restore-%ld", (long)getpid());
	if (mkdirat(tfd, stage, 0700) < 0) {
		e = lb_errno(-errno, "%s/%s", target, stage);
		goto out;
	}
	if (asprintf(&stagepath, "%s/%s", target, stage) < 0) {
		stagepath = NULL;
		e = -ENOMEM;
		goto out;
	}
	ro.target = stagepath;
	if ((e = lb_restore_run(r, s, &ro, &rs)) < 0)
		goto out;
	st->files = rs.files;
	st->dirs = rs.dirs;
	st->others = rs.others;
	st->links = rs.links;
	st->errors = rs.errors;
	st->size = rs.bytes;
	st->bytes_written = rs.bytes;
	/* the server's root: its entries to the top of the target */
	names = calloc(MAXC, sizeof *names);
	if (!names) {
		e = -ENOMEM;
		goto out;
	}
	{
		int sfd = openat(tfd, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sfd < 0) {
			e = lb_errno(-errno, "%s", stagepath);
			goto out;
		}
		e = open_components(sfd, info->root, fds, names, MAXC, &nc);
		close(sfd);
	}
	if (e < 0) {
		e = lb_errno(e, "%s%s: the image's root directory was not restored", stagepath, info->root);
		goto out;
	}
	if (fstat(fds[nc - 1], &rst) < 0) {
		e = lb_errno(-errno, "%s%s", stagepath, info->root);
		goto out;
	}
	{
		int dd = dup(fds[nc - 1]);

		d = dd >= 0 ? fdopendir(dd) : NULL;
		if (!d) {
			e = lb_errno(-errno, "%s%s", stagepath, info->root);
			if (dd >= 0)
				close(dd);
			goto out;
		}
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (renameat2(fds[nc - 1], de->d_name, tfd, de->d_name, RENAME_NOREPLACE) == 0)
			continue;
		if (errno == EEXIST && !strcmp(de->d_name, "lost+found") &&
		    unlinkat(fds[nc - 1], de->d_name, AT_REMOVEDIR) == 0)
			continue; /* the new file system's own, empty one is kept */
		e = lb_errno(-errno, "cannot move %s%s/%s to %s/%s", stagepath, info->root, de->d_name, target,
			     de->d_name);
		goto out;
	}
	if (errno) {
		e = lb_errno(-errno, "%s%s", stagepath, info->root);
		goto out;
	}
	/* the staging directories, now empty */
	for (size_t k = nc; k-- > 1;) {
		close(fds[k]);
		fds[k] = -1;
		if (unlinkat(fds[k - 1], names[k], AT_REMOVEDIR) < 0) {
			e = lb_errno(-errno, "cannot remove the staging directory %s (component %s)", stagepath,
				     names[k]);
			goto out;
		}
	}
	if (unlinkat(tfd, stage, AT_REMOVEDIR) < 0) {
		e = lb_errno(-errno, "cannot remove the staging directory %s", stagepath);
		goto out;
	}
	/* the target is the server's root now: its owner, mode and times */
	ts[0] = rst.st_atim;
	ts[1] = rst.st_mtim;
	if (fchown(tfd, rst.st_uid, rst.st_gid) < 0 || fchmod(tfd, rst.st_mode & 07777) < 0 ||
	    futimens(tfd, ts) < 0) {
		e = lb_errno(-errno, "target %s: cannot give it the image root's owner, mode and times", target);
		goto out;
	}
	if (syncfs(tfd) < 0) {
		e = lb_errno(-errno, "target %s: syncfs", target);
		goto out;
	}
	st->duration_ns = lb_mono_ns() - t0;
	lb_log(LB_LOG_INFO, "image restore: %s: %llu files, %llu directories, %llu bytes, %llu errors; %.3f s",
	       target, (unsigned long long)st->files, (unsigned long long)st->dirs, (unsigned long long)st->size,
	       (unsigned long long)st->errors, (double)st->duration_ns / 1e9);
	e = 0;
out:
	if (d)
		closedir(d);
	for (size_t k = 0; k < nc; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	if (e < 0 && stagepath && st->files + st->dirs > 0)
		lb_err_wrap(e, "%s is incomplete (what was restored is in %s)", target, stagepath);
	free(names);
	free(stagepath);
	close(tfd);
	return e;
}

int lb_image_restore(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_image_restore_opts *o,
		     struct lb_image_restore_stats *st)
{
	struct rctx c = { .r = r, .o = o, .st = st, .pg = o->progress, .fd = -1 };
	struct lb_image_info info;
	const struct lb_node *n = NULL;
	struct lb_tree t;
	unsigned nworkers = o->workers;
	pthread_t th[64];
	unsigned started = 0;
	uint64_t off = 0;
	int64_t t0 = lb_mono_ns();
	int e;

	memset(st, 0, sizeof *st);
	lb_tree_init(&t);
	pthread_mutex_init(&c.mu, NULL);
	if (!o->target || !o->target[0]) {
		e = lb_err(-EINVAL, "image restore: no target given");
		goto out;
	}
	if ((e = lb_image_info(s, &info)) < 0)
		goto out;
	if (!r->index_loaded && (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	if (info.tree) {
		e = image_tree_restore(r, s, &info, o, st);
		goto out;
	}
	if ((e = image_node(r, s, &t, &n)) < 0)
		goto out;
	if (n->size != info.size) {
		e = lb_err(-LB_E_CORRUPT, "snapshot %.12s: the image is %llu bytes, its file %llu", s->id,
			   (unsigned long long)info.size, (unsigned long long)n->size);
		goto out;
	}
	c.node = n;
	st->size = n->size;
	for (size_t i = 0; i < n->nextents; i++) {
		const struct lb_extent *x = &n->extents[i];

		if (!x->hole && x->len > LB_MAX((uint64_t)r->cfg.chunk_max, (uint64_t)CMP_PIECE)) {
			e = lb_err(-LB_E_CORRUPT, "snapshot %.12s: a chunk of %llu bytes, more than the repository's "
				   "maximum", s->id, (unsigned long long)x->len);
			goto out;
		}
		if (x->hole) {
			for (uint64_t p = 0; p < x->len && e == 0; p += HOLE_PIECE)
				e = add_item(&c, off + p, LB_MIN((uint64_t)HOLE_PIECE, x->len - p), i, true);
		} else {
			e = add_item(&c, off, x->len, i, false);
		}
		if (e < 0)
			goto out;
		off += x->len;
	}
	if (off != n->size) {
		e = lb_err(-LB_E_CORRUPT, "snapshot %.12s: the image's extents add up to %llu bytes, its size is %llu",
			   s->id, (unsigned long long)off, (unsigned long long)n->size);
		goto out;
	}
	/* nothing has been written yet: every refusal comes before this */
	if ((e = open_target(&c, n->size)) < 0)
		goto out;
	if (c.pg) {
		__atomic_store_n(&c.pg->bytes_total, n->size, __ATOMIC_RELAXED);
		__atomic_store_n(&c.pg->files_total, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&c.pg->total_done, 1, __ATOMIC_RELAXED);
		lb_progress_op(c.pg, o->target);
	}
	posix_fadvise(c.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!nworkers) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		nworkers = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	for (unsigned i = 1; i < nworkers && i < 64; i++)
		if (pthread_create(&th[started], NULL, restore_main, &c) == 0)
			started++;
	restore_main(&c);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (c.fatal) {
		e = c.fatal;
		lb_err_set_text(c.fatal_msg);
		if (st->created)
			lb_err_wrap(e, "%s (the new file was removed)", o->target);
		else if (st->bytes_written || st->bytes_zeroed)
			lb_err_wrap(e, "%s is incomplete", o->target);
		goto out;
	}
	if (c.pg)
		__atomic_store_n(&c.pg->phase, LB_PHASE_COMMIT, __ATOMIC_RELAXED);
	if (fsync(c.fd) < 0) {
		e = lb_errno(-errno, "target %s: fsync", o->target);
		goto out;
	}
	if (c.pg)
		__atomic_add_fetch(&c.pg->files, 1, __ATOMIC_RELAXED);
	st->duration_ns = lb_mono_ns() - t0;
	lb_log(LB_LOG_INFO, "image restore: %s: %llu bytes; %llu compared, %llu written, %llu zeroed, %llu already "
	       "right; %llu chunks fetched; %.3f s", o->target, (unsigned long long)st->size,
	       (unsigned long long)st->bytes_compared, (unsigned long long)st->bytes_written,
	       (unsigned long long)st->bytes_zeroed, (unsigned long long)st->bytes_skipped,
	       (unsigned long long)st->chunks_fetched, (double)st->duration_ns / 1e9);
	e = 0;
out:
	lb_progress_op(c.pg, NULL);
	if (c.fd >= 0)
		close(c.fd);
	if (e < 0 && st->created)
		unlink(o->target); /* a file this run made and could not finish */
	free(c.items);
	lb_tree_release(&t);
	pthread_mutex_destroy(&c.mu);
	return e;
}
