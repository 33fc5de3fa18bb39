"""Driver tests written for surviving mutants: ``AlignmentModel``'s Mesa ``rng=`` seed and its
narrated log.

``rng=`` replaces ``config.seed`` (Mesa's ``batch_run`` seeds a model this way); the replicate's
uniforms are drawn from ``SeedSequence(seed, spawn_key=(replicate,))``, so a model given
``rng=S`` must draw exactly what a model whose config says ``seed=S`` draws.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alignsim.kernel.schema import EventConf
from alignsim.kernel.spec import ConfigError
from alignsim.model import AlignmentModel, LogEntry
from handchecked_world import default_actions, tiny_config


@pytest.mark.parametrize("rng", [7, 3])  # above and below the config's seed 5
def test_rng_keyword_replaces_the_config_seed(rng: int) -> None:
    cfg = tiny_config(months=3)
    assert cfg.seed == 5
    model = AlignmentModel(config=cfg, rng=rng)
    assert model.config.seed == rng
    assert cfg.seed == 5  # the caller's config is not changed
    same = AlignmentModel(config=dataclasses.replace(cfg, seed=rng))
    np.testing.assert_array_equal(model.uniforms, same.uniforms)
    other = AlignmentModel(config=cfg)
    assert not np.array_equal(model.uniforms, other.uniforms)


def test_rng_keyword_equal_to_the_config_seed_keeps_the_config() -> None:
    cfg = tiny_config(months=3)
    model = AlignmentModel(config=cfg, rng=5)
    assert model.config is cfg


def test_rng_keyword_accepts_the_largest_seed_and_rejects_one_more() -> None:
    cfg = tiny_config(months=3)
    assert AlignmentModel(config=cfg, rng=2**63 - 1).config.seed == 2**63 - 1
    assert AlignmentModel(config=cfg, rng=0).config.seed == 0
    with pytest.raises(ConfigError) as err:
        AlignmentModel(config=cfg, rng=2**63)
    assert (err.value.key, err.value.message) == (
        "rng", "must be between 0 and 2**63 - 1, got 9223372036854775808")
    with pytest.raises(ConfigError) as err:
        AlignmentModel(config=cfg, rng=-1)
    assert (err.value.key, err.value.message) == ("rng", "must be between 0 and 2**63 - 1, got -1")


def test_the_log_narrates_events_and_moves_but_not_free_abstentions() -> None:
    # Every free choice in the tiny world is `none` (only costs count). The event forces r's
    # `halt` in February: north (share 0.7) stopped at severity 0.5 for a month, so the swing
    # state loses 0.7 * 0.5 = 35 % of its oil revenue, 0.35 * 3.0 bn/month = 1.05 bn.
    actions = default_actions()
    actions["halt"].narration = ("{actor} halts {route}: {loss_pct:.1f} % of {target}'s revenue, "
                                 "{loss_bn:.3f} bn")
    cfg = tiny_config(actions=actions, months=3,
                      events=[EventConf(date="2022-02", name="stop", forced={"r": "halt"})])
    model = AlignmentModel(config=cfg)
    for _ in range(3):
        model.step()
    assert model.log == [
        LogEntry("2022-02", "scenario", "event", "Event: stop.", "", True),
        LogEntry("2022-02", "r", "halt", "r halts north: 35.0 % of k's revenue, 1.050 bn",
                 "scheduled by the scenario (historical record)", True),
    ]
