/*
 * webhook.h - POST one JSON document to a webhook, signed (issue 20).
 *
 * The request: POST URL, Content-Type: application/json, the body as
 * given, and
 *   X-Unitsync-Signature: sha256=HEX   HMAC-SHA256 (RFC 2104) of the body's
 *                                      exact bytes under the shared secret
 *                                      (lib/sha256), as GitHub signs its
 *                                      webhooks: the receiver recomputes it
 *                                      and compares in constant time
 *   X-Unitsync-Delivery: ID            the delivery's id (the digest's
 *                                      Message-ID): the same on every try,
 *                                      so a receiver can drop a repeat
 * Any 2xx answer is delivered.  No connection, a timeout, 408, 429 and
 * 5xx are transient (a later try may succeed; Retry-After is returned
 * when the answer gave one); anything else is permanent.  Redirects are
 * not followed (a signed body is not re-sent elsewhere).
 */
#ifndef UNITSYNC_WEBHOOK_H
#define UNITSYNC_WEBHOOK_H

#include <stddef.h>

/*
 * POST BODY (LEN bytes) to URL signed with SECRET, delivery id ID.  0
 * delivered; -1 with err_set() ("webhook: HOST: ..."), *TRANSIENT set
 * when a later try may succeed, *RETRY_AFTER the seconds the answer's
 * Retry-After asked for (-1 none).
 */
int webhook_post(const char *url, const char *secret, const char *id, const char *body, size_t len,
		 int *transient, long *retry_after);

/* "HOST#HASH" for URL: its host and the first 12 hex digits of the
 * SHA-256 of the whole URL, into BUF: how a webhook is named in records
 * and logs (a webhook URL often holds its own secret). */
void webhook_name(const char *url, char *buf, size_t size);

#endif
