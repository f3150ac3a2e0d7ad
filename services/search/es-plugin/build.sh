#!/usr/bin/env bash
# Build the analysis plugin against the Elasticsearch in $1 (its lib/ has every class needed),
# into $2/parentnet-analysis-<es version>.zip. No Maven: javac and the server's own jars.
set -euo pipefail
es_home=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
version=$(basename "$es_home" | sed 's/^elasticsearch-//')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
javac --release 17 -nowarn -d "$work/classes" -cp "$es_home/lib/*" "$here"/src/org/parentnet/analysis/*.java
jar cf "$work/parentnet-analysis.jar" -C "$work/classes" .
cat > "$work/plugin-descriptor.properties" <<PROPS
description=Language-aware token filters for Parentnet (CJK bigrams, French and English stemming, folding)
version=1.0.0
name=parentnet-analysis
classname=org.parentnet.analysis.ParentnetAnalysisPlugin
java.version=17
elasticsearch.version=$version
PROPS
mkdir -p "$out"
(cd "$work" && rm -f "$out/parentnet-analysis-$version.zip" && python3 -c "
import zipfile, sys
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.write('plugin-descriptor.properties')
    z.write('parentnet-analysis.jar')
" "$out/parentnet-analysis-$version.zip")
echo "$out/parentnet-analysis-$version.zip"
