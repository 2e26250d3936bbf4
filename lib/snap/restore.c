#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lifeboat/restore.h"
#include "lifeboat/snapshot.h"
#include "snap/meta.h"
#include "store/store.h"

enum match { SKIP, ANCESTOR, FULL };

struct link_ent {
	uint64_t dev, ino;
	char *relpath; /* "a/b/c" below the target, components already validated */
};

struct rctx {
	struct lb_repo *r;
	const struct lb_restore_opts *o;
	struct lb_restore_stats *st;
	struct lb_progress *pg;
	struct lb_buf path;   /* "/a/b" inside the snapshot, NUL-terminated */
	struct lb_buf blob;
	int targetfd;
	bool root;
	char **incl;          /* normalised includes: "/a/b" */
	bool *incl_hit;
	size_t nincl;
	struct link_ent *links;
	size_t nlinks, caplinks;
};

static void report(struct rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct rctx *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->st->errors++;
	if (c->o->error)
		c->o->error(c->o->error_ctx, (const char *)c->path.data, c->path.len, msg);
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

static void apply_meta(struct rctx *c, int dirfd, const char *name, int fd, const struct lb_node *n)
{
	struct timespec ts[2] = {
		{ .tv_sec = n->atime_s, .tv_nsec = n->atime_ns },
		{ .tv_sec = n->mtime_s, .tv_nsec = n->mtime_ns },
	};
	bool is_link = n->type == LB_NODE_SYMLINK;
	int r;

	/* order matters: chown clears setuid bits and capabilities, so it
	 * comes first; chmod after the ACL xattrs keeps the mode exact */
	r = fd >= 0 ? fchown(fd, n->uid, n->gid) : fchownat(dirfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && (c->root || errno != EPERM))
		report(c, "cannot set owner %u:%u: %s", n->uid, n->gid, strerror(errno));
	if (n->nxattrs && lb_xattrs_apply(dirfd, name, n) > 0 && (c->root || !strstr(lb_errmsg(), "ermission")))
		report(c, "%s", lb_errmsg());
	if (!is_link) {
		r = fd >= 0 ? fchmod(fd, n->mode) : fchmodat(dirfd, name, n->mode, 0);
		if (r < 0)
			report(c, "cannot set mode %04o: %s", n->mode, strerror(errno));
	}
	r = fd >= 0 ? futimens(fd, ts) : utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		report(c, "cannot set times: %s", strerror(errno));
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

/* ---- hard links ---- */

static struct link_ent *link_find(struct rctx *c, const struct lb_node *n)
{
	for (size_t i = 0; i < c->nlinks; i++)
		if (c->links[i].dev == n->dev && c->links[i].ino == n->ino)
			return &c->links[i];
	return NULL;
}

static void link_remember(struct rctx *c, const struct lb_node *n)
{
	struct link_ent *l;

	if (c->nlinks == c->caplinks) {
		size_t ncap = c->caplinks ? c->caplinks * 2 : 64;
		void *p = realloc(c->links, ncap * sizeof *c->links);

		if (!p)
			return; /* later links become copies; content is the same */
		c->links = p;
		c->caplinks = ncap;
	}
	l = &c->links[c->nlinks];
	l->dev = n->dev;
	l->ino = n->ino;
	l->relpath = strdup((const char *)c->path.data + 1);
	if (l->relpath)
		c->nlinks++;
}

/* Opens the directory holding relpath's last component, one component at
 * a time with O_NOFOLLOW, so a link can never be made through a symlink. */
static int open_parent(struct rctx *c, const char *relpath, const char **last)
{
	char *copy = strdup(relpath), *p, *slash;
	int fd = dup(c->targetfd);

	if (!copy || fd < 0) {
		free(copy);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	for (p = copy; (slash = strchr(p, '/')); p = slash + 1) {
		int nfd;

		*slash = 0;
		nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0) {
			free(copy);
			return -errno;
		}
		fd = nfd;
	}
	*last = relpath + (p - copy);
	free(copy);
	return fd;
}

static int try_link(struct rctx *c, int dirfd, const char *name, const struct lb_node *n)
{
	struct link_ent *l = link_find(c, n);
	const char *last = NULL;
	int pfd, r;

	if (!l)
		return 1;
	pfd = open_parent(c, l->relpath, &last);
	if (pfd < 0)
		return 1;
	r = linkat(pfd, last, dirfd, name, 0);
	close(pfd);
	if (r < 0)
		return 1; /* fall back to a copy */
	c->st->links++;
	return 0;
}

/* ---- entries ---- */

static int write_content(struct rctx *c, int fd, const struct lb_node *n)
{
	uint64_t off = 0;
	int e;

	for (size_t i = 0; i < n->nextents; i++) {
		const struct lb_extent *x = &n->extents[i];

		if (c->pg && c->pg->cancel)
			return lb_err(-LB_E_CANCELED, "canceled");
		if (x->hole) {
			off += x->len;
			continue;
		}
		if ((e = lb_repo_read_blob(c->r, x->id, LB_BLOB_DATA, &c->blob)) < 0)
			return e;
		if (c->blob.len != x->len)
			return lb_err(-LB_E_CORRUPT, "chunk at offset %llu has %zu bytes, the tree says %llu",
				      (unsigned long long)off, c->blob.len, (unsigned long long)x->len);
		lb_progress_op(c->pg, (const char *)c->path.data);
		if ((e = lb_pwrite_full(fd, c->blob.data, c->blob.len, (off_t)off)) < 0)
			return lb_errno(e, "write at offset %llu", (unsigned long long)off);
		off += x->len;
		c->st->bytes += x->len;
		if (c->pg)
			__atomic_add_fetch(&c->pg->bytes, x->len, __ATOMIC_RELAXED);
	}
	if (ftruncate(fd, (off_t)n->size) < 0) /* trailing hole, and the exact size */
		return lb_errno(-errno, "truncate to %llu bytes", (unsigned long long)n->size);
	return 0;
}

static void restore_file(struct rctx *c, int dirfd, const char *name, const struct lb_node *n)
{
	int fd, e;

	if (clear_slot(c, dirfd, name) < 0)
		return;
	if (n->nlink > 1 && try_link(c, dirfd, name, n) == 0)
		return;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		report(c, "cannot create: %s", strerror(errno));
		return;
	}
	e = write_content(c, fd, n);
	if (e < 0) {
		close(fd);
		unlinkat(dirfd, name, 0);
		report(c, "not restored: %s", lb_errmsg());
		return;
	}
	apply_meta(c, dirfd, name, fd, n);
	close(fd);
	c->st->files++;
	if (c->pg)
		__atomic_add_fetch(&c->pg->files, 1, __ATOMIC_RELAXED);
	if (n->nlink > 1)
		link_remember(c, n);
}

static void restore_special(struct rctx *c, int dirfd, const char *name, const struct lb_node *n)
{
	int r;

	if (clear_slot(c, dirfd, name) < 0)
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
	apply_meta(c, dirfd, name, -1, n);
	c->st->others++;
}

static int restore_tree(struct rctx *c, int dirfd, const uint8_t id[32], enum match m);

static int restore_dir(struct rctx *c, int dirfd, const char *name, const struct lb_node *n, enum match m)
{
	int fd, e;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST) {
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
	c->st->dirs++;
	if (c->pg)
		__atomic_add_fetch(&c->pg->dirs, 1, __ATOMIC_RELAXED);
	e = restore_tree(c, fd, n->subtree, m);
	if (e >= 0)
		apply_meta(c, dirfd, name, fd, n);
	close(fd);
	return e;
}

static int restore_tree(struct rctx *c, int dirfd, const uint8_t id[32], enum match m)
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
		char *name;

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
		name = (char *)n->name; /* NUL-terminated by the decoder */
		if (n->type == LB_NODE_DIR)
			e = restore_dir(c, dirfd, name, n, nm);
		else if (n->type == LB_NODE_FILE)
			restore_file(c, dirfd, name, n);
		else
			restore_special(c, dirfd, name, n);
		if (e < 0)
			break;
next:
		c->path.len = saved;
		c->path.data[saved] = 0;
	}
	lb_tree_release(&t);
	return e < 0 ? e : 0;
}

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
			char c = *s;

			*s = 0;
			if (mkdir(p, c ? 0755 : 0700) < 0 && errno != EEXIST) {
				e = lb_errno(-errno, "target %s", p);
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return e;
}

int lb_restore_run(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_restore_opts *o,
		   struct lb_restore_stats *st)
{
	struct rctx c = { .r = r, .o = o, .st = st, .pg = o->progress, .targetfd = -1 };
	int e;

	memset(st, 0, sizeof *st);
	lb_buf_init(&c.path, 0);
	lb_buf_init(&c.blob, LB_BLOB_MAX);
	c.root = geteuid() == 0;
	if (!r->index_loaded && (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		return e;
	if ((e = mkdir_parents(o->target)) < 0)
		return e;
	c.targetfd = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.targetfd < 0)
		return lb_errno(-errno, "target %s", o->target);
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
	e = restore_tree(&c, c.targetfd, s->tree, c.nincl ? ANCESTOR : FULL);
	for (size_t i = 0; e == 0 && i < c.nincl; i++) {
		if (!c.incl_hit[i]) {
			lb_buf_reset(&c.path);
			lb_buf_append(&c.path, c.incl[i], strlen(c.incl[i]) + 1);
			report(&c, "no such path in snapshot %.12s", s->id);
		}
	}
	lb_progress_op(c.pg, NULL);
out:
	for (size_t i = 0; i < c.nincl; i++)
		free(c.incl[i]);
	free(c.incl);
	free(c.incl_hit);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].relpath);
	free(c.links);
	lb_buf_release(&c.path);
	lb_buf_release(&c.blob);
	if (c.targetfd >= 0)
		close(c.targetfd);
	return e;
}
