"""Kernel tests written for surviving mutants of the mutation run (``mutation.toml``).

Each test pins one behaviour that no fast test checked: the normalisation of fictitious-play
beliefs, a scheduled ``none``, the inverse-CDF clamp at ``u == 1``, the route-share override's
bound, the schema defaults and the look-ahead's discounted mean at H = 2. Every expected number
is worked out by hand in the test.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.kernel.decisions import Memory, apply_forced, expected_payoffs
from alignsim.kernel.schema import EffectsConf, OutputConf, PolicyConf, RelationDelta
from alignsim.kernel.spec import ConfigError, compile_spec, rebalanced_routes
from alignsim.kernel.state import initial_state
from handchecked_world import default_actions, tiny_config
from numpy_kernel.choice import sample
from numpy_kernel.lookahead import beliefs


def test_empirical_beliefs_are_the_counts_normalised_per_actor() -> None:
    # one replicate, two actors, three actions; counts include the prior of 1 per allowed action
    counts = np.array([[[1.0, 1.0, 2.0], [3.0, 0.0, 1.0]]])
    memory = Memory(last=np.zeros((1, 2), dtype=np.int64), counts=counts,
                    propensity=counts.copy())
    b = beliefs(memory, "empirical")
    # actor 0: 1/4, 1/4, 2/4; actor 1: 3/4, 0, 1/4
    assert b == pytest.approx(np.array([[[0.25, 0.25, 0.5], [0.75, 0.0, 0.25]]]), abs=1e-15)
    assert b.sum(axis=2) == pytest.approx(np.ones((1, 2)), abs=1e-15)


def test_a_scheduled_none_overrides_the_choice() -> None:
    # month 0: actor 0 is forced to action 0 (`none`), actor 1 is free (-1), actor 2 forced to 2
    spec = SimpleNamespace(forced=np.array([[0, -1, 2]]))
    chosen = np.array([[1, 1, 1], [3, 0, 3]])  # two replicates' free choices
    out = apply_forced(spec, 0, chosen)
    assert out.tolist() == [[0, 1, 2], [0, 0, 2]]


def test_sample_at_u_one_gives_the_last_action() -> None:
    # cdf 0.2, 0.5, 1.0: u = 1 passes all three thresholds (count 3), clamped to index A - 1 = 2
    p = np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    assert sample(p, np.array([1.0, 0.0])).tolist() == [2, 0]
    # u = 0.3: 0.2 <= 0.3 only -> index 1; u = 0.6 in row 1: 0.5 <= 0.6 -> index 1
    assert sample(p, np.array([0.3, 0.6])).tolist() == [1, 1]


def test_rebalanced_routes_moves_the_difference_to_the_balance_route() -> None:
    routes = tiny_config().world.routes  # north 0.7 (capacity 1.0), south 0.3
    out = rebalanced_routes(routes, "south", 0.4, "north", "cpc_share")
    assert list(out) == ["south.share", "north.share", "north.capacity"]
    # pool 0.7 + 0.3 = 1.0; north keeps 1.0 - 0.4 = 0.6 as its share and its capacity
    assert out == pytest.approx({"south.share": 0.4, "north.share": 0.6, "north.capacity": 0.6},
                                abs=1e-12)
    # the whole pool (within the tolerance) is allowed; the balance route is left empty
    assert rebalanced_routes(routes, "south", 1.0, "north", "cpc_share") == {
        "south.share": 1.0, "north.share": 0.0, "north.capacity": 0.0}


def test_rebalanced_routes_rejects_more_than_the_pool() -> None:
    routes = tiny_config().world.routes
    with pytest.raises(ConfigError) as err:
        rebalanced_routes(routes, "south", 1.2, "north", "cpc_share")
    assert err.value.key == "cpc_share"
    assert err.value.message == "must be <= 1 (south + north at the start), got 1.2"


def test_output_defaults_write_every_file() -> None:
    out = OutputConf()
    assert (out.timeseries, out.figure, out.summary) == (True, True, True)


@pytest.mark.parametrize(("horizon", "divisor"), [(1, 1.0), (2, 1.9), (3, 2.71)])
def test_lookahead_value_is_the_discounted_mean_over_the_horizon(horizon, divisor) -> None:
    # only the cost term counts (weight 1): this month's move costs its cost, and in months
    # 2..H the actor plays `none` (cost 0). So the value is -cost / sum_h 0.9^h, h = 0..H-1:
    # 1, 1 + 0.9 = 1.9, 1 + 0.9 + 0.81 = 2.71
    spec = compile_spec(tiny_config())
    sp = dataclasses.replace(spec, horizon=horizon, discount=0.9)
    q = expected_payoffs(initial_state(sp, 1), Memory.initial(sp, 1), sp, 0)
    inf = -np.inf
    assert q[0] == pytest.approx(np.array([
        [0.0, inf, inf, inf],  # k: only none
        [0.0, -0.1 / divisor, -0.02 / divisor, inf],  # r: none, halt (0.1), warm (0.02)
        [0.0, inf, inf, -0.05 / divisor],  # t: none, summit (0.05)
    ]), abs=1e-12)


def test_a_relation_change_without_a_delta_changes_nothing() -> None:
    def warm_effect(relation: RelationDelta) -> np.ndarray:
        actions = default_actions()
        actions["warm"].effects = EffectsConf(relations=[relation])
        spec = compile_spec(tiny_config(actions=actions))
        return spec.effects[spec.actors.index("r"), spec.actions.index("warm")]

    assert not warm_effect(RelationDelta(a="swing", b="t")).any()
    assert not warm_effect(RelationDelta(a="swing", b="t", delta=0.0)).any()
    assert warm_effect(RelationDelta(a="swing", b="t", delta=0.1)).any()


def test_policy_schema_defaults_are_the_default_policy_file() -> None:
    # a user's policy file that leaves a key out gets what conf/policy/logit.yaml (the default
    # policy) says, or the schema default where the file itself leaves it out
    shipped = compose_config().policy
    schema = PolicyConf()
    keys = ("rule", "temperature", "temperature_scale", "horizon", "discount", "recency",
            "qre_lambda")
    assert {k: getattr(schema, k) for k in keys} == {k: getattr(shipped, k) for k in keys}
    assert {k: getattr(schema, k) for k in keys} == {
        "rule": "logit", "temperature": 0.005, "temperature_scale": "absolute", "horizon": 1,
        "discount": 0.9, "recency": 0.1, "qre_lambda": 50.0}


def test_a_sphere_affinity_must_be_in_zero_one() -> None:
    for value in (0.0, 1.0):  # both ends are allowed
        cfg = tiny_config()
        cfg.world.spheres["east"].affinity = value
        compile_spec(cfg)
    for value, bound in ((-0.5, ">= 0.0"), (1.5, "<= 1.0")):
        cfg = tiny_config()
        cfg.world.spheres["east"].affinity = value
        with pytest.raises(ConfigError) as err:
            compile_spec(cfg)
        assert (err.value.key, err.value.message) == (
            "world.spheres.east.affinity", f"must be {bound}, got {value}")


def test_route_shares_must_sum_to_one_within_the_tolerance() -> None:
    cfg = tiny_config()
    cfg.world.routes["south"].share = 0.3 - 1e-7  # sum 0.9999999: within SHARE_TOL = 1e-6
    compile_spec(cfg)
    cfg = tiny_config()
    cfg.world.routes["north"].share = 1.0
    cfg.world.routes["south"].share = 1.0  # each share in [0, 1], but they sum to 2
    with pytest.raises(ConfigError) as err:
        compile_spec(cfg)
    assert (err.value.key, err.value.message) == ("world.routes.*.share", "must sum to 1, got 2")


def test_policy_horizon_is_at_most_ten_years() -> None:
    cfg = tiny_config()
    cfg.policy.horizon = 120
    assert compile_spec(cfg).horizon == 120
    cfg.policy.horizon = 121
    with pytest.raises(ConfigError) as err:
        compile_spec(cfg)
    assert (err.value.key, err.value.message) == ("policy.horizon", "must be <= 120, got 121")


def test_a_route_ceiling_may_not_be_below_its_capacity() -> None:
    cfg = tiny_config()
    cfg.world.routes["north"].ceiling = 1.0  # equal to its capacity 1.0: allowed
    compile_spec(cfg)
    cfg.world.routes["north"].ceiling = 0.5
    with pytest.raises(ConfigError) as err:
        compile_spec(cfg)
    assert (err.value.key, err.value.message) == ("world.routes.north.ceiling",
                                                  "must be >= its capacity 1")
