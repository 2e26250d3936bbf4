/* lifeboat — the virtual tree a source writes into (internal). */
#ifndef LB_VTREE_H
#define LB_VTREE_H

#include "lifeboat/source.h"
#include "store/packer.h"

int lb_vtree_new(struct lb_repo *r, struct lb_packer *pk, struct lb_vtree **ret);
/* Stores every directory, bottom up; returns the root tree's id. */
int lb_vtree_store(struct lb_vtree *t, uint8_t root[32]);
/* Files and bytes written, for statistics. */
void lb_vtree_stats(struct lb_vtree *t, uint64_t *files, uint64_t *bytes);
void lb_vtree_free(struct lb_vtree *t);

/* A snapshot made only of a virtual tree (a binlog segment): begin, write
 * files into *vt, commit under a source name with its manifest section. */
struct lb_vsnapshot;
int lb_vsnapshot_begin(struct lb_repo *r, struct lb_vsnapshot **ret, struct lb_vtree **vt);
int lb_vsnapshot_commit(struct lb_vsnapshot *v, const char *host, const char *const *tags, size_t ntags,
			const char *source, json_t *section, char id[65]);
void lb_vsnapshot_free(struct lb_vsnapshot *v);

#endif
