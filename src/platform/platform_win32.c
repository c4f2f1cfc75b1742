/* Windows side of the platform layer (see platform.h), for the mingw-w64 cross build. */
#include "platform/platform.h"

#include <windows.h>

#include <aclapi.h>
#include <bcrypt.h>
#include <fcntl.h>
#include <io.h>
#include <sddl.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request numbers for *which: the console control events. */
static volatile sig_atomic_t *g_stop_flag;
static volatile sig_atomic_t *g_stop_which;
static HANDLE g_done_event;
static char **g_argv;
static int g_argc;
static UINT g_old_cp, g_old_out_cp;

void bk_plat_init(int *argc, char ***argv)
{
    g_old_cp = GetConsoleCP();
    g_old_out_cp = GetConsoleOutputCP();
    SetConsoleCP(CP_UTF8);
    SetConsoleOutputCP(CP_UTF8);
    /* "\n" stays "\n": the same report bytes as on Linux, whatever reads them. */
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    int n = 0;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    if (!w)
        return;
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v) {
        LocalFree(w);
        return;
    }
    for (int i = 0; i < n; i++) {
        int len = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
        v[i] = malloc(len > 0 ? (size_t)len : 1);
        if (!v[i]) {
            for (int k = 0; k < i; k++)
                free(v[k]);
            free(v);
            LocalFree(w);
            return;
        }
        v[i][0] = '\0';
        if (len > 0)
            WideCharToMultiByte(CP_UTF8, 0, w[i], -1, v[i], len, NULL, NULL);
    }
    LocalFree(w);
    g_argv = v;
    g_argc = n;
    *argc = n;
    *argv = v;
}

void bk_plat_exit(void)
{
    fflush(stdout);
    fflush(stderr);
    if (g_old_out_cp)
        SetConsoleOutputCP(g_old_out_cp);
    if (g_old_cp)
        SetConsoleCP(g_old_cp);
    if (g_argv) {
        for (int i = 0; i < g_argc; i++)
            free(g_argv[i]);
        free(g_argv);
        g_argv = NULL;
    }
}

static BOOL WINAPI on_console_event(DWORD ev)
{
    switch (ev) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
        if (g_stop_which)
            *g_stop_which = (sig_atomic_t)(ev + 1);
        if (g_stop_flag)
            *g_stop_flag = 1;
        return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        if (g_stop_which)
            *g_stop_which = (sig_atomic_t)(ev + 1);
        if (g_stop_flag)
            *g_stop_flag = 1;
        /* The process ends when this returns: give the main thread its cleanup (the
         * optional remote cancel, the report) within Windows' grace period (~5 s). */
        if (g_done_event)
            WaitForSingleObject(g_done_event, 4500);
        return TRUE;
    default:
        return FALSE;
    }
}

void bk_plat_on_stop(volatile sig_atomic_t *stop, volatile sig_atomic_t *which)
{
    g_stop_flag = stop;
    g_stop_which = which;
    if (!g_done_event)
        g_done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    SetConsoleCtrlHandler(on_console_event, TRUE);
}

const char *bk_plat_stop_name(int which)
{
    switch (which - 1) {
    case CTRL_C_EVENT:
        return "Ctrl+C";
    case CTRL_BREAK_EVENT:
        return "Ctrl+Break";
    case CTRL_CLOSE_EVENT:
        return "console close";
    case CTRL_LOGOFF_EVENT:
        return "logoff";
    case CTRL_SHUTDOWN_EVENT:
        return "shutdown";
    default:
        return "a stop request";
    }
}

void bk_plat_stop_done(void)
{
    fflush(stdout);
    fflush(stderr);
    if (g_done_event)
        SetEvent(g_done_event);
}

int64_t bk_plat_realtime_ms(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    ULARGE_INTEGER u = {.LowPart = ft.dwLowDateTime, .HighPart = ft.dwHighDateTime};
    /* 100 ns ticks since 1601-01-01 -> ms since 1970-01-01. */
    return (int64_t)(u.QuadPart / 10000ULL) - INT64_C(11644473600000);
}

int64_t bk_plat_monotonic_ms(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER c;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    return (int64_t)(c.QuadPart / freq.QuadPart * 1000 +
                     c.QuadPart % freq.QuadPart * 1000 / freq.QuadPart);
}

void bk_plat_sleep_ms(int64_t ms)
{
    if (ms > 0)
        Sleep((DWORD)ms);
}

int bk_plat_random(unsigned char *b, size_t n)
{
    NTSTATUS st = BCryptGenRandom(NULL, b, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    return st == 0 ? 0 : -1;
}

long bk_plat_pid(void)
{
    return (long)GetCurrentProcessId();
}

/* Whether sid is one of those allowed in a secret file's DACL. */
static int allowed_sid(PSID sid, PSID owner)
{
    if (owner && EqualSid(sid, owner))
        return 1;
    return IsWellKnownSid(sid, WinLocalSystemSid) ||
           IsWellKnownSid(sid, WinBuiltinAdministratorsSid) ||
           IsWellKnownSid(sid, WinCreatorOwnerSid);
}

static void sid_text(PSID sid, char *out, size_t outlen)
{
    char name[128], dom[128];
    DWORD nl = sizeof name, dl = sizeof dom;
    SID_NAME_USE use;
    if (LookupAccountSidA(NULL, sid, name, &nl, dom, &dl, &use)) {
        snprintf(out, outlen, "%s%s%s", dom, *dom ? "\\" : "", name);
        return;
    }
    char *s = NULL;
    if (ConvertSidToStringSidA(sid, &s)) {
        snprintf(out, outlen, "%s", s);
        LocalFree(s);
        return;
    }
    snprintf(out, outlen, "an unknown account");
}

int bk_plat_secret_fd_private(int fd, const char *path, char *why, size_t whylen)
{
    HANDLE fh = (HANDLE)_get_osfhandle(fd);
    if (fh == INVALID_HANDLE_VALUE) {
        snprintf(why, whylen, "cannot inspect %s", path);
        return -1;
    }
    PSID owner = NULL;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD rc =
        GetSecurityInfo(fh, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                        &owner, NULL, &dacl, NULL, &sd);
    if (rc != ERROR_SUCCESS) {
        snprintf(why, whylen, "cannot read the permissions of %s (error %lu)", path,
                 (unsigned long)rc);
        return -1;
    }
    int ok = 0;
    char who[300] = "";
    if (!dacl) {
        snprintf(who, sizeof who, "Everyone (no DACL)");
    } else {
        ok = 1;
        for (DWORD i = 0; i < dacl->AceCount && ok; i++) {
            ACE_HEADER *ace = NULL;
            if (!GetAce(dacl, i, (void **)&ace))
                continue;
            if (ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
                continue; /* deny entries only take rights away */
            ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)ace;
            PSID sid = (PSID)&a->SidStart;
            if (a->Mask && !allowed_sid(sid, owner)) {
                ok = 0;
                sid_text(sid, who, sizeof who);
            }
        }
    }
    LocalFree(sd);
    if (ok)
        return 0;
    snprintf(why, whylen,
             "%s is accessible by %s, not only by its owner, SYSTEM and Administrators; run: "
             "icacls \"%s\" /inheritance:r /grant:r \"%%USERNAME%%:R\"",
             path, who, path);
    return -1;
}

int bk_plat_open_read(const char *path)
{
    /* path is UTF-8 (bk_plat_init): open it through its wide form. */
    int len = MultiByteToWideChar(CP_UTF8, 0, path, -1, NULL, 0);
    if (len <= 0)
        return _open(path, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
    wchar_t *w = malloc((size_t)len * sizeof *w);
    if (!w)
        return -1;
    MultiByteToWideChar(CP_UTF8, 0, path, -1, w, len);
    int fd = _wopen(w, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
    free(w);
    return fd;
}

static wchar_t *wide(const char *s)
{
    int len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (len <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)len * sizeof *w);
    if (w)
        MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, len);
    return w;
}

FILE *bk_plat_fopen(const char *path, const char *mode)
{
    wchar_t *wp = wide(path), *wm = wide(mode);
    FILE *f = wp && wm ? _wfopen(wp, wm) : fopen(path, mode);
    free(wp);
    free(wm);
    return f;
}

const char *bk_plat_name(void)
{
    return "windows";
}

int bk_plat_run(char *const argv[], void (*out)(const char *b, size_t n, void *ud), void *ud,
                int *status, char *why, size_t whylen)
{
    (void)argv;
    (void)out;
    (void)ud;
    (void)status;
    snprintf(why, whylen, "running a command is not supported on Windows yet");
    return -1;
}
