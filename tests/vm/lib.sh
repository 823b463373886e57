# Guest-side helpers, sourced by every tests/vm/cases/<tool>.sh (busybox ash).
#
# A case sets HOOKS (the --attach values the tool supports, e.g.
# "fentry kprobe tracepoint auto"), defines a function taking the hook, and
# calls `run_hooks that_function`. Each hook runs in its own subshell, so
# `fail` ends only that hook, and prints the markers run.sh reads:
#   @@IRONSCOPE CASE <tool>:<hook> BEGIN | PASS | FAIL
#
# Readiness: tools print nothing when attached, and fixed sleeps are either
# slow or flaky under TCG, so tool_start waits until the tool's process holds
# BPF link fds (/proc/PID/fdinfo shows "link_type:") and their count has not
# changed for a few polls. Every wait is bounded.

# The case file's name is the tool's name (and its symlink in /bin).
TOOL=${TOOL:-$(basename "$0" .sh)}
WORK=/tmp/vmtest/$TOOL
mkdir -p "$WORK"
OUT=$WORK/out      # the running tool's stdout
ERR=$WORK/err      # its stderr
TOOL_PID=

# run.sh writes VMT_ONLY ("tool" or "tool:hook" words) when a subset was asked.
[ -f /vmtest/config ] && . /vmtest/config

# Bounds, in tenths of a second (TCG is slow; BPF verification takes seconds).
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-600}
STOP_TIMEOUT=${STOP_TIMEOUT:-200}

log() { echo "[$TOOL] $*"; }

# Print what the tool said, so a failure on the console explains itself.
dump_tool() {
	if [ -f "$OUT" ]; then
		echo "----- $TOOL stdout (last 60 lines) -----"
		tail -n 60 "$OUT"
	fi
	if [ -f "$ERR" ]; then
		echo "----- $TOOL stderr (last 30 lines) -----"
		tail -n 30 "$ERR"
	fi
	echo "-----"
}

fail() {
	echo "FAIL: [$TOOL${HOOK:+:$HOOK}] $*"
	dump_tool
	if [ -n "$TOOL_PID" ]; then
		kill -KILL "$TOOL_PID" 2>/dev/null
		wait "$TOOL_PID" 2>/dev/null
		TOOL_PID=
	fi
	exit 1
}

# True while PID exists and is not a zombie (kill -0 succeeds on zombies).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	# The state follows "(comm) "; comm may hold spaces, so cut after the last ')'.
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Number of BPF link fds PID holds.
link_count() {
	grep -l '^link_type:' /proc/"$1"/fdinfo/* 2>/dev/null | wc -l
}

# tool_start ARGS...: run "$TOOL ARGS" in the background (stdout to $OUT,
# stderr to $ERR) and return once it is attached. Fails if it exits first.
tool_start() {
	# Tools must mount tracefs themselves when it is missing; make every run
	# prove it instead of inheriting the previous tool's mount.
	umount /sys/kernel/tracing 2>/dev/null
	: >"$OUT"
	: >"$ERR"
	log "run: $TOOL $*"
	"$TOOL" "$@" >"$OUT" 2>"$ERR" &
	TOOL_PID=$!
	i=0 prev=-1 same=0
	while [ "$i" -lt "$ATTACH_TIMEOUT" ]; do
		if ! alive "$TOOL_PID"; then
			wait "$TOOL_PID"
			rc=$?
			TOOL_PID=
			fail "exited (status $rc) before attaching: $TOOL $*"
		fi
		n=$(link_count "$TOOL_PID")
		if [ "$n" -gt 0 ] && [ "$n" -eq "$prev" ]; then
			same=$((same + 1))
			# Unchanged for 3 polls: the attach phase is over.
			[ "$same" -ge 3 ] && return 0
		else
			same=0
		fi
		prev=$n
		sleep 0.1
		i=$((i + 1))
	done
	fail "not attached after $((ATTACH_TIMEOUT / 10)) s (BPF links seen: $prev): $TOOL $*"
}

# tool_stop: SIGINT, as a user's Ctrl-C, then require a clean exit (status 0)
# within STOP_TIMEOUT. Output is complete after this returns.
tool_stop() {
	[ -n "$TOOL_PID" ] || fail "tool_stop without a running tool"
	kill -INT "$TOOL_PID" 2>/dev/null
	i=0
	while alive "$TOOL_PID"; do
		if [ "$i" -ge "$STOP_TIMEOUT" ]; then
			fail "still running $((STOP_TIMEOUT / 10)) s after SIGINT"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	wait "$TOOL_PID"
	rc=$?
	TOOL_PID=
	[ "$rc" -eq 0 ] || fail "exited with status $rc after SIGINT"
}

# tool_run ARGS...: run the tool in the foreground (e.g. with --duration),
# bounded, requiring status 0. Output lands in $OUT and $ERR.
tool_run() {
	log "run: $TOOL $*"
	timeout "$((STOP_TIMEOUT / 10 + 60))" "$TOOL" "$@" >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -eq 0 ] || fail "exited with status $rc: $TOOL $*"
}

# Lines of FILE holding every FRAG as a fixed string, in any order on the line
# (so JSON key order and column spacing do not matter).
matching_lines() {
	f=$1
	shift
	m=$WORK/match.$$
	cp "$f" "$m"
	for frag in "$@"; do
		grep -F -e "$frag" "$m" >"$m.n"
		mv "$m.n" "$m"
	done
	cat "$m"
	rm -f "$m"
}

# expect_line FILE FRAG...: some line holds all FRAGs (fixed strings).
expect_line() {
	f=$1
	shift
	[ -n "$(matching_lines "$f" "$@")" ] && return 0
	fail "no line in $(basename "$f") with all of: $*"
}

# expect_line_re FILE ERE: some line matches the extended regex.
expect_line_re() {
	grep -E -q -e "$2" "$1" || fail "no line in $(basename "$1") matches /$2/"
}

# expect_no_line FILE FRAG...: no line holds all FRAGs.
expect_no_line() {
	f=$1
	shift
	[ -z "$(matching_lines "$f" "$@")" ] && return 0
	fail "unexpected line in $(basename "$f") with all of: $*"
}

# count_lines FILE FRAG...: print how many lines hold all FRAGs.
count_lines() {
	matching_lines "$@" | wc -l
}

# expect_count FILE N FRAG...: exactly N lines hold all FRAGs.
expect_count() {
	f=$1 want=$2
	shift 2
	got=$(count_lines "$f" "$@")
	[ "$got" -eq "$want" ] || fail "$got lines (want $want) in $(basename "$f") with all of: $*"
}

# pid_of OUTPUT: the N of the first "pid=N" a vmt-* helper printed (not ppid=).
pid_of() {
	echo "$1" | sed -n 's/^\(.* \)\{0,1\}pid=\([0-9][0-9]*\).*/\2/p' | head -n 1
}

# cport_of OUTPUT: the client port vmt-tcp/vmt-net printed as "cport=P".
cport_of() {
	echo "$1" | sed -n 's/.*cport=\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# ppid_of OUTPUT: the M of the first "ppid=M".
ppid_of() {
	echo "$1" | sed -n 's/.*ppid=\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# Was LABEL (a hook, or a case name) selected by VMTEST_CASES?
selected() {
	[ -z "$VMT_ONLY" ] && return 0
	for w in $VMT_ONLY; do
		case "$w" in
		"$TOOL" | "$TOOL:$1") return 0 ;;
		esac
	done
	return 1
}

# run_case LABEL FUNC [ARGS...]: run FUNC ARGS in a subshell, with markers.
run_case() {
	label=$1
	shift
	selected "$label" || return 0
	echo "@@IRONSCOPE CASE $TOOL:$label BEGIN"
	if (HOOK=$label; "$@"); then
		echo "@@IRONSCOPE CASE $TOOL:$label PASS"
	else
		echo "@@IRONSCOPE CASE $TOOL:$label FAIL"
		CASE_FAILED=1
		return 1
	fi
}

# run_hooks FUNC: run_case once per word of $HOOKS, passing the hook to FUNC.
# The script's exit status says whether all of them passed.
run_hooks() {
	[ -n "$HOOKS" ] || { echo "FAIL: [$TOOL] HOOKS is empty"; exit 1; }
	for hook in $HOOKS; do
		run_case "$hook" "$1" "$hook" || :
	done
	[ -z "$CASE_FAILED" ]
}

# expect_refused ARGS...: "$TOOL ARGS" must exit non-zero, promptly, saying
# why on stderr (e.g. --attach with a hook kind the tool does not have).
expect_refused() {
	log "run (must refuse): $TOOL $*"
	timeout 60 "$TOOL" "$@" >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -ne 0 ] || fail "accepted: $TOOL $*"
	[ "$rc" -ne 124 ] || fail "hung instead of refusing: $TOOL $*"
	[ -s "$ERR" ] || fail "refused (status $rc) without a message: $TOOL $*"
}
