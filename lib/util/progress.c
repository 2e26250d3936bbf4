#include <stdio.h>
#include <string.h>

#include "lifeboat/progress.h"
#include "util/util.h"

void lb_progress_init(struct lb_progress *p)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
}

void lb_progress_release(struct lb_progress *p)
{
	pthread_mutex_destroy(&p->lock);
}

void lb_progress_op(struct lb_progress *p, const char *path)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (path) {
		snprintf(p->current, sizeof p->current, "%s", path);
		p->op_start_ns = lb_mono_ns();
	} else {
		p->op_start_ns = 0;
	}
	pthread_mutex_unlock(&p->lock);
}

void lb_progress_current(struct lb_progress *p, char *path, size_t n, int64_t *running_ns)
{
	pthread_mutex_lock(&p->lock);
	snprintf(path, n, "%s", p->current);
	*running_ns = p->op_start_ns ? lb_mono_ns() - p->op_start_ns : 0;
	pthread_mutex_unlock(&p->lock);
}
