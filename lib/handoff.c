/*
 * handoff.c - two slots passed between two threads (handoff.h).
 */
#include "handoff.h"

void handoff_init(struct handoff *h)
{
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->full[0] = h->full[1] = 0;
	h->quit = 0;
}

void handoff_release(struct handoff *h)
{
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
}

/* Set slot I's state to FULL and wake the other side. */
static void set_full(struct handoff *h, int i, int full)
{
	pthread_mutex_lock(&h->mu);
	h->full[i] = full;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void handoff_give(struct handoff *h, int i)
{
	set_full(h, i, 1);
}

void handoff_done(struct handoff *h, int i)
{
	set_full(h, i, 0);
}

/* Wait until slot I is FULL (1) or empty (0), or quit. */
static int wait_for(struct handoff *h, int i, int full)
{
	int rc;

	pthread_mutex_lock(&h->mu);
	while (h->full[i] != full && !h->quit)
		pthread_cond_wait(&h->cv, &h->mu);
	rc = h->quit ? -1 : 0;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int handoff_wait_empty(struct handoff *h, int i)
{
	return wait_for(h, i, 0);
}

int handoff_wait_full(struct handoff *h, int i)
{
	return wait_for(h, i, 1);
}

void handoff_quit(struct handoff *h)
{
	pthread_mutex_lock(&h->mu);
	h->quit = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}
