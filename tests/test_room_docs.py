"""The room's teaching material and command line agree with the code (issue 16)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from alignsim.demo import serve
from alignsim.room import briefing, debrief
from alignsim.room.room import DEFAULT_TIMER_S, TEAM_MAX

ROOT = Path(__file__).resolve().parents[1]
TEACHING = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
ROOM_DOC = (ROOT / "docs" / "room.md").read_text(encoding="utf-8")


def test_the_briefing_cards_in_the_plan_are_generated_from_conf() -> None:
    block = re.search(r"do not edit by hand -->\n(.*)<!-- end of briefing cards -->", TEACHING,
                      re.S)
    assert block, "docs/teaching.md lost its generated briefing cards"
    assert block[1].strip() == briefing.markdown().strip(), (
        "conf/ changed: regenerate the cards with python -m alignsim.room.briefing")


def test_a_card_states_the_configured_weights() -> None:
    from alignsim.config import compose_config

    cfg = compose_config([])
    russia = briefing.card_of("russia")
    assert f"{cfg.payoffs.actors['russia'].align:g} util a month per unit" in russia
    assert f"costs you {cfg.actions['pipeline_halt'].users['russia'].cost:g} util" in russia
    assert "Kazakhstan" in briefing.card_of("kazakhstan").splitlines()[0]


def test_the_plan_states_the_rooms_numbers() -> None:
    text = re.sub(r"\s+", " ", TEACHING)
    assert f"a team of up to {TEAM_MAX}" in text.replace("six", "6")
    assert f"against {debrief.REPLICATES} model-only runs" in text
    assert DEFAULT_TIMER_S == 120 and "two minutes a month" in text


def test_room_doc_links_exist() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", ROOM_DOC):
        assert (ROOT / "docs" / target).exists(), target


def test_room_option_and_its_errors() -> None:
    args = serve.parser().parse_args(["--room", "--port", "8001"])
    assert args.room and serve.command(args.host, args.port, serve.ROOM_APP)[4] == serve.ROOM_APP
    assert serve.lan_address("127.0.0.1") == "127.0.0.1"
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", serve.lan_address("0.0.0.0"))
    bad = subprocess.run([sys.executable, "-m", "alignsim.demo.serve", "--room", "--rooms-dir",
                          "/proc/no/such"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alignsim-demo: error: argument --rooms-dir")


def test_the_plan_projects_the_board_not_the_teachers_secret() -> None:
    """The screen the plan projects must not carry the teacher's secret in its address."""
    from alignsim.room import page

    plan = re.sub(r"\s+", " ", TEACHING.split("# A second plan", 1)[1])
    assert "view=board" in plan and "Do not project the teacher's screen" in plan
    assert "Project the board" in plan and "Project the room" not in plan
    assert "teacher's link on the projector" not in plan
    doc = re.sub(r"\s+", " ", ROOM_DOC)
    assert "Do not project the teacher's screen" in doc and "/?room=CODE&view=board" in doc
    assert "view=board" in page.__doc__ and "teacher=" not in page.board_path.__doc__


def test_the_debrief_time_and_the_change_month_agree_with_the_code() -> None:
    """One measured figure for the debrief; a teacher's change applies from the month being
    chosen (Room.change_parameter stamps the current month), not "from the next month"."""
    doc = re.sub(r"\s+", " ", ROOM_DOC)
    assert "about 4 s" in doc and "about 3 s" not in doc
    source = Path(debrief.__file__).read_text(encoding="utf-8")
    assert "0.5 s" not in source and "about a second" not in source
    plan = re.sub(r"\s+", " ", TEACHING.split("# A second plan", 1)[1])
    assert "from the next month" not in plan and "from the month being chosen" in plan
