/* Test stub for the Windows submitter tests (tests/windows/vtom_bat.bats): a program that
 * records how it was called. Copied as tsend.exe, vtgestlog.exe and backupctl-rec.exe; NAME is
 * its own base name (without .exe). With NAME_LOG set, appends one line: its arguments joined
 * by spaces (as the sh stubs record "$*"); with NAME_ARGV set, writes one argument per line;
 * with NAME_ENV set, writes "token-env=set" or "token-env=" (whether HYCU_AUTH_TOKEN is set).
 * Arguments are the CRT's parse of the command line, in UTF-8. */
#include <windows.h>

#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = malloc(n > 0 ? (size_t)n : 1);
    if (!s)
        exit(99);
    s[0] = '\0';
    if (n > 0)
        WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

static FILE *open_env(const char *name, const char *suffix, const char *mode)
{
    char var[300];
    snprintf(var, sizeof var, "%s_%s", name, suffix);
    const char *p = getenv(var);
    return p && *p ? fopen(p, mode) : NULL;
}

int main(void)
{
    int argc = 0;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &argc);
    if (!wargv || argc < 1)
        return 98;
    char *self = utf8(wargv[0]);
    char *base = self;
    for (char *p = self; *p; p++)
        if (*p == '\\' || *p == '/')
            base = p + 1;
    char *dot = strrchr(base, '.');
    if (dot && _stricmp(dot, ".exe") == 0)
        *dot = '\0';
    for (char *p = base; *p; p++)
        if (*p == '-')
            *p = '_';
    FILE *f = open_env(base, "LOG", "ab");
    if (f) {
        for (int i = 1; i < argc; i++) {
            char *a = utf8(wargv[i]);
            fprintf(f, "%s%s", i > 1 ? " " : "", a);
            free(a);
        }
        fputc('\n', f);
        fclose(f);
    }
    f = open_env(base, "ARGV", "wb");
    if (f) {
        for (int i = 1; i < argc; i++) {
            char *a = utf8(wargv[i]);
            fprintf(f, "%s\n", a);
            free(a);
        }
        fclose(f);
    }
    f = open_env(base, "ENV", "wb");
    if (f) {
        const char *t = getenv("HYCU_AUTH_TOKEN");
        fprintf(f, "token-env=%s\n", t && *t ? "set" : "");
        fclose(f);
    }
    free(self);
    LocalFree(wargv);
    return 0;
}
