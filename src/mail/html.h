/* HTML report bodies -> text and table rows, with libxml2's HTML parser (recovering, no
 * network, no entities from outside). A row is one <tr> whose cells hold no nested table (the
 * layout tables around a report are skipped, the report's own rows are kept); a cell's text
 * has its whitespace collapsed, <br> and block elements as newlines. Bounded: at most
 * MAIL_HTML_MAX_ROWS rows of MAIL_HTML_MAX_CELLS cells. Pure; thread-safe. */
#ifndef BK_MAIL_HTML_H
#define BK_MAIL_HTML_H

#include <stddef.h>

#define MAIL_HTML_MAX_ROWS 20000
#define MAIL_HTML_MAX_CELLS 64

struct mail_html_row {
    char *tr_class; /* the <tr>'s class attribute, NULL when none */
    char *tr_style;
    size_t ncells;
    char **cells;      /* text of each td or th cell */
    char **cell_class; /* each cell's class attribute, NULL when none */
};

/* Append the text of html[0..n) to *text (malloc'ed, may be NULL on entry) and its rows to
 * *rows and *nrows (growing the array). Never fails: junk gives little or nothing. */
void mail_html_extract(const char *html, size_t n, char **text, struct mail_html_row **rows,
                       size_t *nrows);
void mail_html_rows_free(struct mail_html_row *rows, size_t nrows);

#endif
