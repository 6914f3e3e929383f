#!/usr/bin/env bash
# Fetch the JavaScript/CSS that offline maps inline (`phusong map --offline`) from the npm
# registry with `npm pack` and extract the files the pages use into analysis/publish/static/vendor/.
# The folder is git-ignored; versions match the CDN URLs of folium's templates. Provenance
# (package, version, tarball sha512 integrity) is written to analysis/publish/static/vendor/MANIFEST.json.
# Idempotent: does nothing when the manifest lists exactly these packages.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=analysis/publish/static/vendor
PACKAGES=(
  "leaflet@1.9.3"
  "leaflet.markercluster@1.1.0"
  "leaflet-search@2.9.7"
  "leaflet.fullscreen@3.0.0"
  "leaflet-measure@2.1.7"
  "jquery@3.7.1"
)
# files kept per package (paths inside the tarball's package/ folder)
keep() {
  case "$1" in
    leaflet) echo "dist/leaflet.js dist/leaflet.css dist/images LICENSE" ;;
    leaflet.markercluster) echo "dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css MIT-LICENCE.txt" ;;
    leaflet-search) echo "dist/leaflet-search.min.js dist/leaflet-search.min.css images/search-icon.png images/loader.gif license.txt" ;;
    leaflet.fullscreen) echo "Control.FullScreen.js Control.FullScreen.css icon-fullscreen.svg LICENSE" ;;
    leaflet-measure) echo "dist/leaflet-measure.js dist/leaflet-measure.css dist/images LICENSE" ;;
    jquery) echo "dist/jquery.min.js LICENSE.txt" ;;
  esac
}
WANT="${PACKAGES[*]}"
if [[ -f "$DEST/MANIFEST.json" ]] && grep -q "\"packages\": \"$WANT\"" "$DEST/MANIFEST.json"; then
  echo "vendor: up to date ($DEST)"; exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor: npm is needed to fetch Leaflet for offline maps (apt-get install -y npm)" >&2
  exit 1
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
rm -rf "$DEST.part"; mkdir -p "$DEST.part"
ENTRIES=()
for spec in "${PACKAGES[@]}"; do
  name=${spec%@*}
  json=$(cd "$TMP" && npm pack "$spec" --json --silent)
  file=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["filename"])')
  integrity=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])')
  mkdir -p "$TMP/x/$name"
  tar -xzf "$TMP/$file" -C "$TMP/x/$name" --warning=no-unknown-keyword
  mkdir -p "$DEST.part/$name"
  for path in $(keep "$name"); do
    if [[ -e "$TMP/x/$name/package/$path" ]]; then
      mkdir -p "$DEST.part/$name/$(dirname "$path")"
      cp -r "$TMP/x/$name/package/$path" "$DEST.part/$name/$path"
    elif [[ "$path" != *LICEN* && "$path" != license.txt ]]; then
      echo "vendor: $spec has no $path" >&2; exit 1
    fi
  done
  ENTRIES+=("{\"package\": \"$name\", \"version\": \"${spec##*@}\", \"integrity\": \"$integrity\"}")
done
{
  echo "{"
  echo "  \"source\": \"npm registry (npm pack)\","
  echo "  \"packages\": \"$WANT\","
  echo "  \"files\": [$(IFS=,; echo "${ENTRIES[*]}")]"
  echo "}"
} > "$DEST.part/MANIFEST.json"
rm -rf "$DEST"; mv "$DEST.part" "$DEST"
echo "vendor: wrote $DEST ($(du -sh "$DEST" | cut -f1))"
