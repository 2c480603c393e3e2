"""Reports from the MRR facts: the self-contained HTML report and the terminal summary.

``data`` reads the facts (or computes them under another policy, in memory),
``money`` turns minor units into exact text, ``svg`` draws the charts,
``html`` assembles the document and ``summary`` the terminal rows.
"""

from .data import NoMrrData, ReportData, load_report_data
from .html import render_report, write_report
from .summary import format_summary, summary_rows

__all__ = ["NoMrrData", "ReportData", "format_summary", "load_report_data", "render_report", "summary_rows", "write_report"]
