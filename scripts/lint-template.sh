#!/usr/bin/env bash
# Lints a SAM template offline: cfn-lint (with the SAM transform), then SAM CLI's own
# `sam validate --lint`. Exits non-zero when either finds an error.
#
#   bash scripts/lint-template.sh [TEMPLATE]     (default: template.yaml)
#
# Pinned tools come from scripts/tools.sh and are installed into .venv on first use. Its own
# process, so that errexit holds: a caller's `( … ) || status=$?` would switch it off
# inside a subshell and only the last command's status would count.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
template="${1:-template.yaml}"
# shellcheck source=scripts/tools.sh
source scripts/tools.sh
tools_install_cfn_lint
tools_install_sam_cli
echo "lint: cfn-lint $CFN_LINT_VERSION $template" >&2
"$VENV/bin/cfn-lint" "$template"
echo "lint: sam validate --lint (SAM CLI $SAM_CLI_VERSION) $template" >&2
SAM_CLI_TELEMETRY=0 "$VENV/sam/bin/sam" validate --lint --template-file "$template"
