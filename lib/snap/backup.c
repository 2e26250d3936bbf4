/* Backup: walk the paths, chunk what changed, write trees bottom-up, then
 * the snapshot manifest.
 *
 * The walk runs in the calling thread and goes through directory file
 * descriptors (openat/fstatat), never full paths, so trees deeper than
 * PATH_MAX work and a path can never be swapped under us for a symlink.
 * Chunks go to the packer, whose workers compress and seal in parallel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lifeboat/backup.h"
#include "lifeboat/browse.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/version.h"
#include "snap/meta.h"
#include "snap/vtree.h"
#include "snap/walk.h"
#include "store/packer.h"

#define READ_BUF_MIN (4u << 20)
#define CHANGE_RETRIES 3

struct hl_ent {
	struct lb_extent *extents;
	size_t nextents;
	uint64_t size;
};

struct bctx {
	struct lb_repo *r;
	const struct lb_backup_opts *o;
	struct lb_progress *pg;
	struct lb_packer *pk;
	struct lb_backup_stats *st;
	struct lb_owner_cache *owners;
	struct lb_buf path;      /* NUL-terminated path of the entry in hand */
	struct lb_buf tbuf;      /* tree encoding scratch */
	uint8_t *rbuf;
	size_t rcap;
	dev_t root_dev;
	struct stat repo_st;
	bool have_repo_st;
	struct lb_walk_scan *scan; /* estimates the total for the progress line */
	struct pathmap { char *path, *from; } *maps; /* directories read from a snapshot of themselves */
	size_t nmaps;
	struct hl_ent *hl;       /* hard-link groups seen so far */
	size_t nhl, caphl;
	struct lb_inomap hlmap;  /* their (dev, ino) -> index in hl */
	/* sources' scanners (lifeboat/source.h): roots read their way */
	struct scanner {
		char *root;
		const struct lb_scanner_ops *ops;
		void *state;
	} *scanners;
	size_t nscanners;
	bool quiet_vanish;       /* lb_scan_file: a vanished file is the scanner's business, not a warning */
	void (*tap)(void *ctx, uint64_t off, const uint8_t *p, size_t n); /* a claimed file's reader */
	void *tap_ctx;
	json_t *parent_sections; /* the parent snapshot's "sources", for scanners */
};

/* What backup_file/backup_entry return for a file gone before it was read
 * while quiet_vanish is set. */
#define VANISHED 2

static bool canceled(struct bctx *c)
{
	return c->pg && c->pg->cancel;
}

/* Copies the scanner's running totals into the caller's progress. */
static void sync_estimate(struct bctx *c)
{
	uint64_t files, bytes;
	int done;

	if (!c->scan || !c->pg)
		return;
	lb_walk_scan_totals(c->scan, &files, &bytes, &done);
	__atomic_store_n(&c->pg->files_total, files, __ATOMIC_RELAXED);
	__atomic_store_n(&c->pg->bytes_total, bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&c->pg->total_done, done, __ATOMIC_RELAXED);
}

static void warn(struct bctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct bctx *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->st->warnings++;
	if (c->o->warn)
		c->o->warn(c->o->warn_ctx, (const char *)c->path.data, msg);
}

/* ---- path buffer ---- */

static int path_push(struct lb_buf *p, const char *name, size_t *saved)
{
	int e;

	*saved = p->len;
	if (p->len > 1 || (p->len == 1 && p->data[0] != '/'))
		if ((e = lb_buf_put_u8(p, '/')) < 0)
			return e;
	if ((e = lb_buf_append(p, name, strlen(name) + 1)) < 0)
		return e;
	p->len--; /* keep the NUL outside len */
	return 0;
}

static void path_pop(struct lb_buf *p, size_t saved)
{
	p->len = saved;
	p->data[p->len] = 0;
}

/* ---- hard links ---- */

static struct hl_ent *hl_find(struct bctx *c, uint64_t dev, uint64_t ino, bool insert)
{
	size_t i = lb_inomap_get(&c->hlmap, dev, ino);

	if (i != SIZE_MAX)
		return &c->hl[i];
	if (!insert)
		return NULL;
	if (c->nhl == c->caphl) {
		size_t ncap = c->caphl ? c->caphl * 2 : 256;
		struct hl_ent *n = realloc(c->hl, ncap * sizeof *n);

		if (!n)
			return NULL;
		c->hl = n;
		c->caphl = ncap;
	}
	if (lb_inomap_add(&c->hlmap, dev, ino, c->nhl) < 0)
		return NULL;
	c->hl[c->nhl] = (struct hl_ent){ 0 };
	return &c->hl[c->nhl++];
}

static int copy_extents(struct lb_node *n, const struct lb_extent *x, size_t cnt)
{
	free(n->extents);
	n->extents = NULL;
	n->nextents = n->capextents = 0;
	if (!cnt)
		return 0;
	n->extents = malloc(cnt * sizeof *x);
	if (!n->extents)
		return -ENOMEM;
	memcpy(n->extents, x, cnt * sizeof *x);
	n->nextents = n->capextents = cnt;
	return 0;
}

static const char *find_map(struct bctx *c, const char *path)
{
	for (size_t i = 0; i < c->nmaps; i++)
		if (!strcmp(c->maps[i].path, path))
			return c->maps[i].from;
	return NULL;
}

static int copy_xattrs(struct lb_node *n, const struct lb_node *from)
{
	if (!from->nxattrs)
		return 0;
	n->xattrs = calloc(from->nxattrs, sizeof *n->xattrs);
	if (!n->xattrs)
		return -ENOMEM;
	for (size_t i = 0; i < from->nxattrs; i++) {
		struct lb_xattr *x = &n->xattrs[i];

		x->name = strdup(from->xattrs[i].name);
		x->value = malloc(from->xattrs[i].len ? from->xattrs[i].len : 1);
		if (!x->name || !x->value) {
			free(x->name);
			free(x->value);
			return -ENOMEM;
		}
		memcpy(x->value, from->xattrs[i].value, from->xattrs[i].len);
		x->len = from->xattrs[i].len;
		n->nxattrs = i + 1;
	}
	return 0;
}

/* ---- file content ---- */

static int emit_chunk(struct bctx *c, struct lb_node *n, const uint8_t *p, size_t len)
{
	struct lb_extent x = { .len = len };
	int e;

	if ((e = lb_repo_blob_id(c->r, p, len, x.id)) < 0)
		return e;
	if ((e = lb_packer_put(c->pk, LB_BLOB_DATA, x.id, p, len)) < 0)
		return e;
	return lb_extent_append(n, &x);
}

static int add_hole(struct lb_node *n, uint64_t len)
{
	struct lb_extent x = { .len = len, .hole = true };

	if (len == 0)
		return 0;
	if (n->nextents && n->extents[n->nextents - 1].hole) {
		n->extents[n->nextents - 1].len += len;
		return 0;
	}
	return lb_extent_append(n, &x);
}

/* Chunks [a, b) of fd; returns the end actually reached (EOF may come
 * early if the file shrank) through *end. */
static int chunk_region(struct bctx *c, int fd, struct lb_node *n, uint64_t a, uint64_t b, uint64_t *end)
{
	size_t have = 0;
	uint64_t pos = a;
	int e;

	for (;;) {
		bool eof;
		size_t off = 0, k;

		while (have < c->rcap && pos < b) {
			size_t want = (size_t)LB_MIN((uint64_t)(c->rcap - have), b - pos);
			ssize_t got;

			lb_progress_op(c->pg, (const char *)c->path.data);
			got = pread(fd, c->rbuf + have, want, (off_t)pos);
			if (got < 0) {
				if (errno == EINTR)
					continue;
				lb_errno(-errno, "read error at offset %llu", (unsigned long long)pos);
				return 1; /* this file only */
			}
			if (got == 0) {
				b = pos;
				break;
			}
			if (c->tap)
				c->tap(c->tap_ctx, pos, c->rbuf + have, (size_t)got);
			have += (size_t)got;
			pos += (uint64_t)got;
			c->st->bytes_read += (uint64_t)got;
			if (c->pg)
				__atomic_add_fetch(&c->pg->bytes, (uint64_t)got, __ATOMIC_RELAXED);
			if (canceled(c))
				return lb_err(-LB_E_CANCELED, "canceled");
			sync_estimate(c);
		}
		eof = pos >= b;
		while (off < have && (k = lb_chunker_next(&c->r->chunker, c->rbuf + off, have - off, eof)) > 0) {
			if ((e = emit_chunk(c, n, c->rbuf + off, k)) < 0)
				return e;
			off += k;
		}
		memmove(c->rbuf, c->rbuf + off, have - off);
		have -= off;
		if (eof && have == 0)
			break;
	}
	*end = pos;
	return 0;
}

static int chunk_file(struct bctx *c, int fd, const struct stat *st, struct lb_node *n)
{
	uint64_t size = (uint64_t)st->st_size, pos = 0, end = 0;
	bool sparse = (uint64_t)st->st_blocks * 512 < size;
	int e;

	n->nextents = 0;
	while (pos < size) {
		uint64_t data = pos, hole = size;

		if (sparse) {
			off_t d = lseek(fd, (off_t)pos, SEEK_DATA);

			if (d < 0 && errno == ENXIO) {
				data = size; /* only a hole remains */
			} else if (d < 0) {
				sparse = false; /* file system without SEEK_DATA: read it all */
			} else {
				off_t h = lseek(fd, d, SEEK_HOLE);

				data = (uint64_t)d;
				hole = h < 0 ? size : LB_MIN((uint64_t)h, size);
			}
		}
		if (data > size)
			data = size;
		if ((e = add_hole(n, data - pos)) < 0)
			return e;
		if (data >= size) {
			pos = size;
			break;
		}
		if ((e = chunk_region(c, fd, n, data, hole, &end)) != 0)
			return e;
		pos = end;
		if (end < hole)
			break; /* shrank under us; the re-stat will notice */
	}
	n->size = 0;
	for (size_t i = 0; i < n->nextents; i++)
		n->size += n->extents[i].len;
	return 0;
}

static bool same_version(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec && a->st_ino == b->st_ino;
}

static int backup_fd(struct bctx *c, int fd, struct stat *st, struct lb_node *n);

/* Reads a regular file into n.  Returns 0 when stored, 1 when skipped
 * with a warning, VANISHED (quiet_vanish only), negative on a fatal error. */
static int backup_file(struct bctx *c, int dirfd, const char *name, struct stat *st, struct lb_node *n)
{
	int fd, e;

	lb_progress_op(c->pg, (const char *)c->path.data);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME | O_NOCTTY);
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && c->quiet_vanish)
		return VANISHED;
	if (fd < 0) {
		warn(c, errno == ENOENT ? "vanished before it could be read" : "cannot open: %s", strerror(errno));
		return 1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		warn(c, "changed type while being backed up; skipped");
		close(fd);
		return 1;
	}
	e = backup_fd(c, fd, st, n);
	close(fd);
	return e;
}

/* Reads the open regular file fd (st: its fstat) into n, again while it
 * changes under us, at most CHANGE_RETRIES times.  Same returns. */
static int backup_fd(struct bctx *c, int fd, struct stat *st, struct lb_node *n)
{
	struct stat st1;
	int e = 0, attempt;

	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (attempt = 0; attempt < CHANGE_RETRIES; attempt++) {
		e = chunk_file(c, fd, st, n);
		if (e != 0)
			break;
		if (fstat(fd, &st1) < 0) {
			e = lb_errno(1, "stat after reading");
			break;
		}
		if (same_version(st, &st1))
			break;
		*st = st1; /* read it again, as it is now */
	}
	lb_progress_op(c->pg, NULL);
	if (e < 0)
		return e; /* the repository side failed: the whole backup fails */
	if (e == 1) {
		warn(c, "%s; skipped", lb_errmsg());
		return 1;
	}
	if (attempt == CHANGE_RETRIES)
		warn(c, "changed while being read (%d attempts); the snapshot holds the last read, "
		     "which may be inconsistent", CHANGE_RETRIES);
	return 0;
}

/* ---- directories ---- */

static bool excluded(struct bctx *c, const char *name)
{
	return lb_exclude_match(c->o->excludes, c->o->nexcludes, (const char *)c->path.data, name);
}

struct namevec {
	char **v;
	size_t n, cap;
};

static void namevec_free(struct namevec *nv)
{
	for (size_t i = 0; i < nv->n; i++)
		free(nv->v[i]);
	free(nv->v);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static int read_names(struct bctx *c, int dirfd, struct namevec *nv)
{
	struct dirent *de;
	DIR *d;
	int fd;

	lb_progress_op(c->pg, (const char *)c->path.data);
	fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nv->n == nv->cap) {
			size_t ncap = nv->cap ? nv->cap * 2 : 64;
			void *p = realloc(nv->v, ncap * sizeof *nv->v);

			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			nv->v = p;
			nv->cap = ncap;
		}
		if (!(nv->v[nv->n] = strdup(de->d_name))) {
			closedir(d);
			return -ENOMEM;
		}
		nv->n++;
		errno = 0;
	}
	fd = errno;
	closedir(d);
	lb_progress_op(c->pg, NULL);
	if (fd)
		return -fd;
	if (nv->n > 1)
		qsort(nv->v, nv->n, sizeof *nv->v, cmp_cstr);
	return 0;
}

static int store_tree(struct bctx *c, struct lb_tree *t, uint8_t id[32])
{
	int e;

	lb_tree_sort(t);
	if ((e = lb_tree_encode(t, &c->tbuf)) < 0)
		return e;
	if (c->tbuf.len > LB_BLOB_MAX)
		return lb_err(-EFBIG, "%s: directory listing of %zu bytes exceeds the %u-byte limit",
			      (const char *)c->path.data, c->tbuf.len, LB_BLOB_MAX);
	if ((e = lb_repo_blob_id(c->r, c->tbuf.data, c->tbuf.len, id)) < 0)
		return e;
	e = lb_packer_put(c->pk, LB_BLOB_TREE, id, c->tbuf.data, c->tbuf.len);
	return e < 0 ? e : 0;
}

/* Loads the parent snapshot's version of a directory, or leaves t empty. */
static void load_parent_tree(struct bctx *c, const struct lb_node *pn, struct lb_tree *t)
{
	struct lb_buf b;

	lb_tree_init(t);
	if (!pn || pn->type != LB_NODE_DIR)
		return;
	lb_buf_init(&b, LB_BLOB_MAX);
	if (lb_repo_read_blob(c->r, pn->subtree, LB_BLOB_TREE, &b) == 0 && lb_tree_decode(b.data, b.len, t) < 0)
		lb_tree_init(t);
	lb_buf_release(&b);
}

static bool extents_present(struct bctx *c, const struct lb_node *n)
{
	bool ok = true;

	pthread_mutex_lock(&c->r->lock);
	for (size_t i = 0; ok && i < n->nextents; i++)
		if (!n->extents[i].hole && !lb_index_lookup(c->r->idx, n->extents[i].id, NULL))
			ok = false;
	pthread_mutex_unlock(&c->r->lock);
	return ok;
}

static int backup_dir(struct bctx *c, int dirfd, const struct lb_tree *parent, uint8_t id[32]);

/* ---- scanners (lifeboat/source.h) ----
 *
 * The hook is two calls: backup_dir() offers a directory at or below a
 * scanner's root to ops->dir() before listing it, and backup_entry() offers
 * a regular file to ops->file() before reading it.  A Maildir is claimed by
 * the mail source, which lists cur/ and new/ its own way and adds each
 * message through lb_scan_file(); an mbox is claimed and handed back as a
 * descriptor opened and locked by the source, read here like any file. */

/* The scanner whose root is path or one of its ancestors, if any. */
static const struct scanner *scanner_for(const struct bctx *c, const char *path)
{
	for (size_t i = 0; i < c->nscanners; i++) {
		const char *root = c->scanners[i].root;
		size_t len = strlen(root);

		if (!strcmp(root, "/") || (!strncmp(path, root, len) && (path[len] == '/' || path[len] == 0)))
			return &c->scanners[i];
	}
	return NULL;
}

static bool cache_hit(struct bctx *c, const struct lb_node *pn, const struct stat *st)
{
	return pn && pn->type == LB_NODE_FILE && pn->size == (uint64_t)st->st_size &&
	       pn->mtime_s == st->st_mtim.tv_sec && pn->mtime_ns == (uint32_t)st->st_mtim.tv_nsec &&
	       pn->ctime_s == st->st_ctim.tv_sec && pn->ctime_ns == (uint32_t)st->st_ctim.tv_nsec &&
	       pn->ino == st->st_ino && extents_present(c, pn);
}

/* A regular file the scanner claimed (how filled by ops->file): read from
 * its descriptor, kept from the parent snapshot, or left out.  Returns 0
 * to keep n, 1 to drop it, negative on a fatal error; ops->file_done hears
 * the outcome in every case. */
static int backup_claimed(struct bctx *c, const struct scanner *sc, struct stat *st, const struct lb_node *pn,
			  struct lb_node *n, struct lb_scan_read *how)
{
	enum lb_scan_outcome out = LB_SCAN_LEFT_OUT;
	int e = 1;

	if (how->fd >= 0 && (fstat(how->fd, st) < 0 || !S_ISREG(st->st_mode))) {
		warn(c, "changed type while being backed up; skipped");
	} else if (how->fd >= 0) {
		/* as it is now that it is locked, not as the listing saw it */
		lb_node_from_stat(n, st, c->owners);
		if (cache_hit(c, pn, st)) {
			e = copy_extents(n, pn->extents, pn->nextents);
			out = LB_SCAN_UNCHANGED;
			c->st->files_unmodified++;
		} else {
			c->tap = how->tap;
			c->tap_ctx = how->tap_ctx;
			e = backup_fd(c, how->fd, st, n);
			c->tap = NULL;
			if (e == 0) {
				lb_node_from_stat(n, st, c->owners); /* the stat that bracketed the read */
				out = LB_SCAN_READ;
				if (pn && pn->type == LB_NODE_FILE)
					c->st->files_changed++;
				else
					c->st->files_new++;
			}
		}
	} else if (how->previous && pn && pn->type == LB_NODE_FILE && extents_present(c, pn)) {
		/* the parent's node whole: metadata and content must agree, or
		 * the next run's files cache would trust a stale copy */
		uint8_t *name = n->name;
		size_t namelen = n->namelen;

		n->name = NULL;
		lb_node_release(n);
		e = lb_node_copy(n, pn);
		free(n->name);
		n->name = name;
		n->namelen = namelen;
		out = LB_SCAN_PREVIOUS;
		c->st->files_unmodified++;
	}
	if (e == 0) {
		n->size = 0;
		for (size_t i = 0; i < n->nextents; i++)
			n->size += n->extents[i].len;
		c->st->bytes_total += n->size;
		if (c->pg)
			__atomic_add_fetch(&c->pg->files, 1, __ATOMIC_RELAXED);
	}
	if (sc->ops->file_done)
		sc->ops->file_done(sc->state, (const char *)c->path.data, how, e == 0 ? out : LB_SCAN_LEFT_OUT,
				   e == 0 ? n->size : 0);
	return e;
}

/* Fills n for dirfd/name (already lstat'ed into st).  Returns 0 to keep the
 * node, 1 to drop it (skipped with a warning or excluded). */
static int backup_entry(struct bctx *c, int dirfd, const char *name, struct stat *st,
			const struct lb_node *pn, struct lb_node *n)
{
	int e;

	lb_node_from_stat(n, st, c->owners);
	if (!n->type) {
		lb_log(LB_LOG_INFO, "%s: socket or unknown file type; not saved", (const char *)c->path.data);
		return 1;
	}
	if (pn && pn->type == n->type && pn->ctime_s == n->ctime_s && pn->ctime_ns == n->ctime_ns &&
	    pn->ino == n->ino) {
		/* setting an xattr or an ACL changes ctime: same ctime, same xattrs */
		if ((e = copy_xattrs(n, pn)) < 0)
			return e;
	} else if ((e = lb_xattrs_read(dirfd, name, n)) < 0) {
		if (e == -ENOMEM)
			return e;
		if (e == -ENOENT && c->quiet_vanish)
			return VANISHED;
		warn(c, "%s; saved without them", lb_errmsg());
	}
	switch (n->type) {
	case LB_NODE_FILE: {
		struct hl_ent *h = NULL;
		const struct scanner *sc = c->nscanners ? scanner_for(c, (const char *)c->path.data) : NULL;

		if (sc && sc->ops->file) {
			struct lb_scan_read how = { .fd = -1 };

			e = sc->ops->file(sc->state, dirfd, name, (const char *)c->path.data, &how);
			if (e < 0)
				return e;
			if (e == 1)
				return backup_claimed(c, sc, st, pn, n, &how);
		}

		if (st->st_nlink > 1 && (h = hl_find(c, st->st_dev, st->st_ino, false)) && h->extents) {
			n->size = h->size;
			c->st->files_unmodified++;
			return copy_extents(n, h->extents, h->nextents);
		}
		if (pn && pn->type == LB_NODE_FILE && pn->size == (uint64_t)st->st_size &&
		    pn->mtime_s == st->st_mtim.tv_sec && pn->mtime_ns == (uint32_t)st->st_mtim.tv_nsec &&
		    pn->ctime_s == st->st_ctim.tv_sec && pn->ctime_ns == (uint32_t)st->st_ctim.tv_nsec &&
		    pn->ino == st->st_ino && extents_present(c, pn)) {
			/* files cache hit: unchanged since the parent snapshot, not read */
			if ((e = copy_extents(n, pn->extents, pn->nextents)) < 0)
				return e;
			n->size = pn->size;
			c->st->files_unmodified++;
			if (c->pg)
				__atomic_add_fetch(&c->pg->bytes, n->size, __ATOMIC_RELAXED);
		} else {
			e = backup_file(c, dirfd, name, st, n);
			if (e != 0)
				return e;
			lb_node_from_stat(n, st, c->owners); /* the stat that bracketed the read */
			n->size = 0;
			for (size_t i = 0; i < n->nextents; i++)
				n->size += n->extents[i].len;
			if (pn && pn->type == LB_NODE_FILE)
				c->st->files_changed++;
			else
				c->st->files_new++;
		}
		if (st->st_nlink > 1 && (h = hl_find(c, st->st_dev, st->st_ino, true))) {
			h->extents = malloc((n->nextents ? n->nextents : 1) * sizeof *n->extents);
			if (!h->extents)
				return -ENOMEM;
			if (n->nextents)
				memcpy(h->extents, n->extents, n->nextents * sizeof *n->extents);
			h->nextents = n->nextents;
			h->size = n->size;
		}
		c->st->bytes_total += n->size;
		if (c->pg)
			__atomic_add_fetch(&c->pg->files, 1, __ATOMIC_RELAXED);
		return 0;
	}
	case LB_NODE_SYMLINK: {
		char *buf = malloc(LB_TARGET_MAX);
		ssize_t k;

		if (!buf)
			return -ENOMEM;
		k = readlinkat(dirfd, name, buf, LB_TARGET_MAX);
		if (k < 0) {
			free(buf);
			warn(c, errno == ENOENT ? "vanished before it could be read" : "cannot read link: %s",
			     strerror(errno));
			return 1;
		}
		n->target = (uint8_t *)buf;
		n->targetlen = (size_t)k;
		/* readlink itself may move the link's atime (relatime): record
		 * the time as it is now, so the source and the snapshot agree */
		if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st->st_mode)) {
			n->atime_s = st->st_atim.tv_sec;
			n->atime_ns = (uint32_t)st->st_atim.tv_nsec;
		}
		c->st->others++;
		return 0;
	}
	case LB_NODE_DIR: {
		const char *mapped;
		struct lb_tree pt;
		int fd;

		c->st->dirs++;
		if (c->pg)
			__atomic_add_fetch(&c->pg->dirs, 1, __ATOMIC_RELAXED);
		if (c->have_repo_st && st->st_dev == c->repo_st.st_dev && st->st_ino == c->repo_st.st_ino) {
			lb_log(LB_LOG_INFO, "%s: the repository itself; not saved", (const char *)c->path.data);
			return 1;
		}
		if (c->o->one_file_system && st->st_dev != c->root_dev) {
			struct lb_tree empty;

			/* a mount point: keep the directory, not what is mounted on it */
			lb_tree_init(&empty);
			return store_tree(c, &empty, n->subtree);
		}
		lb_progress_op(c->pg, (const char *)c->path.data);
		mapped = find_map(c, (const char *)c->path.data);
		if (mapped) {
			/* a source's snapshot of this directory: its content, recorded here */
			fd = open(mapped, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
			if (fd < 0 && errno == EPERM)
				fd = open(mapped, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return lb_errno(-errno, "%s (read from its snapshot %s)", (const char *)c->path.data, mapped);
		} else {
			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
			if (fd < 0 && errno == EPERM)
				fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			warn(c, errno == ENOENT ? "vanished before it could be read" : "cannot open directory: %s",
			     strerror(errno));
			return 1;
		}
		load_parent_tree(c, pn, &pt);
		if (mapped) {
			struct stat sst;
			dev_t saved = c->root_dev;

			/* the snapshot is its own file system: it is the root of this subtree */
			if (fstat(fd, &sst) == 0)
				c->root_dev = sst.st_dev;
			e = backup_dir(c, fd, &pt, n->subtree);
			c->root_dev = saved;
		} else {
			e = backup_dir(c, fd, &pt, n->subtree);
		}
		lb_tree_release(&pt);
		close(fd);
		return e;
	}
	default:
		c->st->others++;
		return 0;
	}
}

/* ---- the calls a scanner builds a directory with (lifeboat/source.h) ---- */

struct lb_scan {
	struct bctx *c;
	struct lb_scan *up;            /* NULL: the directory backup_dir() is building */
	struct lb_tree *t;             /* its entries */
	const struct lb_tree *parent;  /* its version in the parent snapshot */
	char *path;                    /* full path */
	struct lb_tree own, ptree;     /* subdirectories: t and parent point here */
	struct lb_node node;           /* subdirectories: the node added to up at the end */
};

/* Sets c->path to dir/name (name may be NULL). */
static int scan_set_path(struct bctx *c, const char *dir, const char *name)
{
	size_t saved;
	int e;

	lb_buf_reset(&c->path);
	if ((e = lb_buf_append(&c->path, dir, strlen(dir) + 1)) < 0)
		return e;
	c->path.len--;
	return name ? path_push(&c->path, name, &saved) : 0;
}

/* The walk's own warning for a failed fstatat. */
static void warn_stat(struct bctx *c)
{
	warn(c, errno == ENOENT ? "vanished before it could be read" : "cannot stat: %s", strerror(errno));
}

static int scan_add(struct lb_scan *d, int dirfd, const char *name, bool quiet, uint64_t *size)
{
	struct bctx *c = d->c;
	struct lb_node *n;
	struct stat st;
	int e;

	if ((e = scan_set_path(c, d->path, name)) < 0)
		return e;
	if (canceled(c))
		return lb_err(-LB_E_CANCELED, "canceled");
	if (excluded(c, name))
		return 1;
	lb_progress_op(c->pg, (const char *)c->path.data);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT && quiet)
			return -ENOENT;
		warn_stat(c);
		return 1;
	}
	if ((e = lb_tree_add(d->t, &n)) < 0)
		return e;
	n->namelen = strlen(name);
	n->name = (uint8_t *)strdup(name);
	if (!n->name) {
		d->t->n--;
		return -ENOMEM;
	}
	c->quiet_vanish = quiet;
	e = backup_entry(c, dirfd, name, &st, lb_tree_find(d->parent, n->name, n->namelen), n);
	c->quiet_vanish = false;
	if (e == 0 && size)
		*size = n->size;
	if (e != 0) {
		lb_node_release(n);
		d->t->n--; /* n is the last node: nothing was added after it */
	}
	return e == VANISHED ? -ENOENT : e;
}

int lb_scan_entry(struct lb_scan *d, int dirfd, const char *name)
{
	return scan_add(d, dirfd, name, false, NULL);
}

int lb_scan_file(struct lb_scan *d, int dirfd, const char *name, uint64_t *size)
{
	return scan_add(d, dirfd, name, true, size);
}

int lb_scan_subdir(struct lb_scan *d, int dirfd, const char *name, struct lb_scan **ret)
{
	struct bctx *c = d->c;
	struct lb_scan *s;
	struct stat st;
	int e;

	*ret = NULL;
	if ((e = scan_set_path(c, d->path, name)) < 0)
		return e;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return lb_errno(-errno, "%s", (const char *)c->path.data);
	if (!S_ISDIR(st.st_mode))
		return lb_err(-ENOTDIR, "%s: not a directory", (const char *)c->path.data);
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->up = d;
	lb_tree_init(&s->own);
	s->t = &s->own;
	load_parent_tree(c, lb_tree_find(d->parent, (const uint8_t *)name, strlen(name)), &s->ptree);
	s->parent = &s->ptree;
	s->path = strdup((const char *)c->path.data);
	s->node.name = (uint8_t *)strdup(name);
	s->node.namelen = strlen(name);
	if (!s->path || !s->node.name) {
		lb_scan_subdir_abort(s);
		return -ENOMEM;
	}
	lb_node_from_stat(&s->node, &st, c->owners);
	if ((e = lb_xattrs_read(dirfd, name, &s->node)) < 0) {
		if (e == -ENOMEM) {
			lb_scan_subdir_abort(s);
			return e;
		}
		warn(c, "%s; saved without them", lb_errmsg());
	}
	c->st->dirs++;
	if (c->pg)
		__atomic_add_fetch(&c->pg->dirs, 1, __ATOMIC_RELAXED);
	*ret = s;
	return 0;
}

void lb_scan_subdir_abort(struct lb_scan *s)
{
	if (!s)
		return;
	lb_tree_release(&s->own);
	lb_tree_release(&s->ptree);
	lb_node_release(&s->node);
	free(s->path);
	free(s);
}

int lb_scan_subdir_end(struct lb_scan *s)
{
	struct bctx *c = s->c;
	struct lb_node *n;
	int e;

	if ((e = scan_set_path(c, s->path, NULL)) < 0 || (e = store_tree(c, s->t, s->node.subtree)) < 0 ||
	    (e = lb_tree_add(s->up->t, &n)) < 0) {
		lb_scan_subdir_abort(s);
		return e;
	}
	*n = s->node; /* handed over */
	memset(&s->node, 0, sizeof s->node);
	lb_scan_subdir_abort(s);
	return 0;
}

const char *lb_scan_path(const struct lb_scan *d)
{
	return d->path;
}

bool lb_scan_canceled(const struct lb_scan *d)
{
	return canceled(d->c);
}

/* Offers the directory in c->path to its scanner: 0 not claimed, 1 built
 * into t by the scanner, negative on a fatal error. */
static int scan_dir(struct bctx *c, int dirfd, const struct lb_tree *parent, struct lb_tree *t)
{
	const struct scanner *sc = scanner_for(c, (const char *)c->path.data);
	struct lb_scan d = { .c = c, .t = t, .parent = parent };
	int e;

	if (!sc || !sc->ops->dir)
		return 0;
	if (!(d.path = strdup((const char *)c->path.data)))
		return -ENOMEM;
	e = sc->ops->dir(sc->state, &d, dirfd, d.path);
	if (scan_set_path(c, d.path, NULL) < 0 && e >= 0)
		e = -ENOMEM;
	free(d.path);
	return e;
}

static int backup_dir(struct bctx *c, int dirfd, const struct lb_tree *parent, uint8_t id[32])
{
	struct namevec nv = { 0 };
	struct lb_tree t;
	int e;

	lb_tree_init(&t);
	if (c->nscanners && (e = scan_dir(c, dirfd, parent, &t)) != 0) {
		if (e < 0)
			goto out;
		goto store; /* a scanner built it */
	}
	e = read_names(c, dirfd, &nv);
	if (e < 0) {
		if (e == -ENOMEM)
			goto out;
		warn(c, "cannot list directory: %s; saved as empty", lb_strerror(e));
	}
	for (size_t i = 0; i < nv.n; i++) {
		const char *name = nv.v[i];
		struct lb_node *n;
		struct stat st;
		size_t saved;

		if (canceled(c)) {
			e = lb_err(-LB_E_CANCELED, "canceled");
			goto out;
		}
		sync_estimate(c);
		if ((e = path_push(&c->path, name, &saved)) < 0)
			goto out;
		if (excluded(c, name)) {
			path_pop(&c->path, saved);
			continue;
		}
		lb_progress_op(c->pg, (const char *)c->path.data);
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			warn(c, errno == ENOENT ? "vanished before it could be read" : "cannot stat: %s",
			     strerror(errno));
			path_pop(&c->path, saved);
			continue;
		}
		if ((e = lb_tree_add(&t, &n)) < 0)
			goto out;
		n->namelen = strlen(name);
		n->name = (uint8_t *)strdup(name);
		if (!n->name) {
			e = -ENOMEM;
			goto out;
		}
		e = backup_entry(c, dirfd, name, &st, lb_tree_find(parent, (const uint8_t *)name, n->namelen), n);
		path_pop(&c->path, saved);
		if (e < 0)
			goto out;
		if (e == 1) {
			lb_node_release(n);
			t.n--;
		}
	}
store:
	e = store_tree(c, &t, id);
out:
	namevec_free(&nv);
	lb_tree_release(&t);
	return e;
}

/* ---- the paths given on the command line ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Backs up the part of the path set below prefix (prefix is "" for the
 * root, else "/a/b") into a tree.  paths are sorted, none inside another;
 * directories between the root and a path keep their own metadata but
 * hold only what leads to the paths. */
static int backup_paths(struct bctx *c, const char *prefix, char **paths, size_t n,
			const struct lb_tree *parent, uint8_t id[32])
{
	struct lb_tree t;
	size_t plen = strlen(prefix), i = 0;
	char *comp = NULL, *full = NULL;
	int dfd, e = 0;

	lb_tree_init(&t);
	dfd = open(plen ? prefix : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return lb_errno(-errno, "%s", plen ? prefix : "/");
	while (i < n) {
		const char *rest = paths[i] + plen + 1; /* after "prefix/" */
		const char *slash = strchr(rest, '/');
		size_t clen = slash ? (size_t)(slash - rest) : strlen(rest), j = i;
		const struct lb_node *pn;
		struct lb_node *node;
		struct stat st;

		comp = strndup(rest, clen);
		full = malloc(plen + clen + 2);
		if (!comp || !full) {
			e = -ENOMEM;
			goto out;
		}
		sprintf(full, "%s/%s", prefix, comp);
		/* the group of paths under this component */
		while (j < n && strncmp(paths[j] + plen + 1, comp, clen) == 0 &&
		       (paths[j][plen + 1 + clen] == '/' || paths[j][plen + 1 + clen] == 0))
			j++;
		lb_buf_reset(&c->path);
		if ((e = lb_buf_append(&c->path, full, strlen(full) + 1)) < 0)
			goto out;
		c->path.len--;
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			e = lb_errno(-errno, "%s", full);
			goto out;
		}
		if ((e = lb_tree_add(&t, &node)) < 0)
			goto out;
		node->name = (uint8_t *)comp;
		node->namelen = clen;
		comp = NULL;
		pn = lb_tree_find(parent, node->name, clen);
		if (paths[i][plen + 1 + clen] == 0) {
			c->root_dev = st.st_dev;
			e = backup_entry(c, dfd, (const char *)node->name, &st, pn, node);
			if (e == 1)
				e = lb_err(-ENOENT, "%s: could not be backed up", full);
		} else if (!S_ISDIR(st.st_mode)) {
			e = lb_err(-ENOTDIR, "%s: not a directory", full);
		} else {
			struct lb_tree pt;

			lb_node_from_stat(node, &st, c->owners);
			if (lb_xattrs_read(dfd, (const char *)node->name, node) == -ENOMEM) {
				e = -ENOMEM;
				goto out;
			}
			load_parent_tree(c, pn, &pt);
			e = backup_paths(c, full, paths + i, j - i, &pt, node->subtree);
			lb_tree_release(&pt);
		}
		if (e < 0)
			goto out;
		free(full);
		full = NULL;
		i = j;
	}
	e = store_tree(c, &t, id);
out:
	free(comp);
	free(full);
	close(dfd);
	lb_tree_release(&t);
	return e;
}

/* ---- parent snapshot ---- */

/* Manifest paths are stored as lb_json_string_bytes writes them. */
static bool same_paths(const struct lb_snapshot *s, char **paths, size_t n)
{
	if (s->npaths != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		json_t *j = lb_json_string_bytes(paths[i]);
		bool same = j && strcmp(s->paths[i], json_string_value(j)) == 0;

		json_decref(j);
		if (!same)
			return false;
	}
	return true;
}

static int find_parent(struct bctx *c, const char *host, char **paths, size_t n, struct lb_tree *root)
{
	struct lb_snapshot **v = NULL, *s = NULL;
	struct lb_node fake = { .type = LB_NODE_DIR };
	size_t nv = 0;
	int e;

	lb_tree_init(root);
	if (c->o->parent) {
		if ((e = lb_snapshot_find(c->r, c->o->parent, &s)) < 0)
			return e;
	} else {
		if ((e = lb_snapshot_list(c->r, &v, &nv)) < 0)
			return e;
		for (size_t i = nv; i-- > 0;) {
			/* binlog archive segments are not backups (and have no
			 * paths, as a MySQL-only backup has none) */
			if (!strcmp(v[i]->host, host) && same_paths(v[i], paths, n) &&
			    !json_object_get(json_object_get(v[i]->json, "sources"), "binlog")) {
				s = v[i];
				v[i] = NULL;
				break;
			}
		}
		lb_snapshot_list_free(v, nv);
	}
	if (!s)
		return 0;
	snprintf(c->st->parent, sizeof c->st->parent, "%s", s->id);
	c->parent_sections = json_incref(json_object_get(s->json, "sources"));
	memcpy(fake.subtree, s->tree, 32);
	load_parent_tree(c, &fake, root);
	lb_snapshot_free(s);
	return 0;
}

static int write_manifest(struct bctx *c, const char *host, char **paths, size_t n, int64_t start_ns,
			  const uint8_t tree[32], json_t *sections, char id[65])
{
	struct lb_snapshot s = { 0 };
	struct lb_backup_stats *st = c->st;
	char user[256] = "";
	json_t *j, *stats, *ex;
	int e;

	j = json_object();
	if (!j)
		return -ENOMEM;
	if (json_object_size(sections))
		json_object_set(j, "sources", sections);
	getlogin_r(user, sizeof user - 1);
	if (!user[0])
		snprintf(user, sizeof user, "%s", getenv("USER") ? getenv("USER") : "");
	stats = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}",
			  "files_new", (json_int_t)st->files_new, "files_changed", (json_int_t)st->files_changed,
			  "files_unmodified", (json_int_t)st->files_unmodified, "dirs", (json_int_t)st->dirs,
			  "others", (json_int_t)st->others, "bytes_total", (json_int_t)st->bytes_total,
			  "bytes_read", (json_int_t)st->bytes_read, "blobs_new", (json_int_t)st->blobs_new,
			  "bytes_new_raw", (json_int_t)st->bytes_new_raw, "bytes_added", (json_int_t)st->bytes_added,
			  "duration_s", (double)st->duration_ns / 1e9, "warnings", (json_int_t)st->warnings);
	ex = json_array();
	for (size_t i = 0; ex && i < c->o->nexcludes; i++)
		json_array_append_new(ex, lb_json_string_bytes(c->o->excludes[i]));
	json_object_set_new(j, "stats", stats);
	json_object_set_new(j, "excludes", ex);
	json_object_set_new(j, "one_file_system", json_boolean(c->o->one_file_system));
	json_object_set_new(j, "program", json_string("lifeboat " LB_VERSION));
	s.time_s = start_ns / 1000000000;
	s.time_ns = start_ns % 1000000000;
	s.host = (char *)host;
	s.user = user;
	s.paths = paths;
	s.npaths = n;
	s.tags = (char **)c->o->tags;
	s.ntags = c->o->ntags;
	memcpy(s.tree, tree, 32);
	snprintf(s.parent, sizeof s.parent, "%s", st->parent);
	s.json = j;
	e = lb_snapshot_save(c->r, &s);
	if (e == 0)
		snprintf(id, 65, "%s", s.id);
	json_decref(s.json);
	return e;
}

/* ---- sources ---- */

static int env_map_path(struct lb_source_env *env, const char *path, const char *read_from)
{
	struct bctx *c = env->priv;
	void *p = realloc(c->maps, (c->nmaps + 1) * sizeof *c->maps);
	char *np, *nf;

	if (!p)
		return -ENOMEM;
	c->maps = p;
	np = lb_path_absolute(path);
	nf = strdup(read_from);
	if (!np || !nf) {
		free(np);
		free(nf);
		return -ENOMEM;
	}
	c->maps[c->nmaps].path = np;
	c->maps[c->nmaps].from = nf;
	c->nmaps++;
	return 0;
}

static int env_add_scanner(struct lb_source_env *env, const char *root, const struct lb_scanner_ops *ops,
			   void *state)
{
	struct bctx *c = env->priv;
	void *p = realloc(c->scanners, (c->nscanners + 1) * sizeof *c->scanners);

	if (!p)
		return -ENOMEM;
	c->scanners = p;
	if (!(c->scanners[c->nscanners].root = lb_path_absolute(root)))
		return -ENOMEM;
	c->scanners[c->nscanners].ops = ops;
	c->scanners[c->nscanners].state = state;
	c->nscanners++;
	return 0;
}

static void env_warn(struct lb_source_env *env, const char *what, const char *msg)
{
	struct bctx *c = env->priv;

	c->st->warnings++;
	if (c->o->warn)
		c->o->warn(c->o->warn_ctx, what, msg);
}

/* Adds p to the path set (sorted, nothing inside another). */
static int add_path(char ***paths, size_t *n, const char *p)
{
	char **v = realloc(*paths, (*n + 1) * sizeof **paths);

	if (!v)
		return -ENOMEM;
	*paths = v;
	if (!(v[*n] = lb_path_absolute(p)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void cover_paths(char **paths, size_t *n)
{
	size_t w = 0;

	if (*n < 2)
		return; /* (paths is NULL when there are none: a MySQL-only backup) */
	qsort(paths, *n, sizeof *paths, cmp_str);
	/* drop duplicates and paths inside another path of the set */
	for (size_t i = 0; i < *n; i++) {
		if (w > 0) {
			const char *p = paths[w - 1];
			size_t pl = strlen(p);

			if (!strcmp(p, "/") || (!strncmp(paths[i], p, pl) && (paths[i][pl] == '/' || paths[i][pl] == 0))) {
				free(paths[i]);
				continue;
			}
		}
		paths[w++] = paths[i];
	}
	*n = w;
}

/* Runs every source into its own tree and collects the manifest sections. */
/* Prefixes a source's error with its name, unless it already says it. */
static int source_err(const struct lb_source *src, int e)
{
	size_t n = strlen(src->ops->name);

	if (!strncmp(lb_errmsg(), src->ops->name, n) && lb_errmsg()[n] == ':')
		return e;
	return lb_err_wrap(e, "%s", src->ops->name);
}

static int run_sources(struct bctx *c, struct lb_source_env *env, json_t *sections)
{
	for (size_t i = 0; i < c->o->nsources; i++) {
		const struct lb_source *src = c->o->sources[i];
		struct lb_vtree *vt = NULL;
		uint8_t tid[32];
		char hex[65];
		uint64_t files, bytes;
		json_t *sec;
		int e;

		if ((e = lb_vtree_new(c->r, c->pk, &vt)) < 0)
			return e;
		env->vtree = vt;
		e = src->ops->run ? src->ops->run(src->state, env) : 0;
		if (e == 0)
			e = lb_vtree_store(vt, tid);
		lb_vtree_stats(vt, &files, &bytes);
		env->vtree = NULL;
		lb_vtree_free(vt);
		if (e < 0)
			return source_err(src, e);
		sec = json_object();
		if (!sec)
			return -ENOMEM;
		lb_hex(hex, tid, 32);
		json_object_set_new(sec, "tree", json_string(hex));
		json_object_set_new(sec, "files", json_integer((json_int_t)files));
		json_object_set_new(sec, "bytes", json_integer((json_int_t)bytes));
		json_object_set_new(sections, src->ops->name, sec);
		c->st->bytes_total += bytes;
	}
	return 0;
}

/* After the walk: each source adds what it learnt (a source may count
 * what the walk saw). */
static int report_sources(struct bctx *c, json_t *sections)
{
	for (size_t i = 0; i < c->o->nsources; i++) {
		const struct lb_source *src = c->o->sources[i];
		json_t *sec = json_object_get(sections, src->ops->name);
		int e;

		if (src->ops->report && sec && (e = src->ops->report(src->state, sec)) < 0)
			return source_err(src, e);
	}
	return 0;
}

static int empty_tree(struct bctx *c, uint8_t id[32])
{
	struct lb_tree t;

	lb_tree_init(&t);
	return store_tree(c, &t, id);
}

int lb_backup_run(struct lb_repo *r, const struct lb_backup_opts *o, struct lb_backup_stats *stats,
		  char id[65])
{
	struct bctx c = { .r = r, .o = o, .pg = o->progress, .st = stats };
	struct lb_source_env env = { .repo = r, .progress = o->progress, .map_path = env_map_path, .warn = env_warn,
				     .add_scanner = env_add_scanner, .priv = &c };
	struct lb_packer_stats ps;
	struct lb_tree root;
	char host[256] = "", **paths = NULL;
	size_t n = 0, prepared = 0;
	uint8_t tree[32];
	json_t *sections = NULL;
	int64_t start_ns = lb_now_ns(), start_mono = lb_mono_ns(), t_ready = 0, t_walk = 0, t_flush = 0;
	int e;

	memset(stats, 0, sizeof *stats);
	lb_tree_init(&root);
	lb_buf_init(&c.path, 0);
	lb_buf_init(&c.tbuf, LB_BLOB_MAX + (1u << 20));
	if (o->npaths == 0 && o->nsources == 0)
		return lb_err(-EINVAL, "backup: no paths given");
	if (o->host)
		snprintf(host, sizeof host, "%s", o->host);
	else
		gethostname(host, sizeof host - 1);
	for (size_t i = 0; i < o->npaths; i++) {
		struct stat st;

		if ((e = add_path(&paths, &n, o->paths[i])) < 0) {
			e = lb_errno(errno ? -errno : -ENOMEM, "%s", o->paths[i]);
			goto out;
		}
		if (lstat(paths[n - 1], &st) < 0) {
			e = lb_errno(-errno, "%s", o->paths[i]);
			goto out;
		}
	}
	c.rcap = LB_MAX(READ_BUF_MIN, 2 * (size_t)r->cfg.chunk_max);
	c.rbuf = malloc(c.rcap);
	sections = o->sections ? json_deep_copy(o->sections) : json_object();
	if (!c.rbuf || !sections || (e = lb_owner_cache_new(&c.owners)) < 0) {
		e = -ENOMEM;
		goto out;
	}
	if (stat(lb_repo_location(r), &c.repo_st) == 0)
		c.have_repo_st = true;
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	if ((e = lb_packer_new(r, o->workers, &c.pk)) < 0)
		goto out;
	/* quiesce every source for its instant; a snapshot of a directory
	 * joins the paths, read from the snapshot */
	for (; prepared < o->nsources; prepared++) {
		const struct lb_source *src = o->sources[prepared];

		if (src->ops->prepare && (e = src->ops->prepare(src->state, &env)) < 0) {
			source_err(src, e);
			prepared++; /* its cleanup runs too: prepare may have half-succeeded */
			goto out;
		}
	}
	for (size_t i = 0; i < c.nmaps; i++)
		if ((e = add_path(&paths, &n, c.maps[i].path)) < 0)
			goto out;
	/* a scanner's root is backed up like any path given */
	for (size_t i = 0; i < c.nscanners; i++) {
		struct stat st;

		if (lstat(c.scanners[i].root, &st) < 0) {
			e = lb_errno(-errno, "%s", c.scanners[i].root);
			goto out;
		}
		if ((e = add_path(&paths, &n, c.scanners[i].root)) < 0)
			goto out;
	}
	cover_paths(paths, &n);
	if ((e = find_parent(&c, host, paths, n, &root)) < 0)
		goto out;
	env.parent_sections = c.parent_sections;
	t_ready = lb_mono_ns();
	if ((e = run_sources(&c, &env, sections)) < 0)
		goto out;
	if (o->estimate && c.pg)
		lb_walk_scan_start((const char *const *)paths, n, o->excludes, o->nexcludes, o->one_file_system,
				   &c.scan);
	if (n == 0) {
		e = empty_tree(&c, tree);
	} else if (n == 1 && !strcmp(paths[0], "/")) {
		/* "/" itself may be read from a source's snapshot of it */
		const char *from = find_map(&c, "/");
		int dfd = open(from ? from : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;

		if (dfd < 0 || fstat(dfd, &st) < 0) {
			e = from ? lb_errno(-errno, "/ (read from its snapshot %s)", from) : lb_errno(-errno, "/");
			if (dfd >= 0)
				close(dfd);
			goto out;
		}
		c.root_dev = st.st_dev;
		lb_buf_append(&c.path, "/", 2);
		c.path.len = 1;
		e = backup_dir(&c, dfd, &root, tree);
		close(dfd);
	} else {
		e = backup_paths(&c, "", paths, n, &root, tree);
	}
	if (e < 0 || (e = report_sources(&c, sections)) < 0)
		goto out;
	lb_progress_op(c.pg, NULL);
	if (c.pg)
		__atomic_store_n(&c.pg->phase, LB_PHASE_COMMIT, __ATOMIC_RELAXED);
	t_walk = lb_mono_ns();
	{
		struct rusage ru;

		if (getrusage(RUSAGE_THREAD, &ru) == 0)
			lb_log(LB_LOG_DEBUG, "backup: the walking thread used %.3f s user, %.3f s system",
			       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	}
	/* packs and index are durable before the manifest names them */
	if ((e = lb_packer_flush(c.pk)) < 0)
		goto out;
	t_flush = lb_mono_ns();
	lb_packer_stats(c.pk, &ps);
	stats->blobs_new = ps.blobs_new;
	stats->bytes_new_raw = ps.raw_new;
	stats->bytes_added = ps.stored_new;
	stats->packs = ps.packs;
	stats->duration_ns = lb_mono_ns() - start_mono;
	e = write_manifest(&c, host, paths, n, start_ns, tree, sections, id);
	if (e == 0)
		lb_log(LB_LOG_INFO, "backup: prepare %.3f s, sources and walk %.3f s, flush %.3f s, manifest %.3f s",
		       (double)(t_ready - start_mono) / 1e9, (double)(t_walk - t_ready) / 1e9,
		       (double)(t_flush - t_walk) / 1e9, (double)(lb_mono_ns() - t_flush) / 1e9);
out:
	if (e < 0 && e != -ENOMEM && !lb_errmsg()[0])
		lb_err(e, "%s", lb_strerror(e));
	/* sources let go of their locks and snapshots whatever happened */
	if (prepared) {
		char saved[2048];

		snprintf(saved, sizeof saved, "%s", lb_errmsg());
		for (size_t i = prepared; i-- > 0;)
			if (o->sources[i]->ops->cleanup)
				o->sources[i]->ops->cleanup(o->sources[i]->state);
		lb_err_set_text(saved);
	}
	lb_walk_scan_stop(c.scan);
	lb_packer_free(c.pk);
	lb_tree_release(&root);
	json_decref(sections);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	for (size_t i = 0; i < c.nmaps; i++) {
		free(c.maps[i].path);
		free(c.maps[i].from);
	}
	free(c.maps);
	for (size_t i = 0; i < c.nscanners; i++)
		free(c.scanners[i].root);
	free(c.scanners);
	json_decref(c.parent_sections);
	free(c.rbuf);
	for (size_t i = 0; i < c.nhl; i++)
		free(c.hl[i].extents);
	free(c.hl);
	lb_inomap_free(&c.hlmap);
	lb_owner_cache_free(c.owners);
	lb_buf_release(&c.path);
	lb_buf_release(&c.tbuf);
	return e;
}
