"""The kernel: the model's single source of truth, over a leading replicate axis.

``calendar`` (months), ``schema`` (typed config dataclasses), ``spec`` (config → checked arrays),
``state`` (the world at a date), ``compiled`` (the month's transition, payoffs, look-ahead and
draws, compiled with numba) driven through ``batch`` (packing specs, whole runs) and ``rows``
(single calls on states), ``anchor`` (the rest anchor, computed once per point at pack time),
``policies`` (the decision rules' catalogue), ``decisions`` (expected payoffs, choice and memory),
``step`` (one month of the game for a batch), ``streams`` (the replicates' random streams). The
same month in NumPy, the compiled kernel's test oracle, is test code: ``tests/numpy_kernel/``.

Nothing here imports Mesa, Hydra, OmegaConf, pandas, plotting or any other part of alignsim:
``tests/test_layout.py`` enforces it.
"""
