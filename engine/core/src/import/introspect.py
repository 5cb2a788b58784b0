"""`engine import cadcad`'s introspection: import a cadCAD model with the host's CPython and print
what the engine needs as one JSON object on stdout (embedded in the `engine` binary; see
engine/core/src/import/mod.rs for the format).

Usage: python introspect.py ROOT MODULE
  ROOT    the directory put first on sys.path (the model's directory, or a package's parent)
  MODULE  the module to import (`model`, or a package name)

Problems are collected, not raised, so that the user sees all of them at once: each is a dict
{"what": ..., "hint": ...} in "problems". A failure to import the model at all is one problem
with Python's traceback.
"""
import ast
import dis
import functools
import importlib
import inspect
import json
import math
import os
import sys
import sysconfig
import traceback

# Packages with C extensions that cannot be bundled into a WebAssembly component.
NATIVE = {"numpy", "pandas", "scipy", "cadCAD", "radcad", "numba", "matplotlib", "networkx",
          "sklearn", "torch", "tensorflow", "pyarrow", "polars"}
NATIVE_HINT = ("Python plugins run inside a WebAssembly component (componentize-py), which "
               "bundles only the standard library and your own .py files; packages with C "
               "extensions such as numpy cannot be loaded there. Use math/random/statistics "
               "instead, or port the functions that need it to Rust (docs/coming-from-cadcad.md)")

CADCAD_HINT = ("the functions run without cadCAD (the engine is the executor): keep Experiment, "
               "config_sim and Executor in another file (e.g. run.py) and import the module that "
               "defines initial_state, params and partial_state_update_blocks; give N and T with "
               "--runs and --timesteps")

problems = []


def native_hint(top):
    return CADCAD_HINT if top in ("cadCAD", "radcad") else NATIVE_HINT


def problem(what, hint=""):
    problems.append({"what": what, "hint": hint})


def where_of(obj):
    """`file:line` of a function, when Python knows it."""
    target = obj.func if isinstance(obj, functools.partial) else obj
    code = getattr(target, "__code__", None)
    if code is None:
        return None
    return f"{code.co_filename}:{code.co_firstlineno}"


def to_data(value, path):
    """`value` as JSON data, or a problem naming `path` (e.g. `initial_state['x'][2]`)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if -(2 ** 63) <= value < 2 ** 63:
            return value
        problem(f"{path} = {value} does not fit in a 64-bit integer",
                "the engine's integers are 64-bit; use a float or a string")
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        problem(f"{path} is {value}, which the scenario file cannot hold", "use a finite number or None")
        return None
    if isinstance(value, (list, tuple)):
        return [to_data(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                problem(f"{path} has the key {k!r} ({type(k).__name__}); keys must be strings",
                        "the engine's maps have string keys, as JSON and MessagePack do")
                continue
            out[k] = to_data(v, f"{path}[{k!r}]")
        return out
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__name__
    hint = "state and params must be numbers, strings, booleans, None, lists and dicts with string keys"
    if callable(value):
        hint += "; a function in params cannot be imported: call it from a policy instead"
    elif kind.__module__.split(".")[0] in NATIVE:
        hint += f"; convert it to a plain Python value (e.g. `.tolist()` or `float(...)`)"
    problem(f"{path} is a {name}, which the scenario file cannot hold", hint)
    return None


def reads_arg(fn, index):
    """Whether `fn` reads its positional argument `index` (used to spot readers of sH)."""
    fn = inspect.unwrap(fn.func if isinstance(fn, functools.partial) else fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return True  # a callable object: cannot tell, assume it does
    if index >= code.co_argcount:
        return False
    name = code.co_varnames[index]
    if name in code.co_cellvars:
        return True  # a nested function reads it
    for ins in dis.get_instructions(code):
        if ins.opname.startswith("LOAD_") and (ins.argval == name or
                                               (isinstance(ins.argval, tuple) and name in ins.argval)):
            return True
    return False


def direct_imports(root, files):
    """Top-level names of the modules that the model's own files import."""
    tops = set()
    for rel in files:
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as fh:
                tree = ast.parse(fh.read())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops.add(node.module.split(".")[0])
    return tops


def check_call(fn, nargs, what, shape):
    if not callable(fn):
        problem(f"{what} is a {type(fn).__name__}, not a function", f"cadCAD calls it as {shape}")
        return False
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True  # a builtin without a signature: let the call tell
    try:
        sig.bind(*range(nargs))
    except TypeError as e:
        at = where_of(fn)
        problem(f"{what} ({at if at else repr(fn)}) cannot be called as cadCAD calls it, {shape}: {e}",
                "cadCAD 0.5.3 passes exactly these arguments (additional_objs is not supported)")
        return False
    return True


def main():
    root, modname = sys.argv[1], sys.argv[2]
    sys.path.insert(0, root)
    sys.dont_write_bytecode = True
    before = set(sys.modules)
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError as e:
        top = (e.name or "").split(".")[0]
        if top in NATIVE:
            problem(f"the model imports {top}, which cannot run inside a WebAssembly component "
                    f"({e})", native_hint(top))
        else:
            problem(f"cannot import the model:\n{traceback.format_exc().rstrip()}",
                    "engine import runs the model with the host's Python (`--python` chooses it)")
        return {"problems": problems}
    except BaseException:  # noqa: BLE001 - any failure of the user's module is reported as it is
        problem(f"cannot import the model:\n{traceback.format_exc().rstrip()}",
                "engine import runs the model with the host's Python (`--python` chooses it)")
        return {"problems": problems}

    # Modules the model pulled in: its own files are bundled, the standard library is in the
    # component; anything else the model's files import themselves cannot be loaded there.
    # (What those packages import in turn is not listed: it would bury the one line that matters.)
    root_abs = os.path.realpath(root)
    files, outside = [], {}
    stdlib = getattr(sys, "stdlib_module_names", set())
    stdlib_dir = os.path.realpath(sysconfig.get_paths()["stdlib"])
    for name in sorted(set(sys.modules) - before):
        path = getattr(sys.modules.get(name), "__file__", None)
        real = os.path.realpath(path) if path else ""
        if real.startswith(root_abs + os.sep):
            if real.endswith(".py"):
                files.append(os.path.relpath(real, root_abs))
        elif "." not in name and name not in stdlib and name not in sys.builtin_module_names \
                and not real.startswith(stdlib_dir + os.sep):
            outside[name] = path
    for top in sorted(direct_imports(root_abs, files) & set(outside)):
        if top in NATIVE:
            problem(f"the model imports {top}, which cannot run inside a WebAssembly component",
                    native_hint(top))
        else:
            problem(f"the model imports {top} ({outside[top]}), which is neither the standard "
                    f"library nor a file under {root_abs}",
                    "only the standard library and the model's own .py files are bundled into "
                    "the component; copy pure-Python helpers next to the model")

    for attr, hint in (("env_processes", "write the exogenous process as a policy (docs/coming-from-cadcad.md)"),
                       ("policy_ops", "remove it and set `aggregation:` in the scenario (add, mul, max, min, first, last, merge)")):
        if getattr(module, attr, None):
            problem(f"{modname}.{attr} is not supported by engine import", hint)

    missing = [a for a in ("initial_state", "partial_state_update_blocks") if not hasattr(module, a)]
    if missing:
        problem(f"{modname} has no {' and no '.join(missing)}",
                "engine import reads the module-level initial_state, params and "
                "partial_state_update_blocks of a cadCAD model")
        return {"problems": problems}

    state = module.initial_state
    if not isinstance(state, dict) or not state:
        problem(f"{modname}.initial_state is a {type(state).__name__}, not a non-empty dict")
        state = {}
    state = to_data(state, "initial_state")

    sim_config = getattr(module, "sim_config", None)
    params = getattr(module, "params", None)
    if params is None:
        params = getattr(module, "sys_params", None)
    runs = timesteps = None
    if sim_config is not None:
        configs = sim_config if isinstance(sim_config, (list, tuple)) else [sim_config]
        first = configs[0] if configs and isinstance(configs[0], dict) else {}
        if "N" in first:
            runs = first["N"]
        if "T" in first:
            t = first["T"]
            timesteps = len(t) if isinstance(t, range) else t
        if params is None and "M" in first:
            ms = [c.get("M", {}) for c in configs]
            # config_sim's output holds one parameter subset per entry: zip them back into lists.
            params = ms[0] if len(ms) == 1 else {k: [m.get(k) for m in ms] for k in ms[0]}
        if not isinstance(runs, int) or not isinstance(timesteps, int):
            problem(f"{modname}.sim_config has no usable N and T (got N={runs!r}, T={first.get('T')!r})",
                    "give --runs N --timesteps T")
            runs = timesteps = None
    if params is None:
        params = {}
    if not isinstance(params, dict):
        problem(f"{modname}.params is a {type(params).__name__}, not a dict")
        params = {}
    params = to_data(params, "params")

    psubs = module.partial_state_update_blocks
    blocks_expr = f"{modname}.partial_state_update_blocks"
    if isinstance(psubs, dict):  # cadCAD's older {label: block} form
        blocks_expr = f"list({blocks_expr}.values())"
        psubs = list(psubs.values())
    if not isinstance(psubs, (list, tuple)):
        problem(f"{modname}.partial_state_update_blocks is a {type(psubs).__name__}, not a list of blocks")
        return {"problems": problems}

    functions = {}  # id(fn) -> entry
    exports = set()
    blocks = []
    history = False

    def register(fn, kind, where_expr, key):
        nonlocal history
        e = functions.get(id(fn))
        if e is not None:
            return e["export"]
        label, expr, imp = reference(fn, module, modname)
        if expr is None:
            expr = where_expr
        base = getattr(fn, "__name__", "") if isinstance(getattr(fn, "__name__", None), str) else ""
        if not base.isidentifier() or base == "<lambda>":
            base = ("p_" if kind == "policy" else "s_") + "".join(c if c.isalnum() else "_" for c in key)
        export, n = base, 2
        while export in exports:
            export, n = f"{base}_{n}", n + 1
        exports.add(export)
        reads_history = reads_arg(fn, 2)
        history = history or reads_history
        functions[id(fn)] = {"export": export, "kind": kind, "expr": expr, "import": imp,
                             "label": label or f"{where_expr} ({type(fn).__name__})",
                             "at": where_of(fn), "reads_history": reads_history}
        return export

    for i, block in enumerate(psubs):
        if not isinstance(block, dict):
            problem(f"block {i} of partial_state_update_blocks is a {type(block).__name__}, not a dict")
            continue
        extra = sorted(set(block) - {"policies", "variables", "states", "label"})
        if extra:
            problem(f"block {i} has the key(s) {', '.join(map(repr, extra))}, which cadCAD ignores",
                    "a block holds 'policies' and 'variables'")
        pols = block.get("policies", {}) or {}
        vars_ = block.get("variables", block.get("states", {})) or {}
        out = {"policies": [], "variables": []}
        for key, fn in pols.items():
            what = f"block {i}, policy {key!r}"
            if check_call(fn, 4, what, "policy(params, substep, sH, s) -> dict"):
                export = register(fn, "policy", f"_blocks[{i}]['policies'][{key!r}]", str(key))
                out["policies"].append({"key": str(key), "export": export})
        vkey = "variables" if "variables" in block else "states"
        for var, fn in vars_.items():
            what = f"block {i}, variable {var!r}"
            if var not in (state or {}):
                problem(f"{what} is not in initial_state",
                        "cadCAD records only the variables of initial_state; declare it there")
                continue
            if check_call(fn, 5, what, "suf(params, substep, sH, s, _input) -> (name, value)"):
                export = register(fn, "state_update", f"_blocks[{i}][{vkey!r}][{var!r}]", str(var))
                out["variables"].append({"variable": var, "export": export})
        blocks.append(out)

    return {
        "problems": problems,
        "module": modname,
        "file": getattr(module, "__file__", None),
        "files": files,
        "blocks_expr": blocks_expr,
        "initial_state": state,
        "params": params,
        "runs": runs,
        "timesteps": timesteps,
        "history": history,
        "blocks": blocks,
        "functions": list(functions.values()),
    }


def reference(fn, module, modname):
    """(label, expression for app.py, module to import) naming `fn` by a name, if it has one:
    a module-level name of the model, else its own module and qualified name."""
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and getattr(module, name, None) is fn:
        return f"{modname}.{name}", f"{modname}.{name}", None
    for k, v in vars(module).items():
        if v is fn and k.isidentifier():
            return f"{modname}.{k}", f"{modname}.{k}", None
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if isinstance(mod, str) and isinstance(qual, str) and "<" not in qual and mod in sys.modules:
        obj = sys.modules[mod]
        for part in qual.split("."):
            obj = getattr(obj, part, None)
        if obj is fn:
            return f"{mod}.{qual}", f"{mod}.{qual}", mod
    if isinstance(fn, functools.partial):
        inner = getattr(fn.func, "__qualname__", "?")
        return f"functools.partial({getattr(fn.func, '__module__', '?')}.{inner}, ...)", None, None
    if isinstance(mod, str) and isinstance(qual, str):
        return f"{mod}.{qual}", None, None
    return None, None, None


if __name__ == "__main__":
    try:
        result = main()
    except BaseException:  # noqa: BLE001 - a bug here must still reach the engine as text
        result = {"problems": [{"what": "introspection failed:\n" + traceback.format_exc().rstrip(),
                                "hint": "this is a bug in engine import; please report it"}]}
    sys.stdout.flush()
    print("\n@@distroduce-import@@" + json.dumps(result, allow_nan=False))
