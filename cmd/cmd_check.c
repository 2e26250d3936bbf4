#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lifeboat/check.h"

struct check_ctx {
	json_t *msgs;
};

static void on_report(void *ctx, int level, const char *msg)
{
	struct check_ctx *c = ctx;

	if (c->msgs) {
		json_array_append_new(c->msgs, json_pack("{s:s, s:s}", "level",
							 level == LB_LOG_ERROR ? "error" : level == LB_LOG_WARN ? "warning" : "info",
							 "message", msg));
		return;
	}
	if (level == LB_LOG_ERROR)
		cli_error("error: %s", msg);
	else if (level == LB_LOG_WARN)
		cli_warn("%s", msg);
	else
		cli_info("%s", msg);
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "read-data", no_argument, NULL, 2001 },
		{ "read-data-subset", required_argument, NULL, 2002 },
		{ 0 }
	};
	struct lb_check_opts o = { 0 };
	struct lb_check_stats st;
	struct check_ctx ctx = { 0 };
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	struct cli_progress *cp;
	int c, e;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 2001: o.read_data = true; break;
		case 2002: {
			char *end;
			double pct;
			unsigned n, m;

			o.read_data = true;
			if (sscanf(optarg, "%u/%u", &n, &m) == 2 && m > 0 && n >= 1 && n <= m) {
				o.subset_n = n;
				o.subset_m = m;
				break;
			}
			pct = strtod(optarg, &end);
			if (end == optarg || strcmp(end, "%") != 0 || pct <= 0 || pct > 100) {
				cli_error("--read-data-subset: '%s' is neither N%% nor n/m", optarg);
				return EXIT_USAGE;
			}
			o.subset_pct = pct;
			break;
		}
		case 'h':
			printf("usage: lifeboat [-r REPO] check [--read-data | --read-data-subset N%%|n/m]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if (g_cli.json)
		ctx.msgs = json_array();
	o.report = on_report;
	o.ctx = &ctx;
	o.progress = &pg;
	cli_signals_cancel(&pg);
	cp = cli_progress_start(&pg, "check");
	e = lb_check_run(r, &o, &st);
	cli_progress_stop(cp);
	lb_repo_close(r);
	if (e < 0) {
		json_decref(ctx.msgs);
		return cli_fail(e);
	}
	if (ctx.msgs) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "errors", (json_int_t)st.errors,
				      "warnings", (json_int_t)st.warnings, "snapshots", (json_int_t)st.snapshots,
				      "packs", (json_int_t)st.packs, "blobs", (json_int_t)st.blobs, "trees", (json_int_t)st.trees,
				      "packs_read", (json_int_t)st.packs_read, "blobs_read", (json_int_t)st.blobs_read,
				      "bytes_read", (json_int_t)st.bytes_read, "messages", ctx.msgs);
		char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else if (g_cli.tty && g_cli.verbosity >= 0) {
		printf("%llu snapshots, %llu trees, %llu packs checked", (unsigned long long)st.snapshots,
		       (unsigned long long)st.trees, (unsigned long long)st.packs);
		if (o.read_data)
			printf("; %llu packs (%llu blobs) read back", (unsigned long long)st.packs_read,
			       (unsigned long long)st.blobs_read);
		printf(": %s\n", st.errors ? "ERRORS FOUND" : "no errors");
	}
	if (st.errors) {
		if (!g_cli.json)
			cli_error("%llu error%s found: the repository is damaged", (unsigned long long)st.errors,
				  st.errors == 1 ? "" : "s");
		return EXIT_ERROR;
	}
	return EXIT_OK;
}
