# tcpaccept in the VM: the accepts of one IPv4 and one IPv6 loopback
# connection made by vmt-net, with exact pid, addresses and ports, on every
# hook kind the tool has (inet_csk_accept's return, or accept4's exit).
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

check() {
	tool_start --json --attach "$1"
	out4=$(vmt-net 47101) || fail "workload failed: $out4"
	out6=$(vmt-net -6 47102) || fail "workload failed: $out6"
	tool_stop
	expect_line "$OUT" "\"pid\":$(pid_of "$out4")," '"comm":"vmt-net"' '"ip":4,' \
		'"laddr":"127.0.0.1"' '"lport":47101' '"raddr":"127.0.0.1"' "\"rport\":$(cport_of "$out4"),"
	expect_line "$OUT" "\"pid\":$(pid_of "$out6")," '"comm":"vmt-net"' '"ip":6,' \
		'"laddr":"::1"' '"lport":47102' '"raddr":"::1"' "\"rport\":$(cport_of "$out6"),"
	expect_count "$OUT" 1 '"lport":47101'
}

# The table, -P keeping only the named local port.
table() {
	tool_start -P 47103
	out=$(vmt-net 47103) || fail "workload failed: $out"
	vmt-net 47104 >/dev/null || fail "workload failed"
	tool_stop
	expect_line_re "$OUT" '^PID +COMM +IP +RADDR +RPORT +LADDR +LPORT$'
	expect_line_re "$OUT" "^$(pid_of "$out") +vmt-net +4 +127\\.0\\.0\\.1 +$(cport_of "$out") +127\\.0\\.0\\.1 +47103\$"
	expect_no_line "$OUT" 47104
}

run_hooks check
run_case table table
[ -z "$CASE_FAILED" ]
