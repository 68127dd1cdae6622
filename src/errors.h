/*
 * errors.h - the pipeline's one numbered error enum, its messages and its exit codes.
 *
 * Codes are a contract (logs, stage_run.error_code, tests): never renumber, only append.
 * perr_message() is a switch with no default, so the compiler flags a code without a message.
 * A function that fails returns an enum perr and, where it knows more, records the detail with
 * perr_set() ("file:line: what is wrong"); the top level prints perr_detail() once.
 */
#ifndef PIPELINE_ERRORS_H
#define PIPELINE_ERRORS_H

#include <stdarg.h>

enum perr {
	PERR_OK = 0,
	PERR_USAGE = 1,           /* bad command line */
	PERR_CONFIG = 2,          /* bad or unreadable configuration */
	PERR_NOT_AVAILABLE = 3,   /* an expected input has not arrived yet: retry later */
	PERR_LOCKED = 4,          /* another run holds the pipeline lock */
	PERR_IO = 5,              /* local file system */
	PERR_DB = 6,              /* PostgreSQL */
	PERR_PARSE = 7,           /* malformed input file */
	PERR_MONEY_FORMAT = 8,    /* an amount that is not a valid decimal for its currency */
	PERR_MONEY_OVERFLOW = 9,  /* arithmetic would overflow int64 minor units */
	PERR_CURRENCY = 10,       /* unknown or mismatched currency */
	PERR_DATE = 11,           /* an invalid date */
	PERR_IMPORT = 12,         /* ledger extract rejected */
	PERR_SSH_CONNECT = 13,    /* could not connect / connection lost */
	PERR_SSH_HOSTKEY = 14,    /* host key unknown or mismatched: nothing was attempted */
	PERR_SSH_AUTH = 15,       /* authentication refused */
	PERR_SSH_TIMEOUT = 16,    /* the server stopped answering */
	PERR_SFTP = 17,           /* an SFTP operation failed */
	PERR_REMOTE_CONFLICT = 18,/* remote file exists with different content: never overwritten */
	PERR_UNSAFE_NAME = 19,    /* remote name rejected (path characters, control characters) */
	PERR_TOO_LARGE = 20,      /* file over the configured size limit */
	PERR_GATE = 21,           /* a statement failed the completeness gate */
	PERR_CONSERVATION = 22,   /* a money/unit conservation check failed: nothing committed */
	PERR_REFUSED = 23,        /* an action refused by policy (four eyes, broken account) */
	PERR_NOT_FOUND = 24,      /* a named object does not exist */
	PERR_STATE = 25,          /* an object is not in a state that allows the action */
	PERR_NOMEM = 26,          /* out of memory */
	PERR_INTERNAL = 27,       /* a bug: an invariant did not hold */
	PERR_EXCEPTIONS = 28,     /* run completed with open error exceptions (--fail-on-exceptions) */
	PERR_REPORT = 29,         /* the report could not be written */
	PERR_INTERRUPTED = 30,    /* stopped by a signal */
	PERR_REMOTE_CHANGING = 42,/* a remote file changed while it was read: not taken, looked at again later */
	PERR_REMOTE_OVERRUN = 43, /* the server sent more bytes than it announced, or fewer and ended */
	PERR_LIMIT = 44,          /* a listing or transfer limit was exceeded (entries, bytes, time) */
};

/* Static text for a code; never NULL. */
const char *perr_message(enum perr code);

/* Process exit status for a code: 0, 1, 2, 3, 4 or 5 as documented in the README. */
int perr_exit_code(enum perr code);

/*
 * Records a detail message for the failure being returned and returns `code`, so that
 * `return perr_set(PERR_PARSE, "%s:%d: ...", ...)` reads naturally. The detail replaces any earlier one.
 */
enum perr perr_set(enum perr code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum perr perr_vset(enum perr code, const char *fmt, va_list ap);

/* The last detail recorded (empty string if none). Owned by this module; valid until the next perr_set. */
const char *perr_detail(void);
/* The code recorded with the last detail. */
enum perr perr_last(void);
/* Forget the last detail. */
void perr_clear(void);

#endif
