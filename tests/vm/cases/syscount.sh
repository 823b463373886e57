# syscount in the VM: exact counts of a syscall nothing else makes in a
# loop (vmt-syscalls), per process, per pid, failed only and by errno, with
# latency, on each hook it has (BTF-typed raw_syscalls tracepoints first,
# the classic ones as fallback; both are "tracepoint").
. /vmtest/lib.sh

HOOKS="tracepoint auto"

# -P with --syscall: the helper's own row holds exactly its calls.
check() {
	tool_start --json -P --syscall getppid -T 1000 --attach "$1"
	out=$(vmt-syscalls 1234) || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tool_stop
	expect_line "$OUT" "{\"comm\":\"vmt-syscalls\",\"count\":1234,\"pid\":$pid}"
}

# -p on a pid that waits before its calls; a second helper is not counted.
pid_filter() {
	rm -f /tmp/sc-go
	vmt-syscalls -w /tmp/sc-go 500 >"$WORK/helper.out" &
	hpid=$!
	i=0
	while [ -z "$(pid_of "$(cat "$WORK/helper.out")")" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(pid_of "$(cat "$WORK/helper.out")")" = "$hpid" ] || fail "helper pid unknown"
	tool_start --json -p "$hpid" -T 100
	vmt-syscalls 77 >/dev/null || fail "second helper failed"
	touch /tmp/sc-go
	wait "$hpid" || fail "waiting helper failed"
	tool_stop
	expect_line "$OUT" '{"count":500,"nr":110,"syscall":"getppid"}'
	expect_no_line "$OUT" '"count":577,'
}

# -x and -e: 42 failing getpgid calls (ESRCH) next to 100 good getppid ones.
failures() {
	tool_start --json -P -x -T 1000
	good=$(vmt-syscalls 100) || fail "workload failed"
	bad=$(vmt-syscalls -f 42) || fail "workload failed"
	tool_stop
	expect_line "$OUT" "\"count\":42,\"pid\":$(pid_of "$bad")}"
	expect_no_line "$OUT" "\"pid\":$(pid_of "$good")}"

	tool_start --json --syscall getpgid -e ESRCH -P -T 1000
	bad=$(vmt-syscalls -f 42) || fail "workload failed"
	tool_stop
	expect_line "$OUT" "\"count\":42,\"pid\":$(pid_of "$bad")}"
}

# -L: the table's latency column for the helper's calls.
latency() {
	rm -f /tmp/sc-go2
	vmt-syscalls -w /tmp/sc-go2 300 >"$WORK/helper.out" &
	hpid=$!

	tool_start -L -p "$hpid" --syscall getppid
	touch /tmp/sc-go2
	wait "$hpid" || fail "helper failed"
	tool_stop
	expect_line_re "$OUT" '^SYSCALL +COUNT +TIME \(us\)$'
	expect_line_re "$OUT" '^getppid +300 +[0-9]+\.[0-9]{3}$'
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case pid-filter pid_filter
run_case failures failures
run_case latency latency
run_case fentry-refused refuses fentry
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
