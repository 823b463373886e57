# tcplife in the VM: vmt-net moves a known number of bytes each way over one
# IPv4 and one IPv6 loopback session; both sides' sessions must show the
# exact pid, ports and KiB. The tool has one hook: the BTF-typed
# sock:inet_sock_set_state tracepoint.
. /vmtest/lib.sh

HOOKS="tracepoint auto"

check() {
	tool_start --json --attach "$1"
	out4=$(vmt-net -s 100000 -r 50000 47301) || fail "workload failed: $out4"
	out6=$(vmt-net -6 -s 7000 -r 300000 47302) || fail "workload failed: $out6"
	# The server side closes last; let its final ACK arrive.
	sleep 0.5
	tool_stop
	pid=$(pid_of "$out4")
	cport=$(cport_of "$out4")
	# Client (closes first) and server side; KiB rounded down as bcc.
	expect_line "$OUT" "\"pid\":$pid," '"comm":"vmt-net"' '"ip":4,' '"laddr":"127.0.0.1"' \
		"\"lport\":$cport," '"rport":47301' '"tx_kb":97,' '"rx_kb":48,'
	expect_line "$OUT" "\"pid\":$pid," '"lport":47301,' "\"rport\":$cport," '"tx_kb":48,' '"rx_kb":97,'
	pid=$(pid_of "$out6")
	cport=$(cport_of "$out6")
	expect_line "$OUT" "\"pid\":$pid," '"ip":6,' '"laddr":"::1"' "\"lport\":$cport," '"rport":47302' \
		'"tx_kb":6,' '"rx_kb":292,'
	expect_line "$OUT" "\"pid\":$pid," '"lport":47302,' "\"rport\":$cport," '"tx_kb":292,' '"rx_kb":6,'
}

# The table with -L: only the server side of the session on that port.
table() {
	tool_start -L 47303
	out=$(vmt-net -s 4000 -r 2100 47303) || fail "workload failed: $out"
	sleep 0.5
	tool_stop
	expect_line_re "$OUT" '^PID +COMM +LADDR +LPORT +RADDR +RPORT +TX_KB +RX_KB +MS$'
	expect_line_re "$OUT" "^$(pid_of "$out") +vmt-net +127\\.0\\.0\\.1 +47303 +127\\.0\\.0\\.1 +$(cport_of "$out") +2 +3 +[0-9.]+\$"
	expect_count "$OUT" 2 ''
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case table table
run_case fentry-refused refuses fentry
run_case kprobe-refused refuses kprobe
[ -z "$CASE_FAILED" ]
