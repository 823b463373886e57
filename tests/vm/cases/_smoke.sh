# The VM itself: what every tool case relies on. Not a tool (the leading
# underscore sorts it first and matches no tool name).
. /vmtest/lib.sh

smoke() {
	[ -r /sys/kernel/btf/vmlinux ] || fail "no /sys/kernel/btf/vmlinux"
	# Tools are tested on mounting tracefs themselves; the VM must not do it.
	grep -q ' /sys/kernel/tracing ' /proc/mounts && fail "tracefs already mounted"
	grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || fail "cgroup2 not mounted"
	grep -q '^/dev/nvme0n1 /mnt ext4 ' /proc/mounts || fail "nvme ext4 not on /mnt"
	[ -f /mnt/ironscope-disk ] || fail "seed file missing on /mnt"
	ip addr show lo | grep -q 'inet 127.0.0.1' || fail "loopback down"
	# Exec targets must be real programs, not busybox applets.
	out=$(vmt-true a b) || fail "vmt-true did not run"
	[ -n "$(pid_of "$out")" ] || fail "vmt-true printed no pid: $out"
	if [ -x /bin/ironscope ]; then
		ironscope --list >"$OUT" 2>"$ERR" || fail "ironscope --list failed"
		[ -s "$OUT" ] || fail "ironscope --list printed nothing"
	fi
}

run_case env smoke
