"""Screenshots of the HTML report for the docs (issue 19).

- ``docs/report_lee.png``: the anchor solver on gensim's Lee corpus, as in
  ``examples/discrete_corpus.py`` (8 topics, articles as domains);
- ``docs/report_digits.png``: a small DDFA (one 64-unit hidden layer, 30 epochs) on
  the digits LLS problem of ``load_digits_lls`` (20 domains, alpha 3, seed 0), with
  the truth.

Each page is opened in headless chromium (see ``tests/browser.py``) and ``--height``
pixels are saved: the Lee page from its top (summary, heatmap, labels), the digits page
from its diagnostics (the DDFA section with the p(d|x) simplex, and the truth). ``--html DIR`` keeps the HTML files too.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/report_screenshots.py
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import runpy
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the browser helper of the tests


def lee_report(path: str) -> None:
    """The Lee corpus example's anchor fit, reported."""
    from lls_topics import report

    with contextlib.redirect_stdout(io.StringIO()):
        ns = runpy.run_path(os.path.join(ROOT, "examples", "discrete_corpus.py"))
    report(ns["anchor"], ns["corpus"], path, title="Anchor solver on the Lee corpus "
           "(300 articles as domains, 8 topics)")


def digits_report(path: str) -> None:
    """A small DDFA on the digits LLS problem, reported with its truth."""
    import torch

    from lls_topics import DDFA, DomainDiscriminator, load_digits_lls, report

    torch.set_num_threads(1)
    data = load_digits_lls(n_domains=20, alpha=3.0, random_state=0)
    t = time.perf_counter()
    model = DDFA(10, discriminator=DomainDiscriminator(hidden=(64,), epochs=30,
                                                       verbose=False),
                 random_state=0, verbose=False).fit(data.X_train, data.d_train,
                                                    data.X_val, data.d_val)
    seconds = time.perf_counter() - t
    report(model, (data.X_train, data.d_train), path,
           truth={"domain_topic": data.domain_topic, "labels": data.y_train},
           fit_seconds=seconds, title="DDFA on digits (20 domains, 10 labels)")


def main(argv: list[str] | None = None) -> int:
    from browser import chromium

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--html", help="keep the HTML reports in this directory")
    parser.add_argument("--height", type=int, default=2200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        where = args.html or tmp
        # page name -> (how to make it, the section the screenshot starts at)
        pages = {"report_lee": (lee_report, None),
                 "report_digits": (digits_report, "diagnostics")}
        for name, (make, _) in pages.items():
            make(os.path.join(where, f"{name}.html"))
        with chromium(1200, args.height) as driver:
            for name, (_, section) in pages.items():
                driver.get("file://" + os.path.abspath(os.path.join(where, f"{name}.html")))
                if section:
                    driver.execute_script(f"document.getElementById('{section}')"
                                          ".scrollIntoView()")
                png = os.path.join(args.out, f"{name}.png")
                driver.save_screenshot(png)
                print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
