"""Token-level mutation testing of the package (no third-party framework; pytest does not collect this file).

A mutant is one small change to one token of a target file, found with :mod:`tokenize` so that strings,
docstrings and comments are never touched and the file keeps its formatting:

* integer constants k → k + 1, float constants x → 1.5 x (0.0 → 1.0);
* operators + ↔ −, * ↔ /, < ↔ <=, > ↔ >=, == ↔ != (and += ↔ −=, *= ↔ /=); a unary minus becomes +;
  a star that unpacks or marks keyword-only parameters is not an operator and is left alone;
* index shifts ``a[i]`` → ``a[i + 1]`` for a subscript holding one plain name.

Mutants that do not compile are dropped. All mutants of the target files form the population, in four
layers: theory, tasks (the networks, data and trainers), check (the Check class) and interfaces (cli,
report, sweep). A sample is drawn per layer, uniformly, with a fixed seed. For each sampled mutant the
file is written mutated, the tests mapped to that file run (``python -m pytest -x -q -p no:cacheprovider
<test files>``, the default marker selection, so slow tests stay out) under a timeout of 3× their
unmutated run time, and the file is restored (in a ``finally`` and from a backup file, so Ctrl-C or a
crash never leaves a mutant behind: a backup left by a killed run is restored at the next start). A
failing, erroring or timed-out test run kills the mutant.

Usage (from anywhere; ``--root`` is the codebase to mutate, and its own code is what the tests import)::

    python tests/mutation/mutate.py --root /tmp/mutation_current --label current --per-layer 30,30,10
    python tests/mutation/mutate.py --root /tmp/mutation_current --label ui --per-layer 0,0,0,20
    python tests/mutation/mutate.py --root /tmp/mutation_base --label base --per-layer 30,30,10
    python tests/mutation/mutate.py --root ... --label ... --list      # population only, no test runs
    python tests/mutation/mutate.py --report current                  # redo the tables from the JSON
    python tests/mutation/mutate.py --root ... --label after --carry-kills-from before   # tests only added

Two layouts are known and detected from the files: the current package (``simulations/experiments``) and
the one before the reorganisation (commit 12f7196: ``simulations/linear_regression``,
``simulations/classification``, ``simulations/results.py``). Results go to ``tests/mutation/results/``
(``<label>.json``, written after every mutant so that ``--resume`` continues, and ``<label>.md``; the
Markdown reports are kept in git, the JSON logs stay local).
Equivalent mutants (no output can change) are listed with a one-line reason and their source line, per
layout, in ``tests/mutation/equivalent.json`` and left out of the kill rate. When edits move those lines,
``--remap-equivalents`` moves the keys after them (tests/mutation/test_equivalents.py fails until then)::

    python tests/mutation/mutate.py --remap-equivalents

Run it on a copy of the working tree (``rsync -a --exclude .git``), not on a tree others are editing or
committing from: the mutant is on disk while its tests run.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import tokenize
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
EQUIVALENT = HERE / "equivalent.json"
LAYERS = ("theory", "tasks", "check", "interfaces")
BACKUP_SUFFIX = ".mutation-backup"

# --------------------------------------------------------------------------- layouts: targets and test maps
# Each layout: targets as (layer, glob, region) with region None (whole file) or a class name (its lines
# only); skipped files; and the map from a source path prefix to the test files/folders that exercise it
# (first match wins).
_SKIP = (
    "theory/linear_attention/flow.py",
    "theory/induction_head/nested_logits.py",
    "simulations/linear_attention/transformer.py",
)
_TLA, _TIH = "tests/theory/linear_attention", "tests/theory/induction_head"
_TSEED = "tests/simulations/test_seeding.py"
LAYOUTS = {
    "current": {
        "marker": "simulations/experiments/kit.py",
        "targets": [
            ("theory", "theory/**/*.py", None),
            *[
                ("tasks", f"simulations/linear_attention/{m}.py", None)
                for m in ("network", "prompts", "training", "baselines", "compare")
            ],
            *[
                ("tasks", f"simulations/induction_head/{m}.py", None)
                for m in ("data", "network", "minimal", "measures", "training", "transition")
            ],
            ("tasks", "simulations/seeding.py", None),
            ("check", "simulations/experiments/kit.py", "Check"),
            *[("interfaces", f"simulations/interfaces/{m}.py", None) for m in ("cli", "report", "sweep")],
        ],
        "skip": _SKIP,
        "tests": [
            ("theory/linear_attention/", [_TLA, "tests/simulations/linear_attention"]),
            ("theory/induction_head/", [_TIH, "tests/simulations/induction_head"]),
            ("theory/", ["tests/theory"]),
            ("simulations/linear_attention/", ["tests/simulations/linear_attention", _TLA]),
            ("simulations/induction_head/", ["tests/simulations/induction_head", _TIH]),
            ("simulations/seeding.py", [_TSEED, "tests/simulations/induction_head"]),
            ("simulations/experiments/kit.py", ["tests/simulations/experiments", "tests/mutation"]),
            ("simulations/interfaces/", ["tests/simulations/interfaces"]),
        ],
    },
    "base": {
        "marker": "simulations/results.py",
        "targets": [
            ("theory", "theory/**/*.py", None),
            *[
                ("tasks", f"simulations/linear_regression/{m}.py", None)
                for m in ("lsa", "prompts", "train", "protocol")
            ],
            *[
                ("tasks", f"simulations/classification/{m}.py", None)
                for m in ("data", "network", "minimal", "measures", "train", "experiments")
            ],
            ("check", "simulations/results.py", "Check"),
        ],
        "skip": _SKIP,
        "tests": [
            ("theory/linear_attention/", [_TLA, "tests/simulations/linear_regression"]),
            ("theory/induction_head/", [_TIH, "tests/simulations/classification"]),
            ("theory/", ["tests/theory"]),
            ("simulations/linear_regression/", ["tests/simulations/linear_regression", _TLA]),
            ("simulations/classification/", ["tests/simulations/classification", _TIH]),
            ("simulations/results.py", ["tests/simulations/test_infrastructure.py"]),
        ],
    },
}
# a test file named for the module runs first (only the order changes, so a kill comes sooner)
_ALIASES = {"training": "train", "train": "train", "lsa": "lsa", "transition": "train", "measures": "train"}


def detect_layout(root: Path) -> str:
    for name, lay in LAYOUTS.items():
        if (root / lay["marker"]).is_file():
            return name
    markers = " or ".join(v["marker"] for v in LAYOUTS.values())
    raise SystemExit(f"{root}: neither layout recognised (no {markers})")


def target_files(root: Path, layout: str) -> list[tuple[str, str, str | None]]:
    """(layer, relative path, region) of every target file, sorted."""
    lay = LAYOUTS[layout]
    out = {}
    for layer, pattern, region in lay["targets"]:
        for p in sorted(root.glob(pattern)):
            rel = p.relative_to(root).as_posix()
            if rel not in lay["skip"] and "__pycache__" not in rel:
                out.setdefault(rel, (layer, rel, region))
    return [out[k] for k in sorted(out)]


def mapped_tests(root: Path, layout: str, rel: str) -> list[str]:
    """Test files mapped to source file ``rel``: the module's own test file first, then the others."""
    paths = next((p for prefix, p in LAYOUTS[layout]["tests"] if rel.startswith(prefix)), None)
    if paths is None:
        raise SystemExit(f"no tests mapped to {rel}")
    files = []
    for p in paths:
        q = root / p
        found = [q] if q.is_file() else sorted(q.rglob("test_*.py")) if q.is_dir() else []
        for f in found:
            name = f.relative_to(root).as_posix()
            if name not in files:
                files.append(name)
    stem = Path(rel).stem
    own = {f"test_{stem}.py", f"test_{_ALIASES.get(stem, stem)}.py"}
    first = [f for f in files if Path(f).name in own and Path(f).parent.as_posix() in paths[0]]
    return first + [f for f in files if f not in first]


# --------------------------------------------------------------------------- mutants
@dataclass(frozen=True)
class Mutant:
    path: str
    layer: str
    line: int
    col: int
    kind: str  # int, float, op, unary, index
    before: str
    after: str
    start: int  # character offsets of the replaced token in the source
    end: int

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}:{self.col}:{self.before}->{self.after}"


_OPS = {
    "+": "-",
    "-": "+",
    "*": "/",
    "/": "*",
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "+=": "-=",
    "-=": "+=",
    "*=": "/=",
    "/=": "*=",
}
_TYPE_NAMES = {"int", "float", "str", "bytes", "bool", "object", "Callable", "Any", "type"}
_CLOSERS = {")", "]", "}"}


def _operand_before(prev) -> bool:
    """Whether the token before an operator ends an operand (so the operator is binary)."""
    if prev is None:
        return False
    if prev.type in (tokenize.NUMBER, tokenize.STRING):
        return True
    if prev.type == tokenize.NAME:
        import keyword

        return not keyword.iskeyword(prev.string) or prev.string in ("True", "False", "None")
    return prev.type == tokenize.OP and prev.string in _CLOSERS


def _float_text(x: float) -> str:
    r = repr(1.5 * x) if x else "1.0"  # 1.5 × 0 would change nothing
    return r if any(c in r for c in ".en") else r + ".0"


def _region_lines(source: str, region: str | None) -> tuple[int, int] | None:
    if region is None:
        return None
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == region:
            return node.lineno, node.end_lineno
    raise SystemExit(f"class {region} not found")


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def apply(source: str, m: Mutant) -> str:
    return source[: m.start] + m.after + source[m.end :]


def mutants_of(source: str, path: str, layer: str, region: str | None = None) -> list[Mutant]:
    """Every compiling token-level mutant of ``source`` (module docstring), in source order."""
    starts = [0]
    for ln in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(ln))

    def off(pos):
        return starts[pos[0] - 1] + pos[1]

    lines = _region_lines(source, region)
    toks = [
        t
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)
    ]
    fstring = 0
    out = []
    for i, t in enumerate(toks):
        name = tokenize.tok_name.get(t.type, "")
        if name == "FSTRING_START":
            fstring += 1
        elif name == "FSTRING_END":
            fstring -= 1
        if fstring or (lines and not lines[0] <= t.start[0] <= lines[1]):
            continue
        prev = toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        cands = []
        if t.type == tokenize.NUMBER:
            s = t.string.replace("_", "")
            if re.fullmatch(r"\d+", s):
                cands.append(("int", str(int(s) + 1)))
            elif not s.lower().endswith("j") and not s.lower().startswith(("0x", "0o", "0b")):
                cands.append(("float", _float_text(float(s))))
        elif t.type == tokenize.OP and t.string in _OPS:
            if t.string in ("*", "-", "+") and not _operand_before(prev):
                if t.string == "-":
                    cands.append(("unary", "+"))  # a sign flip; unpacking stars and "+x" are left alone
            else:
                cands.append(("op", _OPS[t.string]))
        elif (
            t.type == tokenize.NAME
            and prev is not None
            and prev.string == "["
            and nxt is not None
            and nxt.string == "]"
            and i >= 2
            and _operand_before(toks[i - 2])
            and t.string not in _TYPE_NAMES
            and t.string not in ("None", "True", "False")
        ):
            cands.append(("index", f"{t.string} + 1"))
        for kind, after in cands:
            m = Mutant(path, layer, t.start[0], t.start[1], kind, t.string, after, off(t.start), off(t.end))
            if _compiles(apply(source, m)):
                out.append(m)
    return out


def population(root: Path, layout: str) -> tuple[list[Mutant], dict[str, str]]:
    """All mutants of the layout's targets, and the sha256 of each target file."""
    muts, hashes = [], {}
    for layer, rel, region in target_files(root, layout):
        src = (root / rel).read_text(encoding="utf-8")
        hashes[rel] = hashlib.sha256(src.encode()).hexdigest()
        muts += mutants_of(src, rel, layer, region)
    return muts, hashes


def sample(muts: list[Mutant], per_layer: dict[str, int], seed: int) -> list[Mutant]:
    """Uniform sample without replacement within each layer (``per_layer[layer]`` mutants, or all)."""
    rng = random.Random(seed)
    out = []
    for layer in LAYERS:
        pool = [m for m in muts if m.layer == layer]
        out += rng.sample(pool, min(per_layer.get(layer, 0), len(pool)))
    return sorted(out, key=lambda m: (m.path, m.start, m.after))


# --------------------------------------------------------------------------- running
def _drop_bytecode(path: Path) -> None:
    """Remove the cached bytecode of ``path``: a mutant may keep the size and the second of mtime."""
    cache = path.parent / "__pycache__"
    if cache.is_dir():
        for pyc in cache.glob(f"{path.stem}.*.pyc"):
            pyc.unlink(missing_ok=True)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".mutation-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    _drop_bytecode(path)


def restore_leftovers(root: Path) -> None:
    """Put back any file a killed run left mutated (its backup is the original)."""
    for bak in root.rglob(f"*{BACKUP_SUFFIX}"):
        orig = bak.with_name(bak.name[: -len(BACKUP_SUFFIX)])
        _write(orig, bak.read_text(encoding="utf-8"))
        bak.unlink()
        print(f"restored {orig} from a backup left by an interrupted run", file=sys.stderr)


def run_tests(root: Path, files: list[str], timeout: float | None, extra: list[str]) -> dict:
    """Run pytest in ``root`` on ``files``; rc, duration, a timeout flag and the first failure line."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *extra, *files]
    t0 = time.monotonic()
    pipe = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    proc = subprocess.Popen(cmd, cwd=root, env=env, start_new_session=True, **pipe)
    try:
        out, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the session this call started, and nothing else
        out, _ = proc.communicate()
        timed_out = True
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    dt = time.monotonic() - t0
    first = next((ln for ln in out.splitlines() if ln.startswith(("FAILED", "ERROR"))), "")
    tail = out.strip().splitlines()[-1] if out.strip() else ""
    res = {"rc": proc.returncode, "seconds": round(dt, 2), "timeout": timed_out}
    return {**res, "first": first, "tail": tail}


def check_imports(root: Path) -> None:
    """The tests must import the code under ``root`` (not an installed copy elsewhere)."""
    code = "import theory, simulations; print(theory.__file__); print(simulations.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    for ln in out.stdout.split():
        if not Path(ln).resolve().is_relative_to(root.resolve()):
            raise SystemExit(f"tests in {root} would import {ln}: run from a tree that imports its own code")
    print("imports from:", " ".join(out.stdout.split()))


def run(args) -> None:
    root = Path(args.root).resolve()
    layout = detect_layout(root)
    restore_leftovers(root)
    check_imports(root)
    muts, hashes = population(root, layout)
    counts = {layer: sum(m.layer == layer for m in muts) for layer in LAYERS}
    print(f"layout {layout}: population {len(muts)} mutants {counts}")
    sizes = [int(x) for x in args.per_layer.split(",")]
    if len(sizes) > len(LAYERS):
        raise SystemExit(f"--per-layer takes at most {len(LAYERS)} sizes ({', '.join(LAYERS)})")
    per_layer = dict(zip(LAYERS, sizes + [0] * (len(LAYERS) - len(sizes)), strict=True))
    for label in args.exclude_from:  # a fresh sample: leave out the mutants earlier runs drew
        drawn = {r["id"] for r in json.loads((RESULTS / f"{label}.json").read_text())["mutants"]}
        muts = [m for m in muts if m.id not in drawn]
    chosen = sample(muts, per_layer, args.seed)
    if args.only:  # named mutants instead of a sample
        chosen = [m for m in muts if m.id in set(args.only)]
        if len(chosen) != len(set(args.only)):
            raise SystemExit(f"not in the population: {sorted(set(args.only) - {m.id for m in chosen})}")
    if args.list:
        for m in chosen:
            print(f"{m.layer:7s} {m.id}")
        return
    out_json = RESULTS / f"{args.label}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    done = {}
    if args.resume and out_json.exists():
        old = json.loads(out_json.read_text())
        done = {r["id"]: r for r in old["mutants"] if old["files"].get(r["path"]) == hashes.get(r["path"])}
    if args.carry_kills_from:
        # tests were only added since that run: a mutant it killed (not by a timeout) stays killed
        old = json.loads((RESULTS / f"{args.carry_kills_from}.json").read_text())
        for r in old["mutants"]:
            if (
                r["status"] == "killed"
                and not r["timeout"]
                and old["files"][r["path"]] == hashes.get(r["path"])
            ):
                done.setdefault(r["id"], {**r, "carried_from": args.carry_kills_from})
    extra = [x for d in args.deselect for x in ("--deselect", d)]
    baselines = {}
    record = {
        "label": args.label,
        "root": str(root),
        "layout": layout,
        "seed": args.seed,
        "per_layer": per_layer,
        "population": counts,
        "population_total": len(muts),
        "files": hashes,
        "deselect": args.deselect,
        "timeout_factor": args.timeout_factor,
        "baselines": baselines,
        "mutants": [],
    }
    t_start = time.monotonic()
    for n, m in enumerate(chosen, 1):
        files = mapped_tests(root, layout, m.path)
        key = " ".join(sorted(files))
        if m.id in done:
            record["mutants"].append(done[m.id])
            continue
        if key not in baselines:
            base = run_tests(root, sorted(files), None, extra)
            if base["rc"] != 0:
                raise SystemExit(f"unmutated tests fail for {m.path}: {base['first'] or base['tail']}")
            baselines[key] = base["seconds"]
            print(f"baseline {base['seconds']:.1f} s for the tests of {m.path} ({len(files)} files)")
        path = root / m.path
        original = path.read_text(encoding="utf-8")
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        backup.write_text(original, encoding="utf-8")
        try:
            _write(path, apply(original, m))
            res = run_tests(root, files, args.timeout_factor * baselines[key], extra)
        finally:
            _write(path, original)
            backup.unlink()
        status = "survived" if res["rc"] == 0 and not res["timeout"] else "killed"
        line = original.splitlines()[m.line - 1].strip()
        rec = {**asdict(m), "id": m.id, "status": status, "source_line": line, **res}
        record["mutants"].append(rec)
        record["wall_seconds"] = round(time.monotonic() - t_start, 1)
        out_json.write_text(json.dumps(record, indent=1, ensure_ascii=False))
        how = "timeout" if res["timeout"] else f"rc {res['rc']}"
        print(f"[{n}/{len(chosen)}] {status:8s} {how:8s} {res['seconds']:6.1f} s  {m.id}", flush=True)
    record["wall_seconds"] = round(time.monotonic() - t_start, 1)
    out_json.write_text(json.dumps(record, indent=1, ensure_ascii=False))
    report(args.label)


# --------------------------------------------------------------------------- reporting
def _equivalent(layout: str) -> dict:
    """{mutant id: why no output can change} for a layout ("current" or "base")."""
    listed = json.loads(EQUIVALENT.read_text(encoding="utf-8")).get(layout, {}) if EQUIVALENT.exists() else {}
    return {key: entry["why"] for key, entry in listed.items()}


def copies_of(line: str, lines: list[str]) -> list[int]:
    """The 1-based numbers of the lines that read as ``line`` up to indentation."""
    return [i for i, other in enumerate(lines, 1) if other.strip() == line.strip()]


def remap_equivalents(root: Path) -> list[str]:
    """Move the keys of the current layout's equivalent mutants to where their source lines are now.

    Each entry of equivalent.json keeps its source line (``line``) and which of that line's identical
    copies in the file it is (``copy``: [index, count]) beside its reason (``why``), because the key
    ``path:line:col:before->after`` goes stale when an edit above it moves the line. Every key is moved to
    its copy's line now (the column shifted by any change of indentation); the new key must name a mutant
    of the current code. Returns what could not be placed, for a person to decide: a file that is no
    longer a target, a line whose number of copies changed (one may have been deleted: which one is left
    is a guess), a key that names no mutant, two keys landing on one; equivalent.json is rewritten only
    when that list is empty.
    """
    data = json.loads(EQUIVALENT.read_text(encoding="utf-8"))
    regions = {rel: region for _, rel, region in target_files(root, "current")}
    moved, problems = {}, []
    for key, entry in data["current"].items():
        path, _, col, change = key.split(":", 3)
        if path not in regions:
            problems.append(f"{key}: {path} is not a mutation target (or no longer exists)")
            continue
        source = (root / path).read_text(encoding="utf-8")
        lines = source.splitlines()
        at = copies_of(entry["line"], lines)
        index, count = entry["copy"]
        if len(at) != count:
            problems.append(f"{key}: its line is found {len(at)} times in {path}, was {count}")
            continue
        now = lines[at[index] - 1]
        new_col = int(col) - (len(entry["line"]) - len(entry["line"].lstrip())) + len(now) - len(now.lstrip())
        new_key = f"{path}:{at[index]}:{new_col}:{change}"
        if new_key not in {m.id for m in mutants_of(source, path, "", regions[path])}:
            problems.append(f"{key}: {new_key} is not a mutant of the current code")
        elif new_key in moved:
            problems.append(f"{key}: {new_key} is named by another entry too")
        else:
            moved[new_key] = {**entry, "line": now}
    if not problems:
        data["current"] = moved
        EQUIVALENT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return problems


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def report(label: str) -> str:
    """Markdown table by layer (equivalent mutants excluded from the rate) and a printed summary."""
    rec = json.loads((RESULTS / f"{label}.json").read_text(encoding="utf-8"))
    eq = _equivalent(rec["layout"])
    rows = [
        "| layer | population | sampled | killed (timeouts) | survived | equivalent | kill rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    totals = [0, 0, 0, 0, 0, 0]
    for layer in (x for x in LAYERS if x in rec["population"]):  # runs before a layer existed lack it
        ms = [r for r in rec["mutants"] if r["layer"] == layer]
        k = sum(r["status"] == "killed" for r in ms)
        to = sum(r["status"] == "killed" and r["timeout"] for r in ms)
        e = sum(r["status"] == "survived" and r["id"] in eq for r in ms)
        s = sum(r["status"] == "survived" for r in ms) - e
        pop = rec["population"][layer]
        rate = f"{k}/{k + s} = {100 * k / (k + s):.0f}%" if k + s else "–"
        rows.append(f"| {layer} | {pop} | {len(ms)} | {k} ({to}) | {s} | {e} | {rate} |")
        for i, v in enumerate((pop, len(ms), k, to, s, e)):
            totals[i] += v
    pop, n, k, to, s, e = totals
    rate = f"{k}/{k + s} = {100 * k / max(k + s, 1):.0f}%"
    rows.append(f"| **all** | {pop} | {n} | {k} ({to}) | {s} | {e} | {rate} |")
    surv = [r for r in rec["mutants"] if r["status"] == "survived"]
    carried = sum("carried_from" in r for r in rec["mutants"])
    carried_from = next((r["carried_from"] for r in rec["mutants"] if "carried_from" in r), "")
    lines = [
        f"# Mutation testing: {label}",
        "",
        f"Root `{rec['root']}` (layout {rec['layout']}), seed {rec['seed']}, "
        f"sample per layer {rec['per_layer']}, timeout {rec['timeout_factor']}× the unmutated run, "
        f"wall time {rec.get('wall_seconds', 0) / 60:.1f} min"
        + (
            f"; {carried} kills carried over from `{carried_from}` (tests only added since)."
            if carried
            else "."
        ),
        "",
        *rows,
        "",
        "## Surviving mutants",
        "",
        "| mutant | line | equivalent? |",
        "|---|---|---|",
        *[f"| `{r['id']}` | `{_cell(r['source_line'][:90])}` | {eq.get(r['id'], '')} |" for r in surv],
    ]
    text = "\n".join(lines) + "\n"
    (RESULTS / f"{label}.md").write_text(text)
    print("\n".join(rows))
    return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(HERE.parents[1]), help="codebase to mutate (run on a copy)")
    ap.add_argument("--label", help="name of the results files")
    ap.add_argument(
        "--per-layer",
        default="30,30,10",
        help="sample sizes for theory,tasks,check,interfaces (missing ones are 0)",
    )
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--timeout-factor", type=float, default=3.0)
    ap.add_argument("--deselect", action="append", default=[], help="a test id to leave out (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the population sizes and the sample only")
    ap.add_argument("--resume", action="store_true", help="keep results of unchanged files from the last run")
    ap.add_argument(
        "--carry-kills-from",
        metavar="LABEL",
        help="take the kills (not timeouts) of an earlier run on the same files and rerun only the rest "
        "(valid when tests were only added since)",
    )
    ap.add_argument("--report", metavar="LABEL", help="only rewrite the tables of a finished run")
    ap.add_argument(
        "--remap-equivalents",
        action="store_true",
        help="move stale keys of equivalent.json to their source lines' new places in --root",
    )
    ap.add_argument(
        "--exclude-from",
        action="append",
        default=[],
        metavar="LABEL",
        help="sample only mutants that run did not draw (repeatable)",
    )
    ap.add_argument("--only", action="append", default=[], metavar="ID", help="run this mutant (repeatable)")
    args = ap.parse_args(argv)
    if args.report:
        report(args.report)
        return
    if args.remap_equivalents:
        problems = remap_equivalents(Path(args.root).resolve())
        print("\n".join(problems) if problems else f"{EQUIVALENT}: every key names its mutant on its line")
        raise SystemExit(1 if problems else 0)
    if not args.label and not args.list:
        ap.error("--label is required")
    run(args)


if __name__ == "__main__":
    main()
