#include "delta.h"
#include "csvio.h"
#include "date.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const op_names[] = { "USER_CREATE", "ASSIGN", "UNASSIGN" };

#define N_DELTA_COLUMNS 14

const char *delta_op_name(enum delta_op op)
{
	return op_names[op];
}

int delta_op_parse(const char *s, enum delta_op *op)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, op_names[i])) {
			*op = (enum delta_op)i;
			return 0;
		}
	return -1;
}

void delta_write_header(FILE *fp)
{
	fputs(DELTA_HEADER "\n", fp);
}

void delta_write_row(FILE *fp, const struct delta_row *r)
{
	char seq[32];
	const char *f[N_DELTA_COLUMNS];

	snprintf(seq, sizeof(seq), "%ld", r->seq);
	f[0] = seq;
	f[1] = op_names[r->op];
	f[2] = r->property_id;
	f[3] = r->pms_unit_id;
	f[4] = r->latch_unit_id;
	f[5] = r->pms_person_id;
	f[6] = r->latch_user_id;
	f[7] = r->reason;
	f[8] = r->group_id;
	f[9] = r->effective_date;
	f[10] = r->email;
	f[11] = r->phone;
	f[12] = r->first_name;
	f[13] = r->last_name;
	csvio_write_row(fp, f, N_DELTA_COLUMNS);
}

void exceptions_write_header(FILE *fp)
{
	fputs(EXCEPTIONS_HEADER "\n", fp);
}

/*
 * A cell that a spreadsheet would run as a formula (OWASP, "CSV
 * Injection": a first character =, +, -, @, tab or carriage return) gets a
 * leading apostrophe, which spreadsheets show as text.  Returns S, or BUF
 * (SIZE bytes) holding the neutralised text; a text too long for BUF is
 * cut there.
 */
static const char *neutralise(const char *s, char *buf, size_t size)
{
	if (!s || !strchr("=+-@\t\r", s[0]) || !s[0])
		return s;
	snprintf(buf, size, "'%s", s);
	return buf;
}

void delta_write_safe_row(FILE *fp, const char *const *fields, size_t n)
{
	char buf[DELTA_SAFE_MAX_FIELDS][4096];
	const char *f[DELTA_SAFE_MAX_FIELDS];

	/* people open these files in spreadsheets: no cell may start a formula */
	for (size_t i = 0; i < n && i < DELTA_SAFE_MAX_FIELDS; i++)
		f[i] = neutralise(fields[i] ? fields[i] : "", buf[i], sizeof(buf[i]));
	csvio_write_row(fp, f, n < DELTA_SAFE_MAX_FIELDS ? n : DELTA_SAFE_MAX_FIELDS);
}

void exceptions_write_row(FILE *fp, const char *kind, const char *property_id,
			  const char *pms_unit_id, const char *pms_person_id, const char *detail)
{
	const char *f[] = { kind, property_id, pms_unit_id, pms_person_id, detail };

	delta_write_safe_row(fp, f, 5);
}

struct read_state {
	const char *path;
	int (*fn)(const struct delta_row *r, void *ctx);
	void *ctx;
	long expect_seq; /* next seq; 0 before the header */
};

static int on_row(const struct csvio_row *row, void *vs)
{
	struct read_state *s = vs;
	struct delta_row r = { 0 };
	char *end;

	if (s->expect_seq == 0) {
		/* the header, exactly */
		static const char header[] = DELTA_HEADER;
		const char *p = header;

		for (size_t i = 0; i < row->n; i++) {
			size_t n = strcspn(p, ",");

			if (strlen(row->fields[i]) != n || memcmp(row->fields[i], p, n)) {
				err_set("'%s' line 1: not a delta header (expected '%s')", s->path,
					DELTA_HEADER);
				return -1;
			}
			p += n + (p[n] == ',');
		}
		if (row->n != N_DELTA_COLUMNS) {
			err_set("'%s' line 1: not a delta header (expected '%s')", s->path,
				DELTA_HEADER);
			return -1;
		}
		s->expect_seq = 1;
		return 0;
	}
	if (row->n != N_DELTA_COLUMNS) {
		err_set("'%s' line %ld: %zu fields, expected %d", s->path, row->line, row->n,
			N_DELTA_COLUMNS);
		return -1;
	}
	errno = 0;
	r.seq = strtol(row->fields[0], &end, 10);
	if (errno || *end || r.seq != s->expect_seq) {
		err_set("'%s' line %ld: seq '%s' out of order (expected %ld)", s->path, row->line,
			row->fields[0], s->expect_seq);
		return -1;
	}
	if (delta_op_parse(row->fields[1], &r.op) < 0) {
		err_set("'%s' line %ld: unknown op '%s'", s->path, row->line, row->fields[1]);
		return -1;
	}
	r.property_id = row->fields[2];
	r.pms_unit_id = row->fields[3];
	r.latch_unit_id = row->fields[4];
	r.pms_person_id = row->fields[5];
	r.latch_user_id = row->fields[6];
	r.reason = row->fields[7];
	r.group_id = row->fields[8];
	r.effective_date = row->fields[9];
	r.email = row->fields[10];
	r.phone = row->fields[11];
	r.first_name = row->fields[12];
	r.last_name = row->fields[13];
	r.line = row->line;
	if (!*r.property_id || !*r.pms_person_id || !date_valid(r.effective_date) ||
	    (r.op != DELTA_USER_CREATE && !*r.latch_unit_id) ||
	    (r.op == DELTA_UNASSIGN && !*r.latch_user_id)) {
		err_set("'%s' line %ld: %s row lacks a required field", s->path, row->line,
			op_names[r.op]);
		return -1;
	}
	s->expect_seq++;
	return s->fn(&r, s->ctx);
}

/* Read the delta from FP (named PATH); FP stays the caller's. */
static int read_fp(FILE *fp, const char *path, int (*fn)(const struct delta_row *r, void *ctx),
		   void *ctx)
{
	struct read_state s = { .path = path, .fn = fn, .ctx = ctx };
	int rc = csvio_read(fp, path, on_row, &s);

	if (rc == 0 && s.expect_seq == 0) {
		err_set("'%s': empty file, expected a delta header", path);
		rc = -1;
	}
	return rc;
}

int delta_read(const char *path, int (*fn)(const struct delta_row *r, void *ctx), void *ctx)
{
	FILE *fp = fopen(path, "r");
	int rc;

	if (!fp) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	rc = read_fp(fp, path, fn, ctx);
	fclose(fp);
	return rc;
}

int delta_read_fd(int fd, const char *name, int (*fn)(const struct delta_row *r, void *ctx),
		  void *ctx)
{
	int copy = -1;
	FILE *fp = NULL;
	int rc = -1;

	if (lseek(fd, 0, SEEK_SET) < 0 || (copy = dup(fd)) < 0 || !(fp = fdopen(copy, "r"))) {
		err_set("cannot read '%s': %s", name, strerror(errno));
		if (copy >= 0)
			close(copy);
		return -1;
	}
	rc = read_fp(fp, name, fn, ctx);
	fclose(fp);
	return rc;
}

const char *const delta_reasons[] = {
	"move_in",         "transfer",
	"mapping_changed", "mapping_added",
	"reapply",         "move_out",
	"status_change",   "status_excluded",
	"guarantor",       "mapping_removed",
	"missing_contact", "not_in_export",
	"reasserted",      NULL,
};

const char *const exception_kinds[] = {
	"unmapped_unit",          "missing_contact",    "duplicate_email",
	"email_mismatch",         "identity_changed",   "unknown_status",
	"overdue_move_out",       "rejected_rows",      "manual_assignment",
	"unconfirmed_assignment", "unit_sync_disabled", "property_missing",
	"unmapped_move",          "status_conflict",    "stale_export",
	"conflicting_rows",       "removal_deferred",   "schema_changed",
	"latch_unit_missing",     "older_export",       NULL,
};

int delta_name_known(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (!strcmp(*list, name))
			return 1;
	return 0;
}
