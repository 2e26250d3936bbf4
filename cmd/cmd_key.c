#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_key(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "new-password-file", required_argument, NULL, 2001 },
		{ 0 }
	};
	const char *newfile = NULL;
	struct lb_repo *r = NULL;
	char pw[1024], name[65], old[65];
	int c, e;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		if (c == 2001) {
			newfile = optarg;
			continue;
		}
		if (c == 'h') {
			printf("usage: lifeboat [-r REPO] key passwd [--new-password-file FILE]\n");
			return EXIT_OK;
		}
		return EXIT_USAGE;
	}
	if (optind + 1 != argc || strcmp(argv[optind], "passwd") != 0) {
		cli_error("usage: lifeboat key passwd [--new-password-file FILE]");
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	e = cli_read_password(newfile, "LIFEBOAT_NEW_PASSWORD", "new password: ", true, pw, sizeof pw);
	if (e < 0)
		goto fail;
	snprintf(old, sizeof old, "%s", lb_repo_key_name(r));
	/* the new key is durable before the old one goes: a crash leaves two */
	e = lb_repo_key_add(r, pw, getenv("LIFEBOAT_TEST_SCRYPT_N") ? strtoull(getenv("LIFEBOAT_TEST_SCRYPT_N"), NULL, 0) : 0,
			    name);
	explicit_bzero(pw, sizeof pw);
	if (e < 0)
		goto fail;
	e = lb_repo_key_remove(r, old);
	if (e < 0)
		goto fail;
	if (g_cli.tty && g_cli.verbosity >= 0)
		printf("password changed (key %.12s replaces %.12s)\n", name, old);
	lb_repo_close(r);
	return EXIT_OK;
fail:
	cli_fail(e);
	lb_repo_close(r);
	return EXIT_ERROR;
}
