# funccount in the VM: exact call counts of one pid, on every hook kind the
# guest kernel has: kernel functions by fentry (program copies) and by
# kprobes (kprobe.multi or one per function), tracepoints, and uprobes.
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

GO=$WORK/go

# start_counters N M: two vmt-count helpers waiting for $GO; the first
# (CPID, N calls) is the traced pid, the second (OPID, M calls) must not
# be counted.
start_counters() {
	rm -f "$GO"
	helper_bg "$WORK/count1" vmt-count "$1" "$GO"
	CPID=$HELPER_PID CBG1=$HELPER_BG
	helper_bg "$WORK/count2" vmt-count "$2" "$GO"
	OPID=$HELPER_PID CBG2=$HELPER_BG
}

# run_counters: let both make their calls and finish.
run_counters() {
	: >"$GO"
	wait "$CBG1" || fail "vmt-count $CPID failed: $(cat "$WORK/count1")"
	wait "$CBG2" || fail "vmt-count $OPID failed: $(cat "$WORK/count2")"
}

check() {
	hook=$1
	start_counters 25 7
	if [ "$hook" = tracepoint ]; then
		tool_start --verbose -p "$CPID" --attach tracepoint 't:syscalls:sys_enter_getpp*'
		run_counters
		tool_stop
		expect_line_re "$OUT" '^syscalls:sys_enter_getppid +25$'
		expect_line "$ERR" "using tracepoint"
		return
	fi
	# Several functions: fentry needs a program copy per function, kprobes
	# one kprobe.multi link (or a kprobe each). Which of getppid's names
	# (__do_sys_getppid, __x64_sys_getppid) ftrace lists depends on the
	# kernel; each listed one counts every call.
	tool_start --verbose -p "$CPID" --attach "$hook" '*sys_getp*'
	run_counters
	tool_stop
	expect_line_re "$OUT" '^Tracing [0-9]+ functions for "\*sys_getp\*"\.\.\. Hit Ctrl-C to end\.$'
	expect_line_re "$OUT" '^__[a-z0-9]*_sys_getppid +25$'
	fn=$(sed -n 's/^\(__[a-z0-9]*_sys_getppid\) .*/\1/p' "$OUT" | head -n 1)
	# Which path and how many probes, for the console.
	log "$(grep -e '^funccount: using' -e 'probes attached' "$ERR" | tr '\n' ' ')"
	case $hook in
	kprobe) expect_line "$ERR" "using kprobe" ;;
	fentry) expect_line "$ERR" "using fentry" ;;
	esac
	# That one function by its exact name, JSON.
	start_counters 13 3
	tool_start --json -p "$CPID" --attach "$hook" "$fn"
	run_counters
	tool_stop
	expect_line "$OUT" "\"func\":\"$fn\"" '"count":13'
	expect_count "$OUT" 1 '"func":'
}

# User functions of a static binary, by path and wildcard.
uprobes() {
	start_counters 21 5
	tool_start --json -p "$CPID" '/vmtest/bin/vmt-count:vmt_counted*'
	run_counters
	tool_stop
	expect_line "$OUT" '"func":"vmt_counted"' '"count":21'
	expect_line "$OUT" '"func":"vmt_counted_too"' '"count":42'
	expect_count "$OUT" 2 '"func":'
}

# A regular expression and intervals with a time of day.
regexp_interval() {
	start_counters 17 2
	tool_start -r -T -i 1 -p "$CPID" '/vmtest/bin/vmt-count:vmt_counted$'
	run_counters
	nap 1.5
	tool_stop
	expect_line_re "$OUT" '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]$'
	expect_line_re "$OUT" '^vmt_counted +17$'
	expect_no_line "$OUT" 'vmt_counted_too'
	expect_line "$OUT" 'Detaching...'
}

refuses() {
	expect_refused "$@"
}

run_hooks check
run_case uprobes uprobes
run_case regexp-interval regexp_interval
run_case usdt-refused refuses 'u:/vmtest/bin/vmt-count:probe'
run_case fentry-on-tracepoint-refused refuses --attach fentry t:sched:sched_switch
[ -z "$CASE_FAILED" ]
