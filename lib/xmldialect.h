/*
 * xmldialect.h - the PMS XML exports unitsync reads, told apart by their
 * root element and its first children, and staged as one snapshot
 * (docs/ARCHITECTURE.md §2).  Read with the safe streaming reader of xmlsafe.h.
 *
 *   yardi-rt2         Yardi ResidentTransactions 2.0 (ItfResidentTransactions20
 *                     GetResidentTransactions*, GetResidentsLeaseCharges):
 *                     root ResidentTransactions; households (RT_Customer) with
 *                     their people (MITS 2.0 Customer) and unit.  Stages people
 *                     and their units.
 *   yardi-units       Yardi GetUnitInformation: root PhysicalProperty whose
 *                     Property holds RT_Customer rows, one per unit and lease
 *                     (a unit may have two); the CustomerID may be a
 *                     placeholder ("Vacant Unrented Not Ready").  Stages units
 *                     only.
 *   yardi-properties  Yardi GetPropertyConfigurations: root Properties, one
 *                     Property (Code, MarketingName) per PMS property.  Stages
 *                     nothing: the codes are listed for the operator.
 *   mits-ils          MITS ILS marketing feeds 3.0 and 4.x (root
 *                     PhysicalProperty, Property with PropertyID and ILS_Unit):
 *                     AppFolio, RentCafe, Vaultware, Property Solutions (Entrata),
 *                     Property Link, LeaseStar.  Stages units only: the unit id
 *                     as pms_unit_id, the unit's MarketingName as its label.
 *   envelope+D        any of the above inside another document (a SOAP or
 *                     ResMan envelope), either as elements or as the escaped
 *                     text of one element, which is read from memory with the
 *                     same safe reader.
 *
 * Properties: rows are staged as dialect_opts.property (--property P) when
 * it is given, else as the PMS property code the file names for them (rows
 * of no named property are then rejected).  A file may list several PMS
 * properties (ILS feeds usually do): dialect_opts.pms_property stages only
 * that one's rows, the others counting as skipped; without it, a file
 * naming two different properties is rejected when P is given (it would
 * stage two properties as one), and stages each as itself when not.
 *
 * Units are staged with dwelling = 0 when their economic status (or a Yardi
 * placeholder CustomerID) says they are no home (status_dwelling(),
 * status.h: the one vocabulary of every export; compare PARK01 and WAIT01
 * in the Yardi samples).
 * SSNs, birth dates, charges and rent are never read into a record.
 *
 * Errors: -1 with err_set(); the message names the file and the line.
 * Ownership: a dialect_doc owns its escaped document; release it with
 * dialect_doc_release().
 */
#ifndef UNITSYNC_XMLDIALECT_H
#define UNITSYNC_XMLDIALECT_H

#include "progress.h"
#include "stg.h"

#include <stddef.h>
#include <stdio.h>

struct dialect_ops;

/* What dialect_detect() found. */
struct dialect_doc {
	const struct dialect_ops *ops; /* the dialect's reader, static */
	char name[64];                 /* as recorded in the snapshot: "yardi-rt2",
				 * "envelope+yardi-rt2" */
	int unit_list;                 /* it stages units only, never people */
	int lists_properties;          /* it stages nothing: a list of PMS properties */
	char root[64];                 /* local name of the dialect's root element */
	int root_depth;                /* its depth, 1 for the document's root */
	char *inner;                   /* the escaped document (UTF-8), owned, or NULL */
	size_t inner_len;              /* its length in bytes */
	char inner_element[64];        /* the envelope element whose text it was */
	int inner_line;                /* that element's line in the file */
};

/* Tell the dialect of the file PATH; -1 with err_set() for a file that is
 * unreadable, malformed where read, or of no dialect above. */
int dialect_detect(const char *path, struct dialect_doc *doc);

/* Free what DOC owns; safe on a zeroed or released doc. */
void dialect_doc_release(struct dialect_doc *doc);

/* How to stage; strings borrowed. */
struct dialect_opts {
	const char *property;     /* --property: property_id of every staged row, or
				   * NULL: each row's PMS property code */
	const char *pms_property; /* the PMS property code to stage, or NULL */
	FILE *out;                /* where a property list is printed */
	/* called for every rejected row, e.g. to log it; may be NULL */
	void (*on_reject)(void *arg, const char *ref, const char *why);
	void *arg;
	struct progress *progress; /* bytes of the file read, or NULL (lib/progress) */
};

/* What the file held, beyond the staging counts of struct stg. */
struct dialect_result {
	long properties;    /* distinct PMS property codes seen */
	long records;       /* households, unit rows or property rows read */
	long skipped;       /* rows the dialect skipped (also counted in struct
			   * stg, with the unit rows listing a unit again) */
	int no_residents;   /* a resident dialect whose households hold no
			   * person (GetResidentsLeaseCharges): it says
			   * nothing about who lives where */
	int db_failed;      /* the error came from the database */
	int digested;       /* the file was read whole (not a document escaped
			   * in it): sha256 and bytes are set */
	char pms_code[128]; /* the PMS property code of the rows staged (with
			     * --pms-property, that one; else the first the
			     * file names), cut to fit; "" for none */
	char sha256[SHA256_HEX_LEN + 1];
	long long bytes;
};

/*
 * Read the file PATH of dialect DOC and stage its rows in S, which
 * stg_begin() opened; S may be NULL for a dialect that stages nothing
 * (lists_properties), which then only prints and counts.  Returns 0 or -1
 * with err_set() (RES->db_failed tells a database error from a bad file).
 */
int dialect_stage(const struct dialect_doc *doc, const char *path, struct stg *s,
		  const struct dialect_opts *o, struct dialect_result *res);

#endif
