"""The robot and the marbles, written in plain cadCAD 0.5.3 style.

Re-created from the published description of cadCAD's classic tutorial (cadCAD-org/demos,
``tutorials/robots_and_marbles``, parts 3 and 7):

* Box A starts with 10 marbles and box B is empty.
* Two robot arms each take marbles from the box holding more and drop them into the other box.
  They do nothing when the boxes are equal.
* The robots act simultaneously: both look at the same previous state, and their moves add up.
  That can overshoot, for example (6, 4) with both robots acting gives (4, 6).
* Robot 1 acts only on timesteps that are a multiple of 2, and robot 2 only on multiples of 3
  (part 3, "asynchronous subsystems").
* A robot moves ``capacity`` marbles per action (part 7, "parameters"). Robot 1's capacity is
  swept over 1, 2 and 3, so there are three parameter subsets. Robot 2's capacity is 1.

With capacity 1 the tutorial's trajectory is reproduced: nothing happens at t=1, then (9,1) at
t=2, (8,2) at t=3, (7,3) at t=4, no change at t=5, and (5,5) at t=6, when both robots act.
After that the boxes stay equal.

The model is deterministic, so every Monte Carlo run is the same. It uses only the standard
library (none, in fact), because the functions must later run inside a WebAssembly component.

The current timestep is ``previous_state['timestep'] + 1``. That holds because the model has a
single block, so the previous record is always the last one of the previous timestep. The
``substep`` argument is not read: radCAD 0.14 passes a method there, not a number.
"""

initial_state = {
    'box_A': 10,
    'box_B': 0,
}

# cadCAD sweep format: the 3-element list is swept; length-1 lists are broadcast to every subset.
params = {
    'robot_1_period': [2],
    'robot_2_period': [3],
    'robot_1_capacity': [1, 2, 3],
    'robot_2_capacity': [1],
}


# --- policies ---------------------------------------------------------------------------------
def robot_move(previous_state, capacity):
    """Marbles a robot adds to box A (negative: taken from A), moving from the fuller box."""
    box_a = previous_state['box_A']
    box_b = previous_state['box_B']
    if box_b > box_a:
        to_a = capacity
    elif box_b < box_a:
        to_a = -capacity
    else:
        to_a = 0
    return {'add_to_A': to_a, 'add_to_B': -to_a}


def robot_policy(robot):
    """The policy of robot `robot` (1 or 2): act every `robot_<n>_period` timesteps."""
    def policy(params, substep, state_history, previous_state):
        timestep = previous_state['timestep'] + 1
        if timestep % params[f'robot_{robot}_period'] == 0:
            return robot_move(previous_state, params[f'robot_{robot}_capacity'])
        return {'add_to_A': 0, 'add_to_B': 0}
    policy.__name__ = f'p_robot_arm_{robot}'
    return policy


p_robot_arm_1 = robot_policy(1)
p_robot_arm_2 = robot_policy(2)


# --- state update functions ---------------------------------------------------------------------
def s_box_A(params, substep, state_history, previous_state, policy_input):
    return 'box_A', previous_state['box_A'] + policy_input['add_to_A']


def s_box_B(params, substep, state_history, previous_state, policy_input):
    return 'box_B', previous_state['box_B'] + policy_input['add_to_B']


partial_state_update_blocks = [
    {
        'policies': {
            'robot_arm_1': p_robot_arm_1,
            'robot_arm_2': p_robot_arm_2,
        },
        'variables': {
            'box_A': s_box_A,
            'box_B': s_box_B,
        },
    },
]
