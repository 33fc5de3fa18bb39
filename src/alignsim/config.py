"""Hydra wiring: the typed schema in the ConfigStore, and composing configs outside ``@hydra.main``.

The schema (:class:`alignsim.kernel.schema.Config`) is registered as ``alignsim_schema`` and
listed first in ``conf/config.yaml``'s defaults, so every YAML group is merged into typed nodes:
a wrong type or an unknown key fails at composition, before anything runs.

Also here: the *flat parameters* (CPC share, halt severity, fund sizes, temperature, …), one
keyword each, turned into Hydra overrides of ``conf/``. The seminar page's sliders and the Mesa
model's keyword arguments (what ``mesa.batch_run`` passes) are the same set, built by the same
code (:func:`flat_overrides`, :func:`flat_world`), so a value means the same thing in both.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, ListConfig, OmegaConf

from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, compile_spec, rebalanced_routes

if TYPE_CHECKING:
    from alignsim.kernel.spec import Spec

SCHEMA_NAME = "alignsim_schema"
_PACKAGED_CONF = Path(__file__).resolve().parent / "conf"  # put there by the wheel's build step
_SOURCE_CONF = Path(__file__).resolve().parents[2] / "conf"  # the repository's top-level conf/


def conf_dir() -> Path:
    """The ``conf/`` tree Hydra reads.

    In order: ``$ALIGNSIM_CONF`` if set; the repository's top-level ``conf/`` (a checkout or an
    editable install, so edits to the YAML take effect at once); the copy inside the installed
    package (``alignsim/conf``, shipped in the wheel by ``setup.py``'s build step), which a
    plain ``pip install .`` has instead. A user's ``--config-dir`` is added to the search path
    on top of whichever is found.
    """
    env = os.environ.get("ALIGNSIM_CONF")
    if env:
        return Path(env)
    for candidate in (_SOURCE_CONF, _PACKAGED_CONF):
        if (candidate / "config.yaml").is_file():
            return candidate
    return _SOURCE_CONF  # neither exists: Hydra names this path in its error


def register() -> None:
    ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)


# Top-level keys that tools add with ``+key=...`` beside the model's own schema.
TOOL_KEYS = frozenset({"experiment", "validation", "sensitivity", "calibration", "date", "out",
                       "batch"})  # batch: set by the batched sweeper (alignsim.sweeps.batched)


def check_known_keys(cfg: DictConfig | ListConfig, prefix: str = "") -> None:
    """Reject keys the schema does not define, which ``+key=value`` would otherwise slip in.

    Hydra's ``+`` adds a key even to a typed node, and ``OmegaConf.to_object`` then keeps it as
    a stray attribute that nothing reads: a typo such as ``+payoffs.actors.russia.punsh=1``
    would run as if never given.
    """
    if isinstance(cfg, DictConfig):
        _check_level(cfg, prefix)
    for child, child_prefix in _children(cfg, prefix):
        check_known_keys(child, child_prefix)


def check_changed_keys(cfg: DictConfig, keys: Iterable[str]) -> None:
    """:func:`check_known_keys` for a config that passed it before ``keys`` were overridden.

    An override can only add unknown keys on its own path: each node along it is checked (one
    level: ``+a.b.typo=1`` adds to ``a.b``), then the subtree it set. A sweep's point thus costs
    a few nodes instead of the whole tree (~10 ms a point)."""
    for key in keys:
        node: DictConfig | ListConfig | None = cfg
        prefix = ""
        for part in key.split("."):
            if isinstance(node, ListConfig):  # Hydra names an element ``a.0.b``
                if not (part.isdigit() and int(part) < len(node)):
                    node = None
                    break
                child = node._get_node(int(part))
                step = f"{prefix[:-1]}[{part}]."  # as the whole-tree check names it
            else:
                _check_level(node, prefix)
                if prefix == "" and part in TOOL_KEYS | {"hydra"}:
                    node = None  # tool keys are not in the schema
                    break
                child = node._get_node(part) if part in node else None
                step = f"{prefix}{part}."
            if not isinstance(child, DictConfig | ListConfig) or child._is_none():
                node = None
                break
            node, prefix = child, step
        if node is not None:
            check_known_keys(node, prefix)


def _check_level(cfg: DictConfig, prefix: str) -> None:
    """The keys of one node against its dataclass (not its children)."""
    node_type = OmegaConf.get_type(cfg)
    if dataclasses.is_dataclass(node_type):
        names = {f.name for f in dataclasses.fields(node_type)}
        for key in cfg:
            if key not in names and not (prefix == "" and key in TOOL_KEYS | {"hydra"}):
                allowed = ", ".join(sorted(names))
                raise ConfigError(f"{prefix}{key}", f"unknown key; allowed: {allowed}")


def _children(cfg: DictConfig | ListConfig, prefix: str):
    """The child nodes :func:`check_known_keys` descends into, with their key prefixes."""
    if isinstance(cfg, ListConfig):
        for i, item in enumerate(cfg):
            if isinstance(item, DictConfig):
                yield item, f"{prefix[:-1]}[{i}]."
        return
    for key in cfg:
        if prefix == "" and key in TOOL_KEYS | {"hydra"}:
            continue
        child = cfg._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none():
            yield child, f"{prefix}{key}."
        elif isinstance(child, ListConfig) and not child._is_none():
            for i, item in enumerate(child):
                if isinstance(item, DictConfig):
                    yield item, f"{prefix}{key}[{i}]."


def to_config(cfg: DictConfig, changed: Iterable[str] | None = None) -> Config:
    """A composed DictConfig (without its ``hydra`` node) as the typed dataclass tree.

    ``changed``: the keys overridden on a config whose other keys were checked already (a
    sweep's point); only their paths are checked for unknown keys (:func:`check_changed_keys`)."""
    if changed is None:
        check_known_keys(cfg)
    else:
        check_changed_keys(cfg, changed)
    if "hydra" in cfg:
        cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    obj = OmegaConf.to_object(cfg)
    assert isinstance(obj, Config)
    return obj


def compose_config(overrides: Sequence[str] = (), config_name: str = "config") -> Config:
    """Compose ``conf/`` with command-line style overrides (tests, notebooks, the demo)."""
    return to_config(compose_dictconfig(overrides, config_name))


# Hydra's GlobalHydra is process-wide: two threads (two demo sessions, a notebook's widgets)
# composing at once would clear each other's state. Re-entrant so a caller may hold it too.
_COMPOSE_LOCK = threading.RLock()


def compose_dictconfig(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    register()
    with _COMPOSE_LOCK, initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose(config_name, overrides=list(overrides))


# ------------------------------------------------------------------------ flat parameters
SWING_ROUTE = "cpc"  # the route whose share ``cpc_share`` sets
BALANCING_ROUTE = "china_east"  # the route that absorbs the difference (see flat_overrides)
FUND_USERS = {  # flat keyword -> the actor whose investment-fund size (USD bn) it sets
    "fund_az_bn": "azerbaijan",
    "fund_tr_bn": "turkiye",
    "fund_cn_bn": "china",
    "fund_eu_bn": "eu",
}
#: The flat keywords, in the order the seminar page shows them (``seed`` aside).
FLAT_KEYS = ("scenario_name", "cpc_share", "halt_severity", "coercion_appetite",
             *FUND_USERS, "temperature")


@dataclass(frozen=True)
class FlatDefaults:
    """The flat parameters' values as ``conf/`` sets them (read, never restated in code)."""

    scenario_name: str
    seed: int
    cpc_share: float
    halt_severity: float
    coercion_appetite: float
    funds: dict[str, float]
    temperature: float
    fixed_route_share: float  # the routes that neither ``cpc_share`` nor the balance touch

    @property
    def max_cpc_share(self) -> float:
        return 1.0 - self.fixed_route_share


@lru_cache(maxsize=1)
def flat_defaults() -> FlatDefaults:
    """Read the flat parameters' defaults from the composed default config (once)."""
    cfg = _composed(())
    routes = cfg.world.routes
    fixed = sum(r.share for k, r in routes.items() if k not in (SWING_ROUTE, BALANCING_ROUTE))
    users = cfg.actions["investment_fund"].users
    return FlatDefaults(
        scenario_name=str(cfg.scenario.name),
        seed=int(cfg.seed),
        cpc_share=float(routes[SWING_ROUTE].share),
        halt_severity=float(cfg.actions["pipeline_halt"].effects.halt[SWING_ROUTE].severity),
        coercion_appetite=float(cfg.payoffs.actors["russia"].punish),
        funds={k: float(users[a].scale) for k, a in FUND_USERS.items()},
        temperature=float(cfg.policy.temperature),
        fixed_route_share=float(fixed),
    )


def scenario_names() -> tuple[str, ...]:
    """The scenarios of ``conf/scenario/`` (what ``scenario_name`` accepts)."""
    return tuple(sorted(p.stem for p in (conf_dir() / "scenario").glob("*.yaml")))


def flat_overrides(
    *,
    scenario_name: str,
    seed: int | None,
    cpc_share: float,
    halt_severity: float,
    coercion_appetite: float,
    funds: Mapping[str, float],
    temperature: float,
    scenarios: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """Hydra overrides of ``conf/`` for one setting of the flat parameters.

    The CPC share moves the balancing route (eastward to China) the other way so that export
    shares still sum to one; the balancing route's capacity is set to its new share, otherwise
    the route dynamics (alternatives full, CPC takes the rest) would pull the shares straight
    back to the configured ones in the first months (``spec.rebalanced_routes``, shared with the
    sweep presets). ``scenarios`` limits the scenarios offered (default: all of conf/scenario);
    ``seed=None`` leaves the configured seed.
    """
    allowed = tuple(scenarios) if scenarios is not None else scenario_names()
    if scenario_name not in allowed:
        raise ConfigError(
            "scenario", f"unknown scenario {scenario_name!r}; allowed: " + ", ".join(allowed)
        )
    unknown = sorted(set(funds) - set(FUND_USERS))
    if unknown:
        raise ConfigError(unknown[0], "unknown fund; allowed: " + ", ".join(FUND_USERS))
    routes = _composed(()).world.routes  # the configured routes (cached)
    out = [
        f"scenario={scenario_name}",
        *([] if seed is None else [f"seed={seed}"]),
        *(f"world.routes.{k}={v:.6g}" for k, v in
          rebalanced_routes(routes, SWING_ROUTE, cpc_share, BALANCING_ROUTE, "cpc_share").items()),
        f"actions.pipeline_halt.effects.halt.{SWING_ROUTE}.severity={halt_severity:.6g}",
        f"payoffs.actors.russia.punish={coercion_appetite:.6g}",
        f"policy.temperature={temperature:.6g}",
    ]
    out += [
        f"actions.investment_fund.users.{FUND_USERS[k]}.scale={v:.6g}"
        for k, v in sorted(funds.items())
    ]
    return tuple(out)


def flat_world(params: Mapping[str, object]) -> tuple[Config, Spec]:
    """Config and compiled Spec for the given flat parameters (missing ones as in ``conf/``).

    Composition costs ~0.6 s here, so each parameter set is composed and compiled once per
    process (``mesa.batch_run`` over seeds, the demo's Reset); the caller gets its own copy of
    the config, and the frozen Spec is shared. Raises :class:`ConfigError` naming the keyword
    for an unknown keyword or a value that is not a number.
    """
    unknown = sorted(set(params) - set(FLAT_KEYS))
    if unknown:
        raise ConfigError(unknown[0], "unknown parameter; allowed: " + ", ".join(FLAT_KEYS))
    d = flat_defaults()
    values: dict[str, object] = {
        "scenario_name": d.scenario_name, "cpc_share": d.cpc_share,
        "halt_severity": d.halt_severity, "coercion_appetite": d.coercion_appetite,
        **d.funds, "temperature": d.temperature,
    }
    values.update({k: v for k, v in params.items() if v is not None})
    for key in FLAT_KEYS[1:]:
        values[key] = _number(key, values[key])
    ov = flat_overrides(
        scenario_name=str(values["scenario_name"]),
        seed=None,
        cpc_share=values["cpc_share"],  # type: ignore[arg-type]
        halt_severity=values["halt_severity"],  # type: ignore[arg-type]
        coercion_appetite=values["coercion_appetite"],  # type: ignore[arg-type]
        funds={k: values[k] for k in FUND_USERS},  # type: ignore[misc]
        temperature=values["temperature"],  # type: ignore[arg-type]
    )
    cfg, spec = _compiled(ov)
    return copy.deepcopy(cfg), spec


def _number(key: str, value: object) -> float:
    if isinstance(value, bool):
        raise ConfigError(key, f"must be a number, got {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be a number, got {value!r}") from None


@lru_cache(maxsize=64)
def _composed(overrides: tuple[str, ...]) -> Config:
    return compose_config(list(overrides))


@lru_cache(maxsize=64)
def _compiled(overrides: tuple[str, ...]) -> tuple[Config, Spec]:
    cfg = _composed(overrides)
    return cfg, compile_spec(cfg)
