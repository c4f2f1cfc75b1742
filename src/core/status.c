/* Names of the normalised run statuses. */
#include "core/status.h"

#include "util/err.h"

#include <string.h>

static const char *const names[] = {
    [BK_RUN_SUCCESS] = "success", [BK_RUN_WARNING] = "warning", [BK_RUN_FAILED] = "failed",
    [BK_RUN_RUNNING] = "running", [BK_RUN_MISSED] = "missed",   [BK_RUN_UNKNOWN] = "unknown",
};

const char *bk_run_status_name(enum bk_run_status s)
{
    if ((unsigned)s >= sizeof names / sizeof names[0])
        return "unknown";
    return names[s];
}

int bk_run_status_parse(const char *name, enum bk_run_status *out)
{
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], name) == 0) {
            *out = (enum bk_run_status)i;
            return 0;
        }
    return -BK_EINVAL;
}
