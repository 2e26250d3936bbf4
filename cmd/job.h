/* lifeboat CLI — a backup job: what `backup` runs, filled from the command
 * line or from a [job NAME] section of the config file. */
#ifndef LB_JOB_H
#define LB_JOB_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lifeboat/config.h"
#include "lifeboat/mysql.h"

struct strv {
	const char **v;
	size_t n;
};

int strv_push(struct strv *s, const char *x);
/* Splits a comma-separated list into s (the copies are kept in *owned). */
int strv_push_list(struct strv *s, const char *list, struct strv *owned);
void strv_free(struct strv *s);

struct backup_job {
	const char *name;           /* --job NAME, or NULL */
	const char *repo;
	const char *password_file;
	struct strv paths, excludes, tags;
	const char *host;
	const char *parent;
	bool one_file_system;
	long timeout_s;             /* 0: none */
	long stall_s;               /* default 60 */
	unsigned workers;
	/* MySQL/MariaDB */
	bool mysql;
	struct lb_mysql_opts my;
	struct strv my_databases;
	/* mail spools */
	struct strv mail_spools;
	long mail_lock_timeout_s;   /* mbox locks; 0: the default (30 s) */
	/* hooks (see docs/HOOKS.md) */
	struct strv pre_hooks, post_hooks;
	long hook_timeout_s;
	/* from the config file: `--job NAME` ([job NAME]), or [global] when
	 * --config is given without --job (see cmd/cmd_config.c) */
	struct lb_conf *conf;                /* owned: freed with the job */
	const struct lb_conf_job *conf_job;  /* its section: the notify settings for the hooks, and
					      * conf_job->keep, the job's retention policy (stored,
					      * not acted on by backup) */
	struct strv owned;          /* strings the job owns */
};

void backup_job_init(struct backup_job *j);
void backup_job_release(struct backup_job *j);
/* Parses a `--mysql-*`, `--mail-spool` or other job option of the backup
 * command line; 1 if c was one, 0 if not, negative on a bad value. */
int backup_job_option(struct backup_job *j, int c, const char *arg);
/* Runs the job: lock, hooks, the backup itself; returns the exit status. */
int backup_job_run(struct backup_job *j);

/* ---- the config file and hooks (cmd/cmd_config.c, cmd/job_hooks.c) ---- */

enum { BACKUP_OPT_JOB = 2200, BACKUP_OPT_PRE_HOOK, BACKUP_OPT_POST_HOOK, BACKUP_OPT_HOOK_TIMEOUT };
#define BACKUP_JOB_LONGOPTS                                                    \
	{ "job", required_argument, NULL, BACKUP_OPT_JOB },                    \
	{ "pre-hook", required_argument, NULL, BACKUP_OPT_PRE_HOOK },          \
	{ "post-hook", required_argument, NULL, BACKUP_OPT_POST_HOOK },        \
	{ "hook-timeout", required_argument, NULL, BACKUP_OPT_HOOK_TIMEOUT }

/* Before the command line is parsed: finds --job NAME and --config FILE in
 * argv and, when either is there, loads the config file and fills j from
 * [job NAME] (or from [global]), so that the options parsed next override
 * the job's.  Resets getopt.  0, or -1 after reporting the error. */
int backup_job_from_config(struct backup_job *j, int argc, char **argv, const char *shortopts,
			   const struct option *longopts);
/* --pre-hook, --post-hook, --hook-timeout (--job was taken before): like
 * backup_job_option(). */
int backup_job_hook_option(struct backup_job *j, int c, const char *arg);

/* The hooks of one run. */
struct job_hooks {
	struct backup_job *j;
	const char *host;
	bool started;               /* the job got its lock: the post hooks must run */
	int post_done;              /* atomic: the post hooks ran (or are running) */
	FILE *log;                  /* this run's messages, for the post hooks (LIFEBOAT_LOG) */
	char log_path[4096];
};

/* Runs the pre hooks in order (after the job lock is taken); the first to
 * fail stops them and is reported.  Returns 0, or -1 with the error printed
 * (the backup must not run). */
int job_hooks_pre(struct job_hooks *h, struct backup_job *j, const char *host, struct lb_progress *pg);
/* Runs the post hooks in order, whatever happened since job_hooks_pre(),
 * with the outcome so far (ret: EXIT_*; snapshot: its id when ret is
 * EXIT_OK or EXIT_WARNINGS).  Returns the job's exit status: ret, or
 * EXIT_ERROR when a post hook failed. */
int job_hooks_post(struct job_hooks *h, int ret, const char *snapshot);

#endif
