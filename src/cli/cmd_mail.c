/* `backupctl mail ingest` (see cmd_mail.h). */
#include "cli/cmd_mail.h"

#include "config/config.h"
#include "mail/ingest.h"
#include "mail/mime.h"
#include "platform/platform.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MAIL_USAGE[] =
    "Usage: backupctl mail ingest --source NAME [--config F] [--file F] < message.eml\n"
    "\n"
    "Store one report e-mail (raw RFC 5322 bytes from stdin, or --file) in the `type = mail`\n"
    "source NAME: it is kept once (by Message-ID), parsed (Veeam, VB365, Synology, NAKIVO,\n"
    "Duplicati, Windows Server Backup scripts), and becomes a run, a mail that reports no run,\n"
    "or an Inbox entry for an operator. For an MTA pipe (Postfix `| backupctl mail ingest …`).\n"
    "\n"
    "Exit codes: 0 stored (a run or not, a duplicate too); 1 usage or configuration error, or\n"
    "input that is no mail (empty, a NUL byte, no header, over 25 MB); 8 the store failed.\n";

static int ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"source", required_argument, NULL, 's'},
        {"file", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = config_default_path(), *source = NULL, *file = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 's':
            source = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'h':
            fputs(MAIL_USAGE, stdout);
            return 0;
        case ':':
            fprintf(stderr, "backupctl mail ingest: %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "backupctl mail ingest: unknown option \"%s\" (see --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backupctl mail ingest: unexpected argument \"%s\"\n", argv[optind]);
        return 1;
    }
    if (!source || !*source) {
        fprintf(stderr, "backupctl mail ingest: --source is required (see --help)\n");
        return 1;
    }
    FILE *in = stdin;
    if (file && !(in = fopen(file, "rb"))) {
        fprintf(stderr, "backupctl mail ingest: cannot open %s\n", file);
        return 1;
    }
    /* read at most the limit + 1 byte, so an oversize mail is refused without reading it all */
    size_t cap = 65536, n = 0;
    char *buf = xmalloc(cap + 1);
    bool big = false;
    for (;;) {
        if (n == cap) {
            if (cap > MAIL_MAX_BYTES) {
                big = true;
                break;
            }
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
        size_t k = fread(buf + n, 1, cap - n, in);
        n += k;
        if (k == 0)
            break;
    }
    bool rerr = ferror(in);
    if (in != stdin)
        fclose(in);
    buf[n] = '\0';
    if (rerr) {
        free(buf);
        fprintf(stderr, "backupctl mail ingest: error reading %s\n", file ? file : "stdin");
        return 1;
    }
    if (big || n > MAIL_MAX_BYTES) {
        free(buf);
        fprintf(stderr, "backupctl mail ingest: message over the %u MB limit: not stored\n",
                MAIL_MAX_BYTES / (1024 * 1024));
        return 1;
    }
    struct bk_config *cfg = NULL;
    struct bk_store *st = NULL;
    struct bk_err err = {0};
    struct mail_source ms = {0};
    int code = 1;
    int rc = config_load(config, &cfg, &err);
    const struct bk_source_cfg *sc = rc == 0 ? config_find_source(cfg, source) : NULL;
    if (rc == 0 && (!sc || sc->type != BK_SOURCE_MAIL))
        rc = bk_err_set(&err, BK_ECONFIG, "%s has no source \"%.100s\" of type mail", config,
                        source);
    if (rc < 0)
        goto out;
    code = 8;
    if ((rc = store_open(cfg, &st, &err)) < 0 ||
        (rc = mail_source_open(st, cfg, sc, &ms, &err)) < 0)
        goto out;
    struct mail_ingest_result res;
    rc = mail_ingest_bytes(st, &ms, buf, n, bk_plat_realtime_ms(), &res, &err);
    if (rc == -BK_EINVAL || rc == -BK_ETOOBIG)
        code = 1;
    if (rc < 0)
        goto out;
    code = 0;
    if (res.st.duplicate)
        printf("duplicate: this Message-ID is stored already (mail %" PRId64 "), nothing changed\n",
               res.st.mail_id);
    else if (res.st.run_id)
        printf("stored mail %" PRId64 ": %s run %" PRId64 " of job \"%s\" (%s%s%s)\n",
               res.st.mail_id, res.st.run_new ? "new" : "updated", res.st.run_id, res.job,
               res.product[0] ? res.product : "inbox rule", ", ", res.status);
    else
        printf("stored mail %" PRId64 ": %s\n", res.st.mail_id,
               strcmp(res.st.state, "inbox") == 0 ? "in the Inbox (not recognised)" : "not a run");
out:
    if (rc < 0)
        fprintf(stderr, "backupctl mail ingest: %s\n", err.msg);
    mail_source_close(&ms);
    store_close(st);
    config_free(cfg);
    free(buf);
    return code;
}

int cmd_mail(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(MAIL_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "ingest") == 0)
        return ingest(argc - 1, argv + 1);
    fprintf(stderr, "backupctl mail: unknown subcommand \"%.40s\" (ingest)\n", argv[1]);
    return 1;
}
