# tcptop in the VM: vmt-net moves known byte counts each way over loopback;
# summed over the intervals they must be exact for both sides. The
# sock_send_length/sock_recv_length tracepoints only exist from Linux 6.3:
# on 6.1, --attach tracepoint must refuse and name what is missing.
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

# sum FIELD LPORT: FIELD summed over the JSON lines for that local port.
sum() {
	awk -v f="\"$1\":" -v p="\"lport\":$2," '
		index($0, p) && match($0, f "[0-9]+") { s += substr($0, RSTART + length(f), RLENGTH - length(f)) }
		END { print s + 0 }' "$OUT"
}

has_sock_length() {
	grep -q btf_trace_sock_send_length /sys/kernel/btf/vmlinux
}

check() {
	if [ "$1" = tracepoint ] && ! has_sock_length; then
		expect_refused --attach tracepoint
		grep -q "sock_send_length" "$ERR" || fail "the refusal does not name the tracepoint: $(cat "$ERR")"
		return 0
	fi
	tool_start --json -r 1000 --attach "$1" 0.5
	out=$(vmt-net -s 123456 -r 65432 47401) || fail "workload failed: $out"
	out6=$(vmt-net -6 -s 7777 -r 300001 47402) || fail "workload failed: $out6"
	tool_stop
	pid=$(pid_of "$out")
	cport=$(cport_of "$out")
	expect_line "$OUT" "\"pid\":$pid," '"comm":"vmt-net"' '"laddr":"127.0.0.1"' "\"lport\":$cport," '"rport":47401'
	[ "$(sum tx_bytes "$cport")" = 123456 ] || fail "client sent $(sum tx_bytes "$cport"), want 123456"
	[ "$(sum rx_bytes "$cport")" = 65432 ] || fail "client received $(sum rx_bytes "$cport"), want 65432"
	[ "$(sum tx_bytes 47401)" = 65432 ] || fail "server sent $(sum tx_bytes 47401), want 65432"
	[ "$(sum rx_bytes 47401)" = 123456 ] || fail "server received $(sum rx_bytes 47401), want 123456"
	cport=$(cport_of "$out6")
	expect_line "$OUT" '"ip":6,' '"laddr":"::1"' "\"lport\":$cport," '"rport":47402'
	[ "$(sum tx_bytes "$cport")" = 7777 ] || fail "IPv6 client sent $(sum tx_bytes "$cport"), want 7777"
	[ "$(sum rx_bytes "$cport")" = 300001 ] || fail "IPv6 client received $(sum rx_bytes "$cport"), want 300001"
}

# The table after one interval (-C: no screen clearing, -S: no summary).
table() {
	tool_start -C -S 30
	out=$(vmt-net -s 5000 -r 2100 47403) || fail "workload failed: $out"
	tool_stop
	pid=$(pid_of "$out")
	cport=$(cport_of "$out")
	expect_line_re "$OUT" '^PID +COMM +LADDR +RADDR +RX_KB +TX_KB$'
	expect_line_re "$OUT" "^$pid +vmt-net +127\\.0\\.0\\.1:$cport +127\\.0\\.0\\.1:47403 +2 +4\$"
	expect_line_re "$OUT" "^$pid +vmt-net +127\\.0\\.0\\.1:47403 +127\\.0\\.0\\.1:$cport +4 +2\$"
}

run_hooks check
run_case table table
[ -z "$CASE_FAILED" ]
