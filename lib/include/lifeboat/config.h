/* lifeboat — the configuration file, /etc/lifeboat/lifeboat.conf.
 *
 * An INI file (read with inih) of one [global] section, whose keys every job
 * inherits, and [job NAME] sections that each describe a backup job:
 *
 *   [global]
 *   repository = /srv/backup/repo
 *   password_file = /etc/lifeboat/password
 *   post_hook = /usr/local/share/lifeboat/hooks/notify-mail
 *
 *   [job www]
 *   paths = /etc, /var/www
 *   exclude = *.tmp
 *   pre_hook = /usr/local/share/lifeboat/hooks/lvm-snapshot create vg0/www
 *
 * The parser only parses: it never prints, never acts, and keeps its error
 * ("FILE:LINE: unknown key 'x' in [job www]") in lb_errmsg().  The keys and
 * their meaning are documented in docs/lifeboat.1 (CONFIGURATION) and in
 * dist/lifeboat.conf.example.  The byte format rules:
 *
 *  - `key = value` (or `key: value`); comments are lines starting with `;` or
 *    `#`, and an inline comment starts at a `;` preceded by white space,
 *    except in command keys (pre_hook, post_hook, mysql_snapshot_hook,
 *    mysql_snapshot_release), whose whole value is the shell command;
 *  - list keys (paths, exclude, tag, mysql_databases, mail_spool, keep_tag)
 *    take comma-separated items, may be repeated, and may continue on
 *    indented lines; command keys take one command per key or indented line;
 *  - a scalar key may appear once per section;
 *  - unknown sections and keys are errors, as are malformed values.
 */
#ifndef LIFEBOAT_CONFIG_H
#define LIFEBOAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define LB_CONF_DEFAULT_PATH "/etc/lifeboat/lifeboat.conf"
#define LB_CONF_MAX_BYTES (1u << 20)  /* a bigger file is refused */
#define LB_CONF_NAME_MAX 64           /* job names: [A-Za-z0-9_.-], not starting with . or - */

struct lb_conf_list {
	char **v;
	size_t n;
};

/* A calendar span (keep_within = 1y6m, 14d, 36h): kept as given, since
 * months and years have no fixed length. */
struct lb_conf_span {
	bool set;
	int years, months, days, hours;
};

/* The retention policy of a job: parsed and stored, not acted on yet (the
 * `forget` command will apply it).  Counts are -1 when not set. */
struct lb_retention {
	long last, hourly, daily, weekly, monthly, yearly;
	struct lb_conf_span within;  /* keep every snapshot younger than this... */
	long long within_s;          /* ...in seconds (a month 30 days, a year 365), -1 when not set:
				      * what lb_keep_policy.within_s takes */
	struct lb_conf_list tags;    /* keep every snapshot with one of these tags */
};

/* One section.  Strings are NULL, numbers -1 and booleans -1 when not set;
 * after lb_conf_load() every [job] already carries what it inherits from
 * [global] (see lb_conf_load()). */
struct lb_conf_job {
	char *name;                  /* NULL for [global] */
	unsigned line;               /* line of the section header (0: absent [global]) */
	char *repository;
	char *password_file;
	struct lb_conf_list paths, excludes, tags;
	char *host;
	int one_file_system;
	long timeout_s;              /* 0: none */
	long stall_s;                /* stall_warning; 0: never warn */
	long workers;                /* 1..64 */
	/* MySQL/MariaDB: only `mysql = yes` turns the source on */
	int mysql;
	char *mysql_defaults_file;
	struct lb_conf_list mysql_databases;
	int mysql_mode;              /* 0 logical, 1 snapshot (enum lb_mysql_mode) */
	long mysql_jobs;             /* 1..64 */
	long mysql_lock_timeout_s;   /* 1 s..1 h */
	long mysql_long_query_s;     /* >= 1 s */
	int mysql_myisam_unlocked;
	char *mysql_snapshot_hook, *mysql_snapshot_release;
	struct lb_conf_list mail_spools;
	long mail_lock_timeout_s;    /* mbox locks, 1 s..1 h */
	/* hooks, see docs/HOOKS.md */
	struct lb_conf_list pre_hooks, post_hooks;
	long hook_timeout_s;         /* 0: none */
	/* notifications: lifeboat only passes them to the hooks (LIFEBOAT_NOTIFY_*) */
	char *notify_mail, *notify_from;
	long notify_stale_days;      /* >= 1 */
	char *state_dir;
	struct lb_retention keep;
};

struct lb_conf {
	char *path;
	struct lb_conf_job global;
	struct lb_conf_job *jobs;    /* in file order */
	size_t njobs;
};

/* Reads and parses the file at path (at most LB_CONF_MAX_BYTES).  Each
 * [job] inherits from [global], wherever [global] stands in the file: a
 * scalar the job does not set is taken from [global]; the lists of [global]
 * come first, then the job's, except post_hook, where the job's hooks run
 * first and those of [global] after them (they nest around the job's).
 * Returns 0, or a negative errno-style code with a message that names the
 * file, the line and the key. */
int lb_conf_load(const char *path, struct lb_conf **ret);
/* The same over a buffer; name is used in messages. */
int lb_conf_parse(const char *name, const char *data, size_t len, struct lb_conf **ret);
/* The [job NAME] section, or NULL. */
const struct lb_conf_job *lb_conf_find_job(const struct lb_conf *c, const char *name);
void lb_conf_free(struct lb_conf *c);

#endif
