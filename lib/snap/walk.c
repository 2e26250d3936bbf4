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
	char **paths;
	size_t n;
	const struct lb_backup_opts *o;
	struct lb_progress *p;
	volatile int stop;
	struct lb_buf path;
};

static void scan_dir(struct lb_walk_scan *s, int dirfd, dev_t dev, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(dirfd);

	if (fd < 0 || depth > 4096)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while (!s->stop && (de = readdir(d))) {
		struct stat st;
		size_t saved = s->path.len;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (lb_buf_put_u8(&s->path, '/') < 0 || lb_buf_append(&s->path, de->d_name, strlen(de->d_name) + 1) < 0)
			break;
		s->path.len--;
		if (!lb_exclude_match(s->o->excludes, s->o->nexcludes, (char *)s->path.data, de->d_name) &&
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISREG(st.st_mode)) {
				__atomic_add_fetch(&s->p->files_total, 1, __ATOMIC_RELAXED);
				__atomic_add_fetch(&s->p->bytes_total, (uint64_t)st.st_size, __ATOMIC_RELAXED);
			} else if (S_ISDIR(st.st_mode) && (!s->o->one_file_system || st.st_dev == dev)) {
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

	for (size_t i = 0; i < s->n && !s->stop; i++) {
		struct stat st;
		int fd;

		if (lstat(s->paths[i], &st) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			__atomic_add_fetch(&s->p->files_total, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&s->p->bytes_total, (uint64_t)st.st_size, __ATOMIC_RELAXED);
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
	if (!s->stop)
		__atomic_store_n(&s->p->total_done, 1, __ATOMIC_RELAXED);
	return NULL;
}

void lb_walk_scan_start(const char *const *paths, size_t n, const struct lb_backup_opts *o,
			struct lb_progress *p, struct lb_walk_scan **ret)
{
	struct lb_walk_scan *s = calloc(1, sizeof *s);

	*ret = NULL;
	if (!s)
		return;
	s->paths = calloc(n, sizeof *s->paths);
	s->n = n;
	s->o = o;
	s->p = p;
	lb_buf_init(&s->path, 0);
	for (size_t i = 0; s->paths && i < n; i++)
		s->paths[i] = strdup(paths[i]);
	if (!s->paths || pthread_create(&s->th, NULL, scan_main, s) != 0) {
		for (size_t i = 0; s->paths && i < n; i++)
			free(s->paths[i]);
		free(s->paths);
		free(s);
		return;
	}
	*ret = s;
}

void lb_walk_scan_stop(struct lb_walk_scan *s)
{
	if (!s)
		return;
	s->stop = 1;
	/* the scanner may be blocked in a stalled file system; never wait for it */
	pthread_detach(s->th);
}
