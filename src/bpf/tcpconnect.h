/* tcpconnect's record, shared by tcpconnect.bpf.c and src/tools/tcpconnect.rs. */
#pragma once
#include "common/sock.h"

#define TCPCONNECT_COMM_LEN 16

/* One active connection attempt: a SYN went out. */
struct tcpconnect_event {
	struct net_tuple t;	/* sport: the local port the kernel chose */
	__u64 ts_ns;		/* when connect() ran (bpf_ktime_get_ns) */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 pad;
	char comm[TCPCONNECT_COMM_LEN];
};
