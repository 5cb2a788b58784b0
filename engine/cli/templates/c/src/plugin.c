/* {{name}}: a distroduce plugin in C (see sdk/README.md for the SDK). */
#define DISTRODUCE_IMPLEMENTATION
#include "distroduce.h"

/* Policy: a random step between 1 and params.max_step, as the signal `delta`. The random numbers
 * come from the engine (seeded per scenario, run, timestep and substep), so runs are
 * reproducible. */
DISTRODUCE_POLICY(step, .state = "", .params = "max_step", .signals = "", .args = "")(dd_call *c) {
    int64_t max_step;
    if (!dd_to_int(dd_param(c, "max_step"), &max_step) || max_step < 1) {
        dd_fail(c, "params.max_step must be an integer >= 1");
        return NULL;
    }
    dd_value *out = dd_map();
    dd_map_put(out, "delta", dd_int(1 + (int64_t)(dd_rng_u64() % (uint64_t)max_step)));
    return out;
}

/* State update for `counter`: its previous value plus the step. */
DISTRODUCE_STATE_UPDATE(add_step, "int", .state = "counter", .params = "", .signals = "delta", .args = "")(dd_call *c) {
    int64_t counter, delta;
    if (!dd_to_int(dd_state_get(c, "counter"), &counter) || !dd_to_int(dd_signal(c, "delta"), &delta)) {
        dd_fail(c, "counter and delta must be integers");
        return NULL;
    }
    return dd_int(counter + delta);
}
