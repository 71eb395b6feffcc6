/*
 * delta.h - the run directory's CSV files (docs/ARCHITECTURE.md §8), written and read.
 *
 * delta.csv: RFC 4180, UTF-8, LF, one header line, then one row per change:
 *   seq,op,property_id,pms_unit_id,latch_unit_id,pms_person_id,latch_user_id,
 *   reason,group_id,effective_date,email,phone,first_name,last_name
 * op is USER_CREATE, ASSIGN or UNASSIGN; seq counts from 1 with no gaps;
 * the last four columns carry what USER_CREATE sends to Latch and are empty
 * on other rows.  A transfer's ASSIGN and UNASSIGN share a group_id.
 *
 * exceptions.csv: kind,property_id,pms_unit_id,pms_person_id,detail.
 *
 * Readers check the header byte for byte and each row's shape, so a file
 * edited into another shape is refused naming the line.
 */
#ifndef UNITSYNC_DELTA_H
#define UNITSYNC_DELTA_H

#include <stdio.h>

#define DELTA_HEADER                                                                                \
	"seq,op,property_id,pms_unit_id,latch_unit_id,pms_person_id,latch_user_id,reason,group_id," \
	"effective_date,email,phone,first_name,last_name"
#define EXCEPTIONS_HEADER "kind,property_id,pms_unit_id,pms_person_id,detail"

enum delta_op {
	DELTA_USER_CREATE, /* create (or match by e-mail) the resident's Latch user */
	DELTA_ASSIGN,      /* PUT /v1/units/{u}/residents/{user} */
	DELTA_UNASSIGN,    /* DELETE /v1/units/{u}/residents/{user} */
};

/* One delta row.  Strings are borrowed (writer) or owned by the reader
 * for the duration of the callback (reader); "" means empty. */
struct delta_row {
	long seq;
	enum delta_op op;
	const char *property_id;
	const char *pms_unit_id;
	const char *latch_unit_id;
	const char *pms_person_id;
	const char *latch_user_id;
	const char *reason;
	const char *group_id;
	const char *effective_date;
	const char *email;
	const char *phone;
	const char *first_name;
	const char *last_name;
	long line; /* reader: physical line in the file */
};

const char *delta_op_name(enum delta_op op);

/* Parse an op name; -1 if unknown. */
int delta_op_parse(const char *s, enum delta_op *op);

void delta_write_header(FILE *fp);
void delta_write_row(FILE *fp, const struct delta_row *r);

/* Read PATH row by row; FN returns 0 to go on or -1 to stop (with
 * err_set()).  -1 with err_set() naming the file and line on bad shape. */
int delta_read(const char *path, int (*fn)(const struct delta_row *r, void *ctx), void *ctx);

/* delta_read() of the file open on FD, from its start (FD stays open and
 * its offset is used); NAME names it in messages. */
int delta_read_fd(int fd, const char *name, int (*fn)(const struct delta_row *r, void *ctx),
		  void *ctx);

/*
 * The names a run may write, each documented in README ("Reasons",
 * "Exceptions and what to do about them") and unitsync-transform(1)
 * (tests/unit/test_delta.c checks both): a delta row's reason, and an
 * exception kind: of exceptions.csv (transform), or of load-report.csv's
 * exception column (load: latch_unit_missing).  NULL-terminated.  delta_name_known(LIST, NAME)
 * says whether NAME is in LIST.
 */
extern const char *const delta_reasons[];
extern const char *const exception_kinds[];
int delta_name_known(const char *const *list, const char *name);

/*
 * exceptions.csv, the file property managers open in a spreadsheet: a cell
 * that would start a formula (=, +, -, @, tab, CR: OWASP "CSV Injection")
 * is written with a leading apostrophe.  delta.csv stays exact data.
 */
void exceptions_write_header(FILE *fp);

/* A row of N fields (at most DELTA_SAFE_MAX_FIELDS; NULL is empty) of any
 * file people open in a spreadsheet (exceptions.csv, reconcile.csv),
 * each cell neutralised as above. */
#define DELTA_SAFE_MAX_FIELDS 8
void delta_write_safe_row(FILE *fp, const char *const *fields, size_t n);
void exceptions_write_row(FILE *fp, const char *kind, const char *property_id,
			  const char *pms_unit_id, const char *pms_person_id, const char *detail);

#endif
