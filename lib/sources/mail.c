/* The mail source: a scanner over each spool (see lifeboat/mail.h for what
 * it does to Maildirs and mbox files), and the "mail" manifest section.
 *
 * It writes no virtual files (run is NULL): mail is backed up in the normal
 * tree at its real paths.  prepare() registers one scanner per spool; the
 * walk then hands us each directory (dir: a Maildir? then we add its
 * entries) and each regular file (file: an mbox? then we lock it and hand
 * the locked descriptor back) below the spool; report() writes what was
 * counted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lifeboat/browse.h"
#include "lifeboat/snapshot.h"
#include "sources/mail_internal.h"

#define TOUCH_EVERY_NS (60 * 1000000000LL) /* keep our dotlock young during a long read */

/* One mbox being read: what file_done needs. */
struct mbox_job {
	struct mailsrc *m;
	struct lb_mbox_counter count;
	int64_t touched_ns;
	bool timed_out, lock_failed;
	char holder[512];
	char why[1024];
};

static json_t *parent_mailbox(struct mailsrc *m, const char *path)
{
	json_t *sec = m->env ? json_object_get(m->env->parent_sections, "mail") : NULL;

	return json_object_get(json_object_get(sec, "mailboxes"), path);
}

static void record(struct mailsrc *m, const char *path, json_t *box)
{
	json_t *key = lb_json_string_bytes(path);

	if (key && box)
		json_object_set_new(m->mailboxes, json_string_value(key), box);
	else
		json_decref(box);
	json_decref(key);
}

/* ---- Maildirs ---- */

static bool is_dotlock(int dirfd, const char *name);

/* A spool directory that is no Maildir (/var/mail): every entry as the walk
 * would, but the dotlocks, which come and go as mail arrives (the walk
 * would warn that they vanished) and are no mail (restored, one would lock
 * its mailbox). */
static int spool_dir(struct lb_scan *d, int dirfd)
{
	struct dirent *de;
	DIR *dir;
	char **names = NULL;
	size_t n = 0;
	int fd = dup(dirfd), e = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return lb_errno(-errno, "%s", lb_scan_path(d));
	}
	rewinddir(dir);
	while ((de = readdir(dir))) {
		char **p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!(p = realloc(names, (n + 1) * sizeof *p)) || !(p[n] = strdup(de->d_name))) {
			if (p)
				names = p;
			e = -ENOMEM;
			break;
		}
		names = p;
		n++;
	}
	closedir(dir);
	for (size_t i = 0; e == 0 && i < n; i++)
		if (!is_dotlock(dirfd, names[i]))
			e = lb_scan_entry(d, dirfd, names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return e < 0 ? e : 1;
}

static int mail_dir(void *state, struct lb_scan *d, int dirfd, const char *path)
{
	struct mailsrc *m = state;
	struct maildir_stats st = { 0 };
	int e;

	if (!lb_maildir_is(dirfd))
		return m->in_maildir ? 0 : spool_dir(d, dirfd);
	m->in_maildir++;
	e = lb_maildir_scan(m, d, dirfd, &st);
	m->in_maildir--;
	if (e != 0)
		return e < 0 ? e : 0;
	m->maildirs++;
	m->messages += st.messages;
	record(m, path,
	       json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "format", "maildir", "messages",
			 (json_int_t)st.messages, "new", (json_int_t)st.new, "cur", (json_int_t)st.cur, "seen",
			 (json_int_t)st.seen, "bytes", (json_int_t)st.bytes, "vanished", (json_int_t)st.vanished,
			 "renamed", (json_int_t)st.renamed, "relists", (json_int_t)st.relists, "atomic_listing",
			 st.atomic));
	return 1;
}

/* ---- mbox files ---- */

static void mbox_tap(void *ctx, uint64_t off, const uint8_t *p, size_t n)
{
	struct mbox_job *j = ctx;
	int64_t now;

	if (off == 0)
		lb_mbox_counter_init(&j->count); /* the walk starts (over) */
	lb_mbox_counter_feed(&j->count, p, n);
	now = lb_mono_ns();
	if (now - j->touched_ns > TOUCH_EVERY_NS) {
		lb_mbox_lock_touch(&j->m->held);
		j->touched_ns = now;
	}
}

static bool is_dotlock(int dirfd, const char *name)
{
	size_t len = strlen(name);
	char mbox[4096];
	struct stat st;

	if (len <= 5 || len >= sizeof mbox || strcmp(name + len - 5, ".lock"))
		return false;
	memcpy(mbox, name, len - 5);
	mbox[len - 5] = 0;
	return fstatat(dirfd, mbox, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int mail_file(void *state, int dirfd, const char *name, const char *path, struct lb_scan_read *how)
{
	struct mailsrc *m = state;
	struct mbox_job *j;
	struct stat st;
	char head[5];
	int fd, e;

	if (m->in_maildir)
		return 0;
	if (is_dotlock(dirfd, name)) {
		/* a lock, not mail: restored, it would lock the mailbox */
		how->skip = true;
		return 1;
	}
	/* O_NOATIME: a read must not make "new mail" look read to biff and shells */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0; /* the walk will say why */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_size > 0 && (lb_pread_full(fd, head, 5, 0) < 0 || memcmp(head, "From ", 5)))) {
		close(fd);
		return 0; /* not an mbox: a plain file */
	}
	if (!(j = calloc(1, sizeof *j))) {
		close(fd);
		return -ENOMEM;
	}
	j->m = m;
	lb_mbox_counter_init(&j->count);
	j->touched_ns = lb_mono_ns();
	lb_progress_op(m->env->progress, path);
	e = lb_mbox_lock(fd, path, false, m->lock_timeout_ms, m->env->progress ? &m->env->progress->cancel : NULL,
			 &m->held, j->holder, sizeof j->holder);
	if (e == -LB_E_CANCELED) {
		close(fd);
		free(j);
		return e;
	}
	how->cookie = j;
	if (e < 0) {
		/* not read: the copy the last snapshot took, if it has one */
		close(fd);
		j->timed_out = e == -ETIMEDOUT;
		j->lock_failed = !j->timed_out;
		snprintf(j->why, sizeof j->why, "%s", lb_errmsg());
		how->previous = true;
		return 1;
	}
	how->fd = fd;
	how->tap = mbox_tap;
	how->tap_ctx = j;
	return 1;
}

/* Counts the messages of the locked fd (a file the walk did not read). */
static uint64_t count_fd(int fd)
{
	struct lb_mbox_counter c;
	uint8_t buf[1 << 16];
	off_t off = 0;

	lb_mbox_counter_init(&c);
	for (;;) {
		ssize_t k = pread(fd, buf, sizeof buf, off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		lb_mbox_counter_feed(&c, buf, (size_t)k);
		off += k;
	}
	return c.messages;
}

static void mail_file_done(void *state, const char *path, struct lb_scan_read *how, enum lb_scan_outcome outcome,
			   uint64_t size)
{
	struct mailsrc *m = state;
	struct mbox_job *j = how->cookie;
	json_t *box, *prev;
	json_int_t messages = -1;

	if (!j)
		return; /* a dotlock left out */
	prev = parent_mailbox(m, path);
	switch (outcome) {
	case LB_SCAN_READ:
		messages = (json_int_t)j->count.messages;
		break;
	case LB_SCAN_UNCHANGED:
		if (json_is_integer(json_object_get(prev, "messages")))
			messages = json_integer_value(json_object_get(prev, "messages"));
		else
			messages = (json_int_t)count_fd(how->fd); /* still locked */
		break;
	case LB_SCAN_PREVIOUS:
		if (json_is_integer(json_object_get(prev, "messages")))
			messages = json_integer_value(json_object_get(prev, "messages"));
		break;
	case LB_SCAN_LEFT_OUT:
		break;
	}
	box = json_pack("{s:s}", "format", "mbox");
	if (how->fd >= 0) {
		json_object_set_new(box, "locks", json_string(m->held.have_dotlock ? (m->held.fd >= 0 ? "fcntl+dotlock" : "dotlock")
										 : "fcntl"));
		json_object_set_new(box, "lock_wait_ms", json_real(m->held.wait_ms));
		lb_mbox_unlock(&m->held);
		close(how->fd);
		how->fd = -1;
	}
	if (j->timed_out || j->lock_failed) {
		char msg[2048];
		bool kept = outcome == LB_SCAN_PREVIOUS;

		snprintf(msg, sizeof msg, "%s%s%s; %s",
			 j->timed_out ? "mbox still locked after the timeout" : "cannot lock the mbox",
			 j->holder[0] || !j->timed_out ? ": " : "", j->holder[0] ? j->holder : (j->timed_out ? "" : j->why),
			 kept ? "kept the previous snapshot's copy" : "not saved (no previous snapshot has it)");
		m->env->warn(m->env, path, msg);
		json_object_set_new(box, kept ? "from_previous" : "skipped", json_true());
		if (j->holder[0])
			json_object_set_new(box, "lock_holder", json_string(j->holder));
	}
	if (messages >= 0)
		json_object_set_new(box, "messages", json_integer(messages));
	else
		json_object_set_new(box, "messages", json_null());
	if (outcome != LB_SCAN_LEFT_OUT)
		json_object_set_new(box, "bytes", json_integer((json_int_t)size));
	if (outcome == LB_SCAN_UNCHANGED)
		json_object_set_new(box, "unchanged", json_true());
	m->mboxes++;
	if (messages > 0)
		m->messages += (uint64_t)messages;
	record(m, path, box);
	free(j);
	how->cookie = NULL;
}

static const struct lb_scanner_ops mail_scanner = {
	.dir = mail_dir,
	.file = mail_file,
	.file_done = mail_file_done,
};

/* ---- the source ---- */

static int mail_prepare(void *state, struct lb_source_env *env)
{
	struct mailsrc *m = state;
	int e;

	m->env = env;
	for (size_t i = 0; i < m->nspools; i++) {
		char *real;

		if (!env->add_scanner)
			return lb_err(-ENOTSUP, "mail: this backup cannot scan spools");
		/* /var/spool/mail is often a symlink to /var/mail: the walk never
		 * follows one, so the spool is what it points to */
		if (!(real = realpath(m->spools[i], NULL)))
			return lb_errno(-errno, "mail: spool %s", m->spools[i]);
		e = env->add_scanner(env, real, &mail_scanner, m);
		free(real);
		if (e < 0)
			return e;
	}
	return 0;
}

static int mail_report(void *state, json_t *sec)
{
	struct mailsrc *m = state;
	json_t *spools = json_array();

	for (size_t i = 0; i < m->nspools; i++)
		json_array_append_new(spools, lb_json_string_bytes(m->spools[i]));
	json_object_set_new(sec, "spools", spools);
	json_object_set(sec, "mailboxes", m->mailboxes);
	json_object_set_new(sec, "maildirs", json_integer((json_int_t)m->maildirs));
	json_object_set_new(sec, "mboxes", json_integer((json_int_t)m->mboxes));
	json_object_set_new(sec, "messages", json_integer((json_int_t)m->messages));
	return 0;
}

static void mail_cleanup(void *state)
{
	struct mailsrc *m = state;

	lb_mbox_unlock(&m->held); /* only if the walk died holding it */
}

static const struct lb_source_ops mail_ops = {
	.name = "mail",
	.prepare = mail_prepare,
	.run = NULL,
	.report = mail_report,
	.cleanup = mail_cleanup,
};

int lb_mail_source_new(const struct lb_mail_opts *o, struct lb_source **ret)
{
	struct mailsrc *m = calloc(1, sizeof *m);

	*ret = NULL;
	if (!m)
		return -ENOMEM;
	m->held.fd = -1;
	m->lock_timeout_ms = o->lock_timeout_ms ? o->lock_timeout_ms : LB_MAIL_LOCK_TIMEOUT_MS;
	m->mailboxes = json_object();
	m->spools = calloc(o->nspools + 1, sizeof *m->spools);
	if (!m->mailboxes || !m->spools)
		goto nomem;
	for (size_t i = 0; i < o->nspools; i++) {
		size_t len = strlen(o->spools[i]);

		if (!(m->spools[i] = strdup(o->spools[i])))
			goto nomem;
		m->nspools++;
		while (len > 1 && m->spools[i][len - 1] == '/')
			m->spools[i][--len] = 0;
	}
	m->pub.ops = &mail_ops;
	m->pub.state = m;
	*ret = &m->pub;
	return 0;
nomem:
	m->pub.state = m;
	lb_mail_source_free(&m->pub);
	return -ENOMEM;
}

void lb_mail_source_free(struct lb_source *s)
{
	struct mailsrc *m;

	if (!s)
		return;
	m = s->state;
	mail_cleanup(m);
	for (size_t i = 0; i < m->nspools; i++)
		free(m->spools[i]);
	free(m->spools);
	json_decref(m->mailboxes);
	free(m);
}

/* ---- restore ---- */

int lb_mail_restore(struct lb_repo *r, const struct lb_snapshot *s, const char *mailbox,
		    const struct lb_mail_restore_opts *o, struct lb_mail_restore_stats *st)
{
	struct lb_node box;
	char *path = strdup(mailbox);
	size_t len;
	int e;

	memset(st, 0, sizeof *st);
	if (!path)
		return -ENOMEM;
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = 0;
	if (path[0] != '/') {
		free(path);
		return lb_err(-EINVAL, "%s: give the mailbox's absolute path, as in the snapshot", mailbox);
	}
	e = lb_browse_lookup(r, s->tree, path, &box);
	if (e < 0) {
		if (e == -LB_E_NOTFOUND || e == -ENOENT)
			e = lb_err(-LB_E_NOTFOUND, "%s: not in snapshot %.12s", path, s->id);
		free(path);
		return e;
	}
	if (box.type == LB_NODE_DIR)
		e = lb_maildir_restore(r, &box, o->target ? o->target : path, st, o->progress);
	else if (box.type == LB_NODE_FILE)
		e = lb_mbox_restore(r, &box, path, o->target, o->lock_timeout_ms, st, o->progress);
	else
		e = lb_err(-EINVAL, "%s: neither a Maildir nor an mbox in snapshot %.12s", path, s->id);
	if (e < 0 && !strstr(lb_errmsg(), path) && !(o->target && strstr(lb_errmsg(), o->target)))
		lb_err_wrap(e, "%s", path);
	lb_node_release(&box);
	free(path);
	return e;
}
