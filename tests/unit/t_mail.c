/* Unit tests: Maildir names, the mbox message counter, and the mbox locks
 * (Debian order, stale dotlocks, timeouts naming the holder). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tap.h"
#include "lifeboat/error.h"
#include "lifeboat/mail.h"

static void test_names(void)
{
	struct lb_maildir_name n;

	ok(lb_maildir_name_parse("1700000000.M1P2Q3.host:2,FRS", &n) == 0, "a cur/ name parses");
	is(n.baselen, strlen("1700000000.M1P2Q3.host"), "its base ends at ':'");
	ok(n.flags && !strcmp(n.flags, "FRS"), "its flags follow \"2,\"");
	ok(lb_maildir_has_flag(&n, 'S') && lb_maildir_has_flag(&n, 'F') && !lb_maildir_has_flag(&n, 'T'),
	   "flags are found by letter");

	ok(lb_maildir_name_parse("1700000000.M1P2Q3.host", &n) == 0, "a new/ name (no info) parses");
	ok(n.info == NULL && n.flags == NULL && n.baselen == strlen("1700000000.M1P2Q3.host"),
	   "without info the whole name is the base");
	ok(!lb_maildir_has_flag(&n, 'S'), "and it has no flags");

	ok(lb_maildir_name_parse("123.host:2,", &n) == 0 && n.flags && n.flagslen == 0, "\"2,\" with no flags");
	ok(lb_maildir_name_parse("123.host:1,experimental", &n) == 0 && n.info && !n.flags,
	   "an info that is not \"2,\" has no flags");
	ok(lb_maildir_name_parse("123.host,S=4711:2,S", &n) == 0 && n.baselen == strlen("123.host,S=4711"),
	   "Dovecot's ,S=size stays in the base");

	ok(lb_maildir_name_parse("", &n) == -EINVAL, "an empty name is no message");
	ok(lb_maildir_name_parse(".nfs0000123", &n) == -EINVAL, "a dot file is no message");
	ok(lb_maildir_name_parse(":2,S", &n) == -EINVAL, "an empty base is no message");
	ok(lb_maildir_name_parse("a/b", &n) == -EINVAL, "a name with '/' is refused");

	ok(lb_maildir_same_message("123.h", "123.h:2,S"), "new/ and cur/ names of one message match");
	ok(lb_maildir_same_message("123.h:2,S", "123.h:2,RS"), "a re-flagged message matches itself");
	ok(!lb_maildir_same_message("123.h:2,S", "1234.h:2,S"), "a longer base is another message");
	ok(!lb_maildir_same_message("123.h", "123.hx"), "so is a base with more after it");
}

static uint64_t count(const char *text, size_t split)
{
	struct lb_mbox_counter c;
	size_t n = strlen(text);

	lb_mbox_counter_init(&c);
	if (split > n)
		split = n;
	lb_mbox_counter_feed(&c, (const uint8_t *)text, split);
	lb_mbox_counter_feed(&c, (const uint8_t *)text + split, n - split);
	return c.messages;
}

static void test_counter(void)
{
	const char *mbox = "From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nhello\nFrom me, hello\n\n"
			   "From c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\nbody\n>From quoted\n\n";
	bool all = true;

	is(count("", 0), 0, "an empty mbox holds no message");
	is(count(mbox, 0), 2, "From_ lines after an empty line start messages, a \"From \" inside a body line does not");
	for (size_t k = 1; k < strlen(mbox); k++)
		if (count(mbox, k) != 2)
			all = false;
	ok(all, "the count is the same however the bytes are split");
	is(count("From a\nFrom b\n", 0), 1, "a From_ line right after another line is body");
	is(count("\nFrom a\n", 0), 1, "an empty first line still lets a message start");
}

/* ---- locks ---- */

static char tmpdir[256];

static void touch_old(const char *path, int age_s)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_s;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, path, ts, 0);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	fputs(s, f);
	fclose(f);
}

static void test_locks(void)
{
	char mbox[512], lock[520], holder[512];
	struct lb_mbox_lock lk;
	struct stat st;
	int fd, e, pipefd[2];
	pid_t child;

	snprintf(mbox, sizeof mbox, "%s/mbox", tmpdir);
	snprintf(lock, sizeof lock, "%s.lock", mbox);
	write_file(mbox, "From a\n\nx\n");
	fd = open(mbox, O_RDONLY);

	e = lb_mbox_lock(fd, mbox, false, 1000, NULL, &lk, holder, sizeof holder);
	ok(e == 0, "a free mbox locks at once");
	ok(lk.have_dotlock && stat(lock, &st) == 0, "with a dotlock next to it");
	ok(lk.fd == fd, "and an fcntl lock on the descriptor read from");
	lb_mbox_unlock(&lk);
	ok(stat(lock, &st) < 0 && errno == ENOENT, "unlocking removes the dotlock");

	/* a dotlock without a pid, older than 5 minutes: stale */
	write_file(lock, "");
	touch_old(lock, LB_MAIL_DOTLOCK_STALE_S + 10);
	e = lb_mbox_lock(fd, mbox, false, 1000, NULL, &lk, holder, sizeof holder);
	ok(e == 0, "a pid-less dotlock older than 5 minutes is stale and broken");
	lb_mbox_unlock(&lk);

	/* a dotlock whose pid is dead: stale, whatever its age */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	{
		char pid[32];

		snprintf(pid, sizeof pid, "%d\n", (int)child);
		write_file(lock, pid);
	}
	e = lb_mbox_lock(fd, mbox, false, 1000, NULL, &lk, holder, sizeof holder);
	ok(e == 0, "a dotlock whose process is gone is stale and broken");
	lb_mbox_unlock(&lk);

	/* a fresh pid-less dotlock: held; the timeout names it */
	write_file(lock, "");
	e = lb_mbox_lock(fd, mbox, false, 300, NULL, &lk, holder, sizeof holder);
	ok(e == -ETIMEDOUT, "a fresh dotlock holds us off until the timeout");
	ok(strstr(holder, "mbox.lock") && strstr(holder, "no pid"), "the holder is described: %s", holder);
	ok(strstr(lb_errmsg(), "still locked after"), "the message says what happened: %s", lb_errmsg());
	unlink(lock);

	/* another process's fcntl lock: waited for, and named */
	if (pipe(pipefd) < 0)
		return;
	child = fork();
	if (child == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int cfd = open(mbox, O_RDWR);
		char c = 'x';

		fcntl(cfd, F_SETLKW, &fl);
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		sleep(30);
		_exit(0);
	}
	{
		char c;

		if (read(pipefd[0], &c, 1) != 1)
			c = 0;
	}
	e = lb_mbox_lock(fd, mbox, false, 300, NULL, &lk, holder, sizeof holder);
	ok(e == -ETIMEDOUT, "another process's fcntl lock holds us off until the timeout");
	{
		char want[64];

		snprintf(want, sizeof want, "pid %d", (int)child);
		ok(strstr(holder, want) && strstr(holder, "fcntl"), "the holder's pid is named: %s", holder);
	}
	ok(stat(lock, &st) < 0, "and no dotlock was left behind");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	e = lb_mbox_lock(fd, mbox, false, 1000, NULL, &lk, holder, sizeof holder);
	ok(e == 0, "the lock is ours once the holder is gone");
	lb_mbox_unlock(&lk);

	/* cancellation ends the wait at once */
	write_file(lock, "");
	{
		volatile int cancel = 1;
		int64_t t0 = time(NULL);

		e = lb_mbox_lock(fd, mbox, false, 10000, &cancel, &lk, holder, sizeof holder);
		ok(e < 0 && e != -ETIMEDOUT && time(NULL) - t0 < 3, "a cancel stops the wait");
	}
	unlink(lock);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s", tap_tmp());
	test_names();
	test_counter();
	test_locks();
	tap_tmp_cleanup();
	return done_testing();
}
