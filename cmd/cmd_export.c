/* lifeboat export SNAPSHOT [PATH] [--format pax|tar|zip] [-o FILE|-]
 * Thin: the work is in lib/xfer/export.c (lifeboat/xfer.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/xfer.h"

/* Names are raw bytes: with a UTF-8 LC_CTYPE libarchive passes UTF-8 names
 * through as they are and writes the others as raw bytes (pax
 * hdrcharset=BINARY), and reads both back byte for byte. */
static void bytes_locale(void)
{
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C.utf8");
}

/* ---- export ---- */

/* The archive goes to a temporary file beside FILE, renamed over it only
 * when complete: a failed export never leaves a plausible-looking archive.
 * FILE that exists and is no regular file (/dev/null, a FIFO, a tape) is
 * written to as it is: renaming over it would replace the node. */
struct outfile {
	char *final, *tmp;
	int fd, dirfd;
	bool direct;          /* writing into FILE itself: a device or a FIFO */
};

static int outfile_open(struct outfile *of, const char *path)
{
	char *d = NULL;
	size_t n = strlen(path) + 32;
	struct stat st;

	of->fd = of->dirfd = -1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		cli_error("%s: is a directory; -o wants the archive's file name", path);
		return -EISDIR;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		of->direct = true;
		if ((of->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
			cli_error("%s: %s", path, strerror(errno));
			return -errno;
		}
		return 0;
	}
	d = strdup(path);
	of->final = strdup(path);
	of->tmp = malloc(n);
	if (!d || !of->final || !of->tmp) {
		free(d);
		return -ENOMEM;
	}
	snprintf(of->tmp, n, "%s.lifeboat-XXXXXX", path);
	of->dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (of->dirfd < 0 || (of->fd = mkstemp(of->tmp)) < 0) {
		cli_error("%s: %s", path, strerror(errno));
		return -errno;
	}
	/* an archive is not a secret more than the files in it: umask decides */
	{
		mode_t um = umask(0);

		umask(um);
		fchmod(of->fd, 0666 & ~um);
	}
	return 0;
}

static int outfile_commit(struct outfile *of)
{
	if (of->direct) {
		int fd = of->fd;

		of->fd = -1;
		if (close(fd) < 0) {
			cli_error("%s: %s", of->final ? of->final : "the output", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (fsync(of->fd) < 0 || close(of->fd) < 0) {
		of->fd = -1;
		cli_error("%s: %s", of->final, strerror(errno));
		return -1;
	}
	of->fd = -1;
	if (rename(of->tmp, of->final) < 0) {
		cli_error("%s: %s", of->final, strerror(errno));
		return -1;
	}
	free(of->tmp);
	of->tmp = NULL;
	fsync(of->dirfd);
	return 0;
}

static void outfile_release(struct outfile *of)
{
	if (of->fd >= 0)
		close(of->fd);
	if (of->tmp)
		unlink(of->tmp);
	if (of->dirfd >= 0)
		close(of->dirfd);
	free(of->tmp);
	free(of->final);
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ 0 }
	};
	struct lb_export_opts o = { .format = LB_EXPORT_PAX, .fd = STDOUT_FILENO };
	struct lb_export_stats st;
	struct outfile of = { .fd = -1, .dirfd = -1 };
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	struct cli_progress *cp;
	const char *out = NULL;
	int c, e, ret = EXIT_ERROR, warned = 0;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "f:o:", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'f':
			if (lb_export_format_parse(optarg, &o.format) < 0) {
				cli_fail(-EINVAL);
				return EXIT_USAGE;
			}
			break;
		case 'o': out = optarg; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] export SNAPSHOT [PATH] [--format pax|tar|zip] [-o FILE|-]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		cli_error("usage: lifeboat export SNAPSHOT [PATH] [--format pax|tar|zip] [-o FILE|-]");
		return EXIT_USAGE;
	}
	if ((!out || !strcmp(out, "-")) && isatty(STDOUT_FILENO)) {
		cli_error("refusing to write an archive to a terminal: give -o FILE, or redirect standard output");
		return EXIT_USAGE;
	}
	bytes_locale();
	o.path = argc - optind == 2 ? argv[optind + 1] : "/";
	if (cli_open_repo(&r) < 0)
		goto out;
	if ((e = lb_snapshot_find(r, argv[optind], &s)) < 0 || (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) {
		cli_fail(e);
		goto out;
	}
	if (out && strcmp(out, "-")) {
		if (outfile_open(&of, out) < 0)
			goto out;
		o.fd = of.fd;
	}
	o.progress = &pg;
	o.warn = cli_warn_entry;
	o.warn_ctx = &warned;
	cli_signals_cancel(&pg);
	/* a reader that goes away (export ... | head) is a write error with a
	 * message and a clean exit, not a kill that leaves the run marker */
	signal(SIGPIPE, SIG_IGN);
	/* the progress line goes to stderr's terminal only when the archive
	 * goes to a file: never into the archive */
	cp = out && strcmp(out, "-") ? cli_progress_start(&pg, "export") : NULL;
	e = lb_export_run(r, s, &o, &st);
	cli_progress_stop(cp);
	if (e == -LB_E_CANCELED) {
		cli_error("interrupted; the archive is incomplete%s", of.tmp ? " and was removed" : "");
		goto out;
	}
	if (e == -EPIPE) {
		cli_error("the reader of the archive closed the pipe before its end: the archive is incomplete");
		goto out;
	}
	if (e < 0) {
		cli_fail(e);
		if (!of.tmp)
			cli_error("the archive written so far is incomplete: discard it");
		goto out;
	}
	if (of.fd >= 0 && outfile_commit(&of) < 0)
		goto out;
	if (st.lost_meta)
		cli_warn("%llu entr%s lost xattrs, ACLs or holes the %s format cannot hold (pax keeps them)",
			 (unsigned long long)st.lost_meta, st.lost_meta == 1 ? "y" : "ies",
			 o.format == LB_EXPORT_ZIP ? "zip" : "ustar");
	if (g_cli.json && out && strcmp(out, "-")) {
		printf("{\"snapshot_id\":\"%s\",\"entries\":%llu,\"files\":%llu,\"bytes\":%llu,\"skipped\":%llu,"
		       "\"lost_meta\":%llu,\"archive_bytes\":%llu}\n", s->id, (unsigned long long)st.entries,
		       (unsigned long long)st.files, (unsigned long long)st.bytes, (unsigned long long)st.skipped,
		       (unsigned long long)st.lost_meta, (unsigned long long)st.archive_bytes);
	} else if (g_cli.tty && g_cli.verbosity >= 0 && out && strcmp(out, "-")) {
		char b[32];

		cli_human_bytes(b, sizeof b, st.archive_bytes);
		printf("exported %llu entries of %.12s into %s (%s)\n", (unsigned long long)st.entries, s->id, out, b);
	}
	ret = EXIT_OK;
	if (st.skipped) {
		cli_warn("%llu entr%s could not go into the archive (named above)", (unsigned long long)st.skipped,
			 st.skipped == 1 ? "y" : "ies");
		ret = EXIT_WARNINGS;
	}
out:
	outfile_release(&of);
	lb_snapshot_free(s);
	lb_repo_close(r);
	lb_progress_release(&pg);
	return ret;
}
