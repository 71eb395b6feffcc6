/*
 * extract_batch.c - a batch of extract jobs in one process (extract.h's
 * extract_batch()): the lines of `unitsync config properties
 * --extract-options`, grouped and checked whole before anything is staged,
 * then each group staged as one extract program run would stage it.  Apart
 * from extract.c so that extract-csv and extract-xml do not link it.
 */
#include "cli.h"
#include "csvprofile.h"
#include "db.h"
#include "encoding.h"
#include "err.h"
#include "exitcode.h"
#include "extract.h"
#include "extract_int.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* The columns of a batch line before the file's. */
#define BATCH_KEY_COLUMNS 5

/* One group of a batch: consecutive lines agreeing on all but the file. */
struct batch_group {
	struct extract_job j; /* j.property and j.encoding point into fields */
	char *key;            /* the line up to the file's column, as read */
	char *fields;         /* the same, split at its tabs */
	size_t keylen;
	extract_reader one;
	char **files;
	size_t n, cap;
};

struct batch {
	struct batch_group *g;
	size_t n, cap;
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		for (size_t k = 0; k < b->g[i].n; k++)
			free(b->g[i].files[k]);
		free(b->g[i].files);
		free(b->g[i].key);
		free(b->g[i].fields);
	}
	free(b->g);
}

/*
 * Fill G's job from COL[0..4] (property, format, profile,
 * max_reject_percent, encoding; '-' the default) and pick its reader of
 * R; -1 with err_set() naming what is wrong.  The strings stay COL's.
 */
static int batch_job(struct batch_group *g, char *const *col, const struct extract_readers *r)
{
	const char *prop = col[0], *format = col[1], *profile = col[2], *reject = col[3],
		   *enc = col[4];
	int xml = !strcmp(format, "xml");

	g->j.property = prop;
	g->j.max_reject = EXTRACT_MAX_REJECT_DEFAULT;
	g->j.encoding = strcmp(enc, "-") ? enc : "auto";
	/* an XML line's profile and encoding are not read, but checked alike:
	 * a typo is a typo whatever the format */
	if (!*prop || !strcmp(prop, "-")) {
		err_set("no property id");
		return -1;
	}
	if (!xml && strcmp(format, "csv")) {
		err_set("unknown format '%s' (csv or xml)", format);
		return -1;
	}
	if (csvprofile_pick(profile, &g->j.profile) < 0)
		return -1;
	if (strcmp(reject, "-") && cli_parse_number(reject, 0, 100, &g->j.max_reject) < 0) {
		err_set("max_reject_percent takes 0 to 100, not '%s'", reject);
		return -1;
	}
	if (enc_check(g->j.encoding) < 0)
		return -1;
	g->one = xml ? r->xml : r->csv;
	return 0;
}

/*
 * Add LINE (its newline gone) to B: one more file of the last group, or a
 * new group; -1 with err_set() naming what is wrong.
 */
static int batch_line(struct batch *b, const char *line, const struct extract_readers *r)
{
	const char *file = line;
	struct batch_group *g = b->n ? &b->g[b->n - 1] : NULL;
	size_t keylen;

	for (int i = 0; i < BATCH_KEY_COLUMNS; i++) {
		file = strchr(file, '\t');
		if (!file) {
			err_set("%d column%s, not 6 (property, format, profile, max_reject_percent, "
				"encoding, file; tab-separated)",
				i + 1, i ? "s" : "");
			return -1;
		}
		file++;
	}
	if (!*file) {
		err_set("no file");
		return -1;
	}
	keylen = (size_t)(file - line);
	if (!g || g->keylen != keylen || memcmp(g->key, line, keylen)) {
		char *col[BATCH_KEY_COLUMNS], *p;

		if (mem_grow((void **)&b->g, b->n, &b->cap, sizeof(*b->g), 16) < 0)
			return -1;
		g = &b->g[b->n++];
		memset(g, 0, sizeof(*g));
		g->keylen = keylen;
		g->key = strndup(line, keylen);
		g->fields = p = strndup(line, keylen);
		if (!g->key || !p) {
			err_set("out of memory");
			return -1;
		}
		for (int i = 0; i < BATCH_KEY_COLUMNS; i++) {
			col[i] = p;
			p = strchr(p, '\t');
			*p++ = '\0';
		}
		if (batch_job(g, col, r) < 0)
			return -1;
	}
	if (mem_grow((void **)&g->files, g->n, &g->cap, sizeof(*g->files), 4) < 0)
		return -1;
	g->files[g->n] = strdup(file);
	if (!g->files[g->n]) {
		err_set("out of memory");
		return -1;
	}
	g->n++;
	return 0;
}

/* Every line of IN (named NAME) into B; 0, or -1 after an error
 * "NAME:LINE: why" is logged. */
static int batch_read(struct batch *b, FILE *in, const char *name, const struct extract_readers *r)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r') /* a list saved on Windows */
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			err_set("a NUL byte");
			rc = -1;
		} else if (len > 0) {
			rc = batch_line(b, line, r);
		}
		if (rc < 0)
			log_error("%s:%d: %s; nothing staged", name, lineno, err_msg());
	}
	if (rc == 0 && ferror(in)) {
		log_error("cannot read '%s': %s; nothing staged", name, strerror(errno));
		rc = -1;
	} else if (rc == 0 && b->n == 0) {
		log_error("'%s' names no file; nothing staged", name);
		rc = -1;
	}
	free(line);
	return rc;
}

int extract_batch(const struct cli_common *c, FILE *in, const char *name,
		  const struct extract_readers *r)
{
	struct batch b = { 0 };
	struct db_checkpointer ckpt;
	sqlite3 *db = NULL;
	int rc = US_EXIT_OK;

	mem_keep_heap(MEM_HEAP_KEEP); /* as extract_run() */
	if (batch_read(&b, in, name, r) < 0) {
		rc = US_EXIT_USAGE;
		goto out;
	}
	if (db_open(c->db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	/* each group's commit leaves its checkpoint to a thread, which copies
	 * the WAL's pages while the next group is parsed and staged */
	if (db_checkpointer_start(&ckpt, db, c->db_path) < 0)
		log_debug("%s", err_msg());
	for (size_t i = 0; i < b.n; i++) {
		struct batch_group *g = &b.g[i];
		int r1 = extract_files(db, &g->j, g->files, (int)g->n, g->one);

		printf("extract %s: exit %d\n", g->j.property, r1);
		rc = extract_worse(rc, r1);
		/* not a rejected file but the database: the groups after it would
		 * fail alike */
		if (r1 != US_EXIT_OK && r1 != US_EXIT_DATAERR)
			break;
	}
	db_checkpointer_stop(&ckpt);
	db_checkpoint(db); /* the end of the stage: the WAL goes back to zero */
	db_close(db);
out:
	batch_free(&b);
	return rc;
}
