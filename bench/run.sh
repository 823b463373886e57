#!/usr/bin/env bash
# ironscope's benchmarks (make bench): installs the comparison tools when
# missing (Debian's libbpf-tools and bpftrace), builds the workload
# generators, then runs the harness, which writes docs/BENCHMARKS.md.
#
#   bash bench/run.sh                      # everything, ~10-15 minutes
#   bash bench/run.sh --tools opensnoop    # one tool
#   bash bench/run.sh --smoke --out F.md   # seconds: one short round of
#                                          # execsnoop, nothing installed
# Other options: bench/run.sh --help. Run as root on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
BIN_DIR=${BENCH_BIN_DIR:-target/$TARGET/release}
WL_DIR=target/bench/bin
smoke=0
have_out=0
for a in "$@"; do
	case "$a" in
	--smoke) smoke=1 ;;
	--out | --out=*) have_out=1 ;;
	-h | --help) exec python3 bench/harness/bench.py --help ;;
	esac
done

need_pkgs() {
	local missing=""
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "bench: installing:$missing" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
	fi
}

# The smoke runs in CI: it compares with what is installed and installs only
# what the harness itself needs.
need_pkgs python3 bpftool gcc libc6-dev util-linux
if [ "$smoke" = 0 ]; then
	need_pkgs libbpf-tools bpftrace
fi
for t in gcc python3 bpftool losetup; do
	command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 1; }
done

# Workload generators: rebuilt when a source is newer than the binary.
mkdir -p "$WL_DIR"
for src in bench/workloads/*.c; do
	bin="$WL_DIR/$(basename "$src" .c)"
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ bench/workloads/wl.h -nt "$bin" ]; then
		gcc -O2 -Wall -Wextra -Werror -o "$bin" "$src"
	fi
done

extra=()
if [ "$have_out" = 0 ]; then
	extra+=(--out docs/BENCHMARKS.md --json target/bench/results.json)
fi
cmd="make bench"
[ $# -gt 0 ] && cmd="bash bench/run.sh $*"
exec python3 bench/harness/bench.py --bin-dir "$BIN_DIR" --wl-dir "$WL_DIR" \
	--command "$cmd" "${extra[@]}" "$@"
