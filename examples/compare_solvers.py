"""Anchor vs NMF vs LDA on a planted problem: the comparison table and its plot.

The problem is the protocol's "small-a3" setting (5 labels, 200 inputs, 20 domains),
so the truth is known and errors can be reported next to fit times.

Run:  python examples/compare_solvers.py [OUT.png]
"""
import sys

import matplotlib

matplotlib.use("Agg")  # write a file; no window

from lls_topics import compare, make_discrete_lls  # noqa: E402
from lls_topics.io import format_table  # noqa: E402
from lls_topics.datasets import DISCRETE_SETTINGS  # noqa: E402
from lls_topics.plotting import plot_comparison  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "compare_solvers.png"
problem = make_discrete_lls(**DISCRETE_SETTINGS["small-a3"], random_state=0)
table = compare(problem, solvers=("anchor", "nmf", "lda"), truth=problem, random_state=0)
rows = table.to_dict("records") if hasattr(table, "to_dict") else list(table)
print(format_table(rows))

fig = plot_comparison(rows)
fig.savefig(out, dpi=110)
print(f"wrote {out}")
