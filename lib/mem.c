#include "mem.h"
#include "err.h"

#include <malloc.h>
#include <stdlib.h>

void mem_keep_heap(size_t bytes)
{
	mallopt(M_TRIM_THRESHOLD, (int)bytes);
	mallopt(M_MMAP_THRESHOLD, (int)bytes);
}

int mem_grow(void **arr, size_t n, size_t *cap, size_t size, size_t first)
{
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : first;
	p = realloc(*arr, want * size);
	if (!p) {
		err_set("out of memory");
		return -1;
	}
	*arr = p;
	*cap = want;
	return 0;
}
