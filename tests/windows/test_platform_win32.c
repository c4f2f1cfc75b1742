/* Unit test of platform_win32.c's secret-file rule, run under wine by scripts/test-windows:
 * files whose DACL is set explicitly (SetSecurityInfo), not derived from unix mode bits.
 * Allowed: the owner, SYSTEM, Administrators; anyone else with any right is refused (as far
 * as wine can store a DACL: it maps them onto unix mode bits). Also the
 * stop request names and UTF-8 file names. Prints "N passed, N failed". */
#include "platform/platform.h"

#include <windows.h>

#include <aclapi.h>
#include <fcntl.h>
#include <io.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

/* Writes path and gives it the DACL of the SDDL string (protected: nothing inherited). */
static int make_file(const char *path, const char *sddl_dacl)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fputs("{\"token\": \"t\"}\n", f);
    fclose(f);
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl_dacl, SDDL_REVISION_1, &sd,
                                                              NULL))
        return -1;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
    DWORD rc = SetNamedSecurityInfoA(
        (char *)path, SE_FILE_OBJECT,
        DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL);
    LocalFree(sd);
    return rc == ERROR_SUCCESS ? 0 : -1;
}

static int check(const char *path, char *why, size_t len)
{
    int fd = bk_plat_open_read(path);
    if (fd < 0)
        return -2;
    int rc = bk_plat_secret_fd_private(fd, path, why, len);
    _close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[MAX_PATH], why[600];
    snprintf(path, sizeof path, "%s\\secret.json", dir);

    /* owner (OW), SYSTEM (SY), Administrators (BA), and a deny entry for Everyone: private */
    CHECK(make_file(path, "D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)(D;;FA;;;WD)") == 0);
    why[0] = '\0';
    CHECK(check(path, why, sizeof why) == 0);
    /* (Not here: a grant to Users or to the owner-rights SID alone. Wine keeps a file's
     * security as unix mode bits, owner and Everyone only, so it cannot hold such a DACL.) */
    /* Everyone: refused */
    CHECK(make_file(path, "D:P(A;;FA;;;OW)(A;;FR;;;WD)") == 0);
    why[0] = '\0';
    CHECK(check(path, why, sizeof why) == -1);
    CHECK(strstr(why, "is accessible by Everyone") != NULL);
    CHECK(strstr(why, "icacls") != NULL);

    /* names of the console events (which = event + 1) */
    CHECK(strcmp(bk_plat_stop_name(CTRL_C_EVENT + 1), "Ctrl+C") == 0);
    CHECK(strcmp(bk_plat_stop_name(CTRL_BREAK_EVENT + 1), "Ctrl+Break") == 0);
    CHECK(strcmp(bk_plat_stop_name(CTRL_CLOSE_EVENT + 1), "console close") == 0);
    CHECK(strcmp(bk_plat_stop_name(CTRL_SHUTDOWN_EVENT + 1), "shutdown") == 0);
    CHECK(strcmp(bk_plat_name(), "windows") == 0);

    /* a UTF-8 file name through bk_plat_fopen / bk_plat_open_read */
    snprintf(path, sizeof path, "%s\\\xc3\xa9t\xc3\xa9.txt", dir);
    FILE *f = bk_plat_fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("x\n", f);
        fclose(f);
    }
    int fd = bk_plat_open_read(path);
    CHECK(fd >= 0);
    if (fd >= 0)
        _close(fd);

    unsigned char r[16] = {0}, z[16] = {0};
    CHECK(bk_plat_random(r, sizeof r) == 0 && memcmp(r, z, sizeof r) != 0);
    int64_t m0 = bk_plat_monotonic_ms();
    bk_plat_sleep_ms(20);
    CHECK(bk_plat_monotonic_ms() - m0 >= 19);
    CHECK(bk_plat_realtime_ms() > INT64_C(1577836800000));

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
