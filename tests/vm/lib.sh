# Guest-side helpers, sourced by every tests/vm/cases/<tool>.sh (busybox ash).
#
# A case sets HOOKS (the --attach values the tool supports, e.g.
# "fentry kprobe tracepoint auto"), defines a function taking the hook, and
# calls `run_hooks that_function`. Each hook runs in its own subshell, so
# `fail` ends only that hook, and prints the markers run.sh reads:
#   @@IRONSCOPE CASE <tool>:<hook> BEGIN | PASS | FAIL
#
# Readiness: fixed sleeps are either slow or flaky under TCG, so tool_start
# sets IRONSCOPE_READY to a file and waits for the tool to create it, which
# the runtime does once everything is attached (it also prints "<tool>:
# ready" on stderr); the tool must then hold a BPF link fd ("link_type:" in
# /proc/PID/fdinfo). Every wait is bounded.
#
# Library variables are `local`, so a case's own names (f, i, rc...) survive.

# The case file's name names the markers and VMTEST_CASES selection; it is
# also the tool's name (its symlink in /bin) unless the case sets TOOL.
CASE=$(basename "$0" .sh)
TOOL=${TOOL:-$CASE}
WORK=/tmp/vmtest/$CASE
mkdir -p "$WORK"
OUT=$WORK/out      # the running tool's stdout
ERR=$WORK/err      # its stderr
RUNNING=$WORK/running  # its pid while it runs
READYFILE=$WORK/ready  # created by the tool once attached
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
	echo "FAIL: [$CASE${HOOK:+:$HOOK}] $*"
	dump_tool
	if [ -n "$TOOL_PID" ]; then
		kill -KILL "$TOOL_PID" 2>/dev/null
		wait "$TOOL_PID" 2>/dev/null
		TOOL_PID=
		: >"$RUNNING"
	fi
	exit 1
}

# Waiting loops use shell builtins only: busybox runs its applets through a
# real exec of /proc/self/exe (comm "exe"), and a poll loop full of those
# would flood the very tools under test with events.
TICK=$WORK/tick
[ -p "$TICK" ] || mkfifo "$TICK"
# nap SECS: sleep without exec (nobody ever writes to the fifo).
nap() { read -r -t "$1" _ <>"$TICK"; }

# True while PID exists and is not a zombie (kill -0 succeeds on zombies).
alive() {
	local line="" st
	[ -r "/proc/$1/stat" ] && read -r line <"/proc/$1/stat" 2>/dev/null
	[ -n "$line" ] || return 1
	# The state follows "(comm) "; comm may hold spaces, so cut after the last ')'.
	st=${line##*") "}
	st=${st%% *}
	[ "$st" != Z ] && [ "$st" != X ]
}

# LINKS=number of BPF link fds PID holds.
count_links() {
	local f l
	LINKS=0
	for f in /proc/"$1"/fdinfo/*; do
		[ -r "$f" ] || continue
		while IFS= read -r l; do
			case $l in link_type:*)
				LINKS=$((LINKS + 1))
				break
				;;
			esac
		done <"$f" 2>/dev/null
	done
}

# True once the tool has said it is ready (IRONSCOPE_READY=file: it creates
# the file; a builtin test, where reading a --verbose stderr of thousands of
# lines byte by byte at every poll took seconds).
saw_ready() {
	[ -e "$READYFILE" ]
}

# tool_start ARGS...: run "$TOOL ARGS" in the background (stdout to $OUT,
# stderr to $ERR) and return once it is attached. Fails if it exits first.
tool_start() {
	local i=0 rc
	# Tools must mount tracefs themselves when it is missing; make every run
	# prove it instead of inheriting the previous tool's mount.
	umount /sys/kernel/tracing 2>/dev/null
	: >"$OUT"
	: >"$ERR"
	log "run: $TOOL $*"
	rm -f "$READYFILE"
	IRONSCOPE_READY=$READYFILE "$TOOL" "$@" >"$OUT" 2>"$ERR" &
	TOOL_PID=$!
	# Seen by run_case after this subshell ends, should the case forget tool_stop.
	echo "$TOOL_PID" >"$RUNNING"
	# Polls every 20 ms: a tool is ready in 0.3-1 s under TCG.
	while [ "$i" -lt $((ATTACH_TIMEOUT * 5)) ]; do
		if ! alive "$TOOL_PID"; then
			wait "$TOOL_PID"
			rc=$?
			TOOL_PID=
			: >"$RUNNING"
			fail "exited (status $rc) before attaching: $TOOL $*"
		fi
		if saw_ready; then
			# "ready" comes once everything is attached (the runtime's
			# contract, tools attaching their own probes included).
			count_links "$TOOL_PID"
			[ "$LINKS" -gt 0 ] && return 0
			fail "said ready without a BPF link: $TOOL $*"
		fi
		nap 0.02
		i=$((i + 1))
	done
	fail "no \"$TOOL: ready\" on stderr after $((ATTACH_TIMEOUT / 10)) s: $TOOL $*"
}

# tool_stop: SIGINT, as a user's Ctrl-C, then require a clean exit (status 0)
# within STOP_TIMEOUT. Output is complete after this returns.
tool_stop() {
	local i=0 rc
	[ -n "$TOOL_PID" ] || fail "tool_stop without a running tool"
	kill -INT "$TOOL_PID" 2>/dev/null
	while alive "$TOOL_PID"; do
		if [ "$i" -ge $((STOP_TIMEOUT * 5)) ]; then
			fail "still running $((STOP_TIMEOUT / 10)) s after SIGINT"
		fi
		nap 0.02
		i=$((i + 1))
	done
	wait "$TOOL_PID"
	rc=$?
	TOOL_PID=
	: >"$RUNNING"
	[ "$rc" -eq 0 ] || fail "exited with status $rc after SIGINT"
}

# tool_run ARGS...: run the tool in the foreground (e.g. with --duration),
# bounded, requiring status 0. Output lands in $OUT and $ERR.
tool_run() {
	local rc
	log "run: $TOOL $*"
	timeout "$((STOP_TIMEOUT / 10 + 60))" "$TOOL" "$@" >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -eq 0 ] || fail "exited with status $rc: $TOOL $*"
}

# FRAGs as "[a] [b]" for messages (they often end in commas themselves).
frags() {
	local out="" x
	for x in "$@"; do out="$out [$x]"; done
	echo "${out# }"
}

# Lines of FILE holding every FRAG as a fixed string, in any order on the line
# (so JSON key order and column spacing do not matter).
matching_lines() {
	local f="$1" m="$WORK/match.$$" frag
	shift
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
	local f="$1"
	shift
	[ -n "$(matching_lines "$f" "$@")" ] && return 0
	fail "no line in $(basename "$f") with all of: $(frags "$@")"
}

# expect_line_re FILE ERE: some line matches the extended regex.
expect_line_re() {
	grep -E -q -e "$2" "$1" || fail "no line in $(basename "$1") matches /$2/"
}

# expect_no_line FILE FRAG...: no line holds all FRAGs.
expect_no_line() {
	local f="$1"
	shift
	[ -z "$(matching_lines "$f" "$@")" ] && return 0
	fail "unexpected line in $(basename "$f") with all of: $(frags "$@")"
}

# count_lines FILE FRAG...: print how many lines hold all FRAGs.
count_lines() {
	matching_lines "$@" | wc -l
}

# expect_count FILE N FRAG...: exactly N lines hold all FRAGs.
expect_count() {
	local f="$1" want="$2" got
	shift 2
	got=$(count_lines "$f" "$@")
	[ "$got" -eq "$want" ] || fail "$got lines (want $want) in $(basename "$f") with all of: $(frags "$@")"
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

# helper_bg FILE CMD [ARG...]: run a helper that prints "pid=N" first in
# the background, its output in FILE, and wait (bounded, builtins only) for
# that line. Sets HELPER_PID (the N) and HELPER_BG (the job, for wait/kill).
helper_bg() {
	hb_file=$1
	shift
	# Emptied first, so the wait cannot read a previous run's pid.
	: >"$hb_file"
	"$@" >"$hb_file" 2>&1 &
	HELPER_BG=$!
	HELPER_PID=
	hb_i=0
	while :; do
		hb_line=
		read -r hb_line <"$hb_file" 2>/dev/null
		case $hb_line in pid=*)
			HELPER_PID=${hb_line#pid=}
			HELPER_PID=${HELPER_PID%% *}
			return 0
			;;
		esac
		[ "$hb_i" -lt 100 ] || fail "$1 printed no pid: $hb_line"
		nap 0.1
		hb_i=$((hb_i + 1))
	done
}

# Was LABEL (a hook, or a case name) selected by VMTEST_CASES?
selected() {
	local w
	[ -z "$VMT_ONLY" ] && return 0
	for w in $VMT_ONLY; do
		case "$w" in
		"$CASE" | "$CASE:$1") return 0 ;;
		esac
	done
	return 1
}

# UPTIME_CS=the guest's uptime in hundredths of a second (a builtin read).
uptime_cs() {
	local up rest
	read -r up rest </proc/uptime
	# "1${frac} - 100": a fraction such as 08 is not read as octal.
	UPTIME_CS=$((${up%.*} * 100 + 1${up#*.} - 100))
}

# run_case LABEL FUNC [ARGS...]: run FUNC ARGS in a subshell, with markers.
run_case() {
	local label="$1" ok=1 left="" t0
	shift
	selected "$label" || return 0
	echo "@@IRONSCOPE CASE $CASE:$label BEGIN"
	uptime_cs
	t0=$UPTIME_CS
	: >"$RUNNING"
	(HOOK=$label; "$@") || ok=
	# A tool the case left running would skew every later case.
	read -r left <"$RUNNING"
	if [ -n "$left" ] && alive "$left"; then
		kill -KILL "$left"
		echo "FAIL: [$CASE:$label] the case ended with $TOOL (pid $left) still running"
		ok=
	fi
	uptime_cs
	# run.sh sums these into the per-case and per-kernel times it prints.
	echo "@@IRONSCOPE TIME $CASE:$label $((UPTIME_CS - t0))"
	if [ -n "$ok" ]; then
		echo "@@IRONSCOPE CASE $CASE:$label PASS"
	else
		echo "@@IRONSCOPE CASE $CASE:$label FAIL"
		CASE_FAILED=1
		return 1
	fi
}

# run_hooks FUNC: run_case once per word of $HOOKS, passing the hook to FUNC.
# The script's exit status says whether all of them passed.
run_hooks() {
	local hook
	[ -n "$HOOKS" ] || { echo "FAIL: [$TOOL] HOOKS is empty"; exit 1; }
	for hook in $HOOKS; do
		run_case "$hook" "$1" "$hook" || :
	done
	[ -z "$CASE_FAILED" ]
}

# expect_refused ARGS...: "$TOOL ARGS" must exit non-zero, promptly, saying
# why on stderr (e.g. --attach with a hook kind the tool does not have).
expect_refused() {
	local rc
	log "run (must refuse): $TOOL $*"
	timeout 60 "$TOOL" "$@" >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -ne 0 ] || fail "accepted: $TOOL $*"
	[ "$rc" -ne 124 ] || fail "hung instead of refusing: $TOOL $*"
	[ -s "$ERR" ] || fail "refused (status $rc) without a message: $TOOL $*"
}
