/* lifeboat CLI — `backup --image` and `restore --image`: a block device or
 * a raw image file as a snapshot, and back (lifeboat/image.h).  cmd_backup()
 * and cmd_restore() hand over here when --image is on the command line. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "job.h"
#include "lifeboat/image.h"
#include "lifeboat/joblock.h"
#include "lifeboat/snapshot.h"

enum {
	OPT_IMAGE = 2301, OPT_TIMEOUT, OPT_STALL, OPT_WORKERS, OPT_ALLOW_MOUNTED, OPT_NO_COMPARE,
};

bool cmd_image_requested(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--image") || !strncmp(argv[i], "--image=", 8))
			return true;
	}
	return false;
}

static int number(const char *opt, const char *arg, long lo, long hi, long *v)
{
	char *end;

	*v = strtol(arg, &end, 10);
	if (end == arg || *end || *v < lo || *v > hi) {
		cli_error("%s: '%s' is not a number from %ld to %ld", opt, arg, lo, hi);
		return -1;
	}
	return 0;
}

static void on_warn(void *ctx, const char *path, const char *msg)
{
	char *esc = cli_escape(path, strlen(path));

	cli_warn("%s: %s", esc ? esc : path, msg);
	free(esc);
}

/* ---- backup --image ---- */

static void backup_image_usage(FILE *f)
{
	fprintf(f, "usage: lifeboat [-r REPO] backup --image DEVICE|FILE|DIR [--tag T]... [--host H]\n"
		   "         [--allow-mounted] [--timeout DURATION] [--stall-warning DURATION] [--workers N]\n"
		   "         [--pre-hook CMD]... [--post-hook CMD]... [--hook-timeout DURATION]\n");
}

static void print_backup_tree(const char *id, const char *source, const struct lb_image_backup_stats *st)
{
	if (g_cli.json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
				      "snapshot_id", id, "image", source, "tree", 1, "read_from", st->snapshot_dir,
				      "files", (json_int_t)st->files, "dirs", (json_int_t)st->dirs, "others",
				      (json_int_t)st->others, "size", (json_int_t)st->size, "bytes_read",
				      (json_int_t)st->bytes_read, "blobs_new", (json_int_t)st->blobs_new,
				      "bytes_new_raw", (json_int_t)st->bytes_new_raw, "bytes_added",
				      (json_int_t)st->bytes_added, "packs", (json_int_t)st->packs, "warnings",
				      (json_int_t)st->warnings, "duration_s", (double)st->duration_ns / 1e9);
		cli_print_json_line(j);
		return;
	}
	if (g_cli.tty && g_cli.verbosity >= 0) {
		char size[32], added[32];

		cli_human_bytes(size, sizeof size, st->size);
		cli_human_bytes(added, sizeof added, st->bytes_added);
		printf("image of %s (read from the btrfs snapshot %s, deleted since): %llu files, %llu directories, "
		       "%s\n", source, st->snapshot_dir, (unsigned long long)st->files, (unsigned long long)st->dirs,
		       size);
		printf("%s added to the repository in %.1f s\n", added, (double)st->duration_ns / 1e9);
		printf("snapshot ");
	}
	if (g_cli.verbosity >= 0 || g_cli.tty)
		printf("%s\n", id);
}

static void print_backup(const char *id, const char *source, const struct lb_image_backup_stats *st)
{
	if (st->tree) {
		print_backup_tree(id, source, st);
		return;
	}
	if (g_cli.json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
				      "snapshot_id", id, "image", source, "block_device", st->block_device,
				      "size", (json_int_t)st->size, "bytes_read", (json_int_t)st->bytes_read,
				      "bytes_data", (json_int_t)st->bytes_data, "bytes_hole", (json_int_t)st->bytes_hole,
				      "chunks", (json_int_t)st->chunks, "blobs_new", (json_int_t)st->blobs_new,
				      "bytes_new_raw", (json_int_t)st->bytes_new_raw, "bytes_added",
				      (json_int_t)st->bytes_added, "packs", (json_int_t)st->packs, "warnings",
				      (json_int_t)st->warnings, "duration_s", (double)st->duration_ns / 1e9);
		cli_print_json_line(j);
		return;
	}
	if (g_cli.tty && g_cli.verbosity >= 0) {
		char size[32], data[32], hole[32], added[32];

		cli_human_bytes(size, sizeof size, st->size);
		cli_human_bytes(data, sizeof data, st->bytes_data);
		cli_human_bytes(hole, sizeof hole, st->bytes_hole);
		cli_human_bytes(added, sizeof added, st->bytes_added);
		printf("image of %s: %s (%s data, %s zeros and holes)\n", source, size, data, hole);
		printf("%s added to the repository in %.1f s (%.0f MB/s)\n", added, (double)st->duration_ns / 1e9,
		       st->duration_ns > 0 ? (double)st->size / 1e6 / ((double)st->duration_ns / 1e9) : 0.0);
		printf("snapshot ");
	}
	if (g_cli.verbosity >= 0 || g_cli.tty)
		printf("%s\n", id);
}

int cmd_backup_image(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "tag", required_argument, NULL, 't' },
		{ "host", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "stall-warning", required_argument, NULL, OPT_STALL },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "allow-mounted", no_argument, NULL, OPT_ALLOW_MOUNTED },
		{ "pre-hook", required_argument, NULL, BACKUP_OPT_PRE_HOOK },
		{ "post-hook", required_argument, NULL, BACKUP_OPT_POST_HOOK },
		{ "hook-timeout", required_argument, NULL, BACKUP_OPT_HOOK_TIMEOUT },
		{ 0 }
	};
	struct lb_image_backup_opts o = { 0 };
	struct lb_image_backup_stats st;
	struct backup_job j;           /* for the hooks: repository, host, the image as its path */
	struct job_hooks hk = { 0 };
	struct lb_progress pg;
	struct lb_repo *r = NULL;
	struct lb_joblock *lock = NULL;
	struct cli_progress *cp = NULL;
	struct cli_watchdog *wd = NULL;
	char id[65] = "", host[256] = "", rp[PATH_MAX], *key = NULL, what[PATH_MAX + 64], *abs = NULL;
	const char *source = NULL;
	long timeout_s = 0, stall_s = 60, v;
	int c, e, ret = EXIT_USAGE;

	lb_progress_init(&pg);
	backup_job_init(&j);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "t:H:", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case OPT_IMAGE: source = optarg; break;
		case 't':
			if (strv_push(&j.tags, optarg) < 0)
				goto out;
			break;
		case 'H': j.host = optarg; break;
		case OPT_TIMEOUT:
			if ((timeout_s = cli_parse_duration(optarg)) < 0) {
				cli_error("--timeout: '%s' is not a duration (e.g. 90s, 30m, 2h)", optarg);
				goto out;
			}
			break;
		case OPT_STALL:
			if ((stall_s = cli_parse_duration(optarg)) < 0) {
				cli_error("--stall-warning: '%s' is not a duration (e.g. 30s, 5m)", optarg);
				goto out;
			}
			break;
		case OPT_WORKERS:
			if (number("--workers", optarg, 1, 64, &v) < 0)
				goto out;
			o.workers = (unsigned)v;
			break;
		case OPT_ALLOW_MOUNTED: o.allow_mounted = true; break;
		case 'h':
			backup_image_usage(stdout);
			ret = EXIT_OK;
			goto out;
		default:
			if ((e = backup_job_hook_option(&j, c, optarg)) > 0)
				continue;
			if (e == 0)
				backup_image_usage(stderr);
			goto out;
		}
	}
	if (!source || !source[0] || optind != argc) {
		cli_error(optind != argc ? "--image takes one device or file, and no other PATH"
					 : "--image needs a device or a file");
		backup_image_usage(stderr);
		goto out;
	}
	j.repo = g_cli.repo ? g_cli.repo : getenv("LIFEBOAT_REPO");
	if (!j.repo || !j.repo[0]) {
		cli_error("no repository given: use -r REPO or LIFEBOAT_REPO");
		goto out;
	}
	ret = EXIT_ERROR;
	if (strv_push(&j.paths, source) < 0)
		goto out;
	if (j.host)
		snprintf(host, sizeof host, "%s", j.host);
	else
		gethostname(host, sizeof host - 1);
	/* one image of one source into one repository at a time (a cron pile-up) */
	if (!realpath(j.repo, rp))
		snprintf(rp, sizeof rp, "%s", j.repo);
	abs = realpath(source, NULL);
	if (asprintf(&key, "image|%s|%s|%s", rp, host, abs ? abs : source) < 0) {
		key = NULL;
		cli_fail(-ENOMEM);
		goto out;
	}
	snprintf(what, sizeof what, "an image of %s into %s", source, j.repo);
	if ((e = lb_joblock_acquire(key, what, &lock)) < 0) {
		cli_fail(e);
		goto out;
	}
	/* e.g. lvcreate --snapshot: the device to image may appear only now */
	if (job_hooks_pre(&hk, &j, host, &pg) < 0)
		goto out;
	if (cli_open_repo(&r) < 0)
		goto out;
	o.source = source;
	o.tags = j.tags.v;
	o.ntags = j.tags.n;
	o.host = j.host;
	o.warn = on_warn;
	o.progress = &pg;
	cli_signals_cancel(&pg);
	wd = cli_watchdog_start(&pg, stall_s, timeout_s, "backup");
	cp = cli_progress_start(&pg, "image");
	e = lb_image_backup(r, &o, &st, id);
	cli_progress_stop(cp);
	cli_watchdog_stop(wd);
	wd = NULL;
	if (e == -LB_E_CANCELED) {
		if (pg.cancel && timeout_s > 0 && !g_cli_interrupted)
			cli_error("timed out after %ld s; no snapshot was written (data already stored is reused "
				  "next time)", timeout_s);
		else
			cli_error("interrupted; no snapshot was written (data already stored is reused next time)");
		id[0] = 0;
		goto out;
	}
	if (e < 0) {
		cli_fail(e);
		id[0] = 0;
		goto out;
	}
	print_backup(id, source, &st);
	ret = st.warnings ? EXIT_WARNINGS : EXIT_OK;
	if (st.warnings)
		cli_warn(st.tree ? "snapshot %.12s written, but some entries could not be saved as they were (see above)"
				 : "snapshot %.12s written, but the image may not be consistent (see above)", id);
out:
	cli_watchdog_stop(wd);
	lb_repo_close(r);
	if (lock) /* the job started: its post hooks run, whatever happened */
		ret = job_hooks_post(&hk, ret, id[0] ? id : NULL);
	lb_joblock_release(lock);
	free(key);
	free(abs);
	backup_job_release(&j);
	return ret;
}

/* ---- restore --image ---- */

static void restore_image_usage(FILE *f)
{
	fprintf(f, "usage: lifeboat [-r REPO] restore --image SNAPSHOT --target DEVICE|FILE|DIR [--no-compare]\n"
		   "         [--workers N]\n");
}

static void on_restore_error(void *ctx, const char *path, size_t pathlen, const char *msg)
{
	char *esc = cli_escape(path, pathlen);

	(void)ctx;
	cli_warn("%s: %s", esc ? esc : "?", msg);
	free(esc);
}

static void print_restore_tree(const struct lb_snapshot *s, const char *target,
			       const struct lb_image_restore_stats *st)
{
	if (g_cli.json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "snapshot_id", s->id,
				      "target", target, "tree", 1, "created", st->created, "files",
				      (json_int_t)st->files, "dirs", (json_int_t)st->dirs, "others",
				      (json_int_t)st->others, "links", (json_int_t)st->links, "bytes",
				      (json_int_t)st->size, "errors", (json_int_t)st->errors, "duration_s",
				      (double)st->duration_ns / 1e9);
		cli_print_json_line(j);
		return;
	}
	if (g_cli.tty && g_cli.verbosity >= 0) {
		char size[32];

		cli_human_bytes(size, sizeof size, st->size);
		printf("restored image %.12s onto %s in %.1f s: %llu files, %llu directories, %s\n", s->id, target,
		       (double)st->duration_ns / 1e9, (unsigned long long)st->files, (unsigned long long)st->dirs, size);
	}
}

static void print_restore(const struct lb_snapshot *s, const char *target, const struct lb_image_restore_stats *st)
{
	if (st->tree) {
		print_restore_tree(s, target, st);
		return;
	}
	if (g_cli.json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
				      "snapshot_id", s->id, "target", target, "block_device", st->block_device,
				      "created", st->created, "size", (json_int_t)st->size, "target_size",
				      (json_int_t)st->target_size, "bytes_compared", (json_int_t)st->bytes_compared,
				      "bytes_written", (json_int_t)st->bytes_written, "bytes_zeroed",
				      (json_int_t)st->bytes_zeroed, "bytes_skipped", (json_int_t)st->bytes_skipped,
				      "chunks_fetched", (json_int_t)st->chunks_fetched, "duration_s",
				      (double)st->duration_ns / 1e9);
		cli_print_json_line(j);
		return;
	}
	if (g_cli.tty && g_cli.verbosity >= 0) {
		char size[32], cmp[32], wr[32], zero[32], same[32];

		cli_human_bytes(size, sizeof size, st->size);
		cli_human_bytes(cmp, sizeof cmp, st->bytes_compared);
		cli_human_bytes(wr, sizeof wr, st->bytes_written);
		cli_human_bytes(zero, sizeof zero, st->bytes_zeroed);
		cli_human_bytes(same, sizeof same, st->bytes_skipped);
		printf("restored image %.12s (%s) onto %s in %.1f s\n", s->id, size, target,
		       (double)st->duration_ns / 1e9);
		printf("%s compared, %s written, %s zeroed, %s already right\n", cmp, wr, zero, same);
	}
}

int cmd_restore_image(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "image", optional_argument, NULL, OPT_IMAGE },
		{ "target", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "no-compare", no_argument, NULL, OPT_NO_COMPARE },
		{ 0 }
	};
	struct lb_image_restore_opts o = { 0 };
	struct lb_image_restore_stats st;
	struct lb_image_info info;
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	struct cli_progress *cp;
	const char *spec = NULL;
	long v;
	int c, e, ret = EXIT_USAGE;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "t:w:", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case OPT_IMAGE:
			if (optarg)
				spec = optarg;
			break;
		case 't': o.target = optarg; break;
		case 'w':
			if (number("--workers", optarg, 1, 64, &v) < 0)
				goto out;
			o.workers = (unsigned)v;
			break;
		case OPT_NO_COMPARE: o.no_compare = true; break;
		case 'h':
			restore_image_usage(stdout);
			ret = EXIT_OK;
			goto out;
		default:
			restore_image_usage(stderr);
			goto out;
		}
	}
	/* --image SNAPSHOT leaves SNAPSHOT as the operand */
	if (!spec && optind < argc)
		spec = argv[optind++];
	if (!spec || optind != argc || !o.target) {
		cli_error("usage: lifeboat restore --image SNAPSHOT --target DEVICE|FILE");
		goto out;
	}
	ret = EXIT_ERROR;
	if (cli_open_repo(&r) < 0)
		goto out;
	if ((e = lb_snapshot_find(r, spec, &s)) < 0 || (e = lb_image_info(s, &info)) < 0 ||
	    (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) {
		cli_fail(e);
		goto out;
	}
	o.progress = &pg;
	o.error = on_restore_error;
	cli_signals_cancel(&pg);
	cp = cli_progress_start(&pg, "restore");
	e = lb_image_restore(r, s, &o, &st);
	cli_progress_stop(cp);
	if (e == -LB_E_CANCELED) {
		cli_error("interrupted; %s is incomplete: restore the image again", o.target);
		goto out;
	}
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	print_restore(s, o.target, &st);
	if (st.block_device && st.target_size > st.size)
		cli_info("lifeboat: restore: %s is larger than the image; the bytes after the image's %llu were "
			 "left as they were", o.target, (unsigned long long)st.size);
	if (cli_restore_errors(st.errors)) /* as restore does: named above, exit 1 */
		goto out;
	ret = EXIT_OK;
out:
	lb_snapshot_free(s);
	lb_repo_close(r);
	return ret;
}
