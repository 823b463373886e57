#!/usr/bin/env bash
# Boot Debian's cloud kernels in QEMU (TCG) with a busybox initramfs holding
# the static ironscope binary, run every tests/vm/cases/*.sh inside, and fail
# with the guest's console when a case fails, a guest panics or time runs out.
# Knobs (VMTEST_CASES=execsnoop, ...): tests/vm/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM=$ROOT/tests/vm
OUT=$ROOT/target/vm
CACHE=$OUT/cache
BIN=${IRONSCOPE_BIN:-$ROOT/target/x86_64-unknown-linux-gnu/release/ironscope}

KERNELS=${VMTEST_KERNEL:-6.1 6.12}       # Debian cloud kernel series, booted in turn
TIMEOUT=${VMTEST_TIMEOUT:-540}           # all guests together (not the build), seconds
CASE_TIMEOUT=${VMTEST_CASE_TIMEOUT:-180} # one case script, seconds
# KVM hangs on the dev machine. One TCG thread runs both vCPUs: with a thread
# per vCPU a 6.12 guest once oopsed at boot on a stray int3 (a kernel text
# patch racing the other vCPU), and on 2 busy host cores one thread is faster.
ACCEL=${VMTEST_ACCEL:-tcg,thread=single}

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

# apt-get download PKG into the cache and unpack it to $CACHE/PKG (via a
# temporary name, so an interrupted run never leaves a half-extracted entry).
fetch_deb() {
	local pkg=$1
	[ -d "$CACHE/$pkg" ] && return 0
	say "downloading $pkg"
	rm -f "$CACHE/${pkg}_"*.deb
	(cd "$CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		{ as_root apt-get update -qq && (cd "$CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1); } ||
		die "apt-get download $pkg failed"
	rm -rf "$CACHE/$pkg.tmp"
	dpkg-deb -x "$CACHE/${pkg}_"*.deb "$CACHE/$pkg.tmp"
	mv "$CACHE/$pkg.tmp" "$CACHE/$pkg"
	rm -f "$CACHE/${pkg}_"*.deb
}

# Newest linux-image-<series>.*-cloud-amd64-unsigned apt knows of right now.
newest_kernel_pkg() {
	local re="^linux-image-${1//./\\.}\\.[^ ]*-cloud-amd64-unsigned\$"
	apt-cache search --names-only "$re" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1
}

# Fetch the newest kernel of series $1; print its cache directory.
kernel_dir() {
	local series=$1 pkg old
	pkg=$(newest_kernel_pkg "$series")
	if [ -z "$pkg" ]; then
		as_root apt-get update -qq >&2 || true
		pkg=$(newest_kernel_pkg "$series")
	fi
	if [ -z "$pkg" ]; then
		# Offline: the newest kernel of this series already cached will do.
		pkg=$(cd "$CACHE" && ls -d "linux-image-$series."*-unsigned 2>/dev/null | sort -V | tail -n 1 || true)
		[ -n "$pkg" ] || die "apt offers no linux-image-$series.*-cloud-amd64-unsigned"
		say "apt offers no $series kernel; using cached $pkg"
	fi
	fetch_deb "$pkg" >&2
	# Older kernels of the same series are dead weight once a newer one is cached.
	for old in "$CACHE/linux-image-$series."*-unsigned; do
		[ "$old" = "$CACHE/$pkg" ] || rm -rf "$old"
	done
	echo "$CACHE/$pkg"
}

ensure_packages
fetch_deb busybox-static
BUSYBOX=$CACHE/busybox-static/bin/busybox

# --- the binary under test -----------------------------------------------------

if [ "${VMTEST_BUILD:-1}" != 0 ]; then
	say "cargo build --release --locked --bin ironscope"
	(cd "$ROOT" && cargo build --release --locked --bin ironscope) || die "cargo build failed"
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

# --- helpers and the kernel-independent part of the initramfs ---------------------

HELPERS=$OUT/helpers
mkdir -p "$HELPERS"
for src in "$VM"/helpers/*.c; do
	exe=$HELPERS/$(basename "$src" .c)
	[ "$exe" -nt "$src" ] && continue
	gcc -static -O2 -Wall -Wextra -o "$exe" "$src" || die "building $src failed"
done

# The base tree every guest's initramfs is made from (cases added per guest).
BASE=$OUT/root
rm -rf "$BASE" "$OUT"/guest-*
mkdir -p "$BASE"/{bin,sbin,proc,sys,dev,tmp,mnt,root,vmtest/bin,vmtest/cases}
cp "$BUSYBOX" "$BASE/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$BASE/bin/$applet"
done
ln -s ../bin/busybox "$BASE/sbin/init"
if [ -x "$BIN" ]; then
	cp "$BIN" "$BASE/bin/ironscope"
	for t in "${TOOLS[@]}"; do
		# A tool named like an applet wins: the tool is what is under test.
		[ -L "$BASE/bin/$t" ] && say "note: tool $t shadows busybox's applet"
		ln -sfn ironscope "$BASE/bin/$t"
	done
fi
cp "$HELPERS"/* "$BASE/vmtest/bin/"
cp "$VM/lib.sh" "$BASE/vmtest/lib.sh"
install -m 0755 "$VM/init" "$BASE/init"
cat >"$BASE/vmtest/config" <<CONF
VMT_ONLY="$ONLY"
VMT_CASE_TIMEOUT=$CASE_TIMEOUT
VMT_MODULES="$MODULES"
VMT_SHELL="${VMTEST_SHELL:-}"
CONF

# --- guests: every kernel at once, each kernel's cases split over shards -------

# One TCG thread per guest, so as many guests as cores run side by side.
# A guest idles while a case waits, so a shard or two more than cores can
# still pay; VMTEST_JOBS sets the number of guests at once.
NK=$(wc -w <<<"$KERNELS")
JOBS=${VMTEST_JOBS:-$(nproc)}
[ -n "${VMTEST_SHELL:-}" ] && JOBS=1
SHARDS=$(((JOBS + NK - 1) / NK))
[ "$SHARDS" -ge 1 ] || SHARDS=1
[ "$SHARDS" -le ${#CASES[@]} ] || SHARDS=${#CASES[@]}

# Cases per shard: longest first onto the least loaded shard, by the times
# of the last run (target/vm/times.txt: "case seconds"); unknown cases
# count as 5 s. Prints "shard case" lines.
plan_shards() {
	local f
	for f in "${CASES[@]}"; do basename "$f" .sh; done |
		awk -v shards="$SHARDS" -v times="$OUT/times.txt" '
		BEGIN { while ((getline l < times) > 0) { split(l, w, " "); t[w[1]] += w[2] } }
		{ n++; name[n] = $1; cost[n] = ($1 in t) ? t[$1] : 5 }
		END {
			for (i = 1; i <= n; i++) order[i] = i
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
				if (cost[order[j]] > cost[order[i]]) { x = order[i]; order[i] = order[j]; order[j] = x }
			for (i = 1; i <= n; i++) {
				best = 0
				for (s = 1; s < shards; s++) if (load[s] < load[best]) best = s
				load[best] += cost[order[i]]
				print best, name[order[i]]
			}
		}'
}
SHARD_PLAN=$(plan_shards)

# Module files for one kernel, with their dependencies, into a guest's tree.
stage_modules() {
	local stage=$1 kdir=$2 kver=$3 m line ko need=()
	[ -n "$MODULES" ] || return 0
	local modroot=$kdir/lib/modules/$kver
	# The .deb ships no modules.dep (its postinst makes it); busybox depmod
	# writes one into the cache once, and the guest's modprobe reads a copy.
	[ -f "$modroot/modules.dep" ] || "$BUSYBOX" depmod -b "$kdir" "$kver"
	for m in $MODULES; do
		line=$(grep -E "(^|/)${m//-/[-_]}\.ko(\.xz|\.gz|\.zst)?:" "$modroot/modules.dep" | head -n 1 || true)
		[ -n "$line" ] || { say "module $m not in $kver"; return 1; }
		# shellcheck disable=SC2206 # the line is space-separated paths
		need+=(${line//:/})
	done
	local dst=$stage/lib/modules/$kver
	for ko in $(printf '%s\n' "${need[@]}" | sort -u); do
		mkdir -p "$dst/$(dirname "$ko")"
		# Stored plain (6.12 ships .ko.xz): busybox insmod in the guest may
		# not decompress, and the kernel unpacks nothing by itself here.
		case "$ko" in
		*.xz) "$BUSYBOX" unxz -c "$modroot/$ko" >"$dst/${ko%.xz}" ;;
		*.gz) "$BUSYBOX" gunzip -c "$modroot/$ko" >"$dst/${ko%.gz}" ;;
		*.zst) zstd -q -d -c "$modroot/$ko" >"$dst/${ko%.zst}" || { say "zstd needed for $ko"; return 1; } ;;
		*) cp "$modroot/$ko" "$dst/$ko" ;;
		esac
	done
	sed -E 's/\.ko\.(xz|gz|zst)/.ko/g' "$modroot/modules.dep" >"$dst/modules.dep"
}

# Build guest $1 (series $2, shard $3): its tree, initramfs and disk. Prints
# its case names into $dir/cases.
prepare_guest() {
	local g=$1 series=$2 shard=$3 dir=$OUT/guest-$1 kdir=${KDIRS[$2]} vmlinuz kver name
	mkdir -p "$dir"
	cp -a "$BASE" "$dir/root"
	: >"$dir/cases"
	while read -r s name; do
		[ "$s" = "$shard" ] || continue
		cp "$VM/cases/$name.sh" "$dir/root/vmtest/cases/"
		echo "$name" >>"$dir/cases"
	done <<<"$SHARD_PLAN"
	vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n 1)
	kver=${vmlinuz##*/vmlinuz-}
	echo "$vmlinuz" >"$dir/vmlinuz"
	echo "$kver" >"$dir/kver"
	stage_modules "$dir/root" "$kdir" "$kver" || return 1
	# Uncompressed: the kernel unpacks it faster than it would gunzip under TCG.
	(cd "$dir/root" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$dir/initrd.cpio"
	rm -rf "$dir/root"
	# A fresh ext4 image per guest, so no case sees another run's files. Inode
	# tables and journal are zeroed here, not lazily in the guest, so no kernel
	# thread writes to the disk behind the block tools' backs.
	local seed=$dir/seed
	mkdir -p "$seed"
	echo "ironscope vmtest disk" >"$seed/ironscope-disk"
	truncate -s 256M "$dir/disk.img"
	mkfs.ext4 -q -F -L ironscope -E lazy_itable_init=0,lazy_journal_init=0 -d "$seed" "$dir/disk.img" ||
		{ say "mkfs.ext4 failed"; return 1; }
}

# Boot guest $1 (label $2) within $3 seconds; the console goes to
# $dir/console.log, qemu's status to $dir/qrc, its wall time to $dir/secs.
# Live progress: one line per finished case, with the case's guest time.
boot_guest() {
	local g=$1 label=$2 budget=$3 dir=$OUT/guest-$1 boot qrc
	local qemu=(qemu-system-x86_64 -accel "$ACCEL" -cpu max -m 2G -smp 2 -nographic -no-reboot
		-nic none
		-kernel "$(cat "$dir/vmlinuz")" -initrd "$dir/initrd.cpio"
		-append "console=ttyS0 quiet panic=-1 oops=panic"
		-drive "file=$dir/disk.img,if=none,id=d0,format=raw" -device nvme,serial=ironscope,drive=d0)
	boot=$(date +%s)
	if [ -n "${VMTEST_SHELL:-}" ]; then
		# Interactive: the console is this terminal; a shell follows the cases.
		"${qemu[@]}" || true
		echo 0 >"$dir/qrc"
		echo 0 >"$dir/secs"
		return 0
	fi
	set +e
	# sed -u strips the serial CRs and the firmware's escape codes without
	# buffering, so progress shows live.
	timeout -k 10 "$budget" "${qemu[@]}" </dev/null 2>&1 |
		sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | tee "$dir/console.log" |
		if [ -n "${VMTEST_VERBOSE:-}" ]; then sed -u "s/^/[$label] /"; else
			awk -v label="$label" '
				/^@@IRONSCOPE TIME / { t = sprintf("%6.2fs", $4 / 100); next }
				/^@@IRONSCOPE CASE .* (PASS|FAIL)$/ { printf "[%s] %-4s %s %s\n", label, $4, t, $3; fflush(); next }
				/^@@IRONSCOPE (WARN|BOOT|DONE)/ { print "[" label "] " substr($0, 13); fflush() }'
		fi
	qrc=${PIPESTATUS[0]}
	set -e
	echo "$qrc" >"$dir/qrc"
	echo $(($(date +%s) - boot)) >"$dir/secs"
}

# Judge one guest's console; on failure show the guest's own words.
verdict() {
	local log=$1 qrc=$2 budget=$3 kver=$4 secs=$5 cases_file=$6 problems=() bad_scripts=() name end c s
	local kerr='Kernel panic|BUG:|Oops:|general protection fault|WARNING: CPU:'
	[ "$qrc" -eq 124 ] && problems+=("guest timed out (VMTEST_TIMEOUT budget: ${budget}s)")
	[ "$qrc" -ne 0 ] && [ "$qrc" -ne 124 ] && problems+=("qemu exited with status $qrc")
	grep -qE "$kerr" "$log" && problems+=("kernel error: $(grep -m1 -E "$kerr" "$log")")
	grep -q '^@@IRONSCOPE DONE' "$log" || problems+=("guest did not reach the end of its run")

	local failed_cases
	failed_cases=$(sed -n 's/^@@IRONSCOPE CASE \(.*\) FAIL$/\1/p' "$log")
	for c in $failed_cases; do problems+=("case $c failed"); done
	while read -r name; do
		[ -n "$name" ] || continue
		end=$(sed -n "s/^@@IRONSCOPE SCRIPT $name END rc=//p" "$log")
		if [ -z "$end" ]; then
			grep -q '^@@IRONSCOPE DONE' "$log" && problems+=("script $name never ran")
			continue
		fi
		if [ "$end" != 0 ]; then
			if [ "$end" = 124 ] || [ "$end" = 143 ]; then
				problems+=("script $name timed out after ${CASE_TIMEOUT}s")
			else
				problems+=("script $name exited $end")
			fi
			bad_scripts+=("$name")
		elif ! grep -q "^@@IRONSCOPE CASE $name:.* PASS$" "$log"; then
			problems+=("script $name reported no passing case")
			bad_scripts+=("$name")
		fi
	done <"$cases_file"
	local passed
	passed=$(grep -c '^@@IRONSCOPE CASE .* PASS$' "$log" || true)
	if [ ${#problems[@]} -eq 0 ]; then
		say "PASS: $passed case(s) on $kver in ${secs}s"
		return 0
	fi

	# Each failing case's stretch of the console; a script that broke outside
	# any case, whole; the console's end when the guest itself went wrong
	# (panic, hang, no DONE) or nothing else explains the failure.
	local shown=
	echo "================ guest console ($kver): failing parts ================"
	for c in $failed_cases; do
		echo "---- case $c ----"
		awk -v b="@@IRONSCOPE CASE $c BEGIN" -v e="@@IRONSCOPE CASE $c FAIL" \
			'$0 == b {on = 1} on {print} $0 == e {on = 0}' "$log"
		shown=1
	done
	for s in "${bad_scripts[@]}"; do
		grep -q "^@@IRONSCOPE CASE $s:.* FAIL$" "$log" && continue
		echo "---- script $s ----"
		awk -v b="@@IRONSCOPE SCRIPT $s BEGIN" -v e="@@IRONSCOPE SCRIPT $s END" \
			'$0 == b {on = 1} on {print} index($0, e) == 1 {on = 0}' "$log" | tail -n 150
		shown=1
	done
	if [ -z "$shown" ] || ! grep -q '^@@IRONSCOPE DONE' "$log" || grep -qE "$kerr" "$log"; then
		echo "---- console tail ----"
		tail -n 80 "$log"
	fi
	echo "======================================================================"
	say "full console: $log"
	for c in "${problems[@]}"; do say "FAIL ($kver): $c"; done
	return 1
}

# --- every kernel, within one time budget ---------------------------------------

# Fetch every kernel first: the time budget is for guests, not downloads.
declare -A KDIRS
for series in $KERNELS; do KDIRS[$series]=$(kernel_dir "$series"); done

GUESTS=()
g=0
for series in $KERNELS; do
	for ((shard = 0; shard < SHARDS; shard++)); do
		prepare_guest "$g" "$series" "$shard" || die "preparing the $series guest failed"
		[ -s "$OUT/guest-$g/cases" ] && GUESTS+=("$g:$series:$shard")
		g=$((g + 1))
	done
done
say "${#GUESTS[@]} guest(s) at once ($NK kernel(s) x $SHARDS shard(s)), ${TIMEOUT}s budget, ${#CASES[@]} case script(s)"

GUEST_START=$(date +%s)
pids=()
for spec in "${GUESTS[@]}"; do
	IFS=: read -r g series shard <<<"$spec"
	label=$series
	[ "$SHARDS" -gt 1 ] && label=$series/$shard
	boot_guest "$g" "$label" "$TIMEOUT" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
WALL=$(($(date +%s) - GUEST_START))

FAILED=
: >"$OUT/times.new"
for spec in "${GUESTS[@]}"; do
	IFS=: read -r g series shard <<<"$spec"
	dir=$OUT/guest-$g
	log=$OUT/console-$series.log
	[ "$SHARDS" -gt 1 ] && log=$OUT/console-$series-$shard.log
	mv "$dir/console.log" "$log" 2>/dev/null || : >"$log"
	verdict "$log" "$(cat "$dir/qrc" 2>/dev/null || echo 1)" "$TIMEOUT" "$(cat "$dir/kver")" \
		"$(cat "$dir/secs" 2>/dev/null || echo 0)" "$dir/cases" || FAILED=1
	# Per case script: its guest seconds, for the next run's shard plan.
	awk -v s="$series" '/^@@IRONSCOPE TIME / { split($3, c, ":"); t[c[1]] += $4 / 100 }
		END { for (k in t) printf "%s %s %.2f\n", s, k, t[k] }' "$log" >>"$OUT/times.new"
done

# Guest time per kernel, and the slowest scripts: where the budget goes.
for series in $KERNELS; do
	awk -v s="$series" '$1 == s { n++; sum += $3 } END { printf "vmtest: %s: %d script(s), %.0fs of case time\n", s, n, sum }' "$OUT/times.new" >&2
done
sort -k3,3nr "$OUT/times.new" | head -n 8 | awk '{ printf "vmtest:   slowest: %-6s %-16s %6.1fs\n", $1, $2, $3 }' >&2
# The plan for next time: a script's cost is its sum over kernels.
if [ -z "$ONLY" ]; then
	awk '{ t[$2] += $3 } END { for (k in t) printf "%s %.2f\n", k, t[k] }' "$OUT/times.new" | sort >"$OUT/times.txt"
fi
say "$([ -z "$FAILED" ] && echo PASS || echo FAIL): kernels $KERNELS; guests ${WALL}s wall, total $(($(date +%s) - START))s"
[ -z "$FAILED" ]
