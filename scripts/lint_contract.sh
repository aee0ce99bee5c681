#!/usr/bin/env bash
# Lints the committed contract with Redocly (recommended rules, redocly.yaml) and Spectral
# (spectral:oas, .spectral.yaml). Any error or warning from either fails. Versions are pinned here.
set -euo pipefail
cd "$(dirname "$0")/.."

REDOCLY=@redocly/cli@2.77.0
SPECTRAL=@stoplight/spectral-cli@6.16.3
DOCUMENT=openapi/openapi.json

# Redocly exits 0 on warnings, so read its totals and show the full report only when they are not 0.
totals=$(npx -y "$REDOCLY" lint --format=json "$DOCUMENT" 2>/dev/null |
  node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const t=JSON.parse(s).totals;console.log(`${t.errors} ${t.warnings} ${t.ignored}`)})')
read -r errors warnings ignored <<<"$totals"
if [ "$errors" != 0 ] || [ "$warnings" != 0 ]; then
  npx -y "$REDOCLY" lint "$DOCUMENT" || true
  echo "redocly: $errors errors, $warnings warnings in $DOCUMENT" >&2
  exit 1
fi
echo "redocly: 0 errors, 0 warnings ($ignored ignored in .redocly.lint-ignore.yaml)"

npx -y "$SPECTRAL" lint --ruleset .spectral.yaml --fail-severity=warn "$DOCUMENT"
echo "spectral: 0 errors, 0 warnings"
