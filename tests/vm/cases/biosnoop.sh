# biosnoop in the VM: O_DIRECT writes and reads of known size on the NVMe
# disk (ext4 on /mnt), each request with its issuer, op, size and disk.
. /vmtest/lib.sh

HOOKS="tracepoint auto"
F=/mnt/vmt-biosnoop

# A first direct write caches the block group's bitmap, so the measured
# one does no metadata read of its own.
warm() {
	vmt-open -c -t -d -w 65536 "$F" >/dev/null || fail "warm-up write failed"
}

check() {
	warm
	tool_start --json -Q -d nvme0n1 --attach "$1"
	# One 16 KiB O_DIRECT write, then one 16 KiB O_DIRECT read of it.
	out=$(vmt-open -c -t -d -w 16384 -r "$F") || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tool_stop
	expect_count "$OUT" 1 "\"pid\":$pid," '"op":"write"' '"bytes":16384,' \
		'"disk":"nvme0n1"' '"comm":"vmt-open"' '"que_ms":'
	expect_count "$OUT" 1 "\"pid\":$pid," '"op":"read"' '"bytes":16384,' \
		'"disk":"nvme0n1"' '"comm":"vmt-open"'
	# O_DIRECT writes are sync (S); reads carry no flags.
	expect_line "$OUT" "\"pid\":$pid," '"rwbs":"WS"' '"flags":["sync","idle"]'
	expect_line "$OUT" "\"pid\":$pid," '"rwbs":"R"' '"op":"read"'
	rm -f "$F"
}

# The table: header and the write's row.
table() {
	warm
	tool_start -d nvme0n1
	out=$(vmt-open -c -t -d -w 16384 "$F") || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tool_stop
	expect_line_re "$OUT" '^TIME\(s\) +COMM +PID +DISK +T +SECTOR +BYTES +LAT\(ms\)$'
	expect_line_re "$OUT" "^[0-9]+\.[0-9]+ +vmt-open +$pid +nvme0n1 +W[A-Z]* +[0-9]+ +16384 +[0-9]+\.[0-9]+\$"
	rm -f "$F"
}

# -p: only the named issuer's requests, though others write too.
pid_filter() {
	warm
	rm -f /tmp/gate
	mkfifo /tmp/gate || fail "mkfifo failed"
	# The shell execs vmt-open once the gate opens, keeping its pid.
	sh -c "read x </tmp/gate; exec vmt-open -c -t -d -w 16384 $F.p" >/dev/null &
	pid=$!
	tool_start --json -p "$pid"
	vmt-open -c -t -d -w 16384 "$F" >/dev/null || fail "other writer failed"
	echo go >/tmp/gate
	wait "$pid" || fail "workload failed"
	tool_stop
	expect_count "$OUT" 1 "\"pid\":$pid," '"op":"write"' '"bytes":16384,'
	[ "$(count_lines "$OUT" '"op"')" -eq "$(count_lines "$OUT" "\"pid\":$pid,")" ] ||
		fail "events from other pids with -p $pid"
	rm -f "$F" "$F.p" /tmp/gate
}

# Where the issuer is recorded: block_io_start from 6.5, else queue insert.
plan() {
	tool_run --verbose --duration 1
	case "$(uname -r)" in
	6.[0-4].* | 5.*) want="block_rq_insert" ;;
	*) want="block_io_start" ;;
	esac
	expect_line "$ERR" "biosnoop: using tracepoint: tp_btf $want,"
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case table table
run_case pid-filter pid_filter
run_case plan plan
run_case fentry-refused refuses fentry
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
