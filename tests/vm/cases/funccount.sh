# funccount in the VM: exact call counts of one pid, on every hook kind the
# guest kernel has: kernel functions by fentry (program copies) and by
# kprobes (kprobe.multi or one per function), tracepoints, and uprobes.
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

GO=$WORK/go

# traced CMD...: a helper waiting for $GO whose calls are counted (CPID);
# untraced CMD...: one making the same calls, which -p must leave out.
traced() {
	rm -f "$GO"
	helper_bg "$WORK/count1" "$@"
	CPID=$HELPER_PID CBG1=$HELPER_BG
}
untraced() {
	helper_bg "$WORK/count2" "$@"
	OPID=$HELPER_PID CBG2=$HELPER_BG
}

# run_counters: let both make their calls and finish.
run_counters() {
	: >"$GO"
	wait "$CBG1" || fail "helper $CPID failed: $(cat "$WORK/count1")"
	wait "$CBG2" || fail "helper $OPID failed: $(cat "$WORK/count2")"
}

check() {
	hook=$1
	traced vmt-syscalls -w "$GO" 25
	untraced vmt-syscalls -w "$GO" 7
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
	traced vmt-syscalls -w "$GO" 13
	untraced vmt-syscalls -w "$GO" 3
	tool_start --json -p "$CPID" --attach "$hook" "$fn"
	run_counters
	tool_stop
	expect_line "$OUT" "\"func\":\"$fn\"" '"count":13'
	expect_count "$OUT" 1 '"func":'
}

# User functions of a static binary, by path and wildcard.
uprobes() {
	traced vmt-count 21 "$GO"
	untraced vmt-count 5 "$GO"
	tool_start --json -p "$CPID" '/vmtest/bin/vmt-count:vmt_counted*'
	run_counters
	tool_stop
	expect_line "$OUT" '"func":"vmt_counted"' '"count":21'
	expect_line "$OUT" '"func":"vmt_counted_too"' '"count":42'
	expect_count "$OUT" 2 '"func":'
}

# A regular expression and intervals with a time of day.
regexp_interval() {
	traced vmt-count 17 "$GO"
	untraced vmt-count 2 "$GO"
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
