/* mkcorpus: a deterministic ~1 GiB tree shaped like a small hosting
 * server, and its nightly changes, for `make bench`.
 *
 *   mkcorpus DIR [--scale S]     build night 0
 *   mkcorpus DIR --mutate N      apply night N's changes in place
 *
 * www/    60 sites: PHP/HTML text pages and incompressible images
 * mail/   40 Maildirs of 600 messages, one in 25 with an attachment
 * mysql/  a 1.5 M-row INSERT dump and eight 32 MiB InnoDB-like page files
 *         (16 KiB pages: a binary head and text rows)
 * images/ a 256 MiB sparse VM disk with 48 one-MiB extents
 * logs/   30 MiB of access log
 *
 * A night adds 15 messages per mailbox, edits 200 rows in the middle of
 * the dump and inserts 50, rewrites 20 pages of each page file and 8
 * 64 KiB blocks of the disk image, and appends 2 MiB of log. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static const char *words[] = {
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
	"not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "they", "you",
	"were", "her", "she", "there", "one", "all", "we", "their", "has", "been", "would", "when", "who",
	"will", "more", "no", "if", "out", "so", "said", "what", "up", "its", "about", "than", "into",
	"them", "can", "only", "other", "time", "new", "some", "could", "these", "two", "may", "first",
	"then", "do", "any", "like", "my", "now", "over", "such", "our", "man", "me", "server", "mail",
	"backup", "restore", "mysql", "table", "forum", "post", "user", "site", "wordpress", "phpbb",
	"queue", "disk",
};
#define NWORDS (sizeof words / sizeof words[0])

struct rng { uint64_t s; };

static uint64_t next(struct rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t range(struct rng *r, uint64_t lo, uint64_t hi) /* inclusive */
{
	return lo + next(r) % (hi - lo + 1);
}

static void randbytes(struct rng *r, uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v = next(r);

		memcpy(p + i, &v, 8);
	}
	if (i < n) {
		uint64_t v = next(r);

		memcpy(p + i, &v, n - i);
	}
}

/* Lines of 6-16 random words, exactly n bytes. */
static void text(struct rng *r, uint8_t *p, size_t n)
{
	size_t len = 0;

	while (len < n) {
		unsigned k = (unsigned)range(r, 6, 16);

		for (unsigned w = 0; w < k && len < n; w++) {
			const char *s = words[next(r) % NWORDS];
			size_t sl = strlen(s);

			if (w && len < n)
				p[len++] = ' ';
			for (size_t j = 0; j < sl && len < n; j++)
				p[len++] = (uint8_t)s[j];
		}
		if (len < n)
			p[len++] = '\n';
	}
}

static void mkdirs(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

static void put(const char *path, const uint8_t *data, size_t n)
{
	char dir[4096], *slash;
	FILE *f;

	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/'))) {
		*slash = 0;
		mkdirs(dir);
	}
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static uint8_t *buf(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "mkcorpus: out of memory\n");
		exit(1);
	}
	return p;
}

static void build(const char *root, double scale)
{
	struct rng r = { 1991 };
	char path[4096];
	uint8_t *b = buf(1 << 21);

	for (int s = 0; s < (int)(60 * scale); s++) {
		for (int i = 0; i < 60; i++) {
			size_t n = range(&r, 500, 12000);

			text(&r, b, n);
			snprintf(path, sizeof path, "%s/www/site%03d/htdocs/page%03d.php", root, s, i);
			put(path, b, n);
		}
		for (int i = 0; i < 20; i++) {
			size_t n = range(&r, 5000, 200000);

			randbytes(&r, b, n);
			snprintf(path, sizeof path, "%s/www/site%03d/htdocs/img/pic%03d.jpg", root, s, i);
			put(path, b, n);
		}
	}
	for (int u = 0; u < (int)(40 * scale); u++) {
		for (int d = 0; d < 3; d++) {
			snprintf(path, sizeof path, "%s/mail/user%03d/Maildir/%s", root, u, (const char *[]){ "tmp", "new", "cur" }[d]);
			mkdirs(path);
		}
		for (int m = 0; m < 600; m++) {
			size_t h = (size_t)snprintf((char *)b, 512,
				"From: sender%d@example.org\nTo: user%d@example.net\nSubject: %s %s %s\nMessage-ID: <%d.%d@example.net>\n\n",
				(int)range(&r, 0, 999), u, words[next(&r) % NWORDS], words[next(&r) % NWORDS],
				words[next(&r) % NWORDS], u, m);
			size_t body = range(&r, 800, 12000);

			text(&r, b + h, body);
			if (m % 25 == 0) {
				size_t att = range(&r, 20000, 120000);

				randbytes(&r, b + h + body, att);
				body += att;
			}
			snprintf(path, sizeof path, "%s/mail/user%03d/Maildir/%s/1600000000.M%dP%d.mx1%s", root, u,
				 m % 3 ? "cur" : "new", m, u, m % 3 ? ":2,S" : "");
			put(path, b, h + body);
		}
	}
	{
		size_t rows = (size_t)(1500000 * scale), cap = rows * 80 + 1, len = 0;
		uint8_t *d = buf(cap);

		for (size_t i = 0; i < rows; i++)
			len += (size_t)snprintf((char *)d + len, cap - len,
				"INSERT INTO phpbb_posts VALUES (%zu,%d,'%s %s %s',%zu);\n", i, (int)range(&r, 1, 5000),
				words[next(&r) % NWORDS], words[next(&r) % NWORDS], words[next(&r) % NWORDS],
				(size_t)1600000000 + i);
		snprintf(path, sizeof path, "%s/mysql/dump/forum.sql", root);
		put(path, d, len);
		free(d);
	}
	for (int t = 0; t < (int)(8 * scale); t++) {
		uint8_t *d = buf(2048 * 16384);

		for (int p = 0; p < 2048; p++) {
			randbytes(&r, d + (size_t)p * 16384, 4096);
			text(&r, d + (size_t)p * 16384 + 4096, 12288);
		}
		snprintf(path, sizeof path, "%s/mysql/data/forum/t%d.ibd", root, t);
		put(path, d, 2048 * 16384);
		free(d);
	}
	{
		off_t size = (off_t)(256 * scale) << 20;
		int fd;

		snprintf(path, sizeof path, "%s/images", root);
		mkdirs(path);
		snprintf(path, sizeof path, "%s/images/vm1.raw", root);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, size) < 0) {
			perror(path);
			exit(1);
		}
		for (int e = 0; e < (int)(48 * scale); e++) {
			off_t at = (off_t)(range(&r, 0, (uint64_t)(size - (1 << 20)) / 4096) * 4096);

			if (e % 2)
				randbytes(&r, b, 1 << 20);
			else
				text(&r, b, 1 << 20);
			if (pwrite(fd, b, 1 << 20, at) != 1 << 20) {
				perror(path);
				exit(1);
			}
		}
		close(fd);
	}
	{
		size_t n = (size_t)((30 << 20) * (scale < 1 ? scale : 1));
		uint8_t *d = buf(n);

		text(&r, d, n);
		snprintf(path, sizeof path, "%s/logs/access.log", root);
		put(path, d, n);
		free(d);
	}
	free(b);
}

static void mutate(const char *root, int night)
{
	struct rng r = { 7000 + (uint64_t)night };
	char path[4096];
	uint8_t *b = buf(1 << 20);

	for (int u = 0;; u++) {
		struct stat st;

		snprintf(path, sizeof path, "%s/mail/user%03d", root, u);
		if (stat(path, &st) < 0)
			break;
		for (int m = 0; m < 15; m++) {
			size_t n = range(&r, 800, 8000);

			text(&r, b, n);
			snprintf(path, sizeof path, "%s/mail/user%03d/Maildir/new/%d.M%d.mx1", root, u, 1700000000 + night, m);
			put(path, b, n);
		}
	}
	{
		FILE *f;
		long len;
		uint8_t *d, *out;
		size_t nl = 0, olen = 0;
		size_t *starts;

		snprintf(path, sizeof path, "%s/mysql/dump/forum.sql", root);
		f = fopen(path, "rb");
		if (!f) {
			perror(path);
			exit(1);
		}
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		d = buf((size_t)len);
		if (fread(d, 1, (size_t)len, f) != (size_t)len) {
			perror(path);
			exit(1);
		}
		fclose(f);
		for (long i = 0; i < len; i++)
			nl += d[i] == '\n';
		starts = malloc((nl + 2) * sizeof *starts);
		nl = 0;
		starts[nl++] = 0;
		for (long i = 0; i < len; i++)
			if (d[i] == '\n')
				starts[nl++] = (size_t)i + 1;
		/* 200 rows edited in place: INSERT -> REPLACE (one byte longer) */
		{
			char *mark = calloc(nl, 1);
			int *ins = calloc(nl, sizeof *ins);

			for (int k = 0; k < 200; k++)
				mark[next(&r) % nl] = 1;
			for (int k = 0; k < 50; k++)
				ins[next(&r) % nl]++;
			out = buf((size_t)len + 200 + 50 * 100);
			for (size_t i = 0; i + 1 < nl || (i + 1 == nl && starts[i] < (size_t)len); i++) {
				size_t s = starts[i], e = i + 1 < nl ? starts[i + 1] : (size_t)len;

				for (int k = 0; k < ins[i]; k++)
					olen += (size_t)sprintf((char *)out + olen,
						"INSERT INTO phpbb_posts VALUES (%d,1,'night %d',0);\n",
						(int)range(&r, 10000000, 100000000), night);
				if (mark[i] && e - s > 6 && !memcmp(d + s, "INSERT", 6)) {
					memcpy(out + olen, "REPLACE", 7);
					memcpy(out + olen + 7, d + s + 6, e - s - 6);
					olen += e - s + 1;
				} else {
					memcpy(out + olen, d + s, e - s);
					olen += e - s;
				}
				if (i + 1 >= nl)
					break;
			}
			free(mark);
			free(ins);
		}
		put(path, out, olen);
		free(out);
		free(d);
		free(starts);
	}
	for (int t = 0;; t++) {
		int fd;

		snprintf(path, sizeof path, "%s/mysql/data/forum/t%d.ibd", root, t);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			break;
		for (int k = 0; k < 20; k++) {
			randbytes(&r, b, 16384);
			if (pwrite(fd, b, 16384, (off_t)(next(&r) % 2048) * 16384) != 16384)
				perror(path);
		}
		close(fd);
	}
	{
		struct stat st;
		int fd;

		snprintf(path, sizeof path, "%s/images/vm1.raw", root);
		fd = open(path, O_WRONLY);
		if (fd >= 0 && fstat(fd, &st) == 0) {
			for (int k = 0; k < 8; k++) {
				randbytes(&r, b, 65536);
				if (pwrite(fd, b, 65536, (off_t)(next(&r) % (uint64_t)((st.st_size - 65536) / 4096)) * 4096) != 65536)
					perror(path);
			}
			close(fd);
		}
	}
	{
		FILE *f;

		snprintf(path, sizeof path, "%s/logs/access.log", root);
		f = fopen(path, "ab");
		if (f) {
			uint8_t *d = buf(2 << 20);

			text(&r, d, 2 << 20);
			fwrite(d, 1, 2 << 20, f);
			fclose(f);
			free(d);
		}
	}
	free(b);
}

int main(int argc, char **argv)
{
	double scale = 1.0;
	int night = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: mkcorpus DIR [--scale S] | DIR --mutate N\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--scale") && i + 1 < argc)
			scale = atof(argv[++i]);
		else if (!strcmp(argv[i], "--mutate") && i + 1 < argc)
			night = atoi(argv[++i]);
		else {
			fprintf(stderr, "mkcorpus: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (scale <= 0 || scale > 64) {
		fprintf(stderr, "mkcorpus: scale out of range\n");
		return 2;
	}
	if (night > 0)
		mutate(argv[1], night);
	else
		build(argv[1], scale);
	return 0;
}
