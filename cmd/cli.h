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
	const char *command;
	bool json;
	int verbosity;  /* -q: -1, default 0, -v: 1, -vv: 2 */
	bool tty;       /* stdout is a terminal: progress lines and summaries */
};

extern struct cli g_cli;

/* Options every command accepts, after the command name too. */
#define CLI_GLOBAL_LONGOPTS                                                  \
	{ "repo", required_argument, NULL, 'r' },                            \
	{ "password-file", required_argument, NULL, 1000 },                  \
	{ "json", no_argument, NULL, 1001 },                                 \
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
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the repository (-r / LIFEBOAT_REPO), asking for the password only
 * if it is encrypted. */
int cli_open_repo(struct lb_repo **r);
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

/* SIGINT/SIGTERM/SIGHUP set p->cancel; a second signal exits at once. */
void cli_signals_cancel(struct lb_progress *p);
extern volatile sig_atomic_t g_cli_interrupted; /* signals received */

int cmd_init(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_mysql(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
