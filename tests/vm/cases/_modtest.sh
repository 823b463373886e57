# vmtest-modules: loop
. /vmtest/lib.sh
m() { grep -q '^loop ' /proc/modules || fail "loop not loaded"; losetup -f >/dev/null || fail "no loop device"; }
run_case loop m
