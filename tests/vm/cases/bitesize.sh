# bitesize in the VM: O_DIRECT I/O of a known size on the NVMe disk lands in
# that size's bucket under the issuing command's name.
. /vmtest/lib.sh

HOOKS="tracepoint auto"
F=/mnt/vmt-bitesize

check() {
	vmt-open -c -t -d -w 65536 "$F" >/dev/null || fail "warm-up write failed"
	tool_start --json -d nvme0n1 --attach "$1"
	# Three 64 KiB writes and three 64 KiB reads: six in 64 -> 127 Kbytes.
	out=$(vmt-open -c -t -d -w 196608 -r "$F") || fail "workload failed: $out"
	tool_stop
	expect_count "$OUT" 1 '"comm":"vmt-open"' '{"count":6,"high":127,"low":64}' '"unit":"kbytes"'
	rm -f "$F"
}

# -c COMM and the table.
table() {
	vmt-open -c -t -d -w 65536 "$F" >/dev/null || fail "warm-up write failed"
	tool_start -c vmt-open -d nvme0n1
	vmt-open -c -t -d -w 65536 "$F" >/dev/null || fail "workload failed"
	tool_stop
	expect_count "$OUT" 1 'Process Name = vmt-open'
	expect_no_line "$OUT" 'Process Name = ' 'jbd2'
	expect_line_re "$OUT" '^ +64 -> 127 +: 1 '
	rm -f "$F"
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case table table
run_case fentry-refused refuses fentry
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
