#!/usr/bin/env bash
# The benchmark's own tools, each in a virtualenv of its own (never in the app's environment, never in
# pyproject.toml): Datasette (the comparison server) and py-spy / pyinstrument (profilers).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
test -x .venv-datasette/bin/datasette || { "$PYTHON" -m venv .venv-datasette && .venv-datasette/bin/pip install -q datasette==0.65.5; }
test -x .venv-tools/bin/py-spy || { "$PYTHON" -m venv .venv-tools && .venv-tools/bin/pip install -q py-spy==0.4.3 pyinstrument==5.1.3; }
.venv-datasette/bin/datasette --version
.venv-tools/bin/py-spy --version
