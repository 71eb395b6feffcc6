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

#endif
