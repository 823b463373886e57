/* One include for every tool: kernel types (CO-RE), libbpf's helpers, and the
 * few constants vmlinux.h cannot carry because they are macros. */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif

char LICENSE[] SEC("license") = "GPL";
