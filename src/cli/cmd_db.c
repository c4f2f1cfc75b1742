/* `backupctl db copy` (see cmd_db.h). Each side is a database URL as [database] url takes
 * it; a PostgreSQL password comes from --from-password-file/--to-password-file (mode 0600) or
 * libpq's own PGPASSWORD / ~/.pgpass, never from the URL (refused there, as in the config). */
#include "cli/cmd_db.h"

#include "config/config.h"
#include "store/copy.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "Usage: backupctl db copy --from URL --to URL [--force]\n"
    "                         [--from-password-file F] [--to-password-file F]\n"
    "\n"
    "Copy every row of one store into another: sqlite://PATH or postgresql://… (libpq URL;\n"
    "the password in a file of mode 0600, or PGPASSWORD, never in the URL). The target is\n"
    "created and migrated when new, and refused when it holds any row unless --force (which\n"
    "empties it first). The copy is one transaction on the target, committed only when every\n"
    "table has as many rows as in the source; each table's count is printed. Stop the\n"
    "instances that write to the source first.\n"
    "Exit 0 copied, 1 error (the target unchanged).\n";

/* A configuration holding only [database] for url. Caller frees. */
static int side_config(const char *url, const char *pwfile, struct bk_config **out,
                       struct bk_err *err)
{
    char *text = xasprintf("[database]\nurl = %s\n%s%s%s", url, pwfile ? "password_file = " : "",
                           pwfile ? pwfile : "", pwfile ? "\n" : "");
    int rc = config_parse_string(text, "--from/--to", NULL, out, err);
    free(text);
    return rc;
}

static int print_table(const struct store_copy_table *t, void *ud)
{
    int64_t *total = ud;
    if (*total < 0) {
        printf("%-18s %10s %10s\n", "TABLE", "SOURCE", "TARGET");
        *total = 0;
    }
    printf("%-18s %10" PRId64 " %10" PRId64 "\n", t->table, t->source_rows, t->target_rows);
    *total += t->target_rows;
    return 0;
}

static int db_copy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"from-password-file", required_argument, NULL, 'F'},
        {"to-password-file", required_argument, NULL, 'T'},
        {"force", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL, *from_pw = NULL, *to_pw = NULL;
    bool force = false;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'F':
            from_pw = optarg;
            break;
        case 'T':
            to_pw = optarg;
            break;
        case 'x':
            force = true;
            break;
        case 'h':
            fputs(USAGE, stdout);
            return 0;
        case ':':
            fprintf(stderr, "backupctl db copy: %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "backupctl db copy: unknown option \"%s\" (see --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backupctl db copy: unexpected argument \"%s\"\n", argv[optind]);
        return 1;
    }
    if (!from || !to) {
        fprintf(stderr, "backupctl db copy: --from and --to are required (see --help)\n");
        return 1;
    }
    if (strcmp(from, to) == 0) {
        fprintf(stderr, "backupctl db copy: --from and --to are the same store\n");
        return 1;
    }
    struct bk_config *cf = NULL, *ct = NULL;
    struct bk_store *sf = NULL, *st = NULL;
    struct bk_err err = {0};
    int64_t total = -1; /* -1: the header is not printed yet */
    int rc;
    if ((rc = side_config(from, from_pw, &cf, &err)) < 0 ||
        (rc = side_config(to, to_pw, &ct, &err)) < 0)
        goto out;
    if ((rc = store_open_ro(cf, &sf, &err)) < 0) {
        bk_err_prefix(&err, "--from: ");
        goto out;
    }
    if ((rc = store_open(ct, &st, &err)) < 0) {
        bk_err_prefix(&err, "--to: ");
        goto out;
    }
    if ((rc = store_copy(sf, st, force, print_table, &total, &err)) == 0)
        printf("copied %" PRId64 " row(s); every table's count matches\n", total < 0 ? 0 : total);
out:
    if (rc != 0)
        fprintf(stderr, "backupctl db copy: %s\n", err.msg);
    store_close(sf);
    store_close(st);
    config_free(cf);
    config_free(ct);
    return rc == 0 ? 0 : 1;
}

int cmd_db(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "copy") == 0)
        return db_copy(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(USAGE, stdout);
        return 0;
    }
    fprintf(stderr, "backupctl db: expected \"copy\" (see 'backupctl db copy --help')\n");
    return 1;
}
