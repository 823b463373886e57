/* One include for every tool: kernel types (CO-RE), libbpf's helpers, and the
 * few constants vmlinux.h cannot carry because they are macros. */
#pragma once
/* The syscall tracepoints' records have a fixed layout (their trace event
 * format is ABI), so they are declared below as plain structs: every type
 * CO-RE relocates costs libbpf a scan of all of the kernel's BTF at load
 * (about 1 ms each on 6.18), and these two are in almost every tool. */
#define trace_event_raw_sys_enter trace_event_raw_sys_enter___vmlinux
#define trace_event_raw_sys_exit trace_event_raw_sys_exit___vmlinux
#include "vmlinux.h"
#undef trace_event_raw_sys_enter
#undef trace_event_raw_sys_exit
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif

struct trace_event_raw_sys_enter {
	__u8 common[8];		/* struct trace_entry */
	long id;
	unsigned long args[6];
};

struct trace_event_raw_sys_exit {
	__u8 common[8];
	long id;
	long ret;
};

_Static_assert(__builtin_offsetof(struct trace_event_raw_sys_enter, args) == 16, "sys_enter");
_Static_assert(__builtin_offsetof(struct trace_event_raw_sys_exit, ret) == 16, "sys_exit");

char LICENSE[] SEC("license") = "GPL";
