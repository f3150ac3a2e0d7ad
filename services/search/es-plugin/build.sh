#!/usr/bin/env bash
# Build the analysis plugin against the Elasticsearch in $1 (its lib/ has Lucene and the server
# classes), into $2/parentnet-analysis-<es version>-<plugin version>.zip. No Maven project:
# javac and the server's own jars, plus Lucene's ICU module for the server's Lucene version and
# the ICU4J it depends on, both fetched once from Maven Central into $2 and shipped in the zip.
set -euo pipefail
es_home=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
plugin_version=$(cat "$here/VERSION")
version=$(basename "$es_home" | sed 's/^elasticsearch-//')
lucene=$(basename "$(ls "$es_home"/lib/lucene-core-*.jar)" .jar | sed 's/^lucene-core-//')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
fetch() { # fetch group:artifact:version[:type] -> $out (quiet, once)
  (cd "$work" && mvn -q dependency:copy -Dartifact="$1" -DoutputDirectory="$out" >&2) \
    || { echo "could not fetch $1 from Maven Central" >&2; exit 1; }
}
icu_jar="$out/lucene-analysis-icu-$lucene.jar"
[ -f "$icu_jar" ] || fetch "org.apache.lucene:lucene-analysis-icu:$lucene"
[ -f "$out/lucene-analysis-icu-$lucene.pom" ] || fetch "org.apache.lucene:lucene-analysis-icu:$lucene:pom"
# The ICU4J version Lucene was built against, from its pom.
icu4j=$(tr -d ' \n' < "$out/lucene-analysis-icu-$lucene.pom" | grep -o '<artifactId>icu4j</artifactId><version>[^<]*' | sed 's/.*<version>//')
[ -n "$icu4j" ] || { echo "no icu4j version in lucene-analysis-icu-$lucene.pom" >&2; exit 1; }
[ -f "$out/icu4j-$icu4j.jar" ] || fetch "com.ibm.icu:icu4j:$icu4j"
javac --release 17 -nowarn -d "$work/classes" -cp "$es_home/lib/*:$icu_jar:$out/icu4j-$icu4j.jar" \
  "$here"/src/org/parentnet/analysis/*.java
jar cf "$work/parentnet-analysis.jar" -C "$work/classes" .
cp "$icu_jar" "$out/icu4j-$icu4j.jar" "$work/"
cat > "$work/plugin-descriptor.properties" <<PROPS
description=Analysis for Parentnet: ICU normalization and folding, CJK bigrams, Arabic, Persian and Bengali normalization, French, English, Spanish, Arabic and Bengali stemming
version=$plugin_version
name=parentnet-analysis
classname=org.parentnet.analysis.ParentnetAnalysisPlugin
java.version=17
elasticsearch.version=$version
PROPS
zip="$out/parentnet-analysis-$version-$plugin_version.zip"
(cd "$work" && rm -f "$zip" && python3 -c "
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for name in sys.argv[2:]:
        z.write(name)
" "$zip" plugin-descriptor.properties parentnet-analysis.jar "$(basename "$icu_jar")" "icu4j-$icu4j.jar")
echo "$zip"
