#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <jansson.h>

#include "lifeboat/marker.h"
#include "store/store.h"

struct lb_marker {
	struct lb_repo *r;
	char name[80], what[128];
	int64_t start_ns;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, started;
};

static int marker_write(struct lb_marker *m)
{
	char host[256] = "", *text;
	json_t *j;
	int e;

	gethostname(host, sizeof host - 1);
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "what", m->what, "host", host, "pid", (json_int_t)getpid(),
		      "start", (json_int_t)(m->start_ns / 1000000000), "start_ns", (json_int_t)m->start_ns, "heartbeat",
		      (json_int_t)(lb_now_ns() / 1000000000));
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	e = lb_repo_put_sealed(m->r, LB_KIND_LOCK, m->name, text, strlen(text));
	free(text);
	return e;
}

static void *beat(void *arg)
{
	struct lb_marker *m = arg;

	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += LB_MARKER_HEARTBEAT_S;
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
		if (!m->stop) {
			pthread_mutex_unlock(&m->mu);
			marker_write(m);
			pthread_mutex_lock(&m->mu);
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

static char purpose[128] = "lifeboat";

void lb_marker_set_purpose(const char *what)
{
	snprintf(purpose, sizeof purpose, "%s", what);
}

int lb_marker_start(struct lb_repo *r, const char *what, struct lb_marker **ret)
{
	struct lb_marker *m = calloc(1, sizeof *m);
	uint8_t rnd[12];
	char hex[25];
	int e;

	if (!m)
		return -ENOMEM;
	if ((e = lb_random(rnd, sizeof rnd)) < 0) {
		free(m);
		return e;
	}
	lb_hex(hex, rnd, sizeof rnd);
	m->r = r;
	snprintf(m->name, sizeof m->name, "run-%s", hex);
	snprintf(m->what, sizeof m->what, "%s", what ? what : purpose);
	m->start_ns = lb_now_ns();
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	if ((e = marker_write(m)) < 0) {
		lb_err_wrap(e, "announcing this run in the repository's locks/");
		free(m);
		return e;
	}
	if (pthread_create(&m->th, NULL, beat, m) == 0)
		m->started = true;
	*ret = m;
	return 0;
}

int lb_marker_after_fork(struct lb_marker *m)
{
	int e;

	if (!m)
		return 0;
	/* the parent's heartbeat thread did not come along, and its lock and
	 * condition may be in any state: start both afresh, and rewrite the
	 * marker so that it names this pid */
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->stop = false;
	m->started = false;
	if ((e = marker_write(m)) < 0)
		return lb_err_wrap(e, "announcing this run (pid %ld) in the repository's locks/", (long)getpid());
	if (pthread_create(&m->th, NULL, beat, m) == 0)
		m->started = true;
	return 0;
}

const char *lb_marker_name(const struct lb_marker *m)
{
	return m->name;
}

int64_t lb_marker_start_ns(const struct lb_marker *m)
{
	return m->start_ns;
}

void lb_marker_stop(struct lb_marker *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->started)
		pthread_join(m->th, NULL);
	m->r->be->ops->remove(m->r->be, LB_KIND_LOCK, m->name);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
}

struct list_ctx {
	struct lb_repo *r;
	int (*fn)(const struct lb_marker_info *m, void *ctx);
	void *ctx;
	struct lb_buf b;
	char host[256];
};

static int list_cb(const char *name, uint64_t size, void *ctx)
{
	struct list_ctx *c = ctx;
	struct lb_marker_info mi = { 0 };
	json_error_t je;
	json_t *j;
	const char *what = "", *host = "";
	json_int_t pid = 0, start = 0, start_ns = 0, hb = 0;

	if (strncmp(name, "run-", 4))
		return 0;
	if (lb_repo_get_sealed(c->r, LB_KIND_LOCK, name, &c->b) < 0)
		return 0; /* removed meanwhile, or damaged: not a live writer */
	j = json_loadb((const char *)c->b.data, c->b.len, 0, &je);
	if (!j || json_unpack(j, "{s:s, s:s, s:I, s:I, s:I}", "what", &what, "host", &host, "pid", &pid, "start",
			      &start, "heartbeat", &hb) != 0) {
		json_decref(j);
		return 0;
	}
	snprintf(mi.name, sizeof mi.name, "%s", name);
	snprintf(mi.what, sizeof mi.what, "%s", what);
	snprintf(mi.host, sizeof mi.host, "%s", host);
	mi.pid = (long)pid;
	json_unpack(j, "{s:I}", "start_ns", &start_ns);
	mi.start_s = start;
	mi.start_ns = start_ns ? start_ns : (int64_t)start * 1000000000;
	mi.heartbeat_s = hb;
	mi.fresh = lb_now_ns() / 1000000000 - hb <= LB_MARKER_STALE_S;
	mi.same_host = strcmp(host, c->host) == 0;
	/* on this host a dead pid settles it at once: a backup killed by
	 * SIGKILL must not hold up prune for the stale period */
	if (mi.same_host && mi.fresh && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		mi.fresh = false;
	mi.own = mi.same_host && pid == getpid();
	json_decref(j);
	return c->fn(&mi, c->ctx);
}

int lb_markers_list(struct lb_repo *r, int (*fn)(const struct lb_marker_info *m, void *ctx), void *ctx)
{
	struct list_ctx c = { .r = r, .fn = fn, .ctx = ctx };
	int e;

	gethostname(c.host, sizeof c.host - 1);
	lb_buf_init(&c.b, LB_SNAPSHOT_MAX);
	e = r->be->ops->list(r->be, LB_KIND_LOCK, list_cb, &c);
	lb_buf_release(&c.b);
	return e;
}
