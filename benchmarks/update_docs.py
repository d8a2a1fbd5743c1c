"""Rerun the benchmark scripts and paste their markdown tables into docs/benchmarks.md.

The published numbers are then exactly what the scripts print: each table sits
between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers and is replaced
wholesale. The machine line is refreshed too, and the figures are redrawn.

Usage::

    python benchmarks/update_docs.py                 # full grids (tens of minutes)
    python benchmarks/update_docs.py --quick         # quick grids, for a dry run
    python benchmarks/update_docs.py --only discrete # one table
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "benchmarks.md")

# marker name -> script and its arguments (continuous.py is another helper's; it is
# run only when it exists and accepts --markdown --json)
TABLES = {
    "discrete": ("discrete.py", []),
    "scaling": ("scaling.py", []),
    "continuous": ("continuous.py", []),
}


def replace_block(text: str, name: str, body: str) -> str:
    pat = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
    if not pat.search(text):
        raise SystemExit(f"{DOC} has no <!-- BEGIN {name} --> ... <!-- END {name} --> block")
    return pat.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated subset of " +
                    ",".join(TABLES))
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(TABLES)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    with open(DOC) as fh:
        text = fh.read()
    jsons = {}
    for name in names:
        script, extra = TABLES[name]
        path = os.path.join(HERE, script)
        if not os.path.exists(path):
            print(f"skip {name}: {script} does not exist yet", file=sys.stderr)
            continue
        out_json = os.path.join("docs", f"{name}.json")  # relative: cwd is ROOT
        cmd = [sys.executable, os.path.join("benchmarks", script), "--markdown", "--json",
               out_json] + extra
        if args.quick:
            cmd.append("--quick")
        print("running", " ".join(cmd[1:]), file=sys.stderr, flush=True)
        res = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        if res.returncode != 0:
            print(f"{script} failed (exit {res.returncode}); table left as it was",
                  file=sys.stderr)
            continue
        text = replace_block(text, name, res.stdout)
        jsons[name] = out_json
    sys.path.insert(0, HERE)
    from _peers import machine_description

    text = replace_block(text, "machine", f"- Machine: {machine_description()}.")
    with open(DOC, "w") as fh:
        fh.write(text)
    plot_cmd = [sys.executable, os.path.join("benchmarks", "plots.py"), "--out", "docs"]
    if "discrete" in jsons:
        plot_cmd += ["--discrete", jsons["discrete"]]
    if "scaling" in jsons:
        plot_cmd += ["--scaling", jsons["scaling"]]
    if len(plot_cmd) > 4:
        subprocess.run(plot_cmd, cwd=ROOT, env=env, check=False)
    print(f"updated {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
