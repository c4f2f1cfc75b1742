/*
 * The web UI's static files (web/static/), compiled into the binary at build time by
 * cmake/embed.cmake so that `backupctl serve` needs no files on disk and works offline. Lookup
 * only: serving, caching headers and the Content-Security-Policy are the HTTP layer's business
 * (web.c).
 */
#ifndef BK_WEB_ASSETS_H
#define BK_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path;          /* URL path, e.g. "/app.js" */
    const char *mime;          /* Content-Type value */
    const unsigned char *data; /* the file's bytes (not NUL-terminated) */
    size_t len;
    const char *etag; /* strong ETag, quotes included: "\"3f…\"" (SHA-256 of the bytes) */
};

/* Generated table, terminated by an entry whose path is NULL. */
extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

/*
 * The asset served at url_path ("/" and "/index.html" give the single-page app), or NULL when there
 * is none. A query string or fragment ("?v=2", "#/runs") is ignored. Paths with ".." or a backslash
 * never match. The result is static data: borrowed, never freed.
 */
const struct web_asset *web_asset_find(const char *url_path);

/* The single-page app's entry point (index.html): what the server answers for unknown paths without
 * an extension, so deep links like /jobs/12 load the app. Never NULL once the UI is built.
 * Borrowed. */
const struct web_asset *web_asset_index(void);

#endif
