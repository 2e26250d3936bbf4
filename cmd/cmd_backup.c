#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "job.h"
#include "lifeboat/backup.h"
#include "lifeboat/joblock.h"
#include "lifeboat/mail.h"

/* ---- string vectors ---- */

int strv_push(struct strv *s, const char *x)
{
	const char **p = realloc(s->v, (s->n + 1) * sizeof *p);

	if (!p)
		return -ENOMEM;
	s->v = p;
	s->v[s->n++] = x;
	return 0;
}

int strv_push_list(struct strv *s, const char *list, struct strv *owned)
{
	const char *p = list;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *item;

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len) {
			if (!(item = strndup(p, len)) || strv_push(owned, item) < 0 || strv_push(s, item) < 0)
				return -ENOMEM;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

void strv_free(struct strv *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void backup_job_init(struct backup_job *j)
{
	memset(j, 0, sizeof *j);
	j->stall_s = 60;
	j->hook_timeout_s = 300;
}

void backup_job_release(struct backup_job *j)
{
	for (size_t i = 0; i < j->owned.n; i++)
		free((char *)j->owned.v[i]);
	strv_free(&j->owned);
	strv_free(&j->paths);
	strv_free(&j->excludes);
	strv_free(&j->tags);
	strv_free(&j->my_databases);
	strv_free(&j->mail_spools);
	strv_free(&j->pre_hooks);
	strv_free(&j->post_hooks);
	lb_conf_free(j->conf);
}

static long number(const char *opt, const char *arg, long lo, long hi)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end || v < lo || v > hi) {
		cli_error("%s: '%s' is not a number from %ld to %ld", opt, arg, lo, hi);
		return -1;
	}
	return v;
}

enum {
	OPT_PARENT = 2001, OPT_TIMEOUT, OPT_STALL, OPT_WORKERS,
	OPT_MYSQL, OPT_MY_DEFAULTS, OPT_MY_DATABASES, OPT_MY_MODE, OPT_MY_SNAPSHOT_HOOK, OPT_MY_SNAPSHOT_RELEASE,
	OPT_MY_JOBS, OPT_MY_LOCK_TIMEOUT, OPT_MY_LONG_QUERY, OPT_MY_MYISAM_UNLOCKED,
	OPT_MAIL_SPOOL = 2101, OPT_MAIL_LOCK_TIMEOUT,
};

int backup_job_option(struct backup_job *j, int c, const char *arg)
{
	long v;

	switch (c) {
	case 't': return strv_push(&j->tags, arg) < 0 ? -ENOMEM : 1;
	case 'H': j->host = arg; return 1;
	case 'e': return strv_push(&j->excludes, arg) < 0 ? -ENOMEM : 1;
	case 'x': j->one_file_system = true; return 1;
	case OPT_PARENT: j->parent = arg; return 1;
	case OPT_TIMEOUT:
		if ((j->timeout_s = cli_parse_duration(arg)) < 0) {
			cli_error("--timeout: '%s' is not a duration (e.g. 90s, 30m, 2h)", arg);
			return -EINVAL;
		}
		return 1;
	case OPT_STALL:
		if ((j->stall_s = cli_parse_duration(arg)) < 0) {
			cli_error("--stall-warning: '%s' is not a duration (e.g. 30s, 5m)", arg);
			return -EINVAL;
		}
		return 1;
	case OPT_WORKERS:
		if ((v = number("--workers", arg, 1, 64)) < 0)
			return -EINVAL;
		j->workers = (unsigned)v;
		return 1;
	case OPT_MYSQL: j->mysql = true; return 1;
	case OPT_MY_DEFAULTS: j->mysql = true; j->my.conn.defaults_file = arg; return 1;
	case OPT_MY_DATABASES:
		j->mysql = true;
		return strv_push_list(&j->my_databases, arg, &j->owned) < 0 ? -ENOMEM : 1;
	case OPT_MY_MODE:
		j->mysql = true;
		if (!strcmp(arg, "logical"))
			j->my.mode = LB_MYSQL_LOGICAL;
		else if (!strcmp(arg, "snapshot"))
			j->my.mode = LB_MYSQL_SNAPSHOT;
		else {
			cli_error("--mysql-mode: '%s' is neither logical nor snapshot", arg);
			return -EINVAL;
		}
		return 1;
	case OPT_MY_SNAPSHOT_HOOK: j->mysql = true; j->my.snapshot_hook = arg; return 1;
	case OPT_MY_SNAPSHOT_RELEASE: j->mysql = true; j->my.snapshot_release = arg; return 1;
	case OPT_MY_JOBS:
		if ((v = number("--mysql-jobs", arg, 1, 64)) < 0)
			return -EINVAL;
		j->mysql = true;
		j->my.jobs = (unsigned)v;
		return 1;
	case OPT_MY_LOCK_TIMEOUT:
		if ((v = cli_parse_duration(arg)) < 1 || v > 3600) {
			cli_error("--mysql-lock-timeout: '%s' is not a duration from 1 s to 1 h", arg);
			return -EINVAL;
		}
		j->mysql = true;
		j->my.lock_wait_timeout = (unsigned)v;
		return 1;
	case OPT_MY_LONG_QUERY:
		if ((v = cli_parse_duration(arg)) < 1) {
			cli_error("--mysql-long-query: '%s' is not a duration", arg);
			return -EINVAL;
		}
		j->mysql = true;
		j->my.long_query_secs = (unsigned)v;
		return 1;
	case OPT_MY_MYISAM_UNLOCKED: j->mysql = true; j->my.myisam_unlocked = true; return 1;
	case OPT_MAIL_SPOOL: return strv_push(&j->mail_spools, arg) < 0 ? -ENOMEM : 1;
	case OPT_MAIL_LOCK_TIMEOUT:
		if ((v = cli_parse_duration(arg)) < 1 || v > 3600) {
			cli_error("--mail-lock-timeout: '%s' is not a duration from 1 s to 1 h", arg);
			return -EINVAL;
		}
		j->mail_lock_timeout_s = v;
		return 1;
	}
	return backup_job_hook_option(j, c, arg);
}

static void backup_usage(FILE *f)
{
	fprintf(f, "usage: lifeboat [-r REPO] backup [--tag T]... [--host H] [--exclude PATTERN]...\n"
		   "         [--one-file-system] [--parent SNAPSHOT] [--timeout DURATION]\n"
		   "         [--stall-warning DURATION] [--workers N]\n"
		   "         [--mysql [--mysql-defaults-file FILE] [--mysql-databases a,b]\n"
		   "          [--mysql-mode logical|snapshot] [--mysql-jobs N] [--mysql-lock-timeout S]\n"
		   "          [--mysql-long-query S] [--mysql-myisam-unlocked]\n"
		   "          [--mysql-snapshot-hook CMD --mysql-snapshot-release CMD]]\n"
		   "         [--mail-spool PATH]... [--mail-lock-timeout DURATION]\n"
		   "         [--job NAME] [--pre-hook CMD]... [--post-hook CMD]... [--hook-timeout DURATION]\n"
		   "         [PATH...]\n");
}

static void on_warn(void *ctx, const char *path, const char *msg)
{
	char *esc = cli_escape(path, strlen(path));

	cli_warn("%s: %s", esc ? esc : path, msg);
	free(esc);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* One job = this repository, this host, these paths (or this job name):
 * that is what must not run twice at once. */
static char *job_key(const struct backup_job *j, const char *host)
{
	char rp[PATH_MAX], cwd[PATH_MAX], **sorted;
	size_t len = 64;
	char *key;

	if (!realpath(j->repo, rp))
		snprintf(rp, sizeof rp, "%s", j->repo);
	if (j->name) {
		len += strlen(rp) + strlen(j->name);
		key = malloc(len);
		if (key)
			snprintf(key, len, "job|%s|%s", rp, j->name);
		return key;
	}
	if (!getcwd(cwd, sizeof cwd))
		cwd[0] = 0;
	sorted = calloc(j->paths.n + 1, sizeof *sorted);
	if (!sorted)
		return NULL;
	for (size_t i = 0; i < j->paths.n; i++) {
		char abs[PATH_MAX];

		if (!realpath(j->paths.v[i], abs))
			snprintf(abs, sizeof abs, "%s/%s", cwd, j->paths.v[i]);
		sorted[i] = strdup(abs);
		len += strlen(abs) + 1;
	}
	qsort(sorted, j->paths.n, sizeof *sorted, cmp_cstr);
	len += strlen(rp) + strlen(host) + 8;
	for (size_t i = 0; i < j->mail_spools.n; i++)
		len += strlen(j->mail_spools.v[i]) + 7;
	key = malloc(len);
	if (key) {
		snprintf(key, len, "backup|%s|%s%s", rp, host, j->mysql ? "|mysql" : "");
		for (size_t i = 0; i < j->paths.n; i++) {
			strcat(key, "|");
			strcat(key, sorted[i] ? sorted[i] : "");
		}
		for (size_t i = 0; i < j->mail_spools.n; i++) {
			strcat(key, "|mail:");
			strcat(key, j->mail_spools.v[i]);
		}
	}
	for (size_t i = 0; i < j->paths.n; i++)
		free(sorted[i]);
	free(sorted);
	return key;
}

static void print_result(const char *id, const struct lb_backup_stats *st)
{
	if (g_cli.json) {
		json_t *j = json_pack("{s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
				      "snapshot_id", id, "parent", st->parent[0] ? st->parent : NULL,
				      "files_new", (json_int_t)st->files_new, "files_changed", (json_int_t)st->files_changed,
				      "files_unmodified", (json_int_t)st->files_unmodified, "dirs", (json_int_t)st->dirs,
				      "others", (json_int_t)st->others, "bytes_total", (json_int_t)st->bytes_total,
				      "bytes_read", (json_int_t)st->bytes_read, "blobs_new", (json_int_t)st->blobs_new,
				      "bytes_added", (json_int_t)st->bytes_added, "packs", (json_int_t)st->packs,
				      "warnings", (json_int_t)st->warnings, "duration_s", (double)st->duration_ns / 1e9);
		cli_print_json_line(j);
		return;
	}
	if (g_cli.tty && g_cli.verbosity >= 0) {
		char total[32], added[32];

		cli_human_bytes(total, sizeof total, st->bytes_total);
		cli_human_bytes(added, sizeof added, st->bytes_added);
		printf("files: %llu new, %llu changed, %llu unmodified; %llu directories\n",
		       (unsigned long long)st->files_new, (unsigned long long)st->files_changed,
		       (unsigned long long)st->files_unmodified, (unsigned long long)st->dirs);
		printf("%s in the snapshot, %s added to the repository in %.1f s\n", total, added,
		       (double)st->duration_ns / 1e9);
		printf("snapshot ");
	}
	if (g_cli.verbosity >= 0 || g_cli.tty)
		printf("%s\n", id);
}

int backup_job_run(struct backup_job *j)
{
	struct lb_backup_opts o = { 0 };
	struct lb_backup_stats st;
	struct lb_progress pg;
	struct lb_repo *r = NULL;
	struct lb_joblock *lock = NULL;
	struct lb_source *sources[4], *mysql_src = NULL, *mail_src = NULL;
	struct cli_progress *cp = NULL;
	struct cli_watchdog *wd = NULL;
	struct job_hooks hk = { 0 };
	char id[65], host[256] = "", *key = NULL, what[512];
	int e, ret = EXIT_ERROR;

	lb_progress_init(&pg);
	if (j->paths.n == 0 && !j->mysql && j->mail_spools.n == 0) {
		cli_error("nothing to back up: give at least one PATH (or --mysql, --mail-spool)");
		return EXIT_USAGE;
	}
	if (!j->repo || !j->repo[0]) {
		cli_error("no repository given: use -r REPO, LIFEBOAT_REPO or the job's repository =");
		return EXIT_USAGE;
	}
	if (j->host)
		snprintf(host, sizeof host, "%s", j->host);
	else
		gethostname(host, sizeof host - 1);
	/* a cron pile-up stops here, before any password prompt or I/O */
	key = job_key(j, host);
	if (j->name)
		snprintf(what, sizeof what, "backup job %s", j->name);
	else
		snprintf(what, sizeof what, "a backup of %s%s into %s",
			 j->paths.n ? j->paths.v[0] : j->mail_spools.n ? j->mail_spools.v[0] : "MySQL",
			 j->paths.n > 1 ? " (and more)" : "", j->repo);
	if (!key || (e = lb_joblock_acquire(key, what, &lock)) < 0) {
		cli_fail(key ? e : -ENOMEM);
		goto out;
	}
	if (job_hooks_pre(&hk, j, host, &pg) < 0)
		goto out;
	g_cli.repo = j->repo;
	if (j->password_file)
		g_cli.password_file = j->password_file;
	if (cli_open_repo(&r) < 0)
		goto out;
	if (j->mysql) {
		j->my.databases = j->my_databases.v;
		j->my.ndatabases = j->my_databases.n;
		if ((e = lb_mysql_source_new(&j->my, &mysql_src)) < 0) {
			cli_fail(e);
			goto out;
		}
		sources[o.nsources++] = mysql_src;
	}
	if (j->mail_spools.n) {
		/* the spools join the paths; inside them, Maildirs and mbox files
		 * are read the mail source's way (lifeboat/mail.h) */
		struct lb_mail_opts mo = { .spools = j->mail_spools.v, .nspools = j->mail_spools.n,
					   .lock_timeout_ms = (unsigned)j->mail_lock_timeout_s * 1000 };

		if ((e = lb_mail_source_new(&mo, &mail_src)) < 0) {
			cli_fail(e);
			goto out;
		}
		sources[o.nsources++] = mail_src;
	}
	o.sources = sources;
	o.paths = j->paths.v;
	o.npaths = j->paths.n;
	o.excludes = j->excludes.v;
	o.nexcludes = j->excludes.n;
	o.tags = j->tags.v;
	o.ntags = j->tags.n;
	o.host = j->host;
	o.parent = j->parent;
	o.one_file_system = j->one_file_system;
	o.workers = j->workers;
	o.warn = on_warn;
	o.progress = &pg;
	o.estimate = g_cli.tty && !g_cli.json && g_cli.verbosity >= 0;
	cli_signals_cancel(&pg);
	wd = cli_watchdog_start(&pg, j->stall_s, j->timeout_s, "backup");
	cp = cli_progress_start(&pg, "backup");
	e = lb_backup_run(r, &o, &st, id);
	cli_progress_stop(cp);
	cli_watchdog_stop(wd);
	wd = NULL;
	if (e == -LB_E_CANCELED) {
		if (pg.cancel && j->timeout_s > 0 && !g_cli_interrupted)
			cli_error("timed out after %ld s; no snapshot was written (data already stored is reused "
				  "next time)", j->timeout_s);
		else
			cli_error("interrupted; no snapshot was written (data already stored is reused next time)");
		goto out;
	}
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	print_result(id, &st);
	ret = st.warnings ? EXIT_WARNINGS : EXIT_OK;
	if (st.warnings)
		cli_warn("snapshot %.12s written, but %llu entr%s could not be saved as they were (see above)", id,
			 (unsigned long long)st.warnings, st.warnings == 1 ? "y" : "ies");
out:
	cli_watchdog_stop(wd);
	lb_mysql_source_free(mysql_src);
	lb_mail_source_free(mail_src);
	lb_repo_close(r);
	if (lock) /* the job started: its post hooks run, whatever happened */
		ret = job_hooks_post(&hk, ret, id);
	lb_joblock_release(lock);
	free(key);
	return ret;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		BACKUP_JOB_LONGOPTS,
		{ "tag", required_argument, NULL, 't' },
		{ "host", required_argument, NULL, 'H' },
		{ "exclude", required_argument, NULL, 'e' },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "stall-warning", required_argument, NULL, OPT_STALL },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "mysql", no_argument, NULL, OPT_MYSQL },
		{ "mysql-defaults-file", required_argument, NULL, OPT_MY_DEFAULTS },
		{ "mysql-databases", required_argument, NULL, OPT_MY_DATABASES },
		{ "mysql-mode", required_argument, NULL, OPT_MY_MODE },
		{ "mysql-snapshot-hook", required_argument, NULL, OPT_MY_SNAPSHOT_HOOK },
		{ "mysql-snapshot-release", required_argument, NULL, OPT_MY_SNAPSHOT_RELEASE },
		{ "mysql-jobs", required_argument, NULL, OPT_MY_JOBS },
		{ "mysql-lock-timeout", required_argument, NULL, OPT_MY_LOCK_TIMEOUT },
		{ "mysql-long-query", required_argument, NULL, OPT_MY_LONG_QUERY },
		{ "mysql-myisam-unlocked", no_argument, NULL, OPT_MY_MYISAM_UNLOCKED },
		{ "mail-spool", required_argument, NULL, OPT_MAIL_SPOOL },
		{ "mail-lock-timeout", required_argument, NULL, OPT_MAIL_LOCK_TIMEOUT },
		{ 0 }
	};
	struct backup_job j;
	int c, e, ret = EXIT_USAGE;

	if (cmd_image_requested(argc, argv)) /* --image DEVICE: cmd/cmd_image.c */
		return cmd_backup_image(argc, argv);
	backup_job_init(&j);
	if (backup_job_from_config(&j, argc, argv, CLI_GLOBAL_SHORTOPTS "t:H:e:x", longopts) < 0)
		goto out;
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "t:H:e:x", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		if ((e = backup_job_option(&j, c, optarg)) > 0)
			continue;
		if (e < 0)
			goto out;
		if (c == 'h') {
			backup_usage(stdout);
			ret = EXIT_OK;
			goto out;
		}
		backup_usage(stderr);
		goto out;
	}
	for (int i = optind; i < argc; i++)
		strv_push(&j.paths, argv[i]);
	/* -r, else the job's repository, else LIFEBOAT_REPO */
	if (g_cli.repo || !j.repo)
		j.repo = g_cli.repo ? g_cli.repo : getenv("LIFEBOAT_REPO");
	if (g_cli.password_file)
		j.password_file = g_cli.password_file;
	ret = backup_job_run(&j);
out:
	backup_job_release(&j);
	return ret;
}
