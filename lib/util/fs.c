#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "util/util.h"

int lb_fsync_dir(int dirfd)
{
	if (fsync(dirfd) < 0 && errno != EINVAL)
		return lb_errno(-errno, "fsync of directory");
	return 0;
}

int lb_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int lb_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int lb_pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -LB_E_CORRUPT; /* file shorter than its own bookkeeping says */
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int lb_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = getrandom(p, n, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return lb_errno(-errno, "getrandom");
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int lb_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[512];
	uint8_t rnd[8];
	char rhex[17];
	int fd = -1, r;

	r = lb_random(rnd, sizeof rnd);
	if (r < 0)
		return r;
	lb_hex(rhex, rnd, sizeof rnd);
	if ((size_t)snprintf(tmp, sizeof tmp, ".tmp-%s-%s", rhex, name) >= sizeof tmp)
		return lb_err(-ENAMETOOLONG, "%s: name too long", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return lb_errno(-errno, "create %s", tmp);
	r = lb_write_full(fd, data, len);
	if (r < 0) {
		lb_errno(r, "write %s", tmp);
		goto fail;
	}
	if (fsync(fd) < 0) {
		r = lb_errno(-errno, "fsync %s", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = lb_errno(-errno, "close %s", tmp);
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = lb_errno(-errno, "rename %s to %s", tmp, name);
		goto fail;
	}
	return lb_fsync_dir(dirfd);
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return r;
}

int lb_read_file(int dirfd, const char *name, size_t max, struct lb_buf *out)
{
	struct stat st;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lb_errno(-errno, "open %s", name);
	if (fstat(fd, &st) < 0) {
		r = lb_errno(-errno, "stat %s", name);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = lb_err(-LB_E_CORRUPT, "%s: not a regular file", name);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = lb_err(-LB_E_CORRUPT, "%s: %lld bytes is larger than the limit of %zu",
			   name, (long long)st.st_size, max);
		goto out;
	}
	lb_buf_reset(out);
	r = lb_buf_reserve(out, (size_t)st.st_size);
	if (r < 0)
		goto out;
	for (;;) {
		ssize_t n;

		if (out->len == out->cap) {
			/* room for one more byte shows whether the file grew past max */
			if (out->len > max || lb_buf_reserve(out, 1) < 0) {
				r = lb_err(-LB_E_CORRUPT, "%s: grew past the limit of %zu", name, max);
				goto out;
			}
		}
		n = read(fd, out->data + out->len, out->cap - out->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = lb_errno(-errno, "read %s", name);
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			r = lb_err(-LB_E_CORRUPT, "%s: grew past the limit of %zu", name, max);
			goto out;
		}
	}
out:
	close(fd);
	return r;
}

int lb_mkdir_p1(int dirfd, const char *name, mode_t mode)
{
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return lb_errno(-errno, "mkdir %s", name);
	return 0;
}

char *lb_path_absolute(const char *path)
{
	char cwd[4096], *in, *out, *tok, *save = NULL;
	size_t len = 0;

	if (path[0] == '/') {
		in = strdup(path);
	} else {
		if (!getcwd(cwd, sizeof cwd))
			return NULL;
		in = malloc(strlen(cwd) + strlen(path) + 2);
		if (in)
			sprintf(in, "%s/%s", cwd, path);
	}
	if (!in)
		return NULL;
	out = calloc(1, strlen(in) + 2);
	if (!out) {
		free(in);
		return NULL;
	}
	for (tok = strtok_r(in, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = 0;
			continue;
		}
		out[len++] = '/';
		strcpy(out + len, tok);
		len += strlen(tok);
	}
	if (len == 0)
		strcpy(out, "/");
	free(in);
	return out;
}
