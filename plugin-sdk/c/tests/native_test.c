/* Native (host) unit tests of distroduce.h: the time formatting against the Rust SDK's test
 * vectors, the MessagePack writer/reader, the value helpers and the export plumbing with stub
 * imports. Run: plugin-sdk/c/tests/run */
#define DISTRODUCE_IMPLEMENTATION
#include "../distroduce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stub host. */
static char fail_buf[512], emit_buf[512];
static int fails, emits;
static size_t emit_len;
int64_t dd__host_rng_u64(void) { return 42; }
double dd__host_rng_f64(void) { return 0.5; }
int64_t dd__host_now_ns(void) { return 1570060800LL * 1000000000LL + 1234567000LL; }
void dd__host_log(int32_t level, int32_t ptr, int32_t len) { (void)level; (void)ptr; (void)len; }
void dd__host_emit(int32_t ptr, int32_t len) { (void)ptr; (void)len; emits++; }
void dd__host_fail(int32_t ptr, int32_t len) { (void)ptr; (void)len; fails++; }

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

static void check_time(int64_t ns, const char *want) {
    char buf[40];
    dd_format_python(ns, buf);
    if (strcmp(buf, want) != 0) { printf("FAIL format_python(%lld) = %s, want %s\n", (long long)ns, buf, want); failures++; }
}

static int leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int main(void) {
    const int64_t DAY = 86400LL * 1000000000LL;
    /* Rust: plugin-sdk/src/time.rs tests */
    check_time(0, "1970-01-01 00:00:00");
    check_time(999, "1970-01-01 00:00:00");
    check_time(1000, "1970-01-01 00:00:00.000001");
    check_time(1500000000, "1970-01-01 00:00:01.500000");
    check_time(-1, "1969-12-31 23:59:59.999999");
    check_time(-DAY, "1969-12-31 00:00:00");
    check_time(1570060800LL * 1000000000LL, "2019-10-03 00:00:00");
    check_time(951782400LL * 1000000000LL, "2000-02-29 00:00:00");
    check_time(951868800LL * 1000000000LL, "2000-03-01 00:00:00");
    check_time(1709210096LL * 1000000000LL + 789012345, "2024-02-29 12:34:56.789012");
    check_time(INT64_MAX, "2262-04-11 23:47:16.854775");
    check_time(INT64_MIN, "1677-09-21 00:12:43.145224");
    int64_t z = -25567; /* 1900-01-01 */
    for (int64_t y = 1900; y < 2300; y++)
        for (unsigned m = 1; m <= 12; m++) {
            unsigned len = m == 2 ? (leap(y) ? 29 : 28) : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
            for (unsigned d = 1; d <= len; d++, z++) {
                int64_t yy; unsigned mm, dd;
                dd_civil_from_days(z, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d) { printf("FAIL civil_from_days(%lld)\n", (long long)z); failures++; goto done_days; }
            }
        }
done_days:;

    /* Writer / reader round trip, key order and int/float distinction kept. */
    dd_value *m = dd_map();
    dd_map_put(m, "z", dd_int(0));
    dd_map_put(m, "a", dd_float(0.0));
    dd_map_put(m, "neg", dd_int(-33));
    dd_map_put(m, "big", dd_int(INT64_MIN));
    dd_map_put(m, "u", dd_uint(UINT64_MAX));
    dd_map_put(m, "s", dd_str("héllo, a string longer than thirty-one bytes"));
    dd_map_put(m, "nil", dd_nil());
    dd_map_put(m, "t", dd_bool(true));
    dd_value *l = dd_list();
    for (int i = 0; i < 20; i++) dd_list_push(l, dd_int(i * 1000));
    dd_map_put(m, "list", l);
    dd_map_put(m, "bin", dd_bin("\0\1\2", 3));
    dd_writer w = {0};
    dd_w_value(&w, m);
    CHECK(dd_skip(w.data, w.len) == w.len);
    dd_value back;
    CHECK(dd_parse(w.data, w.len, &back) == w.len);
    CHECK(dd_equal(m, &back));
    CHECK(back.as.entries[0].key_len == 1 && back.as.entries[0].key[0] == 'z');
    CHECK(dd_get(&back, "z")->type == DD_INT && dd_get(&back, "a")->type == DD_FLOAT);
    CHECK(dd_get(&back, "big")->as.i == INT64_MIN && dd_get(&back, "neg")->as.i == -33);
    CHECK(dd_get(&back, "u")->type == DD_UINT && dd_get(&back, "u")->as.u == UINT64_MAX);
    CHECK(dd_len(dd_get(&back, "list")) == 20 && dd_at(dd_get(&back, "list"), 19)->as.i == 19000);
    CHECK(!dd_equal(dd_int(1), dd_float(1.0)));
    CHECK(dd_parse(w.data, w.len - 1, &back) == 0); /* truncated */
    dd_raw r;
    CHECK(dd_raw_find((dd_raw){w.data, (uint32_t)w.len}, "t", 1, &r) && r.len == 1 && r.p[0] == 0xc3);
    CHECK(!dd_raw_find((dd_raw){w.data, (uint32_t)w.len}, "missing", 7, &r));
    /* float32 widens */
    uint8_t f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00};
    CHECK(dd_parse(f32, 5, &back) == 5 && back.type == DD_FLOAT && back.as.f == 1.5);

    /* Export plumbing: a call on a real input buffer. */
    dd_writer in = {0};
    dd_w_map(&in, 3);
    dd_w_str(&in, "ctx");
    dd_w_map(&in, 3);
    dd_w_str(&in, "run"); dd_w_int(&in, 2);
    dd_w_str(&in, "seed"); dd_w_uint(&in, UINT64_MAX);
    dd_w_str(&in, "variable"); dd_w_str(&in, "x");
    dd_w_str(&in, "state");
    dd_w_map(&in, 2);
    dd_w_str(&in, "x"); dd_w_int(&in, 1);
    dd_w_str(&in, "x"); dd_w_int(&in, 2);
    dd_w_str(&in, "unknown"); dd_w_nil(&in);
    uint8_t *buf = (uint8_t *)(uintptr_t)distroduce_alloc((int32_t)in.len);
    (void)buf;
    /* On a 64-bit host the packed pointer is truncated, so only check the parsed call. */
    memcpy(dd__input, in.data, in.len);
    dd_call c; memset(&c, 0, sizeof c);
    CHECK(dd__raw_map_each((dd_raw){dd__input, (uint32_t)in.len}, dd__top_cb, &c));
    dd__raw_map_each(c.ctx_raw, dd__ctx_cb, &c);
    CHECK(c.run == 2 && c.seed == UINT64_MAX && c.variable && strcmp(c.variable, "x") == 0);
    CHECK(dd_state_get(&c, "x")->as.i == 2); /* the last of repeated names */
    CHECK(dd_get(dd_state(&c), "x")->as.i == 1);
    CHECK(dd_args(&c)->type == DD_NIL && dd_params(&c)->type == DD_MAP);

    dd_value *s = dd_strf("%s-%d", "abc", 12);
    CHECK(dd_is_str(s, "abc-12"));
    printf(failures ? "native_test: %d failure(s)\n" : "native_test: ok%.0d\n", failures);
    (void)fail_buf; (void)emit_buf; (void)emit_len; (void)fails; (void)emits;
    return failures != 0;
}
