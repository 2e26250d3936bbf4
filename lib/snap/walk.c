#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "snap/walk.h"
#include "util/util.h"

bool lb_exclude_match(const char *const *pats, size_t n, const char *path, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const char *pat = pats[i];

		if (strchr(pat, '/') ? fnmatch(pat, path, FNM_PATHNAME) == 0 : fnmatch(pat, name, 0) == 0)
			return true;
	}
	return false;
}

struct lb_walk_scan {
	pthread_t th;
	int refs;              /* the thread and the caller; the last one frees */
	int stop, done;
	uint64_t files, bytes;
	char **paths;
	size_t n;
	char **excludes;
	size_t nexcludes;
	bool one_fs;
	struct lb_buf path;
};

static void scan_free(struct lb_walk_scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->paths[i]);
	for (size_t i = 0; i < s->nexcludes; i++)
		free(s->excludes[i]);
	free(s->paths);
	free(s->excludes);
	lb_buf_release(&s->path);
	free(s);
}

static void scan_unref(struct lb_walk_scan *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		scan_free(s);
}

static bool stopped(struct lb_walk_scan *s)
{
	return __atomic_load_n(&s->stop, __ATOMIC_RELAXED);
}

static void count_file(struct lb_walk_scan *s, const struct stat *st)
{
	__atomic_add_fetch(&s->files, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->bytes, (uint64_t)st->st_size, __ATOMIC_RELAXED);
}

static void scan_dir(struct lb_walk_scan *s, int dirfd, dev_t dev, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(dirfd);

	if (fd < 0 || depth > 4096) {
		if (fd >= 0)
			close(fd);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while (!stopped(s) && (de = readdir(d))) {
		struct stat st;
		size_t saved = s->path.len;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (lb_buf_put_u8(&s->path, '/') < 0 || lb_buf_append(&s->path, de->d_name, strlen(de->d_name) + 1) < 0)
			break;
		s->path.len--;
		if (!lb_exclude_match((const char *const *)s->excludes, s->nexcludes, (char *)s->path.data, de->d_name) &&
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISREG(st.st_mode)) {
				count_file(s, &st);
			} else if (S_ISDIR(st.st_mode) && (!s->one_fs || st.st_dev == dev)) {
				int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				if (sub >= 0) {
					scan_dir(s, sub, dev, depth + 1);
					close(sub);
				}
			}
		}
		s->path.len = saved;
		s->path.data[saved] = 0;
	}
	closedir(d);
}

static void *scan_main(void *arg)
{
	struct lb_walk_scan *s = arg;

	for (size_t i = 0; i < s->n && !stopped(s); i++) {
		struct stat st;
		int fd;

		if (lstat(s->paths[i], &st) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			count_file(s, &st);
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		fd = open(s->paths[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		lb_buf_reset(&s->path);
		if (lb_buf_append(&s->path, s->paths[i], strlen(s->paths[i]) + 1) == 0) {
			s->path.len--;
			if (s->path.len == 1)
				s->path.len = 0; /* "/" + "/name" */
			scan_dir(s, fd, st.st_dev, 0);
		}
		close(fd);
	}
	if (!stopped(s))
		__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	scan_unref(s);
	return NULL;
}

static char **copy_strv(const char *const *v, size_t n)
{
	char **c = calloc(n ? n : 1, sizeof *c);

	for (size_t i = 0; c && i < n; i++) {
		if (!(c[i] = strdup(v[i]))) {
			while (i-- > 0)
				free(c[i]);
			free(c);
			return NULL;
		}
	}
	return c;
}

void lb_walk_scan_start(const char *const *paths, size_t n, const char *const *excludes, size_t nexcludes,
			bool one_fs, struct lb_walk_scan **ret)
{
	struct lb_walk_scan *s = calloc(1, sizeof *s);
	pthread_attr_t attr;

	*ret = NULL;
	if (!s)
		return;
	lb_buf_init(&s->path, 0);
	s->paths = copy_strv(paths, n);
	s->excludes = copy_strv(excludes, nexcludes);
	if (!s->paths || !s->excludes) {
		free(s->paths);
		free(s->excludes);
		free(s);
		return;
	}
	s->n = n;
	s->nexcludes = nexcludes;
	s->one_fs = one_fs;
	s->refs = 2;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&s->th, &attr, scan_main, s) != 0) {
		pthread_attr_destroy(&attr);
		scan_free(s);
		return;
	}
	pthread_attr_destroy(&attr);
	*ret = s;
}

void lb_walk_scan_totals(struct lb_walk_scan *s, uint64_t *files, uint64_t *bytes, int *done)
{
	*files = __atomic_load_n(&s->files, __ATOMIC_RELAXED);
	*bytes = __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
	*done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

void lb_walk_scan_stop(struct lb_walk_scan *s)
{
	if (!s)
		return;
	/* the scanner may be blocked in a stalled file system: never wait for it */
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	scan_unref(s);
}
