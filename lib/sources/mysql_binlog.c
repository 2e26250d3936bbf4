/* Point-in-time recovery: the binlog archive and its replay.
 *
 * The archiver connects as a replica (mariadb_rpl API) and stores the raw
 * binlog events, byte for byte, as segments: each segment is a small
 * snapshot (tag "binlog") whose "binlog" tree holds the events of one
 * binlog file from position `start` to `end`, and the file's format
 * description event.  It resumes from the last segment it committed (or,
 * the first time, from the oldest binlog the server still has), rides out
 * server restarts by reconnecting, and follows rotation.
 *
 * The replay rebuilds binlog files from the segments, from the base dump's
 * recorded position onward, checks there is no gap, and feeds them through
 * mariadb-binlog (--stop-datetime / --stop-position) into the server with
 * the mariadb client: the real tools, reading real binlog files. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lifeboat/snapshot.h"
#include "snap/vtree.h"
#include "sources/mysql_internal.h"
#include "store/store.h"
#include <mariadb_rpl.h>

#define SEG_SECS 60
#define SEG_BYTES (16u << 20)
#define BINLOG_MAGIC "\xfe" "bin"
#define EV_HEADER 19
#ifndef LOG_EVENT_ARTIFICIAL_F
#define LOG_EVENT_ARTIFICIAL_F 0x20
#endif
#define DEFAULT_SERVER_ID 4047001u

/* ---- the archive ---- */

struct segment {
	char file[256];
	uint64_t start, end;
	int64_t first_ts, last_ts;
	uint64_t events;
	struct lb_vsnapshot *vs;
	struct lb_vtree *vt;
	struct lb_vfile *f;
	int64_t opened_ns;
};

struct archiver {
	struct lb_repo *r;
	const struct lb_binlog_opts *o;
	char key[300];
	char host[256];
	char file[256];          /* where the stream is */
	uint64_t pos;
	uint8_t *fde;            /* the current file's format description event */
	size_t fdelen;
	struct segment seg;
	uint64_t committed;
	char prev_file[256];     /* set at a rotation: where the previous file ended */
	uint64_t prev_end;
	size_t cksum_len;        /* 4 when events end with a CRC32, else 0 */
};

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void say(const struct lb_binlog_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct lb_binlog_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!o->info)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	o->info(o->ctx, msg);
}

static bool canceled(const struct lb_binlog_opts *o)
{
	return o->progress && o->progress->cancel;
}

static int seg_open(struct archiver *a)
{
	struct lb_vmeta meta = { .mode = 0640, .mtime_s = lb_now_ns() / 1000000000 };
	struct segment *s = &a->seg;
	int e;

	memset(s, 0, sizeof *s);
	snprintf(s->file, sizeof s->file, "%s", a->file);
	s->start = s->end = a->pos;
	s->opened_ns = lb_mono_ns();
	if ((e = lb_vsnapshot_begin(a->r, &s->vs, &s->vt)) < 0)
		return e;
	return lb_vfile_open(s->vt, "events", &meta, &s->f);
}

/* Commits the open segment (if it holds anything) as a snapshot. */
static int seg_commit(struct archiver *a)
{
	struct lb_vmeta meta = { .mode = 0640, .mtime_s = lb_now_ns() / 1000000000 };
	struct segment *s = &a->seg;
	static const char *tags[] = { "binlog" };
	struct lb_vfile *ff = NULL;
	json_t *sec;
	char id[65];
	int e = 0;

	if (!s->vs)
		return 0;
	if (s->events == 0) {
		lb_vfile_abort(s->f);
		lb_vsnapshot_free(s->vs);
		memset(s, 0, sizeof *s);
		return 0;
	}
	if ((e = lb_vfile_close(s->f, NULL)) < 0)
		goto out;
	s->f = NULL;
	if (a->fde) {
		if ((e = lb_vfile_open(s->vt, "fde", &meta, &ff)) < 0 || (e = lb_vfile_write(ff, a->fde, a->fdelen)) < 0 ||
		    (e = lb_vfile_close(ff, NULL)) < 0) {
			ff = NULL;
			goto out;
		}
	}
	sec = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "server_key", a->key, "file", s->file,
			"start", (json_int_t)s->start, "end", (json_int_t)s->end, "first_ts", (json_int_t)s->first_ts,
			"last_ts", (json_int_t)s->last_ts, "events", (json_int_t)s->events);
	if (!sec) {
		e = -ENOMEM;
		goto out;
	}
	/* the first segment of a file the stream rotated into says where the
	 * previous file ended, so a roll forward can tell it has all of it */
	if (s->start == 4 && a->prev_file[0] &&
	    (json_object_set_new(sec, "prev_file", json_string(a->prev_file)) < 0 ||
	     json_object_set_new(sec, "prev_end", json_integer((json_int_t)a->prev_end)) < 0)) {
		json_decref(sec);
		e = -ENOMEM;
		goto out;
	}
	e = lb_vsnapshot_commit(s->vs, a->host, tags, 1, "binlog", sec, id);
	json_decref(sec);
	if (e == 0) {
		a->committed++;
		if (s->start == 4)
			a->prev_file[0] = 0;
		say(a->o, "archived %s %llu-%llu (%llu events) as %.12s", s->file, (unsigned long long)s->start,
		    (unsigned long long)s->end, (unsigned long long)s->events, id);
	}
out:
	lb_vfile_abort(s->f);
	lb_vsnapshot_free(s->vs);
	memset(s, 0, sizeof *s);
	return e;
}

/* Where the archive stopped for this server: the last segment's end. */
struct resume_ctx {
	const char *key;
	char file[256];
	uint64_t end;
	bool found;
};

static int cmp_binlog_name(const char *a, const char *b)
{
	/* binlog.000009 < binlog.000010: same base, compare the numbers */
	const char *da = strrchr(a, '.'), *db = strrchr(b, '.');

	if (da && db && (size_t)(da - a) == (size_t)(db - b) && !strncmp(a, b, (size_t)(da - a)))
		return strtoull(da + 1, NULL, 10) < strtoull(db + 1, NULL, 10) ? -1
		       : strtoull(da + 1, NULL, 10) > strtoull(db + 1, NULL, 10);
	return strcmp(a, b);
}

static int find_resume(struct lb_repo *r, struct resume_ctx *rc)
{
	struct lb_snapshot **v;
	size_t n;
	int e = lb_snapshot_list(r, &v, &n);

	if (e < 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		json_t *b = json_object_get(json_object_get(v[i]->json, "sources"), "binlog");
		const char *key = json_string_value(json_object_get(b, "server_key"));
		const char *file = json_string_value(json_object_get(b, "file"));
		uint64_t end = (uint64_t)json_integer_value(json_object_get(b, "end"));

		if (!b || !key || !file || strcmp(key, rc->key))
			continue;
		if (!rc->found || cmp_binlog_name(file, rc->file) > 0 ||
		    (!cmp_binlog_name(file, rc->file) && end > rc->end)) {
			snprintf(rc->file, sizeof rc->file, "%s", file);
			rc->end = end;
			rc->found = true;
		}
	}
	lb_snapshot_list_free(v, n);
	return 0;
}

static int take_event(struct archiver *a, MARIADB_RPL_EVENT *ev)
{
	const uint8_t *raw = ev->raw_data;
	size_t len = ev->raw_data_size;
	int e;

	/* the stream's raw packet may carry the OK byte first */
	if (len == (size_t)ev->event_length + 1 && raw[0] == 0) {
		raw++;
		len--;
	}
	if (len != ev->event_length || len < EV_HEADER)
		return lb_err(-LB_E_CORRUPT, "binlog: event of %zu bytes, its header says %u", len, ev->event_length);
	if (ev->event_type == ROTATE_EVENT) {
		/* parsed here from the raw bytes (the connector's parse of a rotate
		 * read from the binlog itself is off by the position field): 8 bytes
		 * of position, then the name up to the checksum, if any */
		char name[256];
		size_t nl;

		if (len < EV_HEADER + 8 + a->cksum_len + 1)
			return lb_err(-LB_E_CORRUPT, "binlog: a rotate event of %zu bytes", len);
		nl = LB_MIN(len - EV_HEADER - 8 - a->cksum_len, sizeof name - 1);
		memcpy(name, raw + EV_HEADER + 8, nl);
		name[nl] = 0;
		nl = strnlen(name, nl);
		name[nl] = 0;
		if (!nl)
			return lb_err(-LB_E_CORRUPT, "binlog: a rotate event without a file name");
		if (strcmp(name, a->file) != 0) {
			/* a new file: what we have of the old one is complete */
			if ((e = seg_commit(a)) < 0)
				return e;
			if (a->file[0]) {
				snprintf(a->prev_file, sizeof a->prev_file, "%s", a->file);
				a->prev_end = a->pos;
			}
			free(a->fde);
			a->fde = NULL;
			a->fdelen = 0;
		}
		snprintf(a->file, sizeof a->file, "%s", name);
		a->pos = get_le64(raw + EV_HEADER);
		return 0;
	}
	if (ev->event_type == HEARTBEAT_LOG_EVENT)
		return 0;
	if (ev->event_type == FORMAT_DESCRIPTION_EVENT) {
		uint8_t *c = malloc(len);

		if (!c)
			return -ENOMEM;
		memcpy(c, raw, len);
		free(a->fde);
		a->fde = c;
		a->fdelen = len;
		if (ev->next_event_pos == 0 || (ev->flags & LOG_EVENT_ARTIFICIAL_F))
			return 0; /* sent again for a stream that starts mid-file: not part of it */
	}
	if (!a->seg.vs && (e = seg_open(a)) < 0)
		return e;
	if ((e = lb_vfile_write(a->seg.f, raw, len)) < 0)
		return e;
	if (!a->seg.events)
		a->seg.first_ts = ev->timestamp;
	a->seg.last_ts = ev->timestamp;
	a->seg.events++;
	if (ev->next_event_pos)
		a->pos = ev->next_event_pos;
	else
		a->pos += len;
	a->seg.end = a->pos;
	if (a->o->progress)
		__atomic_add_fetch(&a->o->progress->bytes, len, __ATOMIC_RELAXED);
	return 0;
}

static bool seg_due(struct archiver *a)
{
	unsigned secs = a->o->segment_secs ? a->o->segment_secs : SEG_SECS;
	uint64_t bytes = a->o->segment_bytes ? a->o->segment_bytes : SEG_BYTES;

	if (!a->seg.vs)
		return false;
	return lb_mono_ns() - a->seg.opened_ns > (int64_t)secs * 1000000000 ||
	       (a->seg.end - a->seg.start) >= bytes;
}

/* One connection's worth of streaming; returns when the server goes away
 * (to reconnect), on cancel, or on a real error. */
static int stream(struct archiver *a)
{
	MYSQL *m = NULL;
	MARIADB_RPL *rpl = NULL;
	MARIADB_RPL_EVENT *ev = NULL;
	unsigned sid = a->o->server_id ? a->o->server_id : DEFAULT_SERVER_ID;
	char checksum[32] = "NONE";
	int e;

	if ((e = lb_my_connect(&a->o->conn, &m)) < 0)
		return e;
	/* the events exactly as the binlog has them, checksums included, and a
	 * heartbeat each second so segments commit and cancels are seen */
	lb_my_scalar(m, "SELECT @@GLOBAL.binlog_checksum", 0, checksum, sizeof checksum);
	a->cksum_len = strcasecmp(checksum, "NONE") ? 4 : 0;
	if ((e = lb_my_execf(m, "SET @master_binlog_checksum='%s', @mariadb_slave_capability=4, "
			     "@master_heartbeat_period=1000000000", checksum)) < 0)
		goto out;
	if (!a->key[0] && (e = lb_my_server_key(m, a->key, sizeof a->key)) < 0)
		goto out;
	if (!a->file[0]) {
		struct resume_ctx rc = { .key = a->key };

		if ((e = find_resume(a->r, &rc)) < 0)
			goto out;
		if (rc.found) {
			snprintf(a->file, sizeof a->file, "%s", rc.file);
			a->pos = rc.end;
			say(a->o, "resuming the archive of %s at %s:%llu", a->key, a->file, (unsigned long long)a->pos);
		} else if ((e = lb_my_scalar(m, "SHOW BINARY LOGS", 0, a->file, sizeof a->file)) < 0) {
			lb_err_wrap(e, "binlog: is log_bin enabled on the server?");
			goto out;
		} else {
			a->pos = 4;
			say(a->o, "starting the archive of %s at its oldest binlog, %s", a->key, a->file);
		}
	}
	rpl = mariadb_rpl_init(m);
	if (!rpl) {
		e = lb_err(-ENOMEM, "binlog: cannot set up the replication stream");
		goto out;
	}
	mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, a->file, strlen(a->file));
	mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, (unsigned long)a->pos);
	mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, sid);
	mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS, (unsigned int)MARIADB_RPL_BINLOG_SEND_ANNOTATE_ROWS);
	if (mariadb_rpl_open(rpl) != 0) {
		e = lb_err(mysql_errno(m) == 1227 ? -EACCES : -EIO, "binlog: cannot follow %s from %s:%llu: %s",
			   a->key, a->file, (unsigned long long)a->pos, mysql_error(m));
		goto out;
	}
	for (;;) {
		if (canceled(a->o)) {
			e = -LB_E_CANCELED;
			break;
		}
		ev = mariadb_rpl_fetch(rpl, ev);
		if (!ev) {
			/* the server went away or stopped the stream: reconnect */
			e = lb_err(-ECONNRESET, "binlog: stream from %s ended: %s", a->key,
				   mysql_error(m)[0] ? mysql_error(m) : "connection closed");
			break;
		}
		if ((e = take_event(a, ev)) < 0)
			break;
		if (seg_due(a) && (e = seg_commit(a)) < 0)
			break;
	}
out:
	if (ev)
		mariadb_free_rpl_event(ev);
	if (rpl)
		mariadb_rpl_close(rpl);
	mysql_close(m);
	return e;
}

int lb_mysql_binlog_archive(struct lb_repo *r, const struct lb_binlog_opts *o)
{
	struct archiver a = { .r = r, .o = o };
	unsigned backoff = 1;
	int e;

	if (o->host_label)
		snprintf(a.host, sizeof a.host, "%s", o->host_label);
	else
		gethostname(a.host, sizeof a.host - 1);
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		return e;
	for (;;) {
		e = stream(&a);
		/* whatever happened, what arrived is kept */
		if (seg_commit(&a) < 0 && e >= 0)
			e = -EIO;
		if (e == -LB_E_CANCELED || canceled(o)) {
			e = 0;
			break;
		}
		if (e == -EACCES || e == -LB_E_CORRUPT || e == -ENOMEM)
			break;
		say(o, "%s; reconnecting in %u s", lb_errmsg(), backoff);
		for (unsigned i = 0; i < backoff * 10 && !canceled(o); i++)
			usleep(100000);
		if (canceled(o)) {
			e = 0;
			break;
		}
		backoff = backoff < 30 ? backoff * 2 : 30;
	}
	free(a.fde);
	return e;
}

/* ---- replay ---- */

struct seg_ref {
	char file[256];
	char prev_file[256];     /* "" when the segment does not say */
	uint64_t start, end, prev_end;
	int64_t time_s;          /* when the segment was committed */
	uint8_t tree[32];
};

/* Where the archive used by a roll forward ends. */
struct arch_end {
	char file[256];
	uint64_t pos;
	int64_t committed_s;     /* when its last segment was committed */
};

static int cmp_seg(const void *x, const void *y)
{
	const struct seg_ref *a = x, *b = y;
	int c = cmp_binlog_name(a->file, b->file);

	if (c)
		return c;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end > b->end ? -1 : a->end < b->end; /* longer first */
}

struct writer_ctx {
	int fd;
	uint64_t skip;   /* bytes of the segment before the base position */
};

static int write_cb(const uint8_t *data, size_t len, void *ctx)
{
	struct writer_ctx *w = ctx;

	if (w->skip >= len) {
		w->skip -= len;
		return 0;
	}
	data += w->skip;
	len -= w->skip;
	w->skip = 0;
	return lb_write_full(w->fd, data, len) < 0 ? lb_errno(-errno, "binlog: writing a rebuilt binlog") : 0;
}

/* Rebuilds the binlog files from (file, pos) on into dir; returns their
 * names in *files (an argv-ready list, in order) and where the archive
 * ends in *end.  With dir NULL, only checks that the archive covers the
 * binlog from (file, pos) on without a gap, writing nothing. */
static int rebuild(struct lb_repo *r, const char *key, const char *file, uint64_t pos, const char *dir,
		   char ***files, size_t *nfiles, struct arch_end *end)
{
	struct lb_snapshot **v;
	struct seg_ref *segs = NULL;
	size_t n, ns = 0;
	char curfile[256] = "";
	uint64_t curpos = 0;
	bool used = false;
	int fd = -1, e = lb_snapshot_list(r, &v, &n);

	*files = NULL;
	*nfiles = 0;
	if (e < 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		json_t *b = json_object_get(json_object_get(v[i]->json, "sources"), "binlog");
		const char *k = json_string_value(json_object_get(b, "server_key"));
		const char *f = json_string_value(json_object_get(b, "file"));
		struct seg_ref *ns2;

		if (!b || !k || !f || strcmp(k, key))
			continue;
		if (cmp_binlog_name(f, file) < 0)
			continue;
		ns2 = realloc(segs, (ns + 1) * sizeof *segs);
		if (!ns2) {
			e = -ENOMEM;
			goto out;
		}
		segs = ns2;
		snprintf(segs[ns].file, sizeof segs[ns].file, "%s", f);
		segs[ns].start = (uint64_t)json_integer_value(json_object_get(b, "start"));
		segs[ns].end = (uint64_t)json_integer_value(json_object_get(b, "end"));
		segs[ns].time_s = v[i]->time_s;
		snprintf(segs[ns].prev_file, sizeof segs[ns].prev_file, "%s",
			 json_string_value(json_object_get(b, "prev_file")) ?: "");
		segs[ns].prev_end = (uint64_t)json_integer_value(json_object_get(b, "prev_end"));
		if ((e = lb_snapshot_source_tree(v[i], "binlog", segs[ns].tree)) < 0)
			goto out;
		ns++;
	}
	if (ns)
		qsort(segs, ns, sizeof *segs, cmp_seg);
	snprintf(curfile, sizeof curfile, "%s", file);
	curpos = pos;
	memset(end, 0, sizeof *end);
	for (size_t i = 0; i < ns; i++) {
		struct seg_ref *s = &segs[i];
		struct writer_ctx w;

		if (!strcmp(s->file, curfile)) {
			if (s->end <= curpos) {
				/* already covered; one ending exactly here shows the
				 * archive had the file up to the base position */
				if (s->end == curpos)
					used = true;
				continue;
			}
			if (s->start > curpos) {
				e = lb_err(-LB_E_NOTFOUND, "binlog archive: a gap in %s between %llu and %llu; the roll "
					   "forward cannot go past it", curfile, (unsigned long long)curpos,
					   (unsigned long long)s->start);
				goto out;
			}
		} else {
			/* the next file: the archive must have finished the current one
			 * (a rotate is the last thing in it) and start the next at 4 */
			if (s->start != 4) {
				e = lb_err(-LB_E_NOTFOUND, "binlog archive: %s starts at %llu, not at its beginning",
					   s->file, (unsigned long long)s->start);
				goto out;
			}
			if (!s->prev_file[0] && !used) {
				e = lb_err(-LB_E_NOTFOUND, "binlog archive: nothing archived of %s after %llu (the "
					   "snapshot's position); it begins at %s", curfile, (unsigned long long)curpos,
					   s->file);
				goto out;
			}
			if (s->prev_file[0] && (cmp_binlog_name(s->prev_file, curfile) || s->prev_end > curpos)) {
				e = lb_err(-LB_E_NOTFOUND, "binlog archive: a gap before %s: the archive has %s up to "
					   "%llu, but the server went on to %s:%llu; the roll forward cannot go past it",
					   s->file, curfile, (unsigned long long)curpos, s->prev_file,
					   (unsigned long long)s->prev_end);
				goto out;
			}
			if (fd >= 0)
				close(fd);
			fd = -1;
			snprintf(curfile, sizeof curfile, "%s", s->file);
			curpos = 4;
		}
		if (!dir) {
			/* a dry run: only the coverage */
			if (!*nfiles || strcmp(end->file, curfile))
				(*nfiles)++;
		} else if (fd < 0) {
			char path[4700];
			uint8_t *fde;
			size_t fdelen;
			char **nf = realloc(*files, (*nfiles + 1) * sizeof **files);

			if (!nf) {
				e = -ENOMEM;
				goto out;
			}
			*files = nf;
			snprintf(path, sizeof path, "%s/%s", dir, curfile);
			if (!((*files)[*nfiles] = strdup(path))) {
				e = -ENOMEM;
				goto out;
			}
			(*nfiles)++;
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0) {
				e = lb_errno(-errno, "binlog: %s", path);
				goto out;
			}
			if ((e = lb_write_full(fd, BINLOG_MAGIC, 4)) < 0)
				goto out;
			/* a file rebuilt from mid-way starts with its format event */
			if (s->start > 4 || curpos > 4) {
				if ((e = lb_tree_read_file(r, s->tree, "fde", 1 << 20, &fde, &fdelen)) < 0) {
					lb_err_wrap(e, "binlog archive: %s has no format description event", curfile);
					goto out;
				}
				e = lb_write_full(fd, fde, fdelen);
				free(fde);
				if (e < 0)
					goto out;
			}
		}
		if (dir) {
			w.fd = fd;
			w.skip = curpos > s->start ? curpos - s->start : 0;
			if ((e = lb_tree_stream_file(r, s->tree, "events", write_cb, &w)) < 0)
				goto out;
		}
		curpos = s->end;
		used = true;
		snprintf(end->file, sizeof end->file, "%s", curfile);
		end->pos = curpos;
		if (s->time_s > end->committed_s)
			end->committed_s = s->time_s;
	}
	if (!*nfiles)
		e = lb_err(-LB_E_NOTFOUND, "binlog archive: nothing archived for %s from %s:%llu on; is "
			   "`lifeboat mysql binlog-archive` running?", key, file, (unsigned long long)pos);
	else
		e = 0;
out:
	if (fd >= 0)
		close(fd);
	free(segs);
	lb_snapshot_list_free(v, n);
	return e;
}

/* Builds the mariadb client's arguments for conn. */
static void client_args(const struct lb_mysql_conn *c, char **argv, int *argc, char *buf, size_t n)
{
	size_t w = 0;

#define ADD(fmt, val)                                                                      \
	do {                                                                               \
		int k = snprintf(buf + w, n - w, fmt, val);                                \
		argv[(*argc)++] = buf + w;                                                 \
		w += (size_t)k + 1;                                                        \
	} while (0)
	if (c->defaults_file)
		ADD("--defaults-file=%s", c->defaults_file);
	if (c->socket)
		ADD("--socket=%s", c->socket);
	if (c->host)
		ADD("--host=%s", c->host);
	if (c->port)
		ADD("--port=%u", c->port);
	if (c->user)
		ADD("--user=%s", c->user);
#undef ADD
}

static int parse_when(const char *s, int64_t *out)
{
	struct tm tm;
	int64_t sec;
	long ns;

	if (lb_time_parse(s, &sec, &ns) == 0 && strchr(s, 'Z')) {
		*out = sec;
		return 0;
	}
	/* without a Z: local time, as an administrator types it */
	memset(&tm, 0, sizeof tm);
	if (!strptime(s, "%Y-%m-%d %H:%M:%S", &tm) && !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return lb_err(-EINVAL, "'%s' is not a time (YYYY-MM-DD HH:MM:SS, local, or ...Z for UTC)", s);
	tm.tm_isdst = -1;
	*out = (int64_t)mktime(&tm);
	return 0;
}

/* The point in time of o, checked against snapshot s: the base position
 * (key, file, pos), mariadb-binlog's stop option, and the time (0 for a
 * GTID). */
struct pitr_point {
	const char *key, *file;
	uint64_t pos;
	char stop[128];
	int64_t until;
};

static int pitr_point(const struct lb_snapshot *s, const struct lb_mysql_restore_opts *o, struct pitr_point *pt)
{
	json_t *sec = json_object_get(json_object_get(s->json, "sources"), "mysql");
	json_t *bl = json_object_get(sec, "binlog");
	int e;

	memset(pt, 0, sizeof *pt);
	pt->key = json_string_value(json_object_get(sec, "server_key"));
	pt->file = json_string_value(json_object_get(bl, "file"));
	pt->pos = (uint64_t)json_integer_value(json_object_get(bl, "position"));
	if (!pt->key || !pt->file || !pt->file[0])
		return lb_err(-LB_E_NOTFOUND, "snapshot %.12s has no binlog position (binlog disabled on the server "
			      "when it was taken?): no point-in-time recovery from it", s->id);
	if (o->until_time) {
		struct tm tm;

		if ((e = parse_when(o->until_time, &pt->until)) < 0)
			return e;
		if (pt->until < s->time_s)
			return lb_err(-EINVAL, "the point in time %s is before snapshot %.12s was taken: restore an "
				      "earlier snapshot", o->until_time, s->id);
		gmtime_r((time_t *)&pt->until, &tm);
		strftime(pt->stop, sizeof pt->stop, "--stop-datetime=%Y-%m-%d %H:%M:%S", &tm);
	} else {
		if (!o->until_gtid || !o->until_gtid[0] || strlen(o->until_gtid) > 100 ||
		    strspn(o->until_gtid, "0123456789-,") != strlen(o->until_gtid))
			return lb_err(-EINVAL, "'%s' is not a GTID (domain-server-sequence, like 0-1-4711)",
				      o->until_gtid ? o->until_gtid : "");
		snprintf(pt->stop, sizeof pt->stop, "--stop-position=%s", o->until_gtid);
	}
	return 0;
}

int lb_mysql_pitr_check(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_restore_opts *o)
{
	struct pitr_point pt;
	struct arch_end end;
	char **files = NULL;
	size_t nfiles = 0;
	int e;

	if ((e = pitr_point(s, o, &pt)) < 0)
		return e;
	return rebuild(r, pt.key, pt.file, pt.pos, NULL, &files, &nfiles, &end);
}

int lb_mysql_pitr_replay(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_restore_opts *o,
			 uint64_t *events)
{
	struct pitr_point pt;
	struct arch_end end;
	char dir[256], rewrite[1300] = "", dbopt[700] = "", cbuf[8192];
	char *stop = pt.stop;
	char **files = NULL, *argv[64];
	size_t nfiles = 0;
	int argc = 0, e, p1[2] = { -1, -1 }, p2[2] = { -1, -1 };
	pid_t binlog = -1, client = -1;

	*events = 0;
	if ((e = pitr_point(s, o, &pt)) < 0)
		return e;
	snprintf(dir, sizeof dir, "%s/lifeboat-pitr-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return lb_errno(-errno, "binlog: temporary directory");
	if ((e = rebuild(r, pt.key, pt.file, pt.pos, dir, &files, &nfiles, &end)) < 0)
		goto out;
	if (pt.until && pt.until > end.committed_s && o->warn) {
		char when[64], msg[1024];

		lb_time_format(when, sizeof when, end.committed_s, 0);
		snprintf(msg, sizeof msg, "the binlog archive ends at %s:%llu (archived %s), before %s: the "
			 "restore rolls forward to there, and changes after it, if any, are not in the archive",
			 end.file, (unsigned long long)end.pos, when, o->until_time);
		o->warn(o->ctx, msg);
	}
	/* mariadb-binlog FILES... | mariadb */
	if (pipe(p1) < 0 || pipe(p2) < 0) {
		e = lb_errno(-errno, "pipe");
		goto out;
	}
	binlog = fork();
	if (binlog == 0) {
		char *a[64];
		int n = 0;

		dup2(p1[1], 1);
		close(p1[0]);
		close(p1[1]);
		close(p2[0]);
		close(p2[1]);
		setenv("TZ", "UTC", 1);
		a[n++] = (char *)"mariadb-binlog";
		a[n++] = (char *)"--disable-log-bin";
		/* the first rebuilt file starts mid-way, without the GTID list
		 * the server wrote at its head; strict mode would refuse that */
		a[n++] = (char *)"--skip-gtid-strict-mode";
		a[n++] = stop;
		if (o->database) {
			snprintf(dbopt, sizeof dbopt, "--database=%s", o->database);
			a[n++] = dbopt;
		}
		if (o->into) {
			snprintf(rewrite, sizeof rewrite, "--rewrite-db=%s->%s", o->database ? o->database : "", o->into);
			a[n++] = rewrite;
		}
		for (size_t i = 0; i < nfiles && n < 62; i++)
			a[n++] = files[i];
		a[n] = NULL;
		execvp(a[0], a);
		_exit(127);
	}
	client = fork();
	if (client == 0) {
		dup2(p2[0], 0);
		close(p1[0]);
		close(p1[1]);
		close(p2[0]);
		close(p2[1]);
		argv[argc++] = (char *)"mariadb";
		client_args(&o->conn, argv, &argc, cbuf, sizeof cbuf);
		argv[argc++] = (char *)"--binary-mode";
		argv[argc] = NULL;
		if (o->conn.password)
			setenv("MYSQL_PWD", o->conn.password, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p1[1]);
	close(p2[0]);
	p1[1] = p2[0] = -1;
	if (binlog < 0 || client < 0) {
		e = lb_errno(-errno, "fork");
		goto out;
	}
	{
		/* forward the SQL, counting events ("# at N" lines) on the way */
		char buf[65536];
		ssize_t k;
		char last = '\n';

		signal(SIGPIPE, SIG_IGN);
		while ((k = read(p1[0], buf, sizeof buf)) > 0) {
			for (ssize_t i = 0; i + 4 < k; i++)
				if ((i == 0 ? last : buf[i - 1]) == '\n' && !memcmp(buf + i, "# at ", 5))
					(*events)++;
			last = buf[k - 1];
			if (lb_write_full(p2[1], buf, (size_t)k) < 0)
				break;
		}
	}
	close(p2[1]);
	p2[1] = -1;
	{
		int st1 = 0, st2 = 0;

		waitpid(binlog, &st1, 0);
		waitpid(client, &st2, 0);
		binlog = client = -1;
		if (!WIFEXITED(st1) || WEXITSTATUS(st1))
			e = lb_err(-EIO, "binlog replay: mariadb-binlog failed (status %d)",
				   WIFEXITED(st1) ? WEXITSTATUS(st1) : -1);
		else if (!WIFEXITED(st2) || WEXITSTATUS(st2))
			e = lb_err(-EIO, "binlog replay: the mariadb client failed to apply the events (status %d)",
				   WIFEXITED(st2) ? WEXITSTATUS(st2) : -1);
		else
			e = 0;
	}
out:
	{
		int *fds[4] = { &p1[0], &p1[1], &p2[0], &p2[1] }; /* two arrays, not one */

		for (int i = 0; i < 4; i++)
			if (*fds[i] >= 0)
				close(*fds[i]);
	}
	if (binlog > 0)
		waitpid(binlog, NULL, 0);
	if (client > 0)
		waitpid(client, NULL, 0);
	for (size_t i = 0; i < nfiles; i++) {
		unlink(files[i]);
		free(files[i]);
	}
	free(files);
	rmdir(dir);
	return e;
}
