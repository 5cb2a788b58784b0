"""Predator-prey (discrete Lotka-Volterra), written in plain cadCAD 0.5.3 style.

Re-created from the published description of cadCAD's system-dynamics demo
(cadCAD-org/demos, ``demos/System_Dynamics/prey_predator_sd``): Euler steps of

    d prey / dt      = a * prey - (m + b * predators) * prey
    d predators / dt = d * prey * predators - g * predators

with the demo's parameters and initial populations (100 prey, 50 predators). Four policies each
contribute one term of the change: prey births, predator births, prey deaths (natural deaths
plus deaths from meeting predators), and predator deaths. Their signals ``prey_change`` and
``predator_change`` are summed by cadCAD's default aggregation in the block's policy order. Each
population then becomes ``max(ceil(population + change), 0)``, a whole number that cannot go
negative (this is the demo's rounding).

Differences from the demo: the code is new and uses only the standard library (``math.ceil``
instead of numpy), so populations are Python ints rather than numpy floats. The model is
deterministic: every Monte Carlo run is the same.

Only the standard library is used, because the functions must later run inside a WebAssembly
component. Floating-point expressions are written in a fixed evaluation order, since a port must
reproduce the exact binary64 results.
"""
import math

initial_state = {
    'prey_population': 100,
    'predator_population': 50,
}

# cadCAD sweep format: every value is a list; length-1 lists mean a single parameter set.
params = {
    'prey_reproduction_rate': [0.3],
    'predator_interaction_factor': [0.0001],
    'prey_interaction_factor': [0.001],
    'prey_death_rate': [0.01],
    'predator_death_rate': [0.5],
    'dt': [0.1],
}


# --- policies ---------------------------------------------------------------------------------
def p_prey_births(params, substep, state_history, previous_state):
    prey = previous_state['prey_population']
    births = prey * params['prey_reproduction_rate'] * params['dt']
    return {'prey_change': births}


def p_predator_births(params, substep, state_history, previous_state):
    prey = previous_state['prey_population']
    predators = previous_state['predator_population']
    births = predators * prey * params['predator_interaction_factor'] * params['dt']
    return {'predator_change': births}


def p_prey_deaths(params, substep, state_history, previous_state):
    prey = previous_state['prey_population']
    predators = previous_state['predator_population']
    natural = prey * params['prey_death_rate']
    hunted = prey * predators * params['prey_interaction_factor']
    deaths = (natural + hunted) * params['dt']
    return {'prey_change': -deaths}


def p_predator_deaths(params, substep, state_history, previous_state):
    predators = previous_state['predator_population']
    deaths = predators * params['predator_death_rate'] * params['dt']
    return {'predator_change': -deaths}


# --- state update functions ---------------------------------------------------------------------
def next_population(current, change):
    return max(math.ceil(current + change), 0)


def s_prey_population(params, substep, state_history, previous_state, policy_input):
    return 'prey_population', next_population(previous_state['prey_population'],
                                              policy_input['prey_change'])


def s_predator_population(params, substep, state_history, previous_state, policy_input):
    return 'predator_population', next_population(previous_state['predator_population'],
                                                  policy_input['predator_change'])


partial_state_update_blocks = [
    {
        'policies': {
            'prey_births': p_prey_births,
            'predator_births': p_predator_births,
            'prey_deaths': p_prey_deaths,
            'predator_deaths': p_predator_deaths,
        },
        'variables': {
            'prey_population': s_prey_population,
            'predator_population': s_predator_population,
        },
    },
]
