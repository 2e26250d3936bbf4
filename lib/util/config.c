/* The configuration file (see lifeboat/config.h for the format).
 *
 * inih splits lines into sections, keys and values and handles comments and
 * continuation lines.  Around it, our line reader keeps the raw text of each
 * line, counts lines, and reads section headers itself, so that every error
 * names its line, an empty or misspelt section is caught, and a command's
 * value is taken whole from the raw line (inih would cut it at an inline
 * " ;", which in a shell command is a separator) and is not limited by
 * inih's 200-byte line buffer. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ini.h>

#include "lifeboat/config.h"
#include "lifeboat/error.h"

#define LINE_MAX_BYTES 8192          /* a longer line is an error */
#define DURATION_MAX (366L * 86400)  /* no duration key needs more than a year */

enum kind {
	K_STR,      /* one string */
	K_CMD,      /* one shell command: no inline comments */
	K_LIST,     /* comma-separated items, repeatable */
	K_CMDLIST,  /* one command per key or continuation line, repeatable */
	K_BOOL,
	K_DURATION, /* 90, 90s, 30m, 2h, 1d */
	K_INT,
	K_MODE,     /* logical | snapshot */
	K_SPAN,     /* 1y6m, 2w, 36h */
};

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	long lo, hi;       /* K_INT, K_DURATION */
	bool job_first;    /* lists: the job's items before those of [global] */
};

#define F(field) offsetof(struct lb_conf_job, field)
static const struct key keys[] = {
	{ "repository", K_STR, F(repository), 0, 0, false },
	{ "password_file", K_STR, F(password_file), 0, 0, false },
	{ "paths", K_LIST, F(paths), 0, 0, false },
	{ "exclude", K_LIST, F(excludes), 0, 0, false },
	{ "tag", K_LIST, F(tags), 0, 0, false },
	{ "host", K_STR, F(host), 0, 0, false },
	{ "one_file_system", K_BOOL, F(one_file_system), 0, 0, false },
	{ "timeout", K_DURATION, F(timeout_s), 0, DURATION_MAX, false },
	{ "stall_warning", K_DURATION, F(stall_s), 0, DURATION_MAX, false },
	{ "workers", K_INT, F(workers), 1, 64, false },
	{ "mysql", K_BOOL, F(mysql), 0, 0, false },
	{ "mysql_defaults_file", K_STR, F(mysql_defaults_file), 0, 0, false },
	{ "mysql_databases", K_LIST, F(mysql_databases), 0, 0, false },
	{ "mysql_mode", K_MODE, F(mysql_mode), 0, 0, false },
	{ "mysql_jobs", K_INT, F(mysql_jobs), 1, 64, false },
	{ "mysql_lock_timeout", K_DURATION, F(mysql_lock_timeout_s), 1, 3600, false },
	{ "mysql_long_query", K_DURATION, F(mysql_long_query_s), 1, DURATION_MAX, false },
	{ "mysql_myisam_unlocked", K_BOOL, F(mysql_myisam_unlocked), 0, 0, false },
	{ "mysql_snapshot_hook", K_CMD, F(mysql_snapshot_hook), 0, 0, false },
	{ "mysql_snapshot_release", K_CMD, F(mysql_snapshot_release), 0, 0, false },
	{ "mail_spool", K_LIST, F(mail_spools), 0, 0, false },
	{ "mail_lock_timeout", K_DURATION, F(mail_lock_timeout_s), 1, 3600, false },
	{ "pre_hook", K_CMDLIST, F(pre_hooks), 0, 0, false },
	{ "post_hook", K_CMDLIST, F(post_hooks), 0, 0, true },
	{ "hook_timeout", K_DURATION, F(hook_timeout_s), 0, DURATION_MAX, false },
	{ "notify_mail", K_STR, F(notify_mail), 0, 0, false },
	{ "notify_from", K_STR, F(notify_from), 0, 0, false },
	{ "notify_stale_days", K_INT, F(notify_stale_days), 1, 3650, false },
	{ "state_dir", K_STR, F(state_dir), 0, 0, false },
	{ "keep_last", K_INT, F(keep.last), 0, 1000000, false },
	{ "keep_hourly", K_INT, F(keep.hourly), 0, 1000000, false },
	{ "keep_daily", K_INT, F(keep.daily), 0, 1000000, false },
	{ "keep_weekly", K_INT, F(keep.weekly), 0, 1000000, false },
	{ "keep_monthly", K_INT, F(keep.monthly), 0, 1000000, false },
	{ "keep_yearly", K_INT, F(keep.yearly), 0, 1000000, false },
	{ "keep_within", K_SPAN, F(keep.within), 0, 0, false },
	{ "keep_tag", K_LIST, F(keep.tags), 0, 0, false },
};
#undef F
#define NKEYS (sizeof keys / sizeof keys[0])

#define FIELD(j, k, type) ((type *)((char *)(j) + (k)->off))

struct parse {
	const char *name;        /* the file, for messages */
	const char *data;
	size_t len, pos;
	unsigned line;           /* of the line inih is working on */
	char raw[LINE_MAX_BYTES + 1];
	struct lb_conf *c;
	struct lb_conf_job *cur; /* NULL before the first section header */
	int err;
	unsigned err_line;
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (p->err)
		return p->err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->err = lb_err(-EINVAL, "%s:%u: %s", p->name, p->line, msg);
	p->err_line = p->line;
	return p->err;
}

static void job_init(struct lb_conf_job *j)
{
	memset(j, 0, sizeof *j);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->kind == K_BOOL || k->kind == K_MODE)
			*FIELD(j, k, int) = -1;
		else if (k->kind == K_INT || k->kind == K_DURATION)
			*FIELD(j, k, long) = -1;
	}
}

static void list_release(struct lb_conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void job_release(struct lb_conf_job *j)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->kind == K_STR || k->kind == K_CMD)
			free(*FIELD(j, k, char *));
		else if (k->kind == K_LIST || k->kind == K_CMDLIST)
			list_release(FIELD(j, k, struct lb_conf_list));
	}
	free(j->name);
}

/* Appends a copy of the len bytes at s. */
static int list_push(struct lb_conf_list *l, const char *s, size_t len)
{
	char **v, *x = strndup(s, len);

	if (!x)
		return -ENOMEM;
	v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (!v) {
		free(x);
		return -ENOMEM;
	}
	l->v = v;
	l->v[l->n++] = x;
	return 0;
}

static const char *section_label(const struct lb_conf_job *j, char *buf, size_t n)
{
	if (j->name)
		snprintf(buf, n, "[job %s]", j->name);
	else
		snprintf(buf, n, "[global]");
	return buf;
}

static bool valid_job_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LB_CONF_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* A section header: [global] or [job NAME]. */
static int section(struct parse *p, const char *t)
{
	const char *end = strchr(t, ']'), *rest;
	char inner[256], *s, *e;
	size_t n;

	if (!end)
		return fail(p, "'[' without a closing ']'");
	for (rest = end + 1; *rest == ' ' || *rest == '\t'; rest++)
		;
	if (*rest && *rest != ';' && *rest != '#')
		return fail(p, "unexpected text after the section header: '%.40s'", rest);
	n = (size_t)(end - t - 1);
	if (n >= sizeof inner)
		return fail(p, "section header too long");
	memcpy(inner, t + 1, n);
	inner[n] = 0;
	for (s = inner; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = 0;
	if (!strcmp(s, "global")) {
		if (p->c->global.line)
			return fail(p, "[global] appears twice (first on line %u)", p->c->global.line);
		p->c->global.line = p->line;
		p->cur = &p->c->global;
		return 0;
	}
	if (!strcmp(s, "job") || (!strncmp(s, "job", 3) && (s[3] == ' ' || s[3] == '\t'))) {
		struct lb_conf_job *jobs;
		const char *name = s + 3;

		while (*name == ' ' || *name == '\t')
			name++;
		if (!*name)
			return fail(p, "a job section needs a name: [job NAME]");
		if (!valid_job_name(name))
			return fail(p, "job name '%s': use at most %d letters, digits, '_', '.' and '-', "
				    "not starting with '.' or '-'", name, LB_CONF_NAME_MAX);
		for (size_t i = 0; i < p->c->njobs; i++)
			if (!strcmp(p->c->jobs[i].name, name))
				return fail(p, "[job %s] appears twice (first on line %u)", name, p->c->jobs[i].line);
		jobs = realloc(p->c->jobs, (p->c->njobs + 1) * sizeof *jobs);
		if (!jobs)
			return p->err = lb_err(-ENOMEM, "out of memory");
		p->c->jobs = jobs;
		p->cur = &jobs[p->c->njobs];
		job_init(p->cur);
		p->cur->line = p->line;
		if (!(p->cur->name = strdup(name)))
			return p->err = lb_err(-ENOMEM, "out of memory");
		p->c->njobs++;
		return 0;
	}
	return fail(p, "unknown section [%s]: expected [global] or [job NAME]", s);
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcasecmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* Whether t starts like a key line: a name and '=' (a typo is then
 * reported as an unknown key rather than taken as a continuation), or a
 * known key and ':'. */
static bool looks_like_key(const char *t)
{
	char name[32];
	size_t n = 0;

	while (n < sizeof name - 1 && (isalnum((unsigned char)t[n]) || t[n] == '_'))
		name[n] = t[n], n++;
	name[n] = 0;
	t += n;
	while (*t == ' ' || *t == '\t')
		t++;
	return n && !isdigit((unsigned char)name[0]) && (*t == '=' || (*t == ':' && find_key(name)));
}

/* inih's line reader, over our buffer: returns one line per call, cut to
 * fit num bytes (the value is taken from p->raw, never from inih's copy). */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *s, *nl, *t;
	size_t n, room, lead, tn;

	if (p->err || p->pos >= p->len || num < 4)
		return NULL;
	s = p->data + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += n + (nl ? 1 : 0);
	p->line++;
	if (p->line == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) /* UTF-8 BOM */
		s += 3, n -= 3;
	if (n > LINE_MAX_BYTES) {
		fail(p, "line longer than %d bytes", LINE_MAX_BYTES);
		return NULL;
	}
	if (memchr(s, 0, n)) {
		fail(p, "the line contains a NUL byte");
		return NULL;
	}
	if (n && s[n - 1] == '\r')
		n--;
	memcpy(p->raw, s, n);
	p->raw[n] = 0;
	for (t = p->raw; *t == ' ' || *t == '\t'; t++)
		;
	if (*t == '[' && section(p, t) < 0)
		return NULL;
	/* inih needs no more than the key and the separator, so the line is
	 * cut to its buffer.  Indentation marks a continuation line for inih:
	 * keep one blank of it, but none before a known `key =`, so that keys
	 * indented under their section header are keys, not continuations. */
	room = (size_t)num - 2;
	lead = t > p->raw && !looks_like_key(t) ? 1 : 0;
	tn = strlen(t);
	if (tn > room - lead)
		tn = room - lead;
	if (lead)
		str[0] = ' ';
	memcpy(str + lead, t, tn);
	str[lead + tn] = '\n';
	str[lead + tn + 1] = 0;
	return str;
}

/* The value of this line for key name, from the raw text: after the
 * separator on a `key = value` line, the whole text on a continuation
 * line.  Sets *cont for the latter. */
static char *raw_value(struct parse *p, const char *name, bool command, bool *cont)
{
	char *t = p->raw, *v, *e;
	size_t kl = strlen(name);

	while (*t == ' ' || *t == '\t')
		t++;
	v = t;
	*cont = true;
	if (!strncasecmp(t, name, kl)) {
		char *s = t + kl;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '=' || *s == ':') {
			v = s + 1;
			*cont = false;
		}
	}
	while (*v == ' ' || *v == '\t')
		v++;
	if (!command) {
		for (e = v; *e; e++)
			if (*e == ';' && e > v && (e[-1] == ' ' || e[-1] == '\t')) {
				*e = 0;
				break;
			}
	}
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = 0;
	return v;
}

static int parse_duration(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v, mul = 1;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	v = strtol(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case 0: case 's': break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (v > hi / mul || v * mul < lo || v * mul > hi)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

static int parse_span(const char *s, struct lb_conf_span *out)
{
	struct lb_conf_span sp = { .set = true };

	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		long v;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || v > 100000)
			return -ERANGE;
		switch (*end) {
		case 'y': sp.years += (int)v; break;
		case 'm': sp.months += (int)v; break;
		case 'w': sp.days += 7 * (int)v; break;
		case 'd': sp.days += (int)v; break;
		case 'h': sp.hours += (int)v; break;
		default: return -EINVAL;
		}
		if (sp.years > 100000 || sp.months > 100000 || sp.days > 1000000 || sp.hours > 100000)
			return -ERANGE;
		s = end + 1;
	}
	*out = sp;
	return 0;
}

static int parse_bool(const char *s)
{
	static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			return 1;
		if (!strcasecmp(s, no[i]))
			return 0;
	}
	return -1;
}

/* Splits a comma-separated value into the list. */
static int push_items(struct lb_conf_list *l, const char *v)
{
	while (*v) {
		const char *comma = strchr(v, ','), *e;
		size_t n = comma ? (size_t)(comma - v) : strlen(v);
		int r;

		while (n && (*v == ' ' || *v == '\t'))
			v++, n--;
		for (e = v + n; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		if (e > v && (r = list_push(l, v, (size_t)(e - v))) < 0)
			return r;
		if (!comma)
			break;
		v = comma + 1;
	}
	return 0;
}

static bool is_set(const struct lb_conf_job *j, const struct key *k)
{
	switch (k->kind) {
	case K_STR: case K_CMD: return *FIELD(j, k, char *) != NULL;
	case K_BOOL: case K_MODE: return *FIELD(j, k, int) >= 0;
	case K_INT: case K_DURATION: return *FIELD(j, k, long) >= 0;
	case K_SPAN: return FIELD(j, k, struct lb_conf_span)->set;
	default: return false;
	}
}

static int handler(void *user, const char *section_name, const char *name, const char *value)
{
	struct parse *p = user;
	const struct key *k;
	struct lb_conf_job *j = p->cur;
	char label[LB_CONF_NAME_MAX + 16], *v;
	bool cont;
	long n;
	int b;

	if (p->err)
		return 0;
	if (!j) {
		fail(p, "'%s' is outside of any section: put it under [global] or [job NAME]", name);
		return 0;
	}
	section_label(j, label, sizeof label);
	if (!(k = find_key(name))) {
		fail(p, "unknown key '%s' in %s", name, label);
		return 0;
	}
	v = raw_value(p, k->name, k->kind == K_CMD || k->kind == K_CMDLIST, &cont);
	if (k->kind == K_LIST) {
		if (push_items(FIELD(j, k, struct lb_conf_list), v) < 0)
			p->err = lb_err(-ENOMEM, "out of memory");
		return !p->err;
	}
	if (k->kind == K_CMDLIST) {
		if (*v && list_push(FIELD(j, k, struct lb_conf_list), v, strlen(v)) < 0)
			p->err = lb_err(-ENOMEM, "out of memory");
		return !p->err;
	}
	if (cont) {
		fail(p, "'%s' takes one value: only list keys continue on indented lines", k->name);
		return 0;
	}
	if (!*v) {
		fail(p, "'%s' needs a value", k->name);
		return 0;
	}
	if (is_set(j, k)) {
		fail(p, "'%s' is given twice in %s", k->name, label);
		return 0;
	}
	switch (k->kind) {
	case K_STR:
	case K_CMD:
		if (!(*FIELD(j, k, char *) = strdup(v)))
			p->err = lb_err(-ENOMEM, "out of memory");
		break;
	case K_BOOL:
		if ((b = parse_bool(v)) < 0)
			fail(p, "%s: '%s' is neither yes nor no", k->name, v);
		*FIELD(j, k, int) = b;
		break;
	case K_MODE:
		if (!strcasecmp(v, "logical"))
			*FIELD(j, k, int) = 0;
		else if (!strcasecmp(v, "snapshot"))
			*FIELD(j, k, int) = 1;
		else
			fail(p, "%s: '%s' is neither logical nor snapshot", k->name, v);
		break;
	case K_DURATION:
		if (parse_duration(v, k->lo, k->hi, &n) < 0) {
			long hi = k->hi % 86400 == 0 ? k->hi / 86400 : k->hi % 3600 == 0 ? k->hi / 3600 : k->hi;
			const char *unit = k->hi % 86400 == 0 ? "d" : k->hi % 3600 == 0 ? "h" : "s";

			fail(p, "%s: '%s' is not a duration from %lds to %ld%s (e.g. 90s, 30m, 2h, 1d)", k->name, v,
			     k->lo, hi, unit);
		} else {
			*FIELD(j, k, long) = n;
		}
		break;
	case K_INT: {
		char *end;

		errno = 0;
		n = strtol(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || *end || errno || n < k->lo || n > k->hi)
			fail(p, "%s: '%s' is not a number from %ld to %ld", k->name, v, k->lo, k->hi);
		else
			*FIELD(j, k, long) = n;
		break;
	}
	case K_SPAN:
		if (parse_span(v, FIELD(j, k, struct lb_conf_span)) < 0)
			fail(p, "%s: '%s' is not a span like 1y6m, 2w or 36h (y, m, w, d, h)", k->name, v);
		break;
	default:
		break;
	}
	(void)section_name;
	(void)value;
	return !p->err;
}

/* A job takes what it does not set from [global]. */
static int inherit(struct lb_conf_job *j, const struct lb_conf_job *g)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		switch (k->kind) {
		case K_STR:
		case K_CMD: {
			char **d = FIELD(j, k, char *), *s = *FIELD(g, k, char *);

			if (!*d && s && !(*d = strdup(s)))
				return -ENOMEM;
			break;
		}
		case K_BOOL:
		case K_MODE:
			if (*FIELD(j, k, int) < 0)
				*FIELD(j, k, int) = *FIELD(g, k, int);
			break;
		case K_INT:
		case K_DURATION:
			if (*FIELD(j, k, long) < 0)
				*FIELD(j, k, long) = *FIELD(g, k, long);
			break;
		case K_SPAN:
			if (!FIELD(j, k, struct lb_conf_span)->set)
				*FIELD(j, k, struct lb_conf_span) = *FIELD(g, k, struct lb_conf_span);
			break;
		case K_LIST:
		case K_CMDLIST: {
			struct lb_conf_list *d = FIELD(j, k, struct lb_conf_list), m = { 0 };
			const struct lb_conf_list *s = FIELD(g, k, struct lb_conf_list);
			const struct lb_conf_list *first = k->job_first ? d : s, *then = k->job_first ? s : d;
			int r = 0;

			if (!s->n)
				break;
			for (size_t x = 0; x < first->n && r == 0; x++)
				r = list_push(&m, first->v[x], strlen(first->v[x]));
			for (size_t x = 0; x < then->n && r == 0; x++)
				r = list_push(&m, then->v[x], strlen(then->v[x]));
			if (r < 0) {
				list_release(&m);
				return r;
			}
			list_release(d);
			*d = m;
			break;
		}
		}
	}
	return 0;
}

/* The text of line n, for a syntax error message. */
static void line_text(const char *data, size_t len, unsigned n, char *out, size_t cap)
{
	const char *s = data, *end = data + len, *nl;
	size_t k;

	for (unsigned i = 1; i < n && s < end; i++) {
		nl = memchr(s, '\n', (size_t)(end - s));
		s = nl ? nl + 1 : end;
	}
	nl = memchr(s, '\n', (size_t)(end - s));
	k = nl ? (size_t)(nl - s) : (size_t)(end - s);
	while (k && (*s == ' ' || *s == '\t'))
		s++, k--;
	if (k >= cap)
		k = cap - 1;
	for (size_t i = 0; i < k; i++)
		out[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	out[k] = 0;
}

int lb_conf_parse(const char *name, const char *data, size_t len, struct lb_conf **ret)
{
	struct parse *p;
	struct lb_conf *c;
	int r;

	*ret = NULL;
	if (len > LB_CONF_MAX_BYTES)
		return lb_err(-EFBIG, "%s: larger than %u bytes", name, LB_CONF_MAX_BYTES);
	c = calloc(1, sizeof *c);
	p = calloc(1, sizeof *p);
	if (!c || !p || !(c->path = strdup(name))) {
		free(p);
		lb_conf_free(c);
		return lb_err(-ENOMEM, "out of memory");
	}
	job_init(&c->global);
	p->name = name;
	p->data = data;
	p->len = len;
	p->c = c;
	r = ini_parse_stream(reader, p, handler, p);
	if (r > 0 && (!p->err || (unsigned)r < p->err_line)) {
		char text[64];

		line_text(data, len, (unsigned)r, text, sizeof text);
		r = lb_err(-EINVAL, "%s:%d: '%s' is not 'key = value', a [section] or a comment", name, r, text);
	} else if (p->err) {
		r = p->err;
	} else if (r < 0) {
		r = lb_err(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; r >= 0 && i < c->njobs; i++)
		if (inherit(&c->jobs[i], &c->global) < 0)
			r = lb_err(-ENOMEM, "out of memory");
	for (size_t i = 0; r >= 0 && i <= c->njobs; i++) {
		struct lb_retention *k = i < c->njobs ? &c->jobs[i].keep : &c->global.keep;

		k->within_s = -1;
		if (k->within.set)
			k->within_s = ((long long)k->within.years * 365 + (long long)k->within.months * 30 +
				       k->within.days) * 86400 + (long long)k->within.hours * 3600;
	}
	free(p);
	if (r < 0) {
		lb_conf_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int lb_conf_load(const char *path, struct lb_conf **ret)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r;

	*ret = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return lb_errno(-errno, "config file %s", path);
	if (fstat(fd, &st) < 0) {
		r = lb_errno(-errno, "config file %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = lb_err(-EINVAL, "config file %s is not a regular file", path);
		goto out;
	}
	/* its hooks run with lifeboat's privileges: only its owner (or root)
	 * may be able to change it */
	if ((st.st_mode & S_IWOTH) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		r = lb_err(-EPERM, "config file %s is writable by other users or owned by another user; its hooks "
			   "would run with this user's privileges (chmod o-w, chown)", path);
		goto out;
	}
	if (st.st_size > (off_t)LB_CONF_MAX_BYTES) {
		r = lb_err(-EFBIG, "config file %s is larger than %u bytes", path, LB_CONF_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = lb_err(-ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = lb_errno(-errno, "config file %s", path);
			goto out;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r = lb_conf_parse(path, buf, got, ret);
out:
	free(buf);
	close(fd);
	return r;
}

const struct lb_conf_job *lb_conf_find_job(const struct lb_conf *c, const char *name)
{
	for (size_t i = 0; c && i < c->njobs; i++)
		if (!strcmp(c->jobs[i].name, name))
			return &c->jobs[i];
	return NULL;
}

void lb_conf_free(struct lb_conf *c)
{
	if (!c)
		return;
	job_release(&c->global);
	for (size_t i = 0; i < c->njobs; i++)
		job_release(&c->jobs[i]);
	free(c->jobs);
	free(c->path);
	free(c);
}
