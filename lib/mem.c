#include "mem.h"
#include "err.h"

#include <stdlib.h>

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
