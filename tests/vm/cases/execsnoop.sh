# execsnoop in the VM: a successful exec and a failed one, with exact pid,
# ppid, return value and argv, on each hook kind it has.
. /vmtest/lib.sh

HOOKS="tracepoint auto"

check() {
	tool_start --json --attach "$1"

	# vmt-exec prints its pid and ppid, then execs vmt-true with this exact
	# argv (an argument with a space, to see arguments are not re-split).
	ok=$(vmt-exec /vmtest/bin/vmt-true vmt-true alpha "two words") ||
		fail "workload failed: $ok"
	pid=$(pid_of "$ok")
	ppid=$(ppid_of "$ok")
	# A path that does not exist: ret is -ENOENT, argv comes from the caller.
	bad=$(vmt-exec /mnt/vmt-missing vmt-missing x y)
	badpid=$(pid_of "$bad")
	{ [ -n "$pid" ] && [ -n "$badpid" ]; } || fail "helpers printed no pid: $ok / $bad"

	tool_stop

	expect_line "$OUT" "\"pid\":$pid," "\"ppid\":$ppid," '"ret":0,' \
		'"comm":"vmt-true"' '"args":["vmt-true","alpha","two words"]'
	# The exec into vmt-exec itself came first, from the same pid.
	expect_line "$OUT" "\"pid\":$pid," '"ret":0,' \
		'"args":["vmt-exec","/vmtest/bin/vmt-true","vmt-true","alpha","two words"]'
	expect_line "$OUT" "\"pid\":$badpid," '"ret":-2,' '"comm":"vmt-exec"' \
		'"args":["vmt-missing","x","y"]'
}

# -x: only the failed exec is reported.
fails_only() {
	tool_start --json -x
	vmt-true >/dev/null || fail "vmt-true failed"
	bad=$(vmt-exec /mnt/vmt-missing vmt-missing z)
	badpid=$(pid_of "$bad")
	tool_stop
	expect_line "$OUT" "\"pid\":$badpid," '"ret":-2,' '"args":["vmt-missing","z"]'
	expect_no_line "$OUT" '"comm":"vmt-true"'
	expect_no_line "$OUT" '"ret":0,'
}

# The plain table: header and one row with the command line.
table() {
	tool_start
	out=$(vmt-exec /vmtest/bin/vmt-true vmt-true table-row) || fail "workload failed"
	pid=$(pid_of "$out")
	tool_stop
	expect_line_re "$OUT" '^PCOMM +PID +PPID +RET +ARGS$'
	expect_line_re "$OUT" "^vmt-true +$pid +[0-9]+ +0 vmt-true table-row\$"
}

# execsnoop has only tracepoints: asking for fentry or kprobe is an error.
refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case fails-only fails_only
run_case table table
run_case fentry-refused refuses fentry
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
