/*
 * distroduce.h - the C SDK for distroduce plugins (guest side of plugin ABI v1, see ../ABI.md).
 *
 * Single-header library. In exactly one .c file of the plugin write
 *
 *     #define DISTRODUCE_IMPLEMENTATION
 *     #include "distroduce.h"
 *
 * (or compile distroduce.c, which does just that), and include it plainly everywhere else.
 *
 * An author writes one plain function per export:
 *
 *     DISTRODUCE_POLICY(step, .params = "size")(dd_call *c) {
 *         dd_value *out = dd_map();
 *         dd_map_put(out, "delta", dd_int(dd_rng_u64() % 3));
 *         return out;
 *     }
 *
 *     DISTRODUCE_STATE_UPDATE(counter, "int", .state = "counter", .signals = "delta")(dd_call *c) {
 *         return dd_int(dd_as_int(dd_state_get(c, "counter")) + dd_as_int(dd_signal(c, "delta")));
 *     }
 *
 * The macros generate the `(ptr, len) -> i64` export, its `distroduce_describe_*` export, the
 * input decoding and the output encoding. Values live in a per-call arena that is reset at the
 * start of every call, so nothing is ever freed by hand. Returning NULL after dd_fail() fails the
 * call with that message.
 *
 * Toolchain (scripts/setup-c installs it): Debian clang-19, lld-19, libclang-rt-19-dev-wasm32,
 * wasi-libc; build as a WASI reactor:
 *     clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -fuse-ld=lld -o x.wasm *.c
 */
#ifndef DISTRODUCE_H
#define DISTRODUCE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DISTRODUCE_ABI_VERSION 1

/* ------------------------------------------------------------------------------------------ */
/* Host imports (ABI section 5). Call them through the dd_* wrappers below.                    */

#define DD__IMPORT(n) __attribute__((import_module("distroduce"), import_name(n)))
DD__IMPORT("rng_u64") int64_t dd__host_rng_u64(void);
DD__IMPORT("rng_f64") double dd__host_rng_f64(void);
DD__IMPORT("now_ns") int64_t dd__host_now_ns(void);
DD__IMPORT("log") void dd__host_log(int32_t level, int32_t ptr, int32_t len);
DD__IMPORT("emit") void dd__host_emit(int32_t ptr, int32_t len);
DD__IMPORT("fail") void dd__host_fail(int32_t ptr, int32_t len);

/* ------------------------------------------------------------------------------------------ */
/* Dynamic values. Maps keep their key order; integers, floats and strings stay distinct, so a
 * value goes through a plugin exactly as it came in. Strings are (pointer, length) and may point
 * into the call input; they are not NUL-terminated (use dd_cstr for a C string).             */

typedef enum {
    DD_NIL,
    DD_BOOL,
    DD_INT,   /* signed 64-bit */
    DD_UINT,  /* unsigned 64-bit above INT64_MAX (only ctx.seed is sent like that) */
    DD_FLOAT, /* float64 (a float32 input is widened) */
    DD_STR,
    DD_BIN,
    DD_LIST,
    DD_MAP,
    DD_RAW    /* pre-encoded MessagePack, written out as is (also used for ext types) */
} dd_type;

typedef struct dd_value dd_value;
typedef struct dd_entry dd_entry;

struct dd_value {
    dd_type type;
    uint32_t len; /* bytes of STR/BIN/RAW, items of LIST, entries of MAP */
    uint32_t cap; /* capacity of LIST/MAP storage */
    union {
        bool b;
        int64_t i;
        uint64_t u;
        double f;
        const char *s;
        const uint8_t *bytes;
        dd_value *items;
        dd_entry *entries;
    } as;
};

struct dd_entry {
    const char *key;
    uint32_t key_len;
    dd_value value;
};

/* A borrowed MessagePack slice (e.g. one part of the call input). */
typedef struct {
    const uint8_t *p;
    uint32_t len;
} dd_raw;

/* Constructors: every result lives in the call arena. */
dd_value *dd_nil(void);
dd_value *dd_bool(bool b);
dd_value *dd_int(int64_t i);
dd_value *dd_uint(uint64_t u);
dd_value *dd_float(double f);
dd_value *dd_str(const char *s);                       /* copies a C string */
dd_value *dd_strn(const char *s, size_t n);            /* copies n bytes */
dd_value *dd_str_ref(const char *s, size_t n);         /* no copy: s must outlive the call */
dd_value *dd_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
dd_value *dd_bin(const void *p, size_t n);             /* copies */
dd_value *dd_list(void);
dd_value *dd_map(void);
dd_value *dd_raw_value(dd_raw raw);                     /* spliced into the output as is */

void dd_list_push(dd_value *list, dd_value *item);     /* copies *item into the list */
void dd_map_put(dd_value *map, const char *key, dd_value *value); /* appends (no dedup) */
void dd_map_putn(dd_value *map, const char *key, size_t key_len, dd_value *value);
void dd_map_set(dd_value *map, const char *key, dd_value *value); /* replaces the first entry or appends */

/* Accessors. dd_get returns the first entry of that key, NULL if absent or not a map. */
dd_value *dd_get(const dd_value *map, const char *key);
dd_value *dd_getn(const dd_value *map, const char *key, size_t key_len);
dd_value *dd_at(const dd_value *list, size_t i);       /* NULL when out of range / not a list */
size_t dd_len(const dd_value *v);
bool dd_is(const dd_value *v, dd_type t);
bool dd_is_str(const dd_value *v, const char *s);      /* v is the string s */
bool dd_equal(const dd_value *a, const dd_value *b);   /* deep; INT 1 != FLOAT 1.0 */
const char *dd_type_name(const dd_value *v);           /* nil bool int float str bytes list map */
const char *dd_cstr(const dd_value *v);                /* NUL-terminated copy of a STR, NULL otherwise */
/* Lenient scalar reads: 0 / 0.0 / false when v is NULL or of another type. */
int64_t dd_as_int(const dd_value *v);
double dd_as_float(const dd_value *v);                 /* ints convert, as Python's arithmetic */
bool dd_as_bool(const dd_value *v);
/* Checked scalar reads: false (and nothing written) when v is NULL or of another type. */
bool dd_to_int(const dd_value *v, int64_t *out);
bool dd_to_float(const dd_value *v, double *out);      /* ints convert */

/* ------------------------------------------------------------------------------------------ */
/* MessagePack writer and reader.                                                             */

typedef struct {
    uint8_t *data;
    size_t len, cap;
} dd_writer;

void dd_w_reset(dd_writer *w);
void dd_w_nil(dd_writer *w);
void dd_w_bool(dd_writer *w, bool b);
void dd_w_int(dd_writer *w, int64_t i);
void dd_w_uint(dd_writer *w, uint64_t u);
void dd_w_float(dd_writer *w, double f);
void dd_w_strn(dd_writer *w, const char *s, size_t n);
void dd_w_str(dd_writer *w, const char *s);
void dd_w_bin(dd_writer *w, const void *p, size_t n);
void dd_w_list(dd_writer *w, uint32_t n);  /* header: then write n items */
void dd_w_map(dd_writer *w, uint32_t n);   /* header: then write n keys and values */
void dd_w_raw(dd_writer *w, const void *p, size_t n);
void dd_w_value(dd_writer *w, const dd_value *v);

/* Parses one value from p (at most len bytes) into the arena. Returns the bytes consumed, 0 on
 * malformed input. */
size_t dd_parse(const uint8_t *p, size_t len, dd_value *out);
/* The extent of the value at p: its byte length, 0 if malformed. */
size_t dd_skip(const uint8_t *p, size_t len);
/* In the MessagePack map `map`, the raw value of the first entry with that key. */
bool dd_raw_find(dd_raw map, const char *key, size_t key_len, dd_raw *out);
/* The same, for the last entry with that key (as a map keeps repeated keys). */
bool dd_raw_find_last(dd_raw map, const char *key, size_t key_len, dd_raw *out);

/* ------------------------------------------------------------------------------------------ */
/* The call.                                                                                  */

typedef struct dd_call {
    /* ctx (ABI section 3) */
    uint64_t simulation, subset, run, timestep, substep, seed;
    int64_t time_ns;
    const char *variable; /* NUL-terminated; NULL for policies */
    size_t variable_len;
    /* The raw parts of the input (len 0 when absent). */
    dd_raw ctx_raw, params_raw, state_raw, signals_raw, args_raw, history_raw;
    /* Lazily parsed parts; use the functions below. */
    dd_value *params_v, *state_v, *signals_v, *args_v, *history_v;
    bool is_state_update;
} dd_call;

/* Whole parts, parsed on first use (an absent part is an empty map, or NIL for args/history). */
dd_value *dd_params(dd_call *c);
dd_value *dd_state(dd_call *c);
dd_value *dd_signals(dd_call *c);
dd_value *dd_args(dd_call *c);
dd_value *dd_history(dd_call *c);
/* One entry of a part, found without parsing the rest: NULL when absent. dd_state_get returns
 * the last entry of that name, as a map would keep it; the others the first. */
dd_value *dd_param(dd_call *c, const char *name);
dd_value *dd_state_get(dd_call *c, const char *name);
dd_value *dd_signal(dd_call *c, const char *name);
dd_value *dd_arg(dd_call *c, const char *name);

/* Host services. */
uint64_t dd_rng_u64(void);
double dd_rng_f64(void);                     /* uniform in [0, 1) */
double dd_rng_normal(double mean, double sd); /* Box-Muller, two rng_f64 draws per number */
int64_t dd_now_ns(void);
enum { DD_TRACE = 0, DD_DEBUG = 1, DD_INFO = 2, DD_WARN = 3, DD_ERROR = 4 };
void dd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records the failure of this call (the first one wins); the function should then return NULL.
 * The wrapper reports it to the host with `fail` once the function has returned. */
void dd_fail(dd_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool dd_failed(const dd_call *c);
/* Publishes value to the topic alias (a Kafka message); key may be NULL. */
void dd_emit(dd_call *c, const char *topic, const char *key, const dd_value *value);
void dd_emit_keyn(dd_call *c, const char *topic, const char *key, size_t key_len, const dd_value *value);
/* value as bytes sent as they are, whatever the topic's format. */
void dd_emit_bytes(dd_call *c, const char *topic, const char *key, const void *p, size_t n);
/* With headers: a map of string to string (NULL for none). */
void dd_emit_full(dd_call *c, const char *topic, const char *key, size_t key_len, const dd_value *value,
                  const dd_value *headers);

/* The virtual clock as Python's str(datetime): "YYYY-MM-DD HH:MM:SS[.ffffff]" (microseconds only
 * when non-zero, sub-microseconds dropped toward the past). buf needs 40 bytes; returns the length. */
size_t dd_format_python(int64_t ns, char *buf);
dd_value *dd_time_str(int64_t ns);           /* the same, as a string value */
/* (year, month, day) of the day z days after 1970-01-01. */
void dd_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Arena allocation, valid until the next call into the module. */
void *dd_alloc(size_t n);

/* Direct output: a function may write its result itself and return DD_WRITTEN. */
dd_writer *dd_output(dd_call *c);
extern dd_value dd__written_sentinel;
#define DD_WRITTEN (&dd__written_sentinel)

/* ------------------------------------------------------------------------------------------ */
/* Export macros. The optional trailing arguments declare what the function reads, for the
 * describe export (ABI section 2): space-separated names, "" for none; left out means unknown.
 *
 *   DISTRODUCE_POLICY(name, .state = "a b", .params = "", .args = "x")(dd_call *c) { ... }
 *   DISTRODUCE_STATE_UPDATE(name, "int", .state = "a")(dd_call *c) { ... }
 *
 * The output type of a state update is one of "int" "float" "number" "str" "bool" "list" "map"
 * "any". The function returns a dd_value * (or DD_WRITTEN, or NULL after dd_fail).            */

typedef struct {
    const char *state, *params, *signals, *args;
} dd_reads;

typedef dd_value *(*dd_fn)(dd_call *);
int64_t dd__run(int32_t ptr, int32_t len, bool state_update, dd_fn fn);
int64_t dd__describe(bool state_update, const char *output, const dd_reads *reads);

#define DD__EXPORT(kind_is_su, output, name, ...)                                                  \
    static dd_value *dd__impl_##name(dd_call *);                                                \
    static const dd_reads dd__reads_##name = {__VA_ARGS__};                                     \
    __attribute__((export_name(#name))) int64_t dd__export_##name(int32_t ptr, int32_t len) {   \
        return dd__run(ptr, len, kind_is_su, dd__impl_##name);                                  \
    }                                                                                           \
    __attribute__((export_name("distroduce_describe_" #name))) int64_t dd__describe_##name(void) { \
        return dd__describe(kind_is_su, output, &dd__reads_##name);                             \
    }                                                                                           \
    static dd_value *dd__impl_##name

#define DISTRODUCE_POLICY(name, ...) DD__EXPORT(0, (const char *)0, name, __VA_ARGS__)
#define DISTRODUCE_STATE_UPDATE(name, output, ...) DD__EXPORT(1, output, name, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* DISTRODUCE_H */

/* ========================================================================================== */
/* Implementation                                                                             */
/* ========================================================================================== */
#ifdef DISTRODUCE_IMPLEMENTATION
#ifndef DISTRODUCE_IMPLEMENTED
#define DISTRODUCE_IMPLEMENTED

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

typedef struct dd__chunk {
    struct dd__chunk *next;
    size_t cap, used;
} dd__chunk;

static dd__chunk *dd__arena;       /* current chunk (head of the list) */
static size_t dd__arena_total;

static void dd__oom(void) {
    static const char msg[] = "distroduce: out of memory";
    dd__host_fail((int32_t)(uintptr_t)msg, (int32_t)(sizeof msg - 1));
    __builtin_trap();
}

static void dd__arena_reset(void) {
    if (dd__arena && dd__arena->next) {
        /* Several chunks were needed: replace them by one big enough for all. */
        size_t total = 0;
        for (dd__chunk *c = dd__arena; c;) {
            dd__chunk *n = c->next;
            total += c->cap;
            free(c);
            c = n;
        }
        dd__arena = (dd__chunk *)malloc(sizeof(dd__chunk) + total);
        if (!dd__arena) dd__oom();
        dd__arena->next = NULL;
        dd__arena->cap = total;
        dd__arena_total = total;
    }
    if (dd__arena) dd__arena->used = 0;
}

void *dd_alloc(size_t n) {
    n = (n + 7) & ~(size_t)7;
    dd__chunk *c = dd__arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = dd__arena_total ? dd__arena_total : 64 * 1024;
        while (cap < n) cap *= 2;
        dd__chunk *nc = (dd__chunk *)malloc(sizeof(dd__chunk) + cap);
        if (!nc) dd__oom();
        nc->next = c;
        nc->cap = cap;
        nc->used = 0;
        dd__arena_total += cap;
        dd__arena = c = nc;
    }
    void *p = (uint8_t *)(c + 1) + c->used;
    c->used += n;
    return p;
}

/* ---- values ---- */

dd_value dd__written_sentinel;

static dd_value *dd__new(dd_type t) {
    dd_value *v = (dd_value *)dd_alloc(sizeof(dd_value));
    v->type = t;
    v->len = v->cap = 0;
    v->as.u = 0;
    return v;
}

dd_value *dd_nil(void) { return dd__new(DD_NIL); }
dd_value *dd_bool(bool b) { dd_value *v = dd__new(DD_BOOL); v->as.b = b; return v; }
dd_value *dd_int(int64_t i) { dd_value *v = dd__new(DD_INT); v->as.i = i; return v; }
dd_value *dd_uint(uint64_t u) {
    dd_value *v = dd__new(u > (uint64_t)INT64_MAX ? DD_UINT : DD_INT);
    v->as.u = u;
    return v;
}
dd_value *dd_float(double f) { dd_value *v = dd__new(DD_FLOAT); v->as.f = f; return v; }
dd_value *dd_str_ref(const char *s, size_t n) {
    dd_value *v = dd__new(DD_STR);
    v->as.s = s;
    v->len = (uint32_t)n;
    return v;
}
dd_value *dd_strn(const char *s, size_t n) {
    char *p = (char *)dd_alloc(n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return dd_str_ref(p, n);
}
dd_value *dd_str(const char *s) { return dd_strn(s, strlen(s)); }
dd_value *dd_strf(const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof small) return dd_strn(small, (size_t)n);
    char *p = (char *)dd_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return dd_str_ref(p, (size_t)n);
}
dd_value *dd_bin(const void *p, size_t n) {
    uint8_t *q = (uint8_t *)dd_alloc(n ? n : 1);
    if (n) memcpy(q, p, n);
    dd_value *v = dd__new(DD_BIN);
    v->as.bytes = q;
    v->len = (uint32_t)n;
    return v;
}
dd_value *dd_list(void) { return dd__new(DD_LIST); }
dd_value *dd_map(void) { return dd__new(DD_MAP); }
dd_value *dd_raw_value(dd_raw raw) {
    dd_value *v = dd__new(DD_RAW);
    v->as.bytes = raw.p;
    v->len = raw.len;
    return v;
}

void dd_list_push(dd_value *list, dd_value *item) {
    if (!list || list->type != DD_LIST) return;
    if (list->len == list->cap) {
        uint32_t cap = list->cap ? list->cap * 2 : 4;
        dd_value *items = (dd_value *)dd_alloc(cap * sizeof(dd_value));
        if (list->len) memcpy(items, list->as.items, list->len * sizeof(dd_value));
        list->as.items = items;
        list->cap = cap;
    }
    list->as.items[list->len++] = item ? *item : (dd_value){.type = DD_NIL};
}

void dd_map_putn(dd_value *map, const char *key, size_t key_len, dd_value *value) {
    if (!map || map->type != DD_MAP) return;
    if (map->len == map->cap) {
        uint32_t cap = map->cap ? map->cap * 2 : 4;
        dd_entry *e = (dd_entry *)dd_alloc(cap * sizeof(dd_entry));
        if (map->len) memcpy(e, map->as.entries, map->len * sizeof(dd_entry));
        map->as.entries = e;
        map->cap = cap;
    }
    dd_entry *e = &map->as.entries[map->len++];
    e->key = key;
    e->key_len = (uint32_t)key_len;
    e->value = value ? *value : (dd_value){.type = DD_NIL};
}
void dd_map_put(dd_value *map, const char *key, dd_value *value) { dd_map_putn(map, key, strlen(key), value); }
void dd_map_set(dd_value *map, const char *key, dd_value *value) {
    dd_value *old = dd_get(map, key);
    if (old) *old = value ? *value : (dd_value){.type = DD_NIL};
    else dd_map_put(map, key, value);
}

dd_value *dd_getn(const dd_value *map, const char *key, size_t n) {
    if (!map || map->type != DD_MAP) return NULL;
    for (uint32_t i = 0; i < map->len; i++) {
        dd_entry *e = &map->as.entries[i];
        if (e->key_len == n && memcmp(e->key, key, n) == 0) return &e->value;
    }
    return NULL;
}
dd_value *dd_get(const dd_value *map, const char *key) { return dd_getn(map, key, strlen(key)); }
dd_value *dd_at(const dd_value *list, size_t i) {
    if (!list || list->type != DD_LIST || i >= list->len) return NULL;
    return &list->as.items[i];
}
size_t dd_len(const dd_value *v) { return v ? v->len : 0; }
bool dd_is(const dd_value *v, dd_type t) { return v && v->type == t; }
bool dd_is_str(const dd_value *v, const char *s) {
    size_t n = strlen(s);
    return v && v->type == DD_STR && v->len == n && memcmp(v->as.s, s, n) == 0;
}
const char *dd_type_name(const dd_value *v) {
    if (!v) return "nil";
    switch (v->type) {
    case DD_NIL: return "nil";
    case DD_BOOL: return "bool";
    case DD_INT: case DD_UINT: return "int";
    case DD_FLOAT: return "float";
    case DD_STR: return "str";
    case DD_BIN: return "bytes";
    case DD_LIST: return "list";
    case DD_MAP: return "map";
    default: return "ext";
    }
}
const char *dd_cstr(const dd_value *v) {
    if (!v || v->type != DD_STR) return NULL;
    char *p = (char *)dd_alloc(v->len + 1);
    memcpy(p, v->as.s, v->len);
    p[v->len] = 0;
    return p;
}
bool dd_equal(const dd_value *a, const dd_value *b) {
    if (!a || !b) return a == b;
    if (a->type != b->type) return false;
    switch (a->type) {
    case DD_NIL: return true;
    case DD_BOOL: return a->as.b == b->as.b;
    case DD_INT: return a->as.i == b->as.i;
    case DD_UINT: return a->as.u == b->as.u;
    case DD_FLOAT: return a->as.f == b->as.f;
    case DD_STR: case DD_BIN: case DD_RAW:
        return a->len == b->len && (a->len == 0 || memcmp(a->as.bytes, b->as.bytes, a->len) == 0);
    case DD_LIST:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!dd_equal(&a->as.items[i], &b->as.items[i])) return false;
        return true;
    case DD_MAP:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const dd_entry *x = &a->as.entries[i], *y = &b->as.entries[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0) return false;
            if (!dd_equal(&x->value, &y->value)) return false;
        }
        return true;
    }
    return false;
}
int64_t dd_as_int(const dd_value *v) { int64_t i = 0; dd_to_int(v, &i); return i; }
double dd_as_float(const dd_value *v) { double f = 0; dd_to_float(v, &f); return f; }
bool dd_as_bool(const dd_value *v) { return v && v->type == DD_BOOL && v->as.b; }
bool dd_to_int(const dd_value *v, int64_t *out) {
    if (!v || v->type != DD_INT) return false;
    *out = v->as.i;
    return true;
}
bool dd_to_float(const dd_value *v, double *out) {
    if (!v) return false;
    switch (v->type) {
    case DD_FLOAT: *out = v->as.f; return true;
    case DD_INT: *out = (double)v->as.i; return true;
    case DD_UINT: *out = (double)v->as.u; return true;
    default: return false;
    }
}

/* ---- writer ---- */

static void dd__w_grow(dd_writer *w, size_t extra) {
    size_t need = w->len + extra;
    if (need <= w->cap) return;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < need) cap *= 2;
    uint8_t *d = (uint8_t *)realloc(w->data, cap);
    if (!d) dd__oom();
    w->data = d;
    w->cap = cap;
}
static inline void dd__w_put(dd_writer *w, const void *p, size_t n) {
    dd__w_grow(w, n);
    memcpy(w->data + w->len, p, n);
    w->len += n;
}
static inline void dd__w_byte(dd_writer *w, uint8_t b) {
    dd__w_grow(w, 1);
    w->data[w->len++] = b;
}
static void dd__w_be(dd_writer *w, uint8_t marker, uint64_t v, int bytes) {
    dd__w_grow(w, 1 + (size_t)bytes);
    uint8_t *p = w->data + w->len;
    p[0] = marker;
    for (int i = 0; i < bytes; i++) p[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    w->len += 1 + (size_t)bytes;
}

void dd_w_reset(dd_writer *w) { w->len = 0; }
void dd_w_nil(dd_writer *w) { dd__w_byte(w, 0xc0); }
void dd_w_bool(dd_writer *w, bool b) { dd__w_byte(w, b ? 0xc3 : 0xc2); }
void dd_w_uint(dd_writer *w, uint64_t u) {
    if (u < 128) dd__w_byte(w, (uint8_t)u);
    else if (u <= 0xff) dd__w_be(w, 0xcc, u, 1);
    else if (u <= 0xffff) dd__w_be(w, 0xcd, u, 2);
    else if (u <= 0xffffffffu) dd__w_be(w, 0xce, u, 4);
    else dd__w_be(w, 0xcf, u, 8);
}
void dd_w_int(dd_writer *w, int64_t i) {
    if (i >= 0) dd_w_uint(w, (uint64_t)i);
    else if (i >= -32) dd__w_byte(w, (uint8_t)(int8_t)i);
    else if (i >= INT8_MIN) dd__w_be(w, 0xd0, (uint64_t)i, 1);
    else if (i >= INT16_MIN) dd__w_be(w, 0xd1, (uint64_t)i, 2);
    else if (i >= INT32_MIN) dd__w_be(w, 0xd2, (uint64_t)i, 4);
    else dd__w_be(w, 0xd3, (uint64_t)i, 8);
}
void dd_w_float(dd_writer *w, double f) {
    uint64_t bits;
    memcpy(&bits, &f, 8);
    dd__w_be(w, 0xcb, bits, 8);
}
void dd_w_strn(dd_writer *w, const char *s, size_t n) {
    if (n < 32) dd__w_byte(w, (uint8_t)(0xa0 | n));
    else if (n <= 0xff) dd__w_be(w, 0xd9, n, 1);
    else if (n <= 0xffff) dd__w_be(w, 0xda, n, 2);
    else dd__w_be(w, 0xdb, n, 4);
    if (n) dd__w_put(w, s, n);
}
void dd_w_str(dd_writer *w, const char *s) { dd_w_strn(w, s, strlen(s)); }
void dd_w_bin(dd_writer *w, const void *p, size_t n) {
    if (n <= 0xff) dd__w_be(w, 0xc4, n, 1);
    else if (n <= 0xffff) dd__w_be(w, 0xc5, n, 2);
    else dd__w_be(w, 0xc6, n, 4);
    if (n) dd__w_put(w, p, n);
}
void dd_w_list(dd_writer *w, uint32_t n) {
    if (n < 16) dd__w_byte(w, (uint8_t)(0x90 | n));
    else if (n <= 0xffff) dd__w_be(w, 0xdc, n, 2);
    else dd__w_be(w, 0xdd, n, 4);
}
void dd_w_map(dd_writer *w, uint32_t n) {
    if (n < 16) dd__w_byte(w, (uint8_t)(0x80 | n));
    else if (n <= 0xffff) dd__w_be(w, 0xde, n, 2);
    else dd__w_be(w, 0xdf, n, 4);
}
void dd_w_raw(dd_writer *w, const void *p, size_t n) { if (n) dd__w_put(w, p, n); }
void dd_w_value(dd_writer *w, const dd_value *v) {
    if (!v) { dd_w_nil(w); return; }
    switch (v->type) {
    case DD_NIL: dd_w_nil(w); break;
    case DD_BOOL: dd_w_bool(w, v->as.b); break;
    case DD_INT: dd_w_int(w, v->as.i); break;
    case DD_UINT: dd_w_uint(w, v->as.u); break;
    case DD_FLOAT: dd_w_float(w, v->as.f); break;
    case DD_STR: dd_w_strn(w, v->as.s, v->len); break;
    case DD_BIN: dd_w_bin(w, v->as.bytes, v->len); break;
    case DD_RAW: dd_w_raw(w, v->as.bytes, v->len); break;
    case DD_LIST:
        dd_w_list(w, v->len);
        for (uint32_t i = 0; i < v->len; i++) dd_w_value(w, &v->as.items[i]);
        break;
    case DD_MAP:
        dd_w_map(w, v->len);
        for (uint32_t i = 0; i < v->len; i++) {
            dd_w_strn(w, v->as.entries[i].key, v->as.entries[i].key_len);
            dd_w_value(w, &v->as.entries[i].value);
        }
        break;
    }
}

/* ---- reader ---- */

#define DD__MAX_DEPTH 256

static inline uint64_t dd__be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Decodes the header at p: the kind, and for scalars/strings their payload. Returns the header
 * size, 0 if truncated/invalid. *n is the payload length (STR/BIN/RAW) or item count. */
typedef struct {
    dd_type type;
    uint32_t n;     /* bytes or items */
    uint32_t hdr;   /* header bytes */
    uint64_t u;     /* scalar bits */
    bool neg;       /* signed int */
} dd__head;

static bool dd__head_at(const uint8_t *p, size_t len, dd__head *h) {
    if (len < 1) return false;
    uint8_t m = p[0];
    h->hdr = 1; h->n = 0; h->u = 0; h->neg = false;
    if (m <= 0x7f) { h->type = DD_INT; h->u = m; return true; }
    if (m >= 0xe0) { h->type = DD_INT; h->u = (uint64_t)(int64_t)(int8_t)m; h->neg = true; return true; }
    if ((m & 0xf0) == 0x80) { h->type = DD_MAP; h->n = m & 0x0f; return true; }
    if ((m & 0xf0) == 0x90) { h->type = DD_LIST; h->n = m & 0x0f; return true; }
    if ((m & 0xe0) == 0xa0) { h->type = DD_STR; h->n = m & 0x1f; return true; }
    int sz = 0;
    switch (m) {
    case 0xc0: h->type = DD_NIL; return true;
    case 0xc2: case 0xc3: h->type = DD_BOOL; h->u = m == 0xc3; return true;
    case 0xc4: case 0xc5: case 0xc6: sz = 1 << (m - 0xc4); h->type = DD_BIN; break;
    case 0xd9: case 0xda: case 0xdb: sz = 1 << (m - 0xd9); h->type = DD_STR; break;
    case 0xdc: case 0xdd: sz = 2 << (m - 0xdc); h->type = DD_LIST; break;
    case 0xde: case 0xdf: sz = 2 << (m - 0xde); h->type = DD_MAP; break;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        sz = 1 << (m - 0xcc);
        if (len < 1 + (size_t)sz) return false;
        h->type = DD_INT; h->u = dd__be(p + 1, sz); h->hdr = 1 + sz;
        if (h->u > (uint64_t)INT64_MAX) h->type = DD_UINT;
        return true;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        sz = 1 << (m - 0xd0);
        if (len < 1 + (size_t)sz) return false;
        uint64_t v = dd__be(p + 1, sz);
        int shift = 64 - 8 * sz;
        h->type = DD_INT; h->u = shift ? (uint64_t)(((int64_t)(v << shift)) >> shift) : v;
        h->neg = true; h->hdr = 1 + sz;
        return true;
    }
    case 0xca: {
        if (len < 5) return false;
        uint32_t b = (uint32_t)dd__be(p + 1, 4);
        float f; memcpy(&f, &b, 4);
        double d = f; memcpy(&h->u, &d, 8);
        h->type = DD_FLOAT; h->hdr = 5;
        return true;
    }
    case 0xcb:
        if (len < 9) return false;
        h->type = DD_FLOAT; h->u = dd__be(p + 1, 8); h->hdr = 9;
        return true;
    /* ext: fixext 1..16, ext 8/16/32 -> RAW (whole value) */
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        h->type = DD_RAW; h->hdr = 2; h->n = 1u << (m - 0xd4);
        return len >= 2;
    case 0xc7: case 0xc8: case 0xc9:
        sz = 1 << (m - 0xc7);
        if (len < 2 + (size_t)sz) return false;
        h->type = DD_RAW; h->n = (uint32_t)dd__be(p + 1, sz); h->hdr = 2 + sz;
        return true;
    default: return false; /* 0xc1 */
    }
    if (len < 1 + (size_t)sz) return false;
    h->n = (uint32_t)dd__be(p + 1, sz);
    h->hdr = 1 + sz;
    return true;
}

static size_t dd__skip(const uint8_t *p, size_t len, int depth) {
    dd__head h;
    if (depth > DD__MAX_DEPTH || !dd__head_at(p, len, &h)) return 0;
    size_t pos = h.hdr;
    switch (h.type) {
    case DD_STR: case DD_BIN: case DD_RAW:
        if (len - pos < h.n) return 0;
        return pos + h.n;
    case DD_LIST: case DD_MAP: {
        uint64_t items = h.type == DD_MAP ? 2ull * h.n : h.n;
        for (uint64_t i = 0; i < items; i++) {
            size_t k = dd__skip(p + pos, len - pos, depth + 1);
            if (!k) return 0;
            pos += k;
        }
        return pos;
    }
    default: return pos;
    }
}
size_t dd_skip(const uint8_t *p, size_t len) { return dd__skip(p, len, 0); }

static size_t dd__parse(const uint8_t *p, size_t len, dd_value *v, int depth) {
    dd__head h;
    if (depth > DD__MAX_DEPTH || !dd__head_at(p, len, &h)) return 0;
    size_t pos = h.hdr;
    v->type = h.type; v->len = 0; v->cap = 0; v->as.u = 0;
    switch (h.type) {
    case DD_NIL: break;
    case DD_BOOL: v->as.b = h.u != 0; break;
    case DD_INT: case DD_UINT: case DD_FLOAT: v->as.u = h.u; break;
    case DD_STR: case DD_BIN:
        if (len - pos < h.n) return 0;
        v->as.bytes = p + pos; v->len = h.n;
        return pos + h.n;
    case DD_RAW:
        if (len - pos < h.n) return 0;
        v->as.bytes = p; v->len = (uint32_t)(pos + h.n);
        return pos + h.n;
    case DD_LIST:
        if (h.n > len - pos) return 0; /* every item is at least one byte */
        v->as.items = (dd_value *)dd_alloc((h.n ? h.n : 1) * sizeof(dd_value));
        v->len = v->cap = h.n;
        for (uint32_t i = 0; i < h.n; i++) {
            size_t k = dd__parse(p + pos, len - pos, &v->as.items[i], depth + 1);
            if (!k) return 0;
            pos += k;
        }
        break;
    case DD_MAP:
        if (h.n > (len - pos) / 2) return 0;
        v->as.entries = (dd_entry *)dd_alloc((h.n ? h.n : 1) * sizeof(dd_entry));
        v->len = v->cap = h.n;
        for (uint32_t i = 0; i < h.n; i++) {
            dd__head kh;
            if (!dd__head_at(p + pos, len - pos, &kh) || kh.type != DD_STR) return 0; /* string keys only */
            pos += kh.hdr;
            if (len - pos < kh.n) return 0;
            v->as.entries[i].key = (const char *)p + pos;
            v->as.entries[i].key_len = kh.n;
            pos += kh.n;
            size_t k = dd__parse(p + pos, len - pos, &v->as.entries[i].value, depth + 1);
            if (!k) return 0;
            pos += k;
        }
        break;
    }
    return pos;
}
size_t dd_parse(const uint8_t *p, size_t len, dd_value *out) { return dd__parse(p, len, out, 0); }

/* Iterates the map at raw: calls back per entry; stops when cb returns false. */
static bool dd__raw_map_each(dd_raw map, bool (*cb)(void *, const char *, uint32_t, dd_raw), void *ud) {
    dd__head h;
    if (!map.len || !dd__head_at(map.p, map.len, &h) || h.type != DD_MAP) return false;
    size_t pos = h.hdr;
    for (uint32_t i = 0; i < h.n; i++) {
        dd__head kh;
        if (!dd__head_at(map.p + pos, map.len - pos, &kh) || kh.type != DD_STR) return false;
        pos += kh.hdr;
        if (map.len - pos < kh.n) return false;
        const char *key = (const char *)map.p + pos;
        pos += kh.n;
        size_t k = dd_skip(map.p + pos, map.len - pos);
        if (!k) return false;
        if (!cb(ud, key, kh.n, (dd_raw){map.p + pos, (uint32_t)k})) return true;
        pos += k;
    }
    return true;
}

typedef struct {
    const char *key;
    size_t key_len;
    bool last, found;
    dd_raw out;
} dd__find;

static bool dd__find_cb(void *ud, const char *key, uint32_t n, dd_raw v) {
    dd__find *f = (dd__find *)ud;
    if (n == f->key_len && memcmp(key, f->key, n) == 0) {
        f->found = true;
        f->out = v;
        return f->last; /* keep looking for a later one when we want the last */
    }
    return true;
}

static bool dd__raw_find(dd_raw map, const char *key, size_t key_len, bool last, dd_raw *out) {
    dd__find f = {key, key_len, last, false, {0, 0}};
    dd__raw_map_each(map, dd__find_cb, &f);
    if (f.found) *out = f.out;
    return f.found;
}
bool dd_raw_find(dd_raw map, const char *key, size_t key_len, dd_raw *out) {
    return dd__raw_find(map, key, key_len, false, out);
}
bool dd_raw_find_last(dd_raw map, const char *key, size_t key_len, dd_raw *out) {
    return dd__raw_find(map, key, key_len, true, out);
}

/* ---- the call ---- */

static dd_writer dd__out, dd__emit_buf;
static uint8_t *dd__input;
static size_t dd__input_cap;
static char *dd__fail_msg;
static size_t dd__fail_len;
static bool dd__fail_set;

__attribute__((export_name("distroduce_abi_version"))) int32_t distroduce_abi_version(void) {
    return DISTRODUCE_ABI_VERSION;
}

__attribute__((export_name("distroduce_alloc"))) int32_t distroduce_alloc(int32_t len) {
    if (len < 0) dd__oom();
    if ((size_t)len > dd__input_cap || !dd__input) {
        size_t cap = dd__input_cap ? dd__input_cap : 4096;
        while (cap < (size_t)len) cap *= 2;
        uint8_t *p = (uint8_t *)realloc(dd__input, cap);
        if (!p) dd__oom();
        dd__input = p;
        dd__input_cap = cap;
    }
    return (int32_t)(uintptr_t)dd__input;
}

static int64_t dd__pack(const uint8_t *p, size_t n) {
    return (int64_t)(((uint64_t)(uint32_t)(uintptr_t)p << 32) | (uint64_t)(uint32_t)n);
}

static dd_value *dd__part(dd_call *c, const char *part, dd_raw raw, dd_value **cache, bool nil_default) {
    if (*cache) return *cache;
    dd_value *v = dd__new(DD_NIL);
    if (raw.len) {
        if (!dd_parse(raw.p, raw.len, v)) {
            dd_fail(c, "cannot decode `%s`: malformed MessagePack", part);
            v->type = DD_NIL;
        }
    } else if (!nil_default) {
        v->type = DD_MAP;
    }
    *cache = v;
    return v;
}
dd_value *dd_params(dd_call *c) { return dd__part(c, "params", c->params_raw, &c->params_v, false); }
dd_value *dd_state(dd_call *c) { return dd__part(c, "state", c->state_raw, &c->state_v, false); }
dd_value *dd_signals(dd_call *c) { return dd__part(c, "signals", c->signals_raw, &c->signals_v, false); }
dd_value *dd_args(dd_call *c) { return dd__part(c, "args", c->args_raw, &c->args_v, true); }
dd_value *dd_history(dd_call *c) { return dd__part(c, "history", c->history_raw, &c->history_v, true); }

static dd_value *dd__entry(dd_raw map, const char *name, bool last) {
    dd_raw r;
    if (!dd__raw_find(map, name, strlen(name), last, &r)) return NULL;
    dd_value *v = dd__new(DD_NIL);
    if (!dd_parse(r.p, r.len, v)) return NULL;
    return v;
}
dd_value *dd_param(dd_call *c, const char *name) { return dd__entry(c->params_raw, name, false); }
dd_value *dd_state_get(dd_call *c, const char *name) { return dd__entry(c->state_raw, name, true); }
dd_value *dd_signal(dd_call *c, const char *name) { return dd__entry(c->signals_raw, name, false); }
dd_value *dd_arg(dd_call *c, const char *name) { return dd__entry(c->args_raw, name, false); }

uint64_t dd_rng_u64(void) { return (uint64_t)dd__host_rng_u64(); }
double dd_rng_f64(void) { return dd__host_rng_f64(); }
double dd_rng_normal(double mean, double sd) {
    double u1 = 1.0 - dd_rng_f64();
    double u2 = dd_rng_f64();
    return mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
int64_t dd_now_ns(void) { return dd__host_now_ns(); }

static char *dd__vformat(size_t *n_out, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    char *p = (char *)dd_alloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    *n_out = (size_t)n;
    return p;
}

void dd_log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n;
    char *p = dd__vformat(&n, fmt, ap);
    va_end(ap);
    dd__host_log(level, (int32_t)(uintptr_t)p, (int32_t)n);
}

void dd_fail(dd_call *c, const char *fmt, ...) {
    (void)c;
    if (dd__fail_set) return;
    va_list ap;
    va_start(ap, fmt);
    dd__fail_msg = dd__vformat(&dd__fail_len, fmt, ap);
    va_end(ap);
    dd__fail_set = true;
}
bool dd_failed(const dd_call *c) { (void)c; return dd__fail_set; }

void dd_emit_full(dd_call *c, const char *topic, const char *key, size_t key_len, const dd_value *value,
                  const dd_value *headers) {
    (void)c;
    dd_writer *w = &dd__emit_buf;
    w->len = 0;
    dd_w_map(w, 2 + (key != NULL) + (headers != NULL));
    dd_w_strn(w, "topic", 5);
    dd_w_str(w, topic);
    dd_w_strn(w, "value", 5);
    dd_w_value(w, value);
    if (key) {
        dd_w_strn(w, "key", 3);
        dd_w_strn(w, key, key_len);
    }
    if (headers) {
        dd_w_strn(w, "headers", 7);
        dd_w_value(w, headers);
    }
    dd__host_emit((int32_t)(uintptr_t)w->data, (int32_t)w->len);
}
void dd_emit_keyn(dd_call *c, const char *topic, const char *key, size_t key_len, const dd_value *value) {
    dd_emit_full(c, topic, key, key_len, value, NULL);
}
void dd_emit(dd_call *c, const char *topic, const char *key, const dd_value *value) {
    dd_emit_full(c, topic, key, key ? strlen(key) : 0, value, NULL);
}
void dd_emit_bytes(dd_call *c, const char *topic, const char *key, const void *p, size_t n) {
    dd_value v = {.type = DD_BIN, .len = (uint32_t)n, .as.bytes = (const uint8_t *)p};
    dd_emit_full(c, topic, key, key ? strlen(key) : 0, &v, NULL);
}

dd_writer *dd_output(dd_call *c) { (void)c; return &dd__out; }

/* ---- time ---- */

static inline int64_t dd__div_floor(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t dd__mod_floor(int64_t a, int64_t b) { return a - dd__div_floor(a, b) * b; }

void dd_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = dd__div_floor(z, 146097);
    int64_t doe = dd__mod_floor(z, 146097);
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static char *dd__digits(char *p, uint64_t v, int width) {
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n < width) tmp[n++] = '0';
    while (n) *p++ = tmp[--n];
    return p;
}

size_t dd_format_python(int64_t ns, char *buf) {
    int64_t micros = dd__div_floor(ns, 1000);
    int64_t secs = dd__div_floor(micros, 1000000);
    int64_t frac = dd__mod_floor(micros, 1000000);
    int64_t days = dd__div_floor(secs, 86400);
    int64_t sod = dd__mod_floor(secs, 86400);
    int64_t y;
    unsigned m, d;
    dd_civil_from_days(days, &y, &m, &d);
    char *p = buf;
    if (y < 0) { *p++ = '-'; p = dd__digits(p, (uint64_t)(-y), 3); } /* Rust {:04}: sign counts */
    else p = dd__digits(p, (uint64_t)y, 4);
    *p++ = '-'; p = dd__digits(p, m, 2);
    *p++ = '-'; p = dd__digits(p, d, 2);
    *p++ = ' '; p = dd__digits(p, (uint64_t)(sod / 3600), 2);
    *p++ = ':'; p = dd__digits(p, (uint64_t)(sod % 3600 / 60), 2);
    *p++ = ':'; p = dd__digits(p, (uint64_t)(sod % 60), 2);
    if (frac) { *p++ = '.'; p = dd__digits(p, (uint64_t)frac, 6); }
    *p = 0;
    return (size_t)(p - buf);
}
dd_value *dd_time_str(int64_t ns) {
    char *buf = (char *)dd_alloc(40);
    size_t n = dd_format_python(ns, buf);
    return dd_str_ref(buf, n);
}

/* ---- export plumbing ---- */

typedef struct {
    dd_call *c;
    bool bad;
} dd__split;

static bool dd__ctx_cb(void *ud, const char *key, uint32_t n, dd_raw v) {
    dd_call *c = (dd_call *)ud;
    dd__head h;
    if (!dd__head_at(v.p, v.len, &h)) return true;
#define DD__K(s) (n == sizeof(s) - 1 && memcmp(key, s, n) == 0)
    if (h.type == DD_INT || h.type == DD_UINT) {
        if (DD__K("simulation")) c->simulation = h.u;
        else if (DD__K("subset")) c->subset = h.u;
        else if (DD__K("run")) c->run = h.u;
        else if (DD__K("timestep")) c->timestep = h.u;
        else if (DD__K("substep")) c->substep = h.u;
        else if (DD__K("seed")) c->seed = h.u;
        else if (DD__K("time_ns")) c->time_ns = (int64_t)h.u;
    } else if (h.type == DD_STR && DD__K("variable")) {
        char *s = (char *)dd_alloc(h.n + 1);
        memcpy(s, v.p + h.hdr, h.n);
        s[h.n] = 0;
        c->variable = s;
        c->variable_len = h.n;
    }
    return true;
}

static bool dd__top_cb(void *ud, const char *key, uint32_t n, dd_raw v) {
    dd_call *c = (dd_call *)ud;
    if (DD__K("ctx")) c->ctx_raw = v;
    else if (DD__K("params")) c->params_raw = v;
    else if (DD__K("state")) c->state_raw = v;
    else if (DD__K("signals")) c->signals_raw = v;
    else if (DD__K("args")) c->args_raw = v;
    else if (DD__K("history")) c->history_raw = v;
    return true;
#undef DD__K
}

static int64_t dd__report_fail(void) {
    dd__host_fail((int32_t)(uintptr_t)dd__fail_msg, (int32_t)dd__fail_len);
    return 0;
}

int64_t dd__run(int32_t ptr, int32_t len, bool state_update, dd_fn fn) {
    dd__arena_reset();
    dd__out.len = 0;
    dd__fail_set = false;
    dd_call call;
    memset(&call, 0, sizeof call);
    call.is_state_update = state_update;
    const uint8_t *p = (const uint8_t *)(uintptr_t)(uint32_t)ptr;
    size_t n = (size_t)(uint32_t)len;
    if (!dd__input || p < dd__input || n > dd__input_cap || (size_t)(p - dd__input) > dd__input_cap - n) {
        dd_fail(&call, "input (%#x, %zu) is not inside the distroduce_alloc buffer", (unsigned)ptr, n);
        return dd__report_fail();
    }
    dd_raw in = {p, (uint32_t)n};
    if (!dd__raw_map_each(in, dd__top_cb, &call)) {
        dd_fail(&call, "malformed call input: not a MessagePack map with string keys");
        return dd__report_fail();
    }
    if (!call.ctx_raw.len) {
        dd_fail(&call, "malformed call input: no `ctx` key");
        return dd__report_fail();
    }
    dd__raw_map_each(call.ctx_raw, dd__ctx_cb, &call);
    dd_value *out = fn(&call);
    if (dd__fail_set) return dd__report_fail();
    if (!out) {
        dd_fail(&call, "plugin function returned NULL without calling dd_fail");
        return dd__report_fail();
    }
    if (out != DD_WRITTEN) {
        dd__out.len = 0;
        dd_w_value(&dd__out, out);
    }
    return dd__pack(dd__out.data, dd__out.len);
}

static void dd__w_names(dd_writer *w, const char *names) {
    if (!names) { dd_w_nil(w); return; }
    uint32_t count = 0;
    for (const char *s = names; *s;) {
        while (*s == ' ' || *s == ',') s++;
        if (!*s) break;
        count++;
        while (*s && *s != ' ' && *s != ',') s++;
    }
    dd_w_list(w, count);
    for (const char *s = names; *s;) {
        while (*s == ' ' || *s == ',') s++;
        if (!*s) break;
        const char *b = s;
        while (*s && *s != ' ' && *s != ',') s++;
        dd_w_strn(w, b, (size_t)(s - b));
    }
}

int64_t dd__describe(bool state_update, const char *output, const dd_reads *r) {
    dd_writer *w = &dd__out;
    w->len = 0;
    dd_w_map(w, state_update ? 3 : 2);
    dd_w_str(w, "kind");
    dd_w_str(w, state_update ? "state_update" : "policy");
    if (state_update) {
        dd_w_str(w, "output");
        dd_w_str(w, output ? output : "any");
    }
    dd_w_str(w, "reads");
    dd_w_map(w, 4);
    dd_w_str(w, "state"); dd__w_names(w, r->state);
    dd_w_str(w, "params"); dd__w_names(w, r->params);
    dd_w_str(w, "signals"); dd__w_names(w, r->signals);
    dd_w_str(w, "args"); dd__w_names(w, r->args);
    return dd__pack(w->data, w->len);
}

#endif /* DISTRODUCE_IMPLEMENTED */
#endif /* DISTRODUCE_IMPLEMENTATION */
