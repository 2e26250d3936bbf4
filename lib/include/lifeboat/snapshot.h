/* lifeboat — snapshot manifests: the single commit point of a backup.
 *
 * A manifest is a sealed JSON object (docs/FORMAT.md, "Snapshots").  Known
 * fields are parsed into struct lb_snapshot; the whole object stays in
 * `json` so sources (MySQL binlog coordinates, per-table checksums, mailbox
 * counts, quiesce timings) can add their own sections without a format
 * change. */
#ifndef LIFEBOAT_SNAPSHOT_H
#define LIFEBOAT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct lb_repo;

struct lb_snapshot {
	char id[65];
	int64_t time_s;
	long time_ns;
	char *host;
	char *user;
	char **paths;
	size_t npaths;
	char **tags;
	size_t ntags;
	uint8_t tree[32];
	char parent[65];  /* "" when none */
	json_t *json;     /* the whole manifest, owned */
};

void lb_snapshot_free(struct lb_snapshot *s);
void lb_snapshot_list_free(struct lb_snapshot **v, size_t n);

/* Every readable snapshot, oldest first.  Damaged ones are skipped and
 * reported through the log at WARN. */
int lb_snapshot_list(struct lb_repo *r, struct lb_snapshot ***out, size_t *n);
int lb_snapshot_load(struct lb_repo *r, const char *id, struct lb_snapshot **out);
/* spec: a full id, a unique prefix of one, or "latest". */
int lb_snapshot_find(struct lb_repo *r, const char *spec, struct lb_snapshot **out);
/* Builds the manifest JSON from the struct fields plus s->json's extra
 * sections, seals and stores it; fills s->id. */
int lb_snapshot_save(struct lb_repo *r, struct lb_snapshot *s);
/* Parses manifest JSON text into a snapshot (used by load and by tests). */
int lb_snapshot_parse(const char *text, size_t len, struct lb_snapshot **out);
/* A JSON string for bytes that may not be UTF-8: valid UTF-8 as is,
 * anything else with bytes outside ASCII written as \xNN (and '\' as '\\'). */
json_t *lb_json_string_bytes(const char *s);
/* The manifest as pretty JSON text (caller frees), for `cat snapshot`. */
char *lb_snapshot_dump(const struct lb_snapshot *s);

#endif
