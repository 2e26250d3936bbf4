/* mailload — a live mail load for the mail spool tests.
 *
 *   mailload deliver MAILDIR LOG [DELETE_LOG]
 *       delivers messages like an MDA (tmp/ -> new/ by rename) until killed;
 *       after each delivery appends "BASE SHA256" to LOG.  With DELETE_LOG,
 *       every 7th round deletes an older message, logging "BASE" to
 *       DELETE_LOG *before* the unlink.
 *   mailload flip MAILDIR
 *       moves messages new/ -> cur/ and flips their flags (renames within
 *       cur/) in a tight loop until killed, as an IMAP server does.
 *   mailload mbox-append MBOX LOG
 *       appends messages under the Debian lock order (fcntl F_SETLKW, then
 *       the dotlock MBOX.lock made with O_EXCL), each in several writes with
 *       pauses in between (a reader that ignored the locks would see torn
 *       messages), until killed; logs "ID" after each append.
 *   mailload mbox-hold MBOX SECONDS [fcntl|dotlock|both]
 *       takes the lock(s) and holds them SECONDS; prints "locked" when held.
 *   mailload mbox-check FILE
 *       checks that every message of an mbox is whole (its BEGIN n and END
 *       n lines, its body lines numbered 0..k) and prints the count.
 *
 * Messages carry "BEGIN <id>" and "END <id>" lines around a numbered body. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

/* A message body for id: deterministic, a few hundred bytes to a few KiB. */
static size_t make_message(char *buf, size_t cap, const char *id, unsigned n, bool mbox)
{
	size_t len = 0;
	unsigned lines = 3 + n % 40;

	if (mbox)
		len += (size_t)snprintf(buf + len, cap - len, "From load@example.org Mon Jan  1 00:00:00 2024\n");
	len += (size_t)snprintf(buf + len, cap - len,
				"From: load@example.org\nTo: u@example.org\nSubject: message %s\n"
				"Message-ID: <%s@load.example.org>\n\nBEGIN %s\n", id, id, id);
	for (unsigned i = 0; i < lines; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s line %u: the quick brown fox jumps over the lazy dog\n",
					id, i);
	len += (size_t)snprintf(buf + len, cap - len, "END %s\n", id);
	if (mbox)
		len += (size_t)snprintf(buf + len, cap - len, "\n");
	return len;
}

static void sha256_hex(const char *p, size_t n, char out[65])
{
	unsigned char d[32];
	unsigned int len = 32;

	EVP_Digest(p, n, d, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void log_line(const char *log, const char *line)
{
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		die(log);
	write_all(fd, line, strlen(line));
	if (fsync(fd) < 0)
		die("fsync log");
	close(fd);
}

/* ---- Maildir ---- */

static int deliver(const char *md, const char *log, const char *dlog)
{
	static char buf[8192];
	char host[64] = "load", **kept = NULL;
	size_t nkept = 0;
	unsigned n = 0;

	gethostname(host, sizeof host - 1);
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':' || *p == '.')
			*p = '_';
	while (!stop) {
		char base[160], tmp[4400], dst[4400], line[256], sum[65];
		struct timespec ts;
		size_t len;
		int fd;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(base, sizeof base, "%lld.M%ldP%dQ%u.%s", (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid(),
			 n, host);
		len = make_message(buf, sizeof buf, base, n, false);
		snprintf(tmp, sizeof tmp, "%s/tmp/%s", md, base);
		snprintf(dst, sizeof dst, "%s/new/%s", md, base);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			die(tmp);
		write_all(fd, buf, len / 2); /* tmp/ holds half-written mail: never in a backup */
		sleep_us(200);
		write_all(fd, buf + len / 2, len - len / 2);
		close(fd);
		if (rename(tmp, dst) < 0)
			die("rename");
		sha256_hex(buf, len, sum);
		snprintf(line, sizeof line, "%s %s\n", base, sum);
		log_line(log, line);
		if (dlog) {
			char **p = realloc(kept, (nkept + 1) * sizeof *p);

			if (!p)
				die("realloc");
			kept = p;
			kept[nkept++] = strdup(base);
		}
		if (dlog && n % 7 == 6 && nkept > 3) {
			/* delete an older message, wherever it is now */
			char *victim = kept[nkept / 2];

			snprintf(line, sizeof line, "%s\n", victim);
			log_line(dlog, line);
			for (int k = 0; k < 2; k++) {
				const char *sub = k ? "cur" : "new";
				char dir[4400];
				struct dirent *de;
				DIR *d;

				snprintf(dir, sizeof dir, "%s/%s", md, sub);
				if (!(d = opendir(dir)))
					continue;
				while ((de = readdir(d)))
					if (!strncmp(de->d_name, victim, strlen(victim)) &&
					    (de->d_name[strlen(victim)] == 0 || de->d_name[strlen(victim)] == ':')) {
						char f[4700];

						snprintf(f, sizeof f, "%s/%s", dir, de->d_name);
						unlink(f);
					}
				closedir(d);
			}
			size_t at = nkept / 2;

			free(victim);
			nkept--;
			kept[at] = kept[nkept];
		}
		n++;
		sleep_us(1000);
	}
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	return 0;
}

/* Names in dir (messages only), at most max. */
static size_t names_of(const char *dir, char names[][256], size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.')
			snprintf(names[n++], 256, "%s", de->d_name);
	closedir(d);
	return n;
}

static int flip(const char *md)
{
	static char names[4096][256];
	static const char *const flagsets[] = { "S", "RS", "FS", "", "FRS", "T" };
	char newd[4096], curd[4096];
	unsigned long r = (unsigned long)getpid();

	snprintf(newd, sizeof newd, "%s/new", md);
	snprintf(curd, sizeof curd, "%s/cur", md);
	while (!stop) {
		size_t n = names_of(newd, names, 4096);
		char from[4400], to[4400];

		/* new -> cur, seen */
		for (size_t i = 0; i < n && i < 3; i++) {
			snprintf(from, sizeof from, "%s/%s", newd, names[i]);
			snprintf(to, sizeof to, "%s/%s:2,S", curd, names[i]);
			rename(from, to);
		}
		/* flag flips inside cur/ */
		n = names_of(curd, names, 4096);
		for (int k = 0; k < 50 && n > 0; k++) {
			char *name, *colon;

			r = r * 6364136223846793005UL + 1442695040888963407UL;
			name = names[(r >> 33) % n];
			snprintf(from, sizeof from, "%s/%s", curd, name);
			colon = strchr(name, ':');
			if (colon)
				*colon = 0;
			snprintf(to, sizeof to, "%s/%s:2,%s", curd, name, flagsets[(r >> 17) % 6]);
			if (colon)
				*colon = ':';
			if (strcmp(from, to))
				rename(from, to);
		}
	}
	return 0;
}

/* ---- mbox ---- */

static int fcntl_lock(int fd, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	while (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) < 0) {
		if (errno != EINTR)
			return -1;
		if (stop)
			return -1;
	}
	return 0;
}

static void fcntl_unlock(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	fcntl(fd, F_SETLK, &fl);
}

static int dotlock(const char *lock)
{
	for (;;) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd >= 0) {
			char pid[32];

			snprintf(pid, sizeof pid, "%d\n", (int)getpid());
			write_all(fd, pid, strlen(pid));
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			die(lock);
		if (stop)
			return -1;
		sleep_us(2000);
	}
}

static int mbox_append(const char *mbox, const char *log)
{
	static char buf[8192];
	char lock[4200];
	unsigned n = 0;

	snprintf(lock, sizeof lock, "%s.lock", mbox);
	while (!stop) {
		char id[64], line[96];
		size_t len, off = 0;
		int fd = open(mbox, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0)
			die(mbox);
		if (fcntl_lock(fd, true) < 0) {
			close(fd);
			break;
		}
		if (dotlock(lock) < 0) {
			fcntl_unlock(fd);
			close(fd);
			break;
		}
		snprintf(id, sizeof id, "m%d-%u", (int)getpid(), n);
		len = make_message(buf, sizeof buf, id, n, true);
		/* in pieces, with pauses: a reader that ignored the locks would tear it */
		while (off < len) {
			size_t k = len - off < 97 ? len - off : 97;

			write_all(fd, buf + off, k);
			off += k;
			sleep_us(50);
		}
		fsync(fd);
		unlink(lock);
		fcntl_unlock(fd);
		close(fd);
		snprintf(line, sizeof line, "%s\n", id);
		log_line(log, line);
		n++;
		sleep_us(500);
	}
	return 0;
}

static int mbox_hold(const char *mbox, int secs, const char *which)
{
	char lock[4200];
	bool f = strcmp(which, "dotlock") != 0, d = strcmp(which, "fcntl") != 0;
	int fd = open(mbox, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die(mbox);
	snprintf(lock, sizeof lock, "%s.lock", mbox);
	if (f && fcntl_lock(fd, true) < 0)
		die("fcntl");
	if (d && dotlock(lock) < 0)
		die("dotlock");
	printf("locked\n");
	fflush(stdout);
	for (int i = 0; i < secs * 10 && !stop; i++)
		sleep_us(100000);
	if (d)
		unlink(lock);
	if (f)
		fcntl_unlock(fd);
	close(fd);
	return 0;
}

/* Every message whole: From_ line, BEGIN id, "id line k" for k = 0.., END id. */
static int mbox_check(const char *file)
{
	FILE *f = fopen(file, "re");
	char line[4096], id[128] = "";
	unsigned long messages = 0, bad = 0, next = 0;
	enum { OUT, HEAD, BODY, DONE } st = OUT;
	bool prev_empty = true;

	if (!f)
		die(file);
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		bool empty = len == 1 && line[0] == '\n';

		if (prev_empty && !strncmp(line, "From ", 5)) {
			if (st != OUT && st != DONE) {
				fprintf(stderr, "message %lu (%s) is torn\n", messages, id);
				bad++;
			}
			messages++;
			st = HEAD;
			id[0] = 0;
		} else if (st == HEAD && !strncmp(line, "BEGIN ", 6)) {
			snprintf(id, sizeof id, "%.*s", (int)(len - 7), line + 6);
			st = BODY;
			next = 0;
		} else if (st == BODY && !strncmp(line, "END ", 4)) {
			if (strncmp(line + 4, id, strlen(id)) || line[4 + strlen(id)] != '\n') {
				fprintf(stderr, "message %lu: END %s after BEGIN %s\n", messages, line + 4, id);
				bad++;
			}
			st = DONE;
		} else if (st == BODY) {
			char want[256];

			snprintf(want, sizeof want, "%s line %lu: ", id, next);
			if (strncmp(line, want, strlen(want))) {
				fprintf(stderr, "message %lu (%s): line %lu is wrong: %s", messages, id, next, line);
				bad++;
			}
			next++;
		} else if (st == OUT && !empty) {
			fprintf(stderr, "text before the first message\n");
			bad++;
		}
		prev_empty = empty;
	}
	fclose(f);
	if (st != OUT && st != DONE) {
		fprintf(stderr, "the last message (%s) is torn\n", id);
		bad++;
	}
	printf("%lu\n", messages);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (argc >= 4 && !strcmp(argv[1], "deliver"))
		return deliver(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	if (argc == 3 && !strcmp(argv[1], "flip"))
		return flip(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "mbox-append"))
		return mbox_append(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "mbox-hold"))
		return mbox_hold(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : "both");
	if (argc == 3 && !strcmp(argv[1], "mbox-check"))
		return mbox_check(argv[2]);
	fprintf(stderr, "usage: see the comment at the top of mailload.c\n");
	return 2;
}
