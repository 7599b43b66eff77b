/* The fire heap: a binary min-heap of started jobs keyed by (next, id), so
 * equal deadlines fire in a stable order. Each job knows its index, making
 * removal and re-keying O(log n). */
#include <stdint.h>

#include "jobs_int.h"

static int less(const Job *a, const Job *b)
{
	return a->next < b->next || (a->next == b->next && a->id < b->id);
}

static void put(FireHeap *h, size_t i, Job *j)
{
	h->v[i] = j;
	j->heapi = i;
}

static void up(FireHeap *h, size_t i)
{
	Job *j = h->v[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!less(j, h->v[p]))
			break;
		put(h, i, h->v[p]);
		i = p;
	}
	put(h, i, j);
}

static void down(FireHeap *h, size_t i)
{
	Job *j = h->v[i];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const Job *best = j;
		if (l < h->n && less(h->v[l], best)) { m = l; best = h->v[l]; }
		if (l + 1 < h->n && less(h->v[l + 1], best)) m = l + 1;
		if (m == i)
			break;
		put(h, i, h->v[m]);
		i = m;
	}
	put(h, i, j);
}

void heap_push(FireHeap *h, Job *j)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, h->cap * sizeof *h->v);
	}
	put(h, h->n++, j);
	up(h, j->heapi);
}

void heap_remove(FireHeap *h, Job *j)
{
	size_t i = j->heapi;
	if (i == SIZE_MAX)
		return;
	j->heapi = SIZE_MAX;
	Job *last = h->v[--h->n];
	if (i == h->n)
		return;
	put(h, i, last);
	up(h, i);
	down(h, last->heapi);
}

Job *heap_top(const FireHeap *h)
{
	return h->n ? h->v[0] : NULL;
}

/* The jobs at the top's instant: the nodes whose next equals it, which form
 * a subtree at the root (no node is below a later one). O(their number),
 * stopping at max. */
static size_t count_from(const FireHeap *h, size_t i, int64_t t, size_t max)
{
	if (i >= h->n || h->v[i]->next != t || max == 0)
		return 0;
	size_t k = 1;
	k += count_from(h, 2 * i + 1, t, max - k);
	if (k < max)
		k += count_from(h, 2 * i + 2, t, max - k);
	return k;
}

size_t heap_count_top(const FireHeap *h, size_t max)
{
	return h->n ? count_from(h, 0, h->v[0]->next, max) : 0;
}
