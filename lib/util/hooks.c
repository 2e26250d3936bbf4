/* Running hooks (see lifeboat/hooks.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "lifeboat/error.h"
#include "lifeboat/hooks.h"

#define POLL_MS 50           /* how often the child, the clock and *cancel are looked at */
#define LINGER_MS 1000       /* output still read after the shell exited */
#define GIVE_UP_MS 10000     /* after SIGKILL: a process stuck in the kernel is left behind */

extern char **environ;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool name_in(const char *e, size_t n, const char *const *names, size_t count, bool with_value)
{
	for (size_t i = 0; i < count; i++) {
		size_t k = with_value ? strcspn(names[i], "=") : strlen(names[i]);

		if (k == n && !strncmp(e, names[i], n))
			return true;
	}
	return false;
}

/* lifeboat's environment without o->unset and without what o->env sets,
 * then o->env: built before fork, since the child may not allocate. */
static char **build_env(const struct lb_hook_opts *o)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + o->nenv + 1, sizeof *env);
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");

		if (name_in(environ[i], len, o->unset, o->nunset, false) ||
		    name_in(environ[i], len, o->env, o->nenv, true))
			continue;
		env[k++] = environ[i];
	}
	for (size_t i = 0; i < o->nenv; i++)
		env[k++] = (char *)o->env[i];
	env[k] = NULL;
	return env;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
__attribute__((noreturn)) static void child(const char *cmd, char **env, int out, int devnull, int maxfd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	struct sigaction sa;
	sigset_t none;

	setsid();
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	/* nothing of lifeboat's (repository files, sockets, the job lock) */
	if (close_range(3, ~0U, 0) < 0)
		for (int fd = 3; fd < maxfd; fd++)
			close(fd);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/bin/sh", argv, env);
	_exit(127);
}

struct reader {
	char line[LB_HOOK_LINE_MAX + 1];
	size_t len;
	lb_hook_line_fn fn;
	void *ctx;
};

static void emit(struct reader *r)
{
	r->line[r->len] = 0;
	if (r->fn)
		r->fn(r->ctx, r->line);
	r->len = 0;
}

/* Reads what is there; returns true at end of file. */
static bool drain(int fd, struct reader *r)
{
	char buf[4096];

	for (;;) {
		ssize_t k = read(fd, buf, sizeof buf);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno != EAGAIN;
		if (k == 0) {
			if (r->len)
				emit(r);
			return true;
		}
		for (ssize_t i = 0; i < k; i++) {
			if (buf[i] == '\n') {
				emit(r);
				continue;
			}
			r->line[r->len++] = buf[i];
			if (r->len == LB_HOOK_LINE_MAX)
				emit(r);
		}
	}
}

/* Whether anything is left in the process group, zombies aside (they wait
 * for init to reap them, which can take a while in a container). */
static bool group_alive(pid_t pgid)
{
	struct dirent *de;
	bool alive = false;
	DIR *d;

	if (kill(-pgid, 0) < 0 && errno == ESRCH)
		return false;
	if (!(d = opendir("/proc")))
		return true;
	while (!alive && (de = readdir(d))) {
		char path[300], buf[512], *p;
		ssize_t k;
		int fd, grp;
		char state;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		k = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = 0;
		/* pid (comm) state ppid pgrp ...: comm may hold anything */
		if ((p = strrchr(buf, ')')) && sscanf(p + 1, " %c %*d %d", &state, &grp) == 2 && grp == pgid &&
		    state != 'Z' && state != 'X')
			alive = true;
	}
	closedir(d);
	return alive;
}

static void signal_group(pid_t pgid, int sig)
{
	/* before the child's setsid() the group does not exist yet */
	if (kill(-pgid, sig) < 0 && errno == ESRCH)
		kill(pgid, sig);
}

int lb_hook_run(const char *cmd, const struct lb_hook_opts *o, struct lb_hook_result *res)
{
	struct reader *rd = NULL;
	struct rlimit rl;
	sigset_t all, old;
	char **env = NULL;
	int fds[2] = { -1, -1 }, devnull = -1, status = 0, maxfd = 65536, e;
	long grace = o->grace_ms > 0 ? o->grace_ms : LB_HOOK_GRACE_MS;
	int64_t start, term_at = 0, kill_at = 0, exit_at = 0;
	bool exited = false, eof = false, gone = false;
	pid_t pid;

	memset(res, 0, sizeof *res);
	res->status = -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)INT32_MAX)
		maxfd = (int)rl.rlim_cur;
	rd = calloc(1, sizeof *rd);
	env = build_env(o);
	if (!rd || !env) {
		e = lb_err(-ENOMEM, "out of memory");
		goto out;
	}
	rd->fn = o->line;
	rd->ctx = o->ctx;
	if (pipe2(fds, O_CLOEXEC) < 0 || (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		e = lb_errno(-errno, "could not start it");
		goto out;
	}
	/* no signal handler of lifeboat's may run in the child before exec */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	start = now_ms();
	pid = fork();
	if (pid == 0)
		child(cmd, env, fds[1], devnull, maxfd);
	e = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		e = lb_errno(e, "could not start it: fork");
		goto out;
	}
	close(fds[1]);
	fds[1] = -1;
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);

	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int64_t now;

		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid || (w < 0 && errno == ECHILD)) {
				exited = true;
				exit_at = now_ms();
				if (w < 0)
					status = -1;
			}
		}
		now = now_ms();
		if (!term_at) {
			if (!exited && o->timeout_s > 0 && now - start >= o->timeout_s * 1000) {
				res->timed_out = true;
			} else if (!exited && o->cancel && *o->cancel) {
				res->canceled = true;
			} else if (exited && group_alive(pid)) {
				/* the shell is done; what it left behind goes with it */
				res->leftovers = true;
			}
			if (res->timed_out || res->canceled || res->leftovers) {
				signal_group(pid, SIGTERM);
				term_at = now;
			}
		} else if (!kill_at && now - term_at >= grace && (!exited || group_alive(pid))) {
			signal_group(pid, SIGKILL);
			kill_at = now;
		}
		if (exited) {
			/* done when the group is gone (it was empty when the shell
			 * exited if it was never signalled) and the output has been
			 * read, or a detached process keeps the pipe open: then after
			 * LINGER_MS; once SIGKILL was sent, a group left of
			 * unkillable or unreaped processes is not waited for long */
			bool over = eof || now - exit_at >= LINGER_MS;

			if (over && (!term_at || !group_alive(pid) || (kill_at && now - kill_at >= LINGER_MS)))
				break;
		}
		if (kill_at && now - kill_at >= GIVE_UP_MS) {
			gone = !exited;
			break;
		}
		if (!eof) {
			if (poll(&pfd, 1, POLL_MS) > 0)
				eof = drain(fds[0], rd);
		} else {
			poll(NULL, 0, POLL_MS);
		}
	}
	res->ms = now_ms() - start;
	if (exited && status >= 0) {
		if (WIFEXITED(status))
			res->status = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			res->signal = WTERMSIG(status);
	}
	if (res->timed_out)
		e = lb_err(-ETIMEDOUT, "timed out after %ld s; it and its processes were %s", o->timeout_s,
			   kill_at ? "killed (SIGKILL)" : "stopped (SIGTERM)");
	else if (res->canceled)
		e = lb_err(-LB_E_CANCELED, "stopped: lifeboat was interrupted");
	else if (gone)
		e = lb_err(-EIO, "could not be killed (stuck in the kernel?)");
	else if (!exited || status < 0)
		e = lb_err(-EIO, "its exit status is unknown");
	else if (res->signal)
		e = lb_err(-EIO, "was killed by signal %d (%s)", res->signal, strsignal(res->signal));
	else if (res->status == 127)
		e = lb_err(-EIO, "exited with status 127 (command not found?)");
	else if (res->status == 126)
		e = lb_err(-EIO, "exited with status 126 (not executable?)");
	else if (res->status != 0)
		e = lb_err(-EIO, "exited with status %d", res->status);
	else
		e = 0;
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (devnull >= 0)
		close(devnull);
	free(env);
	free(rd);
	return e;
}
