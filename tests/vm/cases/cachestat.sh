# cachestat in the VM: a 64-page file read cold (after drop_caches) gives
# misses and no hits, read warm gives hits and no misses, on each hook kind.
# Misses are exact on every hook (pages added); with fentry/kprobe (bcc's
# method) accesses are folio_mark_accessed calls, so hits are only asserted
# to be there when warm; the tracepoint method counts the pages read, so
# there hits are exact too. Kernels without the filemap
# get_pages tracepoint (6.1) must refuse --attach tracepoint.
. /vmtest/lib.sh

HOOKS="fentry kprobe tracepoint auto"

# The value of "key" in the tool's only JSON line.
field() {
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$OUT" | head -n 1
}

has_get_pages_tp() {
	grep -q ' __tracepoint_mm_filemap_get_pages$' /proc/kallsyms
}

check() {
	if [ "$1" = tracepoint ] && ! has_get_pages_tp; then
		expect_refused --attach tracepoint
		grep -Eq "mm_filemap_(get_pages|fault)" "$ERR" || fail "refusal does not name the tracepoint"
		return 0
	fi
	file_=/mnt/cs-$1
	vmt-open -c -t -w 262144 -s "$file_" >/dev/null || fail "cannot create $file_"
	echo 3 >/proc/sys/vm/drop_caches

	tool_start --json --comm vmt-open --attach "$1" 60
	vmt-open -r "$file_" >/dev/null || fail "cold read failed"
	tool_stop
	[ "$(count_lines "$OUT" '"hits":')" -eq 1 ] || fail "want one line"
	hits=$(field hits) misses=$(field misses) added=$(field pages_added)
	log "cold: hits=$hits misses=$misses added=$added"
	[ "$added" -eq 64 ] || fail "cold read added $added pages, want 64"
	[ "$misses" -eq 64 ] || fail "cold read of 64 pages: $misses misses"
	# bcc's method counts more accesses than pages read (6.1 marks folios
	# accessed more than once per read), so its cold read shows hits too.
	if [ "$1" = tracepoint ]; then
		[ "$hits" -eq 0 ] || fail "cold read: $hits hits"
	fi

	tool_start --json --comm vmt-open --attach "$1" 60
	vmt-open -r "$file_" >/dev/null || fail "warm read failed"
	tool_stop
	hits=$(field hits) misses=$(field misses)
	log "warm: hits=$hits misses=$misses"
	[ "$misses" -eq 0 ] || fail "warm read: $misses misses"
	[ "$hits" -gt 0 ] || fail "warm read: no hits"
	if [ "$1" = tracepoint ]; then
		[ "$hits" -eq 64 ] || fail "warm read of 64 pages: $hits hits"
	fi
}

# Writing 16 new pages: 16 dirtied pages, no read misses, dirtied buffers.
dirties() {
	# Created first: creating a file may read metadata blocks into the
	# cache, which would be (real) misses; so may O_TRUNC (the orphan file).
	vmt-open -c -t /mnt/cs-dirty >/dev/null || fail "create failed"
	tool_start --json --comm vmt-open 60
	vmt-open -w 65536 /mnt/cs-dirty >/dev/null || fail "write failed"
	tool_stop
	[ "$(field pages_dirtied)" -eq 16 ] || fail "want 16 dirtied pages"
	[ "$(field misses)" -eq 0 ] || fail "the write's new pages counted as misses"
	d=$(field dirties)
	# Buffers: 16 pages of 1 KiB or 4 KiB blocks, and some metadata.
	[ "$d" -ge 16 ] || fail "only $d buffers dirtied"
}

table() {
	tool_start -T 60
	vmt-true >/dev/null
	tool_stop
	expect_line_re "$OUT" '^TIME +HITS +MISSES +DIRTIES +HITRATIO +BUFFERS_MB +CACHED_MB$'
	expect_line_re "$OUT" '^[0-9:]{8} +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+% +[0-9]+ +[0-9]+$'
}

run_hooks check
run_case dirties dirties
run_case table table
[ -z "$CASE_FAILED" ]
