"""Plain-CPython tests of the SDK: `python3 -m unittest discover -s plugin-sdk/python/tests`."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from distroduce import PluginError, format_python, msgpack, policy, state_update  # noqa: E402
from distroduce import cadcad, plugin  # noqa: E402


class Host:
    def __init__(self):
        self.failed, self.emitted, self.logs = None, [], []

    def rng_u64(self):
        return 7

    def rng_f64(self):
        return 0.5

    def now_ns(self):
        return 1_570_060_800_000_000_000

    def log(self, level, msg):
        self.logs.append((level, msg))

    def emit(self, b):
        self.emitted.append(msgpack.unpackb(b))

    def fail(self, msg):
        self.failed = msg


class MsgpackTest(unittest.TestCase):
    def test_round_trip_keeps_types_and_order(self):
        for v in [0, 1, -1, -32, -33, 127, 128, 255, 256, 65535, 65536, 2**32, 2**64 - 1, -(2**63),
                  0.0, 1.5, -2.25, "", "a" * 31, "b" * 32, "c" * 300, "é", b"\x00\x01", True, False, None,
                  [], [1, [2, 3]], {"z": 1, "a": 2.0}, {"k": {"n": [None, "x"]}}, list(range(20)),
                  {str(i): i for i in range(20)}]:
            out = msgpack.unpackb(msgpack.packb(v))
            self.assertEqual(out, v)
            self.assertEqual(type(out), type(v))
            if isinstance(v, dict):
                self.assertEqual(list(out), list(v))

    def test_rmp_encodings(self):
        self.assertEqual(msgpack.packb(1.0), b"\xcb?\xf0\x00\x00\x00\x00\x00\x00")
        self.assertEqual(msgpack.packb(-1), b"\xff")
        self.assertEqual(msgpack.packb(200), b"\xcc\xc8")
        self.assertEqual(msgpack.packb(-100), b"\xd0\x9c")

    def test_errors(self):
        with self.assertRaises(msgpack.MsgpackError):
            msgpack.unpackb(b"\x92\x01")
        with self.assertRaises(msgpack.MsgpackError):
            msgpack.packb(2**64)


class PluginTest(unittest.TestCase):
    def test_call_and_failures(self):
        @policy(name="t_pol", reads={"args": ["n"]})
        def pol(args, ctx):
            ctx.emit("t", "k", {"n": args["n"]})
            return {"n": [args["n"], ctx.now_str(), ctx.rng_f64()]}

        @state_update(name="t_bad", output="int")
        def bad(state):
            raise PluginError("nope")

        @state_update(name="t_crash")
        def crash():
            return 1 // 0

        h = Host()
        inp = msgpack.packb({"ctx": {"run": 1, "seed": 2**64 - 1}, "args": {"n": 3}})
        self.assertEqual(msgpack.unpackb(plugin.call("t_pol", inp, h)), {"n": [3, "2019-10-03 00:00:00", 0.5]})
        self.assertEqual(h.emitted, [{"topic": "t", "value": {"n": 3}, "key": "k"}])
        self.assertEqual(plugin.call("t_bad", inp, h), b"")
        self.assertEqual(h.failed, "nope")
        plugin.call("t_crash", inp, h)
        self.assertIn("ZeroDivisionError", h.failed)
        self.assertIn("Traceback", h.failed)
        d = msgpack.unpackb(plugin.describe("t_bad"))
        self.assertEqual(d, {"kind": "state_update", "output": "int",
                             "reads": {"state": None, "params": [], "signals": [], "args": []}})

    def test_unknown_parameter_is_an_error(self):
        with self.assertRaises(TypeError):
            @policy(name="t_typo")
            def typo(stat):
                return {}

    def test_format_python(self):
        self.assertEqual(format_python(0), "1970-01-01 00:00:00")
        self.assertEqual(format_python(1_500_000_000), "1970-01-01 00:00:01.500000")
        self.assertEqual(format_python(-1000), "1969-12-31 23:59:59.999999")


class CadcadTest(unittest.TestCase):
    """distroduce.cadcad: cadCAD functions called with cadCAD's arguments, results checked."""

    def test_functions_get_cadcads_arguments(self):
        seen = {}

        def p(params, substep, sH, s):
            seen["policy"] = (params, substep, s)
            return {"add": params["k"] + s["x"]}

        def suf(params, substep, sH, s, _input):
            seen["suf"] = (substep, _input, sH)
            return "x", s["x"] + _input["add"]

        cadcad.policy(p, "c_p")
        cadcad.state_update(suf, "c_suf")
        h = Host()
        state = {"x": 1, "simulation": 0, "subset": 0, "run": 1, "substep": 0, "timestep": 0}
        ctx = {"substep": 2, "timestep": 1, "variable": "x"}
        out = plugin.call("c_p", msgpack.packb({"ctx": ctx, "params": {"k": 10}, "state": state}), h)
        self.assertIsNone(h.failed)
        self.assertEqual(msgpack.unpackb(out), {"add": 11})
        self.assertEqual(seen["policy"], ({"k": 10}, 2, state))
        hist = [[state]]
        inp = {"ctx": ctx, "params": {}, "state": state, "signals": {"add": 11}, "history": hist}
        self.assertEqual(msgpack.unpackb(plugin.call("c_suf", msgpack.packb(inp), h)), 12)
        self.assertEqual(seen["suf"], (2, {"add": 11}, hist))

    def test_wrong_results_and_missing_history_fail_clearly(self):
        cadcad.state_update(lambda params, substep, sH, s, _input: ("y", 1), "c_wrong", label="m.wrong")
        cadcad.state_update(lambda params, substep, sH, s, _input: 1, "c_bare", label="m.bare")
        cadcad.policy(lambda params, substep, sH, s: [1], "c_list", label="m.lst")
        cadcad.policy(lambda params, substep, sH, s: {"n": len(sH)}, "c_hist", label="m.hist")
        inp = msgpack.packb({"ctx": {"substep": 1, "variable": "x"}, "params": {}, "state": {"x": 0}})
        for name, words in [("c_wrong", ["m.wrong", "'y'", "'x'"]), ("c_bare", ["m.bare", "(name, value)"]),
                            ("c_list", ["m.lst", "dict of signals"]), ("c_hist", ["m.hist", "history: true"])]:
            h = Host()
            self.assertEqual(plugin.call(name, inp, h), b"")
            for w in words:
                self.assertIn(w, h.failed, name)


if __name__ == "__main__":
    unittest.main()
