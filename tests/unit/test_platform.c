/* Unit tests of the POSIX platform layer (src/platform/platform_posix.c): the secret-file
 * privacy rule on a descriptor, stop request names and flags, clocks, sleeps, random bytes,
 * UTF-8 fopen. (platform_win32.c runs under wine: tests/integration/backup_matrix.bats.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "platform/platform.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[] = "/tmp/bk-plat.XXXXXX";

static int fd_with_mode(const char *name, mode_t mode, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("s3cret\n", f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    int fd = bk_plat_open_read(path);
    assert_true(fd >= 0);
    return fd;
}

static void test_secret_private(void **state)
{
    char path[256], why[600];
    int fd = fd_with_mode("owner-only", 0600, path, sizeof path);
    assert_int_equal(bk_plat_secret_fd_private(fd, path, why, sizeof why), 0);
    close(fd);
    fd = fd_with_mode("owner-ro", 0400, path, sizeof path);
    assert_int_equal(bk_plat_secret_fd_private(fd, path, why, sizeof why), 0);
    close(fd);
}

static void test_secret_shared(void **state)
{
    static const mode_t modes[] = {0640, 0604, 0610, 0644, 0660, 0601};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char path[256], why[600] = "";
        int fd = fd_with_mode("shared", modes[i], path, sizeof path);
        assert_int_equal(bk_plat_secret_fd_private(fd, path, why, sizeof why), -1);
        close(fd);
        char mode[16];
        snprintf(mode, sizeof mode, "(mode %04o)", (unsigned)modes[i]);
        assert_non_null(strstr(why, "is accessible by group or others"));
        assert_non_null(strstr(why, mode));
        assert_non_null(strstr(why, "run: chmod 600 "));
        assert_non_null(strstr(why, path));
    }
}

static void test_stop_requests(void **state)
{
    static volatile sig_atomic_t stop, which;
    stop = 0;
    which = 0;
    bk_plat_on_stop(&stop, &which);
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(stop, 1);
    assert_int_equal(which, SIGTERM);
    assert_string_equal(bk_plat_stop_name(which), "SIGTERM");
    stop = 0;
    assert_int_equal(raise(SIGINT), 0);
    assert_int_equal(stop, 1);
    assert_string_equal(bk_plat_stop_name(which), "SIGINT");
    assert_string_equal(bk_plat_stop_name(0), "a signal");
    bk_plat_stop_done();
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

static void test_clocks_and_sleep(void **state)
{
    int64_t m0 = bk_plat_monotonic_ms();
    bk_plat_sleep_ms(20);
    int64_t m1 = bk_plat_monotonic_ms();
    assert_true(m1 - m0 >= 20); /* a sleep lasts at least what it was asked */
    bk_plat_sleep_ms(0);
    bk_plat_sleep_ms(-5);
    /* realtime: after 2020-01-01, in ms */
    assert_true(bk_plat_realtime_ms() > INT64_C(1577836800000));
}

static void test_random_and_pid(void **state)
{
    unsigned char a[32], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    assert_int_equal(bk_plat_random(a, sizeof a), 0);
    assert_int_equal(bk_plat_random(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(bk_plat_pid(), (long)getpid());
    assert_string_equal(bk_plat_name(), "posix");
}

static void test_fopen_utf8(void **state)
{
    char path[256];
    snprintf(path, sizeof path, "%s/rapport-\xc3\xa9t\xc3\xa9.txt", g_dir);
    FILE *f = bk_plat_fopen(path, "wb");
    assert_non_null(f);
    fputs("ok\n", f);
    fclose(f);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((int)st.st_size, 3);
    unlink(path);
}

int main(void)
{
    if (!mkdtemp(g_dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_private), cmocka_unit_test(test_secret_shared),
        cmocka_unit_test(test_stop_requests),  cmocka_unit_test(test_clocks_and_sleep),
        cmocka_unit_test(test_random_and_pid), cmocka_unit_test(test_fopen_utf8),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
