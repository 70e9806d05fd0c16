#ifndef CJANSSON_SHIM_H
#define CJANSSON_SHIM_H
#include <jansson.h>

// jansson's type tests and reference counting are macros or inline functions
// that Swift cannot always call; these wrappers give them a callable form.
static inline int CJansson_typeof(const json_t *json) { return (int)json_typeof(json); }
static inline json_t *CJansson_incref(json_t *json) { return json_incref(json); }
static inline void CJansson_decref(json_t *json) { json_decref(json); }
static inline size_t CJansson_real_precision(int precision) { return JSON_REAL_PRECISION(precision); }

#endif
