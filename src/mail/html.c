/* HTML -> text and table rows with libxml2's HTML parser (see html.h). */
#include "mail/html.h"

#include "mail/mime.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void xml_init_once(void)
{
    xmlInitParser();
}

static bool name_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->name &&
           xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

static bool is_block(const xmlNode *n)
{
    static const char *const blocks[] = {"p",  "div", "tr", "table", "li", "h1",    "h2",
                                         "h3", "h4",  "h5", "h6",    "ul", "ol",    "pre",
                                         "hr", "dl",  "dt", "dd",    "br", "title", "blockquote"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if (name_is(n, blocks[i]))
            return true;
    return false;
}

/* Raw text of a subtree: text nodes as they are, '\n' for <br> and around blocks, '\t' after
 * a cell. Script and style are skipped. Depth-bounded (libxml2 bounds the tree too). */
static void gather(const xmlNode *n, struct bk_buf *b, int depth)
{
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                bk_buf_appends(b, (const char *)n->content);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE || depth > 200)
            continue;
        if (name_is(n, "script") || name_is(n, "style") || name_is(n, "head"))
            continue;
        bool block = is_block(n);
        if (block)
            bk_buf_appends(b, "\n");
        gather(n->children, b, depth + 1);
        if (block)
            bk_buf_appends(b, "\n");
        else if (name_is(n, "td") || name_is(n, "th"))
            bk_buf_appends(b, "\t");
    }
}

/* Collapse runs of spaces (and tabs unless keep_tab) within lines, trim each line, drop empty
 * lines. In place. &nbsp; (U+00A0) counts as a space. */
static void normalise(char *s, bool keep_tab)
{
    char *o = s;
    bool line_start = true, pending_space = false, pending_nl = false;
    for (char *p = s; *p;) {
        unsigned char c = (unsigned char)*p;
        bool nbsp = c == 0xc2 && (unsigned char)p[1] == 0xa0;
        if (c == '\n' || c == '\r') {
            if (!line_start)
                pending_nl = true;
            pending_space = false;
            line_start = true;
            p++;
            continue;
        }
        if (c == ' ' || (c == '\t' && !keep_tab) || c == '\f' || c == '\v' || nbsp) {
            if (!line_start)
                pending_space = true;
            p += nbsp ? 2 : 1;
            continue;
        }
        if (pending_nl)
            *o++ = '\n';
        else if (pending_space)
            *o++ = ' ';
        pending_nl = pending_space = false;
        line_start = false;
        *o++ = *p++;
    }
    *o = '\0';
}

static char *attr(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *o = mail_utf8_clean((const char *)v, strlen((const char *)v));
    xmlFree(v);
    return o;
}

static bool has_table(const xmlNode *n, int depth)
{
    for (; n && depth < 200; n = n->next) {
        if (name_is(n, "table"))
            return true;
        if (n->type == XML_ELEMENT_NODE && has_table(n->children, depth + 1))
            return true;
    }
    return false;
}

struct rows {
    struct mail_html_row *v;
    size_t n;
};

static void add_row(const xmlNode *tr, struct rows *r)
{
    if (r->n >= MAIL_HTML_MAX_ROWS)
        return;
    for (const xmlNode *c = tr->children; c; c = c->next)
        if ((name_is(c, "td") || name_is(c, "th")) && has_table(c->children, 0))
            return; /* a layout row around an inner table */
    struct mail_html_row row = {0};
    for (const xmlNode *c = tr->children; c; c = c->next) {
        if (!(name_is(c, "td") || name_is(c, "th")) || row.ncells >= MAIL_HTML_MAX_CELLS)
            continue;
        struct bk_buf b;
        bk_buf_init(&b, MAIL_MAX_PART);
        bk_buf_appends(&b, "");
        gather(c->children, &b, 0);
        char *t = bk_buf_steal(&b);
        normalise(t, false);
        row.cells = xrealloc(row.cells, (row.ncells + 1) * sizeof *row.cells);
        row.cell_class = xrealloc(row.cell_class, (row.ncells + 1) * sizeof *row.cell_class);
        row.cells[row.ncells] = t;
        row.cell_class[row.ncells] = attr(c, "class");
        row.ncells++;
    }
    if (!row.ncells)
        return;
    row.tr_class = attr(tr, "class");
    row.tr_style = attr(tr, "style");
    r->v = xrealloc(r->v, (r->n + 1) * sizeof *r->v);
    r->v[r->n++] = row;
}

static void find_rows(const xmlNode *n, struct rows *r, int depth)
{
    for (; n && depth < 200; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (name_is(n, "tr"))
            add_row(n, r);
        find_rows(n->children, r, depth + 1);
    }
}

void mail_html_extract(const char *html, size_t n, char **text, struct mail_html_row **rows,
                       size_t *nrows)
{
    pthread_once(&g_once, xml_init_once);
    if (n > MAIL_MAX_PART)
        n = MAIL_MAX_PART;
    htmlDocPtr doc = n ? htmlReadMemory(html, (int)n, NULL, "UTF-8",
                                        HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                            HTML_PARSE_NOWARNING | HTML_PARSE_NONET)
                       : NULL;
    struct bk_buf b;
    bk_buf_init(&b, (size_t)MAIL_MAX_BYTES * 2);
    bk_buf_appends(&b, *text ? *text : "");
    if (b.len)
        bk_buf_appends(&b, "\n");
    if (doc) {
        xmlNode *root = xmlDocGetRootElement(doc);
        struct bk_buf t;
        bk_buf_init(&t, MAIL_MAX_PART * 2);
        bk_buf_appends(&t, "");
        gather(root, &t, 0);
        char *s = bk_buf_steal(&t);
        normalise(s, true);
        bk_buf_appends(&b, s);
        free(s);
        struct rows r = {*rows, *nrows};
        find_rows(root, &r, 0);
        *rows = r.v;
        *nrows = r.n;
        xmlFreeDoc(doc);
    }
    free(*text);
    *text = bk_buf_steal(&b);
}

void mail_html_rows_free(struct mail_html_row *rows, size_t nrows)
{
    for (size_t i = 0; i < nrows; i++) {
        for (size_t k = 0; k < rows[i].ncells; k++) {
            free(rows[i].cells[k]);
            free(rows[i].cell_class[k]);
        }
        free(rows[i].cells);
        free(rows[i].cell_class);
        free(rows[i].tr_class);
        free(rows[i].tr_style);
    }
    free(rows);
}
