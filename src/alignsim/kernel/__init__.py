"""The kernel: the model's single source of truth, pure NumPy over a leading replicate axis.

``calendar`` (months), ``schema`` (typed config dataclasses), ``spec`` (config → checked arrays),
``state`` (the world at a date), ``dynamics`` (one month's transition and payoffs), ``policies``
(decision rules), ``decisions`` (expected payoffs and choice), ``step`` (one month of the game for
a batch, and the replicates' random streams).

Nothing here imports Mesa, Hydra, OmegaConf, pandas, plotting or any other part of alignsim:
``tests/test_layout.py`` enforces it.
"""
