"""The NumPy kernel: the compiled kernel's test oracle, under ``tests/``, not a production path.

Production runs the compiled kernel (:mod:`alignsim.kernel.compiled`, driven through
:mod:`alignsim.kernel.batch` and :mod:`alignsim.kernel.rows`). This package is the second, readable
implementation of the same month that the tests compare it to, operation for operation:

- :mod:`numpy_kernel.dynamics`: one month's transition and payoffs over a replicate axis;
- :mod:`numpy_kernel.lookahead`: the actors' look-ahead valuation of every candidate action and
  the rule's draw;
- :mod:`numpy_kernel.choice`: how a decision rule turns expected payoffs into probabilities and
  an action.

``tests/numpy_oracle.py`` runs whole runs with it (``run_numpy``). What production still needs in
NumPy stays in the package: the rest anchor computed once per parameter point at pack time
(:mod:`alignsim.kernel.anchor`), the state and memory (:mod:`alignsim.kernel.state`,
:class:`alignsim.kernel.decisions.Memory`, :func:`alignsim.kernel.decisions.remember`) and the
rule catalogue (:mod:`alignsim.kernel.policies`).

Imported as the top-level package ``numpy_kernel``, like ``numpy_oracle`` and
``handchecked_world``: ``tests/`` has no ``__init__.py``, so pytest's default (``prepend``) import
mode puts ``tests/`` first on ``sys.path``; ``benchmarks/throughput.py`` inserts it itself.
"""
