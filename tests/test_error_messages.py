"""Every error path's full one-line message, pinned by exact equality (not a substring).

The main command's cases call ``alignsim.cli.main`` in this process with ``sys.argv`` set as the
console script would (about 0.5 s each instead of 2.5 s for a subprocess); one test sends a real
Ctrl-C (SIGINT) to a real ``alignsim`` process. ``errors.py``'s helpers are also called directly.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from alignsim import cli, errors
from alignsim.config import compose_dictconfig, to_config
from alignsim.kernel.spec import ConfigError
from conftest import cli_env, cli_path


# ------------------------------------------------------------------ the main command
@pytest.fixture
def alignsim(tmp_path, monkeypatch, capsys):
    """Run ``alignsim ARGS`` in this process: ``(exit status, stdout, stderr, run dir)``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # restored after the test (cli sets it)
    root = logging.getLogger()

    def run(*args: str, run_dir: Path | None = None):
        run_dir = run_dir or tmp_path / "run"
        monkeypatch.setattr(sys, "argv", ["alignsim", "progress=false", "output.figure=false",
                                          *args, f"hydra.run.dir={run_dir}"])
        handlers, level = root.handlers[:], root.level
        try:
            with pytest.raises(SystemExit) as end:
                cli.main()
        finally:  # Hydra configures logging for its job: leave the process as it was
            for h in root.handlers[:]:
                if h not in handlers:
                    root.removeHandler(h)
                    h.close()
            root.setLevel(level)
        out = capsys.readouterr()
        return end.value.code, out.out, out.err, run_dir

    return run


# One main-command run per kind of error path (each costs a Hydra composition); the other
# messages of the same paths are pinned below through errors.error_line on the same exceptions.
CASES = {
    "bad type": (
        ["payoffs.alignment.inertia=high"],
        "alignsim: error: payoffs.alignment.inertia: Value 'high' of type 'str' could not be "
        "converted to Float"),
    "above range": (
        ["world.dynamics.threat_prior=1.5"],
        "alignsim: error: world.dynamics.threat_prior: must be <= 1.0, got 1.5"),
    "below range": (
        ["actions.pipeline_halt.users.russia.cost=-0.1"],
        "alignsim: error: actions.pipeline_halt.users.russia.cost: must be >= 0.0, got -0.1"),
    "unknown key": (
        ["+payoffs.actors.russia.punsh=1"],
        "alignsim: error: payoffs.actors.russia.punsh: unknown key; allowed: align, autonomy, "
        "cost, exposure, punish, relations, revenue, sovereignty, transit, utility"),
    "unknown scenario": (
        ["scenario=nosuch"],
        "alignsim: error: scenario: unknown option 'nosuch'; allowed: baseline, history, "
        "history_endogenous"),
    "unknown rule": (
        ["policy.rule=nosuch"],
        "alignsim: error: policy.rule: unknown decision rule 'nosuch'; allowed: best_response, "
        "equilibrium, fictitious_play, logit, roth_erev"),
    "date outside the run": (
        ["scenario.events.0.date=2031-01"],
        "alignsim: error: scenario.events[0].date: '2031-01' is outside the run; allowed: "
        "2022-01 to 2027-12"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_main_command_error_line(alignsim, name: str) -> None:
    args, line = CASES[name]
    status, out, err, run_dir = alignsim(*args)
    assert (status, out, err) == (2, "", line + "\n")
    assert not run_dir.exists()  # nothing written, not even Hydra's own folder


def test_main_command_interrupted_exits_130(alignsim, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_main_job", interrupted)
    status, out, err, _ = alignsim("replicates=1")
    assert (status, out, err) == (130, "", "alignsim: interrupted\n")


def test_ctrl_c_on_a_real_run_exits_130(tmp_path: Path) -> None:
    """SIGINT while the job runs (long enough to be caught in the act): status 130, one line."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [str(cli_path()), "scenario=baseline", "months=1200", "replicates=60", "progress=false",
         "output.figure=false", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell's background job starts with SIGINT ignored, and Python then keeps ignoring it:
        # give the child the default disposition, as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / ".hydra" / "overrides.yaml").exists():  # Hydra has started the job
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "alignsim: interrupted"
    assert "Traceback" not in err and out == ""


def test_main_command_unwritable_output_is_one_line(alignsim, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    status, out, err, _ = alignsim("replicates=1", run_dir=blocker / "run")
    assert (status, out) == (2, "")
    assert err == (f"alignsim: error: hydra.run.dir: cannot write under {blocker} "
                   "(Not a directory)\n")


# ------------------------------------------------------------- errors.py, called directly
def _raised(overrides: list[str]) -> BaseException:
    try:
        to_config(compose_dictconfig(overrides))
    except Exception as exc:  # whatever Hydra raises is what error_line reads
        return exc
    raise AssertionError(f"{overrides} composed without error")


def test_error_line_of_a_config_error() -> None:
    exc = ConfigError("world.routes.cpc.share", "must be <= 1.0, got 1.5")
    assert errors.error_line(exc) == "world.routes.cpc.share: must be <= 1.0, got 1.5"


def test_error_line_of_an_unknown_group_option_lists_the_options() -> None:
    assert errors.error_line(_raised(["scenario=nosuch"])) == (
        "scenario: unknown option 'nosuch'; allowed: baseline, history, history_endogenous")
    assert errors.error_line(_raised(["payoffs=nosuch"])) == (
        "payoffs: unknown option 'nosuch'; allowed: calibrated, default, posterior")
    # without Hydra's list of options, the folder to look in
    assert errors.error_line(Exception("Could not find 'policy/zzz'")) == (
        "policy: unknown option 'zzz'; allowed: see conf/policy")


def test_error_line_of_a_bad_override_names_the_full_key() -> None:
    assert errors.error_line(_raised(["payoffs.alignment.inertia=high"])) == (
        "payoffs.alignment.inertia: Value 'high' of type 'str' could not be converted to Float")
    assert errors.error_line(_raised(["+actions.summit.users.mars.cost=0.1"])) == (
        "actions.summit.users.mars.cost: no such entry, and new entries cannot be created from "
        "the command line: add them in a YAML file under conf/")


def test_error_line_of_a_bad_integer_and_of_more_unknown_options() -> None:
    assert errors.error_line(_raised(["months=abc"])) == (
        "months: Value 'abc' of type 'str' could not be converted to Integer")
    assert errors.error_line(_raised(["policy=nosuch"])) == (
        "policy: unknown option 'nosuch'; allowed: best_response, equilibrium, "
        "fictitious_play, foresight, logit, mixed, roth_erev")


@pytest.mark.parametrize(("override", "line"), [
    ("world.routes.cpc.share=0.5", "world.routes.*.share: must sum to 1, got 0.7"),
    ("scenario.events.0.date=2022-13",
     "scenario.events[0].date: '2022-13' has no month 13; allowed: 01 to 12"),
    ("scenario.events.0.date=2022-1x",
     "scenario.events[0].date: '2022-1x' is not a date; allowed: YYYY-MM or YYYY-MM-DD"),
    ("scenario.events.5.forced.russia=nosuch",
     "scenario.events[5].forced.russia: unknown action 'nosuch'; allowed: balancing_visit, "
     "investment_fund, neutral_mediation, none, pipeline_halt, recognition_refusal, "
     "route_diversification, sanctions_compliance, security_guarantee, summit, turkic_format"),
    ("+scenario.events.5.forced.kazakhstan=summit",
     "scenario.events[5].forced.kazakhstan: kazakhstan may not use 'summit'; its users: "
     "azerbaijan, china, eu, russia, turkiye"),
    ("months=20", "scenario.events[8].date: '2024-03' is outside the run; allowed: 2022-01 to "
                  "2023-08"),
    ("replicates=0", "replicates: must be >= 1, got 0"),
])
def test_error_line_of_compile_errors(override: str, line: str) -> None:
    from alignsim.config import compose_config
    from alignsim.kernel.spec import compile_spec

    with pytest.raises(ConfigError) as err:
        compile_spec(compose_config([override]))
    assert errors.error_line(err.value) == line


def test_error_line_of_an_unknown_key_lists_the_allowed_keys() -> None:
    assert errors.error_line(_raised(["+payoffs.foo=1"])) == (
        "payoffs.foo: unknown key; allowed: actors, alignment, draws, name")
    assert errors.error_line(_raised(["+world.dynamics.threat_priorr=0.1"])) == (
        "world.dynamics.threat_priorr: unknown key; allowed: affinity_reversion, "
        "capacity_lag_months, defiance_decay, halt_grievance, investment_reversion, "
        "investment_scale_bn, relations_reversion, security_reversion, share_adjustment, "
        "threat_decay, threat_learning, threat_prior, usage_decay")


def test_error_line_of_an_omegaconf_error_and_of_plain_text() -> None:
    from omegaconf import OmegaConf

    from alignsim.kernel.schema import Config

    cfg = OmegaConf.structured(Config)
    try:
        cfg.months = "abc"
    except Exception as exc:
        line = errors.error_line(exc)
    assert line == "months: Value 'abc' of type 'str' could not be converted to Integer"
    assert errors.error_line(ValueError("first line\n   second line\n")) == (
        "first line second line")
    assert errors.error_line(ValueError("")) == "ValueError"


def test_fail_and_bad_input_print_one_line_and_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as end:
        errors.fail("--out", "must be a folder", prog="alignsim-validate")
    assert end.value.code == 2
    assert capsys.readouterr().err == "alignsim-validate: error: --out: must be a folder\n"
    with pytest.raises(SystemExit) as end:
        errors.bad_input(ConfigError("months", "must be >= 1, got 0"))
    assert end.value.code == 2
    assert capsys.readouterr().err == "alignsim: error: months: must be >= 1, got 0\n"


def test_check_writable_accepts_a_new_folder_and_creates_nothing(tmp_path: Path) -> None:
    errors.check_writable("--out", tmp_path / "new" / "deeper")
    errors.check_writable("--write", tmp_path / "new" / "x.yaml", is_file=True)
    assert list(tmp_path.iterdir()) == []


def test_check_writable_rejects_a_file_where_a_folder_must_be(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as err:
        errors.check_writable("--out", blocker)
    assert str(err.value) == f"--out: {blocker} exists and is not a folder"
    with pytest.raises(ConfigError) as err:
        errors.check_writable("--write", blocker / "x.yaml", is_file=True)
    assert str(err.value) == f"--write: {blocker} exists and is not a folder"


def test_check_writable_probes_the_nearest_existing_folder(tmp_path: Path) -> None:
    # the nearest existing ancestor of a_file/sub/deeper is a file: the probe cannot write there
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as err:
        errors.check_writable("--out", blocker / "sub" / "deeper")
    assert str(err.value) == f"--out: cannot write under {blocker} (Not a directory)"


def test_check_writable_reports_a_permission_error(tmp_path: Path, monkeypatch) -> None:
    # as root a chmod'ed folder stays writable, so the probe's failure is simulated
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(ConfigError) as err:
        errors.check_writable("--out", tmp_path / "results")
    assert str(err.value) == f"--out: cannot write under {tmp_path} (Permission denied)"
    assert err.value.key == "--out"


def test_run_hydra_cli_maps_exceptions_to_exit_codes(capsys, monkeypatch) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")

    def raising(exc: BaseException):
        def task():
            raise exc
        return task

    with pytest.raises(SystemExit) as end:
        errors.run_hydra_cli(raising(KeyboardInterrupt()), prog="alignsim-x")
    assert end.value.code == 130
    assert capsys.readouterr().err == "alignsim-x: interrupted\n"
    assert os.environ["HYDRA_FULL_ERROR"] == "1"
    with pytest.raises(SystemExit) as end:
        errors.run_hydra_cli(raising(ConfigError("seed", "must be >= 0, got -1")))
    assert end.value.code == 2
    assert capsys.readouterr().err == "alignsim: error: seed: must be >= 0, got -1\n"
    with pytest.raises(SystemExit) as end:
        errors.run_hydra_cli(raising(yaml.YAMLError("conf/x.yaml: bad indentation")))
    assert end.value.code == 2
    assert capsys.readouterr().err == "alignsim: error: conf/x.yaml: bad indentation\n"
    errors.run_hydra_cli(lambda: None)  # a task that succeeds: no exit, no output
    assert capsys.readouterr() == ("", "")


def test_hydra_flag_clash_is_one_line(capsys) -> None:
    """Hydra raises a bare ValueError when two of its run modes are asked for at once
    (``alignsim -m --cfg job``): one line and status 2, not its traceback."""
    clash = ("Only one of --run, --multirun, --cfg, --info and --shell_completion can be "
             "specified")

    def task() -> None:
        raise ValueError(clash)

    with pytest.raises(SystemExit) as end:
        errors.run_hydra_cli(task)
    assert end.value.code == 2
    assert capsys.readouterr().err == f"alignsim: error: {clash} (at once)\n"


def test_other_value_errors_are_not_taken_for_a_flag_clash() -> None:
    def task() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        errors.run_hydra_cli(task)


def test_the_powers_catalogue_alone_needs_a_scenario_without_kazakhstans_forced_moves() -> None:
    """`history` forces Kazakhstan's catalogue moves of the record, so `actions=leverage` (the
    powers' catalogue without them) is refused in one line naming the move; with
    `history_endogenous` or `baseline` it compiles."""
    from alignsim.config import compose_config
    from alignsim.kernel.spec import compile_spec

    with pytest.raises(ConfigError) as err:
        compile_spec(compose_config(["actions=leverage"]))
    assert err.value.key == "scenario.events[2].forced.kazakhstan"
    assert err.value.message.startswith("unknown action 'sanctions_compliance'; allowed: ")
    for scenario in ("history_endogenous", "baseline"):
        spec = compile_spec(compose_config(["actions=leverage", f"scenario={scenario}"]))
        assert "sanctions_compliance" not in spec.actions
