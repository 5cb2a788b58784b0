#!/usr/bin/env python3
"""distroduce's two-user chat model, written for cadCAD 0.5.3 (PyPI ``cadCAD==0.5.3``).

This is the reference ("oracle") implementation that the Rust engine's chat scenario is compared
against, both for exact output (fixtures under ``engine/cli/tests/fixtures/``) and for speed
(``benches/cadcad_ratio.sh``).

Origin
------
The model code is a transcription of the original distroduce chat simulation (Joshua E. Jodesty,
Oct 2019), as stored in the cadCAD repository history:

* ``distroduce/action_policies.py``  @ 8cf3b095822568f3130e1d55d9a22e8161460f3e (policies)
* ``distroduce/state_updates.py``    @ 8cf3b095822568f3130e1d55d9a22e8161460f3e (SUFs)
* ``distroduce/simulation.py``       @ 8cf3b095822568f3130e1d55d9a22e8161460f3e (PSUBs, policy_ops)
* ``distroduce/local_messaging_sim.py`` @ c7c68a1abe2cc1876c895fbc3b360051e44865e8 and
  ``distroduce/messaging_sim.py`` @ 0c90e2048fc3c29a793f4c0e6d0b6de39d6e8e96 (initial state, N, T,
  kafkaConfig)

Kept exactly as in the original:

* state variables and initial values, including the schema drift: the initial ``client_a`` /
  ``client_b`` dicts use ``msg_count`` / ``send_time`` but every update writes ``msg_counts`` /
  ``send_times`` (plural);
* four PSUBs, each with the policies ``action_1, action_2`` (enter A/B, "Hi" A->B/B->A,
  "Bye" A->B/B->A, exit A/B) and the same five SUFs (``client_a``, ``client_b``,
  ``total_msg_count``, ``total_send_time``, ``record_creation``);
* ``policy_ops=[lambda a, b: a + b]`` (cadCAD's default: list concatenation in policy order);
* the send messages are built once, at model-definition time, by ``message_actions`` (so their
  ``created`` timestamp is the definition time) and the *same* dict is returned, mutated, on every
  call; enter/exit messages are built on every call;
* ``update_users`` including its quirk of iterating over the *characters* of ``msg['sender']``;
* the 2019 signatures ``policy(_g, step, sL, s, kafkaConfig)`` and
  ``suf(_g, step, sL, s, actions, kafkaConfig)``;
* ``user_id='Joshua'``; each message is produced as ``str(msg).encode('utf-8')`` (a Python repr,
  not JSON) to ``kafkaConfig['send_topic']`` (``'test'``), without a key.

Deliberate differences
----------------------
(a) **Clock injection.** Every ``datetime.now()`` of the original (``created`` in ``messages()``,
    the ``record_creation`` SUF, the initial ``record_creation``, and the ``start``/end of the
    send timer) goes through the module-level ``now()``. It returns ``datetime.now()`` unless
    ``--frozen "YYYY-MM-DD HH:MM:SS"`` is given, in which case it always returns that datetime.
    The model is defined *after* the clock is set, so the definition-time ``created`` of the send
    messages is the frozen value too. With a frozen clock ``send_times`` are all ``0.0`` and
    ``total_send_time`` stays ``0.0``.
(b) **No Kafka.** kafka-python's ``KafkaProducer`` is replaced by ``CountingProducer``, whose
    ``send(topic, value)`` only counts calls and bytes, so the benchmark measures the model, not
    a broker. ``send_times`` is still computed exactly as the original does
    (``(now() - start_time).total_seconds()`` around the send loop, which still does the
    ``str(msg).encode('utf-8')``). One producer is shared by all runs (the original created one
    per Spark task, i.e. per run).
(c) **How kafkaConfig reaches the policies.** The 2019 code ran on a forked cadCAD engine that
    appended ``kafkaConfig`` to every policy and SUF call. cadCAD 0.5.3 has the equivalent
    channel ``ExecutionContext(additional_objs=...)`` (used by the 2020 PoC): when it is not
    ``None``, *every* policy is called with a 5th positional argument, and every SUF whose
    ``__code__.co_argcount`` is 6 gets it as 6th argument. So the original signatures run
    unchanged, and ``additional_objs`` is neither copied nor deep-copied in ``single_proc``
    mode, so the producer's counters survive. This was chosen over closures because it keeps the
    original functions and call path (and cost) intact. (The 2020 PoC's ``enter_action`` with
    ``(_g, step, sL, s, **kwargs)`` would *fail* on 0.5.3 with additional_objs set, since the
    5th argument is positional.)
(d) **Execution.** ``Experiment.append_model`` + ``Executor`` in ``single_proc`` mode instead of
    the Spark ``dist_proc`` mode; N and T come from the command line (the original used N=1,
    T=range(10) locally and T=range(5000) on EMR). Run numbering and output order are therefore
    cadCAD 0.5.3's: simulation 0, subset 0, run 1..N, and the 5 bookkeeping fields
    ``simulation, subset, run, substep, timestep`` instead of the fork's
    ``user_id, session_id, simulation_id, run_id``.

CLI
---
``python chat_model.py --runs N --timesteps T [--frozen TS] [--out records.jsonl] [--time-only]``

* ``--out``: one JSON object per record, in cadCAD's output order, keys in DataFrame order (state
  variables in declaration order, then ``simulation, subset, run, substep, timestep``);
  datetimes are rendered as ``str(dt)`` (e.g. ``"2019-10-03 00:00:00"``), ``None`` as ``null``.
* ``--time-only``: print exactly one JSON line
  ``{"engine": "cadCAD 0.5.3", "runs": N, "timesteps": T, "substeps": N*T*4, "sim_seconds": s}``
  where ``sim_seconds`` times only ``Executor.execute()`` (single_proc, no DataFrame).
* otherwise a JSON summary line with the same keys plus record/produced-message counts and the
  legacy distroduce figure ``msg_per_sec = total_msg_count / total_send_time`` of the last run.
"""
import argparse
import json
import sys
import time
from copy import deepcopy
from datetime import datetime
from functools import reduce

# --------------------------------------------------------------------------------------------
# (a) clock injection
# --------------------------------------------------------------------------------------------
_FROZEN_NOW = None


def now():
    """``datetime.now()``, or the frozen datetime given with ``--frozen``."""
    if _FROZEN_NOW is not None:
        return _FROZEN_NOW
    return datetime.now()


def freeze_clock(ts):
    global _FROZEN_NOW
    _FROZEN_NOW = None if ts is None else datetime.strptime(ts, "%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------------------------
# (b) producer stand-in
# --------------------------------------------------------------------------------------------
class CountingProducer:
    """Stand-in for ``kafka.KafkaProducer``: ``send`` only counts."""

    def __init__(self):
        self.sent = 0
        self.bytes = 0

    def send(self, topic, value):
        self.sent += 1
        self.bytes += len(value)


# --------------------------------------------------------------------------------------------
# distroduce/action_policies.py (2019), datetime.now() -> now()
# --------------------------------------------------------------------------------------------
def messages(client_id, room, action, _input, sender, receiver=None):
    return {
        'types': [action],
        'messages': [
            {
                'client': client_id, 'room': room, 'action': action,
                'sender': sender, 'receiver': receiver,
                'input': _input,
                'created': now()
            }
        ]
    }


def enter_action(state, room, user):
    def f(_g, step, sL, s, kafkaConfig):
        msgs = messages(state, room, 'enter', f"{user} enters {room}", user)
        msgs['send_times'] = [0.000000]
        msgs['msg_counts'] = [len(msgs['messages'])]
        return msgs
    return f


def message_actions(state, room, message_input, sender, receiver):
    msgs = messages(state, room, 'send', message_input, sender, receiver)
    msgs_list = msgs['messages']

    def send_action(_g, step, sL, s, kafkaConfig):
        start_time = now()
        for msg in msgs_list:
            producer = kafkaConfig['producer']
            topic: str = kafkaConfig['send_topic']
            encoded_msg = str(msg).encode('utf-8')
            producer.send(topic, encoded_msg)
        msgs['send_times'] = [(now() - start_time).total_seconds()]
        msgs['msg_counts'] = [len(msgs_list)]
        return msgs

    return send_action


def exit_action(state, room, user):
    def f(_g, step, sL, s, kafkaConfig):
        msgs = messages(state, room, 'exit', f"{user} exited {room}", user)
        msgs_list = msgs['messages']
        msgs['send_times'] = [0.000000]
        msgs['msg_counts'] = [len(msgs_list)]
        return msgs
    return f


# --------------------------------------------------------------------------------------------
# distroduce/state_updates.py (2019), datetime.now() -> now()
# --------------------------------------------------------------------------------------------
add = lambda a, b: a + b


def update_users(users, actions, action_types=['send', 'enter', 'exit']):
    users = deepcopy(users)
    for action_type in action_types:
        if action_type in actions['types']:
            for msg in actions['messages']:
                if msg['action'] == 'send' and action_type == 'send':
                    continue
                elif msg['action'] == 'enter' and action_type == 'enter':
                    for user in msg['sender']:
                        users.append(user)  # register_entered
                elif msg['action'] == 'exit' and action_type == 'exit':
                    for user in msg['sender']:
                        users.remove(user)  # remove_exited
    return users


def count_messages(_g, step, sL, s, actions, kafkaConfig):
    return 'total_msg_count', s['total_msg_count'] + reduce(add, actions['msg_counts'])


def send_message(state):
    return lambda _g, step, sL, s, actions, kafkaConfig: (
        state,
        {
            'users': update_users(s[state]['users'], actions),
            'messages': actions['messages'],
            'msg_counts': reduce(add, actions['msg_counts']),
            'send_times': reduce(add, actions['send_times'])
        }
    )


def add_send_time(_g, step, sL, s, actions, kafkaConfig):
    return 'total_send_time', s['total_send_time'] + reduce(add, actions['send_times'])


def current_time(state):
    return lambda _g, step, sL, s, actions, kafkaConfig: (state, now())


# --------------------------------------------------------------------------------------------
# distroduce/simulation.py (2019): PSUBs; built by a function so the definition-time
# timestamps are taken after the clock has been set.
# --------------------------------------------------------------------------------------------
def build_sim_composition():
    variables = {
        'client_a': send_message('client_a'),
        'client_b': send_message('client_b'),
        'total_msg_count': count_messages,
        'total_send_time': add_send_time,
        'record_creation': current_time('record_creation')
    }
    policy_group_1 = {
        "action_1": enter_action('server', 'room_1', 'A'),
        "action_2": enter_action('server', 'room_1', 'B')
    }
    policy_group_2 = {
        "action_1": message_actions('client_A', 'room_1', "Hi B", 'A', 'B'),
        "action_2": message_actions('client_B', 'room_1', "Hi A", 'B', 'A')
    }
    policy_group_3 = {
        "action_1": message_actions('client_A', 'room_1', "Bye B", 'A', 'B'),
        "action_2": message_actions('client_B', 'room_1', "Bye A", 'B', 'A')
    }
    policy_group_4 = {
        "action_1": exit_action('server', 'room_1', 'A'),
        "action_2": exit_action('server', 'room_1', 'B')
    }
    policy_groups = [policy_group_1, policy_group_2, policy_group_3, policy_group_4]
    return [{'policies': policy_group, 'variables': variables} for policy_group in policy_groups]


# distroduce/local_messaging_sim.py (2019)
def build_initial_conditions():
    return {
        'record_creation': now(),
        'client_a': {'users': [], 'messages': [], 'msg_count': 0, 'send_time': 0.0},
        'client_b': {'users': [], 'messages': [], 'msg_count': 0, 'send_time': 0.0},
        'total_msg_count': 0,
        'total_send_time': 0.000000
    }


def build_kafka_config(producer):
    # Original: {'send_topic': 'test', 'producer_config': {'bootstrap_servers': f'{argv[1]}:9092',
    # 'acks': 'all'}}, with 'producer' injected per Spark task. Here the producer is injected up front.
    return {
        'send_topic': 'test',
        'producer_config': {'bootstrap_servers': 'localhost:9092', 'acks': 'all'},
        'producer': producer,
    }


# --------------------------------------------------------------------------------------------
# execution
# --------------------------------------------------------------------------------------------
def run(runs, timesteps):
    """Define and execute the model; returns (records, sim_seconds, producer)."""
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim
    from cadCAD.engine import ExecutionMode, ExecutionContext, Executor

    initial_conditions = build_initial_conditions()
    sim_composition = build_sim_composition()
    sim_config = config_sim({"N": runs, "T": range(timesteps)})

    exp = Experiment()
    exp.append_model(
        user_id='Joshua',
        sim_configs=sim_config,
        initial_state=initial_conditions,
        partial_state_update_blocks=sim_composition,
        policy_ops=[lambda a, b: a + b]
    )

    producer = CountingProducer()
    kafka_config = build_kafka_config(producer)
    ctx = ExecutionContext(context=ExecutionMode().single_mode, additional_objs=kafka_config)
    executor = Executor(exec_context=ctx, configs=exp.configs, supress_print=True)

    t0 = time.perf_counter()
    records, _tensor_fields, _sessions = executor.execute()
    sim_seconds = time.perf_counter() - t0
    return records, sim_seconds, producer


def column_order(records):
    """DataFrame column order: keys in order of first appearance (first row first)."""
    cols = {}
    for r in records:
        for k in r:
            if k not in cols:
                cols[k] = None
    return list(cols)


def write_jsonl(records, path):
    cols = column_order(records)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps({k: r[k] for k in cols if k in r}, default=str, ensure_ascii=False))
            fh.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, required=True, help="Monte Carlo runs N")
    ap.add_argument("--timesteps", type=int, required=True, help="timesteps T (T = range(T))")
    ap.add_argument("--frozen", metavar="TS", default=None,
                    help='freeze now() at this time, e.g. "2019-10-03 00:00:00"')
    ap.add_argument("--out", metavar="PATH", default=None, help="write records as JSON lines")
    ap.add_argument("--time-only", action="store_true",
                    help="print only the timing JSON line")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.timesteps < 0:
        ap.error("--runs must be >= 1 and --timesteps >= 0")

    freeze_clock(args.frozen)
    records, sim_seconds, producer = run(args.runs, args.timesteps)

    substeps = args.runs * args.timesteps * 4
    expected_records = args.runs * (1 + args.timesteps * 4)
    if len(records) != expected_records:
        print(f"error: cadCAD returned {len(records)} records, expected {expected_records}",
              file=sys.stderr)
        return 1

    if args.out:
        write_jsonl(records, args.out)

    timing = {"engine": "cadCAD 0.5.3", "runs": args.runs, "timesteps": args.timesteps,
              "substeps": substeps, "sim_seconds": sim_seconds}
    if not args.time_only:
        last = records[-1]
        timing.update({
            "substeps_per_second": substeps / sim_seconds if sim_seconds > 0 else None,
            "records": len(records),
            "produced_messages": producer.sent,
            "produced_bytes": producer.bytes,
            "last_total_msg_count": last["total_msg_count"],
            "last_total_send_time": last["total_send_time"],
            # the legacy distroduce figure (per run; infinite with a frozen clock)
            "msg_per_sec": (last["total_msg_count"] / last["total_send_time"]
                            if last["total_send_time"] else None),
        })
    print(json.dumps(timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
