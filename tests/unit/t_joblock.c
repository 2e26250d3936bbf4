/* Unit tests for lib/util/joblock.c: one run at a time per job. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tap.h"
#include "lifeboat/joblock.h"
#include "util/util.h"

static int count_locks(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "job-", 4))
			n++;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	char dir[512], buf[512], pidstr[32];
	struct lb_joblock *a = NULL, *b = NULL, *c = NULL;
	struct stat st;
	int e;

	snprintf(dir, sizeof dir, "%s/locks", tap_tmp());
	setenv("LIFEBOAT_LOCK_DIR", dir, 1);
	ok(!strcmp(lb_joblock_dir(buf, sizeof buf), dir), "LIFEBOAT_LOCK_DIR chooses the directory");

	e = lb_joblock_acquire("backup /etc to /repo", "backup of /etc", &a);
	ok(e == 0 && a, "first acquire (%s)", e ? lb_errmsg() : "ok");
	ok(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700, "the lock directory is made, mode 0700");
	is(count_locks(dir), 1, "one lock file");

	e = lb_joblock_acquire("backup /etc to /repo", "backup of /etc", &b);
	is(e, -LB_E_BUSY, "a second acquire of the same job (a new fd) is -LB_E_BUSY");
	ok(b == NULL, "...and returns no lock");
	snprintf(pidstr, sizeof pidstr, "pid %ld", (long)getpid());
	ok(strstr(lb_errmsg(), pidstr) != NULL, "the message names the holder's pid: %s", lb_errmsg());
	ok(strstr(lb_errmsg(), "backup of /etc") != NULL, "...and the job");
	ok(strstr(lb_errmsg(), "started 20") != NULL && strstr(lb_errmsg(), "UTC") != NULL,
	   "...and its start time");

	e = lb_joblock_acquire("backup /home to /repo", "backup of /home", &c);
	ok(e == 0 && c, "another job is not blocked");
	is(count_locks(dir), 2, "two lock files");
	lb_joblock_release(c);
	c = NULL;

	/* another process sees the lock too */
	{
		pid_t child = fork();
		int status = 0;

		if (child == 0) {
			struct lb_joblock *x = NULL;
			int r = lb_joblock_acquire("backup /etc to /repo", "backup of /etc", &x);

			_exit(r == -LB_E_BUSY && strstr(lb_errmsg(), pidstr) ? 0 : 1);
		}
		waitpid(child, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process gets -LB_E_BUSY naming our pid");
	}

	lb_joblock_release(a);
	a = NULL;
	is(count_locks(dir), 0, "release removes the lock file");
	e = lb_joblock_acquire("backup /etc to /repo", "backup of /etc", &b);
	ok(e == 0 && b, "after release, acquire works again");

	/* a holder that dies without releasing: the lock goes with it */
	lb_joblock_release(b);
	b = NULL;
	{
		pid_t child = fork();
		int status = 0;

		if (child == 0) {
			struct lb_joblock *x = NULL;

			if (lb_joblock_acquire("crashy job", "crashy", &x) != 0)
				_exit(1);
			_exit(0); /* no release: as if killed */
		}
		waitpid(child, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a child took a lock and died holding it");
		e = lb_joblock_acquire("crashy job", "crashy", &b);
		ok(e == 0 && b, "the dead holder's lock is free (%s)", e ? lb_errmsg() : "ok");
		lb_joblock_release(b);
		b = NULL;
	}

	/* an unusable lock directory */
	{
		char file[600];
		FILE *f;

		snprintf(file, sizeof file, "%s/notadir", tap_tmp());
		f = fopen(file, "w");
		fclose(f);
		setenv("LIFEBOAT_LOCK_DIR", file, 1);
		e = lb_joblock_acquire("x", "x", &b);
		ok(e < 0 && b == NULL, "a lock 'directory' that is a file is refused (%d: %s)", e, lb_errmsg());
	}
	lb_joblock_release(NULL);
	unsetenv("LIFEBOAT_LOCK_DIR");
	tap_tmp_cleanup();
	return done_testing();
}
