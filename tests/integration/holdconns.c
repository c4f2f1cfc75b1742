/* A test helper for the connection limits of `backupctl serve` (tests/integration/serve.bats),
 * because CI has neither python3 nor nc:
 *
 *   holdconns hold HOST PORT N [SRC_IP]   open N idle TCP connections from SRC_IP (default:
 *                                         any), print "connected N", keep them open until
 *                                         SIGTERM/SIGINT, then print how many the server had
 *                                         closed meanwhile ("open K closed C").
 *   holdconns trickle HOST PORT MAXSEC [SRC_IP]
 *                                         send a request line and then one header byte every
 *                                         200 ms, never finishing the header; print "closed
 *                                         after S s" and exit 0 when the server closes the
 *                                         connection, or exit 1 after MAXSEC seconds.
 *
 * The soft file limit is raised to the hard one, so N can exceed the usual 1024. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long parse_long(const char *s, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || v < min || v > max) {
        fprintf(stderr, "holdconns: bad number \"%s\"\n", s);
        exit(2);
    }
    return v;
}

static int connect_from(const char *host, int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (src) {
        struct sockaddr_in me = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, src, &me.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
            close(fd);
            return -1;
        }
    }
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The peer closed (or reset) the connection. */
static bool peer_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int hold(const char *host, int port, long n, const char *src)
{
    int *fds = calloc((size_t)n, sizeof *fds);
    if (!fds)
        return 2;
    long ok = 0;
    for (long i = 0; i < n && !g_stop; i++) {
        fds[i] = connect_from(host, port, src);
        if (fds[i] >= 0)
            ok++;
        else
            fprintf(stderr, "holdconns: connection %ld: %s\n", i + 1, strerror(errno));
    }
    printf("connected %ld\n", ok);
    fflush(stdout);
    while (!g_stop)
        poll(NULL, 0, 200);
    long open_ = 0, closed = 0;
    for (long i = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        if (peer_closed(fds[i]))
            closed++;
        else
            open_++;
        close(fds[i]);
    }
    printf("open %ld closed %ld\n", open_, closed);
    free(fds);
    return ok == n ? 0 : 1;
}

static int trickle(const char *host, int port, long maxsec, const char *src)
{
    int fd = connect_from(host, port, src);
    if (fd < 0) {
        fprintf(stderr, "holdconns: connect: %s\n", strerror(errno));
        return 2;
    }
    double t0 = now_s();
    const char *line = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
        close(fd);
        return 2;
    }
    while (!g_stop && now_s() - t0 < (double)maxsec) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0 && peer_closed(fd))
            break;
        if (send(fd, "a", 1, MSG_NOSIGNAL) < 0)
            break; /* reset by the server */
    }
    double t = now_s() - t0;
    bool closed = t < (double)maxsec && !g_stop;
    if (closed)
        printf("closed after %.1f s\n", t);
    else
        printf("still open after %.1f s\n", t);
    close(fd);
    return closed ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 5 && strcmp(argv[1], "hold") == 0)
        return hold(argv[2], (int)parse_long(argv[3], 1, 65535), parse_long(argv[4], 1, 100000),
                    argc >= 6 ? argv[5] : NULL);
    if (argc >= 5 && strcmp(argv[1], "trickle") == 0)
        return trickle(argv[2], (int)parse_long(argv[3], 1, 65535), parse_long(argv[4], 1, 3600),
                       argc >= 6 ? argv[5] : NULL);
    fprintf(stderr,
            "usage: holdconns hold HOST PORT N [SRC_IP] | trickle HOST PORT MAXSEC [SRC_IP]\n");
    return 2;
}
