/* Restore, in three phases:
 *
 * 1. plan (one thread): walk the snapshot's trees; create directories,
 *    symlinks, devices, FIFOs and hard links; create each regular file at
 *    its final size (holes stay holes); list every (blob, file, offset)
 *    the files need.
 * 2. fill (one thread per CPU): take the packs one at a time in offset
 *    order, read each pack once, open each blob once (authenticate,
 *    decompress, verify its id) and write it wherever it belongs.  A file
 *    whose last blob lands gets its metadata and is closed.
 * 3. finish: directory metadata, deepest first.
 *
 * Safety: every file-system step goes through directory descriptors with
 * O_NOFOLLOW, names that could leave the target are refused, and nothing
 * is ever created outside --target. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lifeboat/browse.h"
#include "lifeboat/restore.h"
#include "lifeboat/snapshot.h"
#include "snap/meta.h"
#include "store/store.h"

#define DIR_FDS 64      /* directory descriptors kept open in the fill phase */
#define FILE_FDS 256    /* file descriptors kept open in the fill phase */
#define READ_SPAN_MAX (64u << 20)
#define NO_DIR UINT32_MAX

enum match { SKIP, ANCESTOR, FULL };

struct link_ent {
	uint32_t dir;
	char *name;
	uint32_t file;         /* its content-filling entry in files, or NO_DIR if complete */
};

/* A second name of a file still being filled: removed with it if it fails. */
struct alias {
	uint32_t file, dir;
	char *name;
};

struct rdir {
	uint32_t parent;       /* NO_DIR for the target itself */
	char *name;
	struct lb_node meta;   /* applied in phase 3 (not for the target) */
	int fd;                /* cached descriptor or -1 */
	unsigned users;
	uint64_t lru;
	bool fresh;            /* made by this restore: nothing was in it before */
};

struct rfile {
	uint32_t dir;
	char *name;
	struct lb_node meta;   /* without extents */
	uint32_t pending;      /* blob writes still to land (atomic) */
	int failed;            /* a blob could not be read or written */
	int fd;                /* cached write descriptor or -1 */
	unsigned users;
	uint64_t lru;
	bool created;          /* exists on disk (made on its first write) */
	bool opening;          /* a thread is opening it (outside the lock) */
	bool trailing_hole;    /* needs ftruncate to its size at the end */
	bool mode_set;         /* to be created with its final mode: no chmod needed */
	bool created_here;     /* file_get created it (so the mode took effect) */
	char err[256];
};

struct ref {
	uint32_t pack, offset; /* where the blob is */
	uint32_t file;
	uint64_t foff;         /* where it goes */
	uint32_t stored_len, raw_len;
	uint8_t type, flags;
	uint8_t id[32];
};

struct rctx {
	struct lb_repo *r;
	const struct lb_restore_opts *o;
	struct lb_restore_stats *st;
	struct lb_progress *pg;
	bool root;
	uid_t euid;
	gid_t egid;
	mode_t umask;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* a file finished opening */       /* stats, reports, descriptor caches */

	/* phase 1 */
	struct lb_buf path;       /* "/a/b" inside the snapshot */
	struct lb_buf blob;
	char **incl;
	bool *incl_hit;
	size_t nincl;
	struct link_ent *links;
	size_t nlinks, caplinks;
	struct lb_inomap linkmap; /* (dev, ino) -> index in links */
	struct alias *aliases;
	size_t naliases, capaliases;

	struct rdir *dirs;
	size_t ndirs, capdirs;
	struct rfile *files;
	size_t nfiles, capfiles;
	struct ref *refs;
	size_t nrefs, caprefs;

	/* phase 2 */
	size_t *groups;           /* start of each pack's run in refs */
	size_t ngroups, next_group;
	unsigned open_dirs, open_files;
	uint64_t tick;
	int fatal;
	char fatal_msg[1024];
};

/* ---- reporting ---- */

/* The snapshot path of a file or directory, rebuilt for a message. */
static void entry_path(struct rctx *c, uint32_t dir, const char *name, char *out, size_t n)
{
	const char *parts[512];
	size_t np = 0, w = 0;

	for (uint32_t d = dir; d != NO_DIR && c->dirs[d].parent != NO_DIR && np < 511; d = c->dirs[d].parent)
		parts[np++] = c->dirs[d].name;
	out[0] = 0;
	while (np-- > 0 && w + 1 < n)
		w += (size_t)snprintf(out + w, n - w, "/%s", parts[np]);
	if (name && w + 1 < n)
		snprintf(out + w, n - w, "/%s", name);
}

static void vreport(struct rctx *c, const char *path, size_t pathlen, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof msg, fmt, ap);
	pthread_mutex_lock(&c->mu);
	c->st->errors++;
	if (c->o->error)
		c->o->error(c->o->error_ctx, path, pathlen, msg);
	pthread_mutex_unlock(&c->mu);
}

/* Reports against the path in hand (phase 1). */
static void report(struct rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct rctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, (const char *)c->path.data, c->path.len, fmt, ap);
	va_end(ap);
}

/* Reports against an entry by its place in the tables (phases 2, 3). */
static void report_at(struct rctx *c, uint32_t dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report_at(struct rctx *c, uint32_t dir, const char *name, const char *fmt, ...)
{
	char path[8192];
	va_list ap;

	entry_path(c, dir, name, path, sizeof path);
	va_start(ap, fmt);
	vreport(c, path, strlen(path), fmt, ap);
	va_end(ap);
}

static enum match match_path(struct rctx *c, const char *p)
{
	size_t pl = strlen(p);
	enum match m = SKIP;

	if (!c->nincl)
		return FULL;
	for (size_t i = 0; i < c->nincl; i++) {
		const char *in = c->incl[i];
		size_t il = strlen(in);

		if (il == 1 || (pl >= il && !strncmp(p, in, il) && (p[il] == 0 || p[il] == '/'))) {
			c->incl_hit[i] = true;
			return FULL;
		}
		if (il > pl && !strncmp(in, p, pl) && in[pl] == '/')
			m = ANCESTOR;
	}
	return m;
}

/* ---- metadata ---- */

/* Applies owner, xattrs (ACLs included), mode and times.  Order matters:
 * chown clears setuid bits and capabilities, so it comes first; chmod
 * after the ACL xattrs keeps the mode exact.  Returns the number of
 * failures, with msg describing the first. */
static int apply_meta(struct rctx *c, int dirfd, const char *name, int fd, const struct lb_node *n, bool ours,
		      bool mode_set, char *msg, size_t msgsz)
{
	struct timespec ts[2] = {
		{ .tv_sec = n->atime_s, .tv_nsec = n->atime_ns },
		{ .tv_sec = n->mtime_s, .tv_nsec = n->mtime_ns },
	};
	bool is_link = n->type == LB_NODE_SYMLINK;
	int r, bad = 0;

	msg[0] = 0;
	/* ours: made by this restore in a directory it made, so owned by us already */
	if (ours && n->uid == c->euid && n->gid == c->egid)
		r = 0;
	else
		r = fd >= 0 ? fchown(fd, n->uid, n->gid) : fchownat(dirfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && (c->root || errno != EPERM) && !bad++)
		snprintf(msg, msgsz, "cannot set owner %u:%u: %s", n->uid, n->gid, strerror(errno));
	if (n->nxattrs && lb_xattrs_apply(dirfd, name, n) > 0 && (c->root || !strstr(lb_errmsg(), "ermission")) &&
	    !bad++)
		snprintf(msg, msgsz, "%s", lb_errmsg());
	if (!is_link && !(mode_set && !n->nxattrs)) {
		r = fd >= 0 ? fchmod(fd, n->mode) : fchmodat(dirfd, name, n->mode, 0);
		if (r < 0 && !bad++)
			snprintf(msg, msgsz, "cannot set mode %04o: %s", n->mode, strerror(errno));
	}
	r = fd >= 0 ? futimens(fd, ts) : utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && !bad++)
		snprintf(msg, msgsz, "cannot set times: %s", strerror(errno));
	return bad;
}

/* Removes what is in the way of a non-directory entry. */
static int clear_slot(struct rctx *c, int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
			return 0;
		report(c, "a directory is in the way and is not empty; not replaced");
		return -EISDIR;
	}
	if (unlinkat(dirfd, name, 0) < 0) {
		report(c, "cannot replace the existing entry: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- tables ---- */

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	p = realloc(*v, ncap * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

static int add_dir(struct rctx *c, uint32_t parent, const char *name, const struct lb_node *n, uint32_t *idx)
{
	struct rdir *d;
	int e;

	if ((e = grow((void **)&c->dirs, &c->capdirs, c->ndirs, sizeof *c->dirs)) < 0)
		return e;
	d = &c->dirs[c->ndirs];
	memset(d, 0, sizeof *d);
	d->parent = parent;
	d->fd = -1;
	d->name = strdup(name ? name : "");
	if (!d->name)
		return -ENOMEM;
	if (n && (e = lb_node_copy(&d->meta, n)) < 0) {
		free(d->name);
		return e;
	}
	*idx = (uint32_t)c->ndirs++;
	return 0;
}

/* ---- descriptor caches (phase 2 and 3) ---- */

/* Called with c->mu held.  A descriptor of dir d, opened one component at a
 * time below the target with O_NOFOLLOW; the caller releases it with
 * dir_put_locked. */
static int dir_get_locked(struct rctx *c, uint32_t d)
{
	struct rdir *x = &c->dirs[d];
	int pfd, fd;

	if (x->fd >= 0) {
		x->users++;
		x->lru = ++c->tick;
		return x->fd;
	}
	if (x->parent == NO_DIR)
		return -EBADF; /* the target's descriptor never closes */
	if (c->open_dirs >= DIR_FDS) {
		struct rdir *victim = NULL;

		for (size_t i = 0; i < c->ndirs; i++)
			if (c->dirs[i].fd >= 0 && !c->dirs[i].users && c->dirs[i].parent != NO_DIR &&
			    (!victim || c->dirs[i].lru < victim->lru))
				victim = &c->dirs[i];
		if (victim) {
			close(victim->fd);
			victim->fd = -1;
			c->open_dirs--;
		}
	}
	pfd = dir_get_locked(c, x->parent);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, x->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	c->dirs[x->parent].users--;
	if (fd < 0)
		return -errno;
	x->fd = fd;
	x->users = 1;
	x->lru = ++c->tick;
	c->open_dirs++;
	return fd;
}

static void dir_put_locked(struct rctx *c, uint32_t d)
{
	if (c->dirs[d].users)
		c->dirs[d].users--;
}

/* A write descriptor for file f (held until file_put).  The open itself
 * (often a create) runs outside the lock. */
static int file_get(struct rctx *c, uint32_t f)
{
	struct rfile *x = &c->files[f];
	int dfd, fd;
	bool create;

	pthread_mutex_lock(&c->mu);
	while (x->opening)
		pthread_cond_wait(&c->cv, &c->mu);
	if (x->fd >= 0) {
		x->users++;
		x->lru = ++c->tick;
		pthread_mutex_unlock(&c->mu);
		return x->fd;
	}
	if (c->open_files >= FILE_FDS) {
		struct rfile *victim = NULL;

		for (size_t i = 0; i < c->nfiles; i++)
			if (c->files[i].fd >= 0 && !c->files[i].users && (!victim || c->files[i].lru < victim->lru))
				victim = &c->files[i];
		if (victim) {
			close(victim->fd);
			victim->fd = -1;
			c->open_files--;
		}
	}
	dfd = dir_get_locked(c, x->dir);
	if (dfd < 0) {
		pthread_mutex_unlock(&c->mu);
		return dfd;
	}
	x->opening = true;
	create = !x->created;
	pthread_mutex_unlock(&c->mu);
	fd = create ? openat(dfd, x->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			     x->mode_set ? x->meta.mode : 0600)
		    : openat(dfd, x->name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	pthread_mutex_lock(&c->mu);
	dir_put_locked(c, x->dir);
	x->opening = false;
	if (fd >= 0) {
		if (create)
			x->created_here = true;
		x->created = true;
		x->fd = fd;
		x->users = 1;
		x->lru = ++c->tick;
		c->open_files++;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return fd;
}

static void file_put(struct rctx *c, uint32_t f)
{
	pthread_mutex_lock(&c->mu);
	if (c->files[f].users)
		c->files[f].users--;
	pthread_mutex_unlock(&c->mu);
}

/* The last write of file f landed (or failed): give it its metadata, or
 * remove it, and close it. */
static void file_finish(struct rctx *c, uint32_t f)
{
	struct rfile *x = &c->files[f];
	char msg[512];
	int fd = -1, dfd;

	if (!x->failed)
		fd = file_get(c, f);
	pthread_mutex_lock(&c->mu);
	dfd = dir_get_locked(c, x->dir);
	pthread_mutex_unlock(&c->mu);
	if (!x->failed && fd >= 0 && x->trailing_hole && ftruncate(fd, (off_t)x->meta.size) < 0) {
		snprintf(x->err, sizeof x->err, "cannot size to %llu bytes: %s", (unsigned long long)x->meta.size,
			 strerror(errno));
		x->failed = 1;
	}
	if (x->failed || fd < 0) {
		if (dfd >= 0 && x->created)
			unlinkat(dfd, x->name, 0);
		report_at(c, x->dir, x->name, "not restored: %s", x->err[0] ? x->err : strerror(-fd));
		/* its other names must not survive with half its content */
		for (size_t i = 0; i < c->naliases; i++) {
			int afd;

			if (c->aliases[i].file != f)
				continue;
			pthread_mutex_lock(&c->mu);
			afd = dir_get_locked(c, c->aliases[i].dir);
			pthread_mutex_unlock(&c->mu);
			if (afd >= 0) {
				unlinkat(afd, c->aliases[i].name, 0);
				pthread_mutex_lock(&c->mu);
				dir_put_locked(c, c->aliases[i].dir);
				pthread_mutex_unlock(&c->mu);
			}
			report_at(c, c->aliases[i].dir, c->aliases[i].name, "not restored: a hard link to a file "
				  "that could not be restored");
		}
	} else {
		if (apply_meta(c, dfd, x->name, fd, &x->meta, c->dirs[x->dir].fresh, x->mode_set && x->created_here,
			       msg, sizeof msg))
			report_at(c, x->dir, x->name, "%s", msg);
		pthread_mutex_lock(&c->mu);
		c->st->files++;
		pthread_mutex_unlock(&c->mu);
		if (c->pg)
			__atomic_add_fetch(&c->pg->files, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_lock(&c->mu);
	if (dfd >= 0)
		dir_put_locked(c, x->dir);
	if (fd >= 0)
		x->users--;
	if (x->fd >= 0 && !x->users) {
		close(x->fd);
		x->fd = -1;
		c->open_files--;
	}
	pthread_mutex_unlock(&c->mu);
	lb_node_release(&x->meta);
}

static void file_fail(struct rctx *c, uint32_t f, const char *why)
{
	struct rfile *x = &c->files[f];

	pthread_mutex_lock(&c->mu);
	if (!x->failed) {
		x->failed = 1;
		snprintf(x->err, sizeof x->err, "%s", why);
	}
	pthread_mutex_unlock(&c->mu);
}

static void ref_done(struct rctx *c, uint32_t f)
{
	if (__atomic_sub_fetch(&c->files[f].pending, 1, __ATOMIC_ACQ_REL) == 0)
		file_finish(c, f);
}

/* ---- phase 1: plan ---- */

static struct link_ent *link_find(struct rctx *c, const struct lb_node *n)
{
	size_t i = lb_inomap_get(&c->linkmap, n->dev, n->ino);

	return i == SIZE_MAX ? NULL : &c->links[i];
}

static void link_remember(struct rctx *c, const struct lb_node *n, uint32_t dir, const char *name, uint32_t file)
{
	struct link_ent *l;

	if (grow((void **)&c->links, &c->caplinks, c->nlinks, sizeof *c->links) < 0)
		return; /* later links become copies; the content is the same */
	l = &c->links[c->nlinks];
	l->dir = dir;
	l->file = file;
	if (!(l->name = strdup(name)))
		return;
	/* the group's first name stays its link target */
	if (lb_inomap_add(&c->linkmap, n->dev, n->ino, c->nlinks) != 0) {
		free(l->name);
		return;
	}
	c->nlinks++;
}

/* Links dirfd/name to an earlier member of its hard-link group; 1 when
 * there is none (or linking failed: the caller then makes a copy). */
static int try_link(struct rctx *c, uint32_t dir, int dirfd, const char *name, const struct lb_node *n)
{
	struct link_ent *l = link_find(c, n);
	int pfd, r;

	if (!l)
		return 1;
	pthread_mutex_lock(&c->mu);
	pfd = dir_get_locked(c, l->dir);
	pthread_mutex_unlock(&c->mu);
	if (pfd < 0)
		return 1;
	r = linkat(pfd, l->name, dirfd, name, 0);
	pthread_mutex_lock(&c->mu);
	dir_put_locked(c, l->dir);
	pthread_mutex_unlock(&c->mu);
	if (r < 0)
		return 1;
	c->st->links++;
	if (l->file != NO_DIR && grow((void **)&c->aliases, &c->capaliases, c->naliases, sizeof *c->aliases) == 0 &&
	    (c->aliases[c->naliases].name = strdup(name))) {
		c->aliases[c->naliases].file = l->file;
		c->aliases[c->naliases].dir = dir;
		c->naliases++;
	}
	return 0;
}

static void plan_file(struct rctx *c, uint32_t dir, int dirfd, const char *name, const struct lb_node *n)
{
	struct rfile *x;
	uint32_t f, nblobs = 0;
	uint64_t off = 0, data_end = 0;
	bool fresh = c->dirs[dir].fresh, create_now;
	char msg[512];
	int fd = -1;

	if (!fresh && clear_slot(c, dirfd, name) < 0)
		return;
	if (n->nlink > 1 && try_link(c, dir, dirfd, name, n) == 0)
		return;
	/* find every chunk now: a missing one is reported before any work */
	for (size_t i = 0; i < n->nextents; i++) {
		struct lb_blob_loc loc;
		char hex[65];
		int found;

		if (n->extents[i].hole) {
			off += n->extents[i].len;
			continue;
		}
		pthread_mutex_lock(&c->r->lock);
		found = lb_index_lookup(c->r->idx, n->extents[i].id, &loc);
		pthread_mutex_unlock(&c->r->lock);
		if (!found || loc.type != LB_BLOB_DATA || loc.raw_len != n->extents[i].len) {
			lb_hex(hex, n->extents[i].id, 32);
			report(c, "not restored: chunk %s at offset %llu is %s", hex, (unsigned long long)off,
			       found ? "of the wrong kind or length" : "missing from the repository");
			c->nrefs -= nblobs;
			return;
		}
		if (grow((void **)&c->refs, &c->caprefs, c->nrefs, sizeof *c->refs) < 0) {
			report(c, "out of memory planning the restore");
			c->nrefs -= nblobs;
			return;
		}
		c->refs[c->nrefs++] = (struct ref){
			.pack = loc.pack, .offset = loc.offset, .file = (uint32_t)c->nfiles, .foff = off,
			.stored_len = loc.stored_len, .raw_len = loc.raw_len, .type = loc.type,
			.flags = loc.stored_len < loc.raw_len ? LB_BLOB_FLAG_ZSTD : 0,
		};
		memcpy(c->refs[c->nrefs - 1].id, n->extents[i].id, 32);
		nblobs++;
		off += n->extents[i].len;
		data_end = off;
	}
	/* a file is made by its first write, unless it has no content to
	 * write or other names must link to it now */
	create_now = nblobs == 0 || n->nlink > 1;
	if (create_now) {
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || (n->size > data_end && ftruncate(fd, (off_t)n->size) < 0)) {
			report(c, "cannot create: %s", strerror(errno));
			if (fd >= 0) {
				close(fd);
				unlinkat(dirfd, name, 0);
			}
			c->nrefs -= nblobs;
			return;
		}
	}
	if (nblobs == 0) {
		/* empty, or holes only: done now */
		if (apply_meta(c, dirfd, name, fd, n, fresh, false, msg, sizeof msg))
			report(c, "%s", msg);
		close(fd);
		c->st->files++;
		if (n->nlink > 1)
			link_remember(c, n, dir, name, NO_DIR);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (grow((void **)&c->files, &c->capfiles, c->nfiles, sizeof *c->files) < 0 ||
	    !(name = strdup(name))) {
		report(c, "out of memory planning the restore");
		c->nrefs -= nblobs;
		return;
	}
	f = (uint32_t)c->nfiles++;
	x = &c->files[f];
	memset(x, 0, sizeof *x);
	x->dir = dir;
	x->name = (char *)name;
	x->fd = -1;
	x->pending = nblobs;
	x->created = create_now;
	x->trailing_hole = n->size > data_end;
	/* as root, a file can be created with its final permissions (the fill
	 * may reopen it for writing whatever they say): one chmod fewer */
	x->mode_set = c->root && !(n->mode & ~0777u) && !(n->mode & c->umask);
	if (lb_node_copy(&x->meta, n) == 0) {
		free(x->meta.extents); /* the refs hold what is needed */
		x->meta.extents = NULL;
		x->meta.nextents = x->meta.capextents = 0;
	} else {
		x->failed = 1;
		snprintf(x->err, sizeof x->err, "out of memory");
	}
	c->st->bytes += n->size;
	if (n->nlink > 1)
		link_remember(c, n, dir, name, f);
}

static void plan_special(struct rctx *c, uint32_t dir, int dirfd, const char *name, const struct lb_node *n)
{
	char msg[512];
	int r;

	if (!c->dirs[dir].fresh && clear_slot(c, dirfd, name) < 0)
		return;
	switch (n->type) {
	case LB_NODE_SYMLINK:
		if (memchr(n->target, 0, n->targetlen) || n->targetlen == 0) {
			report(c, "refused: symlink target is empty or contains a NUL byte");
			return;
		}
		r = symlinkat((const char *)n->target, dirfd, name);
		break;
	case LB_NODE_FIFO:
		r = mkfifoat(dirfd, name, 0600);
		break;
	case LB_NODE_CHR:
		r = mknodat(dirfd, name, S_IFCHR | 0600, (dev_t)n->rdev);
		break;
	case LB_NODE_BLK:
		r = mknodat(dirfd, name, S_IFBLK | 0600, (dev_t)n->rdev);
		break;
	default:
		report(c, "unknown entry type %u", n->type);
		return;
	}
	if (r < 0) {
		report(c, "cannot create: %s", strerror(errno));
		return;
	}
	if (apply_meta(c, dirfd, name, -1, n, c->dirs[dir].fresh, false, msg, sizeof msg))
		report(c, "%s", msg);
	c->st->others++;
}

static int plan_tree(struct rctx *c, uint32_t dir, int dirfd, const uint8_t id[32], enum match m);

static int plan_dir(struct rctx *c, uint32_t parent, int dirfd, const char *name, const struct lb_node *n,
		    enum match m)
{
	bool fresh = false;
	uint32_t d;
	int fd, e;

	if (mkdirat(dirfd, name, 0700) == 0) {
		fresh = true;
	} else if (errno != EEXIST) {
		report(c, "cannot create directory: %s", strerror(errno));
		return 0;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			report(c, "refused: something that is not a directory (a symlink?) is in the way");
		else
			report(c, "cannot open directory: %s", strerror(errno));
		return 0;
	}
	/* a directory may be created 0700 and keep owner-only access until
	 * phase 3 gives it its mode: nothing is exposed half-restored */
	if ((e = add_dir(c, parent, name, n, &d)) < 0) {
		close(fd);
		return e;
	}
	c->dirs[d].fresh = fresh;
	c->st->dirs++;
	if (c->pg)
		__atomic_add_fetch(&c->pg->dirs, 1, __ATOMIC_RELAXED);
	e = plan_tree(c, d, fd, n->subtree, m);
	close(fd);
	return e;
}

static int plan_tree(struct rctx *c, uint32_t dir, int dirfd, const uint8_t id[32], enum match m)
{
	struct lb_tree t;
	size_t last = 0;
	int e;

	e = lb_repo_read_blob(c->r, id, LB_BLOB_TREE, &c->blob);
	if (e == 0)
		e = lb_tree_decode(c->blob.data, c->blob.len, &t);
	if (e == -ENOMEM || e == -LB_E_CANCELED)
		return e;
	if (e < 0) {
		report(c, "directory contents not restored: %s", lb_errmsg());
		return 0;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct lb_node *n = &t.nodes[i];
		enum match nm = m;
		size_t saved = c->path.len;
		const char *name;

		if (c->pg && c->pg->cancel) {
			e = lb_err(-LB_E_CANCELED, "canceled");
			break;
		}
		/* the display path carries the raw name even when it is refused */
		if ((e = lb_buf_put_u8(&c->path, '/')) < 0 || (e = lb_buf_append(&c->path, n->name, n->namelen)) < 0 ||
		    (e = lb_buf_put_u8(&c->path, 0)) < 0)
			break;
		c->path.len--;
		if (!lb_name_valid(n->name, n->namelen)) {
			char esc[1100];

			lb_escape(esc, sizeof esc, n->name, LB_MIN(n->namelen, 255));
			report(c, "refused: '%s' is not a valid file name", esc);
			goto next;
		}
		/* trees are sorted with unique names; anything else was made by
		 * hand, and a second entry of a name could follow a symlink made
		 * by the first */
		if (i > 0 && lb_name_cmp(t.nodes[last].name, t.nodes[last].namelen, n->name, n->namelen) >= 0) {
			report(c, "refused: a duplicate or out-of-order entry (the tree was not written by lifeboat)");
			goto next;
		}
		last = i;
		if (m != FULL) {
			nm = match_path(c, (const char *)c->path.data);
			if (nm == SKIP || (nm == ANCESTOR && n->type != LB_NODE_DIR))
				goto next;
		}
		name = (const char *)n->name; /* NUL-terminated by the decoder */
		if (n->type == LB_NODE_DIR)
			e = plan_dir(c, dir, dirfd, name, n, nm);
		else if (n->type == LB_NODE_FILE)
			plan_file(c, dir, dirfd, name, n);
		else
			plan_special(c, dir, dirfd, name, n);
		if (e < 0)
			break;
next:
		c->path.len = saved;
		c->path.data[saved] = 0;
	}
	lb_tree_release(&t);
	return e < 0 ? e : 0;
}

/* ---- phase 2: fill ---- */

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->foff < y->foff ? -1 : x->foff > y->foff;
}

static void set_fatal(struct rctx *c, int e)
{
	pthread_mutex_lock(&c->mu);
	if (!c->fatal) {
		c->fatal = e;
		snprintf(c->fatal_msg, sizeof c->fatal_msg, "%s", lb_errmsg());
	}
	pthread_mutex_unlock(&c->mu);
}

/* Writes one blob's plaintext to every ref that wants it. */
static void write_blob(struct rctx *c, const struct ref *refs, size_t n, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t f = refs[i].file;
		int fd, e;

		if (!c->files[f].failed) {
			fd = file_get(c, f);
			if (fd < 0) {
				file_fail(c, f, strerror(-fd));
			} else {
				e = lb_pwrite_full(fd, data, len, (off_t)refs[i].foff);
				file_put(c, f);
				if (e < 0) {
					char why[256];

					snprintf(why, sizeof why, "write at offset %llu: %s",
						 (unsigned long long)refs[i].foff, strerror(-e));
					file_fail(c, f, why);
				} else if (c->pg) {
					__atomic_add_fetch(&c->pg->bytes, len, __ATOMIC_RELAXED);
				}
			}
		}
		ref_done(c, f);
	}
}

/* All refs of one pack: read the span they cover once, then each blob. */
static void fill_pack(struct rctx *c, const struct ref *refs, size_t n, struct lb_buf *span, struct lb_buf *out)
{
	uint8_t key[LB_KEY_LEN];
	struct lb_aead *aead = NULL;
	char pname[65] = "?";
	uint64_t lo = refs[0].offset, hi = 0, need = 0;
	bool whole;
	int e;

	for (size_t i = 0; i < n; i++) {
		uint64_t end = (uint64_t)refs[i].offset + LB_BLOB_HEADER_LEN + refs[i].stored_len + LB_TAG_LEN;

		if (end > hi)
			hi = end;
		if (i == 0 || refs[i].offset != refs[i - 1].offset)
			need += end - refs[i].offset;
	}
	e = lb_repo_pack_key_num(c->r, refs[0].pack, key, pname);
	if (e == 0)
		e = lb_aead_new(c->r->cfg.enc, key, &aead);
	if (e < 0) {
		/* no key, no blob of this pack: each file that needs one is named */
		char why[256];

		snprintf(why, sizeof why, "pack %s: %s", pname, lb_errmsg()[0] ? lb_errmsg() : lb_strerror(e));
		for (size_t k = 0; k < n; k++) {
			file_fail(c, refs[k].file, why);
			ref_done(c, refs[k].file);
		}
		if (e == -ENOMEM)
			set_fatal(c, e);
		lb_wipe(key, sizeof key);
		return;
	}
	/* one read of the whole span when most of it is wanted */
	whole = e == 0 && hi - lo <= READ_SPAN_MAX && need * 2 >= hi - lo;
	if (whole) {
		lb_buf_reset(span);
		e = lb_buf_reserve(span, hi - lo);
		if (e == 0)
			e = c->r->be->ops->read_at(c->r->be, LB_KIND_PACK, pname, lo, span->data, hi - lo);
		if (e < 0) {
			whole = false; /* try blob by blob: damage may be local */
			e = 0;
		}
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		size_t reclen = LB_BLOB_HEADER_LEN + (size_t)refs[i].stored_len + LB_TAG_LEN;
		struct lb_toc_entry te = {
			.type = refs[i].type, .flags = refs[i].flags, .offset = refs[i].offset,
			.stored_len = refs[i].stored_len, .raw_len = refs[i].raw_len,
		};
		const uint8_t *rec;

		while (j < n && refs[j].offset == refs[i].offset)
			j++;
		memcpy(te.id, refs[i].id, 32);
		if (e == 0 && whole) {
			rec = span->data + (refs[i].offset - lo);
		} else if (e == 0) {
			lb_buf_reset(span);
			e = lb_buf_reserve(span, reclen);
			if (e == 0)
				e = c->r->be->ops->read_at(c->r->be, LB_KIND_PACK, pname, refs[i].offset, span->data, reclen);
			rec = span->data;
		} else {
			rec = NULL;
		}
		if (e == 0)
			e = lb_repo_open_blob_with(c->r, aead, refs[i].offset, rec, reclen, &te, out);
		if (e == 0) {
			write_blob(c, refs + i, j - i, out->data, out->len);
		} else {
			char why[256], hex[65];

			lb_hex(hex, refs[i].id, 32);
			snprintf(why, sizeof why, "pack %s: blob %s: %s", pname, hex,
				 lb_errmsg()[0] ? lb_errmsg() : lb_strerror(e));
			for (size_t k = i; k < j; k++) {
				file_fail(c, refs[k].file, why);
				ref_done(c, refs[k].file);
			}
			if (e == -ENOMEM)
				set_fatal(c, e);
			/* only this blob: the next one is tried afresh */
			if (e != -ENOMEM)
				e = 0;
		}
		i = j;
	}
	lb_aead_free(aead);
	lb_wipe(key, sizeof key);
}

static void *fill_main(void *arg)
{
	struct rctx *c = arg;
	struct lb_buf span, out;

	lb_buf_init(&span, READ_SPAN_MAX + LB_BLOB_MAX);
	lb_buf_init(&out, LB_BLOB_MAX);
	for (;;) {
		size_t g = __atomic_fetch_add(&c->next_group, 1, __ATOMIC_RELAXED);
		size_t a, b;

		if (g >= c->ngroups || __atomic_load_n(&c->fatal, __ATOMIC_RELAXED))
			break;
		a = c->groups[g];
		b = g + 1 < c->ngroups ? c->groups[g + 1] : c->nrefs;
		if (c->pg && c->pg->cancel) {
			lb_err(-LB_E_CANCELED, "canceled");
			set_fatal(c, -LB_E_CANCELED);
			break;
		}
		fill_pack(c, c->refs + a, b - a, &span, &out);
	}
	lb_buf_release(&span);
	lb_buf_release(&out);
	return NULL;
}

static int fill(struct rctx *c, unsigned nworkers)
{
	pthread_t th[64];
	unsigned started = 0;

	if (!c->nrefs)
		return 0;
	qsort(c->refs, c->nrefs, sizeof *c->refs, cmp_ref);
	c->groups = malloc(c->nrefs * sizeof *c->groups);
	if (!c->groups)
		return -ENOMEM;
	for (size_t i = 0; i < c->nrefs; i++)
		if (i == 0 || c->refs[i].pack != c->refs[i - 1].pack)
			c->groups[c->ngroups++] = i;
	if (nworkers > c->ngroups)
		nworkers = (unsigned)c->ngroups;
	for (unsigned i = 1; i < nworkers && i < 64; i++)
		if (pthread_create(&th[started], NULL, fill_main, c) == 0)
			started++;
	fill_main(c);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (c->fatal) {
		lb_err_set_text(c->fatal_msg);
		return c->fatal;
	}
	return 0;
}

/* ---- phase 3: directory metadata, deepest first ---- */

static void finish_dirs(struct rctx *c)
{
	char msg[512];

	/* dirs are in creation (pre-)order: reversed, children come before parents */
	for (size_t i = c->ndirs; i-- > 1;) {
		struct rdir *d = &c->dirs[i];
		int pfd, fd;

		pthread_mutex_lock(&c->mu);
		pfd = dir_get_locked(c, d->parent);
		fd = dir_get_locked(c, (uint32_t)i);
		pthread_mutex_unlock(&c->mu);
		if (pfd >= 0 && fd >= 0) {
			if (apply_meta(c, pfd, d->name, fd, &d->meta, c->dirs[d->parent].fresh, false, msg, sizeof msg))
				report_at(c, d->parent, d->name, "%s", msg);
		} else {
			report_at(c, d->parent, d->name, "cannot reopen the directory to set its metadata");
		}
		pthread_mutex_lock(&c->mu);
		if (fd >= 0)
			dir_put_locked(c, (uint32_t)i);
		if (pfd >= 0)
			dir_put_locked(c, d->parent);
		if (d->fd >= 0 && !d->users) {
			close(d->fd);
			d->fd = -1;
			c->open_dirs--;
		}
		pthread_mutex_unlock(&c->mu);
	}
}

/* ---- driver ---- */

static char *normalise_include(const char *in)
{
	size_t len = strlen(in);
	char *out = malloc(len + 2), *w = out;
	const char *p = in;

	if (!out)
		return NULL;
	*w++ = '/';
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		if (w > out + 1)
			*w++ = '/';
		while (*p && *p != '/')
			*w++ = *p++;
	}
	*w = 0;
	return out;
}

/* mkdir -p: a restore target may be a new path several levels deep. */
static int mkdir_parents(const char *path)
{
	char *p = strdup(path);
	size_t len;
	int e = 0;

	if (!p)
		return -ENOMEM;
	len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = 0;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == 0) {
			char ch = *s;

			*s = 0;
			if (mkdir(p, ch ? 0755 : 0700) < 0 && errno != EEXIST) {
				e = lb_errno(-errno, "target %s", p);
				break;
			}
			*s = ch;
			if (!ch)
				break;
		}
	}
	free(p);
	return e;
}

int lb_restore_run(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_restore_opts *o,
		   struct lb_restore_stats *st)
{
	struct rctx c = { .r = r, .o = o, .st = st, .pg = o->progress };
	unsigned nworkers = o->workers;
	int64_t t0 = lb_mono_ns(), t_plan = 0, t_fill = 0;
	uint32_t root;
	int e, tfd = -1;

	memset(st, 0, sizeof *st);
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	lb_buf_init(&c.path, 0);
	lb_buf_init(&c.blob, LB_BLOB_MAX);
	c.root = geteuid() == 0;
	c.euid = geteuid();
	c.egid = getegid();
	c.umask = umask(077); /* read it: there is no way to ask without setting */
	umask(c.umask);
	if (!nworkers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		nworkers = n > 0 ? (unsigned)n : 1;
	}
	if (!r->index_loaded && (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	if ((e = mkdir_parents(o->target)) < 0)
		goto out;
	tfd = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		e = lb_errno(-errno, "target %s", o->target);
		goto out;
	}
	if ((e = add_dir(&c, NO_DIR, "", NULL, &root)) < 0)
		goto out;
	c.dirs[root].fd = tfd;
	if (o->nincludes) {
		c.incl = calloc(o->nincludes, sizeof *c.incl);
		c.incl_hit = calloc(o->nincludes, sizeof *c.incl_hit);
		if (!c.incl || !c.incl_hit) {
			e = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < o->nincludes; i++) {
			if (!(c.incl[i] = normalise_include(o->includes[i]))) {
				e = -ENOMEM;
				goto out;
			}
			c.nincl++;
		}
	}
	lb_buf_append(&c.path, "", 1);
	c.path.len = 0;
	if (c.pg)
		__atomic_store_n(&c.pg->bytes_total, 0, __ATOMIC_RELAXED);
	e = plan_tree(&c, root, tfd, s->tree, c.nincl ? ANCESTOR : FULL);
	for (size_t i = 0; e == 0 && i < c.nincl; i++) {
		if (!c.incl_hit[i]) {
			lb_buf_reset(&c.path);
			lb_buf_append(&c.path, c.incl[i], strlen(c.incl[i]) + 1);
			c.path.len--;
			report(&c, "no such path in snapshot %.12s", s->id);
		}
	}
	if (c.pg) {
		__atomic_store_n(&c.pg->bytes_total, st->bytes, __ATOMIC_RELAXED);
		__atomic_store_n(&c.pg->total_done, 1, __ATOMIC_RELAXED);
	}
	t_plan = lb_mono_ns();
	if (e == 0)
		e = fill(&c, nworkers);
	t_fill = lb_mono_ns();
	if (e == 0 && !(c.pg && c.pg->cancel))
		finish_dirs(&c);
	if (e == 0)
		lb_log(LB_LOG_INFO, "restore: plan %.3f s (%zu files to fill, %zu blob writes in %zu packs), fill %.3f s, "
		       "directories %.3f s", (double)(t_plan - t0) / 1e9, c.nfiles, c.nrefs, c.ngroups,
		       (double)(t_fill - t_plan) / 1e9, (double)(lb_mono_ns() - t_fill) / 1e9);
	lb_progress_op(c.pg, NULL);
out:
	for (size_t i = 0; i < c.nincl; i++)
		free(c.incl[i]);
	free(c.incl);
	free(c.incl_hit);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].name);
	free(c.links);
	lb_inomap_free(&c.linkmap);
	for (size_t i = 0; i < c.naliases; i++)
		free(c.aliases[i].name);
	free(c.aliases);
	for (size_t i = 0; i < c.nfiles; i++) {
		if (c.files[i].fd >= 0)
			close(c.files[i].fd);
		free(c.files[i].name);
		lb_node_release(&c.files[i].meta);
	}
	free(c.files);
	for (size_t i = 0; i < c.ndirs; i++) {
		if (c.dirs[i].fd >= 0)
			close(c.dirs[i].fd);
		free(c.dirs[i].name);
		lb_node_release(&c.dirs[i].meta);
	}
	if (!c.ndirs && tfd >= 0)
		close(tfd);
	free(c.dirs);
	free(c.refs);
	free(c.groups);
	lb_buf_release(&c.path);
	lb_buf_release(&c.blob);
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.cv);
	return e;
}
