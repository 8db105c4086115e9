# art2music — every target runs inside the project virtual environment .venv (made by `make install`).
# `make help` lists the targets. Variables: CONFIG=<yaml> ARGS="<overrides>" for the training targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/art2music
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning made runs 5-10x slower.
export OMP_WAIT_POLICY ?= PASSIVE

CONFIG_STAGE1 ?= configs/demo/stage1.yaml
CONFIG_VOCODER ?= configs/demo/vocoder.yaml
CONFIG_MIDI ?= configs/demo/midi.yaml
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install system-deps venv test test-full demo demo-data demo-train train-stage1 train-vocoder train-va-judge \
        render evaluate bench serve clean train-midi demo-train-midi

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}'

install: system-deps venv ## Install everything: system packages (FluidSynth, GM soundfont, Chromium for the web test) and .venv with pinned versions

system-deps: ## Install the Debian packages: fluidsynth + a GM soundfont (demo corpus), chromium + chromium-driver (web test)
	@bash scripts/install-system-deps.sh

venv: $(VENV)/.installed ## Create .venv and install art2music with pinned dependencies (constraints.txt)

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[train,data,midi,eval,web,test]"
	@touch $@

test: ## Run the default test suite (under 15 minutes on 2 cores)
	$(PY) -m pytest -q

test-full: ## Run every test, the slow ones included
	$(PY) -m pytest -q -m ""

train-stage1: ## Train stage 1 (CONFIG_STAGE1=..., or CONFIG=...; ARGS="--trainer.max_epochs=5"); resumes from the last checkpoint
	$(CLI) train-stage1 fit --config $(or $(CONFIG),$(CONFIG_STAGE1)) --ckpt_path last $(ARGS)

train-vocoder: ## Train / fine-tune the HiFi-GAN vocoder (CONFIG_VOCODER=..., or CONFIG=...); resumes
	$(CLI) train-vocoder fit --config $(or $(CONFIG),$(CONFIG_VOCODER)) --ckpt_path last $(ARGS)

train-midi: ## Train the symbolic (MIDI) engine (CONFIG_MIDI=..., or CONFIG=...); resumes from last.ckpt
	$(CLI) train-midi fit --config $(or $(CONFIG),$(CONFIG_MIDI)) --ckpt_path last $(ARGS)

demo-train-midi: ## Rebuild the shipped midi-engine demo weights (art2music/assets/demo-midi) from the demo corpus
	$(CLI) train-midi fit --config $(CONFIG_MIDI) $(ARGS)
	$(CLI) export-midi --checkpoint runs/midi-demo/checkpoints/last.ckpt --tokenizer runs/midi-demo/data/tokenizer.json \
	    --sampling configs/demo/midi-sampling.yaml --out art2music/assets/demo-midi

train-va-judge: ## Retrain the shipped music valence-arousal judge (art2music/assets/demo/va_judge) on the demo corpus
	$(CLI) train-va-judge --corpus datasets/demo --out art2music/assets/demo/va_judge $(ARGS)

demo-data: ## Generate the embedded demo corpus into datasets/demo/ and build its ArtiCaps cache
	$(CLI) demo-corpus --out datasets/demo $(ARGS)

serve: ## Start the web page with the demo weights on http://127.0.0.1:7860 (MODEL=demo|DIR PORT=7860)
	$(CLI) serve --model $(or $(MODEL),demo) --port $(or $(PORT),7860) $(ARGS)

bench: ## Run every benchmark in bench/, writing bench/results/*.json and bench/RESULTS.md
	$(PY) bench/run_all.py $(ARGS)

clean: ## Remove build artefacts and training runs (keeps .venv and datasets)
	rm -rf runs lightning_logs .pytest_cache build *.egg-info

demo: ## Render the bundled sample collection with the shipped demo weights and print where the gallery is
	$(CLI) render examples/collection/collection.csv --out outputs/demo --model demo $(ARGS)

demo-train: ## Rebuild the demo weights from scratch (corpus, tiny encoder, stage 1, vocoder; see README for time)
	$(PY) -m art2music.training.demo_train $(ARGS)

render: ## Render a collection: make render INPUT=folder-or.csv OUT=outputs/x [MODEL=demo|DIR]
	$(CLI) render $(INPUT) --out $(or $(OUT),outputs/render) --model $(or $(MODEL),demo) $(ARGS)

evaluate: ## Score a model on a split: make evaluate [MODEL=demo|demo-midi|DIR] [MANIFEST=…] [SPLIT=test] [OUT=…]
	$(CLI) evaluate --model $(or $(MODEL),demo) --manifest $(or $(MANIFEST),datasets/demo/articaps/manifest.csv) \
	    --split $(or $(SPLIT),test) --out $(or $(OUT),outputs/evaluate) $(ARGS)
