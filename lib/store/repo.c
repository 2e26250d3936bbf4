/* Repository: config, key files, sealed objects, index files, blob reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <jansson.h>

#include "lifeboat/marker.h"
#include "store/store.h"

#define KEY_DATA_LEN (3 * LB_KEY_LEN)
#define KEYFILE_VERSION 1
#define KEY_SALT_LEN 32      /* scrypt salt in key files */
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_N_MAX (1u << 19) /* with r = 8 needs 512 MiB + a little: under LB_SCRYPT_MAXMEM */
#define CHUNKER_NAME "fastcdc-gear64"
#define COMPRESSION_NAME "zstd"
#define INDEX_INFO "lifeboat index v1"

/* ---- config ---- */

static int config_to_json(const struct lb_repo_config *c, char **out)
{
	char idhex[2 * LB_ID_LEN + 1];
	json_t *j;

	lb_hex(idhex, c->id, LB_ID_LEN);
	j = json_pack("{s:i, s:s, s:s, s:{s:s, s:i, s:i, s:i}, s:{s:s, s:i}, s:i}",
		      "version", c->version, "id", idhex,
		      "encryption", c->enc == LB_ENC_AES256GCM ? "aes-256-gcm" : "none",
		      "chunker", "algorithm", CHUNKER_NAME, "min", (int)c->chunk_min,
		      "avg", (int)c->chunk_avg, "max", (int)c->chunk_max,
		      "compression", "algorithm", COMPRESSION_NAME, "level", c->zstd_level,
		      "pack_size", (int)c->pack_size);
	if (!j)
		return -ENOMEM;
	*out = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (!*out)
		return -ENOMEM;
	return 0;
}

/* The ranges config readers accept; init refuses anything else. */
static int config_check(const struct lb_repo_config *c)
{
	if (c->chunk_min < LB_CHUNK_MIN_FLOOR || c->chunk_max > LB_CHUNK_MAX_CEIL || c->chunk_min >= c->chunk_avg ||
	    c->chunk_avg >= c->chunk_max || (c->chunk_avg & (c->chunk_avg - 1)) != 0)
		return lb_err(-EINVAL, "chunk sizes min=%u avg=%u max=%u out of range (%u <= min < avg < max <= %u, "
			      "avg a power of two)", c->chunk_min, c->chunk_avg, c->chunk_max, LB_CHUNK_MIN_FLOOR,
			      LB_CHUNK_MAX_CEIL);
	if (c->pack_size < LB_PACK_SIZE_MIN || c->pack_size > LB_PACK_SIZE_MAX)
		return lb_err(-EINVAL, "pack size %u out of range (%u..%u)", c->pack_size, LB_PACK_SIZE_MIN,
			      LB_PACK_SIZE_MAX);
	if (c->zstd_level < LB_ZSTD_LEVEL_MIN || c->zstd_level > LB_ZSTD_LEVEL_MAX || c->zstd_level == 0)
		return lb_err(-EINVAL, "compression level %d out of range (%d..-1, 1..%d)", c->zstd_level,
			      LB_ZSTD_LEVEL_MIN, LB_ZSTD_LEVEL_MAX);
	return 0;
}

int lb_config_parse(const uint8_t *data, size_t n, struct lb_repo_config *c)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, n, 0, &jerr);
	json_int_t version = 0, min = 0, avg = 0, max = 0, level = LB_DEFAULT_ZSTD_LEVEL,
		   packsize = LB_DEFAULT_PACK_SIZE;
	const char *id = NULL, *enc = NULL, *alg = NULL, *calg = COMPRESSION_NAME;
	int r = 0;

	if (!j)
		return lb_err(-LB_E_CORRUPT, "config: not a lifeboat repository (invalid JSON: %s)", jerr.text);
	if (json_unpack(j, "{s:I}", "version", &version) != 0 || version < 1) {
		r = lb_err(-LB_E_CORRUPT, "config: not a lifeboat repository (no format version)");
		goto out;
	}
	if (version > LB_REPO_VERSION) {
		r = lb_err(-LB_E_VERSION, "repository format version %lld is newer than this lifeboat "
			   "supports (%d); upgrade lifeboat to use it", (long long)version, LB_REPO_VERSION);
		goto out;
	}
	if (json_unpack(j, "{s:s, s:s, s:{s:s, s:I, s:I, s:I}, s?{s?s, s?I}, s?I}", "id", &id, "encryption", &enc,
			"chunker", "algorithm", &alg, "min", &min, "avg", &avg, "max", &max,
			"compression", "algorithm", &calg, "level", &level, "pack_size", &packsize) != 0) {
		r = lb_err(-LB_E_CORRUPT, "config: missing or mistyped fields");
		goto out;
	}
	c->version = (int)version;
	if (lb_unhex(c->id, LB_ID_LEN, id) < 0) {
		r = lb_err(-LB_E_CORRUPT, "config: repository id is not 64 hex digits");
		goto out;
	}
	if (strcmp(enc, "aes-256-gcm") == 0)
		c->enc = LB_ENC_AES256GCM;
	else if (strcmp(enc, "none") == 0)
		c->enc = LB_ENC_NONE;
	else {
		r = lb_err(-LB_E_CORRUPT, "config: unknown encryption '%s'", enc);
		goto out;
	}
	if (strcmp(alg, CHUNKER_NAME) != 0) {
		r = lb_err(-LB_E_CORRUPT, "config: unknown chunker '%s'", alg);
		goto out;
	}
	if (strcmp(calg, COMPRESSION_NAME) != 0) {
		r = lb_err(-LB_E_CORRUPT, "config: unknown compression '%s'", calg);
		goto out;
	}
	if (min < 0 || min > INT32_MAX || avg < 0 || avg > INT32_MAX || max < 0 || max > INT32_MAX ||
	    packsize < 0 || packsize > INT32_MAX || level < INT32_MIN || level > INT32_MAX) {
		r = lb_err(-LB_E_CORRUPT, "config: parameters out of range");
		goto out;
	}
	c->chunk_min = (uint32_t)min;
	c->chunk_avg = (uint32_t)avg;
	c->chunk_max = (uint32_t)max;
	c->pack_size = (uint32_t)packsize;
	c->zstd_level = (int)level;
	if ((r = config_check(c)) < 0)
		r = lb_err_wrap(-LB_E_CORRUPT, "config");
out:
	json_decref(j);
	return r;
}

int lb_repo_config_json(struct lb_repo *r, char **out)
{
	return config_to_json(&r->cfg, out);
}

const char *lb_repo_location(const struct lb_repo *r)
{
	return r->be->location;
}

/* ---- key files ---- */

struct keyfile {
	char kdf[16];
	uint64_t n;
	uint32_t r, p;
	uint8_t salt[KEY_SALT_LEN];
	uint8_t nonce[LB_NONCE_LEN];
	uint8_t data[KEY_DATA_LEN + LB_TAG_LEN];
	size_t datalen;
};

static int keyfile_parse(const uint8_t *buf, size_t len, struct keyfile *kf)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)buf, len, 0, &jerr);
	const char *kdf = NULL, *salt = "", *nonce = "", *data = NULL;
	json_int_t version = 0, n = 0, rr = 0, pp = 0;
	int r = -LB_E_CORRUPT;

	memset(kf, 0, sizeof *kf);
	if (!j)
		return lb_err(r, "not a key file (invalid JSON: %s)", jerr.text);
	if (json_unpack(j, "{s:I, s:s, s:s, s?I, s?I, s?I, s?s, s?s}", "version", &version, "kdf", &kdf,
			"data", &data, "N", &n, "r", &rr, "p", &pp, "salt", &salt, "nonce", &nonce) != 0) {
		lb_err(r, "key file: missing or mistyped fields");
		goto out;
	}
	if (version > KEYFILE_VERSION) {
		r = lb_err(-LB_E_VERSION, "key file version %lld is newer than this lifeboat supports",
			   (long long)version);
		goto out;
	}
	if (version < 1) {
		lb_err(r, "key file: bad version %lld", (long long)version);
		goto out;
	}
	snprintf(kf->kdf, sizeof kf->kdf, "%s", kdf);
	if (strcmp(kdf, "none") == 0) {
		kf->datalen = KEY_DATA_LEN;
	} else if (strcmp(kdf, "scrypt") == 0) {
		if (n < 2 || n > SCRYPT_N_MAX || (n & (n - 1)) || rr != SCRYPT_R || pp < 1 || pp > 16) {
			lb_err(r, "key file: scrypt parameters out of range");
			goto out;
		}
		kf->n = (uint64_t)n;
		kf->r = (uint32_t)rr;
		kf->p = (uint32_t)pp;
		if (lb_unhex(kf->salt, sizeof kf->salt, salt) < 0 ||
		    lb_unhex(kf->nonce, sizeof kf->nonce, nonce) < 0) {
			lb_err(r, "key file: salt or nonce malformed");
			goto out;
		}
		kf->datalen = KEY_DATA_LEN + LB_TAG_LEN;
	} else {
		lb_err(r, "key file: unknown kdf '%s'", kdf);
		goto out;
	}
	if (lb_unhex(kf->data, kf->datalen, data) < 0) {
		lb_err(r, "key file: key data malformed");
		goto out;
	}
	r = 0;
out:
	json_decref(j);
	return r;
}

int lb_keyfile_check(const uint8_t *buf, size_t len)
{
	struct keyfile kf;
	int e = keyfile_parse(buf, len, &kf);

	lb_wipe(&kf, sizeof kf);
	return e;
}

static void keys_pack(const struct lb_keys *k, uint8_t out[KEY_DATA_LEN])
{
	memcpy(out, k->enc, LB_KEY_LEN);
	memcpy(out + LB_KEY_LEN, k->id, LB_KEY_LEN);
	memcpy(out + 2 * LB_KEY_LEN, k->chunk, LB_KEY_LEN);
}

static void keys_unpack(struct lb_keys *k, const uint8_t in[KEY_DATA_LEN])
{
	memcpy(k->enc, in, LB_KEY_LEN);
	memcpy(k->id, in + LB_KEY_LEN, LB_KEY_LEN);
	memcpy(k->chunk, in + 2 * LB_KEY_LEN, LB_KEY_LEN);
}

/* Writes a new key file wrapping r->keys; password NULL means kdf "none". */
static int keyfile_write(struct lb_repo *r, const char *password, uint64_t scrypt_n, char name[65])
{
	uint8_t plain[KEY_DATA_LEN], kek[LB_KEY_LEN], salt[KEY_SALT_LEN], nonce[LB_NONCE_LEN];
	uint8_t sealed[KEY_DATA_LEN + LB_TAG_LEN], rnd[LB_ID_LEN];
	char hex[2 * sizeof sealed + 1], salthex[2 * KEY_SALT_LEN + 1], noncehex[25], created[40], host[256] = "";
	struct lb_aead *a = NULL;
	char *text = NULL;
	json_t *j = NULL;
	int ret;

	keys_pack(&r->keys, plain);
	if ((ret = lb_random(rnd, sizeof rnd)) < 0)
		goto out;
	lb_hex(name, rnd, sizeof rnd);
	lb_time_format(created, sizeof created, lb_now_ns() / 1000000000, 0);
	gethostname(host, sizeof host - 1);
	if (!password) {
		lb_hex(hex, plain, KEY_DATA_LEN);
		j = json_pack("{s:i, s:s, s:s, s:s, s:s}", "version", KEYFILE_VERSION, "created", created,
			      "host", host, "kdf", "none", "data", hex);
	} else {
		if ((ret = lb_random(salt, sizeof salt)) < 0 || (ret = lb_random(nonce, sizeof nonce)) < 0)
			goto out;
		ret = lb_scrypt(password, strlen(password), salt, sizeof salt, scrypt_n, SCRYPT_R, SCRYPT_P, kek);
		if (ret < 0)
			goto out;
		if ((ret = lb_aead_new(LB_ENC_AES256GCM, kek, &a)) < 0)
			goto out;
		/* the repository id is the AAD: a key file cannot be moved to another repository */
		ret = lb_aead_seal(a, nonce, r->cfg.id, LB_ID_LEN, plain, KEY_DATA_LEN, sealed);
		if (ret < 0)
			goto out;
		lb_hex(hex, sealed, sizeof sealed);
		lb_hex(salthex, salt, sizeof salt);
		lb_hex(noncehex, nonce, sizeof nonce);
		j = json_pack("{s:i, s:s, s:s, s:s, s:I, s:i, s:i, s:s, s:s, s:s}", "version", KEYFILE_VERSION,
			      "created", created, "host", host, "kdf", "scrypt", "N", (json_int_t)scrypt_n,
			      "r", SCRYPT_R, "p", SCRYPT_P, "salt", salthex, "nonce", noncehex, "data", hex);
	}
	if (!j || !(text = json_dumps(j, JSON_INDENT(2)))) {
		ret = -ENOMEM;
		goto out;
	}
	ret = r->be->ops->put(r->be, LB_KIND_KEY, name, text, strlen(text));
out:
	lb_wipe(plain, sizeof plain);
	lb_wipe(kek, sizeof kek);
	lb_wipe(hex, sizeof hex);
	if (text) {
		lb_wipe(text, strlen(text));
		free(text);
	}
	json_decref(j);
	lb_aead_free(a);
	return ret;
}

/* Tries one key file; 0 on success, -LB_E_PASSWORD when the password does
 * not open it. */
static int keyfile_try(struct lb_repo *r, const struct keyfile *kf, const char *password)
{
	uint8_t kek[LB_KEY_LEN], plain[KEY_DATA_LEN];
	struct lb_aead *a = NULL;
	int ret;

	if (strcmp(kf->kdf, "none") == 0) {
		if (r->cfg.enc != LB_ENC_NONE)
			return lb_err(-LB_E_CORRUPT, "unencrypted key file in an encrypted repository");
		keys_unpack(&r->keys, kf->data);
		return 0;
	}
	if (!password)
		return -LB_E_PASSWORD;
	ret = lb_scrypt(password, strlen(password), kf->salt, sizeof kf->salt, kf->n, kf->r, kf->p, kek);
	if (ret < 0)
		goto out;
	if ((ret = lb_aead_new(LB_ENC_AES256GCM, kek, &a)) < 0)
		goto out;
	ret = lb_aead_open(a, kf->nonce, r->cfg.id, LB_ID_LEN, kf->data, KEY_DATA_LEN, plain);
	if (ret == -LB_E_AUTH)
		ret = -LB_E_PASSWORD;
	if (ret == 0)
		keys_unpack(&r->keys, plain);
out:
	lb_wipe(kek, sizeof kek);
	lb_wipe(plain, sizeof plain);
	lb_aead_free(a);
	return ret;
}

struct namelist {
	char (*names)[65];
	size_t n, cap;
};

static int collect_name(const char *name, uint64_t size, void *ctx)
{
	struct namelist *l = ctx;

	if (strlen(name) > 64)
		return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->names, ncap * sizeof *l->names);

		if (!p)
			return -ENOMEM;
		l->names = p;
		l->cap = ncap;
	}
	snprintf(l->names[l->n++], 65, "%s", name);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int unlock_keys(struct lb_repo *r, lb_password_fn pwfn, void *pwctx)
{
	struct namelist keys = { 0 };
	struct lb_buf buf;
	char password[1024];
	int have_pw = 0, ret, opened = 0, bad = 0, newer = 0;

	lb_buf_init(&buf, LB_KEYFILE_MAX);
	ret = r->be->ops->list(r->be, LB_KIND_KEY, collect_name, &keys);
	if (ret < 0)
		goto out;
	if (keys.n == 0) {
		ret = lb_err(-LB_E_CORRUPT, "repository %s has no key files", r->be->location);
		goto out;
	}
	qsort(keys.names, keys.n, sizeof *keys.names, cmp_name);
	for (size_t i = 0; i < keys.n && !opened; i++) {
		struct keyfile kf;

		ret = r->be->ops->get(r->be, LB_KIND_KEY, keys.names[i], LB_KEYFILE_MAX, &buf);
		if (ret == 0)
			ret = keyfile_parse(buf.data, buf.len, &kf);
		if (ret < 0) {
			if (ret == -LB_E_VERSION)
				newer++;
			lb_log(LB_LOG_WARN, "key %s: %s", keys.names[i], lb_errmsg());
			bad++;
			continue;
		}
		if (strcmp(kf.kdf, "none") != 0 && !have_pw) {
			if (!pwfn) {
				ret = lb_err(-LB_E_PASSWORD, "repository %s is encrypted and no password was given",
					     r->be->location);
				goto out;
			}
			ret = pwfn(password, sizeof password, pwctx);
			if (ret < 0)
				goto out;
			have_pw = 1;
		}
		ret = keyfile_try(r, &kf, have_pw ? password : NULL);
		lb_wipe(&kf, sizeof kf);
		if (ret == 0) {
			snprintf(r->key_name, sizeof r->key_name, "%s", keys.names[i]);
			opened = 1;
		} else if (ret != -LB_E_PASSWORD) {
			goto out;
		}
	}
	if (!opened) {
		if (bad == (int)keys.n && newer)
			ret = lb_err(-LB_E_VERSION, "repository %s: its key files were written by a newer lifeboat",
				     r->be->location);
		else if (bad == (int)keys.n)
			ret = lb_err(-LB_E_CORRUPT, "repository %s: no key file is readable", r->be->location);
		else
			ret = lb_err(-LB_E_PASSWORD, "wrong password: it opens none of the %zu key file%s of %s",
				     keys.n - bad, keys.n - bad == 1 ? "" : "s", r->be->location);
		goto out;
	}
	ret = 0;
out:
	lb_wipe(password, sizeof password);
	lb_buf_release_secure(&buf);
	free(keys.names);
	return ret;
}

/* ---- open / init / close ---- */

static int repo_alloc(struct lb_repo **ret)
{
	struct lb_repo *r = calloc(1, sizeof *r);
	int e;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	e = lb_index_new(&r->idx);
	if (e < 0) {
		free(r);
		return e;
	}
	*ret = r;
	return 0;
}

int lb_repo_after_fork(struct lb_repo *r)
{
	return lb_marker_after_fork(r->marker);
}

void lb_repo_close(struct lb_repo *r)
{
	if (!r)
		return;
	lb_marker_stop(r->marker);
	lb_backend_close(r->be);
	lb_idhash_free(r->idh);
	lb_index_free(r->idx);
	lb_index_free(r->cidx);
	if (r->pkeys) {
		lb_wipe(r->pkeys, r->npkeys * sizeof *r->pkeys);
		free(r->pkeys);
	}
	for (size_t i = 0; i < r->norphans; i++)
		free(r->orphans[i].entries);
	free(r->orphans);
	lb_wipe(&r->keys, sizeof r->keys);
	lb_wipe(&r->chunker, sizeof r->chunker);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int repo_finish_open(struct lb_repo *r)
{
	int e = lb_idhash_new(r->keys.id, &r->idh);

	if (e < 0)
		return e;
	return lb_chunker_init(&r->chunker, r->keys.chunk, r->cfg.chunk_min, r->cfg.chunk_avg,
			       r->cfg.chunk_max);
}

int lb_repo_open(const char *path, lb_password_fn pw, void *pwctx, struct lb_repo **ret)
{
	struct lb_repo *r = NULL;
	struct lb_buf buf;
	int e;

	lb_buf_init(&buf, LB_CONFIG_MAX);
	if ((e = lb_crypto_init()) < 0)
		return e;
	if ((e = repo_alloc(&r)) < 0)
		return e;
	e = lb_backend_local_open(path, 0, &r->be);
	if (e < 0)
		goto fail;
	e = r->be->ops->get(r->be, LB_KIND_CONFIG, "config", LB_CONFIG_MAX, &buf);
	if (e == -ENOENT) {
		e = lb_err(e, "%s is not a lifeboat repository (no config file)", path);
		goto fail;
	}
	if (e < 0)
		goto fail;
	e = lb_config_parse(buf.data, buf.len, &r->cfg);
	if (e < 0)
		goto fail;
	e = unlock_keys(r, pw, pwctx);
	if (e < 0)
		goto fail;
	e = repo_finish_open(r);
	if (e < 0)
		goto fail;
	lb_buf_release(&buf);
	*ret = r;
	return 0;
fail:
	lb_buf_release(&buf);
	lb_repo_close(r);
	return e;
}

/* Removes what a failed init made: key files and the empty layout.  It
 * never deletes anything else (rmdir fails on a non-empty directory). */
static void undo_layout(const char *path, bool keep_root)
{
	static const char *dirs[] = { "keys", "index", "snapshots", "locks", "verdicts" };
	char p[4096];

	snprintf(p, sizeof p, "%s/config", path);
	unlink(p);
	snprintf(p, sizeof p, "%s/keys", path);
	{
		DIR *d = opendir(p);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char f[4400];

			if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			snprintf(f, sizeof f, "%s/%s", p, de->d_name);
			unlink(f);
		}
		if (d)
			closedir(d);
	}
	for (unsigned v = 0; v < 256; v++) {
		snprintf(p, sizeof p, "%s/packs/%02x", path, v);
		rmdir(p);
	}
	snprintf(p, sizeof p, "%s/packs", path);
	rmdir(p);
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", path, dirs[i]);
		rmdir(p);
	}
	if (!keep_root)
		rmdir(path);
}

int lb_repo_init(const char *path, const struct lb_init_opts *o, lb_password_fn pw, void *pwctx,
		 struct lb_repo **ret)
{
	struct lb_repo *r = NULL;
	char password[1024], name[65], *text = NULL;
	bool had_root = false, made_layout = false;
	struct stat st;
	int e;

	if ((e = lb_crypto_init()) < 0)
		return e;
	if ((e = repo_alloc(&r)) < 0)
		return e;
	r->cfg.version = LB_REPO_VERSION;
	r->cfg.enc = o->encrypt ? LB_ENC_AES256GCM : LB_ENC_NONE;
	r->cfg.chunk_min = o->chunk_min ? o->chunk_min : LB_DEFAULT_CHUNK_MIN;
	r->cfg.chunk_avg = o->chunk_avg ? o->chunk_avg : LB_DEFAULT_CHUNK_AVG;
	r->cfg.chunk_max = o->chunk_max ? o->chunk_max : LB_DEFAULT_CHUNK_MAX;
	r->cfg.pack_size = o->pack_size ? o->pack_size : LB_DEFAULT_PACK_SIZE;
	r->cfg.zstd_level = o->zstd_level ? o->zstd_level : LB_DEFAULT_ZSTD_LEVEL;
	if ((e = lb_random(r->cfg.id, LB_ID_LEN)) < 0 || (e = lb_random(&r->keys, sizeof r->keys)) < 0)
		goto fail;
	/* check the parameters before anything touches the disk */
	if ((e = config_check(&r->cfg)) < 0 || (e = repo_finish_open(r)) < 0)
		goto fail;
	if (o->encrypt) {
		if (!pw) {
			e = lb_err(-EINVAL, "an encrypted repository needs a password");
			goto fail;
		}
		if ((e = pw(password, sizeof password, pwctx)) < 0)
			goto fail;
		if (!password[0]) {
			e = lb_err(-EINVAL, "empty password refused");
			goto fail;
		}
	}
	if (o->scrypt_n == 1 || o->scrypt_n > SCRYPT_N_MAX || (o->scrypt_n & (o->scrypt_n - 1))) {
		e = lb_err(-EINVAL, "scrypt N must be a power of two from 2 to %u", SCRYPT_N_MAX);
		goto fail;
	}
	had_root = stat(path, &st) == 0;
	e = lb_backend_local_open(path, 1, &r->be);
	if (e < 0)
		goto fail;
	made_layout = true;
	e = keyfile_write(r, o->encrypt ? password : NULL, o->scrypt_n ? o->scrypt_n : LB_DEFAULT_SCRYPT_N, name);
	if (e < 0)
		goto fail;
	snprintf(r->key_name, sizeof r->key_name, "%s", name);
	/* config last: its presence is what makes the directory a repository */
	if ((e = config_to_json(&r->cfg, &text)) < 0)
		goto fail;
	e = r->be->ops->put(r->be, LB_KIND_CONFIG, "config", text, strlen(text));
	if (e < 0)
		goto fail;
	free(text);
	lb_wipe(password, sizeof password);
	r->index_loaded = true;
	*ret = r;
	return 0;
fail:
	free(text);
	lb_wipe(password, sizeof password);
	lb_repo_close(r);
	if (made_layout)
		undo_layout(path, had_root); /* so that a retry finds an empty directory again */
	return e;
}

int lb_repo_key_add(struct lb_repo *r, const char *password, uint64_t scrypt_n, char name[65])
{
	if (r->cfg.enc == LB_ENC_NONE)
		return lb_err(-EINVAL, "repository is not encrypted; it has no password to change");
	if (!password || !password[0])
		return lb_err(-EINVAL, "empty password refused");
	if (scrypt_n == 1 || scrypt_n > SCRYPT_N_MAX || (scrypt_n & (scrypt_n - 1)))
		return lb_err(-EINVAL, "scrypt N must be a power of two from 2 to %u", SCRYPT_N_MAX);
	return keyfile_write(r, password, scrypt_n ? scrypt_n : LB_DEFAULT_SCRYPT_N, name);
}

int lb_repo_key_remove(struct lb_repo *r, const char *name)
{
	return r->be->ops->remove(r->be, LB_KIND_KEY, name);
}

const char *lb_repo_key_name(const struct lb_repo *r)
{
	return r->key_name;
}

/* ---- ids and sealed objects ---- */

int lb_repo_blob_id(struct lb_repo *r, const void *data, size_t n, uint8_t id[LB_ID_LEN])
{
	return lb_idhash_sum(r->idh, data, n, id);
}

int lb_repo_seal_object(struct lb_repo *r, const char magic[4], const char *info, const void *in,
			size_t n, struct lb_buf *out)
{
	uint8_t hdr[LB_ENVELOPE_HEADER_LEN], key[LB_KEY_LEN], nonce[LB_NONCE_LEN];
	struct lb_aead *a = NULL;
	int e;

	memcpy(hdr, magic, 4);
	hdr[4] = LB_ENVELOPE_VERSION;
	hdr[5] = hdr[6] = hdr[7] = 0;
	if ((e = lb_random(hdr + 8, LB_SALT_LEN)) < 0)
		return e;
	if ((e = lb_hkdf(r->keys.enc, hdr + 8, LB_SALT_LEN, info, key)) < 0)
		return e;
	if ((e = lb_aead_new(r->cfg.enc, key, &a)) < 0)
		goto out;
	lb_buf_reset(out);
	if ((e = lb_buf_reserve(out, sizeof hdr + n + LB_TAG_LEN)) < 0)
		goto out;
	memcpy(out->data, hdr, sizeof hdr);
	/* a fresh key per object, so the all-zero nonce is used once per key */
	lb_nonce(nonce, 0, 0);
	e = lb_aead_seal(a, nonce, hdr, sizeof hdr, in, n, out->data + sizeof hdr);
	if (e == 0)
		out->len = sizeof hdr + n + LB_TAG_LEN;
out:
	lb_wipe(key, sizeof key);
	lb_aead_free(a);
	return e;
}

int lb_repo_open_object(struct lb_repo *r, const char magic[4], const char *info, const uint8_t *in,
			size_t n, struct lb_buf *out)
{
	uint8_t key[LB_KEY_LEN], nonce[LB_NONCE_LEN];
	struct lb_aead *a = NULL;
	size_t clen;
	int e;

	if (n < LB_ENVELOPE_HEADER_LEN + LB_TAG_LEN)
		return lb_err(-LB_E_CORRUPT, "truncated (%zu bytes)", n);
	if (memcmp(in, magic, 4) != 0)
		return lb_err(-LB_E_CORRUPT, "not a lifeboat object of this kind (bad magic, expected %.4s)",
			      magic);
	if (in[4] > LB_ENVELOPE_VERSION)
		return lb_err(-LB_E_VERSION, "object version %u is newer than this lifeboat supports", in[4]);
	if (in[4] == 0 || in[5] || in[6] || in[7])
		return lb_err(-LB_E_CORRUPT, "object header damaged");
	clen = n - LB_ENVELOPE_HEADER_LEN - LB_TAG_LEN;
	if ((e = lb_hkdf(r->keys.enc, in + 8, LB_SALT_LEN, info, key)) < 0)
		return e;
	if ((e = lb_aead_new(r->cfg.enc, key, &a)) < 0)
		goto out;
	lb_buf_reset(out);
	if ((e = lb_buf_reserve(out, clen + 1)) < 0)
		goto out;
	lb_nonce(nonce, 0, 0);
	e = lb_aead_open(a, nonce, in, LB_ENVELOPE_HEADER_LEN, in + LB_ENVELOPE_HEADER_LEN, clen, out->data);
	if (e == 0) {
		out->len = clen;
		out->data[clen] = 0; /* JSON readers get a terminated string for free */
	}
out:
	lb_wipe(key, sizeof key);
	lb_aead_free(a);
	return e;
}

static const char *kind_info(enum lb_kind k, const char **magic)
{
	switch (k) {
	case LB_KIND_INDEX: *magic = LB_MAGIC_INDEX; return INDEX_INFO;
	case LB_KIND_SNAPSHOT: *magic = LB_MAGIC_SNAPSHOT; return "lifeboat snapshot v1";
	case LB_KIND_VERDICT: *magic = LB_MAGIC_VERDICT; return "lifeboat verdict v1";
	case LB_KIND_LOCK: *magic = LB_MAGIC_LOCK; return "lifeboat lock v1";
	default: *magic = "????"; return "lifeboat object v1";
	}
}

int lb_repo_put_sealed(struct lb_repo *r, enum lb_kind k, const char *name, const void *plain, size_t n)
{
	const char *magic, *info = kind_info(k, &magic);
	struct lb_buf sealed;
	int e;

	lb_buf_init(&sealed, 0);
	e = lb_repo_seal_object(r, magic, info, plain, n, &sealed);
	if (e == 0)
		e = r->be->ops->put(r->be, k, name, sealed.data, sealed.len);
	lb_buf_release(&sealed);
	return e;
}

int lb_repo_get_sealed(struct lb_repo *r, enum lb_kind k, const char *name, struct lb_buf *out)
{
	const char *magic, *info = kind_info(k, &magic);
	struct lb_buf raw;
	int e;

	lb_buf_init(&raw, k == LB_KIND_INDEX ? LB_INDEX_FILE_MAX : LB_SNAPSHOT_MAX);
	e = r->be->ops->get(r->be, k, name, raw.max, &raw);
	if (e == 0) {
		e = lb_repo_open_object(r, magic, info, raw.data, raw.len, out);
		if (e < 0)
			lb_err_wrap(e, "%s %s", lb_kind_name(k), name);
	}
	lb_buf_release(&raw);
	return e;
}
