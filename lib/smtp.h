/*
 * smtp.h - send one e-mail through an SMTP server with libcurl (issue 20).
 *
 * Transport (RFC 5321): smtp:// URLs upgrade with STARTTLS (RFC 3207) and
 * refuse a server that does not offer it (CURLUSESSL_ALL: a password or a
 * resident's name never crosses the network in clear); smtps:// is TLS
 * from the first byte (RFC 8314).  The server's certificate is verified
 * against the system's CA bundle or CA_FILE.  AUTH (RFC 4954) when USER is
 * set, with PASSWORD, which the caller read from a file or the
 * environment (never argv).
 *
 * The message (RFC 5322, RFC 2045-2047): From, To, Subject (RFC 2047
 * base64 encoded-words when not plain ASCII), Date, Message-ID,
 * Auto-Submitted: auto-generated (RFC 3834, so that vacation responders
 * stay quiet), MIME-Version, multipart/alternative of a text/plain and a
 * text/html part, each UTF-8 in base64 (no line of the body longer than
 * 76 bytes, no line starting with '.').
 */
#ifndef UNITSYNC_SMTP_H
#define UNITSYNC_SMTP_H

#include <stddef.h>
#include <time.h>

struct smtp_server {
	const char *url;      /* smtp://host[:port] or smtps://host[:port] */
	const char *from;     /* envelope and header sender, an address */
	const char *user;     /* AUTH user, NULL: no AUTH */
	const char *password; /* AUTH password */
	const char *ca_file;  /* CA bundle, NULL: the system's */
};

struct smtp_message {
	const char *const *to; /* N_TO recipient addresses */
	size_t n_to;
	const char *subject;    /* one line, UTF-8 */
	const char *message_id; /* "<...@...>" */
	time_t date;            /* the Date header */
	const char *text;       /* the text/plain part, UTF-8, LF line ends */
	const char *html;       /* the text/html part, UTF-8 */
};

/*
 * The whole message M from S->from as RFC 5322 text with CRLF line ends,
 * malloc'd into *OUT (*LEN bytes).  0, or -1 out of memory (err_set()).
 */
int smtp_format(const struct smtp_server *s, const struct smtp_message *m, char **out, size_t *len);

/*
 * Send M through S: one SMTP transaction to every recipient.  0 when the
 * server accepted it (250 after DATA); -1 with err_set() saying why
 * ("smtp: ..." with libcurl's message and the server's reply code), and
 * *TRANSIENT set when a later try may succeed (no connection, a timeout,
 * a 4xx reply, RFC 5321 4.2.1) and cleared when it will not (5xx: a bad
 * address, AUTH refused, STARTTLS not offered, a certificate not
 * trusted).
 */
int smtp_send(const struct smtp_server *s, const struct smtp_message *m, int *transient);

#endif
