/* mbox: counting messages, the Debian lock order, and a restore that
 * appends what a mailbox lacks.
 *
 * Debian policy (§11.6, mail transport agents and user agents): a program
 * that writes a mailbox takes an fcntl() lock on it, then creates the
 * dotlock FILE.lock, and releases them in the reverse order.  We do the
 * same to read one, waiting for both within one timeout, polling so that
 * the wait stays bounded and cancellable (no alarm(), which would race with
 * the backup's threads).  Two rules are worth their comment:
 *
 *  - a POSIX fcntl lock is dropped when the process closes ANY descriptor
 *    of the file, so the mbox is read through the one descriptor that holds
 *    the lock (the walk reads from it; nothing else opens the file);
 *  - a dotlock is stale, as liblockfile (dotlockfile) says, when the pid
 *    written in it is dead, or, with no pid in it, when it is older than
 *    5 minutes.  Ours carries our pid, and is touched while a long read
 *    goes on, for programs that only look at its age (Postfix, procmail). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#include "sources/mail_internal.h"

#define POLL_MIN_MS 5
#define POLL_MAX_MS 200
#define MSG_MAX ((size_t)512 << 20)  /* the largest single message a restore buffers */

/* ---- counting ---- */

void lb_mbox_counter_init(struct lb_mbox_counter *c)
{
	memset(c, 0, sizeof *c);
	c->bol = true;
	c->matched = 0; /* the start of the file may start a message */
}

void lb_mbox_counter_feed(struct lb_mbox_counter *c, const uint8_t *p, size_t n)
{
	static const char from[] = "From ";

	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (ch == '\n') {
			/* an empty line: the next one may be a From_ line */
			c->matched = c->bol ? 0 : -1;
			c->bol = true;
			continue;
		}
		c->bol = false;
		if (c->matched >= 0) {
			if (ch == (uint8_t)from[c->matched]) {
				if (++c->matched == 5) {
					c->messages++;
					c->matched = -1;
				}
			} else {
				c->matched = -1;
			}
		}
	}
	c->next += n;
}

/* ---- locks ---- */

static void proc_name(pid_t pid, char *out, size_t n)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(buf, sizeof buf, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	if (buf[0])
		snprintf(out, n, "pid %d (%s)", (int)pid, buf);
	else
		snprintf(out, n, "pid %d", (int)pid);
}

/* The pid written in a dotlock (0 if none) and its age in seconds. */
static int dotlock_read(const char *lockpath, pid_t *pid, double *age)
{
	char buf[32] = "";
	struct stat st;
	ssize_t k;
	int fd;

	*pid = 0;
	*age = 0;
	fd = open(lockpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0)
		*age = difftime(time(NULL), st.st_mtime);
	k = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (k > 0) {
		buf[k] = 0;
		*pid = (pid_t)atoi(buf);
	}
	return 0;
}

/* liblockfile's rule: a live pid keeps it; a dead one makes it stale;
 * without a pid, age does. */
static bool dotlock_stale(const char *lockpath)
{
	pid_t pid;
	double age;

	if (dotlock_read(lockpath, &pid, &age) < 0)
		return false; /* gone already: the next O_EXCL will tell */
	if (pid > 0) {
		if (kill(pid, 0) == 0 || errno == EPERM)
			return false;
		if (errno == ESRCH)
			return true;
	}
	return age >= LB_MAIL_DOTLOCK_STALE_S;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleeps before the next attempt; false when the time is up. */
static bool wait_more(int64_t deadline, unsigned *delay)
{
	int64_t left = deadline - lb_mono_ns();

	if (left <= 0)
		return false;
	sleep_ms((unsigned)LB_MIN((int64_t)*delay, left / 1000000 + 1));
	*delay = LB_MIN(*delay * 2, (unsigned)POLL_MAX_MS);
	return true;
}

int lb_mbox_lock(int fd, const char *path, bool for_write, unsigned timeout_ms, volatile int *cancel,
		 struct lb_mbox_lock *lk, char *holder, size_t holdersz)
{
	struct flock fl = { .l_type = for_write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };
	int64_t start = lb_mono_ns(), deadline = start + (int64_t)timeout_ms * 1000000;
	unsigned delay = POLL_MIN_MS;
	char *lockpath = NULL;
	bool fcntl_held = false;
	int e;

	memset(lk, 0, sizeof *lk);
	lk->fd = -1;
	if (holder && holdersz)
		holder[0] = 0;
	/* 1. fcntl */
	for (;;) {
		if (fcntl(fd, F_SETLK, &fl) == 0) {
			fcntl_held = true;
			break;
		}
		if (errno == ENOLCK || errno == EOPNOTSUPP)
			break; /* a file system without record locks: the dotlock alone */
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			e = lb_errno(-errno, "%s: fcntl lock", path);
			goto fail;
		}
		if (cancel && *cancel) {
			e = lb_err(-LB_E_CANCELED, "canceled");
			goto fail;
		}
		if (!wait_more(deadline, &delay)) {
			struct flock who = fl;

			if (holder && fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0) {
				char name[128];

				proc_name(who.l_pid, name, sizeof name);
				snprintf(holder, holdersz, "%s holds an fcntl lock on it", name);
			} else if (holder) {
				snprintf(holder, holdersz, "another process holds an fcntl lock on it");
			}
			e = -ETIMEDOUT;
			goto fail;
		}
	}
	/* 2. the dotlock */
	if (!(lockpath = malloc(strlen(path) + 6))) {
		e = -ENOMEM;
		goto fail;
	}
	sprintf(lockpath, "%s.lock", path);
	delay = POLL_MIN_MS;
	for (;;) {
		int lfd = open(lockpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);

		if (lfd >= 0) {
			char pid[32];
			int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());

			if (write(lfd, pid, (size_t)n) != n) {
				e = lb_errno(-errno, "%s", lockpath);
				close(lfd);
				unlink(lockpath);
				goto fail;
			}
			close(lfd);
			lk->dotlock = lockpath;
			lockpath = NULL;
			lk->have_dotlock = true;
			break;
		}
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			break; /* the spool does not let us make one: fcntl alone, as readers without privileges do */
		if (errno != EEXIST) {
			e = lb_errno(-errno, "%s", lockpath);
			goto fail;
		}
		if (dotlock_stale(lockpath)) {
			unlink(lockpath);
			continue;
		}
		if (cancel && *cancel) {
			e = lb_err(-LB_E_CANCELED, "canceled");
			goto fail;
		}
		if (!wait_more(deadline, &delay)) {
			pid_t pid;
			double age;

			if (holder) {
				if (dotlock_read(lockpath, &pid, &age) == 0 && pid > 0) {
					char name[128];

					proc_name(pid, name, sizeof name);
					snprintf(holder, holdersz, "%s holds %s", name, lockpath);
				} else {
					snprintf(holder, holdersz, "%s is held (no pid in it, %.0f s old)", lockpath, age);
				}
			}
			e = -ETIMEDOUT;
			goto fail;
		}
	}
	lk->fd = fcntl_held ? fd : -1;
	lk->wait_ms = (double)(lb_mono_ns() - start) / 1e6;
	return 0;
fail:
	if (fcntl_held) {
		fl.l_type = F_UNLCK;
		fcntl(fd, F_SETLK, &fl);
	}
	free(lockpath);
	if (e == -ETIMEDOUT)
		lb_err(e, "%s: still locked after %g s%s%s", path, timeout_ms / 1000.0, holder && holder[0] ? ": " : "",
		       holder ? holder : "");
	return e;
}

void lb_mbox_lock_touch(struct lb_mbox_lock *lk)
{
	if (lk->dotlock)
		utimensat(AT_FDCWD, lk->dotlock, NULL, AT_SYMLINK_NOFOLLOW);
}

void lb_mbox_unlock(struct lb_mbox_lock *lk)
{
	if (lk->dotlock) {
		unlink(lk->dotlock);
		free(lk->dotlock);
		lk->dotlock = NULL;
	}
	if (lk->fd >= 0) {
		struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

		fcntl(lk->fd, F_SETLK, &fl);
		lk->fd = -1;
	}
	lk->have_dotlock = false;
}

/* ---- digests ---- */

static bool zero_digest(const uint8_t d[32])
{
	for (int i = 0; i < 32; i++)
		if (d[i])
			return false;
	return true;
}

static size_t digest_slot(const uint8_t (*v)[32], size_t cap, const uint8_t d[32])
{
	uint64_t h;
	size_t i;

	memcpy(&h, d, sizeof h);
	for (i = (size_t)h & (cap - 1); !zero_digest(v[i]) && memcmp(v[i], d, 32); i = (i + 1) & (cap - 1))
		;
	return i;
}

bool digest_set_has(const struct digest_set *s, const uint8_t d[32])
{
	return s->cap && !zero_digest(s->v[digest_slot((const uint8_t(*)[32])s->v, s->cap, d)]);
}

int digest_set_add(struct digest_set *s, const uint8_t d[32])
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint8_t (*nv)[32] = calloc(ncap, 32);

		if (!nv)
			return -ENOMEM;
		for (size_t k = 0; k < s->cap; k++)
			if (!zero_digest(s->v[k]))
				memcpy(nv[digest_slot((const uint8_t(*)[32])nv, ncap, s->v[k])], s->v[k], 32);
		free(s->v);
		s->v = nv;
		s->cap = ncap;
	}
	i = digest_slot((const uint8_t(*)[32])s->v, s->cap, d);
	if (!zero_digest(s->v[i]))
		return 0;
	memcpy(s->v[i], d, 32);
	s->n++;
	return 1;
}

void digest_set_free(struct digest_set *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* ---- splitting an mbox into messages ---- */

struct parser {
	struct lb_buf msg;      /* the message being gathered */
	size_t line_start;      /* offset of the current line in msg */
	int matched;            /* as lb_mbox_counter */
	bool bol;
	int (*fn)(const uint8_t *p, size_t n, void *ctx);
	void *ctx;
};

static void parser_init(struct parser *p, int (*fn)(const uint8_t *, size_t, void *), void *ctx)
{
	memset(p, 0, sizeof *p);
	lb_buf_init(&p->msg, MSG_MAX);
	p->bol = true;
	p->fn = fn;
	p->ctx = ctx;
}

static int parser_feed(const uint8_t *data, size_t n, void *ctx)
{
	static const char from[] = "From ";
	struct parser *p = ctx;
	size_t i = p->msg.len;
	int e;

	if ((e = lb_buf_append(&p->msg, data, n)) < 0)
		return e == -EFBIG ? lb_err(e, "a message larger than %zu MiB", MSG_MAX >> 20) : e;
	for (; i < p->msg.len; i++) {
		uint8_t ch = p->msg.data[i];

		if (ch == '\n') {
			p->matched = p->bol ? 0 : -1;
			p->bol = true;
			p->line_start = i + 1;
			continue;
		}
		p->bol = false;
		if (p->matched < 0)
			continue;
		if (ch != (uint8_t)from[p->matched]) {
			p->matched = -1;
			continue;
		}
		if (++p->matched < 5)
			continue;
		p->matched = -1;
		if (p->line_start > 0) { /* the message before this From_ line is whole */
			size_t cut = p->line_start;

			if ((e = p->fn(p->msg.data, cut, p->ctx)) < 0)
				return e;
			memmove(p->msg.data, p->msg.data + cut, p->msg.len - cut);
			p->msg.len -= cut;
			i -= cut;
			p->line_start = 0;
		}
	}
	return 0;
}

static int parser_finish(struct parser *p)
{
	int e = 0;

	if (p->msg.len)
		e = p->fn(p->msg.data, p->msg.len, p->ctx);
	lb_buf_release(&p->msg);
	return e;
}

/* A message's identity: its Message-ID, or, without one, its bytes. */
static void message_key(const uint8_t *p, size_t n, uint8_t key[32])
{
	const uint8_t *end = p + n, *line = memchr(p, '\n', n);
	unsigned int len = 32;

	/* headers: after the From_ line, up to the first empty line */
	while (line && line + 1 < end && line[1] != '\n') {
		const uint8_t *h = line + 1, *eol = memchr(h, '\n', (size_t)(end - h));

		if (!eol)
			eol = end;
		if ((size_t)(eol - h) > 11 && !strncasecmp((const char *)h, "Message-ID:", 11)) {
			const uint8_t *v = h + 11, *ve = eol;

			/* folded onto the next lines */
			while (ve < end && ve + 1 < end && (ve[1] == ' ' || ve[1] == '\t')) {
				const uint8_t *nx = memchr(ve + 1, '\n', (size_t)(end - ve - 1));

				ve = nx ? nx : end;
			}
			while (v < ve && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r' || ve[-1] == '\n'))
				ve--;
			if (ve > v) {
				EVP_MD_CTX *c = EVP_MD_CTX_new();

				if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, "m:", 2) &&
				    EVP_DigestUpdate(c, v, (size_t)(ve - v)) && EVP_DigestFinal_ex(c, key, &len)) {
					EVP_MD_CTX_free(c);
					return;
				}
				EVP_MD_CTX_free(c);
			}
			break;
		}
		line = eol < end ? eol : NULL;
	}
	/* the bytes start with "From ", never with "m:": no clash with the above */
	EVP_Digest(p, n, key, &len, EVP_sha256(), NULL);
}

/* ---- restore ---- */

struct live_read {
	struct digest_set have;
	uint64_t messages;
};

static int live_cb(const uint8_t *p, size_t n, void *ctx)
{
	struct live_read *l = ctx;
	uint8_t key[32];

	message_key(p, n, key);
	l->messages++;
	return digest_set_add(&l->have, key) < 0 ? -ENOMEM : 0;
}

struct appender {
	struct digest_set *have;
	int fd;
	uint8_t tail[2];        /* the last two bytes of the file */
	uint64_t size;
	struct lb_mail_restore_stats *st;
	struct lb_progress *pg;
};

static int put(struct appender *a, const uint8_t *p, size_t n)
{
	int e;

	if (n == 0)
		return 0;
	if ((e = lb_write_full(a->fd, p, n)) < 0)
		return e;
	if (n >= 2) {
		a->tail[0] = p[n - 2];
		a->tail[1] = p[n - 1];
	} else {
		a->tail[0] = a->tail[1];
		a->tail[1] = p[0];
	}
	a->size += n;
	return 0;
}

static int append_cb(const uint8_t *p, size_t n, void *ctx)
{
	struct appender *a = ctx;
	uint8_t key[32];
	int e;

	a->st->messages++;
	if (a->pg && a->pg->cancel)
		return lb_err(-LB_E_CANCELED, "canceled");
	message_key(p, n, key);
	if (digest_set_has(a->have, key)) {
		a->st->present++;
		return 0;
	}
	/* a From_ line must follow an empty line */
	if (a->size > 0 && a->tail[1] != '\n' && (e = put(a, (const uint8_t *)"\n", 1)) < 0)
		return e;
	if (a->size > 0 && a->tail[0] != '\n' && (e = put(a, (const uint8_t *)"\n", 1)) < 0)
		return e;
	if ((e = put(a, p, n)) < 0)
		return e;
	if ((e = digest_set_add(a->have, key)) < 0)
		return e;
	a->st->restored++;
	return 0;
}

static int count_cb(const uint8_t *p, size_t n, void *ctx)
{
	struct lb_mbox_counter *c = ((void **)ctx)[0];
	int fd = *(int *)((void **)ctx)[1];

	lb_mbox_counter_feed(c, p, n);
	return lb_write_full(fd, p, n);
}

static void set_meta(int fd, const struct lb_node *n)
{
	struct timespec ts[2] = { { .tv_sec = n->atime_s, .tv_nsec = n->atime_ns },
				  { .tv_sec = n->mtime_s, .tv_nsec = n->mtime_ns } };

	if (geteuid() == 0 && fchown(fd, n->uid, n->gid) < 0)
		lb_log(LB_LOG_INFO, "mail restore: chown: %s", strerror(errno));
	fchmod(fd, n->mode & 07777);
	futimens(fd, ts);
}

/* The mbox as it was, into dir/NAME, never over an existing file. */
static int restore_copy(struct lb_repo *r, const struct lb_node *box, const char *live, const char *dir,
			struct lb_mail_restore_stats *st)
{
	const char *base = strrchr(live, '/') ? strrchr(live, '/') + 1 : live;
	char tmp[4200];
	struct lb_mbox_counter cnt;
	void *ctx[2];
	int dfd, fd, e;

	snprintf(st->dest, sizeof st->dest, "%s/%s", dir, base);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return lb_errno(-errno, "%s", dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return lb_errno(-errno, "%s", dir);
	if (faccessat(dfd, base, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dfd);
		return lb_err(-EEXIST, "%s: already exists; not overwritten", st->dest);
	}
	snprintf(tmp, sizeof tmp, ".%s.lifeboat-%d", base, (int)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = lb_errno(-errno, "%s/%s", dir, tmp);
		close(dfd);
		return e;
	}
	lb_mbox_counter_init(&cnt);
	ctx[0] = &cnt;
	ctx[1] = &fd;
	e = lb_mail_stream_node(r, box, count_cb, ctx);
	if (e == 0) {
		set_meta(fd, box);
		if (fsync(fd) < 0)
			e = lb_errno(-errno, "%s: fsync", st->dest);
	}
	close(fd);
	if (e == 0 && renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE) < 0) {
		if ((errno == EINVAL || errno == ENOSYS) && linkat(dfd, tmp, dfd, base, 0) == 0)
			unlinkat(dfd, tmp, 0);
		else
			e = lb_errno(-errno, "%s", st->dest);
	}
	if (e < 0)
		unlinkat(dfd, tmp, 0);
	else
		e = lb_fsync_dir(dfd);
	close(dfd);
	st->messages = st->restored = cnt.messages;
	return e;
}

int lb_mbox_restore(struct lb_repo *r, const struct lb_node *box, const char *live, const char *target_dir,
		    unsigned timeout_ms, struct lb_mail_restore_stats *st, struct lb_progress *pg)
{
	struct live_read lr = { 0 };
	struct appender a = { .st = st, .pg = pg, .fd = -1 };
	struct lb_mbox_lock lk = { .fd = -1 };
	struct parser p;
	struct stat sb;
	uint8_t buf[1 << 16];
	bool locked = false;
	char holder[512];
	off_t orig = 0;
	int fd, e;

	snprintf(st->format, sizeof st->format, "mbox");
	if (target_dir)
		return restore_copy(r, box, live, target_dir, st);
	snprintf(st->dest, sizeof st->dest, "%s", live);
	fd = open(live, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		fd = open(live, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		if (fd >= 0)
			set_meta(fd, box);
	}
	if (fd < 0)
		return lb_errno(-errno, "%s", live);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		e = lb_err(-EINVAL, "%s: not a regular file", live);
		goto out;
	}
	e = lb_mbox_lock(fd, live, true, timeout_ms ? timeout_ms : LB_MAIL_LOCK_TIMEOUT_MS,
			 pg ? &pg->cancel : NULL, &lk, holder, sizeof holder);
	if (e < 0)
		goto out;
	locked = true;
	/* what the live mbox holds now, under the lock */
	parser_init(&p, live_cb, &lr);
	for (off_t off = 0;;) {
		ssize_t k = pread(fd, buf, sizeof buf, off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			e = lb_errno(-errno, "%s: read", live);
			break;
		}
		if (k == 0)
			break;
		if ((e = parser_feed(buf, (size_t)k, &p)) < 0)
			break;
		off += k;
		orig = off;
	}
	if (e == 0)
		e = parser_finish(&p);
	else
		lb_buf_release(&p.msg);
	if (e < 0)
		goto out;
	a.have = &lr.have;
	a.fd = fd;
	a.size = (uint64_t)orig;
	a.tail[0] = a.tail[1] = '\n';
	if (orig >= 2 && lb_pread_full(fd, a.tail, 2, orig - 2) < 0)
		a.tail[0] = a.tail[1] = 0;
	else if (orig == 1 && lb_pread_full(fd, a.tail + 1, 1, 0) < 0)
		a.tail[1] = 0;
	if (lseek(fd, orig, SEEK_SET) < 0) {
		e = lb_errno(-errno, "%s", live);
		goto out;
	}
	parser_init(&p, append_cb, &a);
	e = lb_mail_stream_node(r, box, parser_feed, &p);
	if (e == 0)
		e = parser_finish(&p);
	else
		lb_buf_release(&p.msg);
	if (e == 0 && st->restored && a.tail[1] != '\n')
		e = put(&a, (const uint8_t *)"\n", 1);
	if (e == 0 && fsync(fd) < 0)
		e = lb_errno(-errno, "%s: fsync", live);
	if (e < 0 && a.size > (uint64_t)orig) {
		/* never leave half a message behind */
		if (ftruncate(fd, orig) == 0)
			fsync(fd);
		st->restored = 0;
	}
out:
	if (locked)
		lb_mbox_unlock(&lk);
	close(fd);
	digest_set_free(&lr.have);
	if (e < 0 && !strstr(lb_errmsg(), live))
		lb_err_wrap(e, "%s", live);
	return e;
}
