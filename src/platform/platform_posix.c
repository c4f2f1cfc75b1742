/* POSIX side of the platform layer (see platform.h). */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t *g_stop_flag;
static volatile sig_atomic_t *g_stop_which;

void bk_plat_init(int *argc, char ***argv)
{
}

void bk_plat_exit(void)
{
}

static void on_signal(int sig)
{
    if (g_stop_which)
        *g_stop_which = sig;
    if (g_stop_flag)
        *g_stop_flag = 1;
}

void bk_plat_on_stop(volatile sig_atomic_t *stop, volatile sig_atomic_t *which)
{
    g_stop_flag = stop;
    g_stop_which = which;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a sleep or a read returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

const char *bk_plat_stop_name(int which)
{
    return which == SIGINT ? "SIGINT" : which == SIGTERM ? "SIGTERM" : "a signal";
}

void bk_plat_stop_done(void)
{
}

int64_t bk_plat_realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bk_plat_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bk_plat_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int bk_plat_random(unsigned char *b, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? 0 : -1;
}

long bk_plat_pid(void)
{
    return (long)getpid();
}

int bk_plat_secret_fd_private(int fd, const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(why, whylen, "%s is accessible by group or others (mode %04o); run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int bk_plat_open_read(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

FILE *bk_plat_fopen(const char *path, const char *mode)
{
    return fopen(path, mode);
}

const char *bk_plat_name(void)
{
    return "posix";
}

int bk_plat_run(char *const argv[], void (*out)(const char *b, size_t n, void *ud), void *ud,
                int *status, char *why, size_t whylen)
{
    int fds[2], errp[2];
    if (pipe(fds) != 0) {
        snprintf(why, whylen, "cannot create a pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe(errp) != 0) {
        snprintf(why, whylen, "cannot create a pipe: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(errp[i], F_SETFD, FD_CLOEXEC);
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "cannot fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        close(errp[0]);
        close(errp[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execvp(argv[0], argv);
        int e = errno; /* tell the parent why exec failed (the pipe closes on a good exec) */
        if (write(errp[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    close(fds[1]);
    close(errp[1]);
    char buf[4096];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n > 0) {
            out(buf, (size_t)n, ud);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    close(fds[0]);
    int e = 0;
    ssize_t got;
    do
        got = read(errp[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(errp[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof e) {
        snprintf(why, whylen, "cannot run %.200s: %s", argv[0], strerror(e));
        return -1;
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
    return 0;
}
