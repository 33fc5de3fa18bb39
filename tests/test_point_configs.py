"""A sweep point's config: composed from a pickled base, checked on its overridden paths only.

The batched sweeper copies its job's config once per point (``pickle`` rather than
``copy.deepcopy``) and checks for unknown keys only along what the point overrode
(:func:`alignsim.config.check_changed_keys`); both must give what a fresh composition and the
whole-tree check give.
"""

from __future__ import annotations

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from alignsim.config import check_changed_keys, check_known_keys, compose_dictconfig, to_config
from alignsim.kernel.spec import ConfigError
from alignsim.sweeps.batched import (
    BaseConfig,
    _compose_context,
    compose_point,
    composed_point,
    point_config,
)

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
    "+world.relations.0.typo=1": "world.relations[0].typo",  # under a list element (review)
}


@pytest.fixture(scope="module")
def base():
    return compose_dictconfig(BASE)


def test_points_equal_a_fresh_composition_and_do_not_leak_into_each_other(base):
    cache: dict = {}
    for values in [*POINTS, *POINTS[::-1]]:  # each point again after the others
        with _compose_context():
            cfg, changed = compose_point(base, [], [], values, cache)
        keys = [o.key_or_group for o in changed]
        assert keys == [v.split("=", 1)[0] for v in values]
        fresh = to_config(compose_dictconfig([*BASE, *values]))
        assert to_config(cfg, changed=keys) == fresh
        with _compose_context():
            _, typed = point_config(base, [], [], values, cache)
        assert typed == fresh  # the base's typed config with the point's values set
    assert list(cache) == [()]  # one base, composed once
    assert cache[()].typed is not None  # (so the line above tested the fast path)


@pytest.mark.parametrize("values", [
    ["payoffs.actors.russia={punish: 0.2, align: 0.5}"],  # a whole node merged
    ["months=24", "seed=7"],
    ["world.routes.cpc.share=0.6", "world.routes.china_east.share=0.1"],
    ["~payoffs.actors.russia.punish"],  # a deletion: converted whole
    ["+experiment.note=1"],  # a key the base's typed config has no place for: converted whole
])
def test_other_overrides_give_the_fresh_typed_config(base, values):
    cache: dict = {}
    try:
        fresh = to_config(compose_dictconfig([*BASE, *values]))
    except Exception as exc:  # Hydra or the schema refuses it: so must the point
        with pytest.raises(type(exc)), _compose_context():
            point_config(base, [], [], values, cache)
        return
    with _compose_context():
        _, typed = point_config(base, [], [], values, cache)
    assert typed == fresh


def test_an_interpolating_base_converts_every_point_whole():
    b = compose_dictconfig(["+experiment=investment_race", "experiment.replicates=5"])
    assert BaseConfig.of(b).typed is None
    values = ["experiment.turkic_fund_bn=3.5"]
    with _compose_context():
        _, typed = point_config(b, [], [], values, {})
    fresh = to_config(compose_dictconfig(["+experiment=investment_race",
                                          "experiment.replicates=5", *values]))
    assert typed == fresh


@pytest.mark.parametrize("override", sorted(BAD))
def test_an_unknown_key_is_named_as_by_the_whole_tree_check(base, override):
    with _compose_context():
        cfg, changed = compose_point(base, [], [], [override], {})
    with pytest.raises(ConfigError) as whole:
        check_known_keys(cfg)
    with pytest.raises(ConfigError) as changed_only:
        check_changed_keys(cfg, [o.key_or_group for o in changed])
    assert whole.value.key == changed_only.value.key == BAD[override]


def test_tool_keys_pass_both_checks(base):
    with _compose_context():
        cfg, changed = compose_point(base, [], [], ["+experiment.note=1"], {})
    check_known_keys(cfg)
    check_changed_keys(cfg, [o.key_or_group for o in changed])


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


def test_a_plain_multirun_point_gets_the_default_experiment_in_its_typed_config():
    from alignsim.sweeps.batched import default_experiment

    b = compose_dictconfig(["scenario=baseline", "months=12"])
    values = ["payoffs.actors.russia.punish=0.3"]
    with _compose_context():
        _, typed = point_config(b, [], [], values, {})
    fresh = compose_dictconfig(["scenario=baseline", "months=12", *values])
    default_experiment(fresh)
    assert typed == to_config(fresh) and typed.experiment["name"] == "sweep"


# ------------------------------------------------------- points set in place (composed_point)
def _container(cfg):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=False)


def test_a_point_set_in_place_equals_a_copied_one_and_is_set_back(base):
    """Each point in the job's one working copy gives what a copy gives, and leaves the working
    copy as it found it (the points in order, then reversed: nothing leaks between them)."""
    cache: dict = {}
    with _compose_context():
        for values in [*POINTS, *POINTS[::-1]]:
            with composed_point(base, [], [], values, cache) as (cfg, typed):
                assert cfg is cache[()].scratch  # (so this tested the in-place path)
                copied, expected = point_config(base, [], [], values, {})
                assert typed == expected
                assert _container(cfg) == _container(copied)
            assert _container(cache[()].scratch) == _container(cache[()].copy())


def test_a_plain_multirun_point_set_in_place_gets_and_gives_back_the_default_experiment():
    b = compose_dictconfig(["scenario=baseline", "months=12"])
    cache: dict = {}
    with _compose_context():
        for values in (["replicates=7"], ["payoffs.actors.russia.punish=0.3"], ["replicates=9"]):
            with composed_point(b, [], [], values, cache) as (cfg, typed):
                assert cfg is cache[()].scratch  # every point, the third too
                assert typed == point_config(b, [], [], values, {})[1]
            assert _container(cache[()].scratch) == _container(cache[()].copy())
            if values == ["payoffs.actors.russia.punish=0.3"]:
                assert typed.experiment["replicates"] == 200  # not the first point's 7


@pytest.mark.parametrize("values", [
    ["payoffs.actors.russia.punish=abc"],  # a wrong type
    ["experiment.cpc_share=0.7", "payoffs.actors.russia.punish=abc"],  # fails after one is set
    ["experiment.cpc_share=0.7", "payoffs.actors.russia.nope=1"],  # unknown, after a good one
    ["months=-3", "world.dynamics.threat_decay=0.4"],  # refused by the schema's checks later
])
def test_a_bad_point_set_in_place_fails_as_a_copied_one_and_is_set_back(base, values):
    cache: dict = {}
    with _compose_context():
        try:
            point_config(base, [], [], values, {})
            expected = None
        except Exception as exc:
            expected = exc
        parsed = OverridesParser.create().parse_overrides(values)
        in_place = cache.setdefault((), BaseConfig.of(base)).in_place(parsed)
        try:
            with composed_point(base, [], [], values, cache) as (_, typed):
                got = None
        except Exception as exc:
            got = exc
        if expected is None:  # the schema refuses it later (prepare_point), in place or not
            assert got is None and typed == point_config(base, [], [], values, {})[1]
        else:
            assert type(got) is type(expected) and str(got) == str(expected)
        assert _container(cache[()].scratch) == _container(cache[()].copy())
        if "nope" not in str(values):  # the unknown key: refused before anything is set
            assert in_place is not None  # (so this tested setting back)


def test_a_nested_point_gets_its_own_copy(base):
    cache: dict = {}
    with _compose_context(), composed_point(base, [], [], POINTS[0], cache) as (outer, _):
        with composed_point(base, [], [], POINTS[1], cache) as (inner, typed):
            assert inner is not outer and typed == point_config(base, [], [], POINTS[1], {})[1]
        assert outer is cache[()].scratch


def test_an_error_inside_the_block_still_sets_the_point_back(base):
    cache: dict = {}
    with (_compose_context(), pytest.raises(RuntimeError, match="in the block"),
          composed_point(base, [], [], POINTS[0], cache)):
        raise RuntimeError("in the block")
    assert _container(cache[()].scratch) == _container(cache[()].copy())


@pytest.mark.parametrize("values", [
    ["+experiment.note=1"],  # adds a key
    ["~experiment.heatmap"],  # deletes one
    ["payoffs.actors.russia={punish: 0.2, align: 0.5}"],  # merges a node
])
def test_points_that_change_the_shape_get_their_own_copy(base, values):
    cache: dict = {}
    with _compose_context(), composed_point(base, [], [], values, cache) as (cfg, typed):
        assert cfg is not cache[()].scratch
        assert typed == point_config(base, [], [], values, {})[1]


def test_apply_experiment_leaves_its_config_as_it_was():
    import copy

    from alignsim.sweeps.point import Experiment, apply_experiment

    config = to_config(compose_dictconfig(["+experiment=shootdown_shock", "experiment.replicates=2",
                                           "+experiment.cpc_share=0.6"]))
    before = copy.deepcopy(config)
    out = apply_experiment(config, Experiment.from_config(config.experiment))
    assert config == before and out != before
