/* Unit tests for lib/snap/forget.c: the retention engine.  Synthetic
 * snapshots (no repository) go through lb_forget_plan and the verdicts are
 * compared with hand-computed ones.
 *
 * The calendar rules follow restic's documented semantics: "for the last n
 * days which have one or more snapshots, keep only the most recent one for
 * each day" (likewise hours, ISO weeks, months, years), so a day without
 * snapshots does not use up a slot.  TZ is UTC (set in main) so buckets do
 * not depend on the machine, except in test_local_time. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "tap.h"
#include "lifeboat/forget.h"
#include "lifeboat/snapshot.h"

#define H 3600
#define D (24 * H)

/* ---- building snapshots ---- */

struct set {
	struct lb_snapshot *v[96];
	size_t n;
};

static char **split(const char *s, size_t *n)
{
	char *copy = strdup(s ? s : ""), *save = NULL, **v = calloc(32, sizeof *v);

	*n = 0;
	for (char *t = strtok_r(copy, " ", &save); t && *n < 32; t = strtok_r(NULL, " ", &save))
		v[(*n)++] = strdup(t);
	free(copy);
	return v;
}

/* A snapshot: paths and tags are space-separated lists, json a manifest
 * fragment (sources) or NULL. */
static struct lb_snapshot *add(struct set *set, const char *id, int64_t t, const char *host, const char *paths,
			       const char *tags, const char *json)
{
	struct lb_snapshot *s = calloc(1, sizeof *s);
	json_error_t je;

	if (!s || set->n >= sizeof set->v / sizeof set->v[0])
		abort();
	snprintf(s->id, sizeof s->id, "%s", id);
	s->time_s = t;
	s->host = strdup(host);
	s->user = strdup("root");
	s->paths = split(paths, &s->npaths);
	s->tags = split(tags, &s->ntags);
	s->json = json ? json_loads(json, 0, &je) : json_object();
	if (!s->json) {
		fprintf(stderr, "bad test JSON %s: %s\n", json, je.text);
		abort();
	}
	set->v[set->n++] = s;
	return s;
}

static void set_free(struct set *set)
{
	for (size_t i = 0; i < set->n; i++)
		lb_snapshot_free(set->v[i]);
	set->n = 0;
}

/* UTC seconds for a calendar time (TZ is UTC, so mktime is timegm). */
static int64_t T(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
			 .tm_sec = s, .tm_isdst = -1 };

	return (int64_t)mktime(&tm);
}

/* ---- running the plan ---- */

static uint32_t rng = 2463534242u;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

struct plan {
	struct lb_forget_item *it;
	size_t n;
};

static bool has_source(const struct lb_snapshot *s, const char *name)
{
	return json_object_get(json_object_get(s->json, "sources"), name) != NULL;
}

/* What a group is: host, the path set, and MySQL backup / binlog segment. */
static bool same_group(const struct lb_snapshot *a, const struct lb_snapshot *b)
{
	if (strcmp(a->host, b->host) || a->npaths != b->npaths || has_source(a, "mysql") != has_source(b, "mysql") ||
	    has_source(a, "binlog") != has_source(b, "binlog"))
		return false;
	for (size_t i = 0; i < a->npaths; i++)
		if (strcmp(a->paths[i], b->paths[i]))
			return false;
	return true;
}

/* Shuffles a copy of the input (the plan takes any order), runs the plan,
 * and checks what holds for every plan: each snapshot comes back once,
 * items are grouped, newest first within a group, and every verdict has a
 * reason. */
static struct plan run(const struct set *set, const struct lb_keep_policy *p)
{
	struct lb_snapshot *v[96];
	struct plan pl = { NULL, set->n };
	bool shape = true;
	int e;

	memcpy(v, set->v, set->n * sizeof *v);
	for (size_t i = set->n; i > 1; i--) {
		size_t j = next_rand() % i;
		struct lb_snapshot *x = v[i - 1];

		v[i - 1] = v[j];
		v[j] = x;
	}
	e = lb_forget_plan(set->n ? v : NULL, set->n, p, &pl.it);
	if (!ok(e == 0 && pl.it, "lb_forget_plan over %zu snapshots returns 0", set->n)) {
		printf("#   returned %d\n", e);
		exit(1);
	}
	for (size_t i = 0; i < set->n; i++) {
		size_t seen = 0;

		for (size_t k = 0; k < set->n; k++)
			seen += pl.it[k].s == set->v[i];
		shape = shape && seen == 1;
	}
	for (size_t i = 0; i < pl.n; i++) {
		const struct lb_forget_item *x = &pl.it[i];

		shape = shape && x->reason[0] && x->group[0];
		if (i > 0 && same_group(x[-1].s, x->s))
			shape = shape && x[-1].s->time_s >= x->s->time_s;
		/* a group, once left, never comes back */
		for (size_t k = 0; k + 1 < i; k++)
			if (same_group(pl.it[k].s, x->s) && !same_group(x[-1].s, x->s))
				shape = false;
	}
	ok(shape, "every snapshot comes back once, grouped, newest first, with a reason");
	return pl;
}

static const struct lb_forget_item *find(const struct plan *pl, const char *id)
{
	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->it[i].s->id, id))
			return &pl->it[i];
	return NULL;
}

/* The ids of the kept snapshots in plan order, space-separated. */
static const char *kept(const struct plan *pl)
{
	static char buf[4096];
	size_t w = 0;

	buf[0] = 0;
	for (size_t i = 0; i < pl->n; i++)
		if (pl->it[i].keep)
			w += (size_t)snprintf(buf + w, sizeof buf - w, "%s%s", w ? " " : "", pl->it[i].s->id);
	return buf;
}

#define str_is(got, want, ...)                                                          \
	do {                                                                            \
		const char *g_ = (got), *w_ = (want);                                   \
		if (!ok(g_ && !strcmp(g_, w_), __VA_ARGS__))                            \
			printf("#   got  '%s'\n#   want '%s'\n", g_ ? g_ : "(null)", w_); \
	} while (0)

static void reason_is(const struct plan *pl, const char *id, const char *want)
{
	const struct lb_forget_item *x = find(pl, id);

	str_is(x ? x->reason : NULL, want, "%s: reason '%s'", id, want);
}

static void plan_free(struct plan *pl)
{
	free(pl->it);
	pl->it = NULL;
}

/* ---- the tests ---- */

static void test_empty_policy(void)
{
	static const char *const tags[] = { "keep" };
	struct lb_keep_policy p = { 0 };

	ok(lb_keep_policy_empty(&p), "an all-zero policy is empty");
	p.tags = tags;
	ok(lb_keep_policy_empty(&p), "a tag list with ntags 0 is still empty");
	p = (struct lb_keep_policy){ .last = 1 };
	ok(!lb_keep_policy_empty(&p), "keep-last 1 is not empty");
	p = (struct lb_keep_policy){ .hourly = 1 };
	ok(!lb_keep_policy_empty(&p), "keep-hourly 1 is not empty");
	p = (struct lb_keep_policy){ .daily = 1 };
	ok(!lb_keep_policy_empty(&p), "keep-daily 1 is not empty");
	p = (struct lb_keep_policy){ .weekly = 1 };
	ok(!lb_keep_policy_empty(&p), "keep-weekly 1 is not empty");
	p = (struct lb_keep_policy){ .monthly = 1 };
	ok(!lb_keep_policy_empty(&p), "keep-monthly 1 is not empty");
	p = (struct lb_keep_policy){ .yearly = 1 };
	ok(!lb_keep_policy_empty(&p), "keep-yearly 1 is not empty");
	p = (struct lb_keep_policy){ .within_s = 60 };
	ok(!lb_keep_policy_empty(&p), "keep-within 60s is not empty");
	p = (struct lb_keep_policy){ .tags = tags, .ntags = 1 };
	ok(!lb_keep_policy_empty(&p), "keep-tag is not empty");
}

static void test_nothing(void)
{
	struct lb_keep_policy p = { .last = 3 };
	struct set set = { .n = 0 };
	struct plan pl = run(&set, &p);

	str_is(kept(&pl), "", "n = 0: an empty plan");
	plan_free(&pl);

	/* an empty policy (the CLI refuses it) keeps nothing */
	add(&set, "a", T(2024, 1, 1, 0, 0, 0), "h", "/etc", NULL, NULL);
	add(&set, "b", T(2024, 1, 2, 0, 0, 0), "h", "/etc", NULL, NULL);
	p = (struct lb_keep_policy){ 0 };
	pl = run(&set, &p);
	str_is(kept(&pl), "", "an empty policy keeps nothing");
	reason_is(&pl, "a", "no rule keeps it");
	plan_free(&pl);
	set_free(&set);
}

static void test_last(void)
{
	struct lb_keep_policy p = { .last = 3 };
	struct set set = { .n = 0 };
	struct plan pl;
	char id[8];

	for (int i = 1; i <= 5; i++) {
		snprintf(id, sizeof id, "s%d", i);
		add(&set, id, T(2024, 3, 1, 0, 0, 0) + i * 600, "h", "/etc", NULL, NULL);
	}
	pl = run(&set, &p);
	str_is(kept(&pl), "s5 s4 s3", "keep-last 3 of 5 keeps the three newest");
	reason_is(&pl, "s5", "last 1");
	reason_is(&pl, "s4", "last 2");
	reason_is(&pl, "s3", "last 3");
	reason_is(&pl, "s2", "no rule keeps it");
	ok(find(&pl, "s1") && !find(&pl, "s1")->keep, "s1 goes");
	str_is(find(&pl, "s1") ? find(&pl, "s1")->group : NULL, "h /etc", "the group names host and paths");
	plan_free(&pl);

	p.last = 10;
	pl = run(&set, &p);
	str_is(kept(&pl), "s5 s4 s3 s2 s1", "keep-last 10 of 5 keeps all");
	plan_free(&pl);

	p.last = 1;
	pl = run(&set, &p);
	str_is(kept(&pl), "s5", "keep-last 1 keeps the newest");
	plan_free(&pl);

	/* two snapshots in the same second: nanoseconds decide which is newer */
	set_free(&set);
	add(&set, "x", T(2024, 3, 1, 0, 0, 0), "h", "/etc", NULL, NULL)->time_ns = 900;
	add(&set, "y", T(2024, 3, 1, 0, 0, 0), "h", "/etc", NULL, NULL)->time_ns = 100;
	pl = run(&set, &p);
	str_is(kept(&pl), "x", "same second: the later nanosecond is the newest");
	plan_free(&pl);
	set_free(&set);
}

static void test_hourly(void)
{
	struct lb_keep_policy p = { .hourly = 3 };
	struct set set = { .n = 0 };
	struct plan pl;

	add(&set, "h10a", T(2024, 5, 6, 10, 5, 0), "h", "/srv", NULL, NULL);
	add(&set, "h10b", T(2024, 5, 6, 10, 55, 0), "h", "/srv", NULL, NULL);
	add(&set, "h11", T(2024, 5, 6, 11, 0, 0), "h", "/srv", NULL, NULL);
	/* no snapshot at 12:00 */
	add(&set, "h13a", T(2024, 5, 6, 13, 10, 0), "h", "/srv", NULL, NULL);
	add(&set, "h13b", T(2024, 5, 6, 13, 59, 59), "h", "/srv", NULL, NULL);
	add(&set, "h09", T(2024, 5, 6, 9, 30, 0), "h", "/srv", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "h13b h11 h10b", "keep-hourly 3: the newest of each of the last 3 hours with snapshots");
	reason_is(&pl, "h13b", "hourly 2024-05-06 13:00");
	reason_is(&pl, "h11", "hourly 2024-05-06 11:00");
	reason_is(&pl, "h10b", "hourly 2024-05-06 10:00");
	reason_is(&pl, "h13a", "no rule keeps it");
	plan_free(&pl);
	set_free(&set);
}

static void test_daily(void)
{
	struct lb_keep_policy p = { .daily = 3 };
	struct set set = { .n = 0 };
	struct plan pl;

	add(&set, "d1a", T(2024, 1, 1, 8, 0, 0), "h", "/etc", NULL, NULL);
	add(&set, "d1b", T(2024, 1, 1, 20, 0, 0), "h", "/etc", NULL, NULL);
	add(&set, "d2", T(2024, 1, 2, 10, 0, 0), "h", "/etc", NULL, NULL);
	/* 2024-01-03: none */
	add(&set, "d4a", T(2024, 1, 4, 9, 0, 0), "h", "/etc", NULL, NULL);
	add(&set, "d4b", T(2024, 1, 4, 23, 59, 59), "h", "/etc", NULL, NULL);
	add(&set, "d5", T(2024, 1, 5, 0, 0, 0), "h", "/etc", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "d5 d4b d2", "keep-daily 3: a day without snapshots does not use up a slot");
	reason_is(&pl, "d5", "daily 2024-01-05");
	reason_is(&pl, "d4b", "daily 2024-01-04");
	reason_is(&pl, "d2", "daily 2024-01-02");
	reason_is(&pl, "d4a", "no rule keeps it");
	reason_is(&pl, "d1b", "no rule keeps it");
	plan_free(&pl);

	p.daily = 4;
	pl = run(&set, &p);
	str_is(kept(&pl), "d5 d4b d2 d1b", "keep-daily 4: the newest of 2024-01-01 is d1b, not d1a");
	plan_free(&pl);

	p.daily = 100;
	pl = run(&set, &p);
	str_is(kept(&pl), "d5 d4b d2 d1b", "keep-daily 100 keeps one per day, never two");
	plan_free(&pl);
	set_free(&set);
}

static void test_weekly(void)
{
	struct lb_keep_policy p = { .weekly = 3 };
	struct set set = { .n = 0 };
	struct plan pl;

	/* ISO weeks across 2024/2025: Mon 2024-12-30 already is 2025-W01 */
	add(&set, "w50", T(2024, 12, 10, 12, 0, 0), "h", "/home", NULL, NULL);   /* Tue, 2024-W50 */
	add(&set, "w51", T(2024, 12, 20, 12, 0, 0), "h", "/home", NULL, NULL);   /* Fri, 2024-W51 */
	add(&set, "w52a", T(2024, 12, 28, 12, 0, 0), "h", "/home", NULL, NULL);  /* Sat, 2024-W52 */
	add(&set, "w52b", T(2024, 12, 29, 12, 0, 0), "h", "/home", NULL, NULL);  /* Sun, 2024-W52 */
	add(&set, "w01a", T(2024, 12, 30, 12, 0, 0), "h", "/home", NULL, NULL);  /* Mon, 2025-W01 */
	add(&set, "w01b", T(2025, 1, 1, 12, 0, 0), "h", "/home", NULL, NULL);    /* Wed, 2025-W01 */
	add(&set, "w01c", T(2025, 1, 5, 23, 59, 59), "h", "/home", NULL, NULL);  /* Sun, 2025-W01 */
	add(&set, "w02", T(2025, 1, 6, 0, 0, 0), "h", "/home", NULL, NULL);      /* Mon, 2025-W02 */
	pl = run(&set, &p);
	str_is(kept(&pl), "w02 w01c w52b", "keep-weekly 3 over the year boundary (ISO weeks)");
	reason_is(&pl, "w02", "weekly 2025-W02");
	reason_is(&pl, "w01c", "weekly 2025-W01");
	reason_is(&pl, "w52b", "weekly 2024-W52");
	reason_is(&pl, "w01a", "no rule keeps it");
	plan_free(&pl);
	set_free(&set);

	/* 2026 has 53 ISO weeks: Thu 2026-12-31 and Sat 2027-01-02 share 2026-W53 */
	add(&set, "w52", T(2026, 12, 27, 12, 0, 0), "h", "/home", NULL, NULL);   /* Sun, 2026-W52 */
	add(&set, "w53a", T(2026, 12, 31, 12, 0, 0), "h", "/home", NULL, NULL);  /* Thu, 2026-W53 */
	add(&set, "w53b", T(2027, 1, 2, 12, 0, 0), "h", "/home", NULL, NULL);    /* Sat, 2026-W53 */
	add(&set, "w27", T(2027, 1, 4, 12, 0, 0), "h", "/home", NULL, NULL);     /* Mon, 2027-W01 */
	pl = run(&set, &p);
	str_is(kept(&pl), "w27 w53b w52", "a week split by New Year is one week (2026-W53)");
	reason_is(&pl, "w53b", "weekly 2026-W53");
	reason_is(&pl, "w27", "weekly 2027-W01");
	plan_free(&pl);
	set_free(&set);
}

static void test_monthly_yearly(void)
{
	struct lb_keep_policy p = { .monthly = 3 };
	struct set set = { .n = 0 };
	struct plan pl;

	add(&set, "jan1", T(2024, 1, 5, 12, 0, 0), "h", "/var", NULL, NULL);
	add(&set, "jan2", T(2024, 1, 20, 12, 0, 0), "h", "/var", NULL, NULL);
	add(&set, "feb", T(2024, 2, 10, 12, 0, 0), "h", "/var", NULL, NULL);
	/* March: none */
	add(&set, "apr1", T(2024, 4, 1, 0, 0, 0), "h", "/var", NULL, NULL);
	add(&set, "apr2", T(2024, 4, 30, 23, 59, 59), "h", "/var", NULL, NULL);
	add(&set, "may", T(2024, 5, 1, 0, 0, 0), "h", "/var", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "may apr2 feb", "keep-monthly 3 skips the empty month, keeps each month's newest");
	reason_is(&pl, "may", "monthly 2024-05");
	reason_is(&pl, "apr2", "monthly 2024-04");
	reason_is(&pl, "feb", "monthly 2024-02");
	plan_free(&pl);
	set_free(&set);

	p = (struct lb_keep_policy){ .yearly = 3 };
	add(&set, "y19", T(2019, 6, 1, 0, 0, 0), "h", "/var", NULL, NULL);
	add(&set, "y21a", T(2021, 3, 1, 0, 0, 0), "h", "/var", NULL, NULL);
	add(&set, "y21b", T(2021, 12, 31, 23, 59, 59), "h", "/var", NULL, NULL);
	add(&set, "y22", T(2022, 1, 1, 0, 0, 0), "h", "/var", NULL, NULL);
	/* 2023: none */
	add(&set, "y24a", T(2024, 2, 1, 0, 0, 0), "h", "/var", NULL, NULL);
	add(&set, "y24b", T(2024, 7, 1, 0, 0, 0), "h", "/var", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "y24b y22 y21b", "keep-yearly 3 skips the empty year, keeps each year's newest");
	reason_is(&pl, "y24b", "yearly 2024");
	reason_is(&pl, "y21b", "yearly 2021");
	reason_is(&pl, "y24a", "no rule keeps it");
	plan_free(&pl);
	set_free(&set);
}

static void test_within(void)
{
	struct lb_keep_policy p = { .within_s = 2 * D };
	struct set set = { .n = 0 };
	int64_t t = T(2020, 6, 15, 12, 0, 0); /* long ago: within is relative to the newest, not to now */
	struct plan pl;

	add(&set, "new", t, "h", "/etc", NULL, NULL);
	add(&set, "1d", t - D, "h", "/etc", NULL, NULL);
	add(&set, "2d", t - 2 * D, "h", "/etc", NULL, NULL);
	add(&set, "2d1s", t - 2 * D - 1, "h", "/etc", NULL, NULL);
	add(&set, "10d", t - 10 * D, "h", "/etc", NULL, NULL);
	/* another group, newer: its newest does not move this group's window */
	add(&set, "other", t + 30 * D, "h", "/home", NULL, NULL);
	add(&set, "other-3d", t + 27 * D, "h", "/home", NULL, NULL);
	pl = run(&set, &p);
	/* groups sort by name: "h /etc" before "h /home" */
	str_is(kept(&pl), "new 1d 2d other", "keep-within 2d, relative to each group's newest (boundary included)");
	reason_is(&pl, "1d", "within 172800s of the newest");
	reason_is(&pl, "2d1s", "no rule keeps it");
	reason_is(&pl, "other-3d", "no rule keeps it");
	plan_free(&pl);
	set_free(&set);
}

static void test_tags(void)
{
	static const char *const tags[] = { "pre-upgrade", "monthly-archive" };
	struct lb_keep_policy p = { .tags = tags, .ntags = 2 };
	struct set set = { .n = 0 };
	struct plan pl;

	add(&set, "t1", T(2024, 1, 1, 0, 0, 0), "h", "/etc", "nightly pre-upgrade", NULL);
	add(&set, "t2", T(2024, 1, 2, 0, 0, 0), "h", "/etc", "nightly", NULL);
	add(&set, "t3", T(2024, 1, 3, 0, 0, 0), "h", "/etc", "monthly-archive", NULL);
	add(&set, "t4", T(2024, 1, 4, 0, 0, 0), "h", "/etc", NULL, NULL);
	add(&set, "t5", T(2024, 1, 5, 0, 0, 0), "h", "/etc", "pre-upgrade-not", NULL);
	add(&set, "t6", T(2024, 1, 6, 0, 0, 0), "h", "/etc", "monthly-archive pre-upgrade", NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "t6 t3 t1", "keep-tag keeps exactly the snapshots carrying one of the tags");
	reason_is(&pl, "t1", "tag pre-upgrade");
	reason_is(&pl, "t3", "tag monthly-archive");
	reason_is(&pl, "t6", "tag pre-upgrade, tag monthly-archive");
	reason_is(&pl, "t5", "no rule keeps it");
	plan_free(&pl);
	set_free(&set);
}

static void test_combined(void)
{
	static const char *const tags[] = { "pre-upgrade" };
	struct lb_keep_policy p = { .last = 2, .hourly = 1, .daily = 3, .weekly = 2, .monthly = 2, .yearly = 2,
				    .within_s = H, .tags = tags, .ntags = 1 };
	struct set set = { .n = 0 };
	struct plan pl;

	add(&set, "n", T(2024, 11, 26, 18, 0, 0), "web1", "/etc /var/www", "pre-upgrade", NULL); /* Tue, W48 */
	add(&set, "n-30m", T(2024, 11, 26, 17, 30, 0), "web1", "/etc /var/www", NULL, NULL);
	add(&set, "n-2h", T(2024, 11, 26, 16, 0, 0), "web1", "/etc /var/www", NULL, NULL);
	add(&set, "mon", T(2024, 11, 25, 6, 0, 0), "web1", "/etc /var/www", NULL, NULL);          /* Mon, W48 */
	add(&set, "sun", T(2024, 11, 24, 6, 0, 0), "web1", "/etc /var/www", NULL, NULL);          /* Sun, W47 */
	add(&set, "sat", T(2024, 11, 23, 6, 0, 0), "web1", "/etc /var/www", NULL, NULL);
	add(&set, "oct", T(2024, 10, 31, 6, 0, 0), "web1", "/etc /var/www", NULL, NULL);
	add(&set, "oct-tag", T(2024, 10, 2, 6, 0, 0), "web1", "/etc /var/www", "pre-upgrade", NULL);
	add(&set, "2023", T(2023, 6, 1, 6, 0, 0), "web1", "/etc /var/www", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "n n-30m mon sun oct oct-tag 2023", "a policy of every rule: any rule keeps");
	reason_is(&pl, "n", "last 1, hourly 2024-11-26 18:00, daily 2024-11-26, weekly 2024-W48, monthly 2024-11, "
			    "yearly 2024, within 3600s of the newest, tag pre-upgrade");
	reason_is(&pl, "n-30m", "last 2, within 3600s of the newest");
	reason_is(&pl, "n-2h", "no rule keeps it");
	reason_is(&pl, "mon", "daily 2024-11-25");
	reason_is(&pl, "sun", "daily 2024-11-24, weekly 2024-W47");
	reason_is(&pl, "sat", "no rule keeps it");
	reason_is(&pl, "oct", "monthly 2024-10");
	reason_is(&pl, "oct-tag", "tag pre-upgrade");
	/* yearly 2: 2024 is used by "n"; the newest of 2023 is "2023" */
	reason_is(&pl, "2023", "yearly 2023");
	plan_free(&pl);
	p.monthly = 0;
	p.yearly = 1;
	pl = run(&set, &p);
	str_is(kept(&pl), "n n-30m mon sun oct-tag", "without monthly and with yearly 1, oct and 2023 go");
	reason_is(&pl, "oct", "no rule keeps it");
	{
		const struct lb_forget_item *x = find(&pl, "n");

		str_is(x ? x->group : NULL, "web1 /etc /var/www", "the group names host and every path");
	}
	plan_free(&pl);
	set_free(&set);
}

static void test_groups(void)
{
	struct lb_keep_policy p = { .last = 1 };
	struct set set = { .n = 0 };
	struct plan pl;

	add(&set, "w1-old", T(2024, 1, 1, 0, 0, 0), "web1", "/etc", NULL, NULL);
	add(&set, "w1-new", T(2024, 1, 3, 0, 0, 0), "web1", "/etc", NULL, NULL);
	add(&set, "w2-old", T(2024, 1, 2, 0, 0, 0), "web2", "/etc", NULL, NULL);
	add(&set, "w2-new", T(2024, 1, 4, 0, 0, 0), "web2", "/etc", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "w1-new w2-new", "two hosts, keep-last 1: each host keeps its newest");
	reason_is(&pl, "w2-new", "last 1");
	plan_free(&pl);

	/* paths: /etc, /etc + /home, and /home are three groups of web1 */
	add(&set, "w1-both-old", T(2024, 1, 5, 0, 0, 0), "web1", "/etc /home", NULL, NULL);
	add(&set, "w1-both-new", T(2024, 1, 6, 0, 0, 0), "web1", "/etc /home", NULL, NULL);
	add(&set, "w1-home", T(2024, 1, 7, 0, 0, 0), "web1", "/home", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "w1-new w1-both-new w1-home w2-new", "grouped by path set too");
	plan_free(&pl);

	/* a MySQL backup of a host is its own group */
	add(&set, "w1-db", T(2024, 1, 1, 0, 0, 0), "web1", NULL, NULL,
	    "{\"sources\":{\"mysql\":{\"server_key\":\"k\",\"binlog\":{\"file\":\"b.000001\",\"position\":4}}}}");
	pl = run(&set, &p);
	ok(find(&pl, "w1-db") && find(&pl, "w1-db")->keep, "an old MySQL backup is the newest of its own group");
	str_is(find(&pl, "w1-db") ? find(&pl, "w1-db")->group : NULL, "web1 (mysql)", "its group says (mysql)");
	plan_free(&pl);
	set_free(&set);
}

/* Many paths: group names longer than the item's 512-byte group field
 * must not merge two path sets that differ only at the end. */
static void test_long_groups(void)
{
	struct lb_keep_policy p = { .last = 1 };
	struct set set = { .n = 0 };
	char paths[2048] = "", a[2100], b[2100];
	struct plan pl;

	for (int i = 0; i < 30; i++) {
		size_t w = strlen(paths);

		snprintf(paths + w, sizeof paths - w, "%s/srv/application-data-%02d", i ? " " : "", i);
	}
	snprintf(a, sizeof a, "%s /srv/zz-a", paths);
	snprintf(b, sizeof b, "%s /srv/zz-b", paths);
	add(&set, "a", T(2024, 1, 1, 0, 0, 0), "h", a, NULL, NULL);
	add(&set, "b", T(2024, 1, 2, 0, 0, 0), "h", b, NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "a b", "two long path sets that differ only at the end are two groups");
	plan_free(&pl);
	set_free(&set);

	/* one path "/a /b" (a directory named "a ") is not the paths "/a" and "/b" */
	add(&set, "two", T(2024, 1, 1, 0, 0, 0), "h", "/a /b", NULL, NULL);
	add(&set, "one", T(2024, 1, 2, 0, 0, 0), "h", "/a", NULL, NULL);
	free(set.v[1]->paths[0]);
	set.v[1]->paths[0] = strdup("/a /b");
	pl = run(&set, &p);
	str_is(kept(&pl), "two one", "the path \"/a /b\" and the paths /a, /b are two groups");
	plan_free(&pl);
	set_free(&set);
}

static void test_order(void)
{
	static const char *const tags[] = { "keep" };
	struct lb_keep_policy p = { .last = 2, .daily = 3, .weekly = 2, .tags = tags, .ntags = 1 };
	struct set set = { .n = 0 };
	char want[4096], wantr[64][256], id[16];
	struct plan pl;
	bool same = true;

	/* three hosts, snapshots every 7 hours over a fortnight */
	for (int i = 0; i < 48; i++) {
		snprintf(id, sizeof id, "s%02d", i);
		add(&set, id, T(2024, 2, 20, 0, 0, 0) + i * 7 * H, i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c", "/",
		    i % 11 == 0 ? "keep" : NULL, NULL);
	}
	pl = run(&set, &p);
	snprintf(want, sizeof want, "%s", kept(&pl));
	for (size_t i = 0; i < set.n; i++)
		snprintf(wantr[i], sizeof wantr[i], "%s", find(&pl, set.v[i]->id)->reason);
	plan_free(&pl);
	for (int round = 0; round < 20; round++) {
		pl = run(&set, &p); /* shuffled differently every time */
		same = same && !strcmp(kept(&pl), want);
		for (size_t i = 0; i < set.n; i++)
			same = same && !strcmp(find(&pl, set.v[i]->id)->reason, wantr[i]);
		plan_free(&pl);
	}
	ok(same, "the input order does not change any verdict or reason (20 shuffles)");
	diag("kept: %s", want);
	set_free(&set);
}

/* Local time defines the buckets: 03:00 UTC is still the previous day in
 * New York. */
static void test_local_time(void)
{
	struct lb_keep_policy p = { .daily = 2 };
	struct set set = { .n = 0 };
	struct plan pl;

	add(&set, "a", T(2024, 1, 1, 12, 0, 0), "h", "/", NULL, NULL);
	add(&set, "b", T(2024, 1, 2, 3, 0, 0), "h", "/", NULL, NULL);
	pl = run(&set, &p);
	str_is(kept(&pl), "b a", "UTC: 2024-01-01 12:00 and 2024-01-02 03:00 are two days");
	plan_free(&pl);
	setenv("TZ", "EST5", 1);
	tzset();
	pl = run(&set, &p);
	str_is(kept(&pl), "b", "EST: both are on 2024-01-01, one is kept");
	reason_is(&pl, "b", "daily 2024-01-01");
	plan_free(&pl);
	setenv("TZ", "UTC", 1);
	tzset();
	set_free(&set);
}

/* ---- binlog segments ---- */

static void mysql(struct set *set, const char *id, int64_t t, const char *key, const char *file, long pos)
{
	char j[512];

	snprintf(j, sizeof j,
		 "{\"sources\":{\"mysql\":{\"mode\":\"logical\",\"server_key\":\"%s\","
		 "\"binlog\":{\"file\":\"%s\",\"position\":%ld,\"gtid\":\"\"}}}}", key, file, pos);
	add(set, id, t, "db1", NULL, "nightly", j);
}

static void segment(struct set *set, const char *id, int64_t t, const char *key, const char *file, long start,
		    long end)
{
	char j[512];

	snprintf(j, sizeof j,
		 "{\"sources\":{\"binlog\":{\"server_key\":\"%s\",\"file\":\"%s\",\"start\":%ld,\"end\":%ld,"
		 "\"first_ts\":0,\"last_ts\":0,\"events\":1}}}", key, file, start, end);
	add(set, id, t, "db1", NULL, "binlog", j);
}

static void test_binlog(void)
{
	struct lb_keep_policy p = { .last = 3 };
	struct set set = { .n = 0 };
	int64_t t = T(2024, 6, 1, 0, 0, 0);
	struct plan pl;

	mysql(&set, "B1", t + 1 * D, "srv1", "binlog.000003", 500);
	mysql(&set, "B2", t + 2 * D, "srv1", "binlog.000004", 100);
	mysql(&set, "B3", t + 3 * D, "srv1", "binlog.000005", 800);
	segment(&set, "S1", t + 0 * D, "srv1", "binlog.000002", 4, 9000);         /* an older file */
	segment(&set, "S2", t + 1 * D - 60, "srv1", "binlog.000003", 4, 400);     /* ends before 500 */
	segment(&set, "S3", t + 1 * D, "srv1", "binlog.000003", 400, 500);        /* ends at 500 exactly */
	segment(&set, "S4", t + 1 * D + 60, "srv1", "binlog.000003", 500, 501);   /* one byte past */
	segment(&set, "S5", t + 2 * D - 60, "srv1", "binlog.000004", 4, 50);      /* a later file */
	segment(&set, "S5b", t + 2 * D + 60, "srv1", "binlog.000004", 100, 150);
	segment(&set, "S6", t + 3 * D + 60, "srv1", "binlog.000005", 800, 1000);
	segment(&set, "X1", t + 3 * D + 60, "srv2", "binlog.000009", 4, 10);      /* no backup of srv2 */
	pl = run(&set, &p);
	str_is(kept(&pl), "S6 S5b S5 S4 B3 B2 B1",
	       "every backup kept: segments after binlog.000003:500 (the oldest kept backup) stay");
	reason_is(&pl, "S4", "binlog needed to roll a kept MySQL backup forward");
	reason_is(&pl, "S3", "binlog older than every kept MySQL backup");
	reason_is(&pl, "X1", "binlog older than every kept MySQL backup");
	str_is(find(&pl, "S1") ? find(&pl, "S1")->group : NULL, "db1 (binlog archive)", "the segments' group");
	plan_free(&pl);

	p.last = 1;
	pl = run(&set, &p);
	str_is(kept(&pl), "S6 B3", "keep-last 1 keeps B3 (binlog.000005:800): only S6 ends after it");
	reason_is(&pl, "B1", "no rule keeps it");
	reason_is(&pl, "S5", "binlog older than every kept MySQL backup");
	reason_is(&pl, "S5b", "binlog older than every kept MySQL backup");
	plan_free(&pl);

	/* keep-last is not applied to the segments themselves */
	p.last = 2;
	pl = run(&set, &p);
	str_is(kept(&pl), "S6 S5b B3 B2", "keep-last 2: the oldest kept is B2 at binlog.000004:100, S5b ends after it, "
					   "S5 (binlog.000004:50) before");
	plan_free(&pl);
	set_free(&set);

	/* srv2's backup keeps srv2's segments, not srv1's */
	p.last = 1;
	mysql(&set, "A", t, "srv1", "binlog.000010", 100);
	mysql(&set, "Z", t, "srv2", "binlog.000001", 100);
	segment(&set, "A1", t, "srv1", "binlog.000010", 4, 100);
	segment(&set, "A2", t, "srv1", "binlog.000010", 100, 200);
	segment(&set, "Z1", t, "srv2", "binlog.000001", 4, 100);
	segment(&set, "Z2", t, "srv2", "binlog.000001", 100, 150);
	/* different hosts: the MySQL backups are two groups, the segments too */
	free(set.v[1]->host);
	set.v[1]->host = strdup("db2");
	free(set.v[4]->host);
	set.v[4]->host = strdup("db2");
	free(set.v[5]->host);
	set.v[5]->host = strdup("db2");
	pl = run(&set, &p);
	str_is(kept(&pl), "A2 A Z2 Z", "each server keeps the segments after its own backups");
	plan_free(&pl);

	/* no backup kept at all (none selected): every segment goes */
	set_free(&set);
	segment(&set, "only", t, "srv1", "binlog.000001", 4, 100);
	pl = run(&set, &p);
	str_is(kept(&pl), "", "segments without any MySQL backup go");
	plan_free(&pl);
	set_free(&set);
}

/* Binlog file names compare as lifeboat's archiver compares them (base,
 * then number): after binlog.999999 the server writes binlog.1000000. */
static void test_binlog_names(void)
{
	struct lb_keep_policy p = { .last = 1 };
	struct set set = { .n = 0 };
	int64_t t = T(2024, 6, 1, 0, 0, 0);
	struct plan pl;

	mysql(&set, "B", t, "srv1", "binlog.999999", 500);
	segment(&set, "old", t - 60, "srv1", "binlog.999998", 4, 900);
	segment(&set, "same", t + 60, "srv1", "binlog.999999", 500, 900);
	segment(&set, "next", t + 120, "srv1", "binlog.1000000", 4, 50);
	pl = run(&set, &p);
	str_is(kept(&pl), "next same B", "binlog.1000000 comes after binlog.999999");
	plan_free(&pl);
	set_free(&set);

	/* a backup taken with binlogs off records file "": it cannot be rolled
	 * forward, so it holds no segment back */
	mysql(&set, "nolog", t, "srv1", "", 0);
	mysql(&set, "B", t + D, "srv1", "binlog.000002", 500);
	segment(&set, "s1", t + 60, "srv1", "binlog.000001", 4, 900);
	segment(&set, "s2", t + D + 60, "srv1", "binlog.000002", 500, 900);
	p.last = 2;
	pl = run(&set, &p);
	str_is(kept(&pl), "s2 B nolog", "a backup without a binlog position keeps no segment");
	plan_free(&pl);
	set_free(&set);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_empty_policy();
	test_nothing();
	test_last();
	test_hourly();
	test_daily();
	test_weekly();
	test_monthly_yearly();
	test_within();
	test_tags();
	test_combined();
	test_groups();
	test_long_groups();
	test_order();
	test_local_time();
	test_binlog();
	test_binlog_names();
	return done_testing();
}
