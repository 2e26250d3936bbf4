/* lifeboat import ARCHIVE|- [--host H] [--time T] [--tag T]...
 * Thin: the work is in lib/xfer/import.c (lifeboat/xfer.h). */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lifeboat/util.h"
#include "lifeboat/xfer.h"

static int parse_time(const char *arg, int64_t *sec, long *nsec)
{
	char *end;

	if (arg[0] == '@') {
		long long v = strtoll(arg + 1, &end, 10);

		if (end == arg + 1 || *end)
			return -EINVAL;
		*sec = v;
		*nsec = 0;
		return 0;
	}
	return lb_time_parse(arg, sec, nsec);
}

int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "host", required_argument, NULL, 'H' },
		{ "time", required_argument, NULL, 'T' },
		{ "tag", required_argument, NULL, 't' },
		{ 0 }
	};
	struct lb_import_opts o = { .fd = STDIN_FILENO };
	struct lb_import_stats st;
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	struct cli_progress *cp;
	const char **tags = NULL;
	size_t ntags = 0;
	char id[65] = "", host[256] = "";
	int c, e, ret = EXIT_ERROR, warned = 0;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "H:T:t:", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'H': o.host = optarg; break;
		case 'T':
			if (parse_time(optarg, &o.time_s, &o.time_ns) < 0) {
				cli_error("--time: '%s' is not a time (2019-03-01, 2019-03-01T02:15:00Z or @EPOCH)", optarg);
				goto out;
			}
			o.time_set = true;
			break;
		case 't': {
			const char **p = realloc(tags, (ntags + 1) * sizeof *p);

			if (!p)
				goto out;
			tags = p;
			tags[ntags++] = optarg;
			break;
		}
		case 'h':
			printf("usage: lifeboat [-r REPO] import ARCHIVE|- [--host H] [--time T] [--tag T]...\n");
			ret = EXIT_OK;
			goto out;
		default: goto out;
		}
	}
	if (optind + 1 != argc) {
		cli_error("usage: lifeboat import ARCHIVE|- [--host H] [--time T] [--tag T]...");
		goto out;
	}
	/* names are raw bytes: with a UTF-8 LC_CTYPE libarchive hands pax
	 * UTF-8 names over as they are, and hdrcharset=BINARY ones too */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C.utf8");
	if (!o.host) {
		gethostname(host, sizeof host - 1);
		o.host = host;
	}
	o.archive = argv[optind];
	o.tags = tags;
	o.ntags = ntags;
	o.progress = &pg;
	o.warn = cli_warn_entry;
	o.warn_ctx = &warned;
	if (cli_open_repo(&r) < 0)
		goto out;
	cli_signals_cancel(&pg);
	cp = cli_progress_start(&pg, "import");
	e = lb_import_run(r, &o, &st, id);
	cli_progress_stop(cp);
	if (e == -LB_E_CANCELED) {
		cli_error("interrupted; no snapshot was written (data already stored is reused next time)");
		goto out;
	}
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	if (g_cli.json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "snapshot_id", id, "format", st.format, "compression", st.filters,
				      "entries", (json_int_t)st.entries, "files", (json_int_t)st.files,
				      "dirs", (json_int_t)st.dirs, "symlinks", (json_int_t)st.symlinks,
				      "others", (json_int_t)st.others, "hardlinks", (json_int_t)st.hardlinks,
				      "bytes", (json_int_t)st.bytes, "skipped", (json_int_t)st.skipped,
				      "warnings", (json_int_t)st.warnings, "blobs_new", (json_int_t)st.blobs_new,
				      "bytes_added", (json_int_t)st.stored_new, "archive_bytes", (json_int_t)st.archive_bytes);
		char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;

		if (txt)
			printf("%s\n", txt);
		free(txt);
		json_decref(j);
	} else {
		if (g_cli.tty && g_cli.verbosity >= 0) {
			char total[32], added[32];

			cli_human_bytes(total, sizeof total, st.bytes);
			cli_human_bytes(added, sizeof added, st.stored_new);
			printf("%s%s%s: %llu files, %llu directories, %llu others; %s in the snapshot, %s added\n",
			       st.format, strcmp(st.filters, "none") ? ", " : "", strcmp(st.filters, "none") ? st.filters : "",
			       (unsigned long long)st.files, (unsigned long long)st.dirs,
			       (unsigned long long)(st.symlinks + st.others + st.hardlinks), total, added);
			printf("snapshot ");
		}
		if (g_cli.verbosity >= 0 || g_cli.tty)
			printf("%s\n", id);
	}
	ret = EXIT_OK;
	if (st.skipped) {
		cli_warn("snapshot %.12s written, but %llu entr%s of the archive could not be kept (named above)", id,
			 (unsigned long long)st.skipped, st.skipped == 1 ? "y" : "ies");
		ret = EXIT_WARNINGS;
	}
out:
	free(tags);
	lb_repo_close(r);
	lb_progress_release(&pg);
	return ret;
}
