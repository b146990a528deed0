"""HTML for the Snakemake report: tables as HTML tables and the front page with the headline numbers.

The report (``snakemake --report``) displays PNG/SVG as images and HTML in an iframe; CSV files are
only offered as downloads. So every table is also written as a small HTML page, and the front page
(the workflow description) includes :func:`headline_html`, a fragment with the numbers a reader
looks for first. Everything here is deterministic: no dates, fixed number formats.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["fmt", "html_table", "html_page", "table_page", "headline_html"]

_TABLE = 'style="border-collapse:collapse;margin:0.5em 0 1.2em 0;font-size:0.9em"'
_CELL = 'style="padding:2px 10px;border-bottom:1px solid #ccc;text-align:{align}"'
_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.4em; }
"""


def fmt(value: Any, digits: int = 4) -> str:
    """A table cell: numbers with ``digits`` significant digits, NaN/None as an en dash.

    Counts up to 10^6 keep every integer digit.

    >>> fmt(2.0107612), fmt(158.0), fmt(19367.5), fmt(4.344e-06), fmt(float("nan")), fmt("XENONnT")
    ('2.011', '158', '19368', '4.344e-06', '–', 'XENONnT')
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        x = float(value)
        if math.isnan(x):
            return "–"
        if 1.0 <= abs(x) < 1e6:
            digits = max(digits, len(str(int(abs(x)))))
        return f"{x:.{digits}g}"
    return str(value)


def html_table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], caption: str | None = None, digits: int = 4
) -> str:
    """An HTML ``<table>`` (inline styles only, so it can be embedded anywhere); text is escaped.

    >>> print(html_table(["a", "b"], [["x<y", 1.23456]]))  # doctest: +ELLIPSIS
    <table ...><thead><tr><th ...>a</th><th ...>b</th></tr></thead>
    <tbody><tr><td ...>x&lt;y</td><td ...>1.235</td></tr></tbody></table>
    """

    def cell(tag: str, value: Any) -> str:
        text = fmt(value, digits)
        align = "left" if tag == "th" or not _is_number(value) else "right"
        return f"<{tag} {_CELL.format(align=align)}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", h) for h in header)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table {_TABLE}>{cap}<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody></table>"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def html_page(title: str, body: str) -> str:
    """A complete, self-contained HTML document (for an iframe of the report)."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n"
    )


def table_page(df: pd.DataFrame, title: str, digits: int = 4) -> str:
    """A CSV table as a complete HTML page (header = the column names)."""
    return html_page(title, html_table(list(df.columns), df.itertuples(index=False), digits=digits))


def _mass_columns(columns: Iterable[str]) -> list[tuple[str, str]]:
    """(column, mass label) of the ``limit_at_{m}MeV`` columns, in mass order."""
    found = [(c, m.group(1)) for c in columns if (m := re.fullmatch(r"limit_at_(.+)MeV", c))]
    return sorted(found, key=lambda cm: float(cm[1]))


#: how the report names the values of ``limits.method``
METHOD_LABELS = {"wilks": "Wilks", "cls": "CLs", "feldman_cousins": "Feldman-Cousins"}


def headline_html(
    signal_limits: pd.DataFrame,
    coherent_fit: Mapping[str, Any] | None,
    limits_summary: pd.DataFrame,
    model_labels: Mapping[str, str] | None = None,
    experiment_labels: Mapping[str, str] | None = None,
) -> str:
    """The front-page fragment: N_lim per data set, the fitted COHERENT count, the limits per model.

    ``signal_limits`` and ``limits_summary`` are the CSV tables of the rules ``experiment_tables``
    and ``limits_summary``; ``coherent_fit`` is ``results/{run}/coherent/sm_fit.json`` (or None).
    """
    model_labels = dict(model_labels or {})
    experiment_labels = {**dict(zip(signal_limits["experiment"], signal_limits["label"])), **(experiment_labels or {})}
    parts = ['<div id="nufog-headline">', "<h2>Headline numbers</h2>"]

    cl = signal_limits["cl"].iloc[0] if "cl" in signal_limits and len(signal_limits) else float("nan")
    # N_lim of the method the limit curves use (limits.method; Wilks when the summary does not say)
    method = limits_summary["method"].iloc[0] if "method" in limits_summary and len(limits_summary) else "wilks"
    column = "n_lim" if method == "wilks" else f"n_lim_{method}"
    rows = [
        [r["label"], r["exposure_t_yr"], r["observed"], r["background"], r["sm_cevns_events"], r[column]]
        for _, r in signal_limits.iterrows()
    ]
    how = "" if method == "wilks" else "; exact one-bin construction, nuisances fixed"
    parts.append(
        html_table(
            ["data set", "exposure [t yr]", "observed", "background", "SM CEvNS", "N_lim"],
            rows,
            caption=f"Upper limit N_lim on new-physics events ({fmt(100 * cl, 3)} % CL, {METHOD_LABELS[method]}{how})",
        )
    )

    if coherent_fit:
        n, lo, hi = coherent_fit["n_fit"], coherent_fit.get("n_fit_err_low"), coherent_fit.get("n_fit_err_high")
        err = (
            f"−{fmt(lo, 3)} / +{fmt(hi, 3)}" if lo is not None and hi is not None else fmt(coherent_fit["n_fit_err"], 3)
        )
        chi2 = f"{fmt(coherent_fit['chi2'], 4)} / {coherent_fit['ndf']}" if "chi2" in coherent_fit else "–"
        parts.append(
            html_table(
                ["fitted CEvNS events", "uncertainty", "SM prediction", "observed (ROI)", "χ² / ndf"],
                [[fmt(n, 4), err, coherent_fit.get("n_sm"), coherent_fit.get("n_observed"), chi2]],
                caption="COHERENT CsI 2021: fitted CEvNS count",
            )
        )

    masses = _mass_columns(limits_summary.columns)
    rows = [
        [
            model_labels.get(r["model"], r["model"]),
            experiment_labels.get(r["experiment"], r["experiment"]),
            *[r[c] for c, _ in masses],
        ]
        for _, r in limits_summary.iterrows()
    ]
    cl = limits_summary["cl"].iloc[0] if "cl" in limits_summary and len(limits_summary) else float("nan")
    parts.append(
        html_table(
            ["model", "data set", *[f"limit at {m} MeV" for _, m in masses]],
            rows,
            caption=f"Limit on the coupling product ({fmt(100 * cl, 3)} % CL, {METHOD_LABELS[method]})",
        )
    )
    parts.append("</div>")
    return "\n".join(parts) + "\n"
