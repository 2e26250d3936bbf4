/* lifeboat — verdicts: the recorded results of restore drills, one per
 * snapshot (verdicts/<snapshot id>, sealed JSON).  A newer drill of the same
 * snapshot replaces the verdict. */
#ifndef LIFEBOAT_VERDICT_H
#define LIFEBOAT_VERDICT_H

#include <jansson.h>

struct lb_repo;

/* Stores v (a JSON object) for the snapshot; "time" is added. */
int lb_verdict_put(struct lb_repo *r, const char *snapshot_id, json_t *v);
/* The verdict of a snapshot (caller decrefs), or -LB_E_NOTFOUND. */
int lb_verdict_get(struct lb_repo *r, const char *snapshot_id, json_t **out);

#endif
