/* lifeboat — error reporting.
 *
 * Every library call returns 0 (or a count) on success and a negative
 * errno-style code on failure.  The human-readable reason is kept per thread:
 * the failing call formats it, callers up the stack may prefix context
 * ("pack 3fa2…: "), and the front end prints lb_errmsg() once.  lib/ never
 * prints and never exits. */
#ifndef LIFEBOAT_ERROR_H
#define LIFEBOAT_ERROR_H

#include <stdarg.h>

/* Codes beyond errno's range for conditions errno has no word for. */
enum {
	LB_E_CORRUPT  = 1000, /* bytes failed a length, magic or structure check */
	LB_E_AUTH     = 1001, /* AEAD or id check failed: damaged data or wrong key */
	LB_E_PASSWORD = 1002, /* no key file opens with this password */
	LB_E_VERSION  = 1003, /* written by a newer lifeboat */
	LB_E_BUSY     = 1004, /* a job lock is held by another process */
	LB_E_CANCELED = 1005, /* the caller asked the operation to stop */
	LB_E_NOTFOUND = 1006, /* no such snapshot, path or blob */
	LB_E_AMBIGUOUS = 1007, /* a prefix matches more than one snapshot */
};

/* Sets this thread's message and returns code (which should be negative). */
int lb_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like lb_err() but appends ": strerror(-code)" for errno codes. */
int lb_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with "<fmt>: " and returns code unchanged. */
int lb_err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* This thread's last message; "" when none was set. */
const char *lb_errmsg(void);
/* Forget this thread's message. */
void lb_err_clear(void);
/* Copy this thread's message into another thread's view (for worker errors). */
void lb_err_set_text(const char *msg);

/* A short word for a code: "corrupt data", "permission denied", ... */
const char *lb_strerror(int code);

#endif
