/* Maildir: names, a rename-tolerant scan, and a restore that delivers.
 *
 * Why the scan takes every message present for the whole backup exactly
 * once:
 *
 *  1. Each of new/ and cur/ is listed in ONE getdents64 call (the buffer
 *     grows until the whole directory fits).  The kernel runs that call
 *     under the directory's i_rwsem, which rename(2), link(2) and unlink(2)
 *     take exclusively, so the listing is the directory at one instant: a
 *     concurrent rename cannot make it miss or double a name, as a
 *     multi-call readdir can.  new/ is listed before cur/; messages only
 *     ever move new/ -> cur/, so a message that exists throughout is in at
 *     least one of the two listings.
 *  2. Messages are keyed by their base name (before ':'), which no rename
 *     changes.  A base in both listings with the same inode moved between
 *     them: it is taken once (under its cur/ name).
 *  3. Each message is opened by the name listed.  When that name is gone,
 *     the base is looked up in a fresh listing (taken now, unless one taken
 *     after that name was listed exists already) and tried under the name
 *     found there, again and again: it is read under the name it has when
 *     it is opened, once.  A base missing from a fresh listing no longer
 *     existed when that listing was taken: it was deleted during the
 *     backup and is left out without a warning, as mail life goes.
 *
 * If a directory is too large for one call (LIST_BUF_MAX) or the file
 * system does not serve it in one, the listing is several calls and a
 * concurrent rename may hide a message from it; the scan then lists once
 * more at the end and takes the bases it had not seen (marked "atomic":
 * false in the manifest). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "lifeboat/browse.h"
#include "sources/mail_internal.h"
#include "store/store.h"

#define LIST_BUF_MIN ((size_t)64 << 10)
#define LIST_BUF_MAX ((size_t)64 << 20)  /* ~700k names: beyond, listings take several calls */
#define DIRENT_MAX 280                    /* the largest linux_dirent64 record (255-byte name) */
#define REFIND_MAX 64                     /* lookups of one message before giving up on it */

enum { D_NEW = 0, D_CUR = 1 };
static const char *const dirname_of[2] = { "new", "cur" };

/* ---- names ---- */

int lb_maildir_name_parse(const char *name, struct lb_maildir_name *out)
{
	const char *colon;

	memset(out, 0, sizeof *out);
	if (!name[0] || name[0] == '.' || strchr(name, '/'))
		return -EINVAL;
	colon = strchr(name, ':');
	out->baselen = colon ? (size_t)(colon - name) : strlen(name);
	if (out->baselen == 0)
		return -EINVAL;
	if (colon) {
		out->info = colon + 1;
		if (colon[1] == '2' && colon[2] == ',') {
			out->flags = colon + 3;
			out->flagslen = strlen(out->flags);
		}
	}
	return 0;
}

bool lb_maildir_has_flag(const struct lb_maildir_name *n, char flag)
{
	return n->flags && memchr(n->flags, flag, n->flagslen) != NULL;
}

bool lb_maildir_same_message(const char *a, const char *b)
{
	struct lb_maildir_name na, nb;

	if (lb_maildir_name_parse(a, &na) < 0 || lb_maildir_name_parse(b, &nb) < 0)
		return strcmp(a, b) == 0;
	return na.baselen == nb.baselen && memcmp(a, b, na.baselen) == 0;
}

bool lb_maildir_is(int dirfd)
{
	struct stat st;

	return fstatat(dirfd, "cur", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	       fstatat(dirfd, "new", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* ---- listings ---- */

struct ment {
	char *name;
	size_t baselen;
	uint64_t ino;
	uint8_t dir;       /* D_NEW or D_CUR */
	uint8_t isdir;     /* d_type says directory: not a message */
};

struct mlist {
	struct ment *v;
	size_t n, cap;
	bool atomic;       /* every directory in it came from one call */
};

static void mlist_free(struct mlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int mlist_push(struct mlist *l, const char *name, uint64_t ino, uint8_t dir, bool isdir)
{
	struct lb_maildir_name mn;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		void *p = realloc(l->v, ncap * sizeof *l->v);

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = ncap;
	}
	if (!(l->v[l->n].name = strdup(name)))
		return -ENOMEM;
	l->v[l->n].baselen = lb_maildir_name_parse(name, &mn) == 0 ? mn.baselen : 0;
	l->v[l->n].ino = ino;
	l->v[l->n].dir = dir;
	l->v[l->n].isdir = isdir;
	l->n++;
	return 0;
}

/* Reads the whole directory fd into *buf: in one getdents64 call if it can
 * (*atomic), else in as many as it takes. */
static int getdents_all(int fd, uint8_t **buf, size_t *len, bool *atomic)
{
	size_t cap = LIST_BUF_MIN;
	uint8_t *b = NULL;

	*buf = NULL;
	*len = 0;
	for (;;) {
		uint8_t probe[2 * DIRENT_MAX];
		ssize_t n, k;
		void *p = realloc(b, cap);

		if (!p) {
			free(b);
			return -ENOMEM;
		}
		b = p;
		if (lseek(fd, 0, SEEK_SET) < 0 || (n = getdents64(fd, b, cap)) < 0) {
			free(b);
			return -errno;
		}
		/* room was left for any entry, and nothing follows: the call
		 * reached the end, so it saw the directory at one instant */
		if ((size_t)n + DIRENT_MAX < cap && (k = getdents64(fd, probe, sizeof probe)) == 0) {
			*buf = b;
			*len = (size_t)n;
			*atomic = true;
			return 0;
		}
		if (cap >= LIST_BUF_MAX)
			break;
		cap *= 4;
	}
	/* too large for one call: read it all, in several */
	{
		size_t have = 0;

		if (lseek(fd, 0, SEEK_SET) < 0) {
			free(b);
			return -errno;
		}
		for (;;) {
			ssize_t n;

			if (cap - have < 4 * DIRENT_MAX) {
				void *p = cap >= ((size_t)1 << 30) ? NULL : realloc(b, cap * 2);

				if (!p) {
					free(b);
					return -ENOMEM;
				}
				b = p;
				cap *= 2;
			}
			n = getdents64(fd, b + have, cap - have);
			if (n < 0) {
				free(b);
				return -errno;
			}
			if (n == 0)
				break;
			have += (size_t)n;
		}
		*buf = b;
		*len = have;
		*atomic = false;
		return 0;
	}
}

/* Appends the entries of directory fd (new/ or cur/) to l. */
static int list_dir(int fd, uint8_t dir, struct mlist *l)
{
	uint8_t *buf;
	size_t len, pos = 0;
	bool atomic;
	int e;

	if ((e = getdents_all(fd, &buf, &len, &atomic)) < 0)
		return e;
	if (!atomic)
		l->atomic = false;
	while (pos < len) {
		struct dirent64 *de = (struct dirent64 *)(buf + pos);

		if (de->d_reclen == 0)
			break;
		pos += de->d_reclen;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((e = mlist_push(l, de->d_name, de->d_ino, dir, de->d_type == DT_DIR)) < 0)
			break;
	}
	free(buf);
	return e;
}

/* new/ then cur/: the order that cannot miss a message moving new -> cur. */
static int list_both(const int fds[2], struct mlist *l)
{
	int e;

	l->atomic = true;
	if ((e = list_dir(fds[D_NEW], D_NEW, l)) < 0 || (e = list_dir(fds[D_CUR], D_CUR, l)) < 0)
		return e;
	return 0;
}

static int base_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);

	return c ? c : (la > lb) - (la < lb);
}

/* base, then directory (new first), then inode */
static int ment_cmp(const void *x, const void *y)
{
	const struct ment *a = x, *b = y;
	int c = base_cmp(a->name, a->baselen, b->name, b->baselen);

	if (c)
		return c;
	if (a->dir != b->dir)
		return a->dir - b->dir;
	return (a->ino > b->ino) - (a->ino < b->ino);
}

/* The entry for base in a sorted listing, the cur/ one if both (the later
 * state); NULL if absent. */
static const struct ment *mlist_find(const struct mlist *l, const char *base, size_t baselen)
{
	size_t lo = 0, hi = l->n;
	const struct ment *found = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = base_cmp(l->v[mid].name, l->v[mid].baselen, base, baselen);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < l->n && !base_cmp(l->v[lo].name, l->v[lo].baselen, base, baselen); lo++)
		found = &l->v[lo];
	return found;
}

/* Keeps the messages of l (entries with a base), sorted, one per (base,
 * inode): the same file under the same base was renamed between the two
 * listings, and its later name is kept. */
static void mlist_messages(struct mlist *l, struct mlist *others)
{
	size_t w = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].baselen && !l->v[i].isdir)
			l->v[w++] = l->v[i];
		else if (others && mlist_push(others, l->v[i].name, l->v[i].ino, l->v[i].dir, l->v[i].isdir) == 0)
			free(l->v[i].name);
		else
			free(l->v[i].name);
	}
	l->n = w;
	qsort(l->v, l->n, sizeof *l->v, ment_cmp);
	w = 0;
	for (size_t i = 0; i < l->n; i++) {
		bool later = false;

		for (size_t j = i + 1; j < l->n && !base_cmp(l->v[j].name, l->v[j].baselen, l->v[i].name,
							      l->v[i].baselen); j++)
			if (l->v[j].ino == l->v[i].ino)
				later = true;
		if (later)
			free(l->v[i].name);
		else
			l->v[w++] = l->v[i];
	}
	l->n = w;
}

/* ---- the scan ---- */

struct scan {
	struct mailsrc *m;
	struct lb_scan *sub[2];
	int fd[2];
	struct mlist fresh;      /* the latest fresh listing, messages only, sorted */
	unsigned gen;            /* its generation; 0: none yet (the first listing is the latest) */
	struct maildir_stats *st;
};

static int relist(struct scan *s)
{
	struct mlist l = { 0 };
	int e;

	if ((e = list_both(s->fd, &l)) < 0) {
		mlist_free(&l);
		return lb_errno(e, "%s: listing new/ and cur/", lb_scan_path(s->sub[D_CUR]));
	}
	if (!l.atomic)
		s->st->atomic = false;
	mlist_messages(&l, NULL);
	mlist_free(&s->fresh);
	s->fresh = l;
	s->gen++;
	s->st->relists++;
	return 0;
}

/* Takes one message, first under the name listed (from listing gen), then
 * wherever fresh listings find its base: 0 taken or left out, negative on
 * a fatal error. */
static int take(struct scan *s, const struct ment *m0, unsigned gen)
{
	char *name = strdup(m0->name), *base = strndup(m0->name, m0->baselen);
	uint8_t dir = m0->dir;
	bool renamed = false;
	int e = 0;

	if (!name || !base) {
		e = -ENOMEM;
		goto out;
	}
	for (unsigned tries = 0;; tries++) {
		const struct ment *f;
		uint64_t size = 0;

		e = lb_scan_file(s->sub[dir], s->fd[dir], name, &size);
		if (e == 0) {
			struct lb_maildir_name mn;

			s->st->messages++;
			s->st->bytes += size;
			if (dir == D_NEW)
				s->st->new++;
			else
				s->st->cur++;
			if (lb_maildir_name_parse(name, &mn) == 0 && lb_maildir_has_flag(&mn, 'S'))
				s->st->seen++;
			if (renamed)
				s->st->renamed++;
			break;
		}
		if (e == 1) { /* excluded, or unreadable and warned */
			e = 0;
			break;
		}
		if (e != -ENOENT)
			goto out;
		e = 0;
		if (tries >= REFIND_MAX) {
			char what[4200];

			snprintf(what, sizeof what, "%s/%s", lb_scan_path(s->sub[dir]), name);
			s->m->env->warn(s->m->env, what, "renamed again every time it was looked for; not saved");
			break;
		}
		/* gone: look for it in a listing taken after that name was */
		if (gen == s->gen && (e = relist(s)) < 0)
			goto out;
		gen = s->gen;
		f = mlist_find(&s->fresh, base, strlen(base));
		if (!f) {
			s->st->vanished++; /* deleted: absent, as it should be */
			break;
		}
		free(name);
		if (!(name = strdup(f->name))) {
			e = -ENOMEM;
			goto out;
		}
		dir = f->dir;
		renamed = true;
	}
out:
	free(name);
	free(base);
	return e;
}

static int open_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* The names of the Maildir directory itself, in any order. */
static int list_top(int dirfd, char ***names, size_t *n)
{
	int fd = dup(dirfd);
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char **p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = realloc(*names, (*n + 1) * sizeof *p);
		if (!p || !(p[*n] = strdup(de->d_name))) {
			if (p)
				*names = p;
			closedir(d);
			return -ENOMEM;
		}
		*names = p;
		(*n)++;
	}
	closedir(d);
	return 0;
}

int lb_maildir_scan(struct mailsrc *m, struct lb_scan *d, int dirfd, struct maildir_stats *st)
{
	struct scan s = { .m = m, .fd = { -1, -1 }, .st = st };
	struct mlist first = { 0 }, others = { 0 };
	char **names = NULL;
	size_t nnames = 0;
	int e;

	st->atomic = true;
	for (int k = 0; k < 2; k++) {
		if ((s.fd[k] = open_dir(dirfd, dirname_of[k])) < 0) {
			e = 1; /* not ours after all: the walk reads it, and says why it cannot */
			goto out;
		}
	}
	/* everything but cur/ new/ tmp/ as the walk would (Maildir++ folders
	 * come back to us as Maildirs of their own) */
	if ((e = list_top(dirfd, &names, &nnames)) < 0) {
		e = lb_errno(e, "%s", lb_scan_path(d));
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		if (!strcmp(names[i], "cur") || !strcmp(names[i], "new"))
			continue;
		if (!strcmp(names[i], "tmp")) {
			struct stat tst;
			struct lb_scan *tmp;

			/* deliveries in progress: the directory, never its content */
			if (fstatat(dirfd, "tmp", &tst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(tst.st_mode)) {
				if ((e = lb_scan_subdir(d, dirfd, "tmp", &tmp)) == 0)
					e = lb_scan_subdir_end(tmp);
				if (e < 0 && e != -ENOENT)
					goto out;
				continue;
			}
		}
		if ((e = lb_scan_entry(d, dirfd, names[i])) < 0)
			goto out;
	}
	for (int k = 0; k < 2; k++)
		if ((e = lb_scan_subdir(d, dirfd, dirname_of[k], &s.sub[k])) < 0)
			goto out;
	if ((e = list_both(s.fd, &first)) < 0) {
		e = lb_errno(e, "%s: listing new/ and cur/", lb_scan_path(d));
		goto out;
	}
	if (!first.atomic)
		st->atomic = false;
	mlist_messages(&first, &others);
	for (size_t i = 0; i < others.n; i++)
		if ((e = lb_scan_entry(s.sub[others.v[i].dir], s.fd[others.v[i].dir], others.v[i].name)) < 0)
			goto out;
	for (size_t i = 0; i < first.n; i++) {
		if (lb_scan_canceled(d)) {
			e = lb_err(-LB_E_CANCELED, "canceled");
			goto out;
		}
		if ((e = take(&s, &first.v[i], 0)) < 0)
			goto out;
	}
	if (!st->atomic) {
		/* a listing in several calls may have hidden a message being
		 * renamed: take what one more listing shows that we never saw */
		struct mlist extra;

		if ((e = relist(&s)) < 0)
			goto out;
		extra = s.fresh; /* take() may list again: keep this one apart */
		memset(&s.fresh, 0, sizeof s.fresh);
		for (size_t i = 0; i < extra.n; i++) {
			if (mlist_find(&first, extra.v[i].name, extra.v[i].baselen))
				continue;
			if ((e = take(&s, &extra.v[i], s.gen)) < 0)
				break;
		}
		mlist_free(&extra);
		if (e < 0)
			goto out;
	}
	for (int k = 0; k < 2; k++) {
		e = lb_scan_subdir_end(s.sub[k]);
		s.sub[k] = NULL;
		if (e < 0)
			goto out;
	}
	e = 0;
out:
	for (int k = 0; k < 2; k++) {
		lb_scan_subdir_abort(s.sub[k]);
		if (s.fd[k] >= 0)
			close(s.fd[k]);
	}
	mlist_free(&first);
	mlist_free(&others);
	mlist_free(&s.fresh);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return e;
}

/* ---- restore: deliver what the mailbox lacks ---- */

int lb_mail_stream_node(struct lb_repo *r, const struct lb_node *n,
			int (*fn)(const uint8_t *p, size_t len, void *ctx), void *ctx)
{
	static const uint8_t zeros[65536];
	struct lb_buf b;
	int e = 0;

	lb_buf_init(&b, LB_BLOB_MAX);
	for (size_t i = 0; i < n->nextents && e == 0; i++) {
		if (n->extents[i].hole) {
			for (uint64_t left = n->extents[i].len; left > 0 && e == 0;) {
				size_t k = (size_t)LB_MIN(left, (uint64_t)sizeof zeros);

				e = fn(zeros, k, ctx);
				left -= k;
			}
			continue;
		}
		if ((e = lb_repo_read_blob(r, n->extents[i].id, LB_BLOB_DATA, &b)) < 0)
			break;
		e = fn(b.data, b.len, ctx);
	}
	lb_buf_release(&b);
	return e;
}

static int write_cb(const uint8_t *p, size_t len, void *ctx)
{
	int fd = *(int *)ctx;

	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The bases of the messages in dest's new/ and cur/, sorted. */
static int live_bases(const int fds[2], char ***out, size_t *n)
{
	struct mlist l = { 0 };
	int e;

	*out = NULL;
	*n = 0;
	if ((e = list_both(fds, &l)) < 0)
		goto out;
	*out = calloc(l.n + 1, sizeof **out);
	if (!*out) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (!l.v[i].baselen)
			continue;
		if (!((*out)[*n] = strndup(l.v[i].name, l.v[i].baselen))) {
			e = -ENOMEM;
			goto out;
		}
		(*n)++;
	}
	qsort(*out, *n, sizeof **out, cmp_str);
out:
	mlist_free(&l);
	return e;
}

static bool has_base(char **v, size_t n, const char *base)
{
	return n && bsearch(&base, v, n, sizeof *v, cmp_str) != NULL;
}

/* Creates dir (and its parents) if need be. */
static int mkdir_p(const char *path, mode_t mode)
{
	char *p = strdup(path);
	int e = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;

			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				e = lb_errno(-errno, "%s", p);
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

/* Writes one message into tmp/ and renames it into dstfd under its name,
 * never over an existing file: 0 delivered, 1 one was there already. */
static int deliver(struct lb_repo *r, const struct lb_node *n, int tmpfd, int dstfd)
{
	static unsigned seq;
	char tmpname[128], name[256];
	struct timeval tv;
	struct timespec ts[2];
	int fd, e;

	if (n->namelen >= sizeof name)
		return lb_err(-ENAMETOOLONG, "message name too long");
	memcpy(name, n->name, n->namelen);
	name[n->namelen] = 0;
	gettimeofday(&tv, NULL);
	snprintf(tmpname, sizeof tmpname, "%lld.M%06ldP%dQ%u.lifeboat-restore", (long long)tv.tv_sec,
		 (long)tv.tv_usec, (int)getpid(), ++seq);
	fd = openat(tmpfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return lb_errno(-errno, "tmp/%s", tmpname);
	e = lb_mail_stream_node(r, n, write_cb, &fd);
	if (e == 0 && geteuid() == 0 && fchown(fd, n->uid, n->gid) < 0)
		e = lb_errno(-errno, "chown %s", name);
	if (e == 0 && fchmod(fd, n->mode & 0777) < 0)
		e = lb_errno(-errno, "chmod %s", name);
	ts[0].tv_sec = n->atime_s;
	ts[0].tv_nsec = n->atime_ns;
	ts[1].tv_sec = n->mtime_s; /* Maildir readers take the arrival time from it */
	ts[1].tv_nsec = n->mtime_ns;
	if (e == 0 && futimens(fd, ts) < 0)
		e = lb_errno(-errno, "times of %s", name);
	if (e == 0 && fsync(fd) < 0)
		e = lb_errno(-errno, "fsync %s", name);
	close(fd);
	if (e == 0 && renameat2(tmpfd, tmpname, dstfd, name, RENAME_NOREPLACE) < 0) {
		if (errno == EINVAL || errno == ENOSYS) {
			/* no RENAME_NOREPLACE here: the classic link-then-unlink delivery */
			if (linkat(tmpfd, tmpname, dstfd, name, 0) < 0)
				e = errno == EEXIST ? 1 : lb_errno(-errno, "%s", name);
		} else {
			e = errno == EEXIST ? 1 : lb_errno(-errno, "%s", name);
		}
		unlinkat(tmpfd, tmpname, 0);
	}
	if (e < 0)
		unlinkat(tmpfd, tmpname, 0);
	return e;
}

int lb_maildir_restore(struct lb_repo *r, const struct lb_node *box, const char *dest,
		       struct lb_mail_restore_stats *st, struct lb_progress *pg)
{
	struct lb_tree top, sub[2];
	int dfd = -1, fds[2] = { -1, -1 }, tmpfd = -1, e;
	char **have = NULL;
	size_t nhave = 0;
	bool found = false;

	lb_tree_init(&top);
	lb_tree_init(&sub[0]);
	lb_tree_init(&sub[1]);
	snprintf(st->format, sizeof st->format, "maildir");
	snprintf(st->dest, sizeof st->dest, "%s", dest);
	if ((e = lb_browse_load_tree(r, box->subtree, &top)) < 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		const struct lb_node *n = lb_tree_find(&top, (const uint8_t *)dirname_of[k], 3);

		if (n && n->type == LB_NODE_DIR) {
			found = true;
			if ((e = lb_browse_load_tree(r, n->subtree, &sub[k])) < 0)
				goto out;
		}
	}
	if (!found) {
		e = lb_err(-EINVAL, "not a Maildir in the snapshot (no cur/ or new/)");
		goto out;
	}
	if ((e = mkdir_p(dest, 0700)) < 0)
		goto out;
	if ((dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		e = lb_errno(-errno, "%s", dest);
		goto out;
	}
	for (int k = 0; k < 3; k++) {
		const char *nm = k < 2 ? dirname_of[k] : "tmp";

		if (mkdirat(dfd, nm, 0700) == 0) {
			if (geteuid() == 0 && fchownat(dfd, nm, box->uid, box->gid, AT_SYMLINK_NOFOLLOW) < 0) {
				e = lb_errno(-errno, "%s/%s", dest, nm);
				goto out;
			}
		} else if (errno != EEXIST) {
			e = lb_errno(-errno, "%s/%s", dest, nm);
			goto out;
		}
		if ((k < 2 ? (fds[k] = open_dir(dfd, nm)) : (tmpfd = open_dir(dfd, nm))) < 0) {
			e = lb_errno(-errno, "%s/%s", dest, nm);
			goto out;
		}
	}
	if ((e = live_bases(fds, &have, &nhave)) < 0) {
		e = lb_errno(e, "%s: listing new/ and cur/", dest);
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < sub[k].n; i++) {
			const struct lb_node *n = &sub[k].nodes[i];
			struct lb_maildir_name mn;
			char name[256], *base;

			if (n->type != LB_NODE_FILE || n->namelen >= sizeof name)
				continue;
			memcpy(name, n->name, n->namelen);
			name[n->namelen] = 0;
			if (lb_maildir_name_parse(name, &mn) < 0)
				continue;
			if (pg && pg->cancel) {
				e = lb_err(-LB_E_CANCELED, "canceled");
				goto out;
			}
			st->messages++;
			base = strndup(name, mn.baselen);
			if (!base) {
				e = -ENOMEM;
				goto out;
			}
			if (has_base(have, nhave, base)) {
				st->present++;
			} else if ((e = deliver(r, n, tmpfd, fds[k])) < 0) {
				lb_err_wrap(e, "%s/%s/%s", dest, dirname_of[k], name);
				free(base);
				goto out;
			} else if (e == 1) {
				st->present++; /* delivered meanwhile by someone else */
			} else {
				st->restored++;
				if (pg)
					__atomic_add_fetch(&pg->files, 1, __ATOMIC_RELAXED);
			}
			free(base);
		}
	}
	e = 0;
	for (int k = 0; k < 2 && e == 0; k++)
		if ((e = lb_fsync_dir(fds[k])) < 0)
			lb_err_wrap(e, "%s/%s", dest, dirname_of[k]);
out:
	for (size_t i = 0; i < nhave; i++)
		free(have[i]);
	free(have);
	for (int k = 0; k < 2; k++) {
		if (fds[k] >= 0)
			close(fds[k]);
		lb_tree_release(&sub[k]);
	}
	if (tmpfd >= 0)
		close(tmpfd);
	if (dfd >= 0)
		close(dfd);
	lb_tree_release(&top);
	return e;
}
