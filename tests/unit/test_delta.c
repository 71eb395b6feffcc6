/*
 * test_delta.c - lib/delta.h: delta.csv written and read back, the shape
 * checks of the reader, and the exceptions.csv writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delta.h"
#include "err.h"

/* A temporary folder holding one delta.csv. */
struct fixture {
	char dir[64];   /* mkdtemp result */
	char path[128]; /* DIR/delta.csv */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_delta.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/delta.csv", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* Deep copies of the rows delta_read() delivered. */
#define MAX_ROWS 8
struct got {
	size_t n;
	struct delta_row rows[MAX_ROWS]; /* strings owned */
	int stop_at;                     /* 1-based row to fail on; 0: never */
};

static int collect(const struct delta_row *r, void *ctx)
{
	struct got *g = ctx;
	struct delta_row *c;

	if (g->n == MAX_ROWS) {
		err_set("too many rows");
		return -1;
	}
	c = &g->rows[g->n++];
	*c = *r;
	c->property_id = strdup(r->property_id);
	c->pms_unit_id = strdup(r->pms_unit_id);
	c->latch_unit_id = strdup(r->latch_unit_id);
	c->pms_person_id = strdup(r->pms_person_id);
	c->latch_user_id = strdup(r->latch_user_id);
	c->reason = strdup(r->reason);
	c->group_id = strdup(r->group_id);
	c->effective_date = strdup(r->effective_date);
	c->email = strdup(r->email);
	c->phone = strdup(r->phone);
	c->first_name = strdup(r->first_name);
	c->last_name = strdup(r->last_name);
	if (g->stop_at && (int)g->n == g->stop_at) {
		err_set("stop");
		return -1;
	}
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct delta_row *c = &g->rows[i];

		free((char *)c->property_id);
		free((char *)c->pms_unit_id);
		free((char *)c->latch_unit_id);
		free((char *)c->pms_person_id);
		free((char *)c->latch_user_id);
		free((char *)c->reason);
		free((char *)c->group_id);
		free((char *)c->effective_date);
		free((char *)c->email);
		free((char *)c->phone);
		free((char *)c->first_name);
		free((char *)c->last_name);
	}
	memset(g, 0, sizeof(*g));
}

static void assert_rows_equal(const struct delta_row *want, const struct delta_row *got)
{
	assert_int_equal(got->seq, want->seq);
	assert_int_equal(got->op, want->op);
	assert_string_equal(got->property_id, want->property_id);
	assert_string_equal(got->pms_unit_id, want->pms_unit_id);
	assert_string_equal(got->latch_unit_id, want->latch_unit_id);
	assert_string_equal(got->pms_person_id, want->pms_person_id);
	assert_string_equal(got->latch_user_id, want->latch_user_id);
	assert_string_equal(got->reason, want->reason);
	assert_string_equal(got->group_id, want->group_id);
	assert_string_equal(got->effective_date, want->effective_date);
	assert_string_equal(got->email, want->email);
	assert_string_equal(got->phone, want->phone);
	assert_string_equal(got->first_name, want->first_name);
	assert_string_equal(got->last_name, want->last_name);
}

static const struct delta_row sample[] = {
	{ .seq = 1,
	  .op = DELTA_USER_CREATE,
	  .property_id = "P1",
	  .pms_unit_id = "101",
	  .latch_unit_id = "",
	  .pms_person_id = "t0001",
	  .latch_user_id = "",
	  .reason = "move-in",
	  .group_id = "",
	  .effective_date = "2024-03-01",
	  .email = "ann.lee@example.com",
	  .phone = "+1 555 0100",
	  .first_name = "Ann \"Annie\"",
	  .last_name = "Lee, Jr" },
	{ .seq = 2,
	  .op = DELTA_ASSIGN,
	  .property_id = "P1",
	  .pms_unit_id = "101",
	  .latch_unit_id = "lu-101",
	  .pms_person_id = "t0001",
	  .latch_user_id = "",
	  .reason = "transfer",
	  .group_id = "g1",
	  .effective_date = "2024-03-01",
	  .email = "",
	  .phone = "",
	  .first_name = "",
	  .last_name = "" },
	{ .seq = 3,
	  .op = DELTA_UNASSIGN,
	  .property_id = "P1",
	  .pms_unit_id = "100",
	  .latch_unit_id = "lu-100",
	  .pms_person_id = "t0001",
	  .latch_user_id = "user-9",
	  .reason = "transfer",
	  .group_id = "g1",
	  .effective_date = "2024-02-29",
	  .email = "",
	  .phone = "",
	  .first_name = "",
	  .last_name = "" },
};

#define N_SAMPLE (sizeof(sample) / sizeof(sample[0]))

static void delta_read_gives_back_every_field_written(void **state)
{
	struct fixture *fx = *state;
	struct got g = { 0 };
	FILE *fp = fopen(fx->path, "w");

	assert_non_null(fp);
	delta_write_header(fp);
	for (size_t i = 0; i < N_SAMPLE; i++)
		delta_write_row(fp, &sample[i]);
	assert_int_equal(fclose(fp), 0);

	if (delta_read(fx->path, collect, &g) != 0)
		fail_msg("delta_read: %s", err_msg());
	assert_int_equal(g.n, N_SAMPLE);
	for (size_t i = 0; i < N_SAMPLE; i++) {
		assert_rows_equal(&sample[i], &g.rows[i]);
		assert_int_equal(g.rows[i].line, (long)i + 2);
	}
	got_free(&g);
}

static void delta_write_row_writes_exact_bytes(void **state)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(fp);
	delta_write_header(fp);
	delta_write_row(fp, &sample[0]);
	delta_write_row(fp, &sample[2]);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf,
			    "seq,op,property_id,pms_unit_id,latch_unit_id,pms_person_id,"
			    "latch_user_id,reason,group_id,effective_date,email,phone,"
			    "first_name,last_name\n"
			    "1,USER_CREATE,P1,101,,t0001,,move-in,,2024-03-01,"
			    "ann.lee@example.com,+1 555 0100,\"Ann \"\"Annie\"\"\",\"Lee, Jr\"\n"
			    "3,UNASSIGN,P1,100,lu-100,t0001,user-9,transfer,g1,2024-02-29,,,,\n");
	free(buf);
}

static void delta_read_accepts_a_header_without_rows(void **state)
{
	struct fixture *fx = *state;
	struct got g = { 0 };

	write_file(fx->path, DELTA_HEADER "\n");
	assert_int_equal(delta_read(fx->path, collect, &g), 0);
	assert_int_equal(g.n, 0);
}

static void delta_read_rejects_an_empty_file(void **state)
{
	struct fixture *fx = *state;
	struct got g = { 0 };

	write_file(fx->path, "");
	assert_int_equal(delta_read(fx->path, collect, &g), -1);
	assert_non_null(strstr(err_msg(), fx->path));
	assert_int_equal(g.n, 0);
}

static void delta_read_rejects_a_missing_file(void **state)
{
	struct fixture *fx = *state;
	struct got g = { 0 };

	assert_int_equal(delta_read(fx->path, collect, &g), -1);
	assert_non_null(strstr(err_msg(), fx->path));
}

/* The header check must refuse TEXT as line 1. */
static void assert_header_refused(const struct fixture *fx, const char *header)
{
	struct got g = { 0 };
	char text[1024];

	snprintf(text, sizeof(text), "%s\n1,ASSIGN,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n",
		 header);
	write_file(fx->path, text);
	if (delta_read(fx->path, collect, &g) != -1)
		fail_msg("header '%s' was accepted", header);
	assert_non_null(strstr(err_msg(), "line 1"));
	assert_non_null(strstr(err_msg(), "not a delta header"));
	assert_int_equal(g.n, 0);
}

static void delta_read_rejects_a_header_that_differs(void **state)
{
	struct fixture *fx = *state;

	/* a renamed column */
	assert_header_refused(fx, "seq,op,property,pms_unit_id,latch_unit_id,pms_person_id,"
				  "latch_user_id,reason,group_id,effective_date,email,phone,"
				  "first_name,last_name");
	/* a missing column */
	assert_header_refused(fx, "seq,op,property_id,pms_unit_id,latch_unit_id,pms_person_id,"
				  "latch_user_id,reason,group_id,effective_date,email,phone,"
				  "first_name");
	/* an extra column */
	assert_header_refused(fx, DELTA_HEADER ",extra");
	/* the columns in another order */
	assert_header_refused(fx, "op,seq,property_id,pms_unit_id,latch_unit_id,pms_person_id,"
				  "latch_user_id,reason,group_id,effective_date,email,phone,"
				  "first_name,last_name");
	/* another case */
	assert_header_refused(fx, "SEQ,op,property_id,pms_unit_id,latch_unit_id,pms_person_id,"
				  "latch_user_id,reason,group_id,effective_date,email,phone,"
				  "first_name,last_name");
}

/* Read TEXT after the header; it must fail with a message holding WANT1
 * and WANT2, after delivering N_OK rows. */
static void assert_rows_refused(const struct fixture *fx, const char *rows, size_t n_ok,
				const char *want1, const char *want2)
{
	struct got g = { 0 };
	char text[2048];

	snprintf(text, sizeof(text), "%s\n%s", DELTA_HEADER, rows);
	write_file(fx->path, text);
	if (delta_read(fx->path, collect, &g) != -1)
		fail_msg("accepted:\n%s", rows);
	if (!strstr(err_msg(), want1) || !strstr(err_msg(), want2))
		fail_msg("message '%s' lacks '%s' or '%s'", err_msg(), want1, want2);
	assert_non_null(strstr(err_msg(), fx->path));
	assert_int_equal(g.n, n_ok);
	got_free(&g);
}

static void delta_read_rejects_a_gap_in_seq(void **state)
{
	struct fixture *fx = *state;

	assert_rows_refused(fx,
			    "1,ASSIGN,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n"
			    "3,ASSIGN,P1,102,lu-102,t2,,move-in,,2024-03-01,,,,\n",
			    1, "line 3", "seq '3'");
}

static void delta_read_rejects_seq_not_starting_at_one(void **state)
{
	struct fixture *fx = *state;

	assert_rows_refused(fx, "2,ASSIGN,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n", 0, "line 2",
			    "expected 1");
	assert_rows_refused(fx, "x,ASSIGN,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n", 0, "line 2",
			    "seq 'x'");
}

static void delta_read_rejects_an_unknown_op(void **state)
{
	struct fixture *fx = *state;

	assert_rows_refused(fx, "1,MERGE,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n", 0, "line 2",
			    "unknown op 'MERGE'");
	assert_rows_refused(fx, "1,assign,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n", 0, "line 2",
			    "unknown op 'assign'");
}

static void delta_read_rejects_a_wrong_field_count_naming_the_line(void **state)
{
	struct fixture *fx = *state;

	assert_rows_refused(fx,
			    "1,ASSIGN,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n"
			    "2,ASSIGN,P1,102,lu-102,t2,,move-in,,2024-03-01,,,\n",
			    1, "line 3", "13 fields");
	assert_rows_refused(fx, "1,ASSIGN,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,,\n", 0,
			    "line 2", "15 fields");
}

static void delta_read_rejects_unassign_without_latch_user_id(void **state)
{
	struct fixture *fx = *state;

	assert_rows_refused(fx, "1,UNASSIGN,P1,101,lu-101,t1,,move-out,,2024-03-01,,,,\n", 0,
			    "line 2", "UNASSIGN");
}

static void delta_read_rejects_rows_lacking_required_fields(void **state)
{
	struct fixture *fx = *state;

	/* ASSIGN without latch_unit_id */
	assert_rows_refused(fx, "1,ASSIGN,P1,101,,t1,,move-in,,2024-03-01,,,,\n", 0, "line 2",
			    "ASSIGN");
	/* no property_id */
	assert_rows_refused(fx, "1,USER_CREATE,,101,,t1,,move-in,,2024-03-01,a@b.example,,A,B\n", 0,
			    "line 2", "USER_CREATE");
	/* no pms_person_id */
	assert_rows_refused(fx, "1,ASSIGN,P1,101,lu-101,,,move-in,,2024-03-01,,,,\n", 0, "line 2",
			    "required");
	/* an effective date that is not YYYY-MM-DD */
	assert_rows_refused(fx, "1,ASSIGN,P1,101,lu-101,t1,,move-in,,3/1/2024,,,,\n", 0, "line 2",
			    "required");
	assert_rows_refused(fx, "1,ASSIGN,P1,101,lu-101,t1,,move-in,,2023-02-29,,,,\n", 0, "line 2",
			    "required");
}

static void delta_read_counts_lines_of_multiline_fields(void **state)
{
	struct fixture *fx = *state;

	assert_rows_refused(fx,
			    "1,USER_CREATE,P1,101,,t1,,move-in,,2024-03-01,a@b.example,,\"A\nB\","
			    "C\n"
			    "2,BOGUS,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n",
			    1, "line 4", "unknown op");
}

static void delta_read_stops_when_the_callback_fails(void **state)
{
	struct fixture *fx = *state;
	struct got g = { .stop_at = 1 };

	write_file(fx->path, DELTA_HEADER "\n"
					  "1,ASSIGN,P1,101,lu-101,t1,,move-in,,2024-03-01,,,,\n"
					  "2,ASSIGN,P1,102,lu-102,t2,,move-in,,2024-03-01,,,,\n");
	assert_int_equal(delta_read(fx->path, collect, &g), -1);
	assert_int_equal(g.n, 1);
	assert_string_equal(err_msg(), "stop");
	got_free(&g);
}

static void delta_op_parse_and_name_agree(void **state)
{
	static const enum delta_op ops[] = { DELTA_USER_CREATE, DELTA_ASSIGN, DELTA_UNASSIGN };
	enum delta_op op;

	(void)state;
	assert_string_equal(delta_op_name(DELTA_USER_CREATE), "USER_CREATE");
	assert_string_equal(delta_op_name(DELTA_ASSIGN), "ASSIGN");
	assert_string_equal(delta_op_name(DELTA_UNASSIGN), "UNASSIGN");
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(delta_op_parse(delta_op_name(ops[i]), &op), 0);
		assert_int_equal(op, ops[i]);
	}
	assert_int_equal(delta_op_parse("DELETE", &op), -1);
	assert_int_equal(delta_op_parse("", &op), -1);
	assert_int_equal(delta_op_parse("ASSIGN ", &op), -1);
}

static void exceptions_writer_writes_exact_bytes(void **state)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(fp);
	exceptions_write_header(fp);
	exceptions_write_row(fp, "unmapped_unit", "P1", "101", "t0001",
			     "no Latch unit for '101', \"map\" it first");
	exceptions_write_row(fp, "bad_row", "P2", "", NULL, "line 7:\nmissing status");
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf, "kind,property_id,pms_unit_id,pms_person_id,detail\n"
				 "unmapped_unit,P1,101,t0001,\"no Latch unit for '101', "
				 "\"\"map\"\" it first\"\n"
				 "bad_row,P2,,,\"line 7:\nmissing status\"\n");
	free(buf);
}

static void exceptions_writer_keeps_formulas_from_spreadsheets(void **state)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(fp);
	exceptions_write_row(fp, "missing_contact", "P1", "=1+1", "@SUM(A1)",
			     "=HYPERLINK(\"http://x.example\",\"click\")");
	exceptions_write_row(fp, "missing_contact", "P1", "+44", "-7", "\tx");
	exceptions_write_row(fp, "missing_contact", "P1", "a=b", "", "ok - fine");
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf, "missing_contact,P1,'=1+1,'@SUM(A1),"
				 "\"'=HYPERLINK(\"\"http://x.example\"\",\"\"click\"\")\"\n"
				 "missing_contact,P1,'+44,'-7,'\tx\n"
				 "missing_contact,P1,a=b,,ok - fine\n");
	free(buf);
}

/* The whole of file PATH (relative to the source tree, where make runs
 * the tests), malloc'd; the test fails if it cannot be read. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(fp);
	assert_non_null(text);
	n = fread(text, 1, (1 << 20) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

static void every_reason_and_exception_kind_is_documented(void **state)
{
	const char *const *lists[] = { delta_reasons, exception_kinds };
	char *readme = slurp("README.md"), *man = slurp("docs/unitsync-transform.1");

	(void)state;
	for (size_t l = 0; l < 2; l++)
		for (const char *const *name = lists[l]; *name; name++) {
			char md[96], b[96], br[96];

			snprintf(md, sizeof(md), "| `%s` |", *name);
			snprintf(b, sizeof(b), ".B %s\n", *name);
			snprintf(br, sizeof(br), ".BR %s ", *name);
			if (!strstr(readme, md))
				fail_msg("README.md has no table row for '%s'", *name);
			if (l == 1 && !strstr(man, b) && !strstr(man, br))
				fail_msg("unitsync-transform(1) does not list '%s'", *name);
		}
	free(readme);
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_reason_and_exception_kind_is_documented),
		cmocka_unit_test(exceptions_writer_keeps_formulas_from_spreadsheets),
		cmocka_unit_test_setup_teardown(delta_read_gives_back_every_field_written, setup,
						teardown),
		cmocka_unit_test(delta_write_row_writes_exact_bytes),
		cmocka_unit_test_setup_teardown(delta_read_accepts_a_header_without_rows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_an_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_a_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_a_header_that_differs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_a_gap_in_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_seq_not_starting_at_one, setup,
						teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_an_unknown_op, setup, teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_a_wrong_field_count_naming_the_line,
						setup, teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_unassign_without_latch_user_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(delta_read_rejects_rows_lacking_required_fields,
						setup, teardown),
		cmocka_unit_test_setup_teardown(delta_read_counts_lines_of_multiline_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(delta_read_stops_when_the_callback_fails, setup,
						teardown),
		cmocka_unit_test(delta_op_parse_and_name_agree),
		cmocka_unit_test(exceptions_writer_writes_exact_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
