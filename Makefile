# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test check clean bench-state constraints screenshots

# constraints.txt pins every package the test environment installs, so a fresh machine gets the
# set the suite last passed with; `make constraints` moves it to the newest releases setup.cfg allows
$(STAMP): setup.cfg setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mocksrv serve $(ARGS)

# one worker per core (pytest-xdist): the suite starts many servers and mostly waits on them
test: $(STAMP)
	$(BIN)/python -m pytest -n auto $(ARGS)

# newest releases setup.cfg allows, in a scratch venv; the suite must pass on them before the
# new constraints.txt is committed (.ci/refresh-constraints does all three; docs/ci.md)
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install -q --upgrade pip
	.venv-constraints/bin/python -m pip install -q -e '.[test,dev,mutate]'
	.venv-constraints/bin/python -m pip freeze --exclude-editable | grep -v '^mocksrv' > constraints.txt
	rm -rf .venv-constraints

# the console's browser tests, writing docs/screenshots/*.png (make test writes nothing into the checkout)
screenshots: $(STAMP)
	MOCKSRV_SCREENSHOTS=docs/screenshots MOCKSRV_REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests/test_console.py $(ARGS)

check: $(STAMP)
	$(BIN)/mocksrv check
	$(BIN)/ruff check mocksrv tests examples bench
	$(BIN)/mypy mocksrv
	$(BIN)/hadolint Dockerfile

# latency of GET-by-id and POST at 0, 10k and 100k stored records (memory, then --db)
bench-state: $(STAMP)
	$(BIN)/python bench/state_bench.py
	$(BIN)/python bench/state_bench.py --db
	$(BIN)/python bench/store_bench.py

# does anything on the request path let go of the GIL? In-process, per bench scenario (docs/performance.md)
.PHONY: gil-check
gil-check: $(STAMP)
	$(BIN)/python bench/gil_check.py $(ARGS)

# mocksrv side by side with Prism under wrk (installs wrk from Debian, Prism into bench/.scratch);
# the table goes to bench/results/latest.md. Quick run: make bench ARGS="--duration 3 --scenarios md-send"
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python bench/compare.py $(ARGS)

# schemathesis against every bundled and test spec with a larger budget and a fresh seed (tests/test_fuzz.py);
# `make test` runs the same with 15 examples per operation and a fixed seed
.PHONY: fuzz
fuzz: $(STAMP)
	MOCKSRV_FUZZ_EXAMPLES=$${MOCKSRV_FUZZ_EXAMPLES:-200} MOCKSRV_FUZZ_SEED=$${MOCKSRV_FUZZ_SEED:-$$(date +%s)} \
		$(BIN)/python -m pytest tests/test_fuzz.py -s $(ARGS)

# every document of the public spec corpus (tests/data/public/manifest.yaml; the files are not in the
# repository: CORPUS=folder, default ../shared/openapi-corpus) loaded, then fuzzed by schemathesis
.PHONY: fuzz-corpus
fuzz-corpus: $(STAMP)
	MOCKSRV_CORPUS=$(or $(CORPUS),$(MOCKSRV_CORPUS),../shared/openapi-corpus) MOCKSRV_CORPUS_FUZZ=1 \
		$(BIN)/python -m pytest tests/test_corpus.py -s $(ARGS)

# mutation testing (mutmut 3) of the core modules against their in-process tests, then the score per
# module; `make mutate MODULE=state.store` for one module. Which modules and tests: setup.cfg [mutmut];
# results stay in mutants/ (git-ignored), so a second run only retests what changed.
# Survivors: .venv/bin/mutmut show NAME (docs/reliability.md, "Mutation testing"). Not part of `make test`.
MODULE ?=
.PHONY: mutate
mutate: $(VENV)/.mutate-installed
	mkdir -p mutants/bench  # mutmut copies bench/state_bench.py (setup.cfg also_copy) only into a folder that exists
	$(BIN)/mutmut run $(if $(MODULE),"mocksrv.$(MODULE).*")
	$(BIN)/python bench/mutation_scores.py $(MODULE)

$(VENV)/.mutate-installed: $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,dev,mutate]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache mutants
