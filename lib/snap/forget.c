#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifeboat/forget.h"
#include "lifeboat/snapshot.h"
#include "store/store.h"

bool lb_keep_policy_empty(const struct lb_keep_policy *p)
{
	return !p->last && !p->hourly && !p->daily && !p->weekly && !p->monthly && !p->yearly && !p->within_s &&
	       !p->ntags;
}

static bool is_binlog(const struct lb_snapshot *s)
{
	return json_object_get(json_object_get(s->json, "sources"), "binlog") != NULL;
}

static bool is_mysql(const struct lb_snapshot *s)
{
	return json_object_get(json_object_get(s->json, "sources"), "mysql") != NULL;
}

static void group_of(const struct lb_snapshot *s, char *out, size_t n)
{
	size_t w = (size_t)snprintf(out, n, "%s", s->host);

	for (size_t i = 0; i < s->npaths && w < n; i++)
		w += (size_t)snprintf(out + w, n - w, " %s", s->paths[i]);
	if (json_object_get(json_object_get(s->json, "sources"), "mysql") && w < n)
		w += (size_t)snprintf(out + w, n - w, " (mysql)");
	if (is_binlog(s) && w < n)
		snprintf(out + w, n - w, " (binlog archive)");
}

/* Groups compare by their fields, not by the group text: that is cut at
 * 512 bytes and cannot tell the path "/a /b" from the paths "/a" "/b". */
static int cmp_group(const struct lb_snapshot *x, const struct lb_snapshot *y)
{
	int c = strcmp(x->host, y->host);

	for (size_t i = 0; !c && i < x->npaths && i < y->npaths; i++)
		c = strcmp(x->paths[i], y->paths[i]);
	if (!c && x->npaths != y->npaths)
		c = x->npaths < y->npaths ? -1 : 1;
	if (!c)
		c = (int)is_mysql(x) - (int)is_mysql(y);
	if (!c)
		c = (int)is_binlog(x) - (int)is_binlog(y);
	return c;
}

static int cmp_item(const void *a, const void *b)
{
	const struct lb_forget_item *x = a, *y = b;
	int c = cmp_group(x->s, y->s);

	if (c)
		return c;
	if (x->s->time_s != y->s->time_s)
		return x->s->time_s > y->s->time_s ? -1 : 1; /* newest first */
	if (x->s->time_ns != y->s->time_ns)
		return x->s->time_ns > y->s->time_ns ? -1 : 1;
	return strcmp(y->s->id, x->s->id);
}

static void add_reason(struct lb_forget_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_reason(struct lb_forget_item *it, const char *fmt, ...)
{
	size_t w = strlen(it->reason);
	va_list ap;

	if (w && w + 2 < sizeof it->reason) {
		memcpy(it->reason + w, ", ", 2);
		w += 2;
		it->reason[w] = 0;
	}
	va_start(ap, fmt);
	vsnprintf(it->reason + w, sizeof it->reason - w, fmt, ap);
	va_end(ap);
}

/* A bucket key for a time: hour, day, ISO week, month, year. */
static void bucket(int64_t t, int kind, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	switch (kind) {
	case 0: strftime(out, n, "%Y-%m-%d %H:00", &tm); break;
	case 1: strftime(out, n, "%Y-%m-%d", &tm); break;
	case 2: strftime(out, n, "%G-W%V", &tm); break;
	case 3: strftime(out, n, "%Y-%m", &tm); break;
	default: strftime(out, n, "%Y", &tm); break;
	}
}

static void apply_group(struct lb_forget_item *g, size_t n, const struct lb_keep_policy *p)
{
	static const char *names[] = { "hourly", "daily", "weekly", "monthly", "yearly" };
	unsigned counts[5] = { p->hourly, p->daily, p->weekly, p->monthly, p->yearly };
	char last[5][64] = { "", "", "", "", "" };
	int64_t newest = n ? g[0].s->time_s : 0;

	for (size_t i = 0; i < n; i++) {
		struct lb_forget_item *it = &g[i];

		if (i < p->last)
			add_reason(it, "last %zu", i + 1);
		/* the newest snapshot of each of the last N hours/days/... */
		for (int k = 0; k < 5; k++) {
			char b[64];

			if (!counts[k])
				continue;
			bucket(it->s->time_s, k, b, sizeof b);
			if (strcmp(b, last[k])) {
				snprintf(last[k], sizeof last[k], "%s", b);
				counts[k]--;
				add_reason(it, "%s %s", names[k], b);
			}
		}
		if (p->within_s && newest - it->s->time_s <= p->within_s)
			add_reason(it, "within %llds of the newest", (long long)p->within_s);
		for (size_t t = 0; t < p->ntags; t++)
			for (size_t k = 0; k < it->s->ntags; k++)
				if (!strcmp(p->tags[t], it->s->tags[k]))
					add_reason(it, "tag %s", p->tags[t]);
		it->keep = it->reason[0] != 0;
		if (!it->keep)
			snprintf(it->reason, sizeof it->reason, "no rule keeps it");
	}
}

/* binlog.000009 < binlog.000010 < binlog.1000000: same base, compare the
 * numbers (as the archiver does, lib/sources/mysql_binlog.c). */
static int cmp_binlog_name(const char *a, const char *b)
{
	const char *da = strrchr(a, '.'), *db = strrchr(b, '.');

	if (da && db && da - a == db - b && !strncmp(a, b, (size_t)(da - a))) {
		unsigned long long na = strtoull(da + 1, NULL, 10), nb = strtoull(db + 1, NULL, 10);

		if (na != nb)
			return na < nb ? -1 : 1;
	}
	return strcmp(a, b);
}

/* Binlog segments follow the MySQL backups: a segment is kept if it ends
 * after the binlog position of the oldest kept backup of its server (a
 * backup taken with binary logging off records file "" and needs none). */
static void apply_binlog(struct lb_forget_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct lb_forget_item *seg = &items[i];
		json_t *b;
		const char *key, *file;
		uint64_t end;
		bool need = false;

		if (!is_binlog(seg->s))
			continue;
		b = json_object_get(json_object_get(seg->s->json, "sources"), "binlog");
		key = json_string_value(json_object_get(b, "server_key"));
		file = json_string_value(json_object_get(b, "file"));
		end = (uint64_t)json_integer_value(json_object_get(b, "end"));
		for (size_t k = 0; k < n && key && file; k++) {
			json_t *my = json_object_get(json_object_get(items[k].s->json, "sources"), "mysql");
			json_t *bl = json_object_get(my, "binlog");
			const char *bkey = json_string_value(json_object_get(my, "server_key"));
			const char *bfile = json_string_value(json_object_get(bl, "file"));
			uint64_t bpos = (uint64_t)json_integer_value(json_object_get(bl, "position"));
			int c;

			if (!items[k].keep || !my || !bkey || !bfile || !bfile[0] || strcmp(bkey, key))
				continue;
			c = cmp_binlog_name(file, bfile);
			if (c > 0 || (c == 0 && end > bpos))
				need = true;
		}
		seg->keep = need;
		snprintf(seg->reason, sizeof seg->reason, "%s", need ? "binlog needed to roll a kept MySQL backup forward"
								     : "binlog older than every kept MySQL backup");
	}
}

int lb_forget_plan(struct lb_snapshot **v, size_t n, const struct lb_keep_policy *p, struct lb_forget_item **items)
{
	struct lb_forget_item *it = calloc(n ? n : 1, sizeof *it);
	size_t i = 0;

	if (!it)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		it[k].s = v[k];
		group_of(v[k], it[k].group, sizeof it[k].group);
	}
	qsort(it, n, sizeof *it, cmp_item);
	while (i < n) {
		size_t j = i;

		while (j < n && !cmp_group(it[j].s, it[i].s))
			j++;
		if (!is_binlog(it[i].s))
			apply_group(it + i, j - i, p);
		i = j;
	}
	apply_binlog(it, n);
	*items = it;
	return 0;
}

int lb_forget_snapshot(struct lb_repo *r, const char *id)
{
	int e = r->be->ops->remove(r->be, LB_KIND_SNAPSHOT, id);

	if (e < 0)
		return e;
	/* its verdict means nothing without it (absent is fine) */
	r->be->ops->remove(r->be, LB_KIND_VERDICT, id);
	lb_err_clear();
	return 0;
}
