/* lifeboat mount DIR: every snapshot, read-only, through FUSE.  The file
 * system is lib/snap/snapfs.c and fusefs.c; this only wires it up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

#include "cli.h"
#include "lifeboat/snapfs.h"

struct mount_ctx {
	const char *dir;
	bool foreground;
	bool detached;  /* messages go to syslog: stderr is /dev/null */
	size_t nsnaps;
};

static void on_error(void *ctx, const char *path, const char *msg)
{
	struct mount_ctx *m = ctx;
	char *esc = cli_escape(path, strlen(path));

	if (m->detached)
		syslog(LOG_ERR, "mount: %s: %s", esc ? esc : path, msg);
	else
		cli_error("%s: %s", esc ? esc : path, msg);
	free(esc);
}

static void on_ready(void *ctx)
{
	struct mount_ctx *m = ctx;

	if (g_cli.verbosity >= 0 && (m->foreground ? g_cli.tty || g_cli.verbosity > 0 : true))
		fprintf(stderr, "lifeboat: mount: %zu snapshot%s on %s%s; unmount with: fusermount3 -u %s\n",
			m->nsnaps, m->nsnaps == 1 ? "" : "s", m->dir, m->foreground ? "" : " (in the background)",
			m->dir);
	fflush(stdout);
	fflush(stderr);
	if (!m->foreground) {
		/* from here on the process runs detached */
		openlog("lifeboat", LOG_PID, LOG_DAEMON);
		m->detached = true;
	}
}

int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "foreground", no_argument, NULL, 'f' },
		{ "allow-other", no_argument, NULL, 'A' },
		{ 0 }
	};
	struct mount_ctx m = { 0 };
	struct lb_snapfs_opts fo = { .error = on_error, .ctx = &m };
	struct lb_snapfs_mount_opts mo = { .ready = on_ready, .ctx = &m };
	struct lb_snapfs *fs = NULL;
	struct lb_repo *r = NULL;
	struct stat st;
	int c, e, ret = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "f", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'f': mo.foreground = true; break;
		case 'A': mo.allow_other = true; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] mount [--foreground] [--allow-other] DIR\n"
			       "  DIR/ids/<id>/..., DIR/hosts/<host>/<time>/..., DIR/latest; read-only.\n"
			       "  Detaches once mounted unless --foreground; unmount with: fusermount3 -u DIR\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_error("usage: lifeboat mount [--foreground] DIR");
		return EXIT_USAGE;
	}
	m.dir = argv[optind];
	m.foreground = mo.foreground;
	if (stat(m.dir, &st) < 0) {
		cli_error("%s: %s", m.dir, strerror(errno));
		return EXIT_ERROR;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("%s: not a directory", m.dir);
		return EXIT_ERROR;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0 || (e = lb_snapfs_new(r, &fo, &fs)) < 0) {
		cli_fail(e);
		goto out;
	}
	m.nsnaps = lb_snapfs_count(fs);
	if ((e = lb_snapfs_mount(fs, m.dir, &mo)) < 0) {
		if (m.detached)
			syslog(LOG_ERR, "mount: %s", lb_errmsg());
		else
			cli_fail(e);
		goto out;
	}
	ret = EXIT_OK;
out:
	lb_snapfs_free(fs);
	lb_repo_close(r);
	return ret;
}
