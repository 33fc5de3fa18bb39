#!/usr/bin/env python
"""Sampled mutation testing with cosmic-ray: ``make mutation`` (or ``python scripts/mutation.py``).

What is mutated and which fast tests judge each mutant is in ``mutation.toml`` at the top of the
repository. For each module this script

1. copies the repository (without .venv/.git) to a work folder under /tmp -- cosmic-ray mutates
   files in place, and this checkout's ``src/`` is shared with whoever is running tests; the
   copy's ``src/`` comes first on PYTHONPATH and ``ALIGNSIM_CONF`` points at the copy's ``conf/``;
2. runs the module's tests once unmutated (they must pass; their time sets the timeout);
3. ``cosmic-ray init`` a session, draws a fixed, seeded sample of N mutants (others are marked
   skipped), runs each one with cosmic-ray's ``mutate_and_test`` (one worker, one mutant at a
   time) and stores the results in the session database (readable with ``cr-report``);
4. prints a per-module table (mutants, killed, survived, timeout, score), the surviving mutants
   (file:line and the mutation), and as its last line one JSON object with the scores and time.

Usage: python scripts/mutation.py [--sample N] [--module-sample NAME=N ...] [--seed S]
       [--modules a,b] [--report FILE.md]
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import glob
import hashlib
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mutation.toml"
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "mutants", "outputs", "multirun", "__pycache__", "*.pyc", ".pytest_cache",
    ".ruff_cache", ".hypothesis", "*.egg-info", "build", "dist", ".ipynb_checkpoints",
    ".mutation*",
)


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def copy_tree(work: Path) -> Path:
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(ROOT, tree, ignore=IGNORE)
    return tree


def test_env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    env["ALIGNSIM_CONF"] = str(tree / "conf")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "Agg"
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def test_files(tree: Path, patterns: list[str]) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        for match in sorted(glob.glob(pattern, root_dir=tree)):
            if match not in files:
                files.append(match)
    return files


def test_command(opts: dict, module: dict, files: list[str]) -> str:
    args = [sys.executable, "-m", "pytest", *opts["pytest-args"]]
    if module.get("select"):
        args += ["-k", module["select"]]
    return shlex.join(args + files)


def mutated_lines(diff: str) -> tuple[str, str, int | None]:
    """The removed and added lines of a diff, and the (original) line number of the change."""
    removed: list[str] = []
    added: list[str] = []
    line = old = None
    for row in diff.splitlines():
        if row.startswith("@@"):
            old = int(row.split()[1].lstrip("-").split(",")[0])
        elif old is None:  # the ---/+++ header
            continue
        elif row.startswith("-"):
            removed.append(row[1:].strip())
            line = line or old
            old += 1
        elif row.startswith("+"):
            added.append(row[1:].strip())
        else:
            old += 1
    return " / ".join(removed), " / ".join(added), line


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where a module's annotations are, if it has ``from __future__ import annotations``.

    There an annotation is a string that nothing here evaluates, so a mutant inside one (``int |
    None`` -> ``int >> None``) is equivalent by construction: such mutants are left out of the
    sample and counted apart. A module whose hints are resolved at run time (OmegaConf's typed
    dataclasses in ``kernel/schema.py``) is listed under ``evaluated-annotations`` and keeps them.
    """
    tree = ast.parse(path.read_text())
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    if not future:
        return []
    spans = []
    for node in ast.walk(tree):
        found = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(node.returns)
        elif isinstance(node, (ast.arg, ast.AnnAssign)):
            found.append(node.annotation)
        spans += [((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset))
                  for a in found if a is not None]
    return spans


def is_equivalent(equivalents: list[dict], path: str, removed: str, added: str) -> str | None:
    for eq in equivalents:
        if (
            fnmatch.fnmatch(path, eq["file"])
            and eq["removed"].strip() == removed
            and eq["added"].strip() == added
        ):
            return eq["why"]
    return None


def run_module(name: str, module: dict, opts: dict, tree: Path, work: Path, sample: int,
               seed: int, equivalents: list[dict]) -> dict:
    from cosmic_ray.config import serialize_config
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    env = test_env(tree)
    files = test_files(tree, module["tests"])
    command = test_command(opts, module, files)

    # 1. the clean run: the tests must pass on the unmutated copy; its time sets the timeout.
    # A test that already fails (work in progress elsewhere) is deselected and reported.
    broken: list[str] = []
    for _attempt in range(3):
        start = time.monotonic()
        clean = subprocess.run(shlex.split(command.replace(" -x ", " ", 1) + " -rf"), cwd=tree,
                               env=env, capture_output=True, text=True, timeout=900, check=False)
        clean_time = time.monotonic() - start
        if clean.returncode == 0:
            break
        failed = [row.split(" - ")[0].split(" ", 1)[1] for row in clean.stdout.splitlines()
                  if row.startswith(("FAILED ", "ERROR "))]
        if not failed:
            raise SystemExit(f"{name}: the tests fail without any mutant:\n{clean.stdout[-3000:]}")
        broken += failed
        # a test that fails is deselected; a file that does not even import is ignored
        command += " " + " ".join(
            f"--deselect {shlex.quote(f)}" if "::" in f else f"--ignore {shlex.quote(f)}"
            for f in failed)
    else:
        raise SystemExit(f"{name}: the tests fail without any mutant:\n{clean.stdout[-3000:]}")
    if broken:
        print(f"  deselected (they fail unmutated): {', '.join(broken)}", flush=True)
    timeout = max(float(opts["min-timeout"]), float(opts["timeout-factor"]) * clean_time)
    print(f"  {len(files)} test files, clean run {clean_time:.1f} s, timeout {timeout:.0f} s",
          flush=True)

    # 2. the cosmic-ray session
    cfg = dict(opts["cosmic-ray"])
    cfg.update({"module-path": module["paths"], "test-command": command, "timeout": timeout})
    safe = name.replace("+", "_")
    cfg_file = work / f"{safe}.toml"
    cfg_file.write_text(serialize_config(cfg))
    session = work / f"{safe}.sqlite"
    session.unlink(missing_ok=True)
    subprocess.run([str(Path(sys.executable).with_name("cosmic-ray")), "init", str(cfg_file),
                    str(session)], cwd=tree, env=env, check=True, capture_output=True)

    with use_db(str(session), WorkDB.Mode.open) as db:
        items = list(db.work_items)
        functions = module.get("functions")
        if functions:
            items = [i for i in items if i.mutations[0].definition_name in functions]

        def key(item):
            m = item.mutations[0]
            return (str(m.module_path), m.start_pos, m.end_pos, m.operator_name, m.occurrence)

        evaluated = set(opts.get("evaluated-annotations", []))
        spans = {p: [] if p in evaluated else annotation_spans(tree / p) for p in module["paths"]}

        def in_annotation(item) -> bool:
            m = item.mutations[0]
            return any(a <= tuple(m.start_pos) and tuple(m.end_pos) <= b
                       for a, b in spans.get(str(m.module_path), []))

        annotations = sum(in_annotation(i) for i in items)
        items = [i for i in items if not in_annotation(i)]
        items.sort(key=key)
        population = len(items)
        rng = random.Random(f"{seed}:{name}")
        chosen = items if sample <= 0 or sample >= len(items) else rng.sample(items, sample)
        chosen.sort(key=key)
        chosen_ids = {i.job_id for i in chosen}
        db.set_multiple_results(
            [i.job_id for i in db.work_items if i.job_id not in chosen_ids],
            WorkResult(worker_outcome=WorkerOutcome.SKIPPED),
        )

        # 3. one mutant at a time, in the copy (cosmic-ray restores each file after its test run)
        rows = []
        os.environ.update(env)
        cwd = os.getcwd()
        os.chdir(tree)
        try:
            for n, item in enumerate(chosen, 1):
                t0 = time.monotonic()
                result = mutate_and_test(item.mutations, command, timeout)
                db.set_result(item.job_id, result)
                m = item.mutations[0]
                removed, added, line = mutated_lines(result.diff or "")
                if result.worker_outcome == WorkerOutcome.NO_TEST:
                    status = "no-mutation"
                elif result.test_outcome == TestOutcome.SURVIVED:
                    status = "survived"
                elif result.test_outcome == TestOutcome.KILLED:
                    status = "timeout" if result.output == "timeout" else "killed"
                else:
                    status = "error"
                why = is_equivalent(equivalents, str(m.module_path), removed, added)
                if why and status == "survived":
                    status = "equivalent"
                rows.append({
                    "module": name, "file": str(m.module_path),
                    "line": line or m.start_pos[0], "operator": m.operator_name,
                    "occurrence": m.occurrence, "definition": m.definition_name,
                    "status": status, "removed": removed, "added": added,
                    "diff": result.diff or "", "why": why,
                    "output": (result.output or "")[-1500:] if status == "error" else "",
                    "seconds": round(time.monotonic() - t0, 2),
                })
                print(f"  [{name} {n}/{len(chosen)}] {status:<10} {m.module_path}:"
                      f"{rows[-1]['line']} {removed!r} -> {added!r} ({rows[-1]['seconds']} s)",
                      flush=True)
        finally:
            os.chdir(cwd)

    # 4. the counts; the score leaves out equivalent mutants and mutants that did not run
    counts = {s: sum(r["status"] == s for r in rows)
              for s in ("killed", "survived", "timeout", "equivalent", "error", "no-mutation")}
    judged = counts["killed"] + counts["survived"] + counts["timeout"]
    score = (counts["killed"] + counts["timeout"]) / judged if judged else None
    return {"name": name, "layer": module["layer"], "target": module["target"],
            "population": population, "annotations": annotations, "sampled": len(chosen),
            **counts, "score": score, "clean_seconds": round(clean_time, 1),
            "deselected": broken, "timeout_seconds": round(timeout, 1), "rows": rows}


def markdown(results: list[dict], elapsed: float, sample: int, seed: int,
             overrides: dict[str, int] | None = None) -> str:
    what = f"Sample {sample} mutants per module"
    if overrides:
        what += " (" + ", ".join(f"{n}: {k}" for n, k in overrides.items()) + ")"
    out = [f"{what} (seed {seed}); run time {elapsed / 60:.1f} min.",
           "",
           "| module | layer | mutants (all) | in annotations | sampled | killed | survived "
           "| timeout | equivalent | error | score | target |",
           "|" + "---|" * 12]
    for r in results:
        score = "n/a" if r["score"] is None else f"{100 * r['score']:.0f} %"
        out.append(f"| {r['name']} | {r['layer']} | {r['population']} | "
                   f"{r.get('annotations', 0)} | {r['sampled']} | {r['killed']} | "
                   f"{r['survived']} | {r['timeout']} | {r['equivalent']} | {r['error']} | "
                   f"{score} | {100 * r['target']:.0f} % |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    conf = tomllib.loads(CONFIG.read_text())
    opts = {**conf["mutation"], "cosmic-ray": conf["cosmic-ray"]}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=int(os.environ.get(
        "MUTATION_SAMPLE", opts["sample"])), help="mutants per module (0 = all)")
    parser.add_argument("--module-sample", action="append", default=[], metavar="NAME=N",
                        help="a different sample for one module (repeatable)")
    parser.add_argument("--seed", type=int, default=opts["seed"])
    parser.add_argument("--modules", default="", help="comma-separated names (default: all)")
    parser.add_argument("--work", default="/tmp/alignsim-mutation", help="work folder")
    parser.add_argument("--report", default="", help="also write a markdown report here")
    parser.add_argument("--json", default="", help="also write every result as JSON here")
    args = parser.parse_args(argv)

    work = Path(args.work).resolve()
    if work == ROOT or ROOT in work.parents:
        raise SystemExit("the work folder must be outside the repository (it is mutated)")
    work.mkdir(parents=True, exist_ok=True)
    modules = opts["modules"]
    names = [n for n in args.modules.split(",") if n] or list(modules)
    unknown = set(names) - set(modules)
    if unknown:
        raise SystemExit(f"unknown modules: {', '.join(sorted(unknown))}; allowed: "
                         f"{', '.join(modules)}")
    equivalents = opts.get("equivalent", [])
    overrides: dict[str, int] = {}
    for item in args.module_sample:
        mod, _, n = item.partition("=")
        if mod not in modules or not n.strip().isdigit():
            raise SystemExit(f"--module-sample {item!r}: expected NAME=N with NAME one of "
                             f"{', '.join(modules)}")
        overrides[mod] = int(n)

    began = time.monotonic()
    src_before = digest(ROOT / "src")
    tree = copy_tree(work)
    pristine = digest(tree / "src")
    results = []
    for name in names:
        print(f"== {name}", flush=True)
        results.append(run_module(name, modules[name], opts, tree, work,
                                  overrides.get(name, args.sample), args.seed, equivalents))
    elapsed = time.monotonic() - began
    if digest(tree / "src") != pristine:
        raise SystemExit(f"the copy {tree}/src was left mutated: its results are not valid")
    if digest(ROOT / "src") != src_before:  # edited by someone else meanwhile, never mutated here
        print(f"note: {ROOT}/src changed during the run (not by this script: it mutates {tree})")

    print()
    used = {n: k for n, k in overrides.items() if n in names}
    print(markdown(results, elapsed, args.sample, args.seed, used))
    survivors = [r for res in results for r in res["rows"] if r["status"] == "survived"]
    print(f"\nSurviving mutants ({len(survivors)}):")
    for r in survivors:
        print(f"  {r['file']}:{r['line']} [{r['operator']}] {r['removed']!r} -> {r['added']!r}")
    errors = [r for res in results for r in res["rows"] if r["status"] == "error"]
    for r in errors:
        print(f"  error: {r['file']}:{r['line']} {r['operator']}: {r['output'][-300:]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"elapsed": elapsed, "results": results}, indent=1))
    if args.report:
        lines = [markdown(results, elapsed, args.sample, args.seed, used), "", "## Survivors",
                 ""]
        for r in survivors:
            lines += [f"### {r['file']}:{r['line']} ({r['operator']}, in {r['definition']})", "",
                      "```diff", r["diff"].strip(), "```", ""]
        Path(args.report).write_text("\n".join(lines))
    summary = {
        "scores": {r["name"]: None if r["score"] is None else round(r["score"], 3)
                   for r in results},
        "survived": len(survivors),
        "sample": args.sample,
        "module_sample": used,
        "seed": args.seed,
        "run_seconds": round(elapsed, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
