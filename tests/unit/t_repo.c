/* Unit tests for lib/store/repo.c: init, open, key files, config, sealed
 * objects. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>

#include "tap.h"
#include "store/store.h"

struct pw {
	const char *pw;
	int calls;
	int fail;
};

static int pwcb(char *buf, size_t n, void *ctx)
{
	struct pw *p = ctx;

	p->calls++;
	if (p->fail)
		return lb_err(-ECANCELED, "no password today");
	snprintf(buf, n, "%s", p->pw);
	return 0;
}

static char path_buf[8][512];
static const char *tpath(int slot, const char *name)
{
	snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", tap_tmp(), name);
	return path_buf[slot];
}

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return d ? n : -1;
}

static int first_entry(const char *dir, char *out, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(out, n, "%s", de->d_name);
			found = 1;
			break;
		}
	if (d)
		closedir(d);
	return found;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[65536];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static const struct lb_init_opts enc_opts = { .encrypt = 1, .scrypt_n = 1024 };
static const struct lb_init_opts none_opts = { .encrypt = 0, .scrypt_n = 1024 };

static void test_init_open(void)
{
	struct pw good = { .pw = "correct horse" }, bad = { .pw = "wrong horse" };
	struct lb_repo *r = NULL;
	const char *p = tpath(0, "enc");
	char keyname[65] = "";
	struct stat st;
	int e;

	e = lb_repo_init(p, &enc_opts, pwcb, &good, &r);
	ok(e == 0 && r, "init an encrypted repository (%s)", e ? lb_errmsg() : "ok");
	is(good.calls, 1, "init asks for the password once");
	ok(!strcmp(lb_repo_location(r), p), "location is the path given");
	ok(strlen(lb_repo_key_name(r)) == 64, "init names its key file");
	snprintf(keyname, sizeof keyname, "%s", lb_repo_key_name(r));
	lb_repo_close(r);
	r = NULL;

	ok(stat(tpath(1, "enc/config"), &st) == 0 && S_ISREG(st.st_mode), "config written");
	is(count_dir(tpath(1, "enc/keys")), 1, "one key file");
	{
		char kp[600];

		snprintf(kp, sizeof kp, "%s/keys/%s", p, keyname);
		ok(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600, "the key file is mode 0600");
	}
	is(count_dir(tpath(1, "enc/packs")), 256, "256 pack fan-out directories");
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700, "repository directory is 0700");

	good.calls = 0;
	e = lb_repo_open(p, pwcb, &good, &r);
	ok(e == 0 && r, "open with the right password (%s)", e ? lb_errmsg() : "ok");
	is(good.calls, 1, "open asks once");
	ok(r && !strcmp(lb_repo_key_name(r), keyname), "opened with the key init wrote");
	lb_repo_close(r);
	r = NULL;

	e = lb_repo_open(p, pwcb, &bad, &r);
	is(e, -LB_E_PASSWORD, "a wrong password is -LB_E_PASSWORD");
	ok(strstr(lb_errmsg(), "wrong password") != NULL, "...and says so: %s", lb_errmsg());
	ok(r == NULL, "no handle on failure");
	e = lb_repo_open(p, NULL, NULL, &r);
	is(e, -LB_E_PASSWORD, "no password callback for an encrypted repository: -LB_E_PASSWORD");
	bad.fail = 1;
	e = lb_repo_open(p, pwcb, &bad, &r);
	is(e, -ECANCELED, "a failing callback's code is passed through");
	bad.fail = 0;
	{
		struct pw empty = { .pw = "" };

		is(lb_repo_open(p, pwcb, &empty, &r), -LB_E_PASSWORD, "an empty password does not open it");
	}
	{
		/* a password that is a prefix / extension of the right one */
		struct pw pfx = { .pw = "correct hors" }, ext = { .pw = "correct horse " };

		is(lb_repo_open(p, pwcb, &pfx, &r), -LB_E_PASSWORD, "a prefix of the password does not open it");
		is(lb_repo_open(p, pwcb, &ext, &r), -LB_E_PASSWORD, "the password plus a space does not open it");
	}

	/* unencrypted */
	{
		struct pw never = { .pw = "unused" };

		mkdir(tpath(2, "none"), 0750);
		e = lb_repo_init(tpath(2, "none"), &none_opts, pwcb, &never, &r);
		ok(e == 0, "init an unencrypted repository into an existing empty directory");
		is(never.calls, 0, "no password asked");
		lb_repo_close(r);
		r = NULL;
		e = lb_repo_open(tpath(2, "none"), NULL, NULL, &r);
		ok(e == 0 && r, "open it without any password callback (%s)", e ? lb_errmsg() : "ok");
		lb_repo_close(r);
		r = NULL;
		e = lb_repo_open(tpath(2, "none"), pwcb, &never, &r);
		ok(e == 0 && never.calls == 0, "a callback, if given, is not called");
		lb_repo_close(r);
		r = NULL;
	}

	/* refusals */
	{
		struct pw empty = { .pw = "" };

		is(lb_repo_init(tpath(3, "emptypw"), &enc_opts, pwcb, &empty, &r), -EINVAL, "init refuses an empty password");
		is(lb_repo_init(tpath(3, "nopw"), &enc_opts, NULL, NULL, &r), -EINVAL, "init of an encrypted repo without a callback");
		ok(access(tpath(3, "nopw"), F_OK) != 0, "...creates nothing");
	}
	mkdir(tpath(3, "full"), 0755);
	write_text(tpath(4, "full/precious"), "do not touch");
	e = lb_repo_init(tpath(3, "full"), &enc_opts, pwcb, &good, &r);
	is(e, -EEXIST, "init refuses a non-empty directory (%s)", lb_errmsg());
	is(count_dir(tpath(3, "full")), 1, "...and adds nothing to it");
	ok(!strcmp(read_text(tpath(4, "full/precious")), "do not touch"), "...and leaves its file alone");
	is(lb_repo_init(p, &enc_opts, pwcb, &good, &r), -EEXIST, "init over an existing repository is refused");
}

static void test_missing_config(void)
{
	struct lb_repo *r = NULL;
	int e;

	/* a config with the wrong kind of content */
	write_text(tpath(2, "none/config"), "this is not json");
	is(lb_repo_open(tpath(1, "none"), NULL, NULL, &r), -LB_E_CORRUPT, "a config that is not JSON: -LB_E_CORRUPT");
	ok(strstr(lb_errmsg(), "not a lifeboat repository") != NULL, "...says so: %s", lb_errmsg());

	unlink(tpath(0, "none/config"));
	e = lb_repo_open(tpath(1, "none"), NULL, NULL, &r);
	is(e, -ENOENT, "config deleted: -ENOENT");
	ok(strstr(lb_errmsg(), "not a lifeboat repository") != NULL, "...'not a lifeboat repository': %s", lb_errmsg());

	mkdir(tpath(0, "plain"), 0755);
	e = lb_repo_open(tpath(0, "plain"), NULL, NULL, &r);
	ok(e < 0 && r == NULL, "an empty directory does not open (%d)", e);
	ok(strstr(lb_errmsg(), "not a lifeboat repository") != NULL,
	   "opening an empty directory says it is not a lifeboat repository: '%s'", lb_errmsg());

	e = lb_repo_open(tpath(0, "does-not-exist"), NULL, NULL, &r);
	is(e, -ENOENT, "a path that does not exist: -ENOENT");
	ok(strstr(lb_errmsg(), "does-not-exist") != NULL, "...naming the path: %s", lb_errmsg());
}

static void test_config(void)
{
	struct lb_repo *r = NULL;
	struct lb_repo_config c;
	char *text = NULL, *saved;
	json_t *j;
	json_error_t jerr;
	const char *p = tpath(0, "cfg");
	struct lb_init_opts o = { .encrypt = 1, .scrypt_n = 1024, .chunk_min = 4096, .chunk_avg = 16384,
				  .chunk_max = 65536, .pack_size = 1 << 20, .zstd_level = 5 };
	struct pw good = { .pw = "correct horse" };
	json_int_t version = 0, min = 0, avg = 0, max = 0, level = 0, packsize = 0;
	const char *id = NULL, *enc = NULL, *alg = NULL, *calg = NULL;

	ok(lb_repo_init(p, &o, pwcb, &good, &r) == 0, "init with custom parameters");
	ok(lb_repo_config_json(r, &text) == 0 && text, "config_json");
	j = json_loads(text, 0, &jerr);
	ok(j && json_unpack(j, "{s:I, s:s, s:s, s:{s:s, s:I, s:I, s:I}, s:{s:s, s:I}, s:I}", "version", &version,
			    "id", &id, "encryption", &enc, "chunker", "algorithm", &alg, "min", &min, "avg", &avg,
			    "max", &max, "compression", "algorithm", &calg, "level", &level, "pack_size",
			    &packsize) == 0,
	   "config JSON has every documented field");
	ok(version == 1 && !strcmp(enc, "aes-256-gcm") && !strcmp(alg, "fastcdc-gear64") && !strcmp(calg, "zstd"),
	   "version 1, aes-256-gcm, fastcdc-gear64, zstd");
	ok(min == 4096 && avg == 16384 && max == 65536 && level == 5 && packsize == (1 << 20),
	   "the init options are recorded");
	ok(id && strlen(id) == 64, "a 64-hex repository id");
	ok(lb_config_parse((const uint8_t *)text, strlen(text), &c) == 0 && c.chunk_min == 4096 && c.chunk_avg == 16384 &&
	   c.chunk_max == 65536 && c.pack_size == (1u << 20) && c.zstd_level == 5 && c.enc == LB_ENC_AES256GCM,
	   "lb_config_parse reads back what config_json wrote");
	json_decref(j);
	free(text);
	lb_repo_close(r);
	r = NULL;

	/* the file on disk matches, and open honours it */
	saved = strdup(read_text(tpath(1, "cfg/config")));
	good.calls = 0;
	ok(lb_repo_open(p, pwcb, &good, &r) == 0 && r->cfg.chunk_min == 4096 && r->cfg.pack_size == (1u << 20),
	   "open reads the parameters");
	lb_repo_close(r);
	r = NULL;

	/* version 2 */
	{
		char *v2 = strdup(saved), *q = strstr(v2, "\"version\": 1");

		ok(q != NULL, "the config has \"version\": 1");
		if (q)
			q[11] = '2';
		write_text(tpath(1, "cfg/config"), v2);
		is(lb_repo_open(p, pwcb, &good, &r), -LB_E_VERSION, "config version 2: -LB_E_VERSION");
		ok(strstr(lb_errmsg(), "newer") && strstr(lb_errmsg(), "version 2"), "...names the version: %s",
		   lb_errmsg());
		if (q)
			q[11] = '0';
		write_text(tpath(1, "cfg/config"), v2);
		is(lb_repo_open(p, pwcb, &good, &r), -LB_E_CORRUPT, "config version 0: -LB_E_CORRUPT");
		free(v2);
		write_text(tpath(1, "cfg/config"), saved);
		ok(lb_repo_open(p, pwcb, &good, &r) == 0, "restored config opens again");
		lb_repo_close(r);
		r = NULL;
	}
	free(saved);

	/* lb_config_parse on its own */
	{
		static const char *const badcfg[] = {
			"",
			"[]",
			"{}",
			"{\"version\": \"1\"}",
			"{\"version\": 1}",
			"{\"version\":1,\"id\":\"00\",\"encryption\":\"none\",\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":16384,\"avg\":65536,\"max\":262144}}",
			"{\"version\":1,\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"encryption\":\"rot13\",\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":16384,\"avg\":65536,\"max\":262144}}",
			"{\"version\":1,\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"encryption\":\"none\",\"chunker\":{\"algorithm\":\"rabin\",\"min\":16384,\"avg\":65536,\"max\":262144}}",
			"{\"version\":1,\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"encryption\":\"none\",\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":100,\"avg\":65536,\"max\":262144}}",
			"{\"version\":1,\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"encryption\":\"none\",\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":16384,\"avg\":65536,\"max\":33554432}}",
			"{\"version\":1,\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"encryption\":\"none\",\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":16384,\"avg\":65536,\"max\":262144},\"pack_size\":1000}",
			"{\"version\":1,\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"encryption\":\"none\",\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":16384,\"avg\":65536,\"max\":262144},\"compression\":{\"level\":99}}",
		};
		static const char *const why[] = {
			"empty", "an array", "no version", "a string version", "only a version", "a short id",
			"unknown encryption", "unknown chunker", "min below 512", "max above 16 MiB",
			"pack_size below 64 KiB", "zstd level 99",
		};
		const char *okcfg = "{\"version\":1,\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"encryption\":\"none\",\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":16384,\"avg\":65536,\"max\":262144},\"future_key\":[1,2,3]}";

		for (size_t i = 0; i < LB_ARRAY_SIZE(badcfg); i++)
			is(lb_config_parse((const uint8_t *)badcfg[i], strlen(badcfg[i]), &c), -LB_E_CORRUPT,
			   "config_parse rejects %s", why[i]);
		ok(lb_config_parse((const uint8_t *)okcfg, strlen(okcfg), &c) == 0 && c.pack_size == LB_DEFAULT_PACK_SIZE &&
		   c.zstd_level == LB_DEFAULT_ZSTD_LEVEL && c.enc == LB_ENC_NONE,
		   "minimal config with an unknown key parses, with defaults for optional fields");
	}

	/* init parameters that open would refuse */
	{
		/* one repository for both (each costs a second to delete here) */
		struct lb_init_opts small = { .encrypt = 0, .pack_size = 1000, .zstd_level = 40 };
		int ei, eo = 0;

		ei = lb_repo_init(tpath(2, "badparams"), &small, NULL, NULL, &r);
		lb_repo_close(r);
		r = NULL;
		if (ei == 0) {
			eo = lb_repo_open(tpath(2, "badparams"), NULL, NULL, &r);
			lb_repo_close(r);
			r = NULL;
		}
		ok(ei == -EINVAL || (ei == 0 && eo == 0),
		   "init refuses pack_size 1000 and zstd level 40, or the repository it makes opens (%d, %d)", ei, eo);
		ok(access(tpath(2, "badparams"), F_OK) != 0 || eo == 0, "...and leaves no repository it cannot open");
		small.pack_size = 0;
		small.zstd_level = 0;
		small.chunk_min = 100;
		is(lb_repo_init(tpath(2, "badchunk"), &small, NULL, NULL, &r), -EINVAL, "init refuses chunk_min 100");
		ok(access(tpath(2, "badchunk"), F_OK) != 0, "...before touching the disk");
	}
}

static void test_keys(void)
{
	struct pw a = { .pw = "correct horse" }, b = { .pw = "second password" };
	struct lb_repo *r = NULL, *r2 = NULL;
	const char *p = tpath(0, "enc");
	char first[65], second[65] = "";
	int e;

	ok(lb_repo_open(p, pwcb, &a, &r) == 0, "open for the key tests");
	snprintf(first, sizeof first, "%s", lb_repo_key_name(r));
	e = lb_repo_key_add(r, "second password", 1024, second);
	ok(e == 0 && strlen(second) == 64 && strcmp(first, second), "key_add writes a second key file (%s)",
	   e ? lb_errmsg() : second);
	is(count_dir(tpath(1, "enc/keys")), 2, "two key files");
	is(lb_repo_key_add(r, "", 1024, second), -EINVAL, "key_add refuses an empty password");
	is(lb_repo_key_add(r, NULL, 1024, second), -EINVAL, "key_add refuses no password");
	lb_repo_close(r);
	r = NULL;

	ok(lb_repo_open(p, pwcb, &a, &r) == 0 && !strcmp(lb_repo_key_name(r), first), "the first password still opens");
	lb_repo_close(r);
	r = NULL;
	b.calls = 0;
	ok(lb_repo_open(p, pwcb, &b, &r) == 0 && !strcmp(lb_repo_key_name(r), second), "the second password opens");
	is(b.calls, 1, "the password is asked once however many key files are tried");

	/* both handles share the master key: what one seals the other opens */
	lb_repo_open(p, pwcb, &a, &r2);
	{
		struct lb_buf s, o;
		uint8_t id1[32], id2[32];

		lb_buf_init(&s, 0);
		lb_buf_init(&o, 0);
		lb_repo_seal_object(r, "TEST", "test v1", "shared", 6, &s);
		ok(lb_repo_open_object(r2, "TEST", "test v1", s.data, s.len, &o) == 0 && o.len == 6 &&
		   !memcmp(o.data, "shared", 6), "both key files unwrap the same master key");
		lb_repo_blob_id(r, "x", 1, id1);
		lb_repo_blob_id(r2, "x", 1, id2);
		ok(!memcmp(id1, id2, 32), "...and the same id key");
		lb_buf_release(&s);
		lb_buf_release(&o);
	}
	lb_repo_close(r2);
	r2 = NULL;

	is(lb_repo_key_remove(r, first), 0, "key_remove of the first key");
	is(count_dir(tpath(1, "enc/keys")), 1, "one key file left");
	is(lb_repo_key_remove(r, first), -ENOENT, "removing it again: -ENOENT");
	is(lb_repo_key_remove(r, "../config"), -EINVAL, "a name with '/' is refused");
	is(lb_repo_key_remove(r, ".hidden"), -EINVAL, "a name with a leading '.' is refused");
	ok(access(tpath(1, "enc/config"), F_OK) == 0, "config is still there");
	lb_repo_close(r);
	r = NULL;
	is(lb_repo_open(p, pwcb, &a, &r), -LB_E_PASSWORD, "the removed key's password no longer opens");
	ok(lb_repo_open(p, pwcb, &b, &r) == 0, "the remaining key's password does");
	lb_repo_close(r);
	r = NULL;

	/* key_add on an unencrypted repository */
	lb_repo_open(tpath(2, "none"), NULL, NULL, &r);
	is(lb_repo_key_add(r, "pw", 1024, second), -EINVAL, "key_add on an unencrypted repository: -EINVAL");
	lb_repo_close(r);
	r = NULL;

	/* damaged key files */
	{
		char kdir[600], kname[300], kpath[1000], other[800];

		snprintf(kdir, sizeof kdir, "%s/keys", p);
		first_entry(kdir, kname, sizeof kname);
		snprintf(kpath, sizeof kpath, "%s/%s", kdir, kname);
		snprintf(other, sizeof other, "%s/%s", kdir, "0000000000000000000000000000000000000000000000000000000000000000");
		write_text(other, "{ not json");
		ok(lb_repo_open(p, pwcb, &b, &r) == 0, "a garbage key file next to a good one is skipped");
		lb_repo_close(r);
		r = NULL;
		{
			char *saved = strdup(read_text(kpath));

			write_text(kpath, "[]");
			is(lb_repo_open(p, pwcb, &b, &r), -LB_E_CORRUPT, "no readable key file: -LB_E_CORRUPT");
			ok(strstr(lb_errmsg(), "no key file") != NULL, "...says so: %s", lb_errmsg());
			write_text(kpath, saved);
			free(saved);
		}
		unlink(other);
		/* a key file copied from another repository does not open here */
		{
			struct lb_repo *o = NULL;
			char odir[600], oname[300], opath[1000], copy[1000];

			(void)o;
			snprintf(odir, sizeof odir, "%s/keys", tpath(3, "cfg")); /* same password */
			first_entry(odir, oname, sizeof oname);
			snprintf(opath, sizeof opath, "%s/%s", odir, oname);
			snprintf(copy, sizeof copy, "%s/%s", kdir, oname);
			write_text(copy, read_text(opath));
			is(lb_repo_open(p, pwcb, &a, &r), -LB_E_PASSWORD,
			   "another repository's key file does not open this one (repository id is the AAD)");
			unlink(copy);
		}
		/* an unencrypted key file in an encrypted repository */
		{
			char none_key[800], ndir[600], nname[300], npath[1000];

			snprintf(ndir, sizeof ndir, "%s/keys", tpath(2, "none"));
			first_entry(ndir, nname, sizeof nname);
			snprintf(npath, sizeof npath, "%s/%s", ndir, nname);
			snprintf(none_key, sizeof none_key, "%s/%s", kdir, "0000000000000000000000000000000000000000000000000000000000000000");
			write_text(none_key, read_text(npath));
			e = lb_repo_open(p, pwcb, &b, &r);
			ok(e < 0 && e != -LB_E_PASSWORD, "a kdf 'none' key file in an encrypted repository is refused (%d: %s)",
			   e, lb_errmsg());
			lb_repo_close(r);
			r = NULL;
			unlink(none_key);
		}
	}

	/* lb_keyfile_check */
	{
		const char *good_none = "{\"version\":1,\"kdf\":\"none\",\"data\":\""
					"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
					"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"}";
		const char *v2 = "{\"version\":2,\"kdf\":\"none\",\"data\":\"00\"}";
		const char *badkdf = "{\"version\":1,\"kdf\":\"argon2\",\"data\":\"00\"}";
		const char *badn = "{\"version\":1,\"kdf\":\"scrypt\",\"N\":1000,\"r\":8,\"p\":1,\"salt\":\"\",\"nonce\":\"\",\"data\":\"00\"}";

		is(lb_keyfile_check((const uint8_t *)good_none, strlen(good_none)), 0, "keyfile_check accepts a kdf none file");
		is(lb_keyfile_check((const uint8_t *)v2, strlen(v2)), -LB_E_VERSION, "key file version 2: -LB_E_VERSION");
		is(lb_keyfile_check((const uint8_t *)badkdf, strlen(badkdf)), -LB_E_CORRUPT, "unknown kdf refused");
		is(lb_keyfile_check((const uint8_t *)badn, strlen(badn)), -LB_E_CORRUPT, "scrypt N not a power of 2 refused");
		is(lb_keyfile_check((const uint8_t *)"{", 1), -LB_E_CORRUPT, "broken JSON refused");
	}
}

static void test_sealed(struct lb_repo *r, const char *label)
{
	static const char msg[] = "a sealed object's plaintext, long enough to matter";
	struct lb_buf s, o, t;
	int flips_ok = 1;

	lb_buf_init(&s, 0);
	lb_buf_init(&o, 0);
	lb_buf_init(&t, 0);
	ok(lb_repo_seal_object(r, "LBXX", "test v1", msg, sizeof msg, &s) == 0, "%s: seal", label);
	is(s.len, LB_ENVELOPE_HEADER_LEN + sizeof msg + LB_TAG_LEN, "%s: envelope = 24 + plaintext + 16", label);
	ok(!memcmp(s.data, "LBXX", 4) && s.data[4] == 1 && !s.data[5] && !s.data[6] && !s.data[7],
	   "%s: header is magic, version 1, zeros", label);
	ok(lb_repo_open_object(r, "LBXX", "test v1", s.data, s.len, &o) == 0 && o.len == sizeof msg &&
	   !memcmp(o.data, msg, sizeof msg), "%s: open round-trips", label);
	ok(o.data[o.len] == 0, "%s: the plaintext is NUL-terminated for JSON readers", label);
	if (r->cfg.enc == LB_ENC_AES256GCM)
		ok(memmem(s.data, s.len, "sealed object", 13) == NULL, "%s: the plaintext does not show", label);
	else
		ok(memmem(s.data, s.len, "sealed object", 13) != NULL, "%s: stored in the clear (authenticated only)",
		   label);
	{
		struct lb_buf s2;

		lb_buf_init(&s2, 0);
		lb_repo_seal_object(r, "LBXX", "test v1", msg, sizeof msg, &s2);
		ok(memcmp(s.data + 8, s2.data + 8, 16) != 0, "%s: a fresh salt each time", label);
		lb_buf_release(&s2);
	}

	is(lb_repo_open_object(r, "LBYY", "test v1", s.data, s.len, &o), -LB_E_CORRUPT, "%s: expecting another magic: corrupt",
	   label);
	is(lb_repo_open_object(r, "LBXX", "test v2", s.data, s.len, &o), -LB_E_AUTH, "%s: another label: -LB_E_AUTH", label);
	is(lb_repo_open_object(r, "LBXX", "test v1", s.data, 39, &o), -LB_E_CORRUPT, "%s: 39 bytes: truncated", label);
	is(lb_repo_open_object(r, "LBXX", "test v1", s.data, s.len - 1, &o), -LB_E_AUTH, "%s: one byte short: -LB_E_AUTH",
	   label);
	/* every byte flipped */
	lb_buf_append(&t, s.data, s.len);
	for (size_t i = 0; i < s.len; i++) {
		int e, want;

		t.data[i] ^= 0x01;
		e = lb_repo_open_object(r, "LBXX", "test v1", t.data, t.len, &o);
		t.data[i] ^= 0x01;
		want = i < 4 ? -LB_E_CORRUPT : i == 4 ? -LB_E_VERSION : i < 8 ? -LB_E_CORRUPT : -LB_E_AUTH;
		if (i == 4)
			want = -LB_E_VERSION; /* 1 ^ 1 = 0 is damage, not newer */
		if (i == 4 && (s.data[4] ^ 0x01) == 0)
			want = -LB_E_CORRUPT;
		if (e != want) {
			flips_ok = 0;
			diag("%s: flipping byte %zu gave %d, want %d", label, i, e, want);
		}
	}
	ok(flips_ok, "%s: a flipped bit anywhere is caught (magic/reserved: corrupt, salt/data/tag: auth)", label);
	t.data[4] = 2;
	is(lb_repo_open_object(r, "LBXX", "test v1", t.data, t.len, &o), -LB_E_VERSION, "%s: envelope version 2: -LB_E_VERSION",
	   label);

	/* put/get */
	{
		char name[65], orig[65];
		uint8_t id[32];

		lb_repo_blob_id(r, msg, sizeof msg, id);
		lb_hex(name, id, 32);
		memcpy(orig, name, sizeof orig);
		ok(lb_repo_put_sealed(r, LB_KIND_SNAPSHOT, name, msg, sizeof msg) == 0, "%s: put_sealed a snapshot", label);
		ok(lb_repo_get_sealed(r, LB_KIND_SNAPSHOT, name, &o) == 0 && o.len == sizeof msg &&
		   !memcmp(o.data, msg, sizeof msg), "%s: get_sealed returns it", label);
		is(lb_repo_get_sealed(r, LB_KIND_INDEX, name, &o), -ENOENT, "%s: not an index file", label);
		name[0] = name[0] == '0' ? '1' : '0';
		is(lb_repo_get_sealed(r, LB_KIND_SNAPSHOT, name, &o), -ENOENT, "%s: another name: -ENOENT", label);
		is(lb_repo_get_sealed(r, LB_KIND_SNAPSHOT, "../config", &o), -EINVAL, "%s: '../config' is refused", label);
		is(lb_repo_put_sealed(r, LB_KIND_SNAPSHOT, "a/b", msg, 1) < 0 ? 1 : 0, 1, "%s: put with '/' in the name refused",
		   label);
		ok(lb_repo_put_sealed(r, LB_KIND_INDEX, "deadbeef", msg, sizeof msg) == 0 &&
		   lb_repo_get_sealed(r, LB_KIND_INDEX, "deadbeef", &o) == 0 && !memcmp(o.data, msg, sizeof msg),
		   "%s: index kind round trip", label);
		{
			/* an index file renamed into snapshots/ does not open as a snapshot */
			char from[600], to[600];

			snprintf(from, sizeof from, "%s/index/deadbeef", lb_repo_location(r));
			snprintf(to, sizeof to, "%s/snapshots/deadbeef", lb_repo_location(r));
			link(from, to);
			is(lb_repo_get_sealed(r, LB_KIND_SNAPSHOT, "deadbeef", &o), -LB_E_CORRUPT,
			   "%s: an index envelope read as a snapshot: corrupt (magic)", label);
			ok(strstr(lb_errmsg(), "snapshot deadbeef") != NULL, "%s: ...the error names it: %s", label, lb_errmsg());
		}
		{
			/* a sealed snapshot truncated on disk */
			char sp[600];

			snprintf(sp, sizeof sp, "%s/snapshots/%s", lb_repo_location(r), orig);
			ok(truncate(sp, 30) == 0 && lb_repo_get_sealed(r, LB_KIND_SNAPSHOT, orig, &o) == -LB_E_CORRUPT,
			   "%s: a truncated snapshot file: corrupt", label);
		}
	}
	lb_buf_release(&s);
	lb_buf_release(&o);
	lb_buf_release(&t);
}

static void test_cross_repo(void)
{
	struct pw pa = { .pw = "correct horse" };
	struct lb_repo *a = NULL, *b = NULL;
	struct lb_buf s, o;
	uint8_t ia[32], ib[32];

	ok(lb_repo_open(tpath(0, "enc"), pwcb, &pa, &a) == 0 && lb_repo_open(tpath(1, "cfg"), pwcb, &pa, &b) == 0,
	   "two repositories with the same password");
	lb_buf_init(&s, 0);
	lb_buf_init(&o, 0);
	lb_repo_seal_object(a, "LBXX", "test v1", "hello", 5, &s);
	is(lb_repo_open_object(b, "LBXX", "test v1", s.data, s.len, &o), -LB_E_AUTH,
	   "an object from another repository (same password) does not open");
	lb_repo_blob_id(a, "same data", 9, ia);
	lb_repo_blob_id(b, "same data", 9, ib);
	ok(memcmp(ia, ib, 32) != 0, "blob ids are keyed per repository");
	{
		struct lb_idhash *h = NULL;
		uint8_t ref[32];

		lb_idhash_new(a->keys.id, &h);
		lb_idhash_sum(h, "same data", 9, ref);
		ok(!memcmp(ref, ia, 32), "lb_repo_blob_id is the HMAC under the id key");
		lb_idhash_free(h);
	}
	{
		size_t blobs = 99, packs = 99, bytes = 0;

		lb_repo_index_stats(a, &blobs, &packs, &bytes);
		ok(blobs == 0 && packs == 0 && bytes > 0, "a fresh repository's index is empty");
	}
	lb_buf_release(&s);
	lb_buf_release(&o);
	lb_repo_close(a);
	lb_repo_close(b);
	lb_repo_close(NULL);
}

int main(void)
{
	struct pw good = { .pw = "correct horse" };
	struct lb_repo *r = NULL;

	/* few repositories: each one's 263 directories take about a second to
	 * delete on some file systems */
	test_init_open();
	test_config();
	lb_repo_open(tpath(0, "enc"), pwcb, &good, &r);
	test_sealed(r, "aes-256-gcm");
	lb_repo_close(r);
	r = NULL;
	lb_repo_open(tpath(0, "none"), NULL, NULL, &r);
	test_sealed(r, "none");
	lb_repo_close(r);
	test_cross_repo();
	test_keys();
	test_missing_config();
	tap_tmp_cleanup();
	return done_testing();
}
