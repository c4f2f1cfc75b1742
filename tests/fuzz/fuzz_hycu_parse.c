/* Fuzz target: every HYCU reply parser (envelope, entities, jobs, run-now, v1, errors) and
 * the job-type classifier. */
#include "providers/hycu_parse.h"
#include "util/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct bk_err err = {0};
    struct hycu_page pg;
    if (hycu_parse_page(s, size, &pg, &err) == 0) {
        size_t n = json_array_size(pg.entities);
        for (size_t i = 0; i < n && i < 1000; i++) {
            json_t *e = json_array_get(pg.entities, i);
            for (int k = 0; k < HYCU_KIND_COUNT; k++) {
                struct hycu_entity ent;
                if (hycu_parse_entity(e, (enum hycu_kind)k, &ent, &err) == 0)
                    hycu_entity_clear(&ent);
            }
            struct hycu_job j;
            if (hycu_parse_job(e, &j, &err) == 0) {
                (void)hycu_job_is_final(&j);
                (void)hycu_state_status(j.state);
                (void)hycu_job_type_parse(j.type);
                hycu_job_clear(&j);
            }
        }
        hycu_page_free(&pg);
    }
    struct hycu_strlist ids = {0};
    hycu_parse_trigger(s, size, &ids, &err);
    hycu_strlist_free(&ids);
    char *id = NULL;
    if (hycu_v1_parse_trigger(s, size, &id, &err) == 0)
        free(id);
    struct hycu_job j;
    if (hycu_v1_parse_status(s, size, "fuzz", &j, &err) == 0)
        hycu_job_clear(&j);
    free(hycu_parse_error_text(s, size));
    /* The job "type" word on its own (a NUL-terminated copy of the input). */
    char *word = malloc(size + 1);
    if (word) {
        memcpy(word, data, size);
        word[size] = '\0';
        (void)hycu_job_type_parse(word);
        free(word);
    }
    return 0;
}
