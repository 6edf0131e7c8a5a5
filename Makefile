# krwfeed: `make run` starts Kafka, the exchange simulator and krwfeed; `make test` runs every test.
PY ?= python3
export PYTHONUNBUFFERED := 1

.PHONY: setup run test lint unit bench results clean

setup:
	bash scripts/setup.sh

run: setup
	bash scripts/run_dev.sh

lint:
	$(PY) -m ruff check .
	$(PY) -m mypy actors domain messages proto exchanges simulator monitoring web settings buffering supervision publishers connectors bench tape actor_system.py

unit:
	$(PY) -m pytest -m unit -q

test: setup lint
	bash scripts/test.sh

# Tests never touch tracked files; this rewrites the committed fault table and dashboard screenshot.
results: setup
	$(PY) -m pytest -q --update-results tests/faults tests/integration/test_dashboard_browser.py

bench: setup
	$(PY) bench/serialize.py
	$(PY) bench/buffer.py

clean:
	bash scripts/kafka.sh stop || true
	rm -rf var
