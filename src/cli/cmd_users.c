/* `user add|passwd|del|list` and `token add|list|revoke`: the command-line face of auth/.
 * Passwords come from a private file (first line) or standard input (first line; asked twice
 * without echo on a terminal) and are wiped from our buffers after use. A new API token is the
 * only thing `token add` writes to stdout, so `TOKEN=$(backupctl token add …)` just works; it
 * is never shown again (only its SHA-256 is stored). Exit 0 on success, 1 on any error. */
#include "cli/cmd_users.h"

#include "auth/auth.h"
#include "config/config.h"
#include "secrets/secretfile.h"
#include "store/store.h"
#include "util/err.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* auth/ refuses longer passwords; the buffer holds one more to tell "too long". */
#define PW_BUF 1100

/* ---- option parsing ----------------------------------------------------------------------- */

struct uopts {
    const char *config;
    const char *role;
    const char *password_file;
    const char *user;
    const char *name;
    const char *arg; /* the one positional argument (NAME or ID), if any */
};

enum { O_CONFIG = 300, O_ROLE, O_PWFILE, O_USER, O_NAME, O_HELP };

/* cmd is "user add" etc.; allowed lists the options that apply; nargs is 0 or 1 positional
 * arguments, named argname in messages. 0 ok, -1 help printed, 1 usage error (printed). */
static int parse(int argc, char **argv, const char *cmd, const char *allowed, int nargs,
                 const char *argname, const char *usage, struct uopts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"role", required_argument, NULL, O_ROLE},
        {"password-file", required_argument, NULL, O_PWFILE},
        {"user", required_argument, NULL, O_USER},
        {"name", required_argument, NULL, O_NAME},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->config = config_default_path();
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *p = opts; p->name; p++)
            if (p->val == c)
                name = p->name;
        if (name && c != O_HELP && !strstr(allowed, name)) {
            fprintf(stderr, "backupctl %s: --%s does not apply here (see 'backupctl %s --help')\n",
                    cmd, name, cmd);
            return 1;
        }
        switch (c) {
        case O_CONFIG:
            o->config = optarg;
            break;
        case O_ROLE:
            o->role = optarg;
            break;
        case O_PWFILE:
            o->password_file = optarg;
            break;
        case O_USER:
            o->user = optarg;
            break;
        case O_NAME:
            o->name = optarg;
            break;
        case O_HELP:
        case 'h':
            fputs(usage, stdout);
            return -1;
        case ':':
            fprintf(stderr, "backupctl %s: %s needs a value (see 'backupctl %s --help')\n", cmd,
                    argv[optind - 1], cmd);
            return 1;
        default:
            fprintf(stderr, "backupctl %s: unknown option \"%s\" (see 'backupctl %s --help')\n",
                    cmd, argv[optind - 1], cmd);
            return 1;
        }
    }
    int left = argc - optind;
    if (left < nargs) {
        fprintf(stderr, "backupctl %s: missing %s (see 'backupctl %s --help')\n", cmd, argname,
                cmd);
        return 1;
    }
    if (left > nargs) {
        fprintf(stderr, "backupctl %s: unexpected argument \"%s\" (see 'backupctl %s --help')\n",
                cmd, argv[optind + nargs], cmd);
        return 1;
    }
    if (nargs)
        o->arg = argv[optind];
    return 0;
}

/* Load the config, start libsodium and open (creating/migrating) the store. */
static int open_store(const char *cmd, const struct uopts *o, struct bk_config **cfg,
                      struct bk_store **store)
{
    struct bk_err err = {0};
    *cfg = NULL;
    *store = NULL;
    if (auth_init() < 0) {
        fprintf(stderr, "backupctl %s: libsodium failed to initialise\n", cmd);
        return -1;
    }
    if (config_load(o->config, cfg, &err) < 0) {
        fprintf(stderr, "backupctl %s: %s\n", cmd, err.msg);
        return -1;
    }
    if (store_open(*cfg, store, &err) < 0) {
        fprintf(stderr, "backupctl %s: %s\n", cmd, err.msg);
        config_free(*cfg);
        *cfg = NULL;
        return -1;
    }
    return 0;
}

static void close_store(struct bk_config *cfg, struct bk_store *store)
{
    store_close(store);
    config_free(cfg);
}

/* ---- passwords ---------------------------------------------------------------------------- */

static void secret_free(char *s, size_t cap)
{
    if (s) {
        sodium_memzero(s, cap);
        free(s);
    }
}

/* Read one line from fd without stdio (no copies left in a FILE buffer). n characters stored,
 * the newline and a trailing CR dropped. 0, or -BK_EIO / -BK_ETOOBIG / -BK_EINVAL (no line). */
static int read_line(int fd, char *buf, size_t cap, struct bk_err *err)
{
    size_t n = 0;
    bool any = false;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return bk_err_set(err, BK_EIO, "cannot read standard input: %s", strerror(errno));
        if (r == 0 || ch == '\n')
            break;
        any = true;
        if (n + 1 >= cap) {
            sodium_memzero(buf, cap);
            return bk_err_set(err, BK_ETOOBIG, "password longer than %d characters", PW_BUF - 2);
        }
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (!any)
        return bk_err_set(err, BK_EINVAL, "no password on standard input");
    return 0;
}

static struct termios g_tty_saved;
static volatile sig_atomic_t g_tty_echo_off;

/* Interrupted while echo is off: give the terminal back before dying of the signal. */
static void tty_on_signal(int sig)
{
    if (g_tty_echo_off)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int prompt_noecho(const char *prompt, char *buf, size_t cap, struct bk_err *err)
{
    if (tcgetattr(STDIN_FILENO, &g_tty_saved) < 0)
        return bk_err_set(err, BK_EIO, "cannot read the terminal settings: %s", strerror(errno));
    struct termios t = g_tty_saved;
    t.c_lflag &= ~(tcflag_t)ECHO;
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tty_on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    fputs(prompt, stderr);
    fflush(stderr);
    g_tty_echo_off = 1;
    int rc = 0;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
        rc = bk_err_set(err, BK_EIO, "cannot turn off echo: %s", strerror(errno));
    if (rc == 0)
        rc = read_line(STDIN_FILENO, buf, cap, err);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_tty_saved);
    g_tty_echo_off = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    fputc('\n', stderr);
    return rc;
}

/* The new password into *out (PW_BUF bytes; release with secret_free(*out, PW_BUF)). */
static int read_password(const char *file, char **out, struct bk_err *err)
{
    *out = NULL;
    int rc;
    char *pw = xcalloc(1, PW_BUF);
    if (file) {
        char *raw = NULL;
        size_t len = 0;
        if ((rc = secretfile_read(file, "--password-file", &raw, &len, err)) < 0)
            goto out;
        size_t first = strcspn(raw, "\r\n");
        if (first >= PW_BUF - 1)
            rc = bk_err_set(err, BK_ETOOBIG,
                            "--password-file: %s: password longer than %d "
                            "characters",
                            file, PW_BUF - 2);
        else if (first == 0)
            rc = bk_err_set(err, BK_EINVAL, "--password-file: %s: the first line is empty", file);
        else
            memcpy(pw, raw, first);
        secret_free(raw, len);
    } else if (isatty(STDIN_FILENO)) {
        char *again = xcalloc(1, PW_BUF);
        rc = prompt_noecho("New password: ", pw, PW_BUF, err);
        if (rc == 0)
            rc = prompt_noecho("Retype new password: ", again, PW_BUF, err);
        if (rc == 0 && strcmp(pw, again) != 0)
            rc = bk_err_set(err, BK_EINVAL, "the passwords do not match");
        secret_free(again, PW_BUF);
    } else {
        rc = read_line(STDIN_FILENO, pw, PW_BUF, err);
    }
out:
    if (rc < 0)
        secret_free(pw, PW_BUF);
    else
        *out = pw;
    return rc;
}

/* ---- user ----------------------------------------------------------------------------------- */

static const char USER_USAGE[] =
    "Usage: backupctl user add NAME --role admin|operator|viewer [--password-file F] "
    "[--config F]\n"
    "       backupctl user passwd NAME [--password-file F] [--config F]\n"
    "       backupctl user del NAME [--config F]\n"
    "       backupctl user list [--config F]\n"
    "\n"
    "Manage the users of the web UI and JSON API. Names are 1-64 characters of letters,\n"
    "digits and . _ @ -; passwords at least 8 characters. The password is the first line of\n"
    "--password-file (which must not be readable by group or others) or of standard input;\n"
    "on a terminal it is asked twice without echo. Deleting a user deletes its API tokens and\n"
    "ends its sessions; changing a password ends its sessions. Every change is audited.\n"
    "Exit status: 0 done, 1 error.\n";

static const char USER_ADD_USAGE[] =
    "Usage: backupctl user add NAME --role admin|operator|viewer [--password-file F] "
    "[--config F]\n"
    "\n"
    "Create a web user. The password is the first line of --password-file (mode 0600) or\n"
    "of standard input (asked twice without echo on a terminal). Prints\n"
    "  user NAME added (role ROLE)\n"
    "Exit status: 0 added, 1 error (bad name, role or password, or the user exists).\n";

static const char USER_PASSWD_USAGE[] =
    "Usage: backupctl user passwd NAME [--password-file F] [--config F]\n"
    "\n"
    "Set a user's password (read as for 'user add') and end the user's browser sessions.\n"
    "Exit status: 0 changed, 1 error.\n";

static const char USER_DEL_USAGE[] = "Usage: backupctl user del NAME [--config F]\n"
                                     "\n"
                                     "Delete a user, its API tokens and its browser sessions.\n"
                                     "Exit status: 0 deleted, 1 error (no such user).\n";

static const char USER_LIST_USAGE[] = "Usage: backupctl user list [--config F]\n"
                                      "\n"
                                      "List the users: NAME ROLE CREATED (UTC).\n"
                                      "Exit status: 0, 1 error.\n";

struct find_user {
    const char *name;
    bool found;
};

static int find_user_cb(int64_t id, const char *name, enum bk_role role, int64_t created_at,
                        void *ud)
{
    struct find_user *f = ud;
    if (strcmp(name, f->name) == 0) {
        f->found = true;
        return 1;
    }
    return 0;
}

static int user_add_or_passwd(int argc, char **argv, bool add)
{
    const char *cmd = add ? "user add" : "user passwd";
    struct uopts o;
    int rc = parse(argc, argv, cmd, add ? "config role password-file" : "config password-file", 1,
                   "NAME", add ? USER_ADD_USAGE : USER_PASSWD_USAGE, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    struct bk_err err = {0};
    enum bk_role role = BK_ROLE_VIEWER;
    if (add && !o.role) {
        fprintf(stderr,
                "backupctl %s: --role is required: admin, operator or viewer (see 'backupctl "
                "%s --help')\n",
                cmd, cmd);
        return 1;
    }
    if (add && bk_role_parse(o.role, &role) < 0) {
        fprintf(stderr, "backupctl %s: --role: unknown role \"%s\" (admin, operator or viewer)\n",
                cmd, o.role);
        return 1;
    }
    if (auth_check_user_name(o.arg, &err) < 0) {
        fprintf(stderr, "backupctl %s: %s\n", cmd, err.msg);
        return 1;
    }
    struct bk_config *cfg;
    struct bk_store *store;
    if (open_store(cmd, &o, &cfg, &store) < 0)
        return 1;
    /* Say so before asking for a password that would be typed for nothing. */
    struct find_user f = {o.arg, false};
    if (auth_user_each(store, find_user_cb, &f, &err) < 0) {
        fprintf(stderr, "backupctl %s: %s\n", cmd, err.msg);
        close_store(cfg, store);
        return 1;
    }
    if (add && f.found) {
        fprintf(stderr, "backupctl %s: user \"%s\" already exists\n", cmd, o.arg);
        close_store(cfg, store);
        return 1;
    }
    if (!add && !f.found) {
        fprintf(stderr, "backupctl %s: no user \"%s\"\n", cmd, o.arg);
        close_store(cfg, store);
        return 1;
    }
    char *pw = NULL;
    if (read_password(o.password_file, &pw, &err) < 0) {
        fprintf(stderr, "backupctl %s: %s\n", cmd, err.msg);
        close_store(cfg, store);
        return 1;
    }
    rc = add ? auth_user_add(store, o.arg, role, pw, &err)
             : auth_user_passwd(store, o.arg, pw, &err);
    secret_free(pw, PW_BUF);
    if (rc < 0)
        fprintf(stderr, "backupctl %s: %s\n", cmd, err.msg);
    else if (add)
        printf("user %s added (role %s)\n", o.arg, bk_role_name(role));
    else
        printf("password of user %s changed\n", o.arg);
    close_store(cfg, store);
    return rc < 0 ? 1 : 0;
}

static int user_del(int argc, char **argv)
{
    struct uopts o;
    int rc = parse(argc, argv, "user del", "config", 1, "NAME", USER_DEL_USAGE, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    struct bk_config *cfg;
    struct bk_store *store;
    if (open_store("user del", &o, &cfg, &store) < 0)
        return 1;
    struct bk_err err = {0};
    rc = auth_user_del(store, o.arg, &err);
    if (rc < 0)
        fprintf(stderr, "backupctl user del: %s\n", err.msg);
    else
        printf("user %s deleted\n", o.arg);
    close_store(cfg, store);
    return rc < 0 ? 1 : 0;
}

struct user_line {
    char *name;
    enum bk_role role;
    int64_t created_at;
};

struct user_lines {
    struct user_line *v;
    size_t n, cap;
    int width;
};

static int collect_user_cb(int64_t id, const char *name, enum bk_role role, int64_t created_at,
                           void *ud)
{
    struct user_lines *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (struct user_line){xstrdup(name), role, created_at};
    if ((int)strlen(name) > l->width)
        l->width = (int)strlen(name);
    return 0;
}

static int user_list(int argc, char **argv)
{
    struct uopts o;
    int rc = parse(argc, argv, "user list", "config", 0, NULL, USER_LIST_USAGE, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    struct bk_config *cfg;
    struct bk_store *store;
    if (open_store("user list", &o, &cfg, &store) < 0)
        return 1;
    struct bk_err err = {0};
    struct user_lines l = {.width = 4};
    rc = auth_user_each(store, collect_user_cb, &l, &err);
    if (rc < 0) {
        fprintf(stderr, "backupctl user list: %s\n", err.msg);
    } else {
        printf("%-*s  %-8s  %s\n", l.width, "NAME", "ROLE", "CREATED");
        for (size_t i = 0; i < l.n; i++) {
            char when[32];
            bk_iso8601(l.v[i].created_at, when, sizeof when);
            printf("%-*s  %-8s  %s\n", l.width, l.v[i].name, bk_role_name(l.v[i].role), when);
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
    close_store(cfg, store);
    return rc < 0 ? 1 : 0;
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2) {
        fputs("backupctl user: missing subcommand: add, passwd, del or list (see 'backupctl user "
              "--help')\n",
              stderr);
        return 1;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(USER_USAGE, stdout);
        return 0;
    }
    if (strcmp(sub, "add") == 0)
        return user_add_or_passwd(argc - 1, argv + 1, true);
    if (strcmp(sub, "passwd") == 0)
        return user_add_or_passwd(argc - 1, argv + 1, false);
    if (strcmp(sub, "del") == 0)
        return user_del(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return user_list(argc - 1, argv + 1);
    fprintf(stderr,
            "backupctl user: unknown subcommand \"%s\": add, passwd, del or list (see "
            "'backupctl user --help')\n",
            sub);
    return 1;
}

/* ---- token ---------------------------------------------------------------------------------- */

static const char TOKEN_USAGE[] =
    "Usage: backupctl token add --user NAME [--name LABEL] [--config F]\n"
    "       backupctl token list [--user NAME] [--config F]\n"
    "       backupctl token revoke ID [--config F]\n"
    "\n"
    "Manage API tokens (HTTP 'Authorization: Bearer TOKEN'; a token acts with its user's\n"
    "role). 'token add' prints the new token, and only it, on stdout: it is shown once and\n"
    "only its SHA-256 is stored. 'token list' never shows tokens. Every change is audited.\n"
    "Exit status: 0 done, 1 error.\n";

static const char TOKEN_ADD_USAGE[] =
    "Usage: backupctl token add --user NAME [--name LABEL] [--config F]\n"
    "\n"
    "Create an API token for user NAME and print it (one line, starting \"bk_\") on stdout.\n"
    "It is shown once: store it now. LABEL (up to 128 characters) says what it is for.\n"
    "Exit status: 0 created, 1 error (no such user).\n";

static const char TOKEN_LIST_USAGE[] =
    "Usage: backupctl token list [--user NAME] [--config F]\n"
    "\n"
    "List API tokens (never the tokens themselves): ID USER LABEL CREATED LAST-USED REVOKED\n"
    "(UTC; \"-\" = never). Exit status: 0, 1 error.\n";

static const char TOKEN_REVOKE_USAGE[] =
    "Usage: backupctl token revoke ID [--config F]\n"
    "\n"
    "Revoke the API token ID (see 'token list'); it is refused from then on. Revoking a\n"
    "revoked token changes nothing. Exit status: 0 revoked, 1 error (no such token).\n";

static int token_add(int argc, char **argv)
{
    struct uopts o;
    int rc = parse(argc, argv, "token add", "config user name", 0, NULL, TOKEN_ADD_USAGE, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    if (!o.user) {
        fputs("backupctl token add: --user is required (see 'backupctl token add --help')\n",
              stderr);
        return 1;
    }
    struct bk_config *cfg;
    struct bk_store *store;
    if (open_store("token add", &o, &cfg, &store) < 0)
        return 1;
    struct bk_err err = {0};
    char *token = NULL;
    int64_t id = 0;
    rc = auth_token_add(store, o.user, o.name, &token, &id, &err);
    if (rc < 0) {
        fprintf(stderr, "backupctl token add: %s\n", err.msg);
    } else {
        printf("%s\n", token);
        fflush(stdout);
        fprintf(stderr,
                "backupctl token add: token %lld for user %s created; it is shown only once, "
                "store it now\n",
                (long long)id, o.user);
        secret_free(token, strlen(token));
    }
    close_store(cfg, store);
    return rc < 0 ? 1 : 0;
}

struct token_line {
    int64_t id, created_at, last_used_at, revoked_at;
    char *user, *label;
};

struct token_lines {
    struct token_line *v;
    size_t n, cap;
    int wuser, wlabel;
};

static int collect_token_cb(int64_t id, const char *user, const char *label, int64_t created_at,
                            int64_t last_used_at, int64_t revoked_at, void *ud)
{
    struct token_lines *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    const char *lab = label && *label ? label : "-";
    l->v[l->n++] =
        (struct token_line){id, created_at, last_used_at, revoked_at, xstrdup(user), xstrdup(lab)};
    if ((int)strlen(user) > l->wuser)
        l->wuser = (int)strlen(user);
    if ((int)strlen(lab) > l->wlabel)
        l->wlabel = (int)strlen(lab);
    return 0;
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
    if (ms <= 0)
        snprintf(out, n, "-");
    else
        bk_iso8601(ms, out, n);
}

static int token_list(int argc, char **argv)
{
    struct uopts o;
    int rc = parse(argc, argv, "token list", "config user", 0, NULL, TOKEN_LIST_USAGE, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    struct bk_config *cfg;
    struct bk_store *store;
    if (open_store("token list", &o, &cfg, &store) < 0)
        return 1;
    struct bk_err err = {0};
    struct token_lines l = {.wuser = 4, .wlabel = 5};
    rc = auth_token_each(store, o.user, collect_token_cb, &l, &err);
    if (rc < 0) {
        fprintf(stderr, "backupctl token list: %s\n", err.msg);
    } else {
        printf("%-6s  %-*s  %-*s  %-20s  %-20s  %s\n", "ID", l.wuser, "USER", l.wlabel, "LABEL",
               "CREATED", "LAST-USED", "REVOKED");
        for (size_t i = 0; i < l.n; i++) {
            char c[32], u[32], r[32];
            fmt_time(l.v[i].created_at, c, sizeof c);
            fmt_time(l.v[i].last_used_at, u, sizeof u);
            fmt_time(l.v[i].revoked_at, r, sizeof r);
            printf("%-6lld  %-*s  %-*s  %-20s  %-20s  %s\n", (long long)l.v[i].id, l.wuser,
                   l.v[i].user, l.wlabel, l.v[i].label, c, u, r);
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].user);
        free(l.v[i].label);
    }
    free(l.v);
    close_store(cfg, store);
    return rc < 0 ? 1 : 0;
}

static int token_revoke(int argc, char **argv)
{
    struct uopts o;
    int rc = parse(argc, argv, "token revoke", "config", 1, "ID", TOKEN_REVOKE_USAGE, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    int64_t id;
    if (str_to_i64(o.arg, &id) < 0 || id <= 0) {
        fprintf(stderr,
                "backupctl token revoke: ID must be a positive number, not \"%s\" (see "
                "'backupctl token list')\n",
                o.arg);
        return 1;
    }
    struct bk_config *cfg;
    struct bk_store *store;
    if (open_store("token revoke", &o, &cfg, &store) < 0)
        return 1;
    struct bk_err err = {0};
    rc = auth_token_revoke(store, id, &err);
    if (rc < 0)
        fprintf(stderr, "backupctl token revoke: %s\n", err.msg);
    else
        printf("token %lld revoked\n", (long long)id);
    close_store(cfg, store);
    return rc < 0 ? 1 : 0;
}

int cmd_token(int argc, char **argv)
{
    if (argc < 2) {
        fputs("backupctl token: missing subcommand: add, list or revoke (see 'backupctl token "
              "--help')\n",
              stderr);
        return 1;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(TOKEN_USAGE, stdout);
        return 0;
    }
    if (strcmp(sub, "add") == 0)
        return token_add(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return token_list(argc - 1, argv + 1);
    if (strcmp(sub, "revoke") == 0)
        return token_revoke(argc - 1, argv + 1);
    fprintf(stderr,
            "backupctl token: unknown subcommand \"%s\": add, list or revoke (see 'backupctl "
            "token --help')\n",
            sub);
    return 1;
}
