/* provider_ops adapter for Cove: a configured source → cove_open + cove_poll. */
#include "providers/cove.h"
#include "providers/provider.h"

#include <string.h>

static int cove_provider_poll(const struct provider_poll_args *a, struct provider_poll_result *res,
                              struct bk_err *err)
{
    memset(res, 0, sizeof *res);
    res->expected = -1;
    struct cove_cfg cfg = {
        .url = a->src->url,
        .partner = a->src->partner,
        .username = a->src->username,
        .password = a->password,
        .page_size = a->src->page_size,
        .http = provider_http_opts(a),
    };
    struct cove *c;
    int rc = cove_open(&cfg, &c, err);
    if (rc < 0)
        return rc;
    struct cove_poll_stats st;
    memset(&st, 0, sizeof st);
    rc = cove_poll(c, a->now_ms, a->cb, a->ud, &st, err);
    res->devices = st.devices;
    res->runs = st.runs;
    res->pages = st.pages;
    res->expected = st.expected;
    res->partial = st.partial;
    res->t_download = st.t_download;
    res->t_parse = st.t_parse;
    cove_close(c);
    return rc;
}

const struct provider_ops cove_provider_ops = {
    .name = "cove",
    .type = BK_SOURCE_COVE,
    /* one statistics row per device makes its job, its last session and its datasources */
    .whole_jobs = true,
    .poll = cove_provider_poll,
};
