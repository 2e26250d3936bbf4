/* treecmp SRC DST: compares two trees entry by entry — type, mode, owner,
 * mtime and atime (ns), size, content, symlink target, device numbers,
 * every xattr (ACLs included), the hole map of sparse files, and hard-link
 * groups.  Walks by directory descriptors, so names may hold any bytes and
 * trees may be deeper than PATH_MAX.  Exit 0 same, 1 different, 2 error.
 *
 *   --no-atime       do not compare access times
 *   --no-dir-times   do not compare directory times (for trees the test
 *                    itself modifies while comparing)
 *   --mtime-sec      compare mtimes to the second (formats without ns:
 *                    ustar, zip)
 *   --no-xattrs      do not compare xattrs and ACLs (formats without them)
 *   --no-holes       do not compare hole maps (formats without sparse files)
 *   --no-hardlinks   do not compare link counts and hard-link groups
 *                    (formats without hard links: zip)
 *   --ignore NAME    leave out entries named NAME on both sides (entries a
 *                    format cannot hold at all, which the test checks
 *                    apart); may be repeated */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static bool no_atime, no_dir_times, mtime_sec, no_xattrs, no_holes, no_hardlinks;
static const char *ignored[64];
static size_t nignored;
static int ndiff;

struct link { ino_t a, b; };
static struct link *links;
static size_t nlinks;

static void diff(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diff(const char *path, const char *fmt, ...)
{
	va_list ap;

	ndiff++;
	if (ndiff > 50)
		return;
	printf("DIFF ");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	printf(": ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static char **names(int dfd, size_t *n)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d) {
		perror("fdopendir");
		exit(2);
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			v = realloc(v, cap * sizeof *v);
		}
		v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

static void proc(char *out, size_t n, int dfd, const char *name)
{
	snprintf(out, n, "/proc/self/fd/%d/%s", dfd, name);
}

static void cmp_xattrs(const char *path, int da, int db, const char *name)
{
	char pa[512], pb[512], la[65536], lb[65536];
	ssize_t na, nb;

	proc(pa, sizeof pa, da, name);
	proc(pb, sizeof pb, db, name);
	na = llistxattr(pa, la, sizeof la);
	nb = llistxattr(pb, lb, sizeof lb);
	if (na < 0)
		na = 0;
	if (nb < 0)
		nb = 0;
	/* every attribute of a exists in b with the same value, and vice versa */
	for (int pass = 0; pass < 2; pass++) {
		char *l = pass ? lb : la, *p1 = pass ? pb : pa, *p2 = pass ? pa : pb;
		ssize_t n = pass ? nb : na;

		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(l + i) + 1) {
			static char v1[65536], v2[65536];
			ssize_t k1 = lgetxattr(p1, l + i, v1, sizeof v1), k2 = lgetxattr(p2, l + i, v2, sizeof v2);

			if (k2 < 0)
				diff(path, "xattr %s only in %s", l + i, pass ? "restored" : "source");
			else if (!pass && (k1 != k2 || memcmp(v1, v2, (size_t)k1)))
				diff(path, "xattr %s differs", l + i);
		}
	}
}

static void cmp_holes(const char *path, int fa, int fb, off_t size)
{
	off_t pa = 0, pb = 0;

	while (pa < size || pb < size) {
		off_t da = lseek(fa, pa, SEEK_DATA), db = lseek(fb, pb, SEEK_DATA);

		if (da < 0)
			da = size;
		if (db < 0)
			db = size;
		if (da != db) {
			diff(path, "hole map differs: data at %lld vs %lld", (long long)da, (long long)db);
			return;
		}
		if (da >= size)
			return;
		pa = lseek(fa, da, SEEK_HOLE);
		pb = lseek(fb, db, SEEK_HOLE);
		if (pa != pb) {
			diff(path, "hole map differs: hole at %lld vs %lld", (long long)pa, (long long)pb);
			return;
		}
	}
}

static void cmp_content(const char *path, int da, int db, const char *name, off_t size)
{
	static char ba[1 << 16], bb[1 << 16];
	int fa = openat(da, name, O_RDONLY | O_NOATIME | O_NOFOLLOW), fb = openat(db, name, O_RDONLY | O_NOATIME | O_NOFOLLOW);
	off_t off = 0;

	if (fa < 0 || fb < 0) {
		diff(path, "cannot open: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t ka = pread(fa, ba, sizeof ba, off), kb = pread(fb, bb, sizeof bb, off);

		if (ka != kb || (ka > 0 && memcmp(ba, bb, (size_t)ka))) {
			diff(path, "content differs near offset %lld", (long long)off);
			break;
		}
		if (ka <= 0)
			break;
		off += ka;
	}
	if (!no_holes)
		cmp_holes(path, fa, fb, size);
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
}

static void cmp_link_group(const char *path, const struct stat *a, const struct stat *b)
{
	for (size_t i = 0; i < nlinks; i++) {
		if (links[i].a == a->st_ino || links[i].b == b->st_ino) {
			if (links[i].a != a->st_ino || links[i].b != b->st_ino)
				diff(path, "hard-link group not preserved");
			return;
		}
	}
	links = realloc(links, (nlinks + 1) * sizeof *links);
	links[nlinks].a = a->st_ino;
	links[nlinks].b = b->st_ino;
	nlinks++;
}

static void cmp_dir(int da, int db, char *path, size_t plen);

static void cmp_entry(int da, int db, const char *name, char *path, size_t plen)
{
	struct stat a, b;
	size_t nlen = strlen(name);

	if (plen + nlen + 2 < 65536) {
		path[plen] = '/';
		memcpy(path + plen + 1, name, nlen + 1);
	}
	if (fstatat(da, name, &a, AT_SYMLINK_NOFOLLOW) < 0 || fstatat(db, name, &b, AT_SYMLINK_NOFOLLOW) < 0) {
		diff(path, "missing in %s", fstatat(da, name, &a, AT_SYMLINK_NOFOLLOW) < 0 ? "source" : "restored");
		goto out;
	}
	if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) {
		diff(path, "type %o vs %o", a.st_mode & S_IFMT, b.st_mode & S_IFMT);
		goto out;
	}
	if (!S_ISLNK(a.st_mode) && (a.st_mode & 07777) != (b.st_mode & 07777))
		diff(path, "mode %04o vs %04o", a.st_mode & 07777, b.st_mode & 07777);
	if (a.st_uid != b.st_uid || a.st_gid != b.st_gid)
		diff(path, "owner %u:%u vs %u:%u", a.st_uid, a.st_gid, b.st_uid, b.st_gid);
	if (!(S_ISDIR(a.st_mode) && no_dir_times)) {
		if (a.st_mtim.tv_sec != b.st_mtim.tv_sec || (!mtime_sec && a.st_mtim.tv_nsec != b.st_mtim.tv_nsec))
			diff(path, "mtime %lld.%09ld vs %lld.%09ld", (long long)a.st_mtim.tv_sec, a.st_mtim.tv_nsec,
			     (long long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec);
		if (!no_atime && (a.st_atim.tv_sec != b.st_atim.tv_sec || a.st_atim.tv_nsec != b.st_atim.tv_nsec))
			diff(path, "atime %lld.%09ld vs %lld.%09ld", (long long)a.st_atim.tv_sec, a.st_atim.tv_nsec,
			     (long long)b.st_atim.tv_sec, b.st_atim.tv_nsec);
	}
	if (!no_xattrs)
		cmp_xattrs(path, da, db, name);
	if (S_ISREG(a.st_mode)) {
		if (a.st_size != b.st_size)
			diff(path, "size %lld vs %lld", (long long)a.st_size, (long long)b.st_size);
		else
			cmp_content(path, da, db, name, a.st_size);
		if (!no_hardlinks && (a.st_nlink > 1 || b.st_nlink > 1)) {
			if (a.st_nlink != b.st_nlink)
				diff(path, "link count %lu vs %lu", (unsigned long)a.st_nlink, (unsigned long)b.st_nlink);
			cmp_link_group(path, &a, &b);
		}
	} else if (S_ISLNK(a.st_mode)) {
		char ta[65536], tb[65536];
		ssize_t ka = readlinkat(da, name, ta, sizeof ta), kb = readlinkat(db, name, tb, sizeof tb);

		if (ka != kb || memcmp(ta, tb, (size_t)(ka > 0 ? ka : 0)))
			diff(path, "symlink target differs");
	} else if (S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) {
		if (a.st_rdev != b.st_rdev)
			diff(path, "device number differs");
	} else if (S_ISDIR(a.st_mode)) {
		int sa = openat(da, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME);
		int sb = openat(db, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME);

		if (sa < 0 || sb < 0) {
			diff(path, "cannot open directory: %s", strerror(errno));
		} else {
			cmp_dir(sa, sb, path, plen + 1 + nlen);
		}
		if (sa >= 0)
			close(sa);
		if (sb >= 0)
			close(sb);
	}
out:
	path[plen] = 0;
}

static bool is_ignored(const char *name)
{
	for (size_t i = 0; i < nignored; i++)
		if (!strcmp(ignored[i], name))
			return true;
	return false;
}

static void cmp_dir(int da, int db, char *path, size_t plen)
{
	size_t na, nb, i = 0, j = 0;
	char **a = names(da, &na), **b = names(db, &nb);

	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(a[i], b[j]);

		if (c <= 0 && i < na && is_ignored(a[i])) {
			i++;
			j += c == 0;
			continue;
		}
		if (c > 0 && is_ignored(b[j])) {
			j++;
			continue;
		}
		if (c < 0) {
			path[plen] = 0;
			diff(path, "entry '%s' missing from the restored tree", a[i++]);
		} else if (c > 0) {
			path[plen] = 0;
			diff(path, "entry '%s' only in the restored tree", b[j++]);
		} else {
			cmp_entry(da, db, a[i], path, plen);
			i++;
			j++;
		}
	}
	for (i = 0; i < na; i++)
		free(a[i]);
	for (j = 0; j < nb; j++)
		free(b[j]);
	free(a);
	free(b);
}

int main(int argc, char **argv)
{
	static char path[65536];
	int i = 1, da, db;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--no-atime"))
			no_atime = true;
		else if (!strcmp(argv[i], "--no-dir-times"))
			no_dir_times = true;
		else if (!strcmp(argv[i], "--mtime-sec"))
			mtime_sec = true;
		else if (!strcmp(argv[i], "--no-xattrs"))
			no_xattrs = true;
		else if (!strcmp(argv[i], "--no-holes"))
			no_holes = true;
		else if (!strcmp(argv[i], "--no-hardlinks"))
			no_hardlinks = true;
		else if (!strcmp(argv[i], "--ignore") && i + 1 < argc && nignored < 64)
			ignored[nignored++] = argv[++i];
		else {
			fprintf(stderr, "treecmp: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: treecmp [--no-atime] [--no-dir-times] [--mtime-sec] [--no-xattrs] [--no-holes]\n"
				"               [--no-hardlinks] [--ignore NAME]... SRC DST\n");
		return 2;
	}
	da = open(argv[i], O_RDONLY | O_DIRECTORY | O_NOATIME);
	db = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_NOATIME);
	if (da < 0 || db < 0) {
		perror("treecmp: open");
		return 2;
	}
	cmp_dir(da, db, path, 0);
	if (ndiff > 50)
		printf("... and %d more differences\n", ndiff - 50);
	return ndiff ? 1 : 0;
}
