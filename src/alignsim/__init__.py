"""alignsim: agent-based, game-theoretic models of a swing state's geopolitical alignment.

Layers (imports only go downward):
- kernel: ``calendar``, ``schema``, ``spec``, ``state``, ``dynamics``, ``policies``, ``decisions``
- drivers: ``ensemble`` (many replicates at once), ``model`` + ``agents`` (Mesa, one replicate)
- analysis: ``metrics``, ``results``, ``plots``, ``equilibrium``
- entry points: ``cli`` (Hydra), the demo app, experiment runners
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alignsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
