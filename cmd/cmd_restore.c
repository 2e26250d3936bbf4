#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lifeboat/restore.h"
#include "lifeboat/snapshot.h"

static void on_error(void *ctx, const char *path, size_t pathlen, const char *msg)
{
	char *esc = cli_escape(path, pathlen);

	cli_error("%s: %s", esc && esc[0] ? esc : "/", msg);
	free(esc);
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "target", required_argument, NULL, 't' },
		{ "include", required_argument, NULL, 'i' },
		{ "workers", required_argument, NULL, 'w' },
		{ 0 }
	};
	struct lb_restore_opts o = { 0 };
	struct lb_restore_stats st;
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	struct cli_progress *cp;
	const char **incl = NULL;
	size_t nincl = 0;
	int c, e, ret = EXIT_ERROR;

	if (cmd_image_requested(argc, argv)) /* --image SNAPSHOT --target DEVICE: cmd/cmd_image.c */
		return cmd_restore_image(argc, argv);
	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "t:i:w:", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 't': o.target = optarg; break;
		case 'i': {
			const char **p = realloc(incl, (nincl + 1) * sizeof *p);

			if (!p)
				goto out;
			incl = p;
			incl[nincl++] = optarg;
			break;
		}
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end || v < 1 || v > 64) {
				cli_error("--workers: '%s' is not a number from 1 to 64", optarg);
				goto out;
			}
			o.workers = (unsigned)v;
			break;
		}
		case 'h':
			printf("usage: lifeboat [-r REPO] restore SNAPSHOT --target DIR [--include PATH]... [--workers N]\n");
			ret = EXIT_OK;
			goto out;
		default: goto out;
		}
	}
	if (optind + 1 != argc || !o.target) {
		cli_error("usage: lifeboat restore SNAPSHOT --target DIR [--include PATH]...");
		goto out;
	}
	if (cli_open_repo(&r) < 0)
		goto out;
	if ((e = lb_snapshot_find(r, argv[optind], &s)) < 0 || (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) {
		cli_fail(e);
		goto out;
	}
	o.includes = incl;
	o.nincludes = nincl;
	o.error = on_error;
	o.progress = &pg;
	cli_signals_cancel(&pg);
	cp = cli_progress_start(&pg, "restore");
	e = lb_restore_run(r, s, &o, &st);
	cli_progress_stop(cp);
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	if (g_cli.json) {
		printf("{\"snapshot_id\":\"%s\",\"files\":%llu,\"dirs\":%llu,\"others\":%llu,\"links\":%llu,"
		       "\"bytes\":%llu,\"errors\":%llu}\n", s->id, (unsigned long long)st.files,
		       (unsigned long long)st.dirs, (unsigned long long)st.others, (unsigned long long)st.links,
		       (unsigned long long)st.bytes, (unsigned long long)st.errors);
	} else if (g_cli.tty && g_cli.verbosity >= 0) {
		char b[32];

		cli_human_bytes(b, sizeof b, st.bytes);
		printf("restored %llu files, %llu directories, %llu others (%s) from %.12s into %s\n",
		       (unsigned long long)st.files, (unsigned long long)st.dirs, (unsigned long long)st.others, b,
		       s->id, o.target);
	}
	if (cli_restore_errors(st.errors))
		goto out;
	ret = EXIT_OK;
out:
	lb_snapshot_free(s);
	lb_repo_close(r);
	free(incl);
	return ret;
}
