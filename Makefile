# Every command a contributor needs. `make run` serves the demo; `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
RUN_DEBS := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils

.PHONY: run test lint format typecheck pytest migrate seed serve clean bench help

help:
	@echo "make run    — 安装依赖、迁移数据库、首次写入演示数据并启动服务"
	@echo "make test   — 安装依赖（含测试所需 Debian 软件包）并运行全部检查与测试"

$(VENV)/.run-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	@bash scripts/ensure-debs.sh $(RUN_DEBS) || echo "（未能安装 PDF 所需字体，PDF 导出可能不可用）"
	$(PY) -m app db upgrade
	$(PY) -m app demo seed --if-empty
	$(PY) -m app serve

test: $(VENV)/.dev-installed
	bash scripts/ensure-debs.sh $(TEST_DEBS)
	$(MAKE) lint typecheck pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check app tests migrations bench
	$(VENV)/bin/ruff format --check app tests migrations bench

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format app tests migrations bench
	$(VENV)/bin/ruff check --fix app tests migrations bench

typecheck: $(VENV)/.dev-installed
	$(VENV)/bin/mypy app

pytest: $(VENV)/.dev-installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

migrate: $(VENV)/.run-installed
	$(PY) -m app db upgrade

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
