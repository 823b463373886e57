# fsdist in the VM, called as ext4dist: exact operation counts from a known
# workload on the NVMe ext4 at /mnt, on each hook kind; tmpfs operations
# (/tmp) are not counted.
TOOL=ext4dist
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

check() {
	tool_start --json --comm vmt-open --attach "$1"
	for i in 1 2 3; do
		out=$(vmt-open -c -t -w 4096 -s "/mnt/fsd-$1-$i") || fail "workload failed: $out"
	done
	for i in 1 2; do
		out=$(vmt-open -c -t -w 4096 -s "/tmp/fsd-$1-$i") || fail "tmpfs workload failed: $out"
	done
	tool_stop
	expect_count "$OUT" 1 '"operation":"open"' '"count":3,' '"unit":"usecs"' '"fs":"ext4"'
	expect_count "$OUT" 1 '"operation":"write"' '"count":3,'
	expect_count "$OUT" 1 '"operation":"fsync"' '"count":3,'
	expect_no_line "$OUT" '"operation":"read"'
}

# bcc's table: one histogram per operation, milliseconds with -m.
table() {
	tool_start -m --comm vmt-open
	out=$(vmt-open -c -t -w 4096 -s "/mnt/fsd-table") || fail "workload failed: $out"
	tool_stop
	expect_line_re "$OUT" '^Tracing ext4 operation latency\.\.\. Hit Ctrl-C to end\.$'
	expect_line_re "$OUT" "^operation = 'fsync'\$"
	expect_line_re "$OUT" '^ +msecs +: count +distribution$'
}

run_hooks check
run_case table table
[ -z "$CASE_FAILED" ]
