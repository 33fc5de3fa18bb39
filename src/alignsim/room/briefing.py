"""Briefing cards: each country's goals and levers in plain words, drawn from ``conf/``.

Why generated: the payoff weights and the action catalogue are the model's, and they change
(calibration rewrote Russia's appetite for coercion). A card copied by hand would go stale; a
card built from the composed config says what the model's actor actually wants. Run

    python -m alignsim.room.briefing            # Markdown cards for docs/teaching.md

The sentences per payoff term are the plain-words reading of docs/model.md §7; the numbers
(util per unit) are read from the config, never restated here.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import asdict

from alignsim.config import compose_config

GOALS = {  # payoff term → what it means for the actor, in words a student reads aloud
    "align": "Kazakhstan's alignment with your sphere ({sphere}): {w:g} util a month per unit "
             "of its share, so one percentage point more is worth {pp:g} util a month.",
    "utility": "Kazakhstan's own well-being from its ties to each sphere (weight {w:g}).",
    "autonomy": "Balance: not depending on any one sphere (weight {w:g}).",
    "sovereignty": "Fresh signals of independence: a refusal or a gesture of your own "
                   "(weight {w:g}).",
    "revenue": "Oil revenue actually received (weight {w:g} per unit of normal revenue).",
    "exposure": "Revenue at risk on routes through a coercive neighbour counts against you "
                "(weight {w:g}).",
    "transit": "Oil flowing through your pipes and ports (weight {w:g} per unit of export "
               "share).",
    "relations": "Good relations with Kazakhstan (weight {w:g}).",
    "punish": "Punishing a defiant Kazakhstan: a punitive lever pays you {w:g} util per unit "
              "of defiance it punishes.",
}
SKIP = {"cost"}  # the cost weight scales every lever's cost: shown with the levers instead


@functools.lru_cache(maxsize=4)
def cards(overrides: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """One card per actor: name, sphere, goals (sentences with conf's numbers), levers."""
    cfg = compose_config(list(overrides))
    actors = cfg.world.actors
    out = []
    for name, actor in actors.items():
        weights = asdict(cfg.payoffs.actors[name])
        sphere = actor.sphere or "none — the swing state"
        goals = [GOALS[k].format(w=w, pp=w / 100, sphere=sphere) for k, w in weights.items()
                 if k not in SKIP and k in GOALS and w]
        levers = []
        for key, action in cfg.actions.items():
            use = action.users.get(name)
            if key == "none" or use is None:
                continue
            cost = use.cost * weights.get("cost", 1.0)
            repeat = (f"; each recent use still remembered adds {action.repeat_cost:g}× that "
                      "cost") if action.repeat_cost else ""
            levers.append(f"**{action.label}** — costs you {cost:g} util{repeat}. "
                          + _plain(action.narration, actor.label or name, use.scale))
        out.append({"actor": name, "label": actor.label or name, "sphere": sphere,
                    "goals": goals, "levers": levers})
    return out


def _plain(narration: str, who: str, scale: float) -> str:
    """The action's narration as a sentence about the card's holder (a fund's size is its
    scale, USD bn; a halt's loss depends on the month, so it is said in words)."""
    fields = {"actor": who, "target": "Kazakhstan", "route": "pipeline", "loss_pct": 0,
              "loss_bn": 0, "amount_bn": scale}
    try:
        text = narration.format(**fields)
    except (KeyError, IndexError, ValueError):
        return ""
    return text.replace("loses 0 % of its oil revenue this month (about USD 0.0 bn)",
                        "loses the oil revenue on that route for a month")


def card_markdown(c: dict[str, object]) -> str:
    """One card as Markdown (a ``####`` heading, goals, levers)."""
    goals = "\n".join(f"  - {g}" for g in c["goals"])  # type: ignore[union-attr]
    levers = "\n".join(f"  - {lv}" for lv in c["levers"]) or "  - (no levers)"  # type: ignore
    return (f"#### {c['label']} (sphere: {c['sphere']})\n\n* What you want:\n{goals}\n"
            f"* Your levers each month (or *no action*):\n{levers}\n")


def markdown(overrides: tuple[str, ...] = ()) -> str:
    """All cards as Markdown, one ``####`` section per country (docs/teaching.md)."""
    return "\n".join(card_markdown(c) for c in cards(overrides))


def card_of(actor: str) -> str:
    """The card of one actor (conf id) as Markdown (a student's screen)."""
    return next(card_markdown(c) for c in cards() if c["actor"] == actor)


if __name__ == "__main__":
    sys.stdout.write(markdown(tuple(sys.argv[1:])))
