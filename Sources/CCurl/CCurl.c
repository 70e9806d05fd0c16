// The C half of CCurl: libcurl loaded with dlopen on first use, and the table its functions are reached
// through (see include/CCurl.h for why it is not linked).
#include "CCurl.h"

#include <dlfcn.h>
#include <pthread.h>

// One table and one once-flag for the whole program, defined here once (a header's statics would give every
// Swift file that imports it a copy of its own).
static CCurl_API api_table = {0};
static pthread_once_t load_once_flag = PTHREAD_ONCE_INIT;

CCurl_API *CCurl_table(void) { return &api_table; }

static void load_once(void) {
    CCurl_API *api = CCurl_table();
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        api->error = reason != NULL ? reason : "libcurl.so.4 could not be loaded";
        return;
    }
#define CCURL_BIND(field, symbol)                                                                          \
    do {                                                                                                   \
        *(void **)(&api->field) = dlsym(library, symbol);                                                  \
        if (api->field == NULL) { api->error = "libcurl.so.4 lacks " symbol; return; }                     \
    } while (0)
    CCURL_BIND(global_init, "curl_global_init");
    CCURL_BIND(easy_init, "curl_easy_init");
    CCURL_BIND(easy_cleanup, "curl_easy_cleanup");
    CCURL_BIND(easy_setopt, "curl_easy_setopt");
    CCURL_BIND(easy_getinfo, "curl_easy_getinfo");
    CCURL_BIND(easy_pause, "curl_easy_pause");
    CCURL_BIND(easy_strerror, "curl_easy_strerror");
    CCURL_BIND(multi_init, "curl_multi_init");
    CCURL_BIND(multi_cleanup, "curl_multi_cleanup");
    CCURL_BIND(multi_add_handle, "curl_multi_add_handle");
    CCURL_BIND(multi_remove_handle, "curl_multi_remove_handle");
    CCURL_BIND(multi_perform, "curl_multi_perform");
    CCURL_BIND(multi_poll, "curl_multi_poll");
    CCURL_BIND(multi_wakeup, "curl_multi_wakeup");
    CCURL_BIND(multi_timeout, "curl_multi_timeout");
    CCURL_BIND(multi_info_read, "curl_multi_info_read");
    CCURL_BIND(multi_setopt, "curl_multi_setopt");
    CCURL_BIND(multi_strerror, "curl_multi_strerror");
    CCURL_BIND(slist_append, "curl_slist_append");
    CCURL_BIND(slist_free_all, "curl_slist_free_all");
#undef CCURL_BIND
    if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) api->error = "curl_global_init failed";
}

const char *CCurl_load_error(void) {
    pthread_once(&load_once_flag, load_once);
    return api_table.error;
}
