#include "rowsdigest.h"
#include "db.h"
#include "err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What the digest reads of each table: every column that says what the
 * snapshot holds (never when it was extracted), in key order, so that
 * the digest does not depend on how SQLite stores the rows.  A column
 * added by a later migration joins these lists only with a new digest
 * version: old snapshots must keep verifying.  Each row comes as one blob
 * of its values framed by lib/db's unitsync_frame(): three API calls a
 * value were a third of the digest's time.  rowsdigest_person() and
 * rowsdigest_unit() frame the rows of Q_PERSON and Q_UNIT the same way,
 * column for column.
 */
static const char Q_SNAPSHOT[] =
	"SELECT unitsync_frame('snapshot', property_id, source_kind, dialect, sha256, size_bytes, "
	"rows_staged, rows_skipped, rows_rejected, units_staged, fields, unknown_columns) "
	"FROM snapshot WHERE snapshot_id = ?1";
static const char Q_PROPERTY[] =
	"SELECT unitsync_frame('property', property_id, people) FROM snapshot_property "
	"WHERE snapshot_id = ?1 ORDER BY property_id";
static const char Q_PERSON[] =
	"SELECT unitsync_frame('person', property_id, pms_person_id, row_seq, household_id, "
	"pms_unit_id, role, status, status_raw, first_name, last_name, email, phone, move_in, "
	"move_out, expected_move_out, lease_from, lease_to, source_ref) FROM stg_person "
	"WHERE snapshot_id = ?1 ORDER BY property_id, pms_person_id, row_seq";
static const char Q_UNIT[] =
	"SELECT unitsync_frame('unit', property_id, pms_unit_id, label, dwelling) FROM stg_unit "
	"WHERE snapshot_id = ?1 ORDER BY property_id, pms_unit_id";
static const char Q_REJECT[] =
	"SELECT unitsync_frame('reject', source_ref, reason, property_id, pms_person_id) "
	"FROM stg_reject WHERE snapshot_id = ?1 "
	"ORDER BY source_ref, reason, property_id, pms_person_id";

static int section_start(struct rowsdigest_section *sec)
{
	if (sec->started)
		return 0;
	if (sha256_init(&sec->h) < 0)
		return -1;
	sec->started = 1;
	return 0;
}

/* LEN bytes for the section's SHA-256, gathered so that it is called
 * once a block, not twice a value (3.8M calls for 100k people). */
static void section_add(struct rowsdigest_section *sec, const void *p, size_t len)
{
	if (sec->used + len > sizeof(sec->buf)) {
		sha256_update(&sec->h, sec->buf, sec->used);
		sec->used = 0;
	}
	if (len > sizeof(sec->buf)) {
		sha256_update(&sec->h, p, len);
		return;
	}
	memcpy(sec->buf + sec->used, p, len);
	sec->used += len;
}

/* The section's digest into HEX; the section is empty and may start again. */
static int section_finish(struct rowsdigest_section *sec, char hex[SHA256_HEX_LEN + 1])
{
	if (section_start(sec) < 0)
		return -1;
	sha256_update(&sec->h, sec->buf, sec->used);
	sec->used = 0;
	sha256_final(&sec->h, hex);
	sec->started = 0;
	return 0;
}

/* A row waiting in a section's window: its frame, then its key. */
struct row {
	size_t frame_len, key_len;
	unsigned char data[];
};

/* Keys compared as SQLite's BINARY collation compares them (memcmp(),
 * then the shorter first); each key's strings end in NUL. */
static int key_cmp(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);

	return c ? c : (na > nb) - (na < nb);
}

static int row_cmp(const struct row *a, const struct row *b)
{
	return key_cmp(a->data + a->frame_len, a->key_len, b->data + b->frame_len, b->key_len);
}

/* Empty the window (a broken section needs none of it). */
static void drop_window(struct rowsdigest_section *sec)
{
	for (size_t i = sec->head; i < sec->n; i++)
		free(sec->win[i]);
	sec->head = sec->n = sec->bytes = 0;
}

void rowsdigest_section_release(struct rowsdigest_section *sec)
{
	char hex[SHA256_HEX_LEN + 1];

	if (sec->started)
		sha256_final(&sec->h, hex); /* frees the context */
	sec->started = 0;
	/* what it hashed is gone: a digest given it again reads the table back */
	sec->broken = 1;
	drop_window(sec);
	free(sec->win);
	free(sec->last);
	sec->win = NULL;
	sec->last = NULL;
	sec->last_len = sec->last_cap = sec->used = 0;
}

static void set_broken(struct rowsdigest_section *sec)
{
	sec->broken = 1;
	drop_window(sec);
}

/* Hash the window's first (smallest) row, which becomes the last hashed. */
static void emit_first(struct rowsdigest_section *sec)
{
	struct row *r = (struct row *)sec->win[sec->head++];

	sec->bytes -= sizeof(*r) + r->frame_len + r->key_len;
	if (sec->rows && key_cmp(r->data + r->frame_len, r->key_len, sec->last, sec->last_len) <= 0)
		goto broken;
	if (r->key_len > sec->last_cap) {
		unsigned char *k = realloc(sec->last, r->key_len * 2);

		if (!k)
			goto broken;
		sec->last = k;
		sec->last_cap = r->key_len * 2;
	}
	memcpy(sec->last, r->data + r->frame_len, r->key_len);
	sec->last_len = r->key_len;
	section_add(sec, r->data, r->frame_len);
	sec->rows++;
	free(r);
	return;
broken:
	free(r);
	set_broken(sec);
}

/*
 * Row R (malloc'd, taken) into its place in the section's window, whose
 * first row is hashed once it holds more than ROWSDIGEST_WINDOW.  A row
 * whose key is not after the one hashed last breaks the section.
 */
static void section_row(struct rowsdigest_section *sec, struct row *r)
{
	unsigned char **w;
	size_t lo, hi;

	if (sec->broken || (sec->rows && key_cmp(r->data + r->frame_len, r->key_len, sec->last,
						 sec->last_len) <= 0))
		goto broken;
	if (!sec->win && !(sec->win = malloc(2 * ROWSDIGEST_WINDOW * sizeof(*sec->win))))
		goto broken;
	if (section_start(sec) < 0)
		goto broken;
	w = sec->win;
	if (sec->n == 2 * ROWSDIGEST_WINDOW) {
		/* the rows waiting back to the front */
		memmove(w, w + sec->head, (sec->n - sec->head) * sizeof(*w));
		sec->n -= sec->head;
		sec->head = 0;
	}
	/* its place: after every row of a smaller key (rows mostly come in order) */
	lo = sec->head;
	hi = sec->n;
	if (hi > lo && row_cmp(r, (struct row *)w[hi - 1]) < 0) {
		hi--;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (row_cmp(r, (struct row *)w[mid]) < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		memmove(w + lo + 1, w + lo, (sec->n - lo) * sizeof(*w));
	} else {
		lo = hi;
	}
	w[lo] = (unsigned char *)r;
	sec->n++;
	sec->bytes += sizeof(*r) + r->frame_len + r->key_len;
	while (!sec->broken && sec->n > sec->head &&
	       (sec->n - sec->head > ROWSDIGEST_WINDOW || sec->bytes > ROWSDIGEST_WINDOW_BYTES))
		emit_first(sec);
	return;
broken:
	free(r);
	set_broken(sec);
}

/* Hash every row left in the window; -1: the section is broken. */
static int section_drain(struct rowsdigest_section *sec)
{
	while (!sec->broken && sec->head < sec->n)
		emit_first(sec);
	return sec->broken ? -1 : 0;
}

/* A row of NEED bytes for SEC, or NULL (the section broken). */
static struct row *row_new(struct rowsdigest_section *sec, size_t need)
{
	struct row *r = malloc(sizeof(*r) + need);

	if (!r)
		set_broken(sec);
	return r;
}

/* A text value as stored: NULL or "" is NULL (what stg binds) */
static unsigned char *put_text_or_null(unsigned char *at, const char *s, size_t len)
{
	return s && len ? db_frame_put(at, 't', s, len) : db_frame_put(at, 'n', NULL, 0);
}

static unsigned char *put_int(unsigned char *at, long long v)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%lld", v);

	return db_frame_put(at, 'i', text, (size_t)n);
}

static unsigned char *put_key_int(unsigned char *at, long long v)
{
	uint32_t u = (uint32_t)v;

	for (int b = 0; b < 4; b++)
		*at++ = (unsigned char)(u >> (24 - 8 * b));
	return at;
}

/* Finish row R, whose frame ends at FRAME_END and key at KEY_END, into SEC. */
static void row_add(struct rowsdigest_section *sec, struct row *r, unsigned char *frame_end,
		    unsigned char *key_end)
{
	r->frame_len = (size_t)(frame_end - r->data);
	r->key_len = (size_t)(key_end - frame_end);
	section_row(sec, r);
}

void rowsdigest_person(struct rowsdigest_section *sec, const char *const v[17], int row_seq)
{
	static const char tag[] = "person";
	size_t len[17], need = 9 + sizeof(tag) + 9 + 24 + 4;
	unsigned char *at, *key;
	struct row *r;

	if (sec->broken)
		return;
	if (row_seq < 1 || !v[0] || !v[1]) {
		/* not a row stg stages: its key is NOT NULL, row_seq from 1 */
		set_broken(sec);
		return;
	}
	for (int i = 0; i < 17; i++) {
		len[i] = v[i] ? strlen(v[i]) : 0;
		need += 9 + len[i];
	}
	need += len[0] + len[1] + 2; /* the key's strings */
	if (!(r = row_new(sec, need)))
		return;
	at = db_frame_put(r->data, 't', tag, sizeof(tag) - 1);
	at = put_text_or_null(at, v[0], len[0]);
	at = put_text_or_null(at, v[1], len[1]);
	at = put_int(at, row_seq);
	for (int i = 2; i < 17; i++)
		at = put_text_or_null(at, v[i], len[i]);
	key = at;
	memcpy(key, v[0], len[0] + 1);
	memcpy(key + len[0] + 1, v[1], len[1] + 1);
	row_add(sec, r, at, put_key_int(key + len[0] + len[1] + 2, row_seq));
}

void rowsdigest_unit(struct rowsdigest_section *sec, const char *property_id,
		     const char *pms_unit_id, const char *label, int dwelling)
{
	static const char tag[] = "unit";
	size_t np, nu, nl = label ? strlen(label) : 0;
	unsigned char *at, *key;
	struct row *r;

	if (sec->broken)
		return;
	if (!property_id || !pms_unit_id) {
		set_broken(sec);
		return;
	}
	np = strlen(property_id);
	nu = strlen(pms_unit_id);
	if (!(r = row_new(sec, 5 * 9 + sizeof(tag) + 2 * (np + nu) + nl + 24 + 2)))
		return;
	at = db_frame_put(r->data, 't', tag, sizeof(tag) - 1);
	at = db_frame_put(at, 't', property_id, np);
	at = db_frame_put(at, 't', pms_unit_id, nu);
	at = put_text_or_null(at, label, nl);
	at = put_int(at, dwelling);
	key = at;
	memcpy(key, property_id, np + 1);
	memcpy(key + np + 1, pms_unit_id, nu + 1);
	row_add(sec, r, at, key + np + nu + 2);
}

/* Every row of query SQL (one blob a row) for snapshot ID into SEC. */
static int hash_query(sqlite3 *db, const char *sql, long long id, struct rowsdigest_section *sec)
{
	sqlite3_stmt *st = NULL;
	int step, rc = -1;

	if (section_start(sec) < 0 || db_prepare(db, sql, &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((step = db_row(st)) == 1)
		section_add(sec, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	if (step < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Version 2's frame (NAME, hex digest of a table's rows) into TOP: from
 * STREAMED when it hashed every row, else read back with SQL into
 * SCRATCH.
 */
static int add_table(sqlite3 *db, long long id, const char *name, const char *sql,
		     struct rowsdigest_section *streamed, struct rowsdigest_section *scratch_sec,
		     struct rowsdigest_section *top)
{
	char hex[SHA256_HEX_LEN + 1];
	unsigned char frame[2 * 9 + 16 + SHA256_HEX_LEN], *at;
	struct rowsdigest_section *sec = scratch_sec;

	if (streamed && section_drain(streamed) == 0)
		sec = streamed;
	else if (hash_query(db, sql, id, sec) < 0)
		return -1;
	if (section_finish(sec, hex) < 0)
		return -1;
	at = db_frame_put(frame, 't', name, strlen(name));
	at = db_frame_put(at, 't', hex, SHA256_HEX_LEN);
	section_add(top, frame, (size_t)(at - frame));
	return 0;
}

int rowsdigest_compute(sqlite3 *db, long long snapshot_id, int version,
		       struct rowsdigest_section *persons, struct rowsdigest_section *units,
		       char hex[SHA256_HEX_LEN + 1])
{
	/* the whole digest, and a table's read back: 16 KiB buffers each */
	struct rowsdigest_section *top = calloc(2, sizeof(*top));
	unsigned char frame[2 * 9 + 16 + 24], *at;
	int rc = -1;

	if (!top) {
		err_set("out of memory");
		goto out;
	}
	if (section_start(&top[0]) < 0)
		goto out;
	switch (version) {
	case 1:
		if (hash_query(db, Q_SNAPSHOT, snapshot_id, &top[0]) < 0 ||
		    hash_query(db, Q_PROPERTY, snapshot_id, &top[0]) < 0 ||
		    hash_query(db, Q_PERSON, snapshot_id, &top[0]) < 0 ||
		    hash_query(db, Q_UNIT, snapshot_id, &top[0]) < 0 ||
		    hash_query(db, Q_REJECT, snapshot_id, &top[0]) < 0)
			goto out;
		break;
	case 2:
		at = db_frame_put(frame, 't', "digest", 6);
		at = put_int(at, 2);
		section_add(&top[0], frame, (size_t)(at - frame));
		if (hash_query(db, Q_SNAPSHOT, snapshot_id, &top[0]) < 0 ||
		    hash_query(db, Q_PROPERTY, snapshot_id, &top[0]) < 0 ||
		    add_table(db, snapshot_id, "persons", Q_PERSON, persons, &top[1], &top[0]) <
			    0 ||
		    add_table(db, snapshot_id, "units", Q_UNIT, units, &top[1], &top[0]) < 0 ||
		    hash_query(db, Q_REJECT, snapshot_id, &top[0]) < 0)
			goto out;
		break;
	default:
		err_set("snapshot %lld: rows digest version %d is unknown to this unitsync",
			snapshot_id, version);
		goto out;
	}
	if (section_finish(&top[0], hex) < 0)
		goto out;
	rc = 0;
out:
	if (top) {
		rowsdigest_section_release(&top[0]);
		rowsdigest_section_release(&top[1]);
	}
	free(top);
	if (persons)
		rowsdigest_section_release(persons);
	if (units)
		rowsdigest_section_release(units);
	return rc;
}
