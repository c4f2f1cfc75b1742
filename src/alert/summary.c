/* The daily summary (alert.h): title, text and HTML of one scope's failures, misses and
 * warnings over a period, times shown in the scope's zone. Everything from a vendor is
 * escaped in the HTML; the text is sent quoted-printable, so it needs no escaping. */
#include "alert/alert.h"

#include "alert/mime.h"
#include "core/tzfile.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX (4u << 20)
#define SUMMARY_ITEMS 1000 /* listed; the rest are counted */

static void local_time(const struct bk_tz *tz, int64_t ms, char *out, size_t outsz)
{
    struct bk_civil c;
    bk_tz_civil(tz, ms / 1000 - (ms % 1000 < 0), &c);
    snprintf(out, outsz, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.min);
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* Escaped s appended to b. */
static void esc(struct bk_buf *b, const char *s)
{
    char *e = mime_html_escape(s ? s : "");
    (void)bk_buf_appends(b, e);
    free(e);
}

static bool http_url(const char *u)
{
    return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
           !strpbrk(u, " \t\r\n");
}

void alert_summary_build(const struct bk_summary *s, struct bk_alert_body *out)
{
    struct bk_tz *tz = NULL;
    struct bk_err err = {0};
    if (s->tz && *s->tz && bk_tz_load(s->tz, &tz, &err) < 0)
        tz = NULL; /* shown as UTC, and said so */
    const char *zname = tz ? bk_tz_name(tz) : "UTC";
    const char *scope = s->scope && *s->scope ? s->scope : "all customers";
    if (s->nitems > 0)
        out->title = xasprintf("Backup summary for %s: %zu problem(s)", scope, s->nitems);
    else
        out->title = xasprintf("Backup summary for %s: all %zu backups OK", scope, s->total_jobs);
    char from[32], to[32];
    local_time(tz, s->from_ms, from, sizeof from);
    local_time(tz, s->to_ms, to, sizeof to);

    struct bk_buf t, h;
    bk_buf_init(&t, SUMMARY_MAX);
    bk_buf_init(&h, SUMMARY_MAX);
    bk_buf_printf(&t, "%s\n\nFrom %s to %s (%s), %zu backup(s) in scope.\n\n", out->title, from, to,
                  zname, s->total_jobs);
    const char *top = s->nitems ? mime_status_color("failed") : mime_status_color("success");
    (void)bk_buf_appends(&h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    esc(&h, out->title);
    (void)bk_buf_appends(&h, "</title></head>\n<body style=\"margin:0;padding:24px;"
                             "background:#f4f5f7;font-family:Helvetica,Arial,sans-serif;"
                             "color:#1f2328\">\n");
    bk_buf_printf(&h,
                  "<div style=\"max-width:760px;margin:0 auto;background:#ffffff;border-top:4px "
                  "solid %s;border-radius:6px;padding:20px 24px\">\n"
                  "<h1 style=\"font-size:18px;margin:0 0 8px\">",
                  top);
    esc(&h, out->title);
    (void)bk_buf_appends(&h, "</h1>\n<p style=\"margin:0 0 16px;color:#666666;font-size:13px\">");
    bk_buf_printf(&h, "From %s to %s (", from, to);
    esc(&h, zname);
    bk_buf_printf(&h, "), %zu backup(s) in scope.</p>\n", s->total_jobs);
    if (s->nitems == 0) {
        bk_buf_printf(&t, "All %zu backups OK.\n", s->total_jobs);
        bk_buf_printf(&h, "<p style=\"margin:0 0 16px\">All %zu backups OK.</p>\n", s->total_jobs);
    } else {
        (void)bk_buf_appends(&h, "<table style=\"border-collapse:collapse;font-size:13px;"
                                 "width:100%\">\n<tr style=\"text-align:left;color:#666666\">"
                                 "<th style=\"padding:4px 8px\">Customer</th>"
                                 "<th style=\"padding:4px 8px\">Job</th>"
                                 "<th style=\"padding:4px 8px\">Status</th>"
                                 "<th style=\"padding:4px 8px\">Message</th>"
                                 "<th style=\"padding:4px 8px\">Time</th></tr>\n");
    }
    size_t shown = s->nitems < SUMMARY_ITEMS ? s->nitems : SUMMARY_ITEMS;
    for (size_t i = 0; i < shown; i++) {
        const struct bk_summary_item *it = &s->items[i];
        char when[32];
        local_time(tz, it->at_ms, when, sizeof when);
        bk_buf_printf(&t, "- %s / %s (%s): %s at %s\n", or_dash(it->customer), or_dash(it->job),
                      or_dash(it->source), or_dash(it->status), when);
        if (it->message && *it->message)
            bk_buf_printf(&t, "  %s\n", it->message);
        if (http_url(it->url))
            bk_buf_printf(&t, "  %s\n", it->url);
        (void)bk_buf_appends(&h, "<tr style=\"border-top:1px solid #e5e7eb\">"
                                 "<td style=\"padding:4px 8px\">");
        esc(&h, or_dash(it->customer));
        (void)bk_buf_appends(&h, "</td><td style=\"padding:4px 8px\">");
        if (http_url(it->url)) {
            (void)bk_buf_appends(&h, "<a href=\"");
            esc(&h, it->url);
            (void)bk_buf_appends(&h, "\">");
            esc(&h, or_dash(it->job));
            (void)bk_buf_appends(&h, "</a>");
        } else {
            esc(&h, or_dash(it->job));
        }
        (void)bk_buf_appends(&h, " <span style=\"color:#888888\">(");
        esc(&h, or_dash(it->source));
        bk_buf_printf(&h, ")</span></td><td style=\"padding:4px 8px;color:%s;font-weight:bold\">",
                      mime_status_color(it->status));
        esc(&h, or_dash(it->status));
        (void)bk_buf_appends(&h, "</td><td style=\"padding:4px 8px;white-space:pre-wrap\">");
        esc(&h, it->message ? it->message : "");
        bk_buf_printf(&h, "</td><td style=\"padding:4px 8px;white-space:nowrap\">%s</td></tr>\n",
                      when);
    }
    if (s->nitems > 0)
        (void)bk_buf_appends(&h, "</table>\n");
    if (shown < s->nitems) {
        bk_buf_printf(&t, "... and %zu more\n", s->nitems - shown);
        bk_buf_printf(&h, "<p>... and %zu more</p>\n", s->nitems - shown);
    }
    (void)bk_buf_appends(&h, "<p style=\"margin:16px 0 0;font-size:12px;color:#888888\">Sent by "
                             "backupctl</p>\n</div>\n</body></html>\n");
    out->text = t.data ? bk_buf_steal(&t) : xstrdup("");
    out->html = h.data ? bk_buf_steal(&h) : xstrdup("");
    bk_tz_free(tz);
}
