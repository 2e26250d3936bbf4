/* lifeboat — the library's only way to say something: a handler the front
 * end installs.  Without one, messages are dropped. */
#ifndef LIFEBOAT_LOG_H
#define LIFEBOAT_LOG_H

enum lb_log_level {
	LB_LOG_ERROR = 0,
	LB_LOG_WARN = 1,
	LB_LOG_INFO = 2,
	LB_LOG_DEBUG = 3,
};

typedef void (*lb_log_fn)(int level, const char *msg, void *ctx);

/* Installs the process-wide handler (NULL to drop messages). */
void lb_log_set_handler(lb_log_fn fn, void *ctx);

#endif
