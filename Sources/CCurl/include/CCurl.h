#ifndef CCURL_H
#define CCURL_H
#include <curl/curl.h>
#include <stddef.h>

// libcurl is loaded with dlopen on first use rather than linked. Debian's libcurl brings about thirty
// libraries with it (GnuTLS, Kerberos, LDAP, SSH, RTMP...), and loading and relocating them cost ~5 ms at
// every process start: more than half of `contenox model list`, and of a server's start before its first
// chat. Commands that never make a request no longer pay it. Every libcurl function is reached through
// the table below; if the library cannot be loaded, CCurl_load_error() says why and nothing is called.

typedef struct {
    const char *error;
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_pause)(CURL *, int);
    const char *(*easy_strerror)(CURLcode);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMcode (*multi_wakeup)(CURLM *);
    CURLMcode (*multi_timeout)(CURLM *, long *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    const char *(*multi_strerror)(CURLMcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} CCurl_API;

/// The table, filled by the first CCurl_load_error() (CCurl.c).
CCurl_API *CCurl_table(void);

/// Loads libcurl once (thread-safe); NULL when it is ready, otherwise why it is not. Call this first.
const char *CCurl_load_error(void);

// The functions Swift calls, through the table (only after CCurl_load_error() returned NULL).
static inline CURL *CCurl_easy_init(void) { return CCurl_table()->easy_init(); }
static inline void CCurl_easy_cleanup(CURL *h) { CCurl_table()->easy_cleanup(h); }
static inline CURLcode CCurl_easy_pause(CURL *h, int bitmask) { return CCurl_table()->easy_pause(h, bitmask); }
static inline const char *CCurl_easy_strerror(CURLcode c) { return CCurl_table()->easy_strerror(c); }
static inline CURLM *CCurl_multi_init(void) { return CCurl_table()->multi_init(); }
static inline CURLMcode CCurl_multi_cleanup(CURLM *m) { return CCurl_table()->multi_cleanup(m); }
static inline CURLMcode CCurl_multi_add_handle(CURLM *m, CURL *h) { return CCurl_table()->multi_add_handle(m, h); }
static inline CURLMcode CCurl_multi_remove_handle(CURLM *m, CURL *h) { return CCurl_table()->multi_remove_handle(m, h); }
static inline CURLMcode CCurl_multi_perform(CURLM *m, int *running) { return CCurl_table()->multi_perform(m, running); }
static inline CURLMcode CCurl_multi_poll(CURLM *m, struct curl_waitfd *fds, unsigned int n, int ms, int *ret) {
    return CCurl_table()->multi_poll(m, fds, n, ms, ret);
}
static inline CURLMcode CCurl_multi_wakeup(CURLM *m) { return CCurl_table()->multi_wakeup(m); }
static inline CURLMcode CCurl_multi_timeout(CURLM *m, long *ms) { return CCurl_table()->multi_timeout(m, ms); }
static inline CURLMsg *CCurl_multi_info_read(CURLM *m, int *left) { return CCurl_table()->multi_info_read(m, left); }
static inline const char *CCurl_multi_strerror(CURLMcode c) { return CCurl_table()->multi_strerror(c); }
static inline struct curl_slist *CCurl_slist_append(struct curl_slist *l, const char *s) {
    return CCurl_table()->slist_append(l, s);
}
static inline void CCurl_slist_free_all(struct curl_slist *l) { CCurl_table()->slist_free_all(l); }

// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot call; one
// typed wrapper per argument kind.
#define CCURL_SETOPT(h, o, v) (CCurl_table()->easy_setopt((h), (o), (v)))
static inline CURLcode CCurl_easy_setopt_long(CURL *h, CURLoption o, long v) { return CCURL_SETOPT(h, o, v); }
static inline CURLcode CCurl_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return CCURL_SETOPT(h, o, v); }
static inline CURLcode CCurl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return CCURL_SETOPT(h, o, v); }
static inline CURLcode CCurl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return CCURL_SETOPT(h, o, v); }
static inline CURLcode CCurl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return CCURL_SETOPT(h, o, v);
}
static inline CURLcode CCurl_easy_setopt_write_function(CURL *h, CURLoption o, curl_write_callback f) {
    return CCURL_SETOPT(h, o, f);
}
static inline CURLcode CCurl_easy_setopt_read_function(CURL *h, curl_read_callback f) {
    return CCURL_SETOPT(h, CURLOPT_READFUNCTION, f);
}
static inline CURLcode CCurl_easy_setopt_xferinfo_function(CURL *h, curl_xferinfo_callback f) {
    return CCURL_SETOPT(h, CURLOPT_XFERINFOFUNCTION, f);
}
static inline CURLcode CCurl_easy_setopt_sockopt_function(CURL *h, curl_sockopt_callback f) {
    return CCURL_SETOPT(h, CURLOPT_SOCKOPTFUNCTION, f);
}
static inline CURLcode CCurl_easy_setopt_closesocket_function(CURL *h, curl_closesocket_callback f) {
    return CCURL_SETOPT(h, CURLOPT_CLOSESOCKETFUNCTION, f);
}
#undef CCURL_SETOPT
static inline CURLcode CCurl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return CCurl_table()->easy_getinfo(h, i, v); }
static inline CURLcode CCurl_easy_getinfo_double(CURL *h, CURLINFO i, double *v) {
    return CCurl_table()->easy_getinfo(h, i, v);
}
static inline CURLcode CCurl_easy_getinfo_string(CURL *h, CURLINFO i, char **v) {
    return CCurl_table()->easy_getinfo(h, i, v);
}
static inline CURLcode CCurl_easy_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) {
    return CCurl_table()->easy_getinfo(h, i, v);
}
static inline CURLMcode CCurl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return CCurl_table()->multi_setopt(m, o, v); }

#endif
