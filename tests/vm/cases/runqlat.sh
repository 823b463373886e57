# runqlat in the VM: a process that sleeps and wakes a known number of times
# behind busy processes on CPU 0 has that many waits; an idle one has none.
. /vmtest/lib.sh

HOOKS="tracepoint auto"
N=100

# Start vmt-sched held at a gate; its pid in $pid.
held_workload() {
	rm -f /tmp/gate
	mkfifo /tmp/gate || fail "mkfifo failed"
	vmt-sched -g /tmp/gate -s 2 "$N" 1000 >/dev/null &
	pid=$!
}

release_workload() {
	echo go >/tmp/gate
	wait "$pid" || fail "vmt-sched failed"
	rm -f /tmp/gate
}

check() {
	held_workload
	tool_start --json -p "$pid" --attach "$1"
	release_workload
	tool_stop
	expect_count "$OUT" 1 '"unit":"usecs"'
	n=$(sed -n 's/.*],"count":\([0-9]*\),.*/\1/p' "$OUT")
	# A wake-up that comes before the sleeper has left the CPU costs no
	# switch, so not every sleep is a wait; most are.
	[ -n "$n" ] && [ "$n" -ge $((N / 2)) ] || fail "$n waits counted, want at least $((N / 2))"
}

# -p of an idle process: no histogram while others wait.
idle() {
	sleep 1000 &
	idle_pid=$!
	tool_start --json -p "$idle_pid"
	vmt-sched -s 2 "$N" 1000 >/dev/null || fail "vmt-sched failed"
	tool_stop
	kill "$idle_pid"
	wait "$idle_pid" 2>/dev/null
	[ ! -s "$OUT" ] || fail "histogram for an idle process"
}

# -P: the workload's own section, in the table.
per_process() {
	held_workload
	tool_start -P
	release_workload
	tool_stop
	expect_line_re "$OUT" "^pid = $pid vmt-sched\$"
	expect_line "$OUT" 'usecs' 'count     distribution'
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case idle idle
run_case per-process per_process
run_case fentry-refused refuses fentry
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
