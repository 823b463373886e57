#!/usr/bin/env bash
# Boot Debian's cloud kernel in QEMU (TCG) with a busybox initramfs holding the
# static ironscope binary, run every tests/vm/cases/*.sh inside, and fail with
# the guest's console when a case fails, the guest panics or time runs out.
# See tests/vm/README.md for the knobs (VMTEST_CASES=execsnoop, ...).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM=$ROOT/tests/vm
OUT=$ROOT/target/vm
CACHE=$OUT/cache
BIN=${IRONSCOPE_BIN:-$ROOT/target/x86_64-unknown-linux-gnu/release/ironscope}

KERNEL_SERIES=${VMTEST_KERNEL:-6.1}     # Debian cloud kernel series: 6.1 or 6.12
TIMEOUT=${VMTEST_TIMEOUT:-540}          # whole guest run, seconds (< 10 min)
CASE_TIMEOUT=${VMTEST_CASE_TIMEOUT:-180} # one case script, seconds
ACCEL=${VMTEST_ACCEL:-tcg}              # KVM hangs on the dev machine

say() { echo "vmtest: $*" >&2; }
die() { say "error: $*"; exit 2; }

START=$(date +%s)
mkdir -p "$CACHE"
# One run at a time per tree: runs share the staging dir and the disk image.
exec 9>"$OUT/.lock"
flock 9

# --- host packages -----------------------------------------------------------

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
	local missing=() pair cmd pkg
	for pair in qemu-system-x86_64:qemu-system-x86 cpio:cpio mkfs.ext4:e2fsprogs \
		gcc:gcc readelf:binutils dpkg-deb:dpkg flock:util-linux timeout:coreutils; do
		cmd=${pair%%:*} pkg=${pair#*:}
		command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
	done
	# gcc -static needs glibc's static archive.
	[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		{ as_root apt-get update -qq && as_root apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
		die "apt-get install ${missing[*]} failed"
}

# apt-get download into DIR, then unpack the .deb into DIR/PKG (atomically,
# so an interrupted run never leaves a half-extracted cache entry).
fetch_deb() {
	local pkg=$1 dir=$2
	[ -d "$dir/$pkg" ] && return 0
	say "downloading $pkg"
	rm -f "$dir/${pkg}_"*.deb
	(cd "$dir" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		{ as_root apt-get update -qq && (cd "$dir" && apt-get download -q "$pkg" >/dev/null 2>&1); } ||
		die "apt-get download $pkg failed"
	rm -rf "$dir/$pkg.tmp"
	dpkg-deb -x "$dir/${pkg}_"*.deb "$dir/$pkg.tmp"
	mv "$dir/$pkg.tmp" "$dir/$pkg"
	rm -f "$dir/${pkg}_"*.deb
}

# Newest linux-image-<series>.*-cloud-amd64-unsigned apt knows of right now.
newest_kernel_pkg() {
	local re="^linux-image-${KERNEL_SERIES//./\\.}\\.[^ ]*-cloud-amd64-unsigned\$"
	apt-cache search --names-only "$re" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1
}

ensure_packages

KPKG=$(newest_kernel_pkg)
if [ -z "$KPKG" ]; then
	as_root apt-get update -qq || true
	KPKG=$(newest_kernel_pkg)
fi
if [ -z "$KPKG" ]; then
	# Offline: fall back to the newest kernel of this series already cached.
	KPKG=$(cd "$CACHE" && ls -d "linux-image-$KERNEL_SERIES."*-unsigned 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$KPKG" ] || die "apt offers no linux-image-$KERNEL_SERIES.*-cloud-amd64-unsigned"
	say "apt offers no kernel; using cached $KPKG"
fi
fetch_deb "$KPKG" "$CACHE"
# Older kernels of the same series are dead weight once a newer one is cached.
for old in "$CACHE/linux-image-$KERNEL_SERIES."*-unsigned; do
	[ "$old" = "$CACHE/$KPKG" ] || rm -rf "$old"
done
KDIR=$CACHE/$KPKG
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -n 1)
KVER=${VMLINUZ##*/vmlinuz-}

fetch_deb busybox-static "$CACHE"
BUSYBOX=$CACHE/busybox-static/bin/busybox

# --- the binary under test -----------------------------------------------------

if [ "${VMTEST_BUILD:-1}" != 0 ]; then
	say "cargo build --release --bin ironscope"
	(cd "$ROOT" && cargo build --release --bin ironscope) || die "cargo build failed"
fi
TOOLS=() PRIMARY=()
if [ -x "$BIN" ]; then
	# The guest has no libc: a dynamic binary would die there with a confusing ENOENT.
	if readelf -l "$BIN" | grep -q 'Requesting program interpreter'; then
		die "$BIN is dynamically linked; the VM needs a static binary"
	fi
	LIST=$("$BIN" --list) || die "$BIN --list failed"
	mapfile -t TOOLS < <(awk 'NF {print $1}' <<<"$LIST")
	mapfile -t PRIMARY < <(awk 'NF && !/ alias of / {print $1}' <<<"$LIST")
	[ ${#TOOLS[@]} -gt 0 ] || die "$BIN --list printed no tools"
else
	say "warning: no $BIN (VMTEST_BUILD=0?); only cases needing no binary can pass"
fi

# --- case selection ------------------------------------------------------------

# VMTEST_CASES: words "tool" or "tool:hook", separated by spaces or commas.
ONLY=${VMTEST_CASES:-}
ONLY=${ONLY//,/ }
CASES=()
if [ -n "$ONLY" ]; then
	for w in $ONLY; do
		f=$VM/cases/${w%%:*}.sh
		[ -f "$f" ] || die "no case file $f (from VMTEST_CASES=$VMTEST_CASES)"
		case " ${CASES[*]-} " in *" $f "*) ;; *) CASES+=("$f") ;; esac
	done
else
	CASES=("$VM"/cases/*.sh)
	# Every tool the binary lists needs a case ("alias of X" lines ride on X's).
	uncovered=()
	for t in "${PRIMARY[@]}"; do
		[ -f "$VM/cases/$t.sh" ] || uncovered+=("$t")
	done
	[ ${#uncovered[@]} -eq 0 ] ||
		die "tools without a VM case (add tests/vm/cases/<tool>.sh): ${uncovered[*]}"
fi
CASE_NAMES=()
for f in "${CASES[@]}"; do CASE_NAMES+=("$(basename "$f" .sh)"); done

# Kernel modules cases ask for with "# vmtest-modules: name...".
MODULES=$(sed -n 's/^# vmtest-modules://p' "${CASES[@]}" | tr '\n' ' ' | xargs -r echo)

# --- helpers, initramfs, disk ----------------------------------------------------

HELPERS=$OUT/helpers
mkdir -p "$HELPERS"
for src in "$VM"/helpers/*.c; do
	exe=$HELPERS/$(basename "$src" .c)
	[ "$exe" -nt "$src" ] && continue
	gcc -static -O2 -Wall -Wextra -o "$exe" "$src" || die "building $src failed"
done

STAGE=$OUT/root
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,sbin,proc,sys,dev,tmp,mnt,root,vmtest/bin,vmtest/cases}
cp "$BUSYBOX" "$STAGE/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$STAGE/bin/$applet"
done
ln -s ../bin/busybox "$STAGE/sbin/init"
if [ -x "$BIN" ]; then
	cp "$BIN" "$STAGE/bin/ironscope"
	for t in "${TOOLS[@]}"; do
		# A tool named like an applet wins: the tool is what is under test.
		[ -L "$STAGE/bin/$t" ] && say "note: tool $t shadows busybox's applet"
		ln -sfn ironscope "$STAGE/bin/$t"
	done
fi
cp "$HELPERS"/* "$STAGE/vmtest/bin/"
cp "$VM/lib.sh" "$STAGE/vmtest/lib.sh"
cp "${CASES[@]}" "$STAGE/vmtest/cases/"
install -m 0755 "$VM/init" "$STAGE/init"

if [ -n "$MODULES" ]; then
	# busybox depmod writes modules.dep into the cached tree once; the guest's
	# modprobe resolves dependencies from the copy below.
	MODROOT=$KDIR/lib/modules/$KVER
	[ -f "$MODROOT/modules.dep" ] || "$BUSYBOX" depmod -b "$KDIR" "$KVER"
	need=()
	for m in $MODULES; do
		line=$(grep -E "(^|/)${m//-/[-_]}\.ko:" "$MODROOT/modules.dep" | head -n 1 || true)
		[ -n "$line" ] || die "module $m not in $KPKG"
		need+=(${line//:/})
	done
	for ko in $(printf '%s\n' "${need[@]}" | sort -u); do
		mkdir -p "$STAGE/lib/modules/$KVER/$(dirname "$ko")"
		cp "$MODROOT/$ko" "$STAGE/lib/modules/$KVER/$ko"
	done
	cp "$MODROOT/modules.dep" "$STAGE/lib/modules/$KVER/"
fi

cat >"$STAGE/vmtest/config" <<EOF
VMT_ONLY="$ONLY"
VMT_CASE_TIMEOUT=$CASE_TIMEOUT
VMT_MODULES="$MODULES"
VMT_SHELL="${VMTEST_SHELL:-}"
EOF

# Uncompressed: the kernel unpacks it faster than it would gunzip under TCG.
INITRD=$OUT/initrd.cpio
(cd "$STAGE" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$INITRD"

# A fresh ext4 image each run, so no case sees another run's files. Inode
# tables and journal are zeroed here, not lazily in the guest, so no kernel
# thread writes to the disk behind the block tools' backs.
SEED=$OUT/seed
rm -rf "$SEED" && mkdir -p "$SEED"
echo "ironscope vmtest disk" >"$SEED/ironscope-disk"
DISK=$OUT/disk.img
rm -f "$DISK"
truncate -s 256M "$DISK"
mkfs.ext4 -q -F -L ironscope -E lazy_itable_init=0,lazy_journal_init=0 -d "$SEED" "$DISK" ||
	die "mkfs.ext4 failed"

# --- boot ------------------------------------------------------------------------

LOG=$OUT/console.log
QEMU=(qemu-system-x86_64 -accel "$ACCEL" -cpu max -m 2G -smp 2 -nographic -no-reboot
	-nic none
	-kernel "$VMLINUZ" -initrd "$INITRD"
	-append "console=ttyS0 quiet panic=-1 oops=panic"
	-drive "file=$DISK,if=none,id=d0,format=raw" -device nvme,serial=ironscope,drive=d0)

say "booting $KVER with ${#CASE_NAMES[@]} case script(s): ${CASE_NAMES[*]}"
BOOT=$(date +%s)
if [ -n "${VMTEST_SHELL:-}" ]; then
	# Interactive: the console is this terminal; a shell follows the cases.
	"${QEMU[@]}"
	exit $?
fi
set +e
# sed -u strips the serial CRs without buffering, so progress shows live.
timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 | sed -u 's/\r$//' | tee "$LOG" |
	if [ -n "${VMTEST_VERBOSE:-}" ]; then cat; else grep --line-buffered -E '^@@IRONSCOPE (CASE .* (PASS|FAIL)|WARN|BOOT|DONE)'; fi
QRC=${PIPESTATUS[0]}
set -e
GUEST_SECS=$(($(date +%s) - BOOT))

# --- verdict ---------------------------------------------------------------------

problems=()
[ "$QRC" -eq 124 ] && problems+=("guest timed out after ${TIMEOUT}s (VMTEST_TIMEOUT)")
[ "$QRC" -ne 0 ] && [ "$QRC" -ne 124 ] && problems+=("qemu exited with status $QRC")
grep -q 'Kernel panic' "$LOG" && problems+=("kernel panic")
grep -qE '(^|\] )(BUG:|Oops:|general protection fault|WARNING: CPU:)' "$LOG" &&
	problems+=("kernel error: $(grep -m1 -E 'BUG:|Oops:|general protection fault|WARNING: CPU:' "$LOG")")
grep -q '^@@IRONSCOPE DONE' "$LOG" || problems+=("guest did not reach the end of its run")

failed_cases=$(sed -n 's/^@@IRONSCOPE CASE \(.*\) FAIL$/\1/p' "$LOG")
for c in $failed_cases; do problems+=("case $c failed"); done
bad_scripts=()
for name in "${CASE_NAMES[@]}"; do
	end=$(sed -n "s/^@@IRONSCOPE SCRIPT $name END rc=//p" "$LOG")
	if [ -z "$end" ]; then
		grep -q "^@@IRONSCOPE DONE" "$LOG" && problems+=("script $name never ran")
		continue
	fi
	if [ "$end" != 0 ]; then
		[ "$end" = 124 ] && problems+=("script $name timed out after ${CASE_TIMEOUT}s") ||
			problems+=("script $name exited $end")
		bad_scripts+=("$name")
	elif ! grep -q "^@@IRONSCOPE CASE $name:.* PASS$" "$LOG"; then
		problems+=("script $name reported no passing case")
		bad_scripts+=("$name")
	fi
done
passed=$(grep -c '^@@IRONSCOPE CASE .* PASS$' "$LOG" || true)

if [ ${#problems[@]} -eq 0 ]; then
	say "PASS: $passed case(s) on $KVER; guest ${GUEST_SECS}s, total $(($(date +%s) - START))s"
	exit 0
fi

# Show the guest's own words: each failing case's stretch of the console,
# each broken script's, then the console's end (where panics and hangs show).
echo "================ guest console: failing parts ================"
for c in $failed_cases; do
	echo "---- case $c ----"
	awk -v b="@@IRONSCOPE CASE $c BEGIN" -v e="@@IRONSCOPE CASE $c FAIL" \
		'$0 == b {on = 1} on {print} $0 == e {on = 0}' "$LOG"
done
for s in "${bad_scripts[@]}"; do
	echo "---- script $s ----"
	awk -v b="@@IRONSCOPE SCRIPT $s BEGIN" -v e="@@IRONSCOPE SCRIPT $s END" \
		'$0 == b {on = 1} on {print} index($0, e) == 1 {on = 0}' "$LOG" | tail -n 120
done
echo "---- console tail ----"
tail -n 60 "$LOG"
echo "==============================================================="
say "full console: $LOG"
for p in "${problems[@]}"; do say "FAIL: $p"; done
exit 1
