/* The embedded default backend: a directory on a local (or NFS) file system.
 *
 *   config  keys/  index/  snapshots/  locks/  verdicts/  packs/00 … packs/ff
 *
 * Whole objects are written temp → fsync → rename → fsync(dir).  Packs are
 * streamed into packs/.tmp-* and renamed into packs/xx/ on commit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "store/backend.h"

#define FD_CACHE 32

struct fd_slot {
	char name[72];
	int fd;
	uint64_t used;
};

struct local {
	struct lb_backend pub;
	int root;
	int dirs[LB_KIND_COUNT];
	int packdirs[256];
	pthread_mutex_t lock; /* guards packdirs and the fd cache */
	struct fd_slot cache[FD_CACHE];
	uint64_t tick;
};

struct lb_bwriter {
	struct local *l;
	enum lb_kind kind;
	int fd;
	char tmp[64];
	uint64_t flushed;  /* writeback started below this offset */
};

/* Writeback of a pack is started every WRITEBACK_STEP bytes as it is
 * written, instead of leaving it all dirty for the fsync at commit: a
 * 16 MiB burst per pack made the fsyncs of a database on the same disk
 * wait seconds behind it. */
#define WRITEBACK_STEP (1u << 20)

static const char *kind_dirs[LB_KIND_COUNT] = {
	[LB_KIND_CONFIG] = ".",
	[LB_KIND_KEY] = "keys",
	[LB_KIND_PACK] = "packs",
	[LB_KIND_INDEX] = "index",
	[LB_KIND_SNAPSHOT] = "snapshots",
	[LB_KIND_LOCK] = "locks",
	[LB_KIND_VERDICT] = "verdicts",
};

const char *lb_kind_name(enum lb_kind k)
{
	static const char *names[LB_KIND_COUNT] = {
		"config", "key", "pack", "index", "snapshot", "lock", "verdict",
	};
	return k < LB_KIND_COUNT ? names[k] : "object";
}

static int is_hex_name(const char *s, size_t len)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == len;
}

/* Object names come from callers that may have parsed them from untrusted
 * input; never let one climb out of its directory. */
static int check_name(enum lb_kind k, const char *name)
{
	if (k == LB_KIND_CONFIG)
		return strcmp(name, "config") == 0 ? 0 : -EINVAL;
	if (!name[0] || strchr(name, '/') || name[0] == '.' || strlen(name) > 64)
		return lb_err(-EINVAL, "invalid %s name '%s'", lb_kind_name(k), name);
	if (k == LB_KIND_PACK && !is_hex_name(name, 64))
		return lb_err(-EINVAL, "invalid pack name '%s'", name);
	return 0;
}

static int pack_dir(struct local *l, const char *name, bool create)
{
	unsigned v;
	int fd;

	if (sscanf(name, "%2x", &v) != 1)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	fd = l->packdirs[v];
	if (fd < 0) {
		char sub[3];

		snprintf(sub, sizeof sub, "%02x", v);
		fd = openat(l->dirs[LB_KIND_PACK], sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			mkdirat(l->dirs[LB_KIND_PACK], sub, 0700);
			fd = openat(l->dirs[LB_KIND_PACK], sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (fd < 0)
			fd = -errno;
		else
			l->packdirs[v] = fd;
	}
	pthread_mutex_unlock(&l->lock);
	return fd;
}

/* Directories made on first use: a read-only copy of a repository may
 * lack them. */
static int optional_dir(struct local *l, enum lb_kind k, bool create)
{
	int fd;

	pthread_mutex_lock(&l->lock);
	fd = l->dirs[k];
	if (fd < 0) {
		if (create && mkdirat(l->root, kind_dirs[k], 0700) < 0 && errno != EEXIST)
			fd = -errno;
		else if ((fd = openat(l->root, kind_dirs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			fd = -errno;
		else
			l->dirs[k] = fd;
	}
	pthread_mutex_unlock(&l->lock);
	return fd;
}

static int dir_for(struct local *l, enum lb_kind k, const char *name, bool create)
{
	if (k == LB_KIND_PACK)
		return pack_dir(l, name, create);
	if (k == LB_KIND_LOCK || k == LB_KIND_VERDICT)
		return optional_dir(l, k, create);
	return l->dirs[k];
}

static int l_get(struct lb_backend *b, enum lb_kind k, const char *name, size_t max, struct lb_buf *out)
{
	struct local *l = (struct local *)b;
	int dfd, r;

	if ((r = check_name(k, name)) < 0)
		return r;
	dfd = dir_for(l, k, name, false);
	if (dfd < 0)
		return lb_errno(dfd, "%s %s", lb_kind_name(k), name);
	r = lb_read_file(dfd, name, max, out);
	if (r < 0)
		return lb_err_wrap(r, "%s", lb_kind_name(k));
	return 0;
}

static int l_put(struct lb_backend *b, enum lb_kind k, const char *name, const void *data, size_t len)
{
	struct local *l = (struct local *)b;
	int dfd, r;

	if ((r = check_name(k, name)) < 0)
		return r;
	dfd = dir_for(l, k, name, true);
	if (dfd < 0)
		return lb_errno(dfd, "%s %s", lb_kind_name(k), name);
	return lb_write_atomic(dfd, name, data, len, k == LB_KIND_KEY ? 0600 : 0644);
}

/* A pack fd, from a small LRU cache: restore and check read many blobs from
 * the same packs. */
static int cached_fd(struct local *l, const char *name)
{
	struct fd_slot *victim = &l->cache[0];
	int dfd, fd;

	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < FD_CACHE; i++) {
		if (l->cache[i].fd >= 0 && strcmp(l->cache[i].name, name) == 0) {
			l->cache[i].used = ++l->tick;
			fd = dup(l->cache[i].fd);
			pthread_mutex_unlock(&l->lock);
			return fd < 0 ? -errno : fd;
		}
		if (l->cache[i].used < victim->used)
			victim = &l->cache[i];
	}
	pthread_mutex_unlock(&l->lock);
	dfd = pack_dir(l, name, false);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&l->lock);
	if (victim->fd >= 0)
		close(victim->fd);
	snprintf(victim->name, sizeof victim->name, "%s", name);
	victim->fd = fd;
	victim->used = ++l->tick;
	fd = dup(fd);
	pthread_mutex_unlock(&l->lock);
	return fd < 0 ? -errno : fd;
}

static int l_read_at(struct lb_backend *b, enum lb_kind k, const char *name, uint64_t off, void *buf, size_t len)
{
	struct local *l = (struct local *)b;
	int fd, dfd, r;

	if ((r = check_name(k, name)) < 0)
		return r;
	if (k == LB_KIND_PACK) {
		fd = cached_fd(l, name);
	} else {
		dfd = dir_for(l, k, name, false);
		fd = dfd < 0 ? dfd : openat(dfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && dfd >= 0)
			fd = -errno;
	}
	if (fd < 0)
		return lb_errno(fd, "%s %s", lb_kind_name(k), name);
	r = lb_pread_full(fd, buf, len, (off_t)off);
	close(fd);
	if (r == -LB_E_CORRUPT)
		return lb_err(r, "%s %s: truncated (wanted %zu bytes at offset %llu)",
			      lb_kind_name(k), name, len, (unsigned long long)off);
	if (r < 0)
		return lb_errno(r, "%s %s: read", lb_kind_name(k), name);
	return 0;
}

static int l_size(struct lb_backend *b, enum lb_kind k, const char *name, uint64_t *size)
{
	struct local *l = (struct local *)b;
	struct stat st;
	int dfd, r;

	if ((r = check_name(k, name)) < 0)
		return r;
	dfd = dir_for(l, k, name, false);
	if (dfd < 0)
		return lb_errno(dfd, "%s %s", lb_kind_name(k), name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return lb_errno(-errno, "%s %s", lb_kind_name(k), name);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int list_dir(int dfd, enum lb_kind k, lb_list_fn fn, void *ctx)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = dup(dfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (k == LB_KIND_PACK && !is_hex_name(de->d_name, 64))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		r = fn(de->d_name, (uint64_t)st.st_size, ctx);
		if (r)
			break;
	}
	closedir(d);
	return r;
}

static int l_list(struct lb_backend *b, enum lb_kind k, lb_list_fn fn, void *ctx)
{
	struct local *l = (struct local *)b;
	int r;

	if (k == LB_KIND_CONFIG)
		return fn("config", 0, ctx);
	if (k == LB_KIND_LOCK || k == LB_KIND_VERDICT) {
		int dfd = optional_dir(l, k, false);

		return dfd < 0 ? 0 : list_dir(dfd, k, fn, ctx);
	}
	if (k != LB_KIND_PACK)
		return list_dir(l->dirs[k], k, fn, ctx);
	for (unsigned v = 0; v < 256; v++) {
		char probe[3];
		int dfd;

		snprintf(probe, sizeof probe, "%02x", v);
		dfd = pack_dir(l, probe, false);
		if (dfd < 0)
			continue;
		r = list_dir(dfd, k, fn, ctx);
		if (r)
			return r;
	}
	return 0;
}

static int l_remove(struct lb_backend *b, enum lb_kind k, const char *name)
{
	struct local *l = (struct local *)b;
	int dfd, r;

	if ((r = check_name(k, name)) < 0)
		return r;
	dfd = dir_for(l, k, name, false);
	if (dfd < 0)
		return dfd;
	if (k == LB_KIND_PACK) {
		pthread_mutex_lock(&l->lock);
		for (int i = 0; i < FD_CACHE; i++) {
			if (l->cache[i].fd >= 0 && strcmp(l->cache[i].name, name) == 0) {
				close(l->cache[i].fd);
				l->cache[i].fd = -1;
				l->cache[i].name[0] = 0;
			}
		}
		pthread_mutex_unlock(&l->lock);
	}
	if (unlinkat(dfd, name, 0) < 0)
		return lb_errno(-errno, "remove %s %s", lb_kind_name(k), name);
	return lb_fsync_dir(dfd);
}

static int l_writer_open(struct lb_backend *b, enum lb_kind k, struct lb_bwriter **ret)
{
	struct local *l = (struct local *)b;
	struct lb_bwriter *w;
	uint8_t rnd[12];
	char hex[25];
	int r;

	w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	r = lb_random(rnd, sizeof rnd);
	if (r < 0) {
		free(w);
		return r;
	}
	lb_hex(hex, rnd, sizeof rnd);
	snprintf(w->tmp, sizeof w->tmp, ".tmp-%s", hex);
	w->l = l;
	w->kind = k;
	w->fd = openat(k == LB_KIND_PACK ? l->dirs[k] : dir_for(l, k, w->tmp, true), w->tmp,
		       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		r = lb_errno(-errno, "create %s/%s", kind_dirs[k], w->tmp);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

static int l_writer_write(struct lb_bwriter *w, const void *data, size_t len)
{
	int r = lb_write_full(w->fd, data, len);

	if (r < 0)
		return lb_errno(r, "write %s/%s", kind_dirs[w->kind], w->tmp);
	return 0;
}

static int l_writer_pwrite(struct lb_bwriter *w, const void *data, size_t len, uint64_t off)
{
	int r = lb_pwrite_full(w->fd, data, len, (off_t)off);
	uint64_t end = off + len, from = __atomic_load_n(&w->flushed, __ATOMIC_ACQUIRE);

	if (r < 0)
		return lb_errno(r, "write %s/%s", kind_dirs[w->kind], w->tmp);
	/* packers write records from several threads, each at its own
	 * offset: whoever moves the mark starts the writeback below it
	 * (asynchronous, it waits for nothing; the fsync at commit is still
	 * what makes the pack durable) */
	if (end >= from + WRITEBACK_STEP &&
	    __atomic_compare_exchange_n(&w->flushed, &from, end, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		sync_file_range(w->fd, (off_t)from, (off_t)(end - from), SYNC_FILE_RANGE_WRITE);
	return 0;
}

static void l_writer_abort(struct lb_bwriter *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlinkat(w->l->dirs[w->kind], w->tmp, 0);
	free(w);
}

static int l_writer_commit(struct lb_bwriter *w, const char *name)
{
	struct local *l = w->l;
	int dfd, r;

	if ((r = check_name(w->kind, name)) < 0)
		goto fail;
	dfd = dir_for(l, w->kind, name, true);
	if (dfd < 0) {
		r = lb_errno(dfd, "%s directory for %s", kind_dirs[w->kind], name);
		goto fail;
	}
	if (fsync(w->fd) < 0) {
		r = lb_errno(-errno, "fsync %s/%s", kind_dirs[w->kind], w->tmp);
		goto fail;
	}
	if (close(w->fd) < 0) {
		w->fd = -1;
		r = lb_errno(-errno, "close %s/%s", kind_dirs[w->kind], w->tmp);
		goto fail;
	}
	w->fd = -1;
	if (renameat(l->dirs[w->kind], w->tmp, dfd, name) < 0) {
		r = lb_errno(-errno, "rename %s/%s to %s", kind_dirs[w->kind], w->tmp, name);
		goto fail;
	}
	r = lb_fsync_dir(dfd);
	if (r == 0 && dfd != l->dirs[w->kind])
		r = lb_fsync_dir(l->dirs[w->kind]);
	free(w);
	return r;
fail:
	l_writer_abort(w);
	return r;
}

static int l_list_temp(struct lb_backend *b, enum lb_kind k,
		       int (*fn)(const char *name, uint64_t size, int64_t mtime, void *ctx), void *ctx)
{
	struct local *l = (struct local *)b;
	struct dirent *de;
	DIR *d;
	int dfd = k == LB_KIND_PACK ? l->dirs[k] : dir_for(l, k, "x", false), fd, r = 0;

	if (dfd < 0)
		return 0;
	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, ".tmp-", 5) != 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((r = fn(de->d_name, (uint64_t)st.st_size, st.st_mtim.tv_sec, ctx)) != 0)
			break;
	}
	closedir(d);
	return r;
}

static int l_remove_temp(struct lb_backend *b, enum lb_kind k, const char *name)
{
	struct local *l = (struct local *)b;
	int dfd = k == LB_KIND_PACK ? l->dirs[k] : dir_for(l, k, "x", false);

	if (dfd < 0)
		return dfd;
	if (strncmp(name, ".tmp-", 5) != 0 || strchr(name, '/'))
		return lb_err(-EINVAL, "'%s' is not a temporary of this repository", name);
	if (unlinkat(dfd, name, 0) < 0)
		return lb_errno(-errno, "remove %s/%s", lb_kind_name(k), name);
	return 0;
}

static void l_close(struct lb_backend *b)
{
	struct local *l = (struct local *)b;

	if (!l)
		return;
	for (int i = 0; i < FD_CACHE; i++)
		if (l->cache[i].fd >= 0)
			close(l->cache[i].fd);
	for (int i = 0; i < 256; i++)
		if (l->packdirs[i] >= 0)
			close(l->packdirs[i]);
	for (int k = 0; k < LB_KIND_COUNT; k++)
		if (l->dirs[k] >= 0 && l->dirs[k] != l->root)
			close(l->dirs[k]);
	if (l->root >= 0)
		close(l->root);
	pthread_mutex_destroy(&l->lock);
	free(l->pub.location);
	free(l);
}

static const struct lb_backend_ops local_ops = {
	.name = "local",
	.get = l_get,
	.put = l_put,
	.read_at = l_read_at,
	.size = l_size,
	.list = l_list,
	.remove = l_remove,
	.writer_open = l_writer_open,
	.writer_write = l_writer_write,
	.writer_pwrite = l_writer_pwrite,
	.writer_commit = l_writer_commit,
	.writer_abort = l_writer_abort,
	.list_temp = l_list_temp,
	.remove_temp = l_remove_temp,
	.close = l_close,
};

int lb_backend_local_open(const char *path, int create, struct lb_backend **ret)
{
	struct stat cst;
	struct local *l;
	int r;

	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->pub.ops = &local_ops;
	l->root = -1;
	for (int k = 0; k < LB_KIND_COUNT; k++)
		l->dirs[k] = -1;
	for (int i = 0; i < 256; i++)
		l->packdirs[i] = -1;
	for (int i = 0; i < FD_CACHE; i++)
		l->cache[i].fd = -1;
	l->pub.location = strdup(path);
	if (!l->pub.location) {
		r = -ENOMEM;
		goto fail;
	}
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
		r = lb_errno(-errno, "create repository %s", path);
		goto fail;
	}
	l->root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->root < 0) {
		r = lb_errno(-errno, "repository %s", path);
		goto fail;
	}
	if (create) {
		DIR *d = fdopendir(dup(l->root));
		struct dirent *de;
		int nonempty = 0;

		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				nonempty = 1;
		if (d)
			closedir(d);
		if (nonempty) {
			r = lb_err(-EEXIST, "repository %s: directory is not empty", path);
			goto fail;
		}
	}
	if (!create && fstatat(l->root, "config", &cst, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		r = lb_err(-ENOENT, "%s is not a lifeboat repository (no config file)", path);
		goto fail;
	}
	for (int k = 0; k < LB_KIND_COUNT; k++) {
		if (k == LB_KIND_CONFIG) {
			l->dirs[k] = l->root;
			continue;
		}
		if (create && (r = lb_mkdir_p1(l->root, kind_dirs[k], 0700)) < 0)
			goto fail;
		l->dirs[k] = openat(l->root, kind_dirs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (l->dirs[k] < 0 && errno == ENOENT && (k == LB_KIND_LOCK || k == LB_KIND_VERDICT))
			continue; /* optional: made on first use */
		if (l->dirs[k] < 0) {
			r = lb_errno(-errno, "repository %s: %s/", path, kind_dirs[k]);
			goto fail;
		}
	}
	if (create) {
		for (unsigned v = 0; v < 256; v++) {
			char sub[3];

			snprintf(sub, sizeof sub, "%02x", v);
			if ((r = lb_mkdir_p1(l->dirs[LB_KIND_PACK], sub, 0700)) < 0)
				goto fail;
		}
		if ((r = lb_fsync_dir(l->dirs[LB_KIND_PACK])) < 0 || (r = lb_fsync_dir(l->root)) < 0)
			goto fail;
	}
	*ret = &l->pub;
	return 0;
fail:
	l_close(&l->pub);
	return r;
}

void lb_backend_close(struct lb_backend *b)
{
	if (b)
		b->ops->close(b);
}
