# bashreadline in the VM: the guest has no bash, so the probe goes to a
# static helper with its own readline() (-s), which returns a known line.
. /vmtest/lib.sh

HOOKS="auto"

GO=$WORK/go

# reader LINE: vmt-readline waiting for $GO; sets RPID and RBG.
reader() {
	rm -f "$GO"
	helper_bg "$WORK/reader" vmt-readline "$1" "$GO"
	RPID=$HELPER_PID RBG=$HELPER_BG
}

finish_reader() {
	: >"$GO"
	wait "$RBG" || fail "vmt-readline failed: $(cat "$WORK/reader")"
}

check() {
	reader "echo vm-marker-json"
	tool_start --json --attach "$1" -s /vmtest/bin/vmt-readline --comm vmt-readline
	finish_reader
	tool_stop
	expect_line "$OUT" "\"pid\":$RPID," '"command":"echo vm-marker-json"' '"comm":"vmt-readline"'
}

table() {
	reader "ls vm-marker-table"
	tool_start -s /vmtest/bin/vmt-readline -p "$RPID"
	finish_reader
	tool_stop
	expect_line_re "$OUT" '^TIME +PID +COMMAND$'
	expect_line_re "$OUT" "^[0-2][0-9]:[0-5][0-9]:[0-5][0-9] +$RPID +ls vm-marker-table\$"
}

# With -s and no --comm, only processes named bash count (bcc's rule).
only_bash() {
	reader "echo vm-marker-hidden"
	tool_start -s /vmtest/bin/vmt-readline
	finish_reader
	tool_stop
	expect_no_line "$OUT" 'vm-marker-hidden'
}

run_hooks check
run_case table table
run_case only-bash only_bash
run_case no-bash-refused expect_refused
run_case kprobe-refused expect_refused --attach kprobe -s /vmtest/bin/vmt-readline
[ -z "$CASE_FAILED" ]
