/* lifeboat — where repository objects live.  A backend stores named
 * objects of a few kinds; everything above it speaks only this vtable, so a
 * remote or S3 backend adds a file here and touches nothing else. */
#ifndef LB_BACKEND_H
#define LB_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum lb_kind {
	LB_KIND_CONFIG,   /* the one "config" object */
	LB_KIND_KEY,      /* keys/<id> */
	LB_KIND_PACK,     /* packs/<xx>/<id> */
	LB_KIND_INDEX,    /* index/<id> */
	LB_KIND_SNAPSHOT, /* snapshots/<id> */
	LB_KIND_LOCK,     /* locks/<name> */
	LB_KIND_VERDICT,  /* verdicts/<snapshot id>: restore-drill results */
	LB_KIND_COUNT,
};

struct lb_backend;
struct lb_bwriter;

typedef int (*lb_list_fn)(const char *name, uint64_t size, void *ctx);

struct lb_backend_ops {
	const char *name;
	/* Reads a whole object of at most max bytes. */
	int (*get)(struct lb_backend *b, enum lb_kind k, const char *name, size_t max, struct lb_buf *out);
	/* Stores a whole object durably and atomically. */
	int (*put)(struct lb_backend *b, enum lb_kind k, const char *name, const void *data, size_t len);
	/* Reads exactly len bytes at off; short objects are -LB_E_CORRUPT. */
	int (*read_at)(struct lb_backend *b, enum lb_kind k, const char *name, uint64_t off, void *buf, size_t len);
	int (*size)(struct lb_backend *b, enum lb_kind k, const char *name, uint64_t *size);
	/* Calls fn for every object of kind k whose name is well formed;
	 * a non-zero return from fn stops the walk and is returned. */
	int (*list)(struct lb_backend *b, enum lb_kind k, lb_list_fn fn, void *ctx);
	int (*remove)(struct lb_backend *b, enum lb_kind k, const char *name);
	/* Streams a new object: bytes go to a temporary, commit makes it
	 * durable and visible under its final name, abort discards it. */
	int (*writer_open)(struct lb_backend *b, enum lb_kind k, struct lb_bwriter **w);
	int (*writer_write)(struct lb_bwriter *w, const void *data, size_t len);
	/* Writes at an offset; several threads may write disjoint ranges of
	 * one writer at once. */
	int (*writer_pwrite)(struct lb_bwriter *w, const void *data, size_t len, uint64_t off);
	int (*writer_commit)(struct lb_bwriter *w, const char *name);
	void (*writer_abort)(struct lb_bwriter *w);
	/* Calls fn for each temporary left by an interrupted writer (name,
	 * size, modification time in seconds). */
	int (*list_temp)(struct lb_backend *b, enum lb_kind k, int (*fn)(const char *name, uint64_t size,
									  int64_t mtime, void *ctx), void *ctx);
	/* Removes one such temporary (prune, once it is old enough). */
	int (*remove_temp)(struct lb_backend *b, enum lb_kind k, const char *name);
	void (*close)(struct lb_backend *b);
};

struct lb_backend {
	const struct lb_backend_ops *ops;
	char *location; /* for messages */
};

/* The local-directory backend.  create makes the layout (the directory
 * must be empty or absent). */
int lb_backend_local_open(const char *path, int create, struct lb_backend **ret);
void lb_backend_close(struct lb_backend *b);

const char *lb_kind_name(enum lb_kind k);

#endif
