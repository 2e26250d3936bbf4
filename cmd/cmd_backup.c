#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lifeboat/backup.h"
#include "lifeboat/joblock.h"

struct strv {
	const char **v;
	size_t n;
};

static int strv_push(struct strv *s, const char *x)
{
	const char **p = realloc(s->v, (s->n + 1) * sizeof *p);

	if (!p)
		return -1;
	s->v = p;
	s->v[s->n++] = x;
	return 0;
}

static void backup_usage(FILE *f)
{
	fprintf(f, "usage: lifeboat [-r REPO] backup [--tag T]... [--host H] [--exclude PATTERN]...\n"
		   "         [--one-file-system] [--parent SNAPSHOT] [--timeout DURATION]\n"
		   "         [--stall-warning DURATION] [--workers N] PATH...\n");
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

/* One job = this repository, this host, these paths: that is what must not
 * run twice at once. */
static char *job_key(const char *repo, const char *host, struct strv *paths)
{
	char rp[PATH_MAX], cwd[PATH_MAX], **sorted;
	size_t len = 64;
	char *key;

	if (!realpath(repo, rp))
		snprintf(rp, sizeof rp, "%s", repo);
	if (!getcwd(cwd, sizeof cwd))
		cwd[0] = 0;
	sorted = calloc(paths->n, sizeof *sorted);
	if (!sorted)
		return NULL;
	for (size_t i = 0; i < paths->n; i++) {
		char abs[PATH_MAX];

		if (!realpath(paths->v[i], abs))
			snprintf(abs, sizeof abs, "%s/%s", cwd, paths->v[i]);
		sorted[i] = strdup(abs);
		len += strlen(abs) + 1;
	}
	qsort(sorted, paths->n, sizeof *sorted, cmp_cstr);
	len += strlen(rp) + strlen(host);
	key = malloc(len);
	if (key) {
		snprintf(key, len, "backup|%s|%s", rp, host);
		for (size_t i = 0; i < paths->n; i++) {
			strcat(key, "|");
			strcat(key, sorted[i] ? sorted[i] : "");
		}
	}
	for (size_t i = 0; i < paths->n; i++)
		free(sorted[i]);
	free(sorted);
	return key;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "tag", required_argument, NULL, 't' },
		{ "host", required_argument, NULL, 'H' },
		{ "exclude", required_argument, NULL, 'e' },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "parent", required_argument, NULL, 2001 },
		{ "timeout", required_argument, NULL, 2002 },
		{ "stall-warning", required_argument, NULL, 2003 },
		{ "workers", required_argument, NULL, 2004 },
		{ 0 }
	};
	struct lb_backup_opts o = { 0 };
	struct strv tags = { 0 }, excludes = { 0 }, paths = { 0 };
	struct lb_backup_stats st;
	struct lb_progress pg;
	struct lb_repo *r = NULL;
	struct lb_joblock *lock = NULL;
	struct cli_progress *cp = NULL;
	struct cli_watchdog *wd = NULL;
	long timeout_s = 0, stall_s = 60;
	char id[65], host[256] = "", *key = NULL, what[512];
	const char *repo;
	int c, e, ret = EXIT_ERROR;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "t:H:e:x", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 't': strv_push(&tags, optarg); break;
		case 'H': o.host = optarg; break;
		case 'e': strv_push(&excludes, optarg); break;
		case 'x': o.one_file_system = true; break;
		case 2001: o.parent = optarg; break;
		case 2002:
			if ((timeout_s = cli_parse_duration(optarg)) < 0) {
				cli_error("--timeout: '%s' is not a duration (e.g. 90s, 30m, 2h)", optarg);
				goto out;
			}
			break;
		case 2003:
			if ((stall_s = cli_parse_duration(optarg)) < 0) {
				cli_error("--stall-warning: '%s' is not a duration (e.g. 30s, 5m)", optarg);
				goto out;
			}
			break;
		case 2004: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end || v < 1 || v > 64) {
				cli_error("--workers: '%s' is not a number from 1 to 64", optarg);
				goto out;
			}
			o.workers = (unsigned)v;
			break;
		}
		case 'h': backup_usage(stdout); ret = EXIT_OK; goto out;
		default: backup_usage(stderr); goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		strv_push(&paths, argv[i]);
	if (paths.n == 0) {
		cli_error("nothing to back up: give at least one PATH");
		backup_usage(stderr);
		goto out;
	}
	repo = g_cli.repo ? g_cli.repo : getenv("LIFEBOAT_REPO");
	if (!repo || !repo[0]) {
		cli_error("no repository given: use -r REPO or LIFEBOAT_REPO");
		goto out;
	}
	if (o.host)
		snprintf(host, sizeof host, "%s", o.host);
	else
		gethostname(host, sizeof host - 1);
	/* a cron pile-up stops here, before any password prompt or I/O */
	key = job_key(repo, host, &paths);
	snprintf(what, sizeof what, "a backup of %s%s into %s", paths.v[0], paths.n > 1 ? " (and more)" : "", repo);
	if (!key || (e = lb_joblock_acquire(key, what, &lock)) < 0) {
		cli_fail(key ? e : -ENOMEM);
		goto out;
	}
	if (cli_open_repo(&r) < 0)
		goto out;
	o.paths = paths.v;
	o.npaths = paths.n;
	o.excludes = excludes.v;
	o.nexcludes = excludes.n;
	o.tags = tags.v;
	o.ntags = tags.n;
	o.warn = on_warn;
	o.progress = &pg;
	o.estimate = g_cli.tty && !g_cli.json && g_cli.verbosity >= 0;
	cli_signals_cancel(&pg);
	wd = cli_watchdog_start(&pg, stall_s, timeout_s, "backup");
	cp = cli_progress_start(&pg, "backup");
	e = lb_backup_run(r, &o, &st, id);
	cli_progress_stop(cp);
	cli_watchdog_stop(wd);
	wd = NULL;
	if (e == -LB_E_CANCELED) {
		if (pg.cancel && timeout_s > 0 && !g_cli_interrupted)
			cli_error("timed out after %ld s; no snapshot was written (data already stored is reused "
				  "next time)", timeout_s);
		else
			cli_error("interrupted; no snapshot was written (data already stored is reused next time)");
		goto out;
	}
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	if (g_cli.json) {
		json_t *j = json_pack("{s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
				      "snapshot_id", id, "parent", st.parent[0] ? st.parent : NULL,
				      "files_new", (json_int_t)st.files_new, "files_changed", (json_int_t)st.files_changed,
				      "files_unmodified", (json_int_t)st.files_unmodified, "dirs", (json_int_t)st.dirs,
				      "others", (json_int_t)st.others, "bytes_total", (json_int_t)st.bytes_total,
				      "bytes_read", (json_int_t)st.bytes_read, "blobs_new", (json_int_t)st.blobs_new,
				      "bytes_added", (json_int_t)st.bytes_added, "packs", (json_int_t)st.packs,
				      "warnings", (json_int_t)st.warnings, "duration_s", (double)st.duration_ns / 1e9);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		if (g_cli.tty && g_cli.verbosity >= 0) {
			char total[32], added[32];

			cli_human_bytes(total, sizeof total, st.bytes_total);
			cli_human_bytes(added, sizeof added, st.bytes_added);
			printf("files: %llu new, %llu changed, %llu unmodified; %llu directories\n",
			       (unsigned long long)st.files_new, (unsigned long long)st.files_changed,
			       (unsigned long long)st.files_unmodified, (unsigned long long)st.dirs);
			printf("%s in the snapshot, %s added to the repository in %.1f s\n", total, added,
			       (double)st.duration_ns / 1e9);
			printf("snapshot ");
		}
		if (g_cli.verbosity >= 0 || g_cli.tty)
			printf("%s\n", id);
	}
	ret = st.warnings ? EXIT_WARNINGS : EXIT_OK;
	if (st.warnings)
		cli_warn("snapshot %.12s written, but %llu entr%s could not be saved as they were (see above)", id,
			 (unsigned long long)st.warnings, st.warnings == 1 ? "y" : "ies");
out:
	cli_watchdog_stop(wd);
	lb_repo_close(r);
	lb_joblock_release(lock);
	free(key);
	free(tags.v);
	free(excludes.v);
	free(paths.v);
	return ret;
}
