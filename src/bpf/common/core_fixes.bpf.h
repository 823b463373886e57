/* Kernel-version differences, resolved at load time with CO-RE so one object
 * runs on every kernel from 5.x to today. */
#pragma once
#include "common/vmlinux_all.bpf.h"

/* task_struct->state became __state in 5.14. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}
