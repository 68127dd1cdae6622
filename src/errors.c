/*
 * errors.c - messages and exit codes for enum perr, and the one "last error detail" buffer.
 */
#include "errors.h"

#include <stdio.h>
#include <string.h>

static char detail[2048];
static enum perr detail_code;

const char *
perr_message(enum perr code)
{
	switch (code) {
	case PERR_OK: return "success";
	case PERR_USAGE: return "usage error";
	case PERR_CONFIG: return "configuration error";
	case PERR_NOT_AVAILABLE: return "input not available yet";
	case PERR_LOCKED: return "another run holds the lock";
	case PERR_IO: return "file system error";
	case PERR_DB: return "database error";
	case PERR_PARSE: return "malformed input";
	case PERR_MONEY_FORMAT: return "invalid amount";
	case PERR_MONEY_OVERFLOW: return "amount overflow";
	case PERR_CURRENCY: return "unknown or mismatched currency";
	case PERR_DATE: return "invalid date";
	case PERR_IMPORT: return "ledger extract rejected";
	case PERR_SSH_CONNECT: return "could not connect to the SFTP server";
	case PERR_SSH_HOSTKEY: return "SSH host key not trusted";
	case PERR_SSH_AUTH: return "SSH authentication failed";
	case PERR_SSH_TIMEOUT: return "SFTP server timed out";
	case PERR_SFTP: return "SFTP operation failed";
	case PERR_REMOTE_CONFLICT: return "remote file exists with different content";
	case PERR_UNSAFE_NAME: return "unsafe file name";
	case PERR_TOO_LARGE: return "file too large";
	case PERR_GATE: return "statement failed the completeness gate";
	case PERR_CONSERVATION: return "conservation check failed";
	case PERR_REFUSED: return "refused";
	case PERR_NOT_FOUND: return "not found";
	case PERR_STATE: return "wrong state";
	case PERR_NOMEM: return "out of memory";
	case PERR_INTERNAL: return "internal error";
	case PERR_EXCEPTIONS: return "completed with open error exceptions";
	case PERR_REPORT: return "report could not be written";
	case PERR_INTERRUPTED: return "interrupted";
	case PERR_REMOTE_CHANGING: return "remote file changed while it was read";
	case PERR_REMOTE_OVERRUN: return "remote file size does not match what the server announced";
	case PERR_LIMIT: return "listing or transfer limit exceeded";
	}
	return "unknown error";
}

int
perr_exit_code(enum perr code)
{
	switch (code) {
	case PERR_OK: return 0;
	case PERR_USAGE:
	case PERR_CONFIG: return 2;
	case PERR_NOT_AVAILABLE: return 3;
	case PERR_LOCKED: return 4;
	case PERR_EXCEPTIONS: return 5;
	default: return 1;
	}
}

enum perr
perr_vset(enum perr code, const char *fmt, va_list ap)
{
	char tmp[sizeof detail];

	/* Format into a copy first: callers often pass perr_detail() itself as an argument. */
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	memcpy(detail, tmp, sizeof detail);
	detail_code = code;
	return code;
}

enum perr
perr_set(enum perr code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	perr_vset(code, fmt, ap);
	va_end(ap);
	return code;
}

const char *
perr_detail(void)
{
	return detail;
}

enum perr
perr_last(void)
{
	return detail_code;
}

void
perr_clear(void)
{
	detail[0] = '\0';
	detail_code = PERR_OK;
}
