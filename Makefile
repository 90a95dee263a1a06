# Two commands matter (see README): `make compare` and `make test`. Both set up .venv first.
.PHONY: setup compare test bench clean

setup:
	bash scripts/setup.sh

compare: setup
	.venv/bin/neuroplastic compare --json results/compare.json --plot results/compare.png

test:
	bash scripts/test.sh

bench: setup
	.venv/bin/python benchmarks/ledger_overhead.py --json results/ledger_overhead.json

clean:
	rm -rf .venv results .pytest_cache .mypy_cache .ruff_cache .coverage
