/* lifeboat — opening, creating and maintaining a repository. */
#ifndef LIFEBOAT_REPO_H
#define LIFEBOAT_REPO_H

#include <stddef.h>
#include <stdint.h>

#define LB_REPO_VERSION 1

struct lb_repo;

/* Asked for a password only when the repository needs one.  Writes a
 * NUL-terminated password into buf and returns 0, or a negative code. */
typedef int (*lb_password_fn)(char *buf, size_t size, void *ctx);

struct lb_init_opts {
	int encrypt;          /* 1: AES-256-GCM (default), 0: none (authenticated only) */
	uint32_t chunk_min;   /* 0 = defaults (see docs/FORMAT.md) */
	uint32_t chunk_avg;
	uint32_t chunk_max;
	uint32_t pack_size;   /* target pack size in bytes */
	int zstd_level;
	uint64_t scrypt_n;    /* 0 = default; tests use a small N */
};

/* Creates a repository in path (absent or empty) and returns it open. */
int lb_repo_init(const char *path, const struct lb_init_opts *o, lb_password_fn pw, void *pwctx,
		 struct lb_repo **ret);
/* Opens a repository, trying every key file with the password (asked only
 * if the repository is encrypted). */
int lb_repo_open(const char *path, lb_password_fn pw, void *pwctx, struct lb_repo **ret);
void lb_repo_close(struct lb_repo *r);
/* In the child of a fork() that goes on using r (a daemon): restarts what
 * ran on threads of the parent (the run marker's heartbeat). */
int lb_repo_after_fork(struct lb_repo *r);

enum {
	LB_LOAD_ORPHANS = 1, /* also adopt packs no index file lists (an interrupted run's) */
};
/* Loads every index file into memory.  With LB_LOAD_ORPHANS (which every
 * command uses), packs that no index file lists are read from their
 * trailers: data a killed backup already stored is reused, and data whose
 * index file was lost or damaged stays reachable.  Without the flag that
 * scan still runs when an index file fails to load. */
int lb_repo_load_index(struct lb_repo *r, unsigned flags);

/* The repository's config as JSON text (caller frees). */
int lb_repo_config_json(struct lb_repo *r, char **out);
/* Adds a key file wrapping the master key under a new password (scrypt
 * cost scrypt_n, 0 = default); returns its name. */
int lb_repo_key_add(struct lb_repo *r, const char *password, uint64_t scrypt_n, char name[65]);
/* Name of the key file this handle was opened with. */
const char *lb_repo_key_name(const struct lb_repo *r);
int lb_repo_key_remove(struct lb_repo *r, const char *name);
/* Path or URL the repository was opened from. */
const char *lb_repo_location(const struct lb_repo *r);
/* Number of blobs and packs in the loaded index, and the bytes it uses. */
void lb_repo_index_stats(const struct lb_repo *r, size_t *blobs, size_t *packs, size_t *bytes);

#endif
