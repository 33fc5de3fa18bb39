"""alignsim: agent-based, game-theoretic models of a swing state's geopolitical alignment.

Layers, as folders (imports only go downward; ``tests/test_layout.py`` enforces it):
- ``kernel/``: ``calendar``, ``schema``, ``spec``, ``state``, ``compiled`` + ``batch`` +
  ``rows`` (the numba kernel), ``anchor``, ``policies``, ``decisions``, ``step``, ``streams`` —
  the single source of truth of the dynamics (its NumPy oracle: ``tests/numpy_kernel/``)
- drivers: ``ensemble`` (many replicates at once), ``model`` + ``agents`` (Mesa, one replicate)
- ``game/`` (stage game, equilibria), ``validation/`` (patterns, validate, calibrate,
  sensitivity), ``sweeps/`` (one point per job, gathering, report), ``demo/`` (page, server)
- shared services: ``config`` (Hydra), ``metrics``, ``results``, ``plots``, ``errors``
- entry points: ``cli`` + ``runner`` (the main job) and each folder's command
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alignsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
