/* Import: an archive (tar of any flavour, cpio, zip, and whatever else
 * libarchive reads but mtree) becomes a snapshot, as if the tree it holds
 * had been backed up.  Content goes through the chunker and the packer, so
 * it deduplicates against everything in the repository; metadata is kept
 * as far as the archive has it.
 *
 * Nothing is committed unless the whole archive was read: the manifest is
 * written after the last entry, the end-of-archive marker and (for gzip)
 * the last member's CRC have been seen.  A fault anywhere gives
 * -LB_E_CORRUPT naming the byte offset and the entry, and the packs written
 * so far stay as orphans no snapshot refers to.
 *
 * gzip is inflated here rather than by libarchive, whose gzip filter does
 * not check the CRC-32 and length of a member (3.6: "XXX TODO"): a flipped
 * byte in a stored block would otherwise become a silently wrong file.
 * bzip2, xz, lzip and zstd check their own data inside their libraries. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "lifeboat/tree.h"
#include "lifeboat/version.h"
#include "lifeboat/xfer.h"
#include "snap/vtree.h"
#include "store/store.h"
#include "xfer/xfer_internal.h"

#define SRC_BUF (256u << 10)      /* raw reads and inflated output */
#define GZIP_MAGIC0 0x1f
#define GZIP_MAGIC1 0x8b
#define GZIP_WBITS (15 + 16)      /* zlib: a gzip wrapper, header and trailer checked */
#define TAR_BLOCK 512u            /* a tar ends with (at least) one zero block of this size */
#define RETRIES_MAX 100           /* ARCHIVE_RETRY in a row before giving up */
#define LINKMAP_MIN 64u
#define MSG_PATH_MAX 512          /* bytes of a path quoted in a message */
#define ZIP_EOCD_LEN 22u          /* zip's end-of-central-directory record without its comment */
#define ZIP_EOCD_MAX (ZIP_EOCD_LEN + 65535u) /* ... and with the longest comment */

/* ---- the input: a file or a pipe, gzip inflated and checked here ---- */

struct src {
	int fd;
	bool close_fd;
	bool seekable;            /* a regular file, not gzip: zip and 7z read the central directory */
	bool gz;
	bool member;              /* inside a gzip member */
	bool eof;                 /* the file is exhausted */
	bool z_init;
	z_stream z;
	uint8_t *in, *out;
	size_t inlen, inpos;      /* not gzip: bytes of in not yet handed out */
	uint64_t raw;             /* bytes read from the file */
};

static int src_fill(struct archive *a, struct src *s)
{
	ssize_t k;

	do
		k = read(s->fd, s->in, SRC_BUF);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		archive_set_error(a, errno, "read error: %s", strerror(errno));
		return -1;
	}
	if (k == 0)
		s->eof = true;
	s->raw += (uint64_t)k;
	s->inpos = 0;
	s->inlen = (size_t)k;
	return 0;
}

static la_ssize_t src_read_gz(struct archive *a, struct src *s, const void **buf)
{
	z_stream *z = &s->z;

	z->next_out = s->out;
	z->avail_out = SRC_BUF;
	while (z->avail_out == SRC_BUF) {
		int r;

		if (z->avail_in == 0 && !s->eof) {
			if (src_fill(a, s) < 0)
				return -1;
			z->next_in = s->in;
			z->avail_in = (uInt)s->inlen;
		}
		if (z->avail_in == 0 && s->eof) {
			if (s->member) {
				archive_set_error(a, LB_E_CORRUPT, "gzip: the file ends inside the compressed "
						  "stream (truncated)");
				return -1;
			}
			break;
		}
		if (!s->member) {
			/* another member may follow (gzip -c a >x; gzip -c b >>x);
			 * anything else after the last one is ignored, as gzip does */
			if (z->next_in[0] != GZIP_MAGIC0) {
				z->avail_in = 0;
				s->eof = true;
				break;
			}
			if (inflateReset(z) != Z_OK) {
				archive_set_error(a, LB_E_CORRUPT, "gzip: cannot restart the inflater");
				return -1;
			}
			s->member = true;
		}
		r = inflate(z, Z_NO_FLUSH);
		if (r == Z_STREAM_END) {
			s->member = false; /* CRC-32 and length checked by zlib */
		} else if (r == Z_BUF_ERROR && z->avail_in == 0) {
			continue; /* more input */
		} else if (r != Z_OK) {
			/* a CRC-32 mismatch shows at the end of the member: the
			 * damage is somewhere before */
			archive_set_error(a, LB_E_CORRUPT, "gzip: %s",
					  z->msg && !strcmp(z->msg, "incorrect data check")
						  ? "the CRC-32 of the decompressed data does not match (damaged data "
						    "somewhere in the compressed stream before this point)"
						  : z->msg ? z->msg : "inflate failed");
			return -1;
		}
	}
	*buf = s->out;
	return (la_ssize_t)(SRC_BUF - z->avail_out);
}

static la_ssize_t src_read(struct archive *a, void *ctx, const void **buf)
{
	struct src *s = ctx;
	size_t n;

	if (s->gz)
		return src_read_gz(a, s, buf);
	if (s->inpos == s->inlen) {
		if (s->eof)
			return 0;
		if (src_fill(a, s) < 0)
			return -1;
	}
	*buf = s->in + s->inpos;
	n = s->inlen - s->inpos;
	s->inpos = s->inlen;
	return (la_ssize_t)n;
}

static la_int64_t src_seek(struct archive *a, void *ctx, la_int64_t off, int whence)
{
	struct src *s = ctx;
	off_t cur = lseek(s->fd, 0, SEEK_CUR), r;

	if (cur < 0)
		return ARCHIVE_FATAL;
	/* where libarchive thinks it is: what it has been handed so far */
	if (whence == SEEK_CUR) {
		off += (la_int64_t)cur - (la_int64_t)(s->inlen - s->inpos);
		whence = SEEK_SET;
	}
	r = lseek(s->fd, (off_t)off, whence);
	if (r < 0) {
		archive_set_error(a, errno, "seek: %s", strerror(errno));
		return ARCHIVE_FATAL;
	}
	s->inpos = s->inlen = 0;
	s->eof = false;
	return (la_int64_t)r;
}

static int src_open(struct src *s, const struct lb_import_opts *o)
{
	struct stat st;

	memset(s, 0, sizeof *s);
	s->fd = -1;
	if (o->archive && strcmp(o->archive, "-")) {
		s->fd = open(o->archive, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (s->fd < 0)
			return lb_errno(-errno, "%s", o->archive);
		s->close_fd = true;
	} else {
		s->fd = o->fd;
	}
	s->in = malloc(SRC_BUF);
	if (!s->in)
		return -ENOMEM;
	/* the first block decides: a gzip stream is ours to inflate */
	while (s->inlen < 2 && !s->eof) {
		ssize_t k = read(s->fd, s->in + s->inlen, SRC_BUF - s->inlen);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return lb_errno(-errno, "reading %s", o->archive ? o->archive : "the archive");
		if (k == 0)
			s->eof = true;
		s->inlen += (size_t)k;
		s->raw += (uint64_t)k;
	}
	if (s->inlen >= 2 && s->in[0] == GZIP_MAGIC0 && s->in[1] == GZIP_MAGIC1) {
		s->gz = true;
		if (!(s->out = malloc(SRC_BUF)))
			return -ENOMEM;
		if (inflateInit2(&s->z, GZIP_WBITS) != Z_OK)
			return lb_err(-ENOMEM, "cannot set up the gzip inflater");
		s->z_init = true;
		s->member = true;
		s->z.next_in = s->in;
		s->z.avail_in = (uInt)s->inlen;
	} else {
		s->seekable = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
	}
	return 0;
}

static void src_close(struct src *s)
{
	if (s->z_init)
		inflateEnd(&s->z);
	if (s->close_fd && s->fd >= 0)
		close(s->fd);
	free(s->in);
	free(s->out);
}

/* ---- hard-link groups ---- */

/* Names that are one file: the content comes from the member whose entry
 * carried data (cpio puts it on the last name, tar on the first), the
 * metadata from the same entry, and nlink from the number of names. */
struct group {
	char **paths;
	size_t n, cap;
	char *content;            /* the member holding the data, or NULL: the first */
};

struct linkent {
	char *path;               /* NULL: empty slot */
	size_t group;             /* SIZE_MAX: no longer a member (the name was replaced) */
	size_t mark;              /* finish_groups: counted (group + 1) or done (SIZE_MAX) */
};

struct ictx {
	struct lb_repo *r;
	const struct lb_import_opts *o;
	struct lb_import_stats *st;
	struct archive *a;
	struct src src;
	struct lb_vsnapshot *vs;
	struct lb_vtree *vt;
	const char *name;         /* the archive, for messages */
	char *cur;                /* entry being read (tree path), NULL between entries */
	char *prev;               /* the last entry read, for header faults */
	bool have_time;
	int64_t newest_s;
	long newest_ns;
	struct group *groups;
	size_t ngroups, capgroups;
	struct linkent *links;    /* open addressing by path */
	size_t nlinks, caplinks;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return h ^ (h >> 31);
}

static struct linkent *link_find(struct ictx *c, const char *path)
{
	size_t mask = c->caplinks - 1, i;

	if (!c->caplinks)
		return NULL;
	for (i = (size_t)str_hash(path) & mask; c->links[i].path; i = (i + 1) & mask)
		if (!strcmp(c->links[i].path, path))
			return &c->links[i];
	return &c->links[i];
}

static int link_set(struct ictx *c, const char *path, size_t group)
{
	struct linkent *l;

	if ((c->nlinks + 1) * 2 > c->caplinks) {
		struct linkent *old = c->links;
		size_t oldcap = c->caplinks, ncap = oldcap ? oldcap * 2 : LINKMAP_MIN;

		if (!(c->links = calloc(ncap, sizeof *c->links))) {
			c->links = old;
			return -ENOMEM;
		}
		c->caplinks = ncap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].path)
				*link_find(c, old[i].path) = old[i];
		free(old);
	}
	l = link_find(c, path);
	if (!l->path) {
		if (!(l->path = strdup(path)))
			return -ENOMEM;
		c->nlinks++;
	}
	l->group = group;
	return 0;
}

/* The group of path, or SIZE_MAX. */
static size_t link_group(struct ictx *c, const char *path)
{
	struct linkent *l = link_find(c, path);

	return l && l->path ? l->group : SIZE_MAX;
}

static int group_add(struct ictx *c, size_t g, const char *path)
{
	struct group *gr = &c->groups[g];
	int e;

	if (gr->n == gr->cap) {
		size_t ncap = gr->cap ? gr->cap * 2 : 4;
		char **p = realloc(gr->paths, ncap * sizeof *p);

		if (!p)
			return -ENOMEM;
		gr->paths = p;
		gr->cap = ncap;
	}
	if (!(gr->paths[gr->n] = strdup(path)))
		return -ENOMEM;
	gr->n++;
	if ((e = link_set(c, path, g)) < 0)
		return e;
	return 0;
}

static int group_new(struct ictx *c, size_t *g)
{
	if (c->ngroups == c->capgroups) {
		size_t ncap = c->capgroups ? c->capgroups * 2 : 16;
		struct group *p = realloc(c->groups, ncap * sizeof *p);

		if (!p)
			return -ENOMEM;
		c->groups = p;
		c->capgroups = ncap;
	}
	memset(&c->groups[c->ngroups], 0, sizeof c->groups[0]);
	*g = c->ngroups++;
	return 0;
}

/* ---- messages ---- */

/* path for a message: bytes outside printable ASCII as \xNN, cut short. */
static void quote(char *out, size_t n, const char *path)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *)path; p && *p && w + 5 < n; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			out[w++] = (char)*p;
		else
			w += (size_t)snprintf(out + w, n - w, "\\x%02x", *p);
	}
	if (path && strlen(path) > MSG_PATH_MAX && w + 4 < n)
		w += (size_t)snprintf(out + w, n - w, "...");
	out[w] = 0;
}

static void warn(struct ictx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(struct ictx *c, const char *path, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->o->warn)
		c->o->warn(c->o->warn_ctx, path ? path : "", path ? strlen(path) : 0, msg);
}

/* The fault, where it is, and what was being read: the error of a damaged
 * or truncated archive. */
static int damaged(struct ictx *c, const char *what)
{
	const char *m = archive_error_string(c->a);
	uint64_t dec = (uint64_t)archive_filter_bytes(c->a, 0), raw;
	bool compressed = c->src.gz || archive_filter_count(c->a) > 1;
	char where[160], entry[MSG_PATH_MAX * 4 + 64], q[MSG_PATH_MAX * 4 + 8];

	if (c->src.gz)
		raw = c->src.z.total_in;
	else
		raw = (uint64_t)archive_filter_bytes(c->a, -1);
	if (compressed)
		snprintf(where, sizeof where, "at byte %llu of the file (byte %llu of the decompressed stream)",
			 (unsigned long long)raw, (unsigned long long)dec);
	else
		snprintf(where, sizeof where, "at byte %llu", (unsigned long long)dec);
	if (c->cur) {
		quote(q, sizeof q, c->cur);
		snprintf(entry, sizeof entry, "reading entry '%s'", q);
	} else if (c->prev) {
		quote(q, sizeof q, c->prev);
		snprintf(entry, sizeof entry, "reading the header after entry '%s'", q);
	} else {
		snprintf(entry, sizeof entry, "reading the first header");
	}
	return lb_err(-LB_E_CORRUPT, "%s: damaged archive: %s%s%s %s, %s; nothing was imported", c->name,
		      what ? what : "", what ? ": " : "", m && *m ? m : "read error", where, entry);
}

/* ---- paths ---- */

/* An archive path as a tree path: no leading '/' or "./", no empty or "."
 * components, no trailing '/'.  Returns 0, 1 for the root itself, or
 * -EINVAL for a ".." component or a name restore would refuse. */
static int norm_path(const char *in, char *out)
{
	const char *p = in;
	size_t w = 0;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			return -EINVAL;
		} else if (!lb_name_valid((const uint8_t *)p, len)) {
			return -EINVAL;
		} else {
			if (w)
				out[w++] = '/';
			memcpy(out + w, p, len);
			w += len;
		}
		p += len + (slash ? 1 : 0);
	}
	out[w] = 0;
	return w ? 0 : 1;
}

/* ---- metadata ---- */

struct meta {
	struct lb_node n;         /* borrows from the entry and from xa/acl bufs */
	struct lb_xattr *xa;
	struct lb_buf acl[2];     /* access, default */
	char *target;
};

static void meta_release(struct meta *m)
{
	free(m->xa);
	lb_buf_release(&m->acl[0]);
	lb_buf_release(&m->acl[1]);
	free(m->target);
	memset(m, 0, sizeof *m);
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct lb_xattr *)a)->name, ((const struct lb_xattr *)b)->name);
}

static uint32_t owner_id(struct ictx *c, const char *path, la_int64_t v, const char *what)
{
	if (v >= 0 && v <= (la_int64_t)UINT32_MAX)
		return (uint32_t)v;
	warn(c, path, "%s %lld out of range; 0 recorded", what, (long long)v);
	c->st->warnings++;
	return 0;
}

static const char *owner_name(struct ictx *c, const char *path, const char *name, const char *what)
{
	if (!name)
		return "";
	if (strlen(name) >= LB_OWNER_NAME_MAX) {
		warn(c, path, "%s name longer than %d bytes; left out", what, LB_OWNER_NAME_MAX - 1);
		c->st->warnings++;
		return "";
	}
	return name;
}

static long clamp_ns(long ns)
{
	return ns < 0 || ns >= 1000000000L ? 0 : ns;
}

/* Why Linux would refuse the xattr name on an entry of this type at
 * restore, or NULL: restore sets each with lsetxattr(), and a snapshot
 * that cannot be restored without errors is worse than a warning now. */
static const char *xattr_refused(const char *name, unsigned type)
{
	static const char *const ns[] = { "user.", "trusted.", "security." };
	bool isdir = type == AE_IFDIR, isreg = type == AE_IFREG || type == 0;

	if (!strcmp(name, LB_XATTR_ACL_ACCESS) || !strcmp(name, LB_XATTR_ACL_DEFAULT)) {
		if (type == AE_IFLNK)
			return "symlinks have no ACLs";
		if (!isdir && !strcmp(name, LB_XATTR_ACL_DEFAULT))
			return "a default ACL is for directories only";
		return NULL;
	}
	for (size_t i = 0; i < LB_ARRAY_SIZE(ns); i++) {
		size_t len = strlen(ns[i]);

		if (strncmp(name, ns[i], len))
			continue;
		if (!name[len])
			return "an empty name in its namespace";
		if (i == 0 && !isdir && !isreg)
			return "Linux keeps user.* attributes on files and directories only";
		return NULL;
	}
	return "not in a namespace Linux knows (user., trusted., security., or an ACL)";
}

/* A raw posix_acl xattr value from the archive, made one the kernel takes
 * (base entries and a mask added where missing, sorted, duplicates gone)
 * in out.  Returns 1, 0 for an access ACL that is only the mode, or
 * -LB_E_CORRUPT (message set) for a value that is no ACL. */
static int acl_normalize(const void *val, size_t len, int type, mode_t mode, struct lb_buf *out)
{
	struct archive_entry *tmp = archive_entry_new();
	unsigned dropped = 0;
	int e;

	if (!tmp)
		return -ENOMEM;
	archive_entry_set_perm(tmp, mode);
	e = lb_acl_to_archive(tmp, type, val, len);
	if (e == 0)
		e = lb_acl_from_archive(tmp, type, out, &dropped);
	archive_entry_free(tmp);
	return e;
}

/* Fills m->n from the entry: everything but name, type-specific content
 * and hard-link fields. */
static int meta_fill(struct ictx *c, struct archive_entry *ae, const char *path, struct meta *m)
{
	static const int acl_types[2] = { ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT };
	static const char *const acl_names[2] = { LB_XATTR_ACL_ACCESS, LB_XATTR_ACL_DEFAULT };
	struct lb_node *n = &m->n;
	const char *xname;
	const void *xval;
	size_t xlen, nx = 0, cap;
	bool acl_done[2] = { false, false };
	unsigned type = archive_entry_hardlink(ae) ? AE_IFREG : archive_entry_filetype(ae);
	int e;

	n->mode = archive_entry_perm(ae) & 07777;
	n->uid = owner_id(c, path, archive_entry_uid(ae), "uid");
	n->gid = owner_id(c, path, archive_entry_gid(ae), "gid");
	n->user = (char *)owner_name(c, path, archive_entry_uname(ae), "user");
	n->group = (char *)owner_name(c, path, archive_entry_gname(ae), "group");
	n->mtime_s = archive_entry_mtime(ae);
	n->mtime_ns = (uint32_t)clamp_ns(archive_entry_mtime_nsec(ae));
	/* an archive without atime or ctime (ustar, zip) gets the mtime */
	n->atime_s = archive_entry_atime_is_set(ae) ? archive_entry_atime(ae) : n->mtime_s;
	n->atime_ns = archive_entry_atime_is_set(ae) ? (uint32_t)clamp_ns(archive_entry_atime_nsec(ae)) : n->mtime_ns;
	n->ctime_s = archive_entry_ctime_is_set(ae) ? archive_entry_ctime(ae) : n->mtime_s;
	n->ctime_ns = archive_entry_ctime_is_set(ae) ? (uint32_t)clamp_ns(archive_entry_ctime_nsec(ae)) : n->mtime_ns;
	n->nlink = 1;
	if (!archive_entry_mtime_is_set(ae)) {
		n->mtime_s = n->atime_s = n->ctime_s = 0;
		n->mtime_ns = n->atime_ns = n->ctime_ns = 0;
	} else if (!c->have_time || n->mtime_s > c->newest_s ||
		   (n->mtime_s == c->newest_s && (long)n->mtime_ns > c->newest_ns)) {
		c->have_time = true;
		c->newest_s = n->mtime_s;
		c->newest_ns = n->mtime_ns;
	}

	/* xattrs, then the ACLs libarchive parsed (SCHILY.acl.*) as the raw
	 * values restore writes; those win over a raw ACL xattr */
	cap = (size_t)archive_entry_xattr_count(ae) + 2;
	if (cap > LB_XATTRS_MAX + 2)
		cap = LB_XATTRS_MAX + 2;
	if (!(m->xa = calloc(cap, sizeof *m->xa)))
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		unsigned dropped = 0;

		lb_buf_init(&m->acl[i], LB_XATTR_VALUE_MAX);
		e = lb_acl_from_archive(ae, acl_types[i], &m->acl[i], &dropped);
		if (e < 0 && e != -ENOMEM) {
			warn(c, path, "%s ACL: %s; left out", i ? "default" : "access", lb_errmsg());
			c->st->warnings++;
		} else if (e < 0) {
			return e;
		} else if (e == 1 && xattr_refused(acl_names[i], type)) {
			warn(c, path, "%s ACL: %s; left out", i ? "default" : "access", xattr_refused(acl_names[i], type));
			c->st->warnings++;
			acl_done[i] = true;
		} else if (e == 1) {
			m->xa[nx++] = (struct lb_xattr){ (char *)acl_names[i], m->acl[i].data, m->acl[i].len };
			acl_done[i] = true;
		}
		if (dropped) {
			warn(c, path, "%u named %s ACL entr%s for names unknown here left out", dropped,
			     i ? "default" : "access", dropped == 1 ? "y" : "ies");
			c->st->warnings++;
		}
	}
	if (archive_entry_acl_types(ae) & ARCHIVE_ENTRY_ACL_TYPE_NFS4) {
		warn(c, path, "NFSv4 ACL left out: Linux file systems keep POSIX ACLs only");
		c->st->warnings++;
	}
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xname, &xval, &xlen) == ARCHIVE_OK) {
		const char *why;
		int ai = !strcmp(xname, LB_XATTR_ACL_ACCESS) ? 0 : !strcmp(xname, LB_XATTR_ACL_DEFAULT) ? 1 : -1;

		if (ai >= 0 && acl_done[ai])
			continue;
		if (!*xname || strlen(xname) > LB_XATTR_NAME_MAX || xlen > LB_XATTR_VALUE_MAX || nx == cap) {
			warn(c, path, "xattr %.64s: %s; left out", xname,
			     nx == cap ? "too many xattrs" : "name or value too long");
			c->st->warnings++;
			continue;
		}
		if ((why = xattr_refused(xname, type))) {
			warn(c, path, "xattr %.64s: %s; left out", xname, why);
			c->st->warnings++;
			continue;
		}
		if (ai >= 0) {
			/* a raw ACL value: the kernel takes only a well-formed one */
			e = acl_normalize(xval, xlen, acl_types[ai], n->mode, &m->acl[ai]);
			if (e == -ENOMEM)
				return e;
			if (e < 0) {
				warn(c, path, "xattr %s: %s; left out", xname, lb_errmsg());
				c->st->warnings++;
			}
			acl_done[ai] = true;
			if (e == 1)
				m->xa[nx++] = (struct lb_xattr){ (char *)acl_names[ai], m->acl[ai].data, m->acl[ai].len };
			continue;
		}
		m->xa[nx++] = (struct lb_xattr){ (char *)xname, (uint8_t *)xval, xlen };
	}
	if (nx > 1) {
		size_t k = 1;

		qsort(m->xa, nx, sizeof *m->xa, cmp_xattr);
		/* pax may carry one attribute twice (LIBARCHIVE.xattr and SCHILY.xattr) */
		for (size_t i = 1; i < nx; i++)
			if (strcmp(m->xa[i].name, m->xa[k - 1].name))
				m->xa[k++] = m->xa[i];
		nx = k;
	}
	n->xattrs = m->xa;
	n->nxattrs = nx;
	return 0;
}

/* ---- entries ---- */

static bool canceled(struct ictx *c)
{
	return c->o->progress && c->o->progress->cancel;
}

/* Reads the entry's data into f: data blocks at their offsets, the gaps
 * between them (a sparse entry's holes) as holes. */
static int read_content(struct ictx *c, struct archive_entry *ae, struct lb_vfile *f)
{
	uint64_t cur = 0;
	int e;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(c->a, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		/* a warning on data is damage too: zip's "bad CRC" is one */
		if (r != ARCHIVE_OK)
			return damaged(c, NULL);
		if (canceled(c))
			return lb_err(-LB_E_CANCELED, "canceled");
		if (off < 0 || (uint64_t)off < cur) {
			archive_set_error(c->a, LB_E_CORRUPT, "data block at offset %jd after offset %ju", (intmax_t)off,
					  (uintmax_t)cur);
			return damaged(c, NULL);
		}
		if ((uint64_t)off > cur && (e = lb_vfile_hole(f, (uint64_t)off - cur)) < 0)
			return e;
		cur = (uint64_t)off;
		if (len && (e = lb_vfile_write(f, buf, len)) < 0)
			return e;
		cur += len;
		if (c->o->progress)
			__atomic_add_fetch(&c->o->progress->bytes, len, __ATOMIC_RELAXED);
	}
	/* a sparse entry that ends in a hole */
	if (archive_entry_size_is_set(ae) && (uint64_t)archive_entry_size(ae) > cur &&
	    (e = lb_vfile_hole(f, (uint64_t)archive_entry_size(ae) - cur)) < 0)
		return e;
	return 0;
}

/* A regular file (or a hard link carrying data) at path. */
static int add_file(struct ictx *c, struct archive_entry *ae, const char *path, struct meta *m, uint64_t *size)
{
	static const struct lb_vmeta none = { 0 };
	struct lb_vfile *f = NULL;
	int e;

	m->n.type = LB_NODE_FILE;
	if ((e = lb_vfile_open(c->vt, path, &none, &f)) < 0 || (e = lb_vfile_set_node(f, &m->n, LB_VTREE_REPLACE)) < 0 ||
	    (e = read_content(c, ae, f)) < 0) {
		lb_vfile_abort(f);
		return e;
	}
	return lb_vfile_close(f, size);
}

/* A hardlink entry: path joins target's group.  The name gets the
 * target's node at once, so that it has the content the target has now
 * (a later entry at the target's name replaces that name only, as tar
 * does), and so that a name in the way is found at this entry, which is
 * then skipped like any other. */
static int add_hardlink(struct ictx *c, struct archive_entry *ae, const char *path, const char *target,
			struct meta *m, bool *skipped)
{
	size_t g = link_group(c, target);
	struct lb_node tn;
	uint64_t size;
	int e;

	*skipped = false;
	if (!strcmp(path, target)) {
		warn(c, path, "a hard link to itself; skipped");
		*skipped = true;
		return 0;
	}
	if ((e = lb_vtree_lookup(c->vt, target, &tn)) < 0 || tn.type == LB_NODE_DIR) {
		char q[MSG_PATH_MAX * 4 + 8];

		quote(q, sizeof q, target);
		warn(c, path, "a hard link to %s, %s; skipped", q, e < 0 ? "which is not in the archive before it"
							      : "a directory");
		if (e == 0)
			lb_node_release(&tn);
		*skipped = true;
		return 0;
	}
	e = lb_vtree_add_node(c->vt, path, &tn, LB_VTREE_REPLACE);
	lb_node_release(&tn);
	if (e < 0)
		return e; /* -EEXIST, -ENOTDIR: the caller skips the entry */
	if (g == SIZE_MAX && ((e = group_new(c, &g)) < 0 || (e = group_add(c, g, target)) < 0))
		return e;
	if ((e = group_add(c, g, path)) < 0)
		return e;
	/* cpio, and pax by some writers, put the data on a later name */
	if (archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0) {
		if ((e = add_file(c, ae, path, m, &size)) < 0)
			return e;
		free(c->groups[g].content);
		if (!(c->groups[g].content = strdup(path)))
			return -ENOMEM;
		c->st->bytes += size;
	}
	return 0;
}

/* Gives every name of each hard-link group the content, metadata and
 * link count of the group, and a shared (dev, ino) restore links by.  A
 * name listed twice counts once; a name replaced since it joined is no
 * longer a member, and the content comes from the member that carried
 * data or else from the first member left. */
static int finish_groups(struct ictx *c)
{
	int e = 0;

	for (size_t g = 0; g < c->ngroups && e == 0; g++) {
		struct group *gr = &c->groups[g];
		const char *src = NULL;
		struct lb_node n;
		uint64_t names = 0;

		for (size_t i = 0; i < gr->n; i++) {
			struct linkent *l = link_find(c, gr->paths[i]);

			if (l->group != g || l->mark == g + 1)
				continue;
			l->mark = g + 1;
			names++;
			if (!src)
				src = gr->paths[i];
		}
		if (gr->content && link_group(c, gr->content) == g)
			src = gr->content;
		if (names < 2)
			continue;
		if ((e = lb_vtree_lookup(c->vt, src, &n)) < 0)
			break;
		n.dev = 0;
		n.ino = g + 1;  /* any id unique in this snapshot */
		n.nlink = names;
		for (size_t i = 0; i < gr->n && e == 0; i++) {
			struct linkent *l = link_find(c, gr->paths[i]);

			if (l->group != g || l->mark != g + 1)
				continue;
			l->mark = SIZE_MAX;
			e = lb_vtree_add_node(c->vt, gr->paths[i], &n, LB_VTREE_REPLACE);
		}
		lb_node_release(&n);
	}
	return e;
}

static int import_entry(struct ictx *c, struct archive_entry *ae)
{
	const char *raw = archive_entry_pathname(ae), *hl = archive_entry_hardlink(ae);
	struct meta m = { 0 };
	char *path = NULL, *target = NULL;
	bool skipped = false;
	uint64_t size = 0;
	int e = 0, k;
	unsigned type = archive_entry_filetype(ae);

	if (!raw)
		raw = archive_entry_pathname_utf8(ae);
	if (!raw) {
		char q[MSG_PATH_MAX * 4 + 8];

		quote(q, sizeof q, c->prev ? c->prev : "");
		warn(c, NULL, "an entry%s%s%s without a usable name (%s); skipped", c->prev ? " after '" : "",
		     q, c->prev ? "'" : "", archive_error_string(c->a) ? archive_error_string(c->a) : "no name");
		c->st->skipped++;
		return 0;
	}
	if (!(path = malloc(strlen(raw) + 1)) || (hl && !(target = malloc(strlen(hl) + 1)))) {
		e = -ENOMEM;
		goto out;
	}
	k = norm_path(raw, path);
	if (k == 1 && type == AE_IFDIR && !hl)
		goto out; /* "./": the root has no metadata of its own in a snapshot */
	if (k != 0) {
		warn(c, raw, "%s; skipped", k == 1 ? "an empty name" :
		     "a name restore would refuse (a \"..\" component, or a component longer than 255 bytes)");
		c->st->skipped++;
		goto out;
	}
	free(c->cur);
	if (!(c->cur = strdup(path))) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = meta_fill(c, ae, path, &m)) < 0)
		goto out;
	/* a new entry at a name that was in a hard-link group leaves it */
	if (c->caplinks && link_group(c, path) != SIZE_MAX && (e = link_set(c, path, SIZE_MAX)) < 0)
		goto out;
	if (hl) {
		if (norm_path(hl, target) != 0) {
			warn(c, path, "a hard link to an invalid name; skipped");
			c->st->skipped++;
			goto out;
		}
		if ((e = add_hardlink(c, ae, path, target, &m, &skipped)) < 0)
			goto out;
		if (skipped)
			c->st->skipped++;
		else
			c->st->hardlinks++;
		goto out;
	}
	switch (type) {
	case AE_IFREG:
	case 0: /* some zip writers leave the type out: a file */
		if ((e = add_file(c, ae, path, &m, &size)) < 0)
			goto out;
		c->st->files++;
		c->st->bytes += size;
		if (c->o->progress)
			__atomic_add_fetch(&c->o->progress->files, 1, __ATOMIC_RELAXED);
		goto out;
	case AE_IFDIR:
		m.n.type = LB_NODE_DIR;
		c->st->dirs++;
		if (c->o->progress)
			__atomic_add_fetch(&c->o->progress->dirs, 1, __ATOMIC_RELAXED);
		break;
	case AE_IFLNK: {
		const char *t = archive_entry_symlink(ae);

		if (!t)
			t = archive_entry_symlink_utf8(ae);
		if (!t || !*t || strlen(t) > LB_TARGET_MAX) {
			warn(c, path, "a symlink without a usable target; skipped");
			c->st->skipped++;
			goto out;
		}
		if (!(m.target = strdup(t))) {
			e = -ENOMEM;
			goto out;
		}
		m.n.type = LB_NODE_SYMLINK;
		m.n.target = (uint8_t *)m.target;
		m.n.targetlen = strlen(m.target);
		c->st->symlinks++;
		break;
	}
	case AE_IFIFO:
		m.n.type = LB_NODE_FIFO;
		c->st->others++;
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		m.n.type = type == AE_IFCHR ? LB_NODE_CHR : LB_NODE_BLK;
		m.n.rdev = (uint64_t)makedev(archive_entry_rdevmajor(ae), archive_entry_rdevminor(ae));
		c->st->others++;
		break;
	default:
		warn(c, path, "a %s cannot be kept; skipped", type == AE_IFSOCK ? "socket" : "entry of unknown type");
		c->st->skipped++;
		goto out;
	}
	e = lb_vtree_add_node(c->vt, path, &m.n, LB_VTREE_REPLACE);
out:
	if (e == -EEXIST || e == -ENOTDIR) {
		/* a file where the archive has a directory, or the reverse */
		warn(c, path, "%s; skipped", lb_errmsg());
		c->st->skipped++;
		e = 0;
	}
	meta_release(&m);
	free(path);
	free(target);
	if (c->cur) {
		free(c->prev);
		c->prev = c->cur;
		c->cur = NULL;
	}
	return e;
}

/* libarchive stops at a tar's first zero block and reads nothing more, so
 * a tar cut exactly between two entries would look complete: demand the
 * end-of-archive block (every tar writer puts two there). */
static int check_tar_end(struct ictx *c)
{
	la_int64_t hdr = archive_read_header_position(c->a), used = archive_filter_bytes(c->a, 0);

	if ((archive_format(c->a) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR)
		return 0;
	if (used >= hdr + (la_int64_t)TAR_BLOCK)
		return 0;
	archive_set_error(c->a, LB_E_CORRUPT, "the archive ends without tar's end-of-archive block (truncated)");
	return damaged(c, NULL);
}

/* A zip file read from a file is read through its central directory,
 * where the modes and symlinks are; without the end-of-central-directory
 * record libarchive falls back to reading the entries as a stream, which
 * takes a zip cut short in its central directory for a whole one with
 * every file 0664 and every symlink a file.  Demand the record: a
 * signature in the last ZIP_EOCD_MAX bytes whose fields fit the file. */
static int check_zip_end(struct ictx *c)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t len;
	off_t base;
	int e = 0;

	if (fstat(c->src.fd, &st) < 0)
		return lb_errno(-errno, "%s", c->name);
	len = st.st_size < (off_t)ZIP_EOCD_MAX ? (size_t)st.st_size : ZIP_EOCD_MAX;
	base = st.st_size - (off_t)len;
	if (!(buf = malloc(len ? len : 1)))
		return -ENOMEM;
	if (pread(c->src.fd, buf, len, base) != (ssize_t)len) {
		e = lb_errno(errno ? -errno : -EIO, "reading the end of %s", c->name);
		goto out;
	}
	for (size_t i = len >= ZIP_EOCD_LEN ? len - ZIP_EOCD_LEN + 1 : 0; i-- > 0;) {
		const uint8_t *p = buf + i;
		uint64_t cdsize, cdoff;

		if (memcmp(p, "PK\005\006", 4))
			continue;
		/* one disk; the directory before the record (zip64: 0xffffffff) */
		cdsize = (uint64_t)p[12] | (uint64_t)p[13] << 8 | (uint64_t)p[14] << 16 | (uint64_t)p[15] << 24;
		cdoff = (uint64_t)p[16] | (uint64_t)p[17] << 8 | (uint64_t)p[18] << 16 | (uint64_t)p[19] << 24;
		if ((p[4] | p[5] | p[6] | p[7]) == 0 &&
		    (cdoff == 0xffffffffu || cdsize == 0xffffffffu || cdoff + cdsize <= (uint64_t)base + i))
			goto out;
	}
	archive_set_error(c->a, LB_E_CORRUPT, "zip: no end-of-central-directory record at the end of the file "
			  "(truncated, or not a whole zip)");
	e = damaged(c, NULL);
out:
	free(buf);
	return e;
}

/* Reads what follows the end of the archive, so that a gzip member's
 * CRC-32 and length are checked however little of it libarchive needed. */
static int drain(struct ictx *c)
{
	const void *buf;

	while (c->src.gz && !c->src.eof) {
		la_ssize_t k = src_read_gz(c->a, &c->src, &buf);

		if (k < 0)
			return damaged(c, NULL);
		if (k == 0)
			break;
	}
	return 0;
}

/* libarchive warns when a name is not in the charset the header claims
 * (GNU tar writes non-UTF-8 names raw in pax path records) and keeps the
 * raw bytes, which is what a snapshot records anyway: not worth a word. */
static bool charset_warning(struct archive *a)
{
	const char *m = archive_error_string(a);

	return m && (strstr(m, "can't be converted") || strstr(m, "cannot be converted"));
}

static int open_archive(struct ictx *c)
{
	static int (*const formats[])(struct archive *) = {
		archive_read_support_format_tar, archive_read_support_format_cpio, archive_read_support_format_zip,
		archive_read_support_format_7zip, archive_read_support_format_ar, archive_read_support_format_iso9660,
		archive_read_support_format_xar, archive_read_support_format_cab, archive_read_support_format_lha,
		archive_read_support_format_rar, archive_read_support_format_rar5,
	};
	int e;

	if ((e = src_open(&c->src, c->o)) < 0)
		return e;
	if (!(c->a = archive_read_new()))
		return -ENOMEM;
	/* mtree is left out on purpose: its entries name files on this disk */
	for (size_t i = 0; i < LB_ARRAY_SIZE(formats); i++)
		formats[i](c->a);
	archive_read_support_filter_all(c->a);
	archive_read_set_callback_data(c->a, &c->src);
	archive_read_set_read_callback(c->a, src_read);
	if (c->src.seekable)
		archive_read_set_seek_callback(c->a, src_seek);
	if (archive_read_open1(c->a) != ARCHIVE_OK) {
		const char *m = archive_error_string(c->a);

		return lb_err(-LB_E_CORRUPT, "%s: not an archive lifeboat can read: %s", c->name, m ? m : "unknown format");
	}
	return 0;
}

int lb_import_run(struct lb_repo *r, const struct lb_import_opts *o, struct lb_import_stats *st, char id[65])
{
	struct ictx c = { .r = r, .o = o, .st = st };
	struct lb_packer_stats ps;
	struct lb_vsnapshot_info info = { 0 };
	struct archive_entry *ae;
	json_t *sec = NULL;
	int e, retries = 0;

	memset(st, 0, sizeof *st);
	c.name = o->archive && strcmp(o->archive, "-") ? o->archive : "standard input";
	if ((e = open_archive(&c)) < 0)
		goto out;
	if ((e = lb_vsnapshot_begin_workers(r, 0, &c.vs, &c.vt)) < 0)
		goto out;
	for (;;) {
		int ar;

		if (canceled(&c)) {
			e = lb_err(-LB_E_CANCELED, "canceled");
			goto out;
		}
		ar = archive_read_next_header(c.a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar == ARCHIVE_RETRY && ++retries < RETRIES_MAX)
			continue;
		if (ar < ARCHIVE_WARN || ar == ARCHIVE_RETRY) {
			e = damaged(&c, NULL);
			goto out;
		}
		retries = 0;
		if (ar == ARCHIVE_WARN && !charset_warning(c.a)) {
			warn(&c, archive_entry_pathname(ae), "%s",
			     archive_error_string(c.a) ? archive_error_string(c.a) : "libarchive warned without a message");
			st->warnings++;
		}
		if (st->entries == 0 && c.src.seekable &&
		    (archive_format(c.a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP &&
		    (e = check_zip_end(&c)) < 0)
			goto out;
		if (st->entries++ == 0 && !c.src.seekable &&
		    (archive_format(c.a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP) {
			/* modes and symlinks are in the central directory at the end */
			warn(&c, NULL, "a zip read as a stream (from a pipe) has no file modes or symlinks: "
			     "they are in the central directory at its end; give the file name instead");
			st->warnings++;
		}
		if ((e = import_entry(&c, ae)) < 0)
			goto out;
	}
	if ((e = check_tar_end(&c)) < 0 || (e = drain(&c)) < 0)
		goto out;
	snprintf(st->format, sizeof st->format, "%s", archive_format_name(c.a) ? archive_format_name(c.a) : "?");
	if (c.src.gz)
		snprintf(st->filters, sizeof st->filters, "gzip");
	else
		snprintf(st->filters, sizeof st->filters, "%s",
			 archive_filter_count(c.a) > 1 && archive_filter_name(c.a, 0) ? archive_filter_name(c.a, 0) : "none");
	st->archive_bytes = c.src.raw;
	if ((e = finish_groups(&c)) < 0)
		goto out;

	sec = json_pack("{s:s, s:s, s:s, s:I, s:I}", "archive", c.name, "format", st->format, "compression",
			st->filters, "entries", (json_int_t)st->entries, "skipped", (json_int_t)st->skipped);
	if (!sec) {
		e = -ENOMEM;
		goto out;
	}
	info.host = o->host;
	info.tags = o->tags;
	info.ntags = o->ntags;
	info.time_set = true;
	if (o->time_set) {
		info.time_s = o->time_s;
		info.time_ns = o->time_ns;
	} else if (c.have_time) {
		info.time_s = c.newest_s;
		info.time_ns = c.newest_ns;
	} else {
		int64_t now = lb_now_ns();

		info.time_s = now / 1000000000;
		info.time_ns = now % 1000000000;
	}
	st->time_s = info.time_s;
	st->time_ns = info.time_ns;
	{
		/* directories the archive implies but does not list: root's,
		 * 0755, the newest mtime in it (the same archive, the same trees) */
		struct lb_vmeta dm = { .mode = 0755, .mtime_s = c.have_time ? c.newest_s : info.time_s,
				       .mtime_ns = (uint32_t)(c.have_time ? c.newest_ns : info.time_ns) };

		lb_vtree_restamp_implicit(c.vt, &dm);
	}
	info.section = "import";
	info.value = sec;
	if (o->progress)
		__atomic_store_n(&o->progress->phase, LB_PHASE_COMMIT, __ATOMIC_RELAXED);
	if ((e = lb_vsnapshot_commit_files(c.vs, &info, id)) < 0)
		goto out;
	lb_vsnapshot_packer_stats(c.vs, &ps);
	st->blobs_new = ps.blobs_new;
	st->blobs_known = ps.blobs_known;
	st->raw_new = ps.raw_new;
	st->stored_new = ps.stored_new;
out:
	json_decref(sec);
	if (c.a)
		archive_read_free(c.a);
	src_close(&c.src);
	lb_vsnapshot_free(c.vs);
	for (size_t g = 0; g < c.ngroups; g++) {
		for (size_t i = 0; i < c.groups[g].n; i++)
			free(c.groups[g].paths[i]);
		free(c.groups[g].paths);
		free(c.groups[g].content);
	}
	free(c.groups);
	for (size_t i = 0; i < c.caplinks; i++)
		free(c.links[i].path);
	free(c.links);
	free(c.cur);
	free(c.prev);
	return e;
}
