/* lifeboat CLI — a backup job: what `backup` runs, filled from the command
 * line or from a [job NAME] section of the config file. */
#ifndef LB_JOB_H
#define LB_JOB_H

#include <stdbool.h>
#include <stddef.h>

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
	/* hooks (see docs/HOOKS.md) */
	struct strv pre_hooks, post_hooks;
	long hook_timeout_s;
	struct strv owned;          /* strings the job owns */
};

void backup_job_init(struct backup_job *j);
void backup_job_release(struct backup_job *j);
/* Parses a `--mysql-*`, `--mail-spool` or other job option of the backup
 * command line; 1 if c was one, 0 if not, negative on a bad value. */
int backup_job_option(struct backup_job *j, int c, const char *arg);
/* Runs the job: lock, hooks, the backup itself; returns the exit status. */
int backup_job_run(struct backup_job *j);

#endif
