#!/usr/bin/env python3
"""Run a distroduce scenario on Apache Spark: one `engine run --shard I/N` per Spark task.

    spark-submit [--master local[2]|yarn] deploy/spark/distroduce_spark.py SCENARIO \
        --shards N --out OUT [--engine PATH] [--brokers B] [--write-messages] [-- ENGINE RUN ARGS]

On the driver:
  1. `engine validate SCENARIO` (it builds `crate:` plugins into <workspace>/target/wasm/...);
  2. stage a copy of the scenario whose plugins are all `wasm:` with bare file names, next to the
     .wasm files and the engine binary, and ship them to the executors with `sc.addFile`;
  3. `sc.parallelize(range(N), N).mapPartitions(run_shard).collect()`: each task runs its shard with
     the shipped engine (which produces to Kafka itself, from the executor) and returns the shard's
     output files as text; a shard whose engine exits non-zero raises, which fails the Spark job;
  4. write the shard outputs to local shard dirs, `engine merge --out OUT` them (exactly what one
     local run writes), print the merged summary. An OUT with a scheme (hdfs://, s3://, s3a://,
     file://...) is merged into a local temp dir and copied there with the Hadoop FileSystem API.

`--prepare-only DIR` does steps 1-2 into DIR without Spark (a bundle to upload for cluster mode).
See deploy/spark/README.md.

Kafka credentials never go on a command line (Spark logs them, and `ps` shows them): the scenario
names them (`kafka.sasl.password: {env: VAR}` or `{file: /abs/path}`); `--forward-env VAR` hands
the driver's VAR to every shard's engine through its environment, and `{file: ...}`/`tls.ca` paths
must be absolute and present on every node.
"""

import argparse
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINE_NAME = "distroduce-engine"
SCENARIO_NAME = "distroduce-scenario.yaml"
# Options of `engine run` the driver sets itself, per shard.
RESERVED = {"--shard", "--out", "--brokers", "--write-messages", "--summary-json"}


def log(msg):
    print(f"distroduce-spark: {msg}", file=sys.stderr, flush=True)


def fail(msg, code=2):
    log(f"error: {msg}")
    sys.exit(code)


# --------------------------------------------------------------------------------------------
# Driver side: preparing the scenario


def workspace_root(crate_dir: Path) -> Path:
    """The nearest ancestor with a `[workspace]` manifest, else the crate (as the engine does)."""
    for a in [crate_dir, *crate_dir.parents]:
        toml = a / "Cargo.toml"
        if toml.is_file() and "[workspace]" in toml.read_text(errors="replace"):
            return a
    return crate_dir


def crate_wasm(crate_dir: Path) -> Path:
    """Where `engine validate` leaves the .wasm of a plugin crate."""
    text = (crate_dir / "Cargo.toml").read_text()
    try:
        import tomllib  # Python >= 3.11

        manifest = tomllib.loads(text)
    except ImportError:  # `name = "..."` of the [lib] and [package] tables
        import re

        manifest, table = {}, None
        for line in text.splitlines():
            m = re.match(r"\s*\[([\w.-]+)\]", line)
            if m:
                table = manifest.setdefault(m.group(1), {})
            m = re.match(r'\s*name\s*=\s*"([^"]+)"', line)
            if m and table is not None:
                table["name"] = m.group(1)
    name = (manifest.get("lib") or {}).get("name") or manifest["package"]["name"]
    name = name.replace("-", "_")
    return workspace_root(crate_dir) / "target" / "wasm" / "wasm32-unknown-unknown" / "release" / f"{name}.wasm"


class _Node:
    """A scalar's text and position, as PyYAML's composer gives them."""

    class _Mark:
        def __init__(self, index):
            self.index = index

    def __init__(self, value, start, end):
        self.value, self.start_mark, self.end_mark = value, self._Mark(start), self._Mark(end)


def plugin_entries(text: str):
    """(plugin name, kind node, path node) for every plugin of the scenario, located with PyYAML's
    composer: only positions are used, so the rewrite leaves every other byte as it was (YAML 1.1
    vs 1.2 differences between PyYAML and the engine's parser cannot change the scenario). Without
    PyYAML (a bare cluster Python) a line-based reader handles the usual forms under `plugins:`."""
    try:
        import yaml
    except ImportError:
        return plugin_entries_plain(text)

    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        fail("the scenario is not a YAML mapping")
    plugins = next((v for k, v in root.value if getattr(k, "value", None) == "plugins"), None)
    if plugins is None:
        return []
    if not isinstance(plugins, yaml.MappingNode):
        fail("`plugins:` is not a mapping")
    out = []
    for k, v in plugins.value:
        if not isinstance(v, yaml.MappingNode):
            fail(f"plugin `{k.value}` is not a mapping like {{crate: DIR}} or {{wasm: FILE}}")
        src = [(kk, vv) for kk, vv in v.value if kk.value in ("crate", "wasm")]
        if len(src) != 1 or not isinstance(src[0][1], yaml.ScalarNode):
            fail(f"plugin `{k.value}` needs exactly one of `wasm:` or `crate:`")
        out.append((k.value, src[0][0], src[0][1]))
    return out


def plugin_entries_plain(text: str):
    """`name: {crate|wasm: PATH}` or `name:` + an indented `crate|wasm: PATH` line, under a
    top-level `plugins:` (PATH plain or quoted, no comments inside the braces)."""
    import re

    out, inside, name, pos = [], False, None, 0
    for line in text.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        if re.match(r"plugins\s*:\s*(#.*)?$", line.rstrip("\r\n")):
            inside = True
            continue
        if inside and re.match(r"[^\s#]", line):
            break  # the next top-level key
        if not inside:
            continue
        m = re.match(r"(\s+)([\w.-]+)\s*:\s*(\{)?", line)
        if m and (m.group(3) or not re.search(r":\s*\S", line[m.end(2) :].split("#")[0])):
            name = m.group(2)
        m = re.search(r"(crate|wasm)\s*:\s*(\"[^\"]*\"|'[^']*'|[^\s,}#]+)", line)
        if m and name:
            raw = m.group(2)
            value = raw[1:-1] if raw[0] in "\"'" else raw
            kind = _Node(m.group(1), start + m.start(1), start + m.end(1))
            out.append((name, kind, _Node(value, start + m.start(2), start + m.end(2))))
            name = None
    return out


def run_engine(engine, args, what):
    p = subprocess.run([engine, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        fail(f"{what} failed (exit {p.returncode})", p.returncode or 1)
    return p


def is_uri(path: str) -> bool:
    return "://" in path


def uri_join(base: str, rel: str) -> str:
    """`rel` relative to the file URI `base` (s3://b/x/s.yaml + ../p.wasm = s3://b/p.wasm)."""
    import posixpath

    scheme, rest = base.split("://", 1)
    authority, _, path = rest.partition("/")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname("/" + path), rel))
    return f"{scheme}://{authority}{joined}"


def prepare(scenario: str, engine: str, stage: Path, fetch=None):
    """Validate the scenario (building crate plugins) and stage a self-contained copy in `stage`:
    the rewritten scenario, one .wasm per plugin and the engine. The scenario, `wasm:` paths and the
    engine may be URIs (s3://, hdfs://, ...) when `fetch(uri, local_path)` is given (the Hadoop
    FileSystem API); relative plugin paths of a remote scenario are relative to its URI.
    Returns the staged file paths."""
    stage.mkdir(parents=True, exist_ok=True)
    remote = {}  # what had to be fetched

    def local(src: str, dst: Path) -> Path:
        if not is_uri(src):
            return Path(src)
        if fetch is None:
            fail(f"{src}: URIs need Spark (not with --prepare-only)")
        fetch(src, dst)
        remote[src] = dst
        return dst

    engine_local = local(engine, stage / (ENGINE_NAME + ".fetched"))
    if not engine_local.is_file():
        found = shutil.which(str(engine_local))
        if not found:
            fail(f"engine binary {engine} not found: build it (cargo build --release -p distroduce-cli) or pass --engine")
        engine_local = Path(found)
    staged_engine = stage / ENGINE_NAME
    if engine_local.resolve() != staged_engine.resolve():
        shutil.copyfile(engine_local, staged_engine)
    staged_engine.chmod(staged_engine.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    if is_uri(scenario):
        scenario_local = local(scenario, stage / "fetched-scenario.yaml")
    else:
        scenario_local = Path(scenario)
        if not scenario_local.is_file():
            fail(f"no such scenario file {scenario}")
        # Builds the `crate:` plugins, and reports any mistake with the user's own file and line.
        run_engine(str(staged_engine), ["validate", str(scenario_local)], f"engine validate {scenario}")
    text = scenario_local.read_text()
    base = scenario_local.resolve().parent
    edits = []  # (start, end, replacement), applied back to front
    files = []
    for name, kind, path in plugin_entries(text):
        staged = stage / f"distroduce-{name}.wasm"
        if kind.value == "crate":
            if is_uri(scenario):
                fail(f"plugin `{name}` is a crate in a remote scenario: build it and give `wasm:` (or stage it locally with --prepare-only)")
            wasm = crate_wasm((base / path.value).resolve())
        elif is_uri(path.value) or os.path.isabs(path.value) or not is_uri(scenario):
            src = path.value if is_uri(path.value) or os.path.isabs(path.value) else str(base / path.value)
            wasm = local(src, staged)
        else:
            wasm = local(uri_join(scenario, path.value), staged)
        if not wasm.is_file():
            fail(f"plugin `{name}`: {wasm} is missing" + (" after `engine validate`" if kind.value == "crate" else ""))
        # Named after the plugin: unique, and never the name of a file the user shipped with --files.
        if wasm.resolve() != staged.resolve():
            shutil.copyfile(wasm, staged)
        files.append(staged)
        edits.append((kind.start_mark.index, kind.end_mark.index, "wasm"))
        edits.append((path.start_mark.index, path.end_mark.index, json.dumps(staged.name)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    staged_scenario = stage / SCENARIO_NAME
    staged_scenario.write_text(text)
    # The staged copy must stand on its own (bare names resolve next to it).
    run_engine(str(staged_engine), ["validate", str(staged_scenario)], "engine validate (staged scenario)")
    for p in remote.values():
        if p.exists() and p not in files:
            p.unlink()
    return staged_scenario, staged_engine, files


# --------------------------------------------------------------------------------------------
# Executor side: one shard per task


def run_shard_fn(n, wasm_names, brokers, write_messages, extra, timeout, env=None):
    """The mapPartitions function; closes over plain values only (it is pickled to executors).
    `env`: variables (credentials) set in the engine's environment, never on its command line."""

    def run_shard(shard_ids):
        from pyspark import SparkFiles

        for i in shard_ids:
            started = time.time()
            engine = SparkFiles.get(ENGINE_NAME)
            # YARN localisation does not always keep the exec bit.
            if not os.access(engine, os.X_OK):
                os.chmod(engine, os.stat(engine).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            work = Path(tempfile.mkdtemp(prefix=f"distroduce-shard{i}-"))
            try:
                # A private copy of the scenario and its plugins: bare names resolve next to it.
                for f in [SCENARIO_NAME, *wasm_names]:
                    shutil.copyfile(SparkFiles.get(f), work / f)
                out = work / "out"
                cmd = [engine, "run", str(work / SCENARIO_NAME), "--shard", f"{i}/{n}", "--out", str(out)]
                if brokers:
                    cmd += ["--brokers", brokers]
                if write_messages:
                    cmd.append("--write-messages")
                cmd += extra
                try:
                    p = subprocess.run(
                        cmd, check=False, capture_output=True, text=True, cwd=work, timeout=timeout,
                        env={**os.environ, **(env or {})},
                    )
                except subprocess.TimeoutExpired as e:
                    raise RuntimeError(f"shard {i}/{n} on {socket.gethostname()}: engine timed out after {timeout}s\n{e.stderr or ''}")
                if p.returncode != 0:
                    raise RuntimeError(
                        f"shard {i}/{n} on {socket.gethostname()}: `{' '.join(cmd)}` exited {p.returncode}\n"
                        f"--- engine stderr ---\n{p.stderr[-8000:]}\n--- engine stdout ---\n{p.stdout[-2000:]}"
                    )
                # Bytes, not text: records.parquet (--format parquet) is binary.
                files = {f.name: f.read_bytes() for f in sorted(out.iterdir()) if f.is_file()}
                yield {
                    "shard": i,
                    "host": socket.gethostname(),
                    "task_seconds": time.time() - started,
                    "files": files,
                    "stdout": p.stdout,
                }
            finally:
                shutil.rmtree(work, ignore_errors=True)

    return run_shard


# --------------------------------------------------------------------------------------------
# Driver side: outputs


def hadoop_fs(sc, uri: str):
    jvm = sc._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return jvm, path, path.getFileSystem(sc._jsc.hadoopConfiguration())


def hadoop_get(sc, uri: str, dst: Path):
    """Copy one file from a Hadoop file system URI to a local path."""
    jvm, src, fs = hadoop_fs(sc, uri)
    if not fs.isFile(src):
        fail(f"{uri}: no such file")
    dst.parent.mkdir(parents=True, exist_ok=True)
    # useRawLocalFileSystem: no .crc file next to the copy.
    fs.copyToLocalFile(False, src, jvm.org.apache.hadoop.fs.Path(dst.resolve().as_uri()), True)
    log(f"fetched {uri}")


def hadoop_put(sc, local_dir: Path, dest: str):
    """Copy every file of local_dir into the directory `dest` (hdfs://, s3://, s3a://, file://, ...)
    with the Hadoop FileSystem API: the files keep their names (records.jsonl, not part-00000)."""
    jvm, dst, fs = hadoop_fs(sc, dest)
    fs.mkdirs(dst)
    for f in sorted(local_dir.iterdir()):
        target = jvm.org.apache.hadoop.fs.Path(dst, f.name)
        fs.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(f.resolve().as_uri()), target)
        log(f"wrote {target.toString()}")


def default_engine() -> str:
    here = Path(__file__).resolve().parent
    built = here.parent.parent / "target" / "release" / "engine"
    if built.is_file():
        return str(built)
    return shutil.which("engine") or shutil.which(ENGINE_NAME) or "engine"


def parse_args(argv):
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    else:
        extra = []
    ap = argparse.ArgumentParser(
        prog="distroduce_spark.py",
        description="Run a distroduce scenario on Spark, one engine shard per task, and merge the outputs.",
        epilog="Arguments after `--` go to every `engine run` (e.g. -- --timesteps 2000 --threads 2).",
    )
    ap.add_argument("scenario", help="scenario file (YAML), on the driver's file system")
    ap.add_argument("--shards", type=int, help="number of shards = Spark tasks (default: spark.default.parallelism)")
    ap.add_argument("--out", help="merged output dir: a local path, or hdfs://, s3://, s3a://, file:// ...")
    ap.add_argument("--engine", default=None, help="engine binary (default: <repo>/target/release/engine, else `engine` on PATH); shipped to the executors")
    ap.add_argument("--brokers", help="Kafka bootstrap servers, as seen from the executors (overrides the scenario)")
    ap.add_argument(
        "--forward-env",
        action="append",
        default=[],
        metavar="VAR",
        help="pass the driver's environment variable VAR (e.g. the one a scenario's `password: {env: VAR}` names) "
        "to every shard's engine through its environment, never its command line (repeatable)",
    )
    ap.add_argument("--write-messages", action="store_true", help="also merge messages.jsonl")
    ap.add_argument("--task-timeout", type=float, default=None, help="seconds before a shard's engine is killed (default: none)")
    ap.add_argument("--stage", help="dir for the staged scenario, plugins and engine (default: a temp dir)")
    ap.add_argument("--prepare-only", metavar="DIR", help="only validate and stage into DIR (no Spark); prints the staged files")
    ap.add_argument("--keep-shards", metavar="DIR", help="also keep the per-shard outputs in DIR (local)")
    a = ap.parse_args(argv)
    a.extra = extra
    bad = [x.split("=")[0] for x in extra if x.split("=")[0] in RESERVED]
    if bad:
        ap.error(f"{', '.join(bad)} after `--`: the driver sets these itself; use its own options")
    if a.prepare_only is None and not a.out:
        ap.error("--out is required")
    if a.shards is not None and a.shards < 1:
        ap.error("--shards must be >= 1")
    for var in a.forward_env:
        if not var or "=" in var:
            ap.error(f"--forward-env {var}: give a variable's name, not a value (credentials never go on a command line)")
        if var not in os.environ:
            ap.error(f"--forward-env {var}: the variable is not set in the driver's environment")
    return a


def main(argv):
    a = parse_args(argv)
    t0 = time.time()
    engine = a.engine or default_engine()
    stem = a.scenario.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]

    if a.prepare_only:
        s, e, w = prepare(a.scenario, engine, Path(a.prepare_only))
        for f in [s, e, *w]:
            print(f)
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="distroduce-spark-"))
    try:
        from pyspark import SparkConf, SparkContext

        conf = SparkConf().setAppName(f"distroduce {stem}")
        # A retried shard would produce its messages to Kafka a second time: fail instead.
        conf.setIfMissing("spark.task.maxFailures", "1")
        conf.setIfMissing("spark.speculation", "false")
        sc = SparkContext(conf=conf)
        try:
            t_context = time.time()
            stage = Path(a.stage) if a.stage else tmp / "stage"
            fetch = lambda uri, dst: hadoop_get(sc, uri, dst)  # noqa: E731
            staged_scenario, staged_engine, wasm = prepare(a.scenario, engine, stage, fetch)
            t_prepared = time.time()
            for f in [staged_scenario, staged_engine, *wasm]:
                sc.addFile(str(f))
            n = a.shards or sc.defaultParallelism
            task_cpus = int(sc.getConf().get("spark.task.cpus", "1"))
            extra = list(a.extra)
            if not any(x == "--threads" or x.startswith("--threads=") for x in extra):
                extra += ["--threads", str(task_cpus)]  # the cores Spark gives one task
            if not a.brokers and "brokers:" not in staged_scenario.read_text():
                log("warning: no --brokers and none in the scenario: every shard uses its own embedded broker (messages vanish)")
            log(f"running {n} shard(s) on {sc.master}: engine run ... --shard I/{n} {' '.join(extra)}")
            env = {var: os.environ[var] for var in a.forward_env}
            if env:
                log(f"forwarding to every shard's environment: {', '.join(sorted(env))}")
            fn = run_shard_fn(n, [w.name for w in wasm], a.brokers, a.write_messages, extra, a.task_timeout, env)
            try:
                results = sc.parallelize(range(n), n).mapPartitions(fn).collect()
            except Exception as e:  # py4j's Py4JJavaError wraps the task's Python traceback
                text = str(e)
                at = text.find("RuntimeError: shard ")
                detail = text[at : at + 4000].split(" SQLSTATE")[0].rstrip() if at >= 0 else text[:4000]
                fail(f"the Spark job failed, so the run did:\n{detail}", 1)
            t_job = time.time()

            got = sorted(r["shard"] for r in results)
            if got != list(range(n)):
                fail(f"expected shards 0..{n - 1}, got {got}", 1)
            shards_dir = Path(a.keep_shards) if a.keep_shards else tmp / "shards"
            dirs = []
            for r in sorted(results, key=lambda r: r["shard"]):
                d = shards_dir / f"shard-{r['shard']}"
                if d.exists():
                    shutil.rmtree(d)
                d.mkdir(parents=True)
                for name, data in r["files"].items():
                    (d / name).write_bytes(data)
                dirs.append(str(d))
                m = json.loads(r["files"].get("summary.json", b"{}"))
                log(
                    f"shard {r['shard']}/{n} on {r['host']}: task {r['task_seconds']:.2f}s, "
                    f"engine wall {m.get('wall_seconds', float('nan')):.2f}s, {m.get('jobs')} jobs, "
                    f"{m.get('records')} records, {m.get('messages_emitted')} messages"
                )

            local_out = tmp / "merged" if is_uri(a.out) else Path(a.out)
            merged = run_engine(str(staged_engine), ["merge", "--out", str(local_out), *dirs], "engine merge")
            if is_uri(a.out):
                summary = local_out / "summary.json"
                s = json.loads(summary.read_text())
                s["outputs"] = [a.out.rstrip("/") + "/" + Path(p).name for p in s.get("outputs", [])]
                summary.write_text(json.dumps(s, indent=2) + "\n")
                hadoop_put(sc, local_out, a.out)
                merged.stdout = merged.stdout.replace(str(local_out), a.out.rstrip("/"))
            t_done = time.time()
        finally:
            sc.stop()
        sys.stdout.write(merged.stdout)
        sys.stdout.flush()
        engine_max = max(json.loads(r["files"]["summary.json"])["wall_seconds"] for r in results)
        log(
            f"timing: spark context {t_context - t0:.2f}s, prepare {t_prepared - t_context:.2f}s, "
            f"spark job {t_job - t_prepared:.2f}s (slowest shard engine {engine_max:.2f}s), "
            f"merge+write {t_done - t_job:.2f}s, total {time.time() - t0:.2f}s"
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
