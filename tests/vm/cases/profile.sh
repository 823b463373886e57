# profile in the VM: the CPU clock perf event samples a spinning helper,
# whose function must dominate; kernel frames are named from kallsyms.
. /vmtest/lib.sh

HOOKS="auto"

# spinner SECS: vmt-spin in the background; sets SPID and SBG.
spinner() {
	helper_bg "$WORK/spin" vmt-spin "$1"
	SPID=$HELPER_PID SBG=$HELPER_BG
}

check() {
	spinner 30
	tool_run --attach "$1" -p "$SPID" -f -F 299 2
	kill "$SBG" 2>/dev/null
	wait "$SBG" 2>/dev/null
	[ -s "$OUT" ] || fail "no samples"
	top=$(sort -t' ' -k2 -n "$OUT" | tail -n 1)
	case $top in
	"vmt-spin;"*"main;vmt_spin_target "*) ;;
	*) fail "dominant stack is not vmt_spin_target: $top" ;;
	esac
	# -p: nothing but the spinner.
	all=$(count_lines "$OUT" '')
	[ "$(count_lines "$OUT" 'vmt-spin;')" -eq "$all" ] || fail "other processes in the -p profile"
}

json() {
	spinner 30
	tool_run --json -U -p "$SPID" -F 299 1
	kill "$SBG" 2>/dev/null
	wait "$SBG" 2>/dev/null
	expect_line "$OUT" "\"pid\":$SPID," '"comm":"vmt-spin"' '"func":"vmt_spin_target"' '"module":"/vmtest/bin/vmt-spin"'
	expect_no_line "$OUT" '"space":"kernel"'
}

kernel_stacks() {
	dd if=/dev/zero of=/dev/null bs=1 2>/dev/null &
	DBG=$!
	tool_run -K -a -f -p "$DBG" -F 299 1
	kill "$DBG" 2>/dev/null
	wait "$DBG" 2>/dev/null
	expect_line "$OUT" ';do_syscall_64_[k];'
	expect_no_line "$OUT" ';-;'
}

run_hooks check
run_case json json
run_case kernel-stacks kernel_stacks
run_case kprobe-refused expect_refused --attach kprobe
[ -z "$CASE_FAILED" ]
