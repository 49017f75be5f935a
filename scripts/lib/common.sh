# Shared by scripts/test and scripts/demo: tools, dependencies and services, each step saying
# clearly what is missing and how to get it. Source it; do not run it.

PNPM_VERSION=10.34.8
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mpksync: %s\033[0m\n' "$*" >&2; exit 1; }

ensure_node() {
  command -v node >/dev/null 2>&1 || die "Node.js is missing. Install Node.js 20.19 or newer (https://nodejs.org or your distribution's nodejs package)."
  local v
  v="$(node -p 'process.versions.node')"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js $v is too old: pksync needs 20.19 or newer."
}

ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then return; fi
  say "installing pnpm $PNPM_VERSION (npm i -g; corepack cannot verify signatures here)"
  npm i -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || die "could not install pnpm@$PNPM_VERSION with npm. Install it by hand: npm i -g pnpm@$PNPM_VERSION"
  hash -r
}

ensure_deps() {
  say "installing dependencies (pnpm install --frozen-lockfile)"
  (cd "$ROOT" && pnpm install --frozen-lockfile --prefer-offline --reporter=append-only 2>&1 | grep -vE 'gyp info|^\.\.\./' | tail -n 5) \
    || die "pnpm install failed (see above)."
}

# Exports DATABASE_URL / REDIS_URL admin URLs for the local machine: environment first, then the
# local defaults, then Docker (infra/compose.yaml) when an engine answers. Exits with a clear
# message when neither PostgreSQL nor Redis can be found.
find_services() {
  local out
  if ! out="$(cd "$ROOT" && pnpm exec tsx scripts/lib/find-services.ts 2>&1)"; then
    printf '%s\n' "$out" >&2
    exit 1
  fi
  eval "$out"
  say "PostgreSQL: ${PKSYNC_PG_DISPLAY}  Redis: ${PKSYNC_REDIS_DISPLAY}  (${PKSYNC_SERVICES_ORIGIN})"
}

# The directory of PostgreSQL's server binaries (initdb, pg_ctl, postgres), found as
# test/faults/support/postgres.ts finds it; empty when there is none.
pg_server_bin() {
  local d
  for d in "${PKSYNC_PG_BIN:-}" "$(pg_config --bindir 2>/dev/null)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV) \
    "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

# The fault tests (test/faults) start PostgreSQL and Redis servers of their own, to stop, restart
# and wipe them: they need PostgreSQL's server binaries and redis-server/redis-cli. Installed with
# apt when run as root and missing (binaries only: no cluster is created or started); otherwise
# says what is missing (those tests then fail, naming it).
ensure_fault_servers() {
  local need=()
  pg_server_bin >/dev/null || need+=(postgresql-15)
  { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || need+=(redis-server)
  [ "${#need[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need[*]} for the fault tests (test/faults start servers of their own)"
    # Only the binaries: Debian would otherwise create and start a main cluster on 5432.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
      mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
    fi
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}" >/dev/null) \
      || echo "pksync: could not install ${need[*]}: the fault tests (test/faults) will fail until they are installed"
  else
    echo "pksync: the fault tests (test/faults) need ${need[*]} (PostgreSQL server binaries: initdb, pg_ctl, postgres; or set PKSYNC_PG_BIN), which cannot be installed here (needs root and apt-get): they will fail until installed"
  fi
}

# The metrics tests (test/metrics.int.test.ts) run Prometheus' own tools: `promtool check metrics`
# and `check rules`, and a `prometheus` server on loopback. Debian's prometheus package has both;
# installed with apt when run as root and missing (no daemon is started: the test runs its own);
# otherwise those tests are skipped, saying so.
ensure_prometheus() {
  { command -v promtool && command -v prometheus; } >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's prometheus (promtool and the server) for the metrics tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold prometheus >/dev/null) \
      || echo "pksync: could not install prometheus: the metrics tests (test/metrics.int.test.ts) will be skipped"
  else
    echo "pksync: promtool and prometheus are missing and cannot be installed here (needs root and apt-get): the metrics tests (test/metrics.int.test.ts) will be skipped"
  fi
}
