#include "smtp.h"
#include "err.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Between the parts: '=' and '_' never start a base64 line. */
#define BOUNDARY "=_unitsync_alternative_="

/* LEN bytes of S as base64 into FP, 76 characters a line, CRLF ended. */
static void base64_lines(FILE *fp, const char *s, size_t len)
{
	/* 57 bytes make 76 characters */
	for (size_t off = 0; off < len; off += 57) {
		unsigned char out[80];
		size_t n = len - off < 57 ? len - off : 57;
		int w = EVP_EncodeBlock(out, (const unsigned char *)s + off, (int)n);

		fwrite(out, 1, (size_t)w, fp);
		fputs("\r\n", fp);
	}
}

/* Is S plain printable ASCII (a header value needing no encoding)? */
static int plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * The Subject header's value: S itself when plain ASCII, else RFC 2047
 * encoded-words "=?UTF-8?B?...?=" of at most 45 bytes of S each (60
 * characters of base64: each word under RFC 2047's 75), cut between
 * UTF-8 characters, folded onto continuation lines.
 */
static void subject_value(FILE *fp, const char *s)
{
	size_t len = strlen(s), off = 0;

	if (plain_ascii(s) && len <= 900) {
		fputs(s, fp);
		return;
	}
	while (off < len) {
		unsigned char out[64];
		size_t n = len - off < 45 ? len - off : 45;
		int w;

		/* never cut a character: back up over continuation bytes */
		while (off + n < len && n > 1 && ((unsigned char)s[off + n] & 0xc0) == 0x80)
			n--;
		w = EVP_EncodeBlock(out, (const unsigned char *)s + off, (int)n);
		fprintf(fp, "%s=?UTF-8?B?%.*s?=", off ? "\r\n " : "", w, (const char *)out);
		off += n;
	}
}

/* One text part: TYPE ("plain", "html") of BODY, with LF made CRLF first. */
static int part(FILE *fp, const char *type, const char *body)
{
	size_t len = strlen(body), n = 0;
	char *crlf = malloc(len * 2 + 1);

	if (!crlf)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))
			crlf[n++] = '\r';
		crlf[n++] = body[i];
	}
	fprintf(fp,
		"--" BOUNDARY "\r\nContent-Type: text/%s; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n",
		type);
	base64_lines(fp, crlf, n);
	free(crlf);
	return 0;
}

int smtp_format(const struct smtp_server *s, const struct smtp_message *m, char **out, size_t *len)
{
	FILE *fp = open_memstream(out, len);
	char date[64];
	struct tm tm;
	int rc = -1;

	*out = NULL;
	if (!fp)
		goto out;
	gmtime_r(&m->date, &tm);
	/* RFC 5322 3.3, English names whatever the locale */
	{
		static const char *const days[] = {
			"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
		};
		static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

		snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000",
			 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	fprintf(fp, "From: unitsync <%s>\r\nTo: ", s->from);
	for (size_t i = 0; i < m->n_to; i++)
		fprintf(fp, "%s<%s>", i ? ",\r\n " : "", m->to[i]);
	fputs("\r\nSubject: ", fp);
	subject_value(fp, m->subject);
	fprintf(fp,
		"\r\nDate: %s\r\nMessage-ID: %s\r\nAuto-Submitted: auto-generated\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/alternative; boundary=\"" BOUNDARY "\"\r\n\r\n",
		date, m->message_id);
	if (part(fp, "plain", m->text) < 0 || part(fp, "html", m->html) < 0)
		goto out;
	fputs("--" BOUNDARY "--\r\n", fp);
	rc = 0;
out:
	if (fp && fclose(fp) != 0)
		rc = -1;
	if (rc < 0) {
		free(*out);
		*out = NULL;
		err_set("out of memory");
	}
	return rc;
}

/* The message being uploaded. */
struct upload {
	const char *data;
	size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *vu)
{
	struct upload *u = vu;
	size_t n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

int smtp_send(const struct smtp_server *s, const struct smtp_message *m, int *transient)
{
	struct curl_slist *rcpt = NULL;
	struct upload u = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "", from[512], *msg = NULL;
	long code = 0;
	CURL *c = NULL;
	CURLcode cc;
	int rc = -1;

	*transient = 0;
	if (smtp_format(s, m, &msg, &u.len) < 0)
		return -1;
	u.data = msg;
	c = curl_easy_init();
	if (!c) {
		err_set("smtp: cannot start libcurl");
		goto out;
	}
	for (size_t i = 0; i < m->n_to; i++) {
		char to[512];
		struct curl_slist *l;

		snprintf(to, sizeof(to), "<%s>", m->to[i]);
		if (!(l = curl_slist_append(rcpt, to))) {
			err_set("out of memory");
			goto out;
		}
		rcpt = l;
	}
	snprintf(from, sizeof(from), "<%s>", s->from);
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* smtp://: STARTTLS or nothing; never a password in clear */
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (s->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (s->user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		char reply[32] = "";

		if (code)
			snprintf(reply, sizeof(reply), " (reply %ld)", code);
		err_set("smtp: %s: %s%s", s->url, *errbuf ? errbuf : curl_easy_strerror(cc), reply);
		switch (cc) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
			*transient = 1;
			break;
		default:
			/* RFC 5321 4.2.1: 4yz is a transient failure, 5yz a permanent one */
			*transient = code >= 400 && code < 500;
		}
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(rcpt);
	if (c)
		curl_easy_cleanup(c);
	free(msg);
	return rc;
}
