/* lifeboat — run markers: every writer (backup, binlog archive, import)
 * announces itself in the repository's locks/ while it runs, with a
 * heartbeat, so prune never deletes data a running writer may still name.
 * A marker whose heartbeat is older than LB_MARKER_STALE_S belongs to a
 * writer that died and is ignored. */
#ifndef LIFEBOAT_MARKER_H
#define LIFEBOAT_MARKER_H

#include <stdbool.h>
#include <stdint.h>

#define LB_MARKER_HEARTBEAT_S 60
#define LB_MARKER_STALE_S 600

struct lb_repo;
struct lb_marker;

/* What markers say this process is ("lifeboat backup"); set once by the CLI. */
void lb_marker_set_purpose(const char *what);
/* Writes locks/run-<random> and refreshes it every LB_MARKER_HEARTBEAT_S
 * seconds from a thread of its own.  what NULL: the purpose above.  The
 * repository does this itself when it loads the index. */
int lb_marker_start(struct lb_repo *r, const char *what, struct lb_marker **ret);
/* Its name in locks/ and when it started (ns since the epoch). */
const char *lb_marker_name(const struct lb_marker *m);
int64_t lb_marker_start_ns(const struct lb_marker *m);
/* In the child of a fork() (a daemon): restarts the heartbeat, which
 * stayed in the parent, and rewrites the marker with this pid (NULL is
 * fine).  The parent must then neither stop nor free it. */
int lb_marker_after_fork(struct lb_marker *m);
/* Stops the heartbeat and removes the marker (NULL is fine). */
void lb_marker_stop(struct lb_marker *m);

struct lb_marker_info {
	char name[80], what[128], host[256];
	long pid;
	int64_t start_s, start_ns, heartbeat_s;
	bool fresh;      /* alive: heartbeat recent and, on this host, its pid exists */
	bool same_host;
	bool own;        /* this process's */
};
/* Calls fn for every marker in the repository. */
int lb_markers_list(struct lb_repo *r, int (*fn)(const struct lb_marker_info *m, void *ctx), void *ctx);

#endif
