# Sourced by scripts/bench/*: starts a containerd baseline on its own
# temporary root, state and socket (never the system's), and Berth's stack on
# another, so both run side by side in one benchmark run.
#
#   CONTAINERD_BIN   containerd binary (default /usr/bin/containerd, Debian's 1.6.20)
#   CONTAINERD_SHIM_DIR  directory holding its containerd-shim-runc-v2 (default: the binary's)
#
# start_containerd [BIN [NAME]] starts BIN (default CONTAINERD_BIN) in a
# directory of its own; several can run side by side under different names.
# After it: $CTRD_SOCK, $CTRD_ROOT of the last one started. After
# start_berth BIN [NAME] (NAME default berth): $BERTH_SOCK of the last one.
# Both are stopped and their directories removed on exit.

CONTAINERD_BIN=${CONTAINERD_BIN:-/usr/bin/containerd}

bench_tmp=$(mktemp -d /tmp/berth-bench-XXXXXX)
# Benchmarks work in a namespace of their own on both runtimes.
BENCH_NS=bench$$
bench_pids=()

bench_cleanup() {
  for p in "${bench_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
  done
  # Shims and containers left by either runtime: the processes whose
  # command line names this run's directory, killed one by one.
  for p in $(pgrep -f "$bench_tmp" || true); do
    [[ $p == "$$" ]] || kill -KILL "$p" 2>/dev/null || true
  done
  # containerd's shims keep runc state outside its state dir, per namespace.
  for root in "$bench_tmp"/ctrd*/state/runc/* "$bench_tmp"/berth*/state/runc/* "/run/containerd/runc/$BENCH_NS"; do
    [[ -d $root ]] || continue
    for id in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete -f "$id" 2>/dev/null || true; done
  done
  # Berth's default runtime is crun where installed; bare crun runs too.
  if command -v crun >/dev/null; then
    for root in "$bench_tmp"/berth*/state/crun/* "$bench_tmp"/crun-root; do
      [[ -d $root ]] || continue
      for id in $(crun --root "$root" list -q 2>/dev/null); do crun --root "$root" delete -f "$id" 2>/dev/null || true; done
    done
  fi
  rmdir "/run/containerd/runc/$BENCH_NS" 2>/dev/null || true
  grep -o " $bench_tmp[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT

start_containerd() {
  local bin=${1:-$CONTAINERD_BIN} dir=$bench_tmp/${2:-ctrd} shimdir
  shimdir=${CONTAINERD_SHIM_DIR:-$(dirname "$(readlink -f "$bin")")}
  mkdir -p "$dir"
  cat > "$dir/config.toml" <<TOML
version = 2
# CRI is not measured here and would start CNI machinery.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  level = "warn"
[metrics]
  address = ""
TOML
  PATH=$shimdir:$PATH "$bin" --config "$dir/config.toml" >"$dir/log" 2>&1 &
  bench_pids+=($!)
  CTRD_SOCK=$dir/containerd.sock CTRD_ROOT=$dir/root
  for _ in $(seq 200); do [[ -S $CTRD_SOCK ]] && return 0; sleep 0.05; done
  echo "containerd did not start:" >&2; tail -20 "$dir/log" >&2; return 1
}

start_berth() {
  local bin=$1 dir=$bench_tmp/${2:-berth}
  mkdir -p "$dir"
  BERTH_ROOT=$dir/root BERTH_STATE=$dir/state BERTH_LOG_LEVEL=warn BIN=$bin \
    "$(dirname "${BASH_SOURCE[0]}")/../../up" >/dev/null
  BERTH_SOCK=$dir/state/berth.sock
  for p in "$dir"/state/pids/*.pid; do bench_pids+=("$(cat "$p")"); done
}

# median prints the median of its arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# medianf prints the median of its (decimal) arguments.
medianf() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ratio A B prints A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }
