/* Unit tests for lib/util/fs.c and lib/util/time.c: durable writes, bounded
 * reads, full pread, time formatting. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "util/util.h"

static int dirfd_tmp;

/* Number of entries in the temp dir whose name starts with prefix. */
static int count_prefix(const char *prefix)
{
	DIR *d = opendir(tap_tmp());
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	if (d)
		closedir(d);
	return n;
}

static int slurp(const char *name, char *buf, size_t cap, size_t *len)
{
	int fd = openat(dirfd_tmp, name, O_RDONLY);
	ssize_t k;

	if (fd < 0)
		return -1;
	k = read(fd, buf, cap);
	close(fd);
	if (k < 0)
		return -1;
	*len = (size_t)k;
	return 0;
}

static void test_write_atomic(void)
{
	char buf[256];
	size_t len = 0;
	struct stat st;
	mode_t old = umask(0);
	int fd;

	is(lb_write_atomic(dirfd_tmp, "a.txt", "hello", 5, 0640), 0, "write_atomic succeeds");
	ok(slurp("a.txt", buf, sizeof buf, &len) == 0 && len == 5 && !memcmp(buf, "hello", 5), "content written");
	ok(fstatat(dirfd_tmp, "a.txt", &st, 0) == 0 && (st.st_mode & 07777) == 0640, "mode 0640 applied (%o)",
	   st.st_mode & 07777);
	is(count_prefix(".tmp"), 0, "no temp file left behind");

	/* replacing: hold the old file open and see that it is untouched */
	fd = openat(dirfd_tmp, "a.txt", O_RDONLY);
	is(lb_write_atomic(dirfd_tmp, "a.txt", "replaced!", 9, 0600), 0, "write_atomic over an existing file");
	ok(slurp("a.txt", buf, sizeof buf, &len) == 0 && len == 9 && !memcmp(buf, "replaced!", 9),
	   "new content visible under the name");
	{
		ssize_t k = pread(fd, buf, sizeof buf, 0);

		ok(k == 5 && !memcmp(buf, "hello", 5), "old inode still holds the old content (rename, not rewrite)");
	}
	{
		struct stat a, b;

		fstat(fd, &a);
		fstatat(dirfd_tmp, "a.txt", &b, 0);
		ok(a.st_ino != b.st_ino, "the name points at a new inode");
		ok((b.st_mode & 07777) == 0600, "mode of the replacement is 0600 (%o)", b.st_mode & 07777);
	}
	close(fd);
	is(count_prefix(".tmp"), 0, "still no temp file left behind");

	is(lb_write_atomic(dirfd_tmp, "empty", "", 0, 0644), 0, "empty file written");
	ok(fstatat(dirfd_tmp, "empty", &st, 0) == 0 && st.st_size == 0, "empty file has size 0");

	/* failure: a directory of the same name cannot be replaced; no temp remains */
	mkdirat(dirfd_tmp, "adir", 0755);
	ok(lb_write_atomic(dirfd_tmp, "adir", "x", 1, 0644) < 0, "replacing a directory fails");
	is(count_prefix(".tmp"), 0, "a failed write leaves no temp file");
	ok(fstatat(dirfd_tmp, "adir", &st, 0) == 0 && S_ISDIR(st.st_mode), "the directory is untouched");

	{
		char longname[600];

		memset(longname, 'n', sizeof longname - 1);
		longname[sizeof longname - 1] = 0;
		is(lb_write_atomic(dirfd_tmp, longname, "x", 1, 0644), -ENAMETOOLONG, "over-long name refused");
	}
	umask(old);
}

static void test_read_file(void)
{
	struct lb_buf b;
	char data[5000];
	int e;

	memset(data, 'x', sizeof data);
	lb_write_atomic(dirfd_tmp, "r100", data, 100, 0644);
	lb_write_atomic(dirfd_tmp, "r4096", data, 4096, 0644);
	lb_write_atomic(dirfd_tmp, "r256", data, 256, 0644);
	lb_write_atomic(dirfd_tmp, "r0", data, 0, 0644);

	lb_buf_init(&b, 0);
	ok(lb_read_file(dirfd_tmp, "r100", 1000, &b) == 0 && b.len == 100, "read a 100-byte file");
	ok(lb_read_file(dirfd_tmp, "r100", 100, &b) == 0 && b.len == 100,
	   "a 100-byte file with max 100 (exactly at the limit) reads");
	ok(lb_read_file(dirfd_tmp, "r0", 0, &b) == 0 && b.len == 0, "an empty file with max 0 reads");
	e = lb_read_file(dirfd_tmp, "r100", 99, &b);
	ok(e < 0, "a 100-byte file with max 99 is refused (%d: %s)", e, lb_errmsg());
	is(e, -LB_E_CORRUPT, "...with -LB_E_CORRUPT, as util.h documents");
	ok(strstr(lb_errmsg(), "r100") && strstr(lb_errmsg(), "99"), "...naming the file and the limit: %s", lb_errmsg());
	/* fresh buffers: the capacity lands exactly on the file size */
	lb_buf_release(&b);
	e = lb_read_file(dirfd_tmp, "r4096", 4096, &b);
	ok(e == 0 && b.len == 4096, "a 4096-byte file with max 4096 reads into a fresh buffer (%d: %s)", e,
	   e ? lb_errmsg() : "");
	lb_buf_release(&b);
	e = lb_read_file(dirfd_tmp, "r256", 256, &b);
	ok(e == 0 && b.len == 256, "a 256-byte file with max 256 reads into a fresh buffer (%d: %s)", e,
	   e ? lb_errmsg() : "");
	lb_buf_release(&b);
	e = lb_read_file(dirfd_tmp, "r256", 257, &b);
	ok(e == 0 && b.len == 256, "a 256-byte file with max 257 reads into a fresh buffer");
	is(lb_read_file(dirfd_tmp, "missing", 100, &b), -ENOENT, "a missing file is -ENOENT");
	ok(lb_read_file(dirfd_tmp, "adir", 100, &b) < 0, "a directory is refused");
	lb_buf_release(&b);

	/* the caller's buffer ceiling is smaller than max */
	lb_buf_init(&b, 50);
	ok(lb_read_file(dirfd_tmp, "r100", 1000, &b) < 0, "a buffer ceiling below the file size fails cleanly");
	lb_buf_release(&b);
}

static void test_pread(void)
{
	char buf[64];
	int fd;

	lb_write_atomic(dirfd_tmp, "p", "0123456789", 10, 0644);
	fd = openat(dirfd_tmp, "p", O_RDONLY);
	ok(lb_pread_full(fd, buf, 4, 3) == 0 && !memcmp(buf, "3456", 4), "pread_full inside the file");
	ok(lb_pread_full(fd, buf, 10, 0) == 0 && !memcmp(buf, "0123456789", 10), "pread_full of the whole file");
	is(lb_pread_full(fd, buf, 11, 0), -LB_E_CORRUPT, "reading past the end: -LB_E_CORRUPT");
	is(lb_pread_full(fd, buf, 1, 10), -LB_E_CORRUPT, "reading at the end: -LB_E_CORRUPT");
	is(lb_pread_full(fd, buf, 0, 100), 0, "reading nothing anywhere succeeds");
	close(fd);
	is(lb_pread_full(fd, buf, 1, 0), -EBADF, "a closed fd gives -EBADF");

	fd = openat(dirfd_tmp, "w", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ok(lb_pwrite_full(fd, "abc", 3, 5) == 0, "pwrite_full at offset 5");
	ok(lb_write_full(fd, "XY", 2) == 0, "write_full at the file position (0)");
	ok(lb_pread_full(fd, buf, 8, 0) == 0 && !memcmp(buf, "XY\0\0\0abc", 8), "holes read as zeros, data in place");
	close(fd);
}

static void test_misc(void)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };

	is(lb_mkdir_p1(dirfd_tmp, "d1", 0755), 0, "mkdir_p1 creates");
	is(lb_mkdir_p1(dirfd_tmp, "d1", 0755), 0, "mkdir_p1 accepts an existing directory");
	ok(lb_mkdir_p1(dirfd_tmp, "nope/d2", 0755) < 0, "mkdir_p1 with a missing parent fails");
	is(lb_fsync_dir(dirfd_tmp), 0, "fsync_dir works on a directory");
	ok(lb_random(a, sizeof a) == 0 && lb_random(b, sizeof b) == 0 && memcmp(a, b, 32) != 0,
	   "lb_random gives different bytes each time");
	{
		int64_t t1 = lb_mono_ns(), t2 = lb_mono_ns();
		int64_t now = lb_now_ns();

		ok(t2 >= t1, "monotonic clock does not go back");
		ok(now > 1600000000LL * 1000000000LL, "realtime clock is after 2020");
	}
}

static void test_time(void)
{
	char s[64];
	int64_t sec = -1;
	long ns = -1;

	lb_time_format(s, sizeof s, 0, 0);
	ok(!strcmp(s, "1970-01-01T00:00:00.000000000Z"), "epoch formats: %s", s);
	lb_time_format(s, sizeof s, 1795575601, 123456789);
	ok(!strcmp(s, "2026-11-25T03:00:01.123456789Z"), "the header's example formats: %s", s);
	ok(lb_time_parse(s, &sec, &ns) == 0 && sec == 1795575601 && ns == 123456789, "and parses back");
	lb_time_format(s, sizeof s, 1700000000, 1);
	ok(lb_time_parse(s, &sec, &ns) == 0 && sec == 1700000000 && ns == 1, "1 ns survives a round trip (%s)", s);
	lb_time_format(s, sizeof s, 1700000000, 999999999);
	ok(lb_time_parse(s, &sec, &ns) == 0 && sec == 1700000000 && ns == 999999999, "999999999 ns round trip");
	lb_time_format(s, sizeof s, 4102444800LL, 5);
	ok(lb_time_parse(s, &sec, &ns) == 0 && sec == 4102444800LL && ns == 5, "year 2100 round trip (%s)", s);
	lb_time_format(s, sizeof s, -86400, 0);
	ok(lb_time_parse(s, &sec, &ns) == 0 && sec == -86400 && ns == 0, "before the epoch round trip (%s)", s);

	{
		int good = 1;

		for (int64_t t = 0; t < 4000000000LL; t += 97654321) {
			long nn = (long)((t * 7919) % 1000000000);

			lb_time_format(s, sizeof s, t, nn);
			if (lb_time_parse(s, &sec, &ns) != 0 || sec != t || ns != nn) {
				good = 0;
				diag("round trip failed for %lld.%09ld (%s)", (long long)t, nn, s);
			}
		}
		ok(good, "41 spread-out times round-trip");
	}

	ok(lb_time_parse("2024-02-29T12:34:56.5Z", &sec, &ns) == 0 && ns == 500000000 && sec == 1709210096,
	   "short fraction .5 is 500000000 ns");
	ok(lb_time_parse("2024-02-29T12:34:56Z", &sec, &ns) == 0 && ns == 0 && sec == 1709210096, "no fraction");
	ok(lb_time_parse("2024-02-29 12:34:56", &sec, &ns) == 0 && sec == 1709210096, "space-separated form");
	ok(lb_time_parse("2024-02-29", &sec, &ns) == 0 && sec == 1709164800, "date only");
	ok(lb_time_parse("2024-02-29T12:34:56.1234567891Z", &sec, &ns) == 0 && ns == 123456789,
	   "digits past nanoseconds are dropped");
	ok(lb_time_parse("2024-02-29T12:34:56Zjunk", &sec, &ns) < 0, "trailing junk refused");
	ok(lb_time_parse("yesterday", &sec, &ns) < 0, "nonsense refused");
	ok(lb_time_parse("", &sec, &ns) < 0, "empty string refused");
	ok(lb_time_parse("2024-13-01T00:00:00Z", &sec, &ns) < 0, "month 13 refused");
}

int main(void)
{
	dirfd_tmp = open(tap_tmp(), O_RDONLY | O_DIRECTORY);
	test_write_atomic();
	test_read_file();
	test_pread();
	test_misc();
	test_time();
	close(dirfd_tmp);
	tap_tmp_cleanup();
	return done_testing();
}
