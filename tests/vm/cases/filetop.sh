# filetop in the VM: exact reads, writes and bytes of a known workload on
# a uniquely named file, on each hook kind.
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

check() {
	file_=ftop-$1
	# A long interval: the one summary comes at Ctrl-C.
	tool_start --json -C -r 1000 --comm vmt-open --attach "$1" 60
	# write(12288); then read(64K) returns 12288 and read at EOF returns 0
	# (moves no data, so it is not counted).
	out=$(vmt-open -c -t -w 12288 -r "/mnt/$file_") || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tool_stop
	expect_count "$OUT" 1 "\"file\":\"$file_\"" "\"pid\":$pid," '"type":"R"' '"comm":"vmt-open"'
	line=$(matching_lines "$OUT" "\"file\":\"$file_\"")
	for kv in reads:1 writes:1 rbytes:12288 wbytes:12288; do
		echo "$line" | grep -Eq "\"${kv%%:*}\":${kv#*:}[,}]" || fail "want $kv in: $line"
	done
}

# The table: R_Kb and W_Kb in KiB; -p excludes other processes.
table() {
	tool_start -C -r 1000 60
	out=$(vmt-open -c -t -w 20480 -r "/mnt/ftop-table") || fail "workload failed: $out"
	pid=$(pid_of "$out")
	tool_stop
	expect_line_re "$OUT" '^TID +COMM +READS +WRITES +R_Kb +W_Kb +T FILE$'
	expect_line_re "$OUT" "^$pid +vmt-open +1 +1 +20 +20 +R ftop-table\$"
}

pid_filter() {
	tool_start --json -C -p 1 60
	out=$(vmt-open -c -t -w 4096 -r "/mnt/ftop-pid") || fail "workload failed: $out"
	tool_stop
	expect_no_line "$OUT" '"file":"ftop-pid"'
}

run_hooks check
run_case table table
run_case pid-filter pid_filter
[ -z "$CASE_FAILED" ]
