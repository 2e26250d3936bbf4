/* lifeboat — running a hook: a shell command lifeboat runs before or after a
 * job (see docs/HOOKS.md for the pre/post semantics and the environment).
 *
 * The command runs as `/bin/sh -c CMD`, in a session and process group of
 * its own, with stdin from /dev/null and no descriptor of lifeboat's but
 * its stdout and stderr, which both go to a pipe that is read line by line
 * into a callback.  A timeout (or a cancel) ends the whole process group:
 * SIGTERM, then SIGKILL after a grace period.  When the shell exits, what it
 * left running in its process group is ended the same way, so a hook never
 * outlives its run (a daemon it starts must detach: setsid, systemctl). */
#ifndef LIFEBOAT_HOOKS_H
#define LIFEBOAT_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#define LB_HOOK_LINE_MAX 4096      /* longer output lines are cut into pieces */
#define LB_HOOK_GRACE_MS 5000      /* default SIGTERM -> SIGKILL grace period */

/* One line of the hook's output (stdout and stderr merged), without its
 * newline. */
typedef void (*lb_hook_line_fn)(void *ctx, const char *line);

struct lb_hook_opts {
	long timeout_s;              /* 0: none */
	long grace_ms;               /* 0: LB_HOOK_GRACE_MS */
	const char *const *env;      /* "NAME=VALUE" set in the hook's environment */
	size_t nenv;
	const char *const *unset;    /* names taken out of it (secrets, stale values) */
	size_t nunset;
	lb_hook_line_fn line;        /* NULL: output is read and dropped */
	void *ctx;
	const volatile int *cancel;  /* when it becomes non-zero the hook is stopped */
};

struct lb_hook_result {
	int status;                  /* exit status, or -1 when killed by a signal */
	int signal;                  /* the signal that ended it, or 0 */
	bool timed_out;              /* stopped because of the timeout */
	bool canceled;               /* stopped because *cancel was set */
	bool leftovers;              /* processes it left behind were ended */
	long long ms;                /* how long it ran */
};

/* Runs cmd and waits for it (and its output) to end.  Returns 0 when it
 * exited with status 0; otherwise a negative code with a message naming the
 * cause ("exited with status 3", "timed out after 30 s; it and its
 * processes were killed"): -ETIMEDOUT, -LB_E_CANCELED, -EIO (non-zero status
 * or killed by a signal), or the errno of a failure to start it.  res is
 * filled in every case but a failure to start.  Not async-signal-safe; safe
 * to call from a threaded program (the child only calls exec-safe functions
 * between fork and exec). */
int lb_hook_run(const char *cmd, const struct lb_hook_opts *o, struct lb_hook_result *res);

#endif
