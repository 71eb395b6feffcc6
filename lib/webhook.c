#include "webhook.h"
#include "err.h"
#include "sha256.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void webhook_name(const char *url, char *buf, size_t size)
{
	char hex[SHA256_HEX_LEN + 1] = "";
	const char *host = strstr(url, "://");
	size_t n;

	host = host ? host + 3 : url;
	n = strcspn(host, "/?#@");
	/* user:password@host: the part before '@' is credentials, never shown */
	if (host[n] == '@') {
		host += n + 1;
		n = strcspn(host, "/?#");
	}
	sha256_hex(url, strlen(url), hex);
	snprintf(buf, size, "%.*s#%.12s", (int)(n > 200 ? 200 : n), host, hex);
}

/* Discard the answer's body. */
static size_t sink(char *p, size_t size, size_t nmemb, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * nmemb;
}

int webhook_post(const char *url, const char *secret, const char *id, const char *body, size_t len,
		 int *transient, long *retry_after)
{
	char hex[SHA256_HEX_LEN + 1], sig[128], delivery[256], errbuf[CURL_ERROR_SIZE] = "",
							       name[256];
	struct curl_slist *h = NULL, *l;
	curl_off_t ra = -1;
	long status = 0;
	CURL *c = NULL;
	CURLcode cc;
	int rc = -1;

	*transient = 0;
	*retry_after = -1;
	webhook_name(url, name, sizeof(name));
	if (sha256_hmac_hex(secret, strlen(secret), body, len, hex) < 0)
		return -1;
	snprintf(sig, sizeof(sig), "X-Unitsync-Signature: sha256=%s", hex);
	snprintf(delivery, sizeof(delivery), "X-Unitsync-Delivery: %s", id);
	if (!(c = curl_easy_init()) ||
	    !(l = curl_slist_append(h, "Content-Type: application/json")) || !(h = l) ||
	    !(l = curl_slist_append(h, sig)) || !(h = l) || !(l = curl_slist_append(h, delivery)) ||
	    !(h = l)) {
		err_set("out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra);
	if (cc != CURLE_OK) {
		err_set("webhook: %s: %s", name, *errbuf ? errbuf : curl_easy_strerror(cc));
		*transient = 1;
		goto out;
	}
	if (status < 200 || status > 299) {
		err_set("webhook: %s: HTTP %ld", name, status);
		*transient = status == 408 || status == 429 || status >= 500;
		*retry_after = ra > 0 ? (long)ra : -1;
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}
