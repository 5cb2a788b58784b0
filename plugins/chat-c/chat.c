/*
 * The distroduce chat model in C: a port of the Rust chat plugin (plugins/chat/src), with the
 * same exports, the same outputs and the same quirks (see plugins/chat/README.md):
 *
 *   policies       enter, send, exit         -> {types: [action], messages: [msg],
 *                                                 send_times: [seconds], msg_counts: [1]}
 *   state updates  send_message (client_a/b), count_messages, add_send_time, current_time
 *
 * Built by ./build with the C SDK (plugin-sdk/c/distroduce.h).
 */
#define DISTRODUCE_IMPLEMENTATION
#include "distroduce.h"

#include <string.h>

/* The topic alias the `send` messages go to (the original's kafkaConfig['send_topic']). */
#define TOPIC "chat"

/* ------------------------------------------------------------------------------------------ */
/* action_policies.py                                                                         */

/* A string arg, or a failure naming it. */
static dd_value *arg_str(dd_call *c, const char *name) {
    if (!c->args_raw.len) {
        dd_fail(c, "cannot decode `args`: expected a map, found nil (the scenario binds no `args` to this use of the function)");
        return NULL;
    }
    dd_value *v = dd_arg(c, name);
    if (!v) {
        dd_fail(c, "cannot decode `args`: missing field `%s`", name);
        return NULL;
    }
    if (v->type != DD_STR) {
        dd_fail(c, "cannot decode `args`: field `%s`: expected a string, found %s", name, dd_type_name(v));
        return NULL;
    }
    return v;
}

/* messages(client_id, room, action, _input, sender, receiver=None): the keys in the order of the
 * Python dict. */
static dd_value *message(dd_value *client, dd_value *room, const char *action, dd_value *input,
                         dd_value *sender, dd_value *receiver) {
    dd_value *m = dd_map();
    dd_map_put(m, "client", client);
    dd_map_put(m, "room", room);
    dd_map_put(m, "action", dd_str_ref(action, strlen(action)));
    dd_map_put(m, "sender", sender);
    dd_map_put(m, "receiver", receiver ? receiver : dd_nil());
    dd_map_put(m, "input", input);
    dd_map_put(m, "created", dd_time_str(dd_now_ns())); /* str(datetime) of the virtual clock */
    return m;
}

/* One action as four one-element lists, which the default aggregation (a + b) concatenates. */
static dd_value *actions(dd_value *msg, const char *action, double send_time) {
    dd_value *types = dd_list(), *messages = dd_list(), *times = dd_list(), *counts = dd_list();
    dd_list_push(types, dd_str_ref(action, strlen(action)));
    dd_list_push(messages, msg);
    dd_list_push(times, dd_float(send_time));
    dd_list_push(counts, dd_int(1));
    dd_value *out = dd_map();
    dd_map_put(out, "types", types);
    dd_map_put(out, "messages", messages);
    dd_map_put(out, "send_times", times);
    dd_map_put(out, "msg_counts", counts);
    return out;
}

/* timedelta.total_seconds(): whole microseconds (floored), as a float. */
static double total_seconds(int64_t ns) {
    int64_t q = ns / 1000;
    if (ns % 1000 != 0 && ns < 0) q -= 1;
    return (double)q / 1e6;
}

/* enter_action / exit_action: the user joins or leaves the room. Nothing is published. */
static dd_value *presence(dd_call *c, const char *action, const char *verb) {
    dd_value *client = arg_str(c, "client"), *room = arg_str(c, "room"), *user = NULL;
    if (client && room) user = arg_str(c, "user");
    if (!user) return NULL;
    /* format!("{} enters {}", user, room), byte for byte (no printf: strings may hold NULs). */
    size_t vn = strlen(verb), n = user->len + 1 + vn + 1 + room->len;
    char *p = dd_alloc(n);
    memcpy(p, user->as.s, user->len);
    p[user->len] = ' ';
    memcpy(p + user->len + 1, verb, vn);
    p[user->len + 1 + vn] = ' ';
    memcpy(p + user->len + 2 + vn, room->as.s, room->len);
    dd_value *input = dd_str_ref(p, n);
    return actions(message(client, room, action, input, user, NULL), action, 0.0);
}

DISTRODUCE_POLICY(enter, .state = "", .params = "", .signals = "", .args = "client room user")(dd_call *c) {
    return presence(c, "enter", "enters");
}

DISTRODUCE_POLICY(exit, .state = "", .params = "", .signals = "", .args = "client room user")(dd_call *c) {
    return presence(c, "exit", "exited");
}

/* message_actions: publishes the message to `chat`, keyed by room, and reports how long the
 * publishing took on the virtual clock (0.0 unless the host advances the clock during a call). */
DISTRODUCE_POLICY(send, .state = "", .params = "", .signals = "",
                  .args = "client room input sender receiver")(dd_call *c) {
    int64_t start = dd_now_ns();
    const char *names[5] = {"client", "room", "input", "sender", "receiver"};
    dd_value *a[5];
    for (int i = 0; i < 5; i++)
        if (!(a[i] = arg_str(c, names[i]))) return NULL;
    dd_value *msg = message(a[0], a[1], "send", a[2], a[3], a[4]);
    dd_emit_keyn(c, TOPIC, a[1]->as.s, a[1]->len, msg);
    int64_t now = dd_now_ns();
    /* saturating_sub */
    int64_t diff;
    if (__builtin_sub_overflow(now, start, &diff)) diff = start < 0 ? INT64_MAX : INT64_MIN;
    return actions(msg, "send", total_seconds(diff));
}

/* ------------------------------------------------------------------------------------------ */
/* state_updates.py                                                                           */

static const char EMPTY_REDUCE[] = "reduce() of empty iterable with no initial value";

/* The signals a state update reads, type-checked as the Rust SDK's serde structs would. */
static dd_value *signal_list(dd_call *c, const char *name) {
    dd_value *v = dd_get(dd_signals(c), name);
    if (!v) {
        dd_fail(c, "cannot decode `signals`: missing field `%s`", name);
        return NULL;
    }
    if (v->type != DD_LIST) {
        dd_fail(c, "cannot decode `signals`: field `%s`: expected a sequence, found %s", name, dd_type_name(v));
        return NULL;
    }
    return v;
}

/* functools.reduce(add, xs) over integers: Python's error for an empty list, and a failure where
 * Python's unbounded integers would leave the i64 range. */
static bool reduce_ints(dd_call *c, const dd_value *xs, int64_t *out) {
    if (!xs->len) {
        dd_fail(c, "%s", EMPTY_REDUCE);
        return false;
    }
    int64_t acc = xs->as.items[0].as.i;
    for (uint32_t i = 1; i < xs->len; i++) {
        if (__builtin_add_overflow(acc, xs->as.items[i].as.i, &acc)) {
            dd_fail(c, "integer overflow");
            return false;
        }
    }
    *out = acc;
    return true;
}

/* functools.reduce(add, xs) over floats: a left fold, as Python adds them. */
static bool reduce_floats(dd_call *c, const dd_value *xs, double *out) {
    if (!xs->len) {
        dd_fail(c, "%s", EMPTY_REDUCE);
        return false;
    }
    double acc = dd_as_float(&xs->as.items[0]);
    for (uint32_t i = 1; i < xs->len; i++) acc += dd_as_float(&xs->as.items[i]);
    *out = acc;
    return true;
}

/* Vec<i64> / Vec<f64> checks of the signal lists. */
static dd_value *int_list(dd_call *c, const char *name) {
    dd_value *v = signal_list(c, name);
    if (!v) return NULL;
    for (uint32_t i = 0; i < v->len; i++)
        if (v->as.items[i].type != DD_INT) {
            dd_fail(c, "cannot decode `signals`: field `%s`: expected i64, found %s", name, dd_type_name(&v->as.items[i]));
            return NULL;
        }
    return v;
}
static dd_value *float_list(dd_call *c, const char *name) {
    dd_value *v = signal_list(c, name);
    if (!v) return NULL;
    for (uint32_t i = 0; i < v->len; i++) {
        dd_type t = v->as.items[i].type;
        if (t != DD_FLOAT && t != DD_INT && t != DD_UINT) {
            dd_fail(c, "cannot decode `signals`: field `%s`: expected f64, found %s", name, dd_type_name(&v->as.items[i]));
            return NULL;
        }
    }
    return v;
}

/* for user in msg['sender']: a string yields its characters (so only one-letter user names work,
 * as in the original), a list its items. Appends them to `out`. */
static bool sender_items(dd_call *c, const dd_value *msg, dd_value *out) {
    const dd_value *s = dd_get(msg, "sender");
    if (!s) {
        dd_fail(c, "KeyError: 'sender'");
        return false;
    }
    if (s->type == DD_STR) {
        for (uint32_t i = 0; i < s->len;) {
            uint8_t b = (uint8_t)s->as.s[i];
            uint32_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
            if (i + n > s->len) n = s->len - i;
            dd_list_push(out, dd_str_ref(s->as.s + i, n));
            i += n;
        }
        return true;
    }
    if (s->type == DD_LIST) {
        for (uint32_t i = 0; i < s->len; i++) dd_list_push(out, &s->as.items[i]);
        return true;
    }
    dd_fail(c, "'%s' object is not iterable", dd_type_name(s));
    return false;
}

static bool has_type(const dd_value *types, const char *kind) {
    for (uint32_t i = 0; i < types->len; i++)
        if (dd_is_str(&types->as.items[i], kind)) return true;
    return false;
}

/* update_users(users, actions): action kinds are processed in the order send, enter, exit
 * (whatever their order in the block); enter appends the sender, exit removes its first
 * occurrence and fails if it is absent (list.remove), send changes nothing. */
static bool update_users(dd_call *c, dd_value *users, const dd_value *types, const dd_value *messages) {
    static const char *kinds[3] = {"send", "enter", "exit"};
    for (int k = 0; k < 3; k++) {
        const char *kind = kinds[k];
        if (!has_type(types, kind)) continue;
        for (uint32_t i = 0; i < messages->len; i++) {
            const dd_value *msg = &messages->as.items[i];
            const dd_value *action = dd_get(msg, "action");
            if (!action) {
                dd_fail(c, "KeyError: 'action'");
                return false;
            }
            if (!dd_is_str(action, kind) || k == 0) continue;
            dd_value *items = dd_list();
            if (!sender_items(c, msg, items)) return false;
            for (uint32_t j = 0; j < items->len; j++) {
                dd_value *user = &items->as.items[j];
                if (k == 1) {
                    dd_list_push(users, user);
                } else {
                    uint32_t at = 0;
                    while (at < users->len && !dd_equal(&users->as.items[at], user)) at++;
                    if (at == users->len) {
                        dd_fail(c, "list.remove(x): x not in list");
                        return false;
                    }
                    memmove(&users->as.items[at], &users->as.items[at + 1], (users->len - at - 1) * sizeof(dd_value));
                    users->len--;
                }
            }
        }
    }
    return true;
}

/* send_message(state), for client_a and client_b alike: the variable being updated is
 * ctx.variable. Every client records all messages of the block (no per-client filtering). The
 * plural msg_counts/send_times differ from the initial state's msg_count/send_time: that schema
 * drift is the original's and is kept. */
DISTRODUCE_STATE_UPDATE(send_message, "map", .params = "", .signals = "types messages msg_counts send_times",
                        .args = "")(dd_call *c) {
    dd_value *types = signal_list(c, "types"), *messages = types ? signal_list(c, "messages") : NULL;
    dd_value *counts = messages ? int_list(c, "msg_counts") : NULL;
    dd_value *times = counts ? float_list(c, "send_times") : NULL;
    if (!times) return NULL;
    if (!c->variable) {
        dd_fail(c, "send_message must be used as a state update");
        return NULL;
    }
    const char *var = c->variable;
    /* The last state entry of that name; in it, the first `users` entry. */
    dd_raw var_raw, users_raw;
    if (!dd_raw_find_last(c->state_raw, var, c->variable_len, &var_raw)) {
        dd_fail(c, "KeyError: '%s'", var);
        return NULL;
    }
    if (!dd_raw_find(var_raw, "users", 5, &users_raw)) {
        dd_fail(c, "KeyError: '%s.users'", var);
        return NULL;
    }
    dd_value users_v;
    if (!dd_parse(users_raw.p, users_raw.len, &users_v)) {
        dd_fail(c, "cannot decode `state`: malformed `%s.users`", var);
        return NULL;
    }
    if (users_v.type != DD_LIST) {
        dd_fail(c, "`%s.users` is a %s, not a list", var, dd_type_name(&users_v));
        return NULL;
    }
    /* The same order of checks as the original: users, then the two reductions. */
    if (!update_users(c, &users_v, types, messages)) return NULL;
    int64_t msg_counts;
    double send_times;
    if (!reduce_ints(c, counts, &msg_counts) || !reduce_floats(c, times, &send_times)) return NULL;
    dd_value *out = dd_map();
    dd_map_put(out, "users", &users_v);
    dd_map_put(out, "messages", messages);
    dd_map_put(out, "msg_counts", dd_int(msg_counts));
    dd_map_put(out, "send_times", dd_float(send_times));
    return out;
}

/* count_messages: counts every action, enter and exit included (+8 per timestep although only 4
 * messages are published, as in the original). */
DISTRODUCE_STATE_UPDATE(count_messages, "int", .state = "total_msg_count", .params = "", .signals = "msg_counts",
                        .args = "")(dd_call *c) {
    dd_value *total = dd_state_get(c, "total_msg_count");
    if (!total || total->type != DD_INT) {
        dd_fail(c, total ? "cannot decode `state`: field `total_msg_count`: expected i64, found %s"
                         : "cannot decode `state`: missing field `total_msg_count`%s",
                total ? dd_type_name(total) : "");
        return NULL;
    }
    dd_value *counts = int_list(c, "msg_counts");
    int64_t n, sum;
    if (!counts || !reduce_ints(c, counts, &n)) return NULL;
    if (__builtin_add_overflow(total->as.i, n, &sum)) {
        dd_fail(c, "integer overflow");
        return NULL;
    }
    return dd_int(sum);
}

/* add_send_time: total + reduce(add, send_times), in that association order. */
DISTRODUCE_STATE_UPDATE(add_send_time, "float", .state = "total_send_time", .params = "", .signals = "send_times",
                        .args = "")(dd_call *c) {
    dd_value *total = dd_state_get(c, "total_send_time");
    double t, s;
    if (!dd_to_float(total, &t)) {
        dd_fail(c, total ? "cannot decode `state`: field `total_send_time`: expected f64, found %s"
                         : "cannot decode `state`: missing field `total_send_time`%s",
                total ? dd_type_name(total) : "");
        return NULL;
    }
    dd_value *times = float_list(c, "send_times");
    if (!times || !reduce_floats(c, times, &s)) return NULL;
    return dd_float(t + s);
}

/* current_time('record_creation'): the virtual clock as Python's str(datetime.now()). */
DISTRODUCE_STATE_UPDATE(current_time, "str", .state = "", .params = "", .signals = "", .args = "")(dd_call *c) {
    (void)c;
    return dd_time_str(dd_now_ns());
}
