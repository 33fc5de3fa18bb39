"""A sweep point's config: composed from a pickled base, checked on its overridden paths only.

The batched sweeper copies its job's config once per point (``pickle`` rather than
``copy.deepcopy``) and checks for unknown keys only along what the point overrode
(:func:`alignsim.config.check_changed_keys`); both must give what a fresh composition and the
whole-tree check give.
"""

from __future__ import annotations

import pytest

from alignsim.config import check_changed_keys, check_known_keys, compose_dictconfig, to_config
from alignsim.kernel.spec import ConfigError
from alignsim.sweeps.batched import BaseConfig, _compose_context, compose_point

BASE = ["+experiment=pipeline_leverage", "experiment.replicates=5", "policy=logit"]
POINTS = [
    ["experiment.cpc_share=0.6", "payoffs.actors.russia.punish=0.05"],
    ["experiment.cpc_share=0.8", "actions.pipeline_halt.effects.halt.cpc.severity=0.25"],
    ["payoffs.actors.russia.punish=0.5", "world.dynamics.threat_decay=0.2"],
]
BAD = {  # override -> the key the error names
    "+payoffs.actors.russia.punsh=1": "payoffs.actors.russia.punsh",
    "+world.dynamics.foo=2": "world.dynamics.foo",
    "+actions.pipeline_halt.effects.halt.cpc.sev=1": "actions.pipeline_halt.effects.halt.cpc.sev",
    "+world.routes.cpc.nope=1": "world.routes.cpc.nope",
}


@pytest.fixture(scope="module")
def base():
    return compose_dictconfig(BASE)


def test_points_equal_a_fresh_composition_and_do_not_leak_into_each_other(base):
    cache: dict = {}
    for values in [*POINTS, *POINTS[::-1]]:  # each point again after the others
        with _compose_context():
            cfg, changed = compose_point(base, [], [], values, cache)
        assert changed == [v.split("=", 1)[0] for v in values]
        fresh = to_config(compose_dictconfig([*BASE, *values]))
        assert to_config(cfg, changed=changed) == fresh
    assert list(cache) == [()]  # one base, composed once


@pytest.mark.parametrize("override", sorted(BAD))
def test_an_unknown_key_is_named_as_by_the_whole_tree_check(base, override):
    with _compose_context():
        cfg, changed = compose_point(base, [], [], [override], {})
    with pytest.raises(ConfigError) as whole:
        check_known_keys(cfg)
    with pytest.raises(ConfigError) as changed_only:
        check_changed_keys(cfg, changed)
    assert whole.value.key == changed_only.value.key == BAD[override]


def test_tool_keys_pass_both_checks(base):
    with _compose_context():
        cfg, changed = compose_point(base, [], [], ["+experiment.note=1"], {})
    check_known_keys(cfg)
    check_changed_keys(cfg, changed)


def test_an_unclean_base_checks_every_point_whole(base):
    from omegaconf import OmegaConf

    dirty = base.copy()
    OmegaConf.update(dirty, "payoffs.actors.russia.punsh", 1, force_add=True)  # a job's ``+key``
    assert not BaseConfig.of(dirty).checked
    with _compose_context():
        cfg, changed = compose_point(dirty, [], [], POINTS[0], {})
    assert changed is None
    with pytest.raises(ConfigError, match="punsh"):
        to_config(cfg, changed=changed)
