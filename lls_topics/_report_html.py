"""The page of :func:`lls_topics.report`: one template, its style and script, HTML helpers.

Standard library only. The script is plain JavaScript: it sorts a table when a header
is clicked and shows one label's panel at a time. Nothing is fetched from the network.
"""
from __future__ import annotations

import base64
import html
import io
from string import Template
from typing import Any, Iterable, Sequence

__all__ = ["page", "table", "figure", "key_values", "fmt", "esc"]

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;
background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:18px 24px 40px}
h1{font-size:22px;margin:8px 0 4px}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:6px;padding:4px 16px 14px;
margin:14px 0}
.sub{color:#5b6475;margin:0 0 8px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{padding:3px 9px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
th.sortable{cursor:pointer;user-select:none}th.sortable:after{content:" \\2195";color:#9aa3b2}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{white-space:nowrap}.params code{display:inline-block;margin:2px 4px 2px 0}
.bar{display:inline-block;height:9px;background:#4c78a8;vertical-align:middle;margin-right:6px}
.figure{display:block;max-width:100%;height:auto;margin:8px 0}
.switcher{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0 10px}
.switcher button{border:1px solid #c3c9d4;background:#fff;border-radius:4px;padding:3px 10px;
cursor:pointer;font:inherit}
.switcher button[aria-selected="true"]{background:#4c78a8;color:#fff;border-color:#4c78a8}
.cols{display:flex;flex-wrap:wrap;gap:18px}.cols>div{flex:1 1 340px;min-width:0}
.warn{background:#fff6e5;border-left:4px solid #e5a00d;padding:6px 10px;margin:6px 0}
.ok{background:#eef7ee;border-left:4px solid #4a9a4a;padding:6px 10px;margin:6px 0}
code{background:#f0f2f5;padding:0 3px;border-radius:3px}
footer{color:#7a8294;font-size:12px;margin-top:24px}
"""

_SCRIPT = """
(function(){
  function show(label){
    document.querySelectorAll('.label-panel').forEach(function(p){
      p.hidden = p.getAttribute('data-label') !== label;});
    document.querySelectorAll('.switcher button').forEach(function(b){
      b.setAttribute('aria-selected', b.getAttribute('data-label') === label ? 'true' : 'false');});
  }
  document.querySelectorAll('.switcher button').forEach(function(b){
    b.addEventListener('click', function(){ show(b.getAttribute('data-label')); });});
  function key(cell){
    var v = cell.getAttribute('data-v');
    if (v !== null) { return parseFloat(v); }
    return cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('th').forEach(function(th, col){
      th.classList.add('sortable');
      th.addEventListener('click', function(){
        var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var desc = th.getAttribute('data-dir') !== 'desc';
        rows.sort(function(a, b){
          var x = key(a.cells[col]), y = key(b.cells[col]);
          var c = (typeof x === 'number' && typeof y === 'number') ? x - y
                  : String(x).localeCompare(String(y));
          return desc ? -c : c;});
        rows.forEach(function(r){ body.appendChild(r); });
        th.setAttribute('data-dir', desc ? 'desc' : 'asc');
      });});});
  var first = document.querySelector('.switcher button');
  if (first) { show(first.getAttribute('data-label')); }
})();
"""

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lls_topics $version">
<title>$title</title>
<style>$style</style>
</head>
<body>
<main>
<h1>$title</h1>
<p class="sub">$subtitle</p>
$body
<footer>Written by lls_topics $version. Labels are identifiable only up to a permutation;
the full tables are in the CSV files that <code>lls-topics fit</code> writes.</footer>
</main>
<script>$script</script>
</body>
</html>
""")


def esc(value: Any) -> str:
    """HTML-escaped ``str(value)``."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A short display string: numbers to ``digits`` significant digits."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.{digits}g}"


def page(title: str, subtitle: str, body: str, version: str) -> str:
    """The whole document around ``body`` (already HTML)."""
    return _PAGE.substitute(title=esc(title), subtitle=esc(subtitle), body=body,
                            version=esc(version), style=_STYLE, script=_SCRIPT)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, sortable: bool = False,
          numeric: Sequence[bool] | None = None, bars: dict[int, float] | None = None,
          cls: str = "") -> str:
    """An HTML table; numeric columns carry their value in ``data-v`` for sorting.

    ``bars`` maps a column index to the value that fills a whole bar: those cells get a
    horizontal bar proportional to their value.
    """
    rows = [list(r) for r in rows]
    numeric = list(numeric) if numeric is not None else [
        all(_is_number(r[j]) for r in rows) and bool(rows) for j in range(len(header))]
    bars = bars or {}
    classes = " ".join(c for c in (cls, "sortable" if sortable else "") if c)
    out = [f'<table class="{classes}">' if classes else "<table>", "<thead><tr>"]
    out += [f"<th>{esc(h)}</th>" for h in header]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>")
        for j, v in enumerate(r):
            if numeric[j] and _is_number(v):
                bar = ""
                if j in bars and bars[j] > 0:
                    width = max(0.0, min(1.0, float(v) / bars[j])) * 80
                    bar = f'<span class="bar" style="width:{width:.1f}px"></span>'
                out.append(f'<td class="num" data-v="{float(v):.6g}">{bar}{esc(fmt(v))}</td>')
            else:
                out.append(f"<td>{esc(v)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def key_values(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of names and values."""
    return table(["", ""], [(k, fmt(v)) for k, v in items], numeric=[False, False],
                 cls="kv").replace("<thead><tr><th></th><th></th></tr></thead>", "")


def figure(fig: Any, alt: str, *, dpi: int = 96) -> str:
    """A matplotlib figure as an inline PNG ``<img>`` (closed afterwards).

    The PNG carries no metadata, so the same figure gives the same bytes.
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="figure" alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return not isinstance(v, str)
