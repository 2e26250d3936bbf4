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

#endif
