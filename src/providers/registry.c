/* The provider registry: one line per vendor. */
#include "providers/provider.h"

extern const struct provider_ops cove_provider_ops;
extern const struct provider_ops hycu_provider_ops;

static const struct provider_ops *const providers[] = {
    &cove_provider_ops,
    &hycu_provider_ops,
};

const struct provider_ops *provider_find(enum bk_source_type t)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (providers[i]->type == t)
            return providers[i];
    return NULL;
}

struct http_opts provider_http_opts(const struct provider_poll_args *a)
{
    struct http_opts o = {.ca_file = a->src->ca_file,
                          .insecure = a->src->insecure,
                          .retries = 4,
                          .backoff_ms = 500,
                          .stop = a->stop};
    return o;
}
