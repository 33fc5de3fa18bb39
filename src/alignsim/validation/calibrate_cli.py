"""``alignsim-calibrate``: the point fit (:mod:`alignsim.validation.calibrate`) or, with
``--posterior``, the ABC-SMC posterior (:mod:`alignsim.validation.posterior`).

Why a module of its own: the posterior builds on the point calibration's parameters and
simulator, so ``posterior`` imports ``calibrate``; the one command that offers both sits above
them, and neither of the two imports the other's command line (no import cycle).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from alignsim.tools import tool_main, usage_error
from alignsim.validation.calibrate import POSTERIOR_FLAG, PROG, run_point_fit, with_posterior_help


def main(argv: Sequence[str] | None = None) -> None:
    """Fit, print the fitted values and the fit/holdout table, write ``calibration.json`` and
    ``calibrated.yaml`` to the output folder (and to ``--write PATH``); with ``--posterior``,
    the ABC-SMC posterior instead."""
    words = list(sys.argv[1:] if argv is None else argv)
    if POSTERIOR_FLAG not in words:
        tool_main(with_posterior_help(), words, run_point_fit)
        return
    rest = [w for w in words if w != POSTERIOR_FLAG]
    if "--write" in rest or any(w.startswith("--write=") for w in rest):
        usage_error(PROG, "--write: not with --posterior (the posterior writes "
                          "posterior_draws.csv to --out)")
    try:
        import pyabc  # noqa: F401  - an extra: say so in one line rather than a traceback
    except ImportError:
        usage_error(PROG, "--posterior: needs pyabc: pip install 'alignsim[posterior]'")
    from alignsim.validation.posterior import main_posterior

    tool_main(with_posterior_help(), rest, lambda args: main_posterior(args, PROG))


if __name__ == "__main__":
    main()
