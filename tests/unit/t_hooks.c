/* Unit tests for lib/util/hooks.c: running hook commands. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "lifeboat/error.h"
#include "lifeboat/hooks.h"

struct out {
	char text[65536];
	size_t len;
	int lines;
	size_t longest;
};

static void on_line(void *ctx, const char *line)
{
	struct out *o = ctx;
	size_t n = strlen(line);

	if (n > o->longest)
		o->longest = n;
	o->lines++;
	if (o->len + n + 2 < sizeof o->text) {
		memcpy(o->text + o->len, line, n);
		o->len += n;
		o->text[o->len++] = '\n';
		o->text[o->len] = 0;
	}
}

static int run(const char *cmd, long timeout, struct out *out, struct lb_hook_result *res)
{
	struct lb_hook_opts o = { .timeout_s = timeout, .grace_ms = 500, .line = on_line, .ctx = out };

	memset(out, 0, sizeof *out);
	return lb_hook_run(cmd, &o, res);
}

static int pid_alive(const char *pidfile)
{
	FILE *f = fopen(pidfile, "r");
	char path[64], state = 'R';
	long pid = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || kill((pid_t)pid, 0) < 0)
		return 0;
	/* a zombie waiting for init to reap it is dead enough */
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
			state = '?';
		fclose(f);
	}
	return state != 'Z';
}

int main(void)
{
	static struct out out;
	struct lb_hook_result res;
	char cmd[1024], pidfile[512];
	int e, fd;

	e = run("echo hello; echo to-stderr >&2; printf 'no newline'", 0, &out, &res);
	ok(e == 0 && res.status == 0, "a hook that succeeds returns 0");
	ok(!strcmp(out.text, "hello\nto-stderr\nno newline\n"), "stdout and stderr reach the callback line by line");

	e = run("exit 3", 0, &out, &res);
	ok(e == -EIO && res.status == 3 && strstr(lb_errmsg(), "exited with status 3"), "an exit status is reported");
	e = run("no-such-command-xyz", 0, &out, &res);
	ok(e == -EIO && strstr(lb_errmsg(), "127 (command not found?)") && strstr(out.text, "not found"),
	   "a missing command says so");
	e = run("kill -USR1 $$", 0, &out, &res);
	ok(e == -EIO && res.signal == SIGUSR1 && strstr(lb_errmsg(), "killed by signal"), "a signal is reported");

	e = run("read x; echo \"got [$x]\"", 0, &out, &res);
	ok(e == 0 && !strcmp(out.text, "got []\n"), "stdin is /dev/null");

	fd = open("/dev/null", O_RDONLY); /* not O_CLOEXEC: must still not reach the hook */
	snprintf(cmd, sizeof cmd, "ls /proc/self/fd | sort -n | tr '\\n' ' '");
	e = run(cmd, 0, &out, &res);
	ok(e == 0 && !strcmp(out.text, "0 1 2 3 \n"), "the hook gets only 0, 1 and 2 (3 is ls's own)");
	if (strcmp(out.text, "0 1 2 3 \n"))
		diag("fds: %s", out.text);
	close(fd);

	setenv("LB_T_SECRET", "s3cret", 1);
	setenv("LB_T_KEEP", "kept", 1);
	setenv("LB_T_OVER", "old", 1);
	{
		const char *env[] = { "LB_T_NEW=new value", "LB_T_OVER=new" };
		const char *unset[] = { "LB_T_SECRET" };
		struct lb_hook_opts o = { .env = env, .nenv = 2, .unset = unset, .nunset = 1, .line = on_line, .ctx = &out };

		memset(&out, 0, sizeof out);
		e = lb_hook_run("echo \"${LB_T_SECRET-unset}|$LB_T_KEEP|$LB_T_NEW|$LB_T_OVER\"", &o, &res);
		ok(e == 0 && !strcmp(out.text, "unset|kept|new value|new\n"), "environment: set, replaced, removed, kept");
	}

	memset(cmd, 0, sizeof cmd);
	e = run("head -c 10000 /dev/zero | tr '\\0' x", 0, &out, &res);
	ok(e == 0 && out.longest == LB_HOOK_LINE_MAX && out.lines == 3, "a long line is cut into pieces");

	/* a hook that hangs, with a child: both go at the timeout */
	snprintf(pidfile, sizeof pidfile, "%s/child.pid", tap_tmp());
	snprintf(cmd, sizeof cmd, "echo started; sleep 1000 & echo $! >%s; wait", pidfile);
	{
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		e = run(cmd, 1, &out, &res);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ok(e == -ETIMEDOUT && res.timed_out && strstr(lb_errmsg(), "timed out after 1 s"),
		   "a hanging hook times out");
		ok(b.tv_sec - a.tv_sec < 4, "within its timeout and grace period");
		ok(strstr(out.text, "started") != NULL, "its output before the timeout is kept");
		usleep(100000);
		is(pid_alive(pidfile), 0, "its child is killed too");
	}
	/* one that ignores SIGTERM gets SIGKILL */
	e = run("trap '' TERM; echo x; while :; do sleep 0.1; done", 1, &out, &res);
	ok(e == -ETIMEDOUT && strstr(lb_errmsg(), "SIGKILL"), "a hook ignoring SIGTERM is killed");

	/* leftovers of a finished hook are ended */
	unlink(pidfile);
	snprintf(cmd, sizeof cmd, "sleep 1000 >/dev/null 2>&1 & echo $! >%s; exit 0", pidfile);
	e = run(cmd, 0, &out, &res);
	usleep(100000);
	ok(e == 0 && res.leftovers, "a hook that leaves a process behind still succeeds");
	is(pid_alive(pidfile), 0, "and the process it left is ended");

	/* cancel */
	{
		static volatile int cancel = 1;
		struct lb_hook_opts o = { .cancel = &cancel, .grace_ms = 500 };

		e = lb_hook_run("sleep 1000", &o, &res);
		ok(e == -LB_E_CANCELED && res.canceled, "a cancel stops the hook");
	}
	unlink(pidfile);
	rmdir(tap_tmp());
	return done_testing();
}
