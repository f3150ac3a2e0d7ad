#!/usr/bin/env bash
# Provision the real servers Parentnet needs, idempotently:
#   RabbitMQ (Debian's rabbitmq-server, management plugin on),
#   a MongoDB-protocol server (mongod on PATH, else FerretDB built from the Go module proxy),
#   Elasticsearch (the integ-test-zip from Maven Central, as an unprivileged user),
# plus the Python virtualenv with every package of the repository installed.
# A server already answering on its loopback port, or pointed at by AMQP_URI / MONGO_URI /
# ELASTICSEARCH_URL, is left alone. Downloads and built binaries are cached outside the repo.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PARENTNET_CACHE:-$HOME/.cache/parentnet}
if [ "$(id -u)" = 0 ]; then STATE=${PARENTNET_STATE:-/var/lib/parentnet}; else STATE=${PARENTNET_STATE:-$HOME/.local/state/parentnet}; fi
ES_VERSION=${PARENTNET_ES_VERSION:-8.19.21}
FERRETDB_VERSION=${PARENTNET_FERRETDB_VERSION:-v1.24.2}
ES_USER=parentnet-es
mkdir -p "$CACHE/downloads" "$CACHE/bin" "$STATE/logs"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[31mFAILED: %s\nFix: %s\033[0m\n' "$1" "$2" >&2; exit 1; }
# Two checkouts provisioning at once (a second clone's `make test` beside `make up`) would
# both install the same server or plugin: one runs at a time, the other then finds it done.
# Every server is started with fd 9 closed (`9>&-`): a server that kept it would hold the lock
# for as long as it runs, and every later provisioning would wait for ever.
exec 9>"$CACHE/.provision.lock"
if ! flock -w 600 9; then
  fail "waiting for another provisioning" "a process holds $CACHE/.provision.lock: fuser -v $CACHE/.provision.lock"
fi
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
  echo "    $what is up"
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  if [ ! -f "$CACHE/.apt-updated" ] || [ -n "$(find "$CACHE/.apt-updated" -mmin +1440 2>/dev/null)" ]; then
    as_root apt-get update -qq && touch "$CACHE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

python_env() {
  step "Python environment (.venv)"
  local stamp="$ROOT/.venv/.installed" want
  want=$(cat "$ROOT"/kit/pyproject.toml "$ROOT"/services/*/pyproject.toml "$ROOT"/gateway/pyproject.toml "$ROOT"/requirements-dev.txt | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then echo "    up to date"; return; fi
  [ -x "$ROOT/.venv/bin/python" ] || python3 -m venv "$ROOT/.venv" || fail "creating .venv" "install python3-venv (apt-get install python3-venv)"
  "$ROOT/.venv/bin/pip" install -q --upgrade pip >/dev/null
  "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements-dev.txt" \
    -e "$ROOT/kit" -e "$ROOT/services/members" -e "$ROOT/services/events" \
    -e "$ROOT/services/listings" -e "$ROOT/services/search" -e "$ROOT/services/conversations" -e "$ROOT/gateway" \
    -e "$ROOT/services/moderation" \
    || fail "pip install" "check that PyPI is reachable (pip index versions nameko)"
  echo "$want" > "$stamp"
}

npm_install() {
  # npm ci into $1 when its lock file changed since the last install.
  local dir="$1" stamp="$1/node_modules/.installed" want
  want=$(sha256sum "$dir/package-lock.json" | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 1; fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || fail "npm ci in ${dir#"$ROOT"/}" "check that the npm registry is reachable (npm ping)"
  echo "$want" > "$stamp"
}

node_env() {
  # Node runs the Apollo Client check of docs/queries and bundles the gateway's explorer
  # (GraphiQL from npm, no CDN); Chromium checks the explorer headless.
  step "Node, the explorer bundle and Chromium"
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm >&2 \
    || fail "installing Node" "apt-get install nodejs npm (Node 18+)"
  npm_install "$ROOT/clients/apollo" && echo "    clients/apollo installed"
  npm_install "$ROOT/clients/codegen" && echo "    clients/codegen installed"
  npm_install "$ROOT/clients/calendar" && echo "    clients/calendar installed (ical.js, a calendar app's parser)"
  npm_install "$ROOT/clients/http-audit" && echo "    clients/http-audit installed (graphql-http's server audit)"
  if npm_install "$ROOT/clients/explorer" || [ ! -f "$ROOT/gateway/gateway/static/explorer/explorer.js" ]; then
    (cd "$ROOT/clients/explorer" && node build.mjs >/dev/null) || fail "bundling the explorer" "cd clients/explorer && node build.mjs"
    echo "    explorer bundled into gateway/gateway/static/explorer"
  fi
  command -v chromium >/dev/null || apt_install chromium >&2 || fail "installing Chromium" "apt-get install chromium"
}

rabbitmq() {
  step "RabbitMQ"
  if [ -n "${AMQP_URI:-}" ]; then echo "    using external AMQP_URI"; return; fi
  if port_open 5672 && port_open 15672; then echo "    already answering on 127.0.0.1:5672"; return; fi
  command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || {
    echo "    installing Debian's rabbitmq-server"
    apt_install rabbitmq-server || fail "apt-get install rabbitmq-server" "run 'apt-get update' and retry; Debian's package index must be reachable"
  }
  export PATH=$PATH:/usr/sbin
  as_root rabbitmq-plugins --offline enable rabbitmq_management >/dev/null
  # Bind to loopback only.
  if ! grep -q '^listeners.tcp.default' /etc/rabbitmq/rabbitmq.conf 2>/dev/null; then
    printf 'listeners.tcp.default = 127.0.0.1:5672\nmanagement.tcp.ip = 127.0.0.1\nloopback_users.guest = true\n' | as_root tee -a /etc/rabbitmq/rabbitmq.conf >/dev/null
  fi
  as_root rabbitmq-server -detached >/dev/null 2>&1 9>&- || true
  wait_for 90 "RabbitMQ" port_open 5672 || fail "starting RabbitMQ" "see /var/log/rabbitmq/*.log; 'rabbitmqctl status' tells why"
  wait_for 60 "RabbitMQ management" port_open 15672 || fail "RabbitMQ management plugin" "rabbitmq-plugins enable rabbitmq_management"
}

prometheus_for_tests() {
  # Tests start their own Prometheus (scraping the five processes' /metrics); no server runs here.
  step "Prometheus (for the metrics test)"
  if [ -x /usr/bin/prometheus ] || type -P prometheus >/dev/null; then echo "    installed"; return; fi
  echo "    installing Debian's prometheus"
  apt_install --no-install-recommends prometheus \
    || fail "apt-get install prometheus" "run 'apt-get update' and retry; Debian's package index must be reachable"
  # The package starts a server of its own on :9090 scraping this host; the tests want none of it.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    as_root /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
}

haproxy_for_tests() {
  # The rolling-restart test (tests/deploy) starts its own HAProxy in front of two gateways,
  # as a load balancer would be in production; no server runs here.
  step "HAProxy (for the rolling-restart test)"
  if [ -x /usr/sbin/haproxy ] || type -P haproxy >/dev/null; then echo "    installed"; return; fi
  echo "    installing Debian's haproxy"
  apt_install --no-install-recommends haproxy \
    || fail "apt-get install haproxy" "run 'apt-get update' and retry; Debian's package index must be reachable"
  # The package starts a server of its own; the tests want none of it.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now haproxy >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/haproxy ]; then
    as_root /etc/init.d/haproxy stop >/dev/null 2>&1 || true
  fi
}

ferretdb_binary() {
  # "-idindex": built with the one-line fix below; a binary built without it is not reused.
  local bin="$CACHE/bin/ferretdb-$FERRETDB_VERSION-idindex"
  if [ -x "$bin" ]; then echo "$bin"; return; fi
  command -v go >/dev/null || apt_install golang-go >&2 || fail "installing Go" "install Go 1.21+"
  echo "    building FerretDB $FERRETDB_VERSION from the Go module proxy (once; cached in $CACHE/bin)" >&2
  # 'go install pkg@version' asks the proxy for the module's version list to check for
  # deprecation, and that list is refused here; building the pinned version inside a
  # throw-away module skips that call and builds the same code.
  local tmp; tmp=$(mktemp -d)
  cat > "$tmp/go.mod" <<GOMOD
module parentnet/ferretdb-build

go 1.22

require github.com/FerretDB/FerretDB $FERRETDB_VERSION
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/FerretDB/FerretDB/cmd/ferretdb"\n' > "$tmp/tools.go"
  # Its release builds write build/version/version.txt, which the module zip lacks and
  # without which the binary panics at start; vendoring lets us add that one file.
  # Its SQLite backend creates the _id index on `_ferretdb_sjson->"_id"` but looks _id up
  # (find, update, delete by _id) with `_ferretdb_sjson->'$._id'`, an expression SQLite does
  # not match with that index: every lookup by _id read the whole table (EXPLAIN QUERY PLAN
  # says SCAN; docs/store.md has the numbers). Spelling the lookup like the index makes it a
  # SEARCH USING INDEX; both extract the same JSON value, so results do not change.
  local meta=vendor/github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata/metadata.go
  (cd "$tmp" && GOFLAGS=-mod=mod go mod tidy >&2 && go mod vendor >&2 \
    && echo "$FERRETDB_VERSION" > vendor/github.com/FerretDB/FerretDB/build/version/version.txt \
    && grep -q "IDColumn = DefaultColumn + \"->'\$._id'\"" "$meta" \
    && sed -i "s/IDColumn = DefaultColumn + \"->'\$._id'\"/IDColumn = DefaultColumn + \"->'_id'\"/" "$meta" \
    && grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$meta" \
    && go build -mod=vendor -trimpath -o "$bin.tmp" github.com/FerretDB/FerretDB/cmd/ferretdb >&2) \
    || fail "building FerretDB" "the Go module proxy must be reachable; or put a mongod on PATH; or set MONGO_URI"
  mv "$bin.tmp" "$bin"; rm -rf "$tmp"
  echo "$bin"
}

mongo() {
  step "MongoDB-protocol server"
  if [ -n "${MONGO_URI:-}" ]; then echo "    using external MONGO_URI"; return; fi
  if port_open 27017; then
    echo "    already answering on 127.0.0.1:27017"
    # A FerretDB started from a binary built before the _id fix reads whole tables for every
    # lookup by _id (docs/store.md): say so, and how to restart it (not done here: it may serve others).
    local pid; pid=$(cat "$STATE/ferretdb.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && [ -e "/proc/$pid/exe" ] && ! readlink "/proc/$pid/exe" | grep -q -- '-idindex'; then
      printf '\033[33m    FerretDB (pid %s) runs a build without the _id index fix; restart it when nobody uses it:\n' "$pid"
      printf '    kill %s; bash scripts/provision.sh up\033[0m\n' "$pid"
    fi
    return
  fi
  mkdir -p "$STATE/mongo"
  if command -v mongod >/dev/null; then
    echo "    starting mongod from PATH"
    mongod --bind_ip 127.0.0.1 --port 27017 --dbpath "$STATE/mongo" --fork --logpath "$STATE/logs/mongod.log" >/dev/null 9>&-
  else
    local bin; bin=$(ferretdb_binary)
    echo "    starting FerretDB (SQLite backend, data in $STATE/ferretdb)"
    mkdir -p "$STATE/ferretdb"
    nohup "$bin" --handler=sqlite --sqlite-url="file:$STATE/ferretdb/" \
      --state-dir="$STATE/ferretdb" --listen-addr=127.0.0.1:27017 --debug-addr=127.0.0.1:8088 \
      --telemetry=disable --log-level=WARN \
      > "$STATE/logs/ferretdb.log" 2>&1 9>&- &
    echo $! > "$STATE/ferretdb.pid"
  fi
  wait_for 60 "MongoDB protocol on 127.0.0.1:27017" port_open 27017 || fail "starting the MongoDB-protocol server" "see $STATE/logs/"
}

es_has_analysis() {
  # ICU folding of combining accents (NFD "Goûter" gives "gouter"), Arabic normalization and
  # CJK bigrams: what the indices' analyzers need (our plugin's version 2, or a full distribution
  # with analysis-icu). An older plugin fails this, and provisioning then restarts with the new one.
  curl -fs -XPOST http://127.0.0.1:9200/_analyze -H 'content-type: application/json' \
    -d '{"tokenizer": "standard", "filter": ["icu_folding", "arabic_normalization", "cjk_bigram"], "text": "Gou\u0302ter"}' \
    2>/dev/null | grep -q '"gouter"'
}

java_home() {
  # Elasticsearch 8.19 runs on Java 17 to 24; prefer 21, then 17.
  local j
  for j in /usr/lib/jvm/java-21-openjdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/temurin-17-jdk-amd64; do
    [ -x "$j/bin/java" ] && { echo "$j"; return; }
  done
  apt_install openjdk-17-jdk-headless >&2 || fail "installing Java" "apt-get install openjdk-17-jdk-headless"
  echo /usr/lib/jvm/java-17-openjdk-amd64
}

elasticsearch() {
  step "Elasticsearch $ES_VERSION"
  if [ -n "${ELASTICSEARCH_URL:-}" ]; then echo "    using external ELASTICSEARCH_URL"; return; fi
  # (this minimal distribution has no handler for GET /, so ask the cluster health)
  local home="$STATE/elasticsearch-$ES_VERSION" plugin_want plugin_have
  plugin_want=$(cat "$ROOT/services/search/es-plugin/VERSION")
  plugin_have=$(sed -n 's/^version=//p' "$home/plugins/parentnet-analysis/plugin-descriptor.properties" 2>/dev/null || true)
  if curl -fs http://127.0.0.1:9200/_cluster/health >/dev/null 2>&1; then
    if es_has_analysis && { [ -z "$plugin_have" ] || [ "$plugin_have" = "$plugin_want" ]; }; then
      echo "    already answering on 127.0.0.1:9200"; return
    fi
    if [ -f "$STATE/es-run/es.pid" ]; then
      echo "    running without the language analysis (or an older parentnet-analysis plugin); restarting it with the plugin"
      kill "$(cat "$STATE/es-run/es.pid")" 2>/dev/null || true
      wait_for 60 "Elasticsearch to stop" sh -c '! curl -fs http://127.0.0.1:9200/_cluster/health >/dev/null 2>&1' || true
    else
      fail "Elasticsearch on 127.0.0.1:9200 lacks the icu_folding, arabic_normalization or cjk_bigram filter" "install the analysis-icu plugin (elasticsearch-plugin install analysis-icu; analysis-common comes with any full distribution) or set ELASTICSEARCH_URL"
    fi
  fi
  local zip="$CACHE/downloads/elasticsearch-$ES_VERSION.zip"
  if [ ! -f "$zip" ]; then
    echo "    downloading the integ-test-zip from Maven Central (once; cached in $CACHE/downloads)"
    command -v mvn >/dev/null || apt_install maven || fail "installing Maven" "apt-get install maven"
    (cd "$CACHE" && mvn -q dependency:copy \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$CACHE/downloads") || fail "downloading Elasticsearch" "Maven Central must be reachable; or set ELASTICSEARCH_URL"
  fi
  if [ ! -d "$home" ]; then
    command -v unzip >/dev/null || apt_install unzip
    unzip -q "$zip" -d "$STATE" || fail "unpacking Elasticsearch" "remove $zip and retry"
    cat >> "$home/config/elasticsearch.yml" <<YML
cluster.name: parentnet
node.name: parentnet-local
path.data: $STATE/es-data
path.logs: $STATE/logs/elasticsearch
network.host: 127.0.0.1
http.port: 9200
discovery.type: single-node
xpack.security.enabled: false
action.destructive_requires_name: false
YML
  fi
  mkdir -p "$STATE/es-data" "$STATE/logs/elasticsearch" "$STATE/es-run"
  local jh; jh=$(java_home)
  # The integ-test distribution has no analysis-common module nor analysis-icu: add our small
  # plugin with the filters the indices use (ICU normalization and folding, CJK bigrams, Arabic,
  # Persian and Bengali normalization, stemmers). A plugin of another version is replaced.
  if [ ! -d "$home/modules/analysis-common" ] && [ "$plugin_have" != "$plugin_want" ]; then
    echo "    building and installing the parentnet-analysis plugin $plugin_want (was: ${plugin_have:-none})"
    if [ -n "$plugin_have" ]; then
      ES_JAVA_HOME=$jh "$home/bin/elasticsearch-plugin" remove parentnet-analysis >/dev/null \
        || fail "removing the old analysis plugin" "$home/bin/elasticsearch-plugin remove parentnet-analysis"
    fi
    command -v mvn >/dev/null || apt_install maven || fail "installing Maven" "apt-get install maven"
    [ -x "$jh/bin/javac" ] || command -v javac >/dev/null || apt_install openjdk-17-jdk-headless >&2 \
      || fail "installing a JDK" "apt-get install openjdk-17-jdk-headless"
    local plugin
    plugin=$(PATH="$jh/bin:$PATH" "$ROOT/services/search/es-plugin/build.sh" "$home" "$CACHE/downloads") \
      || fail "building the analysis plugin" "needs a JDK 17 (javac) and Maven Central (Lucene's ICU module): apt-get install openjdk-17-jdk-headless maven"
    ES_JAVA_HOME=$jh "$home/bin/elasticsearch-plugin" install --batch "file://$plugin" >/dev/null \
      || fail "installing the analysis plugin" "see the output of $home/bin/elasticsearch-plugin install file://$plugin"
  fi
  if [ "$(id -u)" = 0 ]; then
    # Elasticsearch refuses to run as root.
    id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
    chown -R "$ES_USER" "$home" "$STATE/es-data" "$STATE/logs/elasticsearch" "$STATE/es-run"
    chmod o+x "$STATE"
    su -s /bin/bash "$ES_USER" -c "ES_JAVA_HOME=$jh ES_JAVA_OPTS='-Xms512m -Xmx512m' '$home/bin/elasticsearch' -d -p '$STATE/es-run/es.pid'" \
      > "$STATE/logs/es-start.log" 2>&1 9>&- || fail "starting Elasticsearch" "see $STATE/logs/es-start.log and $STATE/logs/elasticsearch/"
  else
    ES_JAVA_HOME=$jh ES_JAVA_OPTS='-Xms512m -Xmx512m' "$home/bin/elasticsearch" -d -p "$STATE/es-run/es.pid" \
      > "$STATE/logs/es-start.log" 2>&1 9>&- || fail "starting Elasticsearch" "see $STATE/logs/es-start.log"
  fi
  wait_for 180 "Elasticsearch on 127.0.0.1:9200" curl -fs "http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=1s" \
    || fail "waiting for Elasticsearch" "see $STATE/logs/elasticsearch/parentnet.log"
}

down() {
  step "Stopping the local servers"
  [ -f "$STATE/es-run/es.pid" ] && kill "$(cat "$STATE/es-run/es.pid")" 2>/dev/null && echo "    Elasticsearch stopped" || true
  [ -f "$STATE/ferretdb.pid" ] && kill "$(cat "$STATE/ferretdb.pid")" 2>/dev/null && echo "    FerretDB stopped" || true
  rm -f "$STATE/ferretdb.pid"
  pgrep -x mongod >/dev/null && mongod --dbpath "$STATE/mongo" --shutdown >/dev/null 2>&1 || true
  if port_open 5672 && command -v rabbitmqctl >/dev/null; then as_root rabbitmqctl stop >/dev/null 2>&1 && echo "    RabbitMQ stopped" || true; fi
}

case "${1:-up}" in
  up)
    export PATH=$PATH:/usr/sbin
    python_env
    node_env
    rabbitmq
    mongo
    elasticsearch
    prometheus_for_tests
    haproxy_for_tests
    step "All servers are up" ;;
  down) export PATH=$PATH:/usr/sbin; down ;;
  *) echo "usage: $0 [up|down]" >&2; exit 2 ;;
esac
