/* The floor for `backupctl --version`: a trivial program linked to the same libraries
 * (libcurl with its TLS stack, jansson), so the loader's cost is measured, not guessed. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc > 5) { /* never true: keeps the libraries linked and loaded */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        json_decref(json_object());
    }
    puts("trivial 0");
    return 0;
}
