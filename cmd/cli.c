#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "cli.h"
#include "lifeboat/snapshot.h"
#include "util/util.h"

struct cli g_cli;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cli_global_opt(int c, const char *arg)
{
	switch (c) {
	case 'r': g_cli.repo = arg; return 1;
	case 1000: g_cli.password_file = arg; return 1;
	case 1001: g_cli.json = true; return 1;
	case CLI_OPT_CONFIG: g_cli.config = arg; return 1;
	case 'q': g_cli.verbosity = -1; return 1;
	case 'v': g_cli.verbosity = g_cli.verbosity < 0 ? 1 : g_cli.verbosity + 1; return 1;
	}
	return 0;
}

static char last_error[4096];
static FILE *log_copy;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void cli_log_copy(FILE *f)
{
	pthread_mutex_lock(&log_mu);
	log_copy = f;
	pthread_mutex_unlock(&log_mu);
}

void cli_log_line(const char *line)
{
	pthread_mutex_lock(&log_mu);
	if (log_copy) {
		fprintf(log_copy, "%s\n", line);
		fflush(log_copy);
	}
	pthread_mutex_unlock(&log_mu);
}

void cli_stderr_line(const char *line)
{
	fprintf(stderr, "%s\n", line);
	cli_log_line(line);
}

const char *cli_last_error(void)
{
	return last_error;
}

static unsigned utf8_cp(const unsigned char *p, size_t k);
static bool bidi_control(unsigned cp);

/* Messages name objects whose names come from disk, archives and servers:
 * control bytes, invalid UTF-8 and bidirectional controls in them are
 * shown escaped, so that no name can forge a line or move the cursor.
 * Backslashes stay as they are: names a command escaped itself
 * (cli_escape) are not escaped twice. */
static void sanitize(char *dst, size_t size, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t n = strlen(src), o = 0;

	for (size_t i = 0; i < n && o + 7 < size;) {
		size_t k = lb_utf8_seq(p + i, n - i);

		if (k == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", p[i]);
			i++;
		} else if (k == 3 && bidi_control(utf8_cp(p + i, k))) {
			o += (size_t)snprintf(dst + o, size - o, "\\u%04x", utf8_cp(p + i, k));
			i += k;
		} else {
			memcpy(dst + o, p + i, k);
			o += k;
			i += k;
		}
	}
	dst[o] = 0;
}

static void vsay(const char *kind, const char *fmt, va_list ap)
{
	char raw[4096], msg[4096], line[4200];

	vsnprintf(raw, sizeof raw, fmt, ap);
	sanitize(msg, sizeof msg, raw);
	if (!kind[0])
		snprintf(last_error, sizeof last_error, "%s", msg);
	if (g_cli.command)
		snprintf(line, sizeof line, "lifeboat: %s: %s%s", g_cli.command, kind, msg);
	else
		snprintf(line, sizeof line, "lifeboat: %s%s", kind, msg);
	cli_stderr_line(line);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("warning: ", fmt, ap);
	va_end(ap);
}

void cli_info(const char *fmt, ...)
{
	va_list ap;

	if (g_cli.verbosity < 1 && !g_cli.tty)
		return;
	if (g_cli.verbosity < 0)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_restore_errors(uint64_t errors)
{
	if (errors)
		cli_error("%llu entr%s could not be restored (named above)", (unsigned long long)errors,
			  errors == 1 ? "y" : "ies");
	return errors != 0;
}

int cli_fail(int code)
{
	const char *m = lb_errmsg();

	cli_error("%s", m[0] ? m : lb_strerror(code));
	return EXIT_ERROR;
}

/* ---- passwords ---- */

static int read_tty_password(const char *prompt, char *buf, size_t n)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	ssize_t k;
	size_t len = 0;
	int echo_off;

	if (fd < 0)
		return -ENOTTY;
	if (write(fd, prompt, strlen(prompt)) < 0) {
		close(fd);
		return -EIO;
	}
	echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	while (len + 1 < n && (k = read(fd, buf + len, 1)) == 1 && buf[len] != '\n')
		len++;
	buf[len] = 0;
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* nothing to do */
	}
	close(fd);
	return 0;
}

int cli_read_password(const char *file, const char *env, const char *prompt, bool confirm, char *buf, size_t n)
{
	const char *v;

	if (file) {
		FILE *f = fopen(file, "re");
		size_t len;

		if (!f)
			return lb_errno(-errno, "password file %s", file);
		if (!fgets(buf, (int)n, f)) {
			fclose(f);
			return lb_err(-EINVAL, "password file %s is empty", file);
		}
		fclose(f);
		len = strlen(buf);
		if (len + 1 >= n && buf[len - 1] != '\n')
			return lb_err(-E2BIG, "password file %s: the password is longer than %zu bytes", file, n - 2);
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		return 0;
	}
	if (env && (v = getenv(env)) && v[0]) {
		if (strlen(v) >= n - 1)
			return lb_err(-E2BIG, "%s: the password is longer than %zu bytes", env, n - 2);
		snprintf(buf, n, "%s", v);
		return 0;
	}
	if (read_tty_password(prompt, buf, n) < 0)
		return lb_err(-EINVAL, "no %spassword given: use %s, %s or a terminal", confirm ? "new " : "",
			      confirm && env && strcmp(env, "LIFEBOAT_PASSWORD") ? "--new-password-file" : "--password-file",
			      env ? env : "LIFEBOAT_PASSWORD");
	if (confirm) {
		char again[1024];

		read_tty_password("enter the password again: ", again, sizeof again);
		if (strcmp(again, buf) != 0) {
			explicit_bzero(again, sizeof again);
			return lb_err(-EINVAL, "the passwords do not match");
		}
		explicit_bzero(again, sizeof again);
	}
	return 0;
}

int cli_password(char *buf, size_t n, void *ctx)
{
	bool confirm = ctx != NULL;

	return cli_read_password(g_cli.password_file, "LIFEBOAT_PASSWORD",
				 confirm ? "new repository password: " : "repository password: ", confirm, buf, n);
}

int cli_open_repo(struct lb_repo **r)
{
	const char *path = g_cli.repo ? g_cli.repo : getenv("LIFEBOAT_REPO");
	int e;

	if (!path || !path[0]) {
		cli_error("no repository given: use -r REPO or LIFEBOAT_REPO");
		return -EINVAL;
	}
	e = lb_repo_open(path, cli_password, NULL, r);
	if (e < 0)
		cli_fail(e);
	return e;
}

/* ---- output ---- */

/* The code point of the k-byte UTF-8 sequence at p (k from lb_utf8_seq). */
static unsigned utf8_cp(const unsigned char *p, size_t k)
{
	unsigned cp = k == 1 ? p[0] : k == 2 ? p[0] & 0x1f : k == 3 ? p[0] & 0x0f : p[0] & 0x07;

	for (size_t i = 1; i < k; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/* Characters that reorder what a terminal shows (bidirectional embeddings,
 * overrides and isolates): a name holding one could make a message say
 * something else than it does. */
static bool bidi_control(unsigned cp)
{
	return cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *cli_escape(const char *s, size_t len)
{
	char *out = malloc(len * 4 + 1), *w = out;
	const unsigned char *p = (const unsigned char *)s;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t k = lb_utf8_seq(p + i, len - i);

		if (p[i] == '\\') {
			*w++ = '\\';
			*w++ = '\\';
			i++;
		} else if (p[i] == '\n') {
			*w++ = '\\';
			*w++ = 'n';
			i++;
		} else if (p[i] == '\t') {
			*w++ = '\\';
			*w++ = 't';
			i++;
		} else if (k == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			w += sprintf(w, "\\x%02x", p[i]);
			i++;
		} else if (k == 3 && bidi_control(utf8_cp(p + i, k))) {
			w += sprintf(w, "\\u%04x", utf8_cp(p + i, k)); /* 6 bytes for 3: within len * 4 */
			i += k;
		} else {
			memcpy(w, p + i, k);
			w += k;
			i += k;
		}
	}
	*w = 0;
	return out;
}

void cli_print_escaped(FILE *f, const char *s, size_t len)
{
	char *e = cli_escape(s, len);

	if (e)
		fputs(e, f);
	free(e);
}

long cli_parse_duration(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case 0: case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	return v;
}

void cli_human_bytes(char *out, size_t n, uint64_t b)
{
	const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%llu B", (unsigned long long)b);
	else
		snprintf(out, n, "%.1f %s", v, units[u]);
}

/* ---- progress line: redrawn four times a second ---- */

struct cli_progress {
	pthread_t th;
	struct lb_progress *p;
	const char *verb;
	int64_t start;
	volatile int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void fmt_secs(char *out, size_t n, long s)
{
	if (s >= 3600)
		snprintf(out, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, n, "%ld:%02ld", s / 60, s % 60);
}

static void draw(struct cli_progress *cp)
{
	struct lb_progress *p = cp->p;
	struct winsize ws;
	char line[1024], done[32], rate[32], el[32], eta[48] = "", cur[4096], *esc;
	double secs = (double)(mono_ns() - cp->start) / 1e9;
	uint64_t bytes = __atomic_load_n(&p->bytes, __ATOMIC_RELAXED);
	uint64_t total = __atomic_load_n(&p->bytes_total, __ATOMIC_RELAXED);
	uint64_t files = __atomic_load_n(&p->files, __ATOMIC_RELAXED);
	int64_t running;
	int width = 80, len;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		width = ws.ws_col;
	cli_human_bytes(done, sizeof done, bytes);
	cli_human_bytes(rate, sizeof rate, secs > 0.2 ? (uint64_t)((double)bytes / secs) : 0);
	fmt_secs(el, sizeof el, (long)secs);
	if (total > bytes && secs > 0.2 && bytes > 0 && __atomic_load_n(&p->total_done, __ATOMIC_RELAXED)) {
		char t[32];

		fmt_secs(t, sizeof t, (long)((double)(total - bytes) / ((double)bytes / secs)));
		snprintf(eta, sizeof eta, ", ETA %s", t);
	}
	lb_progress_current(p, cur, sizeof cur, &running);
	esc = cli_escape(cur, strlen(cur));
	len = snprintf(line, sizeof line, "[%s] %s: %llu files, %s, %s/s%s  ", el, cp->verb,
		       (unsigned long long)files, done, rate, eta);
	if (len < width - 10 && esc) {
		int room = width - 1 - len;
		size_t el2 = strlen(esc);

		if ((int)el2 > room)
			snprintf(line + len, sizeof line - (size_t)len, "...%s", esc + el2 - (size_t)(room - 3));
		else
			snprintf(line + len, sizeof line - (size_t)len, "%s", esc);
	}
	free(esc);
	line[width - 1 < (int)sizeof line ? width - 1 : (int)sizeof line - 1] = 0;
	fprintf(stdout, "\r\033[K%s", line);
	fflush(stdout);
}

static void *progress_main(void *arg)
{
	struct cli_progress *cp = arg;

	pthread_mutex_lock(&cp->mu);
	while (!cp->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&cp->cv, &cp->mu, &ts);
		if (!cp->stop)
			draw(cp);
	}
	pthread_mutex_unlock(&cp->mu);
	return NULL;
}

struct cli_progress *cli_progress_start(struct lb_progress *p, const char *verb)
{
	struct cli_progress *cp;

	if (!g_cli.tty || g_cli.verbosity < 0 || g_cli.json)
		return NULL;
	cp = calloc(1, sizeof *cp);
	if (!cp)
		return NULL;
	cp->p = p;
	cp->verb = verb;
	cp->start = mono_ns();
	pthread_mutex_init(&cp->mu, NULL);
	pthread_cond_init(&cp->cv, NULL);
	if (pthread_create(&cp->th, NULL, progress_main, cp) != 0) {
		free(cp);
		return NULL;
	}
	return cp;
}

void cli_progress_stop(struct cli_progress *cp)
{
	if (!cp)
		return;
	pthread_mutex_lock(&cp->mu);
	cp->stop = 1;
	pthread_cond_signal(&cp->cv);
	pthread_mutex_unlock(&cp->mu);
	pthread_join(cp->th, NULL);
	fputs("\r\033[K", stdout);
	fflush(stdout);
	free(cp);
}

/* ---- watchdog ---- */

struct cli_watchdog {
	pthread_t th;
	struct lb_progress *p;
	long stall_s, timeout_s;
	const char *what;
	volatile int stop, fired;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void (*hard_exit_fn)(void *);
static void *hard_exit_ctx;

void cli_on_hard_exit(void (*fn)(void *ctx), void *ctx)
{
	hard_exit_ctx = ctx;
	hard_exit_fn = fn;
}

static void *watchdog_main(void *arg)
{
	struct cli_watchdog *w = arg;
	int64_t start = mono_ns(), cancel_at = 0;
	int64_t warned_op = -1;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		struct timespec ts;
		char cur[4096], msg[4600], *esc;
		int64_t running, now;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		if (w->stop)
			break;
		now = mono_ns();
		lb_progress_current(w->p, cur, sizeof cur, &running);
		if (w->stall_s > 0 && running > (int64_t)w->stall_s * 1000000000 &&
		    warned_op != w->p->op_start_ns) {
			warned_op = w->p->op_start_ns;
			esc = cli_escape(cur, strlen(cur));
			snprintf(msg, sizeof msg, "lifeboat: %s: stalled: no progress on %s for %lld s", w->what,
				 esc ? esc : cur, (long long)(running / 1000000000));
			fprintf(stderr, "%s%s\n", g_cli.tty ? "\r\033[K" : "", msg);
			cli_log_line(msg);
			free(esc);
		}
		if (w->timeout_s > 0 && !w->fired && now - start > (int64_t)w->timeout_s * 1000000000) {
			esc = cli_escape(cur, strlen(cur));
			snprintf(msg, sizeof msg, "lifeboat: %s: timed out after %ld s%s%s; stopping", w->what,
				 w->timeout_s, running ? " while on " : "", running && esc ? esc : "");
			fprintf(stderr, "%s%s\n", g_cli.tty ? "\r\033[K" : "", msg);
			cli_log_line(msg);
			free(esc);
			w->fired = 1;
			w->p->cancel = 1;
			cancel_at = now;
		}
		/* the work gets 5 s to stop after the timeout, or 2 min if it is
		 * already committing a finished snapshot */
		if (w->fired && now - cancel_at > (__atomic_load_n(&w->p->phase, __ATOMIC_RELAXED) == LB_PHASE_COMMIT
						   ? 120 : 5) * 1000000000LL) {
			/* the work is stuck in the kernel (a hung mount): nothing
			 * was committed, so leaving now is clean */
			snprintf(msg, sizeof msg, "lifeboat: %s: still blocked in the kernel after the timeout; exiting "
				 "now (nothing half-written is ever committed)", w->what);
			cli_stderr_line(msg);
			snprintf(last_error, sizeof last_error, "%.4000s", msg + strlen("lifeboat: "));
			if (hard_exit_fn)
				hard_exit_fn(hard_exit_ctx);
			_exit(EXIT_ERROR);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct cli_watchdog *cli_watchdog_start(struct lb_progress *p, long stall_s, long timeout_s, const char *what)
{
	struct cli_watchdog *w;

	if (stall_s <= 0 && timeout_s <= 0)
		return NULL;
	w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->p = p;
	w->stall_s = stall_s;
	w->timeout_s = timeout_s;
	w->what = what;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, watchdog_main, w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

bool cli_watchdog_fired(struct cli_watchdog *w)
{
	return w && w->fired;
}

void cli_watchdog_stop(struct cli_watchdog *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	free(w);
}

/* ---- signals ---- */

static struct lb_progress *sig_progress;
volatile sig_atomic_t g_cli_interrupted;

static void on_signal(int sig)
{
	if (++g_cli_interrupted > 1 || !sig_progress)
		_exit(128 + sig);
	sig_progress->cancel = 1;
}

void cli_signals_cancel(struct lb_progress *p)
{
	struct sigaction sa;

	sig_progress = p;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

bool cli_source_ls_open(int argc, char **argv, const char *cmd, const char *source, const char *none,
			struct lb_repo **r, struct lb_snapshot **s, json_t **sec, int *code)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0 } };
	int c, e;

	*r = NULL;
	*s = NULL;
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		if (c == 'h') {
			printf("usage: lifeboat [-r REPO] %s SNAPSHOT\n", cmd);
			*code = EXIT_OK;
			return false;
		}
		*code = EXIT_USAGE;
		return false;
	}
	if (optind + 1 != argc) {
		cli_error("usage: lifeboat %s SNAPSHOT", cmd);
		*code = EXIT_USAGE;
		return false;
	}
	*code = EXIT_ERROR;
	if (cli_open_repo(r) < 0)
		return false;
	if ((e = lb_snapshot_find(*r, argv[optind], s)) < 0) {
		cli_fail(e);
	} else if (!(*sec = json_object_get(json_object_get((*s)->json, "sources"), source))) {
		cli_error("snapshot %.12s %s", (*s)->id, none);
	} else {
		return true;
	}
	lb_snapshot_free(*s);
	lb_repo_close(*r);
	*s = NULL;
	*r = NULL;
	return false;
}

void cli_print_json_line(json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;

	if (txt)
		printf("%s\n", txt);
	free(txt);
	json_decref(j);
}

void cli_warn_entry(void *ctx, const char *path, size_t pathlen, const char *msg)
{
	int *count = ctx;
	char *esc = cli_escape(path, pathlen);

	if (pathlen)
		cli_warn("%s: %s", esc ? esc : "?", msg);
	else
		cli_warn("%s", msg);
	free(esc);
	(*count)++;
}
