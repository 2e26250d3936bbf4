/* lifeboat CLI — the pre and post hooks of a backup job (docs/HOOKS.md).
 *
 * Pre hooks run in order once the job holds its lock; the first that fails
 * (non-zero status, timeout, signal) stops the job before the backup.  Post
 * hooks run in order whenever the job got its lock, whatever happened after:
 * backup done, with warnings or failed, a pre hook failed, an interrupt, or
 * the watchdog giving up on a backup stuck in the kernel.  They see the
 * outcome so far in LIFEBOAT_STATUS/EXIT/ERROR; a post hook that fails makes
 * the job fail (the snapshot stays) and later post hooks see that.
 *
 * A hook's output is shown as it comes with -v or on a terminal; under cron
 * it is kept and shown only when the hook fails, so that a quiet night mails
 * nothing.  It always goes into the run's log (LIFEBOAT_LOG). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "job.h"
#include "lifeboat/hooks.h"

#define HELD_LINES 200   /* output lines of a quiet hook kept for its failure */
#define SHOW_CMD 160     /* a command is cut to this in messages */

/* What a hook may read; all of them are taken out of the environment the
 * hook inherits first, so that none is stale, and so is the password. */
static const char *const hook_vars[] = {
	"LIFEBOAT_JOB", "LIFEBOAT_REPO", "LIFEBOAT_PHASE", "LIFEBOAT_PATHS", "LIFEBOAT_HOST",
	"LIFEBOAT_STATUS", "LIFEBOAT_EXIT", "LIFEBOAT_SNAPSHOT", "LIFEBOAT_ERROR", "LIFEBOAT_LOG",
	"LIFEBOAT_NOTIFY_MAIL", "LIFEBOAT_NOTIFY_FROM", "LIFEBOAT_NOTIFY_STALE_DAYS", "LIFEBOAT_STATE_DIR",
	"LIFEBOAT_PASSWORD",
};
#define NHOOK_VARS (sizeof hook_vars / sizeof hook_vars[0])

struct out {
	char label[128];             /* "backup: pre hook lvm-snapshot" */
	bool live;
	char *held[HELD_LINES];      /* a ring of the last lines, when not live */
	size_t nheld, first;
};

static void on_line(void *ctx, const char *line)
{
	struct out *o = ctx;
	char *esc = cli_escape(line, strlen(line)), *text;
	size_t n;

	if (!esc)
		return;
	n = strlen(o->label) + strlen(esc) + 16;
	text = malloc(n);
	if (text)
		snprintf(text, n, "lifeboat: %s: %s", o->label, esc);
	free(esc);
	if (!text)
		return;
	if (o->live) {
		cli_stderr_line(text);
		free(text);
		return;
	}
	if (o->nheld == HELD_LINES) { /* only the last lines are kept */
		free(o->held[o->first]);
		o->held[o->first] = text;
		o->first = (o->first + 1) % HELD_LINES;
	} else {
		o->held[o->nheld++] = text;
	}
	cli_log_line(text);
}

static void held_release(struct out *o, bool show)
{
	for (size_t i = 0; i < o->nheld; i++) {
		char *t = o->held[(o->first + i) % HELD_LINES];

		if (show)
			fprintf(stderr, "%s\n", t);
		free(t);
	}
	o->nheld = o->first = 0;
}

/* "lvm-snapshot" for "/usr/share/lifeboat/hooks/lvm-snapshot create vg/lv" */
static void short_name(const char *cmd, char *out, size_t n)
{
	size_t len;

	cmd += strspn(cmd, " \t");
	len = strcspn(cmd, " \t");
	while (len && memchr(cmd, '/', len)) {
		const char *slash = memchr(cmd, '/', len);

		len -= (size_t)(slash + 1 - cmd);
		cmd = slash + 1;
	}
	if (len >= n)
		len = n - 1;
	memcpy(out, cmd, len);
	out[len] = 0;
}

static const char *shown(const char *cmd, char *buf, size_t n)
{
	if (strlen(cmd) < SHOW_CMD)
		return cmd;
	snprintf(buf, n, "%.*s...", SHOW_CMD - 3, cmd);
	return buf;
}

struct env {
	char *v[24];
	size_t n;
};

static void env_add(struct env *e, const char *name, const char *value)
{
	size_t len;
	char *s;

	if (!value || e->n == sizeof e->v / sizeof e->v[0])
		return;
	len = strlen(name) + strlen(value) + 2;
	if ((s = malloc(len))) {
		snprintf(s, len, "%s=%s", name, value);
		e->v[e->n++] = s;
	}
}

static void env_release(struct env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

static void env_common(struct env *e, const struct job_hooks *h, const char *phase)
{
	const struct backup_job *j = h->j;
	const struct lb_conf_job *c = j->conf_job;
	size_t len = 1;
	char *paths, num[32];

	env_add(e, "LIFEBOAT_JOB", j->name ? j->name : "");
	env_add(e, "LIFEBOAT_REPO", j->repo);
	env_add(e, "LIFEBOAT_PHASE", phase);
	env_add(e, "LIFEBOAT_HOST", h->host);
	for (size_t i = 0; i < j->paths.n; i++)
		len += strlen(j->paths.v[i]) + 1;
	if ((paths = malloc(len))) {
		paths[0] = 0;
		for (size_t i = 0; i < j->paths.n; i++) {
			if (i)
				strcat(paths, "\n");
			strcat(paths, j->paths.v[i]);
		}
		env_add(e, "LIFEBOAT_PATHS", paths);
		free(paths);
	}
	if (c) {
		env_add(e, "LIFEBOAT_NOTIFY_MAIL", c->notify_mail);
		env_add(e, "LIFEBOAT_NOTIFY_FROM", c->notify_from);
		if (c->notify_stale_days > 0) {
			snprintf(num, sizeof num, "%ld", c->notify_stale_days);
			env_add(e, "LIFEBOAT_NOTIFY_STALE_DAYS", num);
		}
		env_add(e, "LIFEBOAT_STATE_DIR", c->state_dir);
	}
}

/* Runs one hook; 0 or the library's code, with the message set. */
static int run_one(struct job_hooks *h, const char *phase, const char *cmd, struct env *env,
		   const volatile int *cancel)
{
	struct lb_hook_opts o = { 0 };
	struct lb_hook_result res;
	struct out out = { .live = g_cli.verbosity >= 1 || (g_cli.tty && g_cli.verbosity >= 0) };
	char name[64];
	int e;

	short_name(cmd, name, sizeof name);
	snprintf(out.label, sizeof out.label, "%s%s%s hook %s", g_cli.command ? g_cli.command : "",
		 g_cli.command ? ": " : "", phase, name);
	o.timeout_s = h->j->hook_timeout_s;
	o.env = (const char *const *)env->v;
	o.nenv = env->n;
	o.unset = hook_vars;
	o.nunset = NHOOK_VARS;
	o.line = on_line;
	o.ctx = &out;
	o.cancel = cancel;
	if (g_cli.verbosity >= 1)
		cli_info("lifeboat: %s: running %s hook: %s", g_cli.command ? g_cli.command : "", phase, cmd);
	e = lb_hook_run(cmd, &o, &res);
	held_release(&out, e < 0); /* it explains the error: shown with -q too */
	if (e == 0 && res.leftovers) {
		char b[SHOW_CMD + 8];

		cli_warn("%s hook '%s' left processes running; they were stopped", phase, shown(cmd, b, sizeof b));
	}
	return e;
}

static void hard_exit(void *ctx)
{
	struct job_hooks *h = ctx;

	job_hooks_post(h, EXIT_ERROR, NULL);
}

int job_hooks_pre(struct job_hooks *h, struct backup_job *j, const char *host, struct lb_progress *pg)
{
	struct env env = { .n = 0 };
	char b[SHOW_CMD + 8];
	int e = 0;

	memset(h, 0, sizeof *h);
	h->j = j;
	h->host = host;
	h->started = true;
	if (j->post_hooks.n) {
		/* the messages of this run, for the post hooks (notify-mail) */
		const char *tmp = getenv("TMPDIR");
		int fd;

		snprintf(h->log_path, sizeof h->log_path, "%s/lifeboat-log.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		if ((fd = mkostemp(h->log_path, O_CLOEXEC)) >= 0 && !(h->log = fdopen(fd, "w")))
			close(fd);
		if (!h->log)
			h->log_path[0] = 0;
		cli_log_copy(h->log);
		cli_on_hard_exit(hard_exit, h);
	}
	/* a SIGTERM (systemctl stop) stops a pre hook as it stops the backup,
	 * and the post hooks still run */
	if (j->pre_hooks.n || j->post_hooks.n)
		cli_signals_cancel(pg);
	env_common(&env, h, "pre");
	for (size_t i = 0; i < j->pre_hooks.n; i++) {
		if ((e = run_one(h, "pre", j->pre_hooks.v[i], &env, &pg->cancel)) < 0) {
			cli_error("pre hook '%s' %s; the backup did not run", shown(j->pre_hooks.v[i], b, sizeof b),
				  lb_errmsg());
			break;
		}
	}
	env_release(&env);
	return e < 0 ? -1 : 0;
}

int job_hooks_post(struct job_hooks *h, int ret, const char *snapshot)
{
	struct backup_job *j = h->j;
	char b[SHOW_CMD + 8], code[16], id[80] = "";
	bool written = snapshot && (ret == EXIT_OK || ret == EXIT_WARNINGS);

	if (!h->started || __atomic_exchange_n(&h->post_done, 1, __ATOMIC_SEQ_CST))
		return ret;
	if (written)
		snprintf(id, sizeof id, "%s", snapshot);
	for (size_t i = 0; i < j->post_hooks.n; i++) {
		struct env env = { .n = 0 };
		int e;

		env_common(&env, h, "post");
		env_add(&env, "LIFEBOAT_STATUS", ret == EXIT_OK ? "ok" : ret == EXIT_WARNINGS ? "warning" : "failed");
		snprintf(code, sizeof code, "%d", ret);
		env_add(&env, "LIFEBOAT_EXIT", code);
		if (id[0])
			env_add(&env, "LIFEBOAT_SNAPSHOT", id);
		if (ret != EXIT_OK && ret != EXIT_WARNINGS)
			env_add(&env, "LIFEBOAT_ERROR", cli_last_error()[0] ? cli_last_error() : "failed");
		if (h->log_path[0])
			env_add(&env, "LIFEBOAT_LOG", h->log_path);
		/* post hooks clean up: an interrupt does not stop them (a second
		 * one ends lifeboat at once) */
		e = run_one(h, "post", j->post_hooks.v[i], &env, NULL);
		env_release(&env);
		if (e < 0) {
			if (id[0])
				cli_error("post hook '%s' %s (snapshot %.12s was written and is kept)",
					  shown(j->post_hooks.v[i], b, sizeof b), lb_errmsg(), id);
			else
				cli_error("post hook '%s' %s", shown(j->post_hooks.v[i], b, sizeof b), lb_errmsg());
			ret = EXIT_ERROR;
		}
	}
	cli_on_hard_exit(NULL, NULL);
	cli_log_copy(NULL);
	if (h->log)
		fclose(h->log);
	h->log = NULL;
	if (h->log_path[0])
		unlink(h->log_path);
	return ret;
}
