# tcpconnect in the VM: one IPv4 and one IPv6 loopback connect from vmt-net,
# with exact pid, addresses and ports, on every hook kind the tool has.
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

check() {
	tool_start --json --attach "$1"
	out4=$(vmt-net 47001) || fail "workload failed: $out4"
	out6=$(vmt-net -6 47002) || fail "workload failed: $out6"
	tool_stop
	pid4=$(pid_of "$out4")
	cport4=$(cport_of "$out4")
	pid6=$(pid_of "$out6")
	cport6=$(cport_of "$out6")
	expect_line "$OUT" "\"pid\":$pid4," '"comm":"vmt-net"' '"ip":4,' '"saddr":"127.0.0.1"' \
		"\"lport\":$cport4," '"daddr":"127.0.0.1"' '"dport":47001'
	expect_line "$OUT" "\"pid\":$pid6," '"comm":"vmt-net"' '"ip":6,' '"saddr":"::1"' \
		"\"lport\":$cport6," '"daddr":"::1"' '"dport":47002'
	expect_count "$OUT" 1 '"dport":47001'
}

# -P and -L in the table: only the named port, with the local port column.
table() {
	tool_start -L -P 47003
	out=$(vmt-net 47003) || fail "workload failed: $out"
	vmt-net 47004 >/dev/null || fail "workload failed"
	tool_stop
	pid=$(pid_of "$out")
	cport=$(cport_of "$out")
	expect_line_re "$OUT" '^PID +COMM +IP +SADDR +LPORT +DADDR +DPORT$'
	expect_line_re "$OUT" "^$pid +vmt-net +4 +127\\.0\\.0\\.1 +$cport +127\\.0\\.0\\.1 +47003\$"
	expect_no_line "$OUT" 47004
}

# -c: connects counted per source, destination and port.
count() {
	tool_start -c -P 47005
	for i in 1 2 3; do vmt-net 47005 >/dev/null || fail "workload failed"; done
	tool_stop
	expect_line_re "$OUT" '^127\.0\.0\.1 +127\.0\.0\.1 +47005 +3 *$'
}

run_hooks check
run_case table table
run_case count count
[ -z "$CASE_FAILED" ]
