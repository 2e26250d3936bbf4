/* lifeboat CLI — forget (retention policies) and prune (freeing space). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lifeboat/config.h"
#include "lifeboat/forget.h"
#include "lifeboat/prune.h"
#include "lifeboat/snapshot.h"

enum {
	OPT_LAST = 2300, OPT_HOURLY, OPT_DAILY, OPT_WEEKLY, OPT_MONTHLY, OPT_YEARLY, OPT_WITHIN, OPT_KEEP_TAG,
	OPT_DRY_RUN, OPT_PRUNE, OPT_JOB, OPT_REPACK, OPT_GRACE, OPT_HOST, OPT_TAG, OPT_PATH,
};

#define PRUNE_LONGOPTS                                                    \
	{ "repack-threshold", required_argument, NULL, OPT_REPACK },      \
	{ "grace", required_argument, NULL, OPT_GRACE }

/* "1y6m", "14d", "36h", "2w": months are 30 days and years 365, as in
 * the config file's keep_within. */
static long long parse_within(const char *s)
{
	long long total = 0;

	if (!*s)
		return -1;
	while (*s) {
		char *end;
		long v;

		if (!isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || v > 1000000)
			return -1;
		switch (*end) {
		case 'y': total += (long long)v * 365 * 86400; break;
		case 'm': total += (long long)v * 30 * 86400; break;
		case 'w': total += (long long)v * 7 * 86400; break;
		case 'd': total += (long long)v * 86400; break;
		case 'h': total += (long long)v * 3600; break;
		default: return -1;
		}
		s = end + 1;
	}
	return total;
}

static int parse_count(const char *opt, const char *arg, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > INT_MAX) {
		cli_error("%s: '%s' is not a count", opt, arg);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int prune_option(struct lb_prune_opts *po, int c, const char *arg)
{
	char *end;
	long g;

	switch (c) {
	case OPT_REPACK:
		po->repack_pct = strtod(arg, &end);
		if (end == arg || (*end && strcmp(end, "%")) || po->repack_pct < 0 || po->repack_pct > 100) {
			cli_error("--repack-threshold: '%s' is not a percentage (0-100)", arg);
			return -1;
		}
		return 1;
	case OPT_GRACE:
		if ((g = cli_parse_duration(arg)) < 0) {
			cli_error("--grace: '%s' is not a duration (e.g. 0, 30m, 2h, 1d)", arg);
			return -1;
		}
		po->grace_s = g;
		return 1;
	}
	return 0;
}

static void on_prune_report(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level == LB_LOG_ERROR)
		cli_error("%s", msg);
	else if (level == LB_LOG_WARN)
		cli_warn("%s", msg);
	else if (g_cli.verbosity >= 0 && !g_cli.json)
		cli_info("%s", msg);
}

static json_t *prune_json(const struct lb_prune_stats *st)
{
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:I, s:I, s:I, "
			 "s:I}",
			 "planned", st->marked, "snapshots", (json_int_t)st->snapshots, "blobs_used",
			 (json_int_t)st->blobs_used, "blobs_missing", (json_int_t)st->blobs_missing, "packs",
			 (json_int_t)st->packs, "packs_unused", (json_int_t)st->packs_drop, "packs_repacked",
			 (json_int_t)st->packs_repack, "bytes", (json_int_t)st->bytes, "bytes_used",
			 (json_int_t)st->bytes_used, "blobs_moved", (json_int_t)st->blobs_moved, "bytes_written",
			 (json_int_t)st->bytes_written, "bytes_condemned", (json_int_t)st->bytes_condemned, "swept",
			 st->swept, "plan_pending", st->plan_pending, "waiting_for", st->waiting_for, "packs_deleted",
			 (json_int_t)st->packs_deleted, "bytes_deleted", (json_int_t)st->bytes_deleted,
			 "packs_kept_back", (json_int_t)st->packs_kept_back, "index_files_rewritten",
			 (json_int_t)st->index_rewritten);
}

static void prune_summary(const struct lb_prune_opts *po, const struct lb_prune_stats *st)
{
	char a[32], b[32], c[32];
	bool frees = st->packs_drop || st->packs_repack;

	if (g_cli.verbosity < 0)
		return;
	if (st->snapshots || st->packs) {
		cli_human_bytes(a, sizeof a, st->bytes);
		cli_human_bytes(b, sizeof b, st->bytes_used);
		printf("%llu snapshots reach %llu blobs: %s used of %s in %llu packs\n",
		       (unsigned long long)st->snapshots, (unsigned long long)st->blobs_used, b, a,
		       (unsigned long long)st->packs);
	}
	if (frees) {
		cli_human_bytes(c, sizeof c, st->bytes_condemned);
		printf("%s %llu unused pack%s and %llu pack%s to repack (%s", po->dry_run ? "would give up" : "gave up",
		       (unsigned long long)st->packs_drop, st->packs_drop == 1 ? "" : "s",
		       (unsigned long long)st->packs_repack, st->packs_repack == 1 ? "" : "s", c);
		if (!po->dry_run && st->blobs_moved) {
			cli_human_bytes(a, sizeof a, st->bytes_written);
			printf("; %llu live blobs moved into %s", (unsigned long long)st->blobs_moved, a);
		}
		printf(")\n");
	}
	if (!po->dry_run && st->marked && st->index_files_in > st->index_files_out)
		printf("merged %llu index files into %llu\n", (unsigned long long)st->index_files_in,
		       (unsigned long long)st->index_files_out);
	if (st->swept && (st->packs_deleted || st->packs_kept_back)) {
		cli_human_bytes(a, sizeof a, st->bytes_deleted);
		printf("deleted %llu pack%s, %s freed\n", (unsigned long long)st->packs_deleted,
		       st->packs_deleted == 1 ? "" : "s", a);
		if (st->packs_kept_back)
			printf("kept %llu condemned pack%s that a backup running during the plan came to use\n",
			       (unsigned long long)st->packs_kept_back, st->packs_kept_back == 1 ? "" : "s");
	}
	if (st->plan_pending) {
		char t[64];
		time_t tt = (time_t)st->plan_time_s;
		struct tm tm;

		localtime_r(&tt, &tm);
		strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
		printf("the plan of %s waits for %s; run prune again to finish\n", t, st->waiting_for);
	}
	if (!frees && !st->packs_deleted && !st->plan_pending)
		printf("nothing to prune\n");
}

static int run_prune(struct lb_repo *r, const struct lb_prune_opts *po, json_t *out)
{
	struct lb_prune_stats st;
	int e = lb_prune_run(r, po, &st);

	if (e < 0)
		return cli_fail(e);
	if (out)
		json_object_set_new(out, "prune", prune_json(&st));
	else
		prune_summary(po, &st);
	return EXIT_OK;
}

int cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		PRUNE_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 }
	};
	struct lb_prune_opts po = { .repack_pct = 20, .report = on_prune_report };
	struct lb_repo *r = NULL;
	json_t *out = NULL;
	int c, e;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "n", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		if ((e = prune_option(&po, c, optarg)) != 0) {
			if (e < 0)
				return EXIT_USAGE;
			continue;
		}
		switch (c) {
		case 'n': po.dry_run = true; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] prune [--dry-run] [--repack-threshold PCT] [--grace DURATION]\n"
			       "  frees the space of forgotten snapshots; safe while backups run\n"
			       "  --repack-threshold PCT  rewrite packs at least PCT%% garbage (default 20; 100: never)\n"
			       "  --grace DURATION        delete condemned packs no sooner than this (default 0: as soon as\n"
			       "                          every run that started before the plan has ended)\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if (g_cli.json)
		out = json_object();
	e = run_prune(r, &po, out);
	lb_repo_close(r);
	if (out) {
		char *s = json_dumps(out, JSON_INDENT(2));

		if (s && e == EXIT_OK)
			printf("%s\n", s);
		free(s);
		json_decref(out);
	}
	return e;
}

/* ---- forget ---- */

struct selection {
	const char *host, *path;
	const char **tags;
	size_t ntags;
	/* --job: the job's host and paths */
	const char *job_host;
	char **job_paths;
	size_t njob_paths;
};

static bool has_tag(const struct lb_snapshot *s, const char *tag)
{
	for (size_t i = 0; i < s->ntags; i++)
		if (!strcmp(s->tags[i], tag))
			return true;
	return false;
}

static bool selected(const struct selection *sel, const struct lb_snapshot *s)
{
	if (sel->host && strcmp(s->host, sel->host))
		return false;
	if (sel->path) {
		bool found = false;

		for (size_t i = 0; i < s->npaths && !found; i++)
			found = !strcmp(s->paths[i], sel->path);
		if (!found)
			return false;
	}
	for (size_t i = 0; i < sel->ntags; i++)
		if (!has_tag(s, sel->tags[i]))
			return false;
	if (sel->job_host) {
		if (strcmp(s->host, sel->job_host) || s->npaths != sel->njob_paths)
			return false;
		for (size_t i = 0; i < s->npaths; i++) {
			bool found = false;

			for (size_t k = 0; k < sel->njob_paths && !found; k++)
				found = !strcmp(s->paths[i], sel->job_paths[k]);
			if (!found)
				return false;
		}
	}
	return true;
}

/* Fills the policy from the job's keep_* keys; the command line adds to it. */
static void policy_from_job(struct lb_keep_policy *p, const struct lb_retention *k, const char ***tags,
			    size_t *ntags)
{
	if (k->last > 0) p->last = (unsigned)k->last;
	if (k->hourly > 0) p->hourly = (unsigned)k->hourly;
	if (k->daily > 0) p->daily = (unsigned)k->daily;
	if (k->weekly > 0) p->weekly = (unsigned)k->weekly;
	if (k->monthly > 0) p->monthly = (unsigned)k->monthly;
	if (k->yearly > 0) p->yearly = (unsigned)k->yearly;
	if (k->within_s > 0) p->within_s = k->within_s;
	for (size_t i = 0; i < k->tags.n; i++) {
		const char **np = realloc(*tags, (*ntags + 1) * sizeof **tags);

		if (!np)
			return;
		*tags = np;
		(*tags)[(*ntags)++] = k->tags.v[i];
	}
}

static void print_item(const struct lb_forget_item *it)
{
	char t[32];
	time_t tt = (time_t)it->s->time_s;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
	printf("  %-6s  %.12s  %s  %s\n", it->keep ? "keep" : "forget", it->s->id, t, it->reason);
}

int cmd_forget(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		PRUNE_LONGOPTS,
		{ "keep-last", required_argument, NULL, OPT_LAST },
		{ "keep-hourly", required_argument, NULL, OPT_HOURLY },
		{ "keep-daily", required_argument, NULL, OPT_DAILY },
		{ "keep-weekly", required_argument, NULL, OPT_WEEKLY },
		{ "keep-monthly", required_argument, NULL, OPT_MONTHLY },
		{ "keep-yearly", required_argument, NULL, OPT_YEARLY },
		{ "keep-within", required_argument, NULL, OPT_WITHIN },
		{ "keep-tag", required_argument, NULL, OPT_KEEP_TAG },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "prune", no_argument, NULL, OPT_PRUNE },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "path", required_argument, NULL, OPT_PATH },
		{ 0 }
	};
	struct lb_keep_policy pol = { 0 };
	struct lb_prune_opts po = { .repack_pct = 20, .report = on_prune_report };
	struct selection sel = { 0 };
	const char **keep_tags = NULL, *job = NULL;
	struct lb_snapshot **v = NULL, **chosen = NULL;
	struct lb_forget_item *items = NULL;
	struct lb_conf *conf = NULL;
	struct lb_repo *r = NULL;
	size_t n = 0, nchosen = 0, nkeep_tags = 0, forgotten = 0, failed = 0;
	bool dry = false, prune = false;
	char hostname[256] = "";
	json_t *out = NULL, *arr = NULL;
	int c, e, rc = EXIT_ERROR;
	long long w;

	/* --job first: the command line then adds to the job's policy */
	opterr = 0;
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "n", longopts, NULL)) != -1) {
		if (c == OPT_JOB)
			job = optarg;
		else if (c == CLI_OPT_CONFIG)
			g_cli.config = optarg;
	}
	opterr = 1;
	optind = 0;
	if (job) {
		const char *path = g_cli.config ? g_cli.config : LB_CONF_DEFAULT_PATH;
		const struct lb_conf_job *cj;

		if ((e = lb_conf_load(path, &conf)) < 0)
			return cli_fail(e);
		if (!(cj = lb_conf_find_job(conf, job))) {
			cli_error("%s: no [job %s] in it", conf->path, job);
			goto out;
		}
		policy_from_job(&pol, &cj->keep, &keep_tags, &nkeep_tags);
		if (cj->repository && !g_cli.repo)
			g_cli.repo = cj->repository;
		if (cj->password_file && !g_cli.password_file)
			g_cli.password_file = cj->password_file;
		gethostname(hostname, sizeof hostname - 1);
		sel.job_host = cj->host ? cj->host : hostname;
		sel.job_paths = calloc(cj->paths.n + 1, sizeof *sel.job_paths);
		if (!sel.job_paths) {
			cli_fail(-ENOMEM);
			goto out;
		}
		/* snapshots name their paths as backup resolved them */
		for (size_t i = 0; i < cj->paths.n; i++) {
			char *rp = realpath(cj->paths.v[i], NULL);

			sel.job_paths[sel.njob_paths++] = rp ? rp : strdup(cj->paths.v[i]);
		}
	}
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "n", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		if ((e = prune_option(&po, c, optarg)) != 0) {
			if (e < 0)
				goto usage;
			continue;
		}
		switch (c) {
		case OPT_LAST: if (parse_count("--keep-last", optarg, &pol.last) < 0) goto usage; break;
		case OPT_HOURLY: if (parse_count("--keep-hourly", optarg, &pol.hourly) < 0) goto usage; break;
		case OPT_DAILY: if (parse_count("--keep-daily", optarg, &pol.daily) < 0) goto usage; break;
		case OPT_WEEKLY: if (parse_count("--keep-weekly", optarg, &pol.weekly) < 0) goto usage; break;
		case OPT_MONTHLY: if (parse_count("--keep-monthly", optarg, &pol.monthly) < 0) goto usage; break;
		case OPT_YEARLY: if (parse_count("--keep-yearly", optarg, &pol.yearly) < 0) goto usage; break;
		case OPT_WITHIN:
			if ((w = parse_within(optarg)) <= 0) {
				cli_error("--keep-within: '%s' is not a span like 14d, 6m, 1y6m or 36h", optarg);
				goto usage;
			}
			pol.within_s = w;
			break;
		case OPT_KEEP_TAG:
		case OPT_TAG: {
			const char ***v2 = c == OPT_KEEP_TAG ? &keep_tags : &sel.tags;
			size_t *n2 = c == OPT_KEEP_TAG ? &nkeep_tags : &sel.ntags;
			const char **np = realloc(*v2, (*n2 + 1) * sizeof **v2);

			if (!np) {
				cli_fail(-ENOMEM);
				goto out;
			}
			*v2 = np;
			(*v2)[(*n2)++] = optarg;
			break;
		}
		case OPT_HOST: sel.host = optarg; break;
		case OPT_PATH: sel.path = optarg; break;
		case OPT_JOB: break;
		case 'n': dry = true; break;
		case OPT_PRUNE: prune = true; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] forget [--keep-last N] [--keep-hourly N] [--keep-daily N]\n"
			       "         [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] [--keep-within SPAN]\n"
			       "         [--keep-tag TAG]... [--host H] [--tag T]... [--path P] [--job NAME]\n"
			       "         [--dry-run] [--prune [--repack-threshold PCT] [--grace DURATION]]\n"
			       "  snapshots are grouped by host and paths; in each group, a snapshot any rule\n"
			       "  keeps stays, every other one is forgotten (its data goes at the next prune)\n");
			rc = EXIT_OK;
			goto out;
		default: goto usage;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (forget takes a policy, not snapshot ids)", argv[optind]);
		goto usage;
	}
	pol.tags = keep_tags;
	pol.ntags = nkeep_tags;
	if (lb_keep_policy_empty(&pol)) {
		cli_error("no --keep-* rule given%s: that would forget every snapshot (--keep-last 1 keeps the newest)",
			  job ? " and the job sets no keep_* key" : "");
		goto usage;
	}
	if (cli_open_repo(&r) < 0)
		goto out;
	if ((e = lb_snapshot_list(r, &v, &n)) < 0) {
		cli_fail(e);
		goto out;
	}
	chosen = calloc(n + 1, sizeof *chosen);
	if (!chosen) {
		cli_fail(-ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (selected(&sel, v[i]))
			chosen[nchosen++] = v[i];
	if ((e = lb_forget_plan(chosen, nchosen, &pol, &items)) < 0) {
		cli_fail(e);
		goto out;
	}
	if (g_cli.json) {
		out = json_object();
		arr = json_array();
		json_object_set_new(out, "snapshots", arr);
	}
	for (size_t i = 0; i < nchosen; i++) {
		const struct lb_forget_item *it = &items[i];
		bool gone = false;

		if (!it->keep && !dry) {
			if ((e = lb_forget_snapshot(r, it->s->id)) < 0) {
				cli_fail(e);
				failed++;
			} else {
				gone = true;
				forgotten++;
			}
		}
		if (arr) {
			json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:b, s:b, s:s}", "id", it->s->id, "time",
							     (json_int_t)it->s->time_s, "group", it->group, "keep",
							     it->keep, "forgotten", gone, "reason", it->reason));
			continue;
		}
		if (g_cli.verbosity < 0)
			continue;
		if (i == 0 || strcmp(items[i - 1].group, it->group))
			printf("%s\n", it->group);
		print_item(it);
	}
	if (!arr && g_cli.verbosity >= 0) {
		size_t nk = 0;

		for (size_t i = 0; i < nchosen; i++)
			nk += items[i].keep;
		printf("%zu kept, %zu %s\n", nk, nchosen - nk, dry ? "would be forgotten (dry run)" : "forgotten");
	}
	rc = failed ? EXIT_ERROR : EXIT_OK;
	if (prune && rc == EXIT_OK) {
		po.dry_run = dry;
		rc = run_prune(r, &po, out);
	}
	if (out && rc == EXIT_OK) {
		char *s = json_dumps(out, JSON_INDENT(2));

		if (s)
			printf("%s\n", s);
		free(s);
	}
	goto out;
usage:
	rc = EXIT_USAGE;
out:
	json_decref(out);
	free(items);
	free(chosen);
	lb_snapshot_list_free(v, n);
	lb_repo_close(r);
	for (size_t i = 0; i < sel.njob_paths; i++)
		free(sel.job_paths[i]);
	free(sel.job_paths);
	free(sel.tags);
	free(keep_tags);
	lb_conf_free(conf);
	return rc;
}
