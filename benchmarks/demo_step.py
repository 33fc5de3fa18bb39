"""How long one step of the seminar page takes (target: under 100 ms per step).

Two figures, over one full run of the default world (72 months), after one warm-up step:
* ``AlignmentModel.step`` alone — the Mesa driver's month;
* a full page step — ``SeminarModel.step`` plus everything the page recomputes after it: the four
  panels updated and rendered to JPEG frames (as the page does on the server) and the log's HTML.
Prints per-step milliseconds (mean, p95); the last line is one JSON object.
"""

from __future__ import annotations

import json
import time

import numpy as np

from alignsim.demo.app import PageViews, SeminarModel
from alignsim.model import AlignmentModel


def _stats(ms: list[float]) -> tuple[float, float]:
    a = np.asarray(ms)
    return float(a.mean()), float(np.percentile(a, 95))


def time_model() -> list[float]:
    model = AlignmentModel(SeminarModel().config)
    model.step()  # warm-up (first-call caches)
    out = []
    while not model.finished:
        t0 = time.perf_counter()
        model.step()
        out.append(1e3 * (time.perf_counter() - t0))
    return out


def time_page() -> list[float]:
    model = SeminarModel()
    views = PageViews(model)
    views.render()
    model.step()
    views.render()  # warm-up
    out = []
    while not model.finished:
        t0 = time.perf_counter()
        model.step()
        views.render()
        out.append(1e3 * (time.perf_counter() - t0))
    return out


def main() -> None:
    model_ms = time_model()
    page_ms = time_page()
    m_mean, m_p95 = _stats(model_ms)
    p_mean, p_p95 = _stats(page_ms)
    print(f"AlignmentModel.step: {len(model_ms)} steps, mean {m_mean:.1f} ms, p95 {m_p95:.1f} ms")
    print(f"page step (model + 4 panel frames + log): mean {p_mean:.1f} ms, p95 {p_p95:.1f} ms")
    print(
        json.dumps(
            {
                "step_ms_mean": round(m_mean, 2),
                "step_ms_p95": round(m_p95, 2),
                "page_step_ms_mean": round(p_mean, 2),
                "page_step_ms_p95": round(p_p95, 2),
                "steps": len(model_ms),
            }
        )
    )


if __name__ == "__main__":
    main()
