# The two commands of the README. Both set everything up on a fresh machine first.
#   make run   [ARGS="scenario=baseline replicates=500 payoffs.actors.russia.punish=0.2"]
#   make test
#   make lab   the notebooks of experiments/ in JupyterLab [LAB_ARGS="--port 8899 --no-browser"]
#   make mutation   sampled mutation testing, not in CI: ~35-40 min (20/module), ~17 min [MUTATION_ARGS="--sample 8"]
.PHONY: run test lint bench setup lab mutation lock

setup:
	@bash scripts/bootstrap.sh

run: setup
	.venv/bin/alignsim $(ARGS)

test:
	@bash scripts/bootstrap.sh --dev --browser
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	@bash scripts/bootstrap.sh --dev
	.venv/bin/ruff check src tests benchmarks

lab:
	@bash scripts/bootstrap.sh --lab
	.venv/bin/jupyter lab --ServerApp.root_dir=experiments $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

bench:
	@bash scripts/bootstrap.sh --dev
	for b in benchmarks/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done

# cosmic-ray over a copy of the tree in /tmp (never this checkout's src/); see mutation.toml.
mutation:
	@bash scripts/bootstrap.sh --dev
	.venv/bin/python scripts/mutation.py $(MUTATION_ARGS)

# Pin the dev environment's versions for every fresh install (after changing dependencies).
lock:
	@bash scripts/bootstrap.sh --dev
	{ sed -n '1,3p' constraints.txt; .venv/bin/python -m pip freeze --exclude-editable | grep -v '^alignsim'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
