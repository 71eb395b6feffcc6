/*
 * handoff.h - two slots passed between two threads: one side fills a slot
 * while the other empties the other one, so that producing and consuming
 * run on two cores with memory bounded by the two slots.  lib/xmlsafe.c
 * parses ahead into its event batches this way, and lib/stg.c stages the
 * batches of rows its caller queues (stg_async()).
 *
 * Each slot is full (given to the consumer) or empty (the producer's);
 * the slots are used in turn, 0, 1, 0, ...; their contents are the
 * caller's, and a slot's contents belong to the side holding it, so no
 * lock is held while they are read or written.  Either side may stop the
 * other with handoff_quit(): every wait then returns -1, whatever the
 * slot's state.
 *
 * Ownership: the caller owns the struct and the slots' contents; nothing
 * is allocated.  Errors: none but the -1 of a wait after handoff_quit().
 */
#ifndef UNITSYNC_HANDOFF_H
#define UNITSYNC_HANDOFF_H

#include <pthread.h>

struct handoff {
	pthread_mutex_t mu; /* guards full and quit */
	pthread_cond_t cv;  /* signalled on every change of them */
	int full[2];        /* slot i is the consumer's */
	int quit;           /* handoff_quit() came: waits return -1 */
};

void handoff_init(struct handoff *h);
void handoff_release(struct handoff *h);

/* The producer gives slot I (filled) to the consumer. */
void handoff_give(struct handoff *h, int i);

/* The consumer is done with slot I: it is the producer's again. */
void handoff_done(struct handoff *h, int i);

/* The producer waits until slot I is empty: 0, or -1 after handoff_quit(). */
int handoff_wait_empty(struct handoff *h, int i);

/* The consumer waits until slot I is full: 0, or -1 after handoff_quit(). */
int handoff_wait_full(struct handoff *h, int i);

/* Stop both sides' waits (the side quitting says why elsewhere). */
void handoff_quit(struct handoff *h);

#endif
