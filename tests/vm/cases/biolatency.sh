# biolatency in the VM: a known number of O_DIRECT writes and reads on the
# NVMe disk, counted in the per-flags histograms of that disk.
. /vmtest/lib.sh

HOOKS="tracepoint auto"
F=/mnt/vmt-biolatency

check() {
	vmt-open -c -t -d -w 65536 "$F" >/dev/null || fail "warm-up write failed"
	tool_start --json -F -D -d nvme0n1 --comm vmt-open --attach "$1"
	# Three 64 KiB O_DIRECT writes (one per write call), then three reads.
	out=$(vmt-open -c -t -d -w 196608 -r "$F") || fail "workload failed: $out"
	tool_stop
	expect_count "$OUT" 1 '],"count":3,"disk":"nvme0n1"' 'Write","total":' '"unit":"usecs"'
	expect_count "$OUT" 1 '],"count":3,"disk":"nvme0n1"' 'Read","total":' '"unit":"usecs"'
	rm -f "$F"
}

# The table with -m and an interval count: ends on its own.
table() {
	tool_run -m -D 1 2
	expect_line "$OUT" 'Tracing block device I/O... Hit Ctrl-C to end.'
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case table table
run_case fentry-refused refuses fentry
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
