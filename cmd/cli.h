/* lifeboat CLI — shared state and helpers.  The commands stay thin: parse
 * arguments, call liblifeboat, print what the user asked for. */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lifeboat/error.h"
#include "lifeboat/log.h"
#include "lifeboat/progress.h"
#include "lifeboat/repo.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 1, EXIT_WARNINGS = 3 };

struct cli {
	const char *repo;
	const char *password_file;
	const char *config;     /* --config FILE (NULL: LB_CONF_DEFAULT_PATH when a command needs it) */
	const char *command;
	bool json;
	int verbosity;  /* -q: -1, default 0, -v: 1, -vv: 2 */
	bool tty;       /* stdout is a terminal: progress lines and summaries */
};

extern struct cli g_cli;

enum { CLI_OPT_CONFIG = 1002 };

/* Options every command accepts, after the command name too. */
#define CLI_GLOBAL_LONGOPTS                                                  \
	{ "repo", required_argument, NULL, 'r' },                            \
	{ "password-file", required_argument, NULL, 1000 },                  \
	{ "json", no_argument, NULL, 1001 },                                 \
	{ "config", required_argument, NULL, CLI_OPT_CONFIG },               \
	{ "quiet", no_argument, NULL, 'q' },                                 \
	{ "verbose", no_argument, NULL, 'v' },                               \
	{ "help", no_argument, NULL, 'h' }
#define CLI_GLOBAL_SHORTOPTS "r:qvh"

/* Handles a global option; returns 1 if c was one, 0 if not. */
int cli_global_opt(int c, const char *arg);

/* "lifeboat: <command>: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports the library's current message and returns EXIT_ERROR. */
int cli_fail(int code);
/* After a restore that named its failed entries as it went: says how
 * many, and true, when there were any (the command then exits 1). */
bool cli_restore_errors(uint64_t errors);
/* The message of the last cli_error()/cli_fail() ("" if none): what a post
 * hook gets as LIFEBOAT_ERROR. */
const char *cli_last_error(void);
/* While f is set, every line lifeboat prints on stderr (errors, warnings,
 * hook output, watchdog reports) is copied into it too (NULL: stop). */
void cli_log_copy(FILE *f);
/* Prints a line on stderr as it is, and copies it like the messages above. */
void cli_stderr_line(const char *line);
/* Only copies it. */
void cli_log_line(const char *line);
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the repository (-r / LIFEBOAT_REPO), asking for the password only
 * if it is encrypted. */
int cli_open_repo(struct lb_repo **r);
/* A warning callback for library calls that name an entry by bytes
 * (export, import): warns "PATH: MSG" with PATH escaped (just MSG when
 * pathlen is 0) and counts it in *(int *)ctx. */
void cli_warn_entry(void *ctx, const char *path, size_t pathlen, const char *msg);
/* Prints j on one line (the form --json results take: compact, reals to
 * 6 digits) and releases it; NULL (out of memory) prints nothing. */
void cli_print_json_line(json_t *j);
/* The common part of `lifeboat SOURCE ls SNAPSHOT`: parses the global
 * options and the one SNAPSHOT argument, opens the repository and finds
 * the snapshot's section sources.SOURCE.  True with *r, *s and *sec set
 * (the caller frees s and closes r); false with *code the exit status
 * (after --help, a usage error, or "snapshot ID <none>"). */
struct lb_snapshot;
bool cli_source_ls_open(int argc, char **argv, const char *cmd, const char *source, const char *none,
			struct lb_repo **r, struct lb_snapshot **s, json_t **sec, int *code);
int cli_password(char *buf, size_t n, void *ctx);
/* Reads a password from a file (first line), the environment, or the
 * terminal (twice when confirm). */
int cli_read_password(const char *file, const char *env, const char *prompt, bool confirm, char *buf, size_t n);

/* Writes s with unprintable bytes and invalid UTF-8 escaped (\n, \xNN, \\). */
void cli_print_escaped(FILE *f, const char *s, size_t len);
char *cli_escape(const char *s, size_t len); /* the same into a malloc'd string */

/* "90", "90s", "5m", "2h", "1d" -> seconds; -1 on junk. */
long cli_parse_duration(const char *s);
void cli_human_bytes(char *out, size_t n, uint64_t bytes);

/* A thread that redraws a progress line on the terminal four times a second. */
struct cli_progress;
struct cli_progress *cli_progress_start(struct lb_progress *p, const char *verb);
void cli_progress_stop(struct cli_progress *cp);

/* Watchdog: reports an operation stuck longer than stall_s, cancels at
 * timeout_s and, if the work does not stop within a grace period, exits. */
struct cli_watchdog;
struct cli_watchdog *cli_watchdog_start(struct lb_progress *p, long stall_s, long timeout_s, const char *what);
void cli_watchdog_stop(struct cli_watchdog *w);
bool cli_watchdog_fired(struct cli_watchdog *w);
/* Called by the watchdog just before it exits a process stuck in the
 * kernel (the post hooks must still run); NULL: none. */
void cli_on_hard_exit(void (*fn)(void *ctx), void *ctx);

/* SIGINT/SIGTERM/SIGHUP set p->cancel; a second signal exits at once. */
void cli_signals_cancel(struct lb_progress *p);
extern volatile sig_atomic_t g_cli_interrupted; /* signals received */

int cmd_init(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_mysql(int argc, char **argv);
int cmd_mail(int argc, char **argv);
int cmd_verify(int argc, char **argv);
/* backup --image / restore --image (cmd/cmd_image.c): cmd_backup() and
 * cmd_restore() hand over when cmd_image_requested() finds --image in argv. */
bool cmd_image_requested(int argc, char **argv);
int cmd_backup_image(int argc, char **argv);
int cmd_restore_image(int argc, char **argv);

#endif
