/* tcpaccept's record, shared by tcpaccept.bpf.c and src/tools/tcpaccept.rs. */
#pragma once
#include "common/sock.h"

#define TCPACCEPT_COMM_LEN 16

/* One accepted connection. */
struct tcpaccept_event {
	struct net_tuple t;	/* s*: local (listening) side, d*: remote */
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 pad;
	char comm[TCPACCEPT_COMM_LEN];
};
