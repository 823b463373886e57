# fsslower in the VM, called as ext4slower (the alias picks ext4): every
# operation (-m 0) of a known workload on the NVMe ext4 at /mnt, exact op
# types, byte counts and offsets, on each hook kind; operations on tmpfs
# (/tmp) must not appear.
TOOL=ext4slower
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

check() {
	file_=fss-$1
	tool_start --json -m 0 --attach "$1"
	# open(O_CREAT|O_TRUNC), write 12288, fsync, read back: read(64K) gets
	# 12288 at offset 0, then 0 bytes at EOF (offset 12288).
	out=$(vmt-open -c -t -w 12288 -s -r "/mnt/$file_") || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tmp=$(vmt-open -c -t -w 4096 -s "/tmp/$file_") || fail "tmpfs workload failed: $tmp"
	tool_stop

	expect_count "$OUT" 1 "\"file\":\"$file_\"" "\"pid\":$pid," '"op":"open"' '"fs":"ext4"'
	expect_count "$OUT" 1 "\"file\":\"$file_\"" "\"pid\":$pid," '"op":"write"' '"bytes":12288,' '"offset":0,'
	expect_count "$OUT" 1 "\"file\":\"$file_\"" "\"pid\":$pid," '"op":"fsync"'
	expect_count "$OUT" 1 "\"file\":\"$file_\"" "\"pid\":$pid," '"op":"read"' '"bytes":12288,' '"offset":0,'
	expect_count "$OUT" 1 "\"file\":\"$file_\"" "\"pid\":$pid," '"op":"read"' '"bytes":0,' '"offset":12288,'
	expect_count "$OUT" 5 "\"file\":\"$file_\""
	# The same file name on tmpfs, from another pid: not ext4.
	expect_no_line "$OUT" "\"pid\":$(pid_of "$tmp"),"
}

# The table and bcc's positional threshold: 0 = every operation.
table() {
	tool_start 0
	out=$(vmt-open -c -t -w 8192 "/mnt/fss-table") || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tool_stop
	expect_line_re "$OUT" '^Tracing ext4 operations$'
	expect_line_re "$OUT" '^TIME +COMM +PID +T BYTES +OFF_KB +LAT\(ms\) FILENAME$'
	expect_line_re "$OUT" "^[0-9:]{8} vmt-open +$pid +W 8192 +0 +[0-9.]+ fss-table\$"
}

# A threshold no quick operation reaches: nothing of the workload shows.
threshold() {
	tool_start --json 5000
	out=$(vmt-open -c -t -w 4096 "/mnt/fss-thr") || fail "workload failed: $out"
	tool_stop
	expect_no_line "$OUT" '"file":"fss-thr"'
}

# --verbose names the hook the plan chose.
verbose() {
	tool_start --verbose -m 0 --attach "$1"
	tool_stop
	expect_line_re "$ERR" "using $1: "
}

run_hooks check
run_case table table
run_case threshold threshold
run_case verbose-fentry verbose fentry
run_case verbose-tracepoint verbose tracepoint
[ -z "$CASE_FAILED" ]
