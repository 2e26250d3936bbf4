/* lifeboat — a map from (dev, ino) to an index: the hard-link tables of
 * backup, restore and export, each of which keeps its own array of
 * entries and finds them here.  Open addressing, at most half full. */
#include <errno.h>
#include <stdlib.h>

#include "util/util.h"

#define INOMAP_MIN 256u

static size_t slot(const struct lb_inomap_slot *v, size_t cap, uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xc2b2ae3d27d4eb4full);
	size_t mask = cap - 1, i = (size_t)(h ^ (h >> 29)) & mask;

	while (v[i].idx1 && (v[i].dev != dev || v[i].ino != ino))
		i = (i + 1) & mask;
	return i;
}

size_t lb_inomap_get(const struct lb_inomap *m, uint64_t dev, uint64_t ino)
{
	size_t i;

	if (!m->cap)
		return SIZE_MAX;
	i = slot(m->v, m->cap, dev, ino);
	return m->v[i].idx1 ? m->v[i].idx1 - 1 : SIZE_MAX;
}

int lb_inomap_add(struct lb_inomap *m, uint64_t dev, uint64_t ino, size_t idx)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : INOMAP_MIN;
		struct lb_inomap_slot *v = calloc(ncap, sizeof *v);

		if (!v)
			return -ENOMEM;
		for (size_t k = 0; k < m->cap; k++)
			if (m->v[k].idx1)
				v[slot(v, ncap, m->v[k].dev, m->v[k].ino)] = m->v[k];
		free(m->v);
		m->v = v;
		m->cap = ncap;
	}
	i = slot(m->v, m->cap, dev, ino);
	if (m->v[i].idx1)
		return 1;
	m->v[i] = (struct lb_inomap_slot){ .dev = dev, .ino = ino, .idx1 = idx + 1 };
	m->n++;
	return 0;
}

void lb_inomap_free(struct lb_inomap *m)
{
	free(m->v);
	*m = (struct lb_inomap){ 0 };
}
