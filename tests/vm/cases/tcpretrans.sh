# tcpretrans in the VM: vmt-net -d drops what reaches its server socket (a
# cgroup ingress BPF program), so its client retransmits; the events must
# name exactly that connection, from the client's side. Retransmits use the
# tracepoint on every kernel; tail loss probes (-l) need fentry or kprobes.
. /vmtest/lib.sh

HOOKS="tracepoint auto"

check() {
	tool_start --json -s --attach "$1"
	out4=$(vmt-net -d 1000 47201) || fail "workload failed: $out4"
	out6=$(vmt-net -6 -d 1000 47202) || fail "workload failed: $out6"
	tool_stop
	expect_line "$OUT" '"type":"R"' '"ip":4,' '"laddr":"127.0.0.1"' "\"lport\":$(cport_of "$out4")," \
		'"raddr":"127.0.0.1"' '"rport":47201' '"state":"ESTABLISHED"' '"seq":'
	expect_line "$OUT" '"type":"R"' '"ip":6,' '"laddr":"::1"' "\"lport\":$(cport_of "$out6")," \
		'"raddr":"::1"' '"rport":47202' '"state":"ESTABLISHED"'
	# The server side sent nothing, so it retransmits nothing.
	expect_no_line "$OUT" '"lport":47201'
	expect_no_line "$OUT" '"lport":47202'
}

# -l: tail loss probes ("L") as well as retransmits, through fentry or a kprobe.
lossprobe() {
	tool_start --json -l --attach "$1"
	out=$(vmt-net -d 1000 47203) || fail "workload failed: $out"
	tool_stop
	cport=$(cport_of "$out")
	expect_line "$OUT" '"type":"L"' "\"lport\":$cport," '"rport":47203'
	expect_line "$OUT" '"type":"R"' "\"lport\":$cport," '"rport":47203'
}

# -c: one line for the connection with its count.
count() {
	tool_start -c
	out=$(vmt-net -d 1000 47204) || fail "workload failed: $out"
	tool_stop
	expect_line_re "$OUT" "^127\\.0\\.0\\.1:$(cport_of "$out") +<-> +127\\.0\\.0\\.1:47204 +[1-9][0-9]*\$"
}

refuses() {
	expect_refused --attach "$1"
}

run_hooks check
run_case lossprobe-fentry lossprobe fentry
run_case lossprobe-kprobe lossprobe kprobe
run_case count count
run_case fentry-refused-without-l refuses fentry
[ -z "$CASE_FAILED" ]
