/* One-line log events on stderr, text or JSON, with secret redaction: every secret the
 * process learns (tokens, passwords, Basic credentials) is registered with log_add_secret()
 * and masked in every line, whatever code path tries to print it. Thread-safe. */
#ifndef BK_UTIL_LOG_H
#define BK_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_format(enum log_format fmt);
/* Register a secret (copied) to be masked as "***" in every later log line. Secrets shorter
 * than 4 bytes are ignored (masking "a" would shred every line). */
void log_add_secret(const char *secret);
/* Replace registered secrets, Authorization/Cookie header values, and the user-info and
 * query string of every URL in s (in place, s is NUL-terminated and never grows). */
void log_redact(char *s);
void log_clear_secrets(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_get_level() >= LOG_DEBUG)                                                          \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                                       \
    } while (0)

#endif
