/* Export: a snapshot (or a path in one) streamed out as a pax, ustar or zip
 * archive through libarchive.  The walk reads one directory's tree at a
 * time and each file's chunks one by one, writing them as they come: the
 * archive is never staged, whatever its size.
 *
 * What each format holds (docs/lifeboat.1, "export"):
 *   pax    everything: path and link records of any length and any bytes,
 *          uid/gid and names, mtime/atime/ctime in ns, xattrs
 *          (SCHILY.xattr and LIBARCHIVE.xattr), POSIX ACLs
 *          (SCHILY.acl.access/default), sparse maps (GNU.sparse 1.0),
 *          hard links, symlinks, devices, FIFOs;
 *   ustar  names up to 100+155 bytes, links up to 100, whole seconds,
 *          no xattrs/ACLs, holes written as zeros, files < 8 GiB;
 *   zip    files, directories and symlinks only; no hard links (each
 *          name gets the content), no xattrs/ACLs/holes, no devices or
 *          FIFOs (skipped, warned). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>

#include "lifeboat/browse.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/xfer.h"
#include "store/store.h"
#include "xfer/xfer_internal.h"

#define ZERO_SPAN (64u << 10)      /* hole bytes handed to libarchive per call */
#define LINKS_MIN 256u

static const uint8_t zeros[ZERO_SPAN];

struct ectx {
	struct lb_repo *r;
	const struct lb_export_opts *o;
	struct lb_export_stats *st;
	struct archive *a;
	struct archive_entry *ae;
	struct lb_buf blob;
	char **links;               /* each hard-link group's first archive path */
	size_t nlinks, caplinks;
	struct lb_inomap linkmap;   /* (dev, ino) -> index in links */
	int write_errno;            /* the fd's failure, kept for the message */
	bool discard;               /* failed: what libarchive still writes goes nowhere */
};

int lb_export_format_parse(const char *name, enum lb_export_format *f)
{
	if (!strcmp(name, "pax"))
		*f = LB_EXPORT_PAX;
	else if (!strcmp(name, "tar") || !strcmp(name, "ustar"))
		*f = LB_EXPORT_USTAR;
	else if (!strcmp(name, "zip"))
		*f = LB_EXPORT_ZIP;
	else
		return lb_err(-EINVAL, "unknown archive format '%s' (pax, tar or zip)", name);
	return 0;
}

/* ---- output ---- */

static la_ssize_t out_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct ectx *c = ctx;
	const uint8_t *p = buf;
	size_t left = n;

	if (c->discard)
		return (la_ssize_t)n;
	while (left > 0) {
		ssize_t k = write(c->o->fd, p, left);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			c->write_errno = errno;
			archive_set_error(a, errno, "write: %s", strerror(errno));
			return -1;
		}
		p += k;
		left -= (size_t)k;
	}
	c->st->archive_bytes += n;
	return (la_ssize_t)n;
}

/* The library's message as ours; FATAL means the archive is unusable. */
static int archive_fail(struct ectx *c, const char *what, const char *path)
{
	const char *m = archive_error_string(c->a);

	if (c->write_errno)
		return lb_errno(-c->write_errno, "writing the archive");
	return lb_err(-EIO, "%s%s%s: %s", what, path ? " " : "", path ? path : "", m ? m : "failed");
}

/* ---- hard links ---- */

/* The first archive path of n's (dev, ino), or NULL if none was written. */
static const char *link_first(struct ectx *c, const struct lb_node *n)
{
	size_t i = lb_inomap_get(&c->linkmap, n->dev, n->ino);

	return i == SIZE_MAX ? NULL : c->links[i];
}

/* Records path as the first name of n's group, once its entry is written
 * (a name the format refused must not become a link target). */
static int link_record(struct ectx *c, const struct lb_node *n, const char *path)
{
	char *p;
	int e;

	if (c->nlinks == c->caplinks) {
		size_t ncap = c->caplinks ? c->caplinks * 2 : LINKS_MIN;
		char **v = realloc(c->links, ncap * sizeof *v);

		if (!v)
			return -ENOMEM;
		c->links = v;
		c->caplinks = ncap;
	}
	if (!(p = strdup(path)))
		return -ENOMEM;
	if ((e = lb_inomap_add(&c->linkmap, n->dev, n->ino, c->nlinks)) != 0) {
		free(p); /* 1: the group has its first name already */
		return e < 0 ? e : 0;
	}
	c->links[c->nlinks++] = p;
	return 0;
}

/* ---- entries ---- */

static void warn(struct ectx *c, const char *path, size_t pathlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn(struct ectx *c, const char *path, size_t pathlen, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->o->warn)
		c->o->warn(c->o->warn_ctx, path, pathlen, msg);
}

/* Zip marks names UTF-8 (general purpose bit 11), and readers refuse a
 * marked name that is not: such a name has no faithful form in a zip. */
static bool utf8_valid(const unsigned char *p)
{
	while (*p) {
		size_t n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : 4;
		uint32_t cp = n == 0 ? *p : n == 1 ? (*p & 0x1fu) : n == 2 ? (*p & 0x0fu) : (*p & 0x07u);

		if (n == 4 || (n == 1 && cp < 2))
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += n + 1;
	}
	return true;
}

static bool is_acl(const char *name)
{
	return !strcmp(name, LB_XATTR_ACL_ACCESS) || !strcmp(name, LB_XATTR_ACL_DEFAULT);
}

/* xattrs and ACLs into the entry (pax only).  A malformed ACL value is
 * exported as the raw xattr it is, with a warning. */
static void add_xattrs(struct ectx *c, const char *path, size_t pathlen, const struct lb_node *n)
{
	for (size_t i = 0; i < n->nxattrs; i++) {
		const struct lb_xattr *x = &n->xattrs[i];

		if (is_acl(x->name)) {
			int type = !strcmp(x->name, LB_XATTR_ACL_ACCESS) ? ARCHIVE_ENTRY_ACL_TYPE_ACCESS
									 : ARCHIVE_ENTRY_ACL_TYPE_DEFAULT;

			if (lb_acl_to_archive(c->ae, type, x->value, x->len) == 0)
				continue;
			warn(c, path, pathlen, "%s: %s; written as a plain xattr", x->name, lb_errmsg());
		}
		archive_entry_xattr_add_entry(c->ae, x->name, x->value, x->len);
	}
}

/* The data runs of a file with holes, as the sparse map. */
static void add_sparse(struct ectx *c, const struct lb_node *n)
{
	uint64_t off = 0, start = 0, len = 0;
	bool any = false;

	for (size_t i = 0; i < n->nextents; i++) {
		const struct lb_extent *x = &n->extents[i];

		if (x->hole) {
			if (len)
				archive_entry_sparse_add_entry(c->ae, (la_int64_t)start, (la_int64_t)len);
			len = 0;
			any = true;
		} else {
			if (!len)
				start = off;
			len += x->len;
		}
		off += x->len;
	}
	if (len)
		archive_entry_sparse_add_entry(c->ae, (la_int64_t)start, (la_int64_t)len);
	else if (any && off)
		/* holes only (or a trailing hole): an empty run at the end
		 * still marks the entry sparse, so the holes are not written */
		archive_entry_sparse_add_entry(c->ae, (la_int64_t)off, 0);
}

static int write_all(struct ectx *c, const void *p, size_t n, const char *path)
{
	const uint8_t *q = p;

	while (n > 0) {
		la_ssize_t k = archive_write_data(c->a, q, n);

		if (k < 0)
			return archive_fail(c, "writing", path);
		if (k == 0)
			break; /* the format takes no more (a hardlink entry): nothing is lost */
		q += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Streams a file's content: chunks as they are read, holes as zeros that
 * the pax writer skips (its sparse map says where they are). */
static int write_content(struct ectx *c, const struct lb_node *n, const char *path)
{
	int e = 0;

	for (size_t i = 0; i < n->nextents && e == 0; i++) {
		const struct lb_extent *x = &n->extents[i];

		if (c->o->progress && c->o->progress->cancel)
			return lb_err(-LB_E_CANCELED, "canceled");
		if (x->hole) {
			for (uint64_t left = x->len; left > 0 && e == 0;) {
				size_t k = (size_t)LB_MIN(left, (uint64_t)ZERO_SPAN);

				e = write_all(c, zeros, k, path);
				left -= k;
			}
		} else {
			if ((e = lb_repo_read_blob(c->r, x->id, LB_BLOB_DATA, &c->blob)) < 0)
				return lb_err_wrap(e, "%s", path);
			if (c->blob.len != x->len)
				return lb_err(-LB_E_CORRUPT, "%s: chunk of %zu bytes where the tree says %llu", path,
					      c->blob.len, (unsigned long long)x->len);
			e = write_all(c, c->blob.data, c->blob.len, path);
		}
		if (e == 0 && c->o->progress)
			__atomic_add_fetch(&c->o->progress->bytes, x->len, __ATOMIC_RELAXED);
	}
	return e;
}

static int export_entry(void *ctx, const char *spath, size_t pathlen, const struct lb_node *n)
{
	struct ectx *c = ctx;
	enum lb_export_format f = c->o->format;
	const char *path = spath + 1, *first = NULL;  /* archive paths are relative */
	bool lost = false, linked;
	char *target = NULL;
	int r, e = 0;

	if (c->o->progress && c->o->progress->cancel)
		return lb_err(-LB_E_CANCELED, "canceled");
	if (memchr(spath, 0, pathlen)) {
		warn(c, spath, pathlen, "a name holding a NUL byte cannot go into an archive; skipped");
		c->st->skipped++;
		return 0;
	}
	archive_entry_clear(c->ae);
	archive_entry_copy_pathname(c->ae, path);
	switch (n->type) {
	case LB_NODE_FILE: archive_entry_set_filetype(c->ae, AE_IFREG); break;
	case LB_NODE_DIR: archive_entry_set_filetype(c->ae, AE_IFDIR); break;
	case LB_NODE_SYMLINK: archive_entry_set_filetype(c->ae, AE_IFLNK); break;
	case LB_NODE_FIFO: archive_entry_set_filetype(c->ae, AE_IFIFO); break;
	case LB_NODE_CHR: archive_entry_set_filetype(c->ae, AE_IFCHR); break;
	case LB_NODE_BLK: archive_entry_set_filetype(c->ae, AE_IFBLK); break;
	default:
		warn(c, spath, pathlen, "unknown entry type %u; skipped", n->type);
		c->st->skipped++;
		return 0;
	}
	if (f == LB_EXPORT_ZIP && !utf8_valid((const unsigned char *)path)) {
		warn(c, spath, pathlen, "zip stores names as UTF-8 and this one is not; skipped");
		c->st->skipped++;
		return 0;
	}
	if (f == LB_EXPORT_ZIP && (n->type == LB_NODE_FIFO || n->type == LB_NODE_CHR || n->type == LB_NODE_BLK)) {
		warn(c, spath, pathlen, "zip cannot hold a %s; skipped", n->type == LB_NODE_FIFO ? "FIFO" : "device");
		c->st->skipped++;
		return 0;
	}
	/* the mode first: ACL base entries are kept in it */
	archive_entry_set_perm(c->ae, n->mode & 07777);
	archive_entry_set_uid(c->ae, n->uid);
	archive_entry_set_gid(c->ae, n->gid);
	if (n->user && n->user[0])
		archive_entry_copy_uname(c->ae, n->user);
	if (n->group && n->group[0])
		archive_entry_copy_gname(c->ae, n->group);
	archive_entry_set_mtime(c->ae, (time_t)n->mtime_s, (long)n->mtime_ns);
	archive_entry_set_atime(c->ae, (time_t)n->atime_s, (long)n->atime_ns);
	archive_entry_set_ctime(c->ae, (time_t)n->ctime_s, (long)n->ctime_ns);
	if (n->type == LB_NODE_CHR || n->type == LB_NODE_BLK) {
		archive_entry_set_rdevmajor(c->ae, major((dev_t)n->rdev));
		archive_entry_set_rdevminor(c->ae, minor((dev_t)n->rdev));
	}
	if (n->type == LB_NODE_SYMLINK) {
		if (!(target = strndup((const char *)n->target, n->targetlen)))
			return -ENOMEM;
		archive_entry_copy_symlink(c->ae, target);
	}
	/* a hard-link group: the first name holds the content, the others
	 * point at it (zip has no hard links: every name gets the content) */
	linked = n->type != LB_NODE_DIR && n->nlink > 1 && f != LB_EXPORT_ZIP;
	if (linked)
		first = link_first(c, n);
	if (first) {
		archive_entry_copy_hardlink(c->ae, first);
		archive_entry_set_size(c->ae, 0);
	} else if (n->type == LB_NODE_FILE) {
		archive_entry_set_size(c->ae, (la_int64_t)n->size);
	}
	if (n->nxattrs) {
		if (f == LB_EXPORT_PAX)
			add_xattrs(c, spath, pathlen, n);
		else
			lost = true;
	}
	if (!first && n->type == LB_NODE_FILE) {
		bool holes = false;

		for (size_t i = 0; i < n->nextents && !holes; i++)
			holes = n->extents[i].hole;
		if (holes && f == LB_EXPORT_PAX)
			add_sparse(c, n);
		else if (holes)
			lost = true;
	}
	r = archive_write_header(c->a, c->ae);
	if (r == ARCHIVE_FATAL) {
		e = archive_fail(c, "writing the header of", path);
		goto out;
	}
	if (r == ARCHIVE_FAILED) {
		/* this entry only: a name too long for ustar, a size too big */
		warn(c, spath, pathlen, "%s; skipped", archive_error_string(c->a));
		c->st->skipped++;
		goto out;
	}
	/* ARCHIVE_WARN: a name that is not UTF-8 went out as raw bytes
	 * (hdrcharset=BINARY), as wanted */
	if (linked && !first && (e = link_record(c, n, path)) < 0)
		goto out;
	c->st->entries++;
	if (lost)
		c->st->lost_meta++;
	if (n->type == LB_NODE_FILE) {
		c->st->files++;
		c->st->bytes += n->size;
		if (c->o->progress)
			__atomic_add_fetch(&c->o->progress->files, 1, __ATOMIC_RELAXED);
		if (!first && (e = write_content(c, n, path)) < 0)
			goto out;
	} else if (n->type == LB_NODE_DIR && c->o->progress) {
		__atomic_add_fetch(&c->o->progress->dirs, 1, __ATOMIC_RELAXED);
	}
	r = archive_write_finish_entry(c->a);
	if (r < ARCHIVE_WARN)
		e = archive_fail(c, "finishing", path);
out:
	free(target);
	return e;
}

int lb_export_run(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_export_opts *o,
		  struct lb_export_stats *st)
{
	struct ectx c = { .r = r, .o = o, .st = st };
	int e, ar;

	memset(st, 0, sizeof *st);
	lb_buf_init(&c.blob, LB_BLOB_MAX);
	if (!r->index_loaded && (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	c.a = archive_write_new();
	c.ae = archive_entry_new();
	if (!c.a || !c.ae) {
		e = -ENOMEM;
		goto out;
	}
	switch (o->format) {
	case LB_EXPORT_PAX: ar = archive_write_set_format_pax(c.a); break;
	case LB_EXPORT_USTAR: ar = archive_write_set_format_ustar(c.a); break;
	case LB_EXPORT_ZIP: ar = archive_write_set_format_zip(c.a); break;
	default: ar = ARCHIVE_FATAL; break;
	}
	if (ar != ARCHIVE_OK) {
		e = lb_err(-EINVAL, "archive format %d: %s", (int)o->format, archive_error_string(c.a));
		goto out;
	}
	if (archive_write_open(c.a, &c, NULL, out_write, NULL) != ARCHIVE_OK) {
		e = archive_fail(&c, "opening the archive", NULL);
		goto out;
	}
	e = lb_browse_walk(r, s->tree, o->path ? o->path : "/", true, export_entry, &c);
	if (e == 0 && archive_write_close(c.a) != ARCHIVE_OK)
		e = archive_fail(&c, "closing the archive", NULL);
out:
	/* after a failure the archive must stay visibly incomplete: no padding
	 * of the short entry, no end-of-archive blocks.  Closing with the
	 * output discarded frees what archive_write_fail() would leak (a
	 * failed archive's filters are never closed) */
	if (c.a && e < 0) {
		c.discard = true;
		archive_write_close(c.a);
	}
	if (c.a)
		archive_write_free(c.a);
	archive_entry_free(c.ae);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i]);
	free(c.links);
	lb_inomap_free(&c.linkmap);
	lb_buf_release(&c.blob);
	return e;
}
