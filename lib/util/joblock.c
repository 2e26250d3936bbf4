#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "lifeboat/joblock.h"
#include "crypto/crypto.h"
#include "util/util.h"

struct lb_joblock {
	int fd;
	char path[4096];
};

const char *lb_joblock_dir(char *buf, size_t n)
{
	const char *env = getenv("LIFEBOAT_LOCK_DIR");

	if (env && env[0])
		snprintf(buf, n, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, n, "/run/lifeboat");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && env[0])
		snprintf(buf, n, "%s/lifeboat", env);
	else
		snprintf(buf, n, "/tmp/lifeboat-%u", (unsigned)geteuid());
	return buf;
}

static int holder_busy(int fd, const char *what)
{
	char held[512] = "", started[128] = "an unknown time";
	ssize_t k = pread(fd, held, sizeof held - 1, 0);
	long pid = 0;

	if (k > 0) {
		char *p;

		held[k] = 0;
		if ((p = strstr(held, "pid=")))
			pid = strtol(p + 4, NULL, 10);
		if ((p = strstr(held, "started=")))
			sscanf(p + 8, "%127[^\n]", started);
	}
	return lb_err(-LB_E_BUSY, "%s is already running (pid %ld, started %s); not starting a second run",
		      what, pid, started);
}

int lb_joblock_acquire(const char *key, const char *what, struct lb_joblock **ret)
{
	char dir[3072], hex[33], info[512], tbuf[64], host[256] = "";
	uint8_t h[32];
	struct lb_joblock *l;
	struct stat st;
	int e;

	lb_joblock_dir(dir, sizeof dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return lb_errno(-errno, "lock directory %s", dir);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return lb_err(-EPERM, "lock directory %s is not a directory owned by this user", dir);
	if ((e = lb_sha256(key, strlen(key), h)) < 0)
		return e;
	lb_hex(hex, h, 16);
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	snprintf(l->path, sizeof l->path, "%s/job-%s.lock", dir, hex);
	for (;;) {
		struct stat a, b;

		l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (l->fd < 0) {
			e = lb_errno(-errno, "lock %s", l->path);
			free(l);
			return e;
		}
		if (flock(l->fd, LOCK_EX | LOCK_NB) < 0) {
			e = errno;
			if (e == EWOULDBLOCK)
				e = holder_busy(l->fd, what);
			else
				e = lb_errno(-e, "lock %s", l->path);
			close(l->fd);
			free(l);
			return e;
		}
		/* the holder before us may have unlinked the file between our
		 * open and our flock: then we hold a lock nobody else sees */
		if (fstat(l->fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(l->fd);
	}
	gethostname(host, sizeof host - 1);
	lb_time_format(tbuf, sizeof tbuf, lb_now_ns() / 1000000000, 0);
	tbuf[19] = 0; /* seconds are enough here */
	snprintf(info, sizeof info, "pid=%ld\nstarted=%s UTC\nhost=%s\njob=%s\n", (long)getpid(), tbuf, host, key);
	if (ftruncate(l->fd, 0) == 0)
		lb_pwrite_full(l->fd, info, strlen(info), 0);
	*ret = l;
	return 0;
}

void lb_joblock_release(struct lb_joblock *l)
{
	if (!l)
		return;
	/* unlink first, while still holding the lock, so a waiter never locks a dead file */
	unlink(l->path);
	close(l->fd);
	free(l);
}
