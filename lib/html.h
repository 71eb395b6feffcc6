/*
 * html.h - text into HTML (the report's page, the notification digest).
 *
 * Escapes the five characters HTML gives meaning to in text and in quoted
 * attribute values (& < > " ', HTML Living Standard 13.1.4), and writes
 * '?' for every other control character but LF and TAB (and DEL), so that
 * a name from an export can neither add markup nor hide text.
 */
#ifndef UNITSYNC_HTML_H
#define UNITSYNC_HTML_H

#include <stdio.h>

/* S (NULL: nothing) onto FP, escaped as above. */
void html_put(FILE *fp, const char *s);

#endif
