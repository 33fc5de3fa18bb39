# The two commands of the README. Both set everything up on a fresh machine first.
#   make run   [ARGS="scenario=baseline replicates=500 payoffs.actors.russia.punish=0.2"]
#   make test
.PHONY: run test lint bench setup

setup:
	@bash scripts/bootstrap.sh

run: setup
	.venv/bin/alignsim $(ARGS)

test:
	@bash scripts/bootstrap.sh --browser
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check src tests benchmarks

bench: setup
	for b in benchmarks/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
