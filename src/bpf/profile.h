/* profile's map layouts, shared by profile.bpf.c and src/tools/profile.rs. */
#pragma once

#define PROFILE_MAX_DEPTH 127	/* frames kept per stack (PERF_MAX_STACK_DEPTH) */
#define PROFILE_COMM_LEN 16

/* One unique (process, user stack, kernel stack): the key of `counts`.
 * A stack id < 0 is bpf_get_stackid's error: -EFAULT means there is no
 * such stack (a kernel thread's user stack, or a sample taken in user mode
 * for the kernel stack); anything else means it was lost. */
struct profile_key {
	__u32 pid;
	__s32 user_stack_id;
	__s32 kernel_stack_id;
	char comm[PROFILE_COMM_LEN];
};
