"""The run summary without the full trajectory: memory that does not grow with months x runs.

A million-run main job cannot keep every replicate's every month (the full record of 10^6 runs
of 72 months is ~35 GB). When no time series is asked for (``output.timeseries=false``), the
replicates are run in chunks and each chunk is reduced at once to what the summary and the
figure need: the axis at the three reported dates (exact bands), the leader at the end, the first
month the leader changes and the axis changes sign, per-actor action counts and payoff sums, and
per month a histogram of the axis (the figure's band; bins of 0.0005) and its exact mean. What is
kept is ~40 bytes per replicate plus a fixed ~3 MB; a chunk's records (its uniforms and
alignment, ~100 MB at 72 months) are freed before the next.
:meth:`RunSummary.summary` gives the same dictionary as :func:`alignsim.metrics.summarise` of
the full trajectory (tested); only the monthly band of the figure is binned.
"""

from __future__ import annotations

import numpy as np

from alignsim.ensemble import _bar, run_ensemble
from alignsim.kernel.batch import pack, run_rows
from alignsim.kernel.calendar import Month
from alignsim.kernel.decisions import uses_equilibrium
from alignsim.kernel.spec import Spec
from alignsim.kernel.step import replicate_uniforms
from alignsim.metrics import BAND, first_step, summary_of

BINS = 4001  # histogram bins of the axis over [-1, 1]: width 0.0005


class RunSummary:
    """Accumulates chunks of replicates into the run summary (see the module docstring)."""

    def __init__(self, spec: Spec, replicates: int, t_2025: int) -> None:
        r, t1 = int(replicates), spec.months + 1
        self.spec, self.replicates, self.t_2025 = spec, r, int(t_2025)
        self.axis_at = np.empty((3, r))  # start, end of 2025, end
        self.leader_end = np.empty(r, dtype=np.int8)
        self.tip = np.empty(r, dtype=np.int16)
        self.cross = np.empty(r, dtype=np.int16)
        self.share_end_sum = np.zeros(spec.n_spheres)
        self.action_counts = np.zeros((spec.n_actors, spec.n_actions), dtype=np.int64)
        self.payoff_sums = np.zeros(spec.n_actors)
        self.hist = np.zeros((t1, BINS), dtype=np.int64)
        self.axis_sum = np.zeros(t1)
        self.filled = 0

    def add(self, alignment: np.ndarray, action_counts: np.ndarray,
            payoff_sums: np.ndarray) -> None:
        """Reduce the next chunk: ``alignment (T+1, b, S)``, per-row ``action_counts (b, N, A)``
        and ``payoff_sums (b, N)``."""
        lo, b = self.filled, alignment.shape[1]
        at = slice(lo, lo + b)
        axis = self.spec.axis_of(alignment)  # (T+1, b)
        self.axis_at[:, at] = axis[[0, self.t_2025, -1]]
        lead = np.argmax(alignment, axis=-1)
        self.leader_end[at] = lead[-1]
        self.tip[at] = first_step(lead != lead[0])
        self.cross[at] = first_step(np.sign(axis) != np.sign(axis[0]))
        self.share_end_sum += alignment[-1].sum(axis=0)
        self.action_counts += action_counts.sum(axis=0)
        self.payoff_sums += payoff_sums.sum(axis=0)
        idx = np.clip(np.rint((axis + 1.0) * (BINS - 1) / 2.0).astype(np.int64), 0, BINS - 1)
        np.add.at(self.hist, (np.arange(axis.shape[0])[:, None], idx), 1)
        self.axis_sum += axis.sum(axis=1)
        self.filled += b

    def monthly_bands(self) -> dict[str, np.ndarray]:
        """Per month: exact mean; 5th, 50th and 95th percentiles from the histogram (the bin
        holding the order statistic: within a bin or two of the exact, interpolated percentile
        for hundreds of replicates; coarser for a few dozen)."""
        centres = np.linspace(-1.0, 1.0, BINS)
        cum = np.cumsum(self.hist, axis=1)
        n = cum[:, -1:]
        out = {"mean": self.axis_sum / self.filled}
        for name, q in (("p05", BAND[0]), ("median", 50.0), ("p95", BAND[1])):
            rank = np.floor(q / 100.0 * (n - 1)).astype(np.int64)
            out[name] = centres[np.argmax(cum > rank, axis=1)]
        return out

    def summary(self) -> dict:
        """The summary dictionary of :func:`alignsim.metrics.summarise`, from the reductions."""
        r, months = self.filled, self.spec.months
        runs = max(months * r, 1)
        return summary_of(self.spec, months, self.axis_at[:, :r], self.t_2025,
                          self.leader_end[:r], self.tip[:r], self.cross[:r],
                          self.share_end_sum / r, self.action_counts / runs,
                          self.payoff_sums / runs)


SUMMARY_CHUNK = 16384  # replicates per compiled call when only the summary is kept


def run_summary(spec: Spec, replicates: int, seed: int, *, progress: bool = False,
                chunk: int = SUMMARY_CHUNK):
    """Run replicates ``0 .. replicates - 1`` keeping only the summary
    (:class:`RunSummary`): memory ~40 bytes a replicate plus one chunk's
    alignment record, whatever the months; the same numbers as summarising the full run."""
    t_2025 = min(max(Month(2026, 1).index_from(spec.start), 0), spec.months)
    if uses_equilibrium(spec):  # stepped month by month: summarised from the full record
        traj = run_ensemble(spec, replicates, seed, progress=progress)
        out = RunSummary(spec, replicates, t_2025)
        counts = np.stack([(traj.actions == a).sum(axis=0) for a in range(spec.n_actions)], -1)
        out.add(traj.alignment, counts, traj.payoffs.sum(axis=0))
        return out
    out = RunSummary(spec, replicates, t_2025)
    packed = pack([spec])
    bar = _bar(progress, replicates, "replicates", f"{replicates} replicates")
    for lo in range(0, replicates, chunk):
        ids = np.arange(lo, min(lo + chunk, replicates))
        u = replicate_uniforms(seed, ids, spec.months, spec.n_actors)
        rows = run_rows(packed, np.zeros(len(ids), np.int64), u, fields=("alignment",),
                        moves=False, totals=True)
        out.add(rows.states, rows.action_counts, rows.payoff_sums)
        del rows, u
        if bar is not None:
            bar.update(len(ids))
    if bar is not None:
        bar.close()
    return out
