#!/usr/bin/env bash
# Refreshes the console's vendored front-end files from the npm registry at pinned versions:
# nhsuk-frontend (CSS, JS, icons), htmx (served), and axe-core (for the browser tests, not served).
# The NHS stylesheet's @font-face rules load a font from another host; they are removed, so pages
# use the stylesheet's fallback fonts and the console names no other host.
# Usage: crates/hubbook-console/scripts/refresh-vendor.sh   (needs npm, tar, perl)
set -euo pipefail

NHSUK_VERSION=10.6.1
HTMX_VERSION=2.0.11
AXE_VERSION=4.14.1

here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "nhsuk-frontend@$NHSUK_VERSION" "htmx.org@$HTMX_VERSION" "axe-core@$AXE_VERSION" >/dev/null
for pkg in nhsuk-frontend-$NHSUK_VERSION htmx.org-$HTMX_VERSION axe-core-$AXE_VERSION; do
  mkdir "$pkg" && tar xzf "$pkg.tgz" -C "$pkg"
done

nhs="$here/assets/vendor/nhsuk-frontend"
rm -rf "$nhs" && mkdir -p "$nhs/images"
src="nhsuk-frontend-$NHSUK_VERSION/package/dist/nhsuk"
# No other host: drop the @font-face rules (the font is on an NHS host) and the source-map comments.
perl -0pe 's/\@font-face\{[^}]*\}//g; s{/\*# sourceMappingURL=[^*]*\*/}{}g' \
  "$src/nhsuk-frontend.min.css" >"$nhs/nhsuk-frontend.min.css"
perl -0pe 's{//# sourceMappingURL=\S*}{}g' "$src/nhsuk-frontend.min.js" >"$nhs/nhsuk-frontend.min.js"
cp "$src"/assets/images/*.svg "$src/assets/images/favicon.ico" "$nhs/images/"
if grep -Eq 'https?://' "$nhs/nhsuk-frontend.min.css"; then
  echo "nhsuk-frontend's stylesheet still names another host" >&2
  exit 1
fi
# The npm package ships no licence file; its package.json says MIT, under this notice.
cat >"$nhs/LICENSE" <<'LICENCE'
MIT License

Copyright (c) 2019 NHS.UK

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENCE
echo "nhsuk-frontend $NHSUK_VERSION (npm), @font-face rules and source-map comments removed" >"$nhs/VERSION"

htmx="$here/assets/vendor/htmx"
rm -rf "$htmx" && mkdir -p "$htmx"
perl -0pe 's{//# sourceMappingURL=\S*}{}g' "htmx.org-$HTMX_VERSION/package/dist/htmx.min.js" >"$htmx/htmx.min.js"
cp "htmx.org-$HTMX_VERSION/package/LICENSE" "$htmx/LICENSE"
echo "htmx.org $HTMX_VERSION (npm)" >"$htmx/VERSION"

axe="$here/tests/vendor/axe-core"
rm -rf "$axe" && mkdir -p "$axe"
cp "axe-core-$AXE_VERSION/package/axe.min.js" "axe-core-$AXE_VERSION/package/LICENSE" \
  "axe-core-$AXE_VERSION/package/LICENSE-3RD-PARTY.txt" "$axe/"
echo "axe-core $AXE_VERSION (npm)" >"$axe/VERSION"
echo "vendored nhsuk-frontend $NHSUK_VERSION, htmx $HTMX_VERSION, axe-core $AXE_VERSION"
