#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void init_usage(FILE *f)
{
	fprintf(f, "usage: lifeboat [-r REPO] init [--encryption aes-256-gcm|none]\n"
		   "         [--chunk-min N --chunk-avg N --chunk-max N] [--pack-size N] [--compression-level N]\n");
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "encryption", required_argument, NULL, 'e' },
		{ "chunk-min", required_argument, NULL, 2001 },
		{ "chunk-avg", required_argument, NULL, 2002 },
		{ "chunk-max", required_argument, NULL, 2003 },
		{ "pack-size", required_argument, NULL, 2004 },
		{ "compression-level", required_argument, NULL, 2005 },
		{ 0 }
	};
	struct lb_init_opts o = { .encrypt = 1 };
	struct lb_repo *r = NULL;
	const char *path;
	char *cfg = NULL;
	int c, e;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "e:", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'e':
			if (!strcmp(optarg, "none"))
				o.encrypt = 0;
			else if (strcmp(optarg, "aes-256-gcm") != 0) {
				cli_error("unknown encryption '%s' (aes-256-gcm or none)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 2001: case 2002: case 2003: case 2004: case 2005: {
			char *end;
			long long v = strtoll(optarg, &end, 0);

			if (end == optarg || *end || v < (c == 2005 ? -100 : 1) || v > (c == 2005 ? 100 : UINT32_MAX)) {
				cli_error("'%s' is not a valid number for this option", optarg);
				return EXIT_USAGE;
			}
			if (c == 2001) o.chunk_min = (uint32_t)v;
			if (c == 2002) o.chunk_avg = (uint32_t)v;
			if (c == 2003) o.chunk_max = (uint32_t)v;
			if (c == 2004) o.pack_size = (uint32_t)v;
			if (c == 2005) {
				if (v == 0) {
					cli_error("compression level 0 is not allowed (use 1..22, or -7..-1 for speed)");
					return EXIT_USAGE;
				}
				o.zstd_level = (int)v;
			}
			break;
		}
		case 'h': init_usage(stdout); return EXIT_OK;
		default: init_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	path = g_cli.repo ? g_cli.repo : getenv("LIFEBOAT_REPO");
	if (!path || !path[0]) {
		cli_error("no repository given: use -r REPO or LIFEBOAT_REPO");
		return EXIT_USAGE;
	}
	if (getenv("LIFEBOAT_TEST_SCRYPT_N"))
		o.scrypt_n = strtoull(getenv("LIFEBOAT_TEST_SCRYPT_N"), NULL, 0);
	e = lb_repo_init(path, &o, cli_password, (void *)1, &r);
	if (e < 0)
		return cli_fail(e);
	if (g_cli.json) {
		if (lb_repo_config_json(r, &cfg) == 0)
			printf("%s\n", cfg);
	} else if (g_cli.tty) {
		printf("created lifeboat repository at %s (%s)\n", path,
		       o.encrypt ? "encrypted with AES-256-GCM; keep the password safe: without it the data is lost"
				 : "not encrypted; data is authenticated only");
	}
	free(cfg);
	lb_repo_close(r);
	return EXIT_OK;
}
