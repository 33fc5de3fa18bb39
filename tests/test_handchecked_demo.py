"""The seminar page's narrated log is HTML: text from the config and the model must be escaped.

Narrations come from ``conf/actions`` templates and event names from scenarios, both editable by
users; ``log_html`` goes to the browser through ``solara.HTML(unsafe_innerHTML=...)``.
"""

from __future__ import annotations

from types import SimpleNamespace

from alignsim.demo.app import log_html
from alignsim.model import LogEntry


def test_log_html_escapes_the_narration_and_the_reasons() -> None:
    entry = LogEntry(month="2022-07", actor="Russia", action="pipeline_halt",
                     text='Russia halts <script>alert("CPC")</script> & co.',
                     why="q: halt <0.1> & 'none' 0.2", forced=True)
    model = SimpleNamespace(date="2022-08", month=7, spec=SimpleNamespace(months=72),
                            log=[entry])
    page = log_html(model)
    assert "<script>" not in page and "<0.1>" not in page
    expected_entry = (
        "<div class='alignsim-entry'>Russia halts &lt;script&gt;alert(&quot;CPC&quot;)"
        "&lt;/script&gt; &amp; co. <i>(scheduled)</i>"
        "<div class='why'>q: halt &lt;0.1&gt; &amp; &#x27;none&#x27; 0.2"
        "</div></div>")
    assert expected_entry in page
    assert "<div class='alignsim-status'><b>2022-08</b> — step " in page


def test_log_html_escapes_event_names() -> None:
    entry = LogEntry("2022-07", "scenario", "event", "Event: <b>CPC</b> halt.", "", True)
    model = SimpleNamespace(date="2022-08", month=7, spec=SimpleNamespace(months=72),
                            log=[entry])
    # a scenario event is not tagged "(scheduled)" and has no reasons
    assert ("<div class='alignsim-entry'>Event: &lt;b&gt;CPC&lt;/b&gt; halt.</div>"
            in log_html(model))
