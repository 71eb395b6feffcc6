/*
 * mem.h - arrays that grow as elements are added: one rule for the
 * capacity (doubled, from a first size) and the out-of-memory message,
 * instead of a realloc() block in each module.
 *
 * Errors: mem_grow() returns -1 with err_set("out of memory") and leaves
 * the array as it was.  Ownership: the array stays the caller's (free()).
 */
#ifndef UNITSYNC_MEM_H
#define UNITSYNC_MEM_H

#include <stddef.h>

/*
 * Make room for one more element in *ARR, an array of *CAP elements of
 * SIZE bytes of which N are used: when N reaches *CAP, *ARR is
 * reallocated to twice as many (FIRST when empty) and *CAP updated.
 * 0, or -1 as above.
 */
int mem_grow(void **arr, size_t n, size_t *cap, size_t size, size_t first);

/*
 * Keep up to BYTES of freed heap in the process rather than give it back
 * to the kernel (glibc's M_TRIM_THRESHOLD, and M_MMAP_THRESHOLD so that
 * blocks below BYTES come from the heap too).  For programs that free and
 * allocate again in a loop: a heap shrunk after each round (brk) faulted
 * its pages in again for the next (extract's files, load's requests;
 * issue 18, docs/PERFORMANCE.md).  Peak RSS is unchanged: nothing more is
 * held than one round needed.  Call once, before the loop.
 */
#define MEM_HEAP_KEEP (32 * 1024 * 1024)
void mem_keep_heap(size_t bytes);

#endif
