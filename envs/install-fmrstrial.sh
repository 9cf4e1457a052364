#!/usr/bin/env bash
# Post-deploy script of every per-rule conda environment (envs/<name>.post-deploy.sh links
# here): installs this clone's fmrstrial package, editable and without dependencies (the
# environment's YAML provides them), so that the rules' scripts import it as they do in the
# pip-installed .venv. The Snakefile exports FMRSTRIAL_REPOSITORY (the clone's folder).
set -euo pipefail
: "${FMRSTRIAL_REPOSITORY:?run through the workflow (the Snakefile sets FMRSTRIAL_REPOSITORY)}"
python -m pip install --no-deps --quiet -e "$FMRSTRIAL_REPOSITORY"
