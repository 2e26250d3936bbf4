/* lifeboat — backup, imaging and standby-site replication.
 * main() parses the global options and hands over to one command. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "lifeboat/marker.h"
#include "lifeboat/version.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "init", cmd_init, "create a repository" },
	{ "backup", cmd_backup, "back up files into a new snapshot" },
	{ "snapshots", cmd_snapshots, "list snapshots" },
	{ "ls", cmd_ls, "list the files of a snapshot" },
	{ "diff", cmd_diff, "what changed between two snapshots" },
	{ "find", cmd_find, "find files across snapshots: which had them, which versions" },
	{ "mount", cmd_mount, "browse every snapshot read-only through FUSE" },
	{ "restore", cmd_restore, "restore a snapshot or part of one" },
	{ "export", cmd_export, "stream a snapshot or part of one as a pax, tar or zip archive" },
	{ "import", cmd_import, "turn a tar, zip or cpio archive into a snapshot" },
	{ "check", cmd_check, "verify the repository" },
	{ "forget", cmd_forget, "forget snapshots by a keep policy (--prune frees their space)" },
	{ "prune", cmd_prune, "free the space forgotten snapshots held; safe while backups run" },
	{ "cat", cmd_cat, "print a repository object (config, snapshot, tree)" },
	{ "key", cmd_key, "manage the repository password (key passwd)" },
	{ "mysql", cmd_mysql, "MySQL/MariaDB: restore a dump (or one table), archive binlogs" },
	{ "mail", cmd_mail, "mail spools: list mailboxes, restore one mailbox" },
	{ "verify", cmd_verify, "restore drill: prove a MySQL backup restores" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lifeboat [-r REPO] [--password-file FILE] [--config FILE] [--json] [-q|-v] COMMAND [ARGS]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nThe repository comes from -r or LIFEBOAT_REPO, the password from --password-file,\n"
		   "LIFEBOAT_PASSWORD or the terminal.  Exit status: 0 ok, 1 error, 3 the snapshot was\n"
		   "written but some files could not be read.  See lifeboat(1).\n");
}

static void log_handler(int level, const char *msg, void *ctx)
{
	if (level <= LB_LOG_WARN)
		cli_warn("%s", msg);
	else if (g_cli.verbosity >= (level == LB_LOG_INFO ? 1 : 2))
		fprintf(stderr, "lifeboat: %s\n", msg);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct rlimit rl;
	int c, first;

	g_cli.tty = isatty(STDOUT_FILENO);
	/* deep trees keep one descriptor per level open */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+" CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (c == 'V') {
			printf("lifeboat %s\n", LB_VERSION);
			return EXIT_OK;
		}
		cli_error("unknown or incomplete option '%s'", argv[optind - 1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	lb_log_set_handler(log_handler, NULL);
	first = optind;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[first], commands[i].name) == 0) {
			g_cli.command = commands[i].name;
			/* how this run names itself in the repository's locks/ */
			lb_marker_set_purpose(commands[i].name);
			optind = 0; /* GNU getopt: start afresh on the command's argv */
			opterr = 1;
			return commands[i].run(argc - first, argv + first);
		}
	}
	cli_error("unknown command '%s'", argv[first]);
	usage(stderr);
	return EXIT_USAGE;
}
