/* A real repository for the fuzz targets that go through lb_repo_*: made
 * once per process in a temporary directory, with fixed ids and keys so
 * that stored corpus files (sealed objects, whole packs) authenticate in
 * every run.  Used by fuzz_envelope.c, fuzz_repopack.c and mkseeds.c.
 *
 * The repository is written by hand (config + one key file) and opened
 * with lb_repo_open, so the open path is the real one.  The encrypted
 * variant wraps its keys with scrypt N=1024 under FUZZ_PASSWORD. */
#ifndef LB_FUZZ_REPO_H
#define LB_FUZZ_REPO_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

#define FUZZ_PASSWORD "fuzz"
#define FUZZ_KEY_NAME "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
/* The name the targets store fuzzed objects under. */
#define FUZZ_OBJ_NAME "abababababababababababababababababababababababababababababababab"

static inline void fuzz_fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 37 * i);
}

static inline int fuzz_write_file(const char *path, const void *data, size_t n)
{
	/* truncate in place: the backend caches pack descriptors by name, so
	 * the inode must stay the same from one input to the next */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int e = 0;

	if (fd < 0)
		return -errno;
	if (n && lb_write_full(fd, data, n) < 0)
		e = -EIO;
	close(fd);
	return e;
}

static inline int fuzz_password(char *buf, size_t size, void *ctx)
{
	(void)ctx;
	snprintf(buf, size, "%s", FUZZ_PASSWORD);
	return 0;
}

/* Writes config and key file for a repository at path (absent) and opens it. */
static inline int fuzz_repo_create(const char *path, int encrypt, struct lb_repo **ret)
{
	uint8_t id[LB_ID_LEN], keys[3 * LB_KEY_LEN], salt[32], nonce[LB_NONCE_LEN], kek[LB_KEY_LEN];
	uint8_t sealed[sizeof keys + LB_TAG_LEN];
	char idhex[65], hex[2 * sizeof sealed + 1], salthex[65], noncehex[25];
	char text[1024], file[PATH_MAX];
	struct lb_backend *be = NULL;
	struct lb_aead *a = NULL;
	int e;

	if ((e = lb_crypto_init()) < 0 || (e = lb_backend_local_open(path, 1, &be)) < 0)
		return e;
	lb_backend_close(be);
	fuzz_fill(id, sizeof id, encrypt ? 2 : 1);
	fuzz_fill(keys, sizeof keys, encrypt ? 102 : 101);
	lb_hex(idhex, id, sizeof id);
	snprintf(text, sizeof text,
		 "{\"version\": 1, \"id\": \"%s\", \"encryption\": \"%s\", "
		 "\"chunker\": {\"algorithm\": \"fastcdc-gear64\", \"min\": 512, \"avg\": 1024, \"max\": 4096}, "
		 "\"compression\": {\"algorithm\": \"zstd\", \"level\": 3}, \"pack_size\": 65536}\n",
		 idhex, encrypt ? "aes-256-gcm" : "none");
	if (snprintf(file, sizeof file, "%s/config", path) >= (int)sizeof file)
		return -ENAMETOOLONG;
	if ((e = fuzz_write_file(file, text, strlen(text))) < 0)
		return e;
	if (!encrypt) {
		lb_hex(hex, keys, sizeof keys);
		snprintf(text, sizeof text, "{\"version\": 1, \"kdf\": \"none\", \"data\": \"%s\"}\n", hex);
	} else {
		fuzz_fill(salt, sizeof salt, 3);
		fuzz_fill(nonce, sizeof nonce, 4);
		if ((e = lb_scrypt(FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), salt, sizeof salt, 1024, 8, 1, kek)) < 0 ||
		    (e = lb_aead_new(LB_ENC_AES256GCM, kek, &a)) < 0)
			return e;
		e = lb_aead_seal(a, nonce, id, sizeof id, keys, sizeof keys, sealed);
		lb_aead_free(a);
		if (e < 0)
			return e;
		lb_hex(hex, sealed, sizeof sealed);
		lb_hex(salthex, salt, sizeof salt);
		lb_hex(noncehex, nonce, sizeof nonce);
		snprintf(text, sizeof text,
			 "{\"version\": 1, \"kdf\": \"scrypt\", \"N\": 1024, \"r\": 8, \"p\": 1, "
			 "\"salt\": \"%s\", \"nonce\": \"%s\", \"data\": \"%s\"}\n", salthex, noncehex, hex);
	}
	if (snprintf(file, sizeof file, "%s/keys/%s", path, FUZZ_KEY_NAME) >= (int)sizeof file)
		return -ENAMETOOLONG;
	if ((e = fuzz_write_file(file, text, strlen(text))) < 0)
		return e;
	return lb_repo_open(path, fuzz_password, NULL, ret);
}

/* Forgets what earlier inputs left in the handle: the in-memory index,
 * cached pack keys (by pack number, so stale after a reset) and orphans. */
static inline void fuzz_repo_reset(struct lb_repo *r)
{
	struct lb_index *idx;

	if (lb_index_new(&idx) == 0) {
		lb_index_free(r->idx);
		r->idx = idx;
	}
	free(r->pkeys);
	r->pkeys = NULL;
	r->npkeys = 0;
	for (size_t i = 0; i < r->norphans; i++)
		free(r->orphans[i].entries);
	free(r->orphans);
	r->orphans = NULL;
	r->norphans = 0;
	r->index_loaded = false;
}

static inline int fuzz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	remove(p);
	return 0;
}

/* rm -rf, for the temporary directory at exit. */
static inline void fuzz_rm_rf(const char *path)
{
	nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
