# opensnoop in the VM: an open that creates a file and one that fails, with
# exact pid, fd, errno, flags and syscall, on each hook kind it has (fexit on
# do_sys_openat2, the syscall tracepoints), then its filters.
. /vmtest/lib.sh

HOOKS="fentry tracepoint auto"

check() {
	rm -f "/mnt/os-$1"
	tool_start --json --attach "$1"
	ok=$(vmt-open -c "/mnt/os-$1") || fail "workload failed: $ok"
	bad=$(vmt-open "/mnt/os-missing-$1")
	pid=$(pid_of "$ok")
	badpid=$(pid_of "$bad")
	fd=$(echo "$ok" | sed -n 's/.* fd=\([0-9]*\).*/\1/p')
	[ -n "$pid" ] && [ -n "$badpid" ] && [ -n "$fd" ] || fail "helpers printed: $ok / $bad"
	tool_stop

	# vmt-open -c: open(path, O_RDONLY|O_CREAT, 0644), which glibc makes openat.
	expect_line "$OUT" "\"pid\":$pid," "\"fd\":$fd," '"errno":0,' '"error":null' \
		'"comm":"vmt-open"' '"syscall":"openat"' '"flags":64,' \
		'"flag_names":["O_RDONLY","O_CREAT"]' '"mode":420' "\"path\":\"/mnt/os-$1\""
	expect_line "$OUT" "\"pid\":$badpid," '"fd":-1,' '"errno":2,' '"error":"ENOENT"' \
		'"syscall":"openat"' '"flags":0,' "\"path\":\"/mnt/os-missing-$1\""
	expect_count "$OUT" 1 "\"path\":\"/mnt/os-$1\""
}

# -F on both kinds: a relative path from a cwd on another mount (/mnt).
full_path() {
	rm -f "/mnt/rel-$1"
	tool_start --json -F --attach "$1"
	out=$(cd /mnt && vmt-open -c "rel-$1") || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tool_stop
	expect_line "$OUT" "\"pid\":$pid," "\"path\":\"/mnt/rel-$1\"" "\"given_path\":\"rel-$1\""
}

# -x: only the failed open.
fails_only() {
	tool_start --json -x
	vmt-open -c /mnt/os-x-ok >/dev/null || fail "vmt-open failed"
	bad=$(vmt-open /mnt/os-x-missing)
	badpid=$(pid_of "$bad")
	tool_stop
	expect_line "$OUT" "\"pid\":$badpid," '"errno":2,' '"path":"/mnt/os-x-missing"'
	expect_no_line "$OUT" '"path":"/mnt/os-x-ok"'
	expect_no_line "$OUT" '"errno":0,'
}

# -p: a process waiting to open is traced; another one is not.
pid_filter() {
	rm -f /tmp/os-go
	(while [ ! -e /tmp/os-go ]; do sleep 0.1; done; exec vmt-open /mnt/ironscope-disk) >/dev/null &
	waiter=$!
	tool_start --json -p "$waiter"
	vmt-open /mnt/os-p-other >/dev/null
	touch /tmp/os-go
	wait "$waiter" || fail "the waiting open failed"
	tool_stop
	expect_line "$OUT" "\"pid\":$waiter," '"path":"/mnt/ironscope-disk"' '"comm":"vmt-open"'
	expect_no_line "$OUT" '"path":"/mnt/os-p-other"'
}

# -f O_CREAT with -e: the table's FLAGS column, octal as bcc prints it.
flag_filter() {
	rm -f /mnt/os-f-new
	tool_start -f O_CREAT -e
	out=$(vmt-open -c -t /mnt/os-f-new) || fail "workload failed"
	pid=$(pid_of "$out")
	vmt-open /mnt/ironscope-disk >/dev/null || fail "plain open failed"
	tool_stop
	expect_line_re "$OUT" '^PID +COMM +FD +ERR +FLAGS +PATH$'
	# O_RDONLY|O_CREAT|O_TRUNC
	expect_line_re "$OUT" "^$pid +vmt-open +[0-9]+ +0 00001100 /mnt/os-f-new\$"
	expect_no_line "$OUT" "/mnt/ironscope-disk"
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case full-path-fentry full_path fentry
run_case full-path-tracepoint full_path tracepoint
run_case fails-only fails_only
run_case pid-filter pid_filter
run_case flag-filter flag_filter
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
