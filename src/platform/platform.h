/* The platform layer: what differs between POSIX (Linux) and Windows, behind one small
 * interface. platform_posix.c or platform_win32.c is compiled in, chosen by CMake; nothing
 * else in src/ tests the operating system. */
#ifndef BK_PLATFORM_H
#define BK_PLATFORM_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Process start: on Windows, argv is replaced by the UTF-8 form of the wide command line
 * and the console input/output code page is set to UTF-8; stdout/stderr write "\n" line
 * endings as on Linux. A no-op on POSIX. */
void bk_plat_init(int *argc, char ***argv);
void bk_plat_exit(void);

/* Stop requests: SIGINT/SIGTERM on POSIX; Ctrl+C, Ctrl+Break, console close, logoff and
 * shutdown on Windows. Each sets *stop = 1 and *which to a request number, which
 * bk_plat_stop_name() turns into text ("SIGINT", "Ctrl+C", ...). The handler does not
 * restart interrupted calls: a sleep returns at once. */
void bk_plat_on_stop(volatile sig_atomic_t *stop, volatile sig_atomic_t *which);
const char *bk_plat_stop_name(int which);
/* Windows ends a process soon after a console close/shutdown request returns: the handler
 * waits (a few seconds at most) until the program says it has finished its cleanup. */
void bk_plat_stop_done(void);

/* Clocks (milliseconds) and one uninterruptible sleep of at most ms. */
int64_t bk_plat_realtime_ms(void);
int64_t bk_plat_monotonic_ms(void);
void bk_plat_sleep_ms(int64_t ms);

/* Fills b with n bytes from the system's random generator; -1 when there is none. */
int bk_plat_random(unsigned char *b, size_t n);
/* The process id (for seeds and log lines). */
long bk_plat_pid(void);

/* The "secret file readable by others" rule, on an open descriptor. 0 when only its owner
 * can get at it (POSIX: no group/other mode bits; Windows: the DACL grants nobody but the
 * owner, SYSTEM and Administrators), else -1 with a one-line reason and the fix in why. */
int bk_plat_secret_fd_private(int fd, const char *path, char *why, size_t whylen);

/* open(2) for reading a secret: binary, not inherited by children, no controlling tty. */
int bk_plat_open_read(const char *path);

/* fopen(3) of a UTF-8 path (Windows: through its wide form, whatever the ANSI code page). */
FILE *bk_plat_fopen(const char *path, const char *mode);

/* Run argv[0] (searched in PATH) with argv; its stdout and stderr go to out() as they come
 * (one pipe, so their order is kept) and the exit status (0..255; 128+N for a signal N) to
 * *status. 0, or -1 with a one-line reason in why when it could not be started. POSIX only
 * for now: the Windows build answers -1 ("not supported"). */
int bk_plat_run(char *const argv[], void (*out)(const char *b, size_t n, void *ud), void *ud,
                int *status, char *why, size_t whylen);

/* "windows" or "posix", for --help and --version. */
const char *bk_plat_name(void);

#endif
