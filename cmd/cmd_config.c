/* lifeboat CLI — backup jobs from the config file (lifeboat.conf(5) is in
 * docs/lifeboat.1, CONFIGURATION): `backup --job NAME` takes the job's
 * settings first, then the command line over them.  Scalars given on the
 * command line replace the job's; list options (paths, --exclude, --tag,
 * --pre-hook, ...) add to its lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "job.h"

static int push_all(struct strv *s, const struct lb_conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (strv_push(s, l->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Fills j from a section; the strings stay owned by j->conf. */
static int apply(struct backup_job *j, const struct lb_conf_job *c)
{
	if (c->repository)
		j->repo = c->repository;
	if (c->password_file)
		j->password_file = c->password_file;
	if (push_all(&j->paths, &c->paths) < 0 || push_all(&j->excludes, &c->excludes) < 0 ||
	    push_all(&j->tags, &c->tags) < 0 || push_all(&j->my_databases, &c->mysql_databases) < 0 ||
	    push_all(&j->mail_spools, &c->mail_spools) < 0 || push_all(&j->pre_hooks, &c->pre_hooks) < 0 ||
	    push_all(&j->post_hooks, &c->post_hooks) < 0)
		return -ENOMEM;
	if (c->host)
		j->host = c->host;
	if (c->one_file_system >= 0)
		j->one_file_system = c->one_file_system;
	if (c->timeout_s >= 0)
		j->timeout_s = c->timeout_s;
	if (c->stall_s >= 0)
		j->stall_s = c->stall_s;
	if (c->workers > 0)
		j->workers = (unsigned)c->workers;
	if (c->hook_timeout_s >= 0)
		j->hook_timeout_s = c->hook_timeout_s;
	/* MySQL: `mysql = yes` turns it on; the other keys only configure it
	 * (a [global] mysql_defaults_file must not make every job dump MySQL) */
	if (c->mysql >= 0)
		j->mysql = c->mysql;
	if (c->mysql_defaults_file)
		j->my.conn.defaults_file = c->mysql_defaults_file;
	if (c->mysql_mode >= 0)
		j->my.mode = c->mysql_mode ? LB_MYSQL_SNAPSHOT : LB_MYSQL_LOGICAL;
	if (c->mysql_jobs > 0)
		j->my.jobs = (unsigned)c->mysql_jobs;
	if (c->mysql_lock_timeout_s > 0)
		j->my.lock_wait_timeout = (unsigned)c->mysql_lock_timeout_s;
	if (c->mysql_long_query_s > 0)
		j->my.long_query_secs = (unsigned)c->mysql_long_query_s;
	if (c->mysql_myisam_unlocked >= 0)
		j->my.myisam_unlocked = c->mysql_myisam_unlocked;
	if (c->mysql_snapshot_hook)
		j->my.snapshot_hook = c->mysql_snapshot_hook;
	if (c->mysql_snapshot_release)
		j->my.snapshot_release = c->mysql_snapshot_release;
	if (c->mail_lock_timeout_s > 0)
		j->mail_lock_timeout_s = c->mail_lock_timeout_s;
	j->conf_job = c;
	return 0;
}

static void no_such_job(const struct lb_conf *c, const char *name)
{
	char list[1024] = "";
	size_t len = 0;

	for (size_t i = 0; i < c->njobs && len < sizeof list - 80; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", c->jobs[i].name);
	if (c->njobs)
		cli_error("%s: no [job %s] in it (its jobs: %s)", c->path, name, list);
	else
		cli_error("%s: no [job %s] in it (it describes no job)", c->path, name);
}

int backup_job_from_config(struct backup_job *j, int argc, char **argv, const char *shortopts,
			   const struct option *longopts)
{
	const char *name = NULL, *path;
	const struct lb_conf_job *c;
	int opt, saved = opterr, e;
	bool help = false;

	/* a first pass for --job and --config only: the real one follows */
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (opt == BACKUP_OPT_JOB)
			name = optarg;
		else if (opt == CLI_OPT_CONFIG)
			g_cli.config = optarg;
		else if (opt == 'h')
			help = true;
	}
	opterr = saved;
	optind = 0;
	if ((!name && !g_cli.config) || help) /* --help needs no config file */
		return 0;
	path = g_cli.config ? g_cli.config : LB_CONF_DEFAULT_PATH;
	if ((e = lb_conf_load(path, &j->conf)) < 0) {
		cli_fail(e);
		return -1;
	}
	if (name) {
		if (!(c = lb_conf_find_job(j->conf, name))) {
			no_such_job(j->conf, name);
			return -1;
		}
		j->name = c->name;
	} else {
		c = &j->conf->global;
	}
	if (apply(j, c) < 0) {
		cli_fail(-ENOMEM);
		return -1;
	}
	return 0;
}

int backup_job_hook_option(struct backup_job *j, int c, const char *arg)
{
	switch (c) {
	case BACKUP_OPT_JOB:
		return 1; /* taken by backup_job_from_config() */
	case BACKUP_OPT_PRE_HOOK:
		return strv_push(&j->pre_hooks, arg) < 0 ? -ENOMEM : 1;
	case BACKUP_OPT_POST_HOOK:
		return strv_push(&j->post_hooks, arg) < 0 ? -ENOMEM : 1;
	case BACKUP_OPT_HOOK_TIMEOUT:
		if ((j->hook_timeout_s = cli_parse_duration(arg)) < 0) {
			cli_error("--hook-timeout: '%s' is not a duration (e.g. 30s, 5m; 0: none)", arg);
			return -EINVAL;
		}
		return 1;
	}
	return 0;
}
