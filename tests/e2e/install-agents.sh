#!/usr/bin/env bash
# Install the real agent CLIs the end-to-end tests drive, pinned, into .tools/agents at the repo
# root (override with HEADROOM_TOOLS_DIR): Claude Code (@anthropic-ai/claude-code, a native
# binary in its platform package) and Codex (@openai/codex). Needs node and npm (>= 18).
# Idempotent: nothing is fetched when the pinned versions already answer --version.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${HEADROOM_TOOLS_DIR:-${repo_root}/.tools}"
prefix="${tools}/agents"
CLAUDE_CODE_VERSION="${CLAUDE_CODE_VERSION:-2.1.332}"
CODEX_VERSION="${CODEX_VERSION:-0.171.0}"

log() { printf 'install-agents: %s\n' "$*" >&2; }

installed() {
  "${prefix}/node_modules/.bin/claude" --version 2>/dev/null | grep -qF "${CLAUDE_CODE_VERSION}" &&
    "${prefix}/node_modules/.bin/codex" --version 2>/dev/null | grep -qF "${CODEX_VERSION}"
}

if installed; then
  log "claude ${CLAUDE_CODE_VERSION}, codex ${CODEX_VERSION} in ${prefix}"
  exit 0
fi
for tool in node npm; do
  command -v "${tool}" >/dev/null || { log "${tool} missing: install Node.js 18+ first"; exit 1; }
done
mkdir -p "${prefix}"
log "npm install @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} @openai/codex@${CODEX_VERSION}"
npm install --prefix "${prefix}" --no-audit --no-fund --no-save --loglevel=error \
  "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" "@openai/codex@${CODEX_VERSION}" >&2
installed || { log "installed CLIs do not run: see ${prefix}"; exit 1; }
log "claude ${CLAUDE_CODE_VERSION}, codex ${CODEX_VERSION} in ${prefix}"
