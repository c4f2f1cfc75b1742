/* Fuzz target: the INI configuration parser. */
#include "config/config.h"
#include "util/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct bk_config *c = NULL;
    struct bk_err err = {0};
    if (config_parse_string(text, "fuzz.conf", "/tmp", &c, &err) == 0)
        config_free(c);
    free(text);
    return 0;
}
