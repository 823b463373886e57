/* tcplife's record, shared by tcplife.bpf.c and src/tools/tcplife.rs. */
#pragma once
#include "common/sock.h"

#define TCPLIFE_COMM_LEN 16

/* One TCP session that closed. */
struct tcplife_event {
	struct net_tuple t;
	__u64 ts_ns;		/* when it closed */
	__u64 span_ns;		/* from its last state before FIN_WAIT1 */
	__u64 tx_bytes;		/* bytes the peer acknowledged (bytes_acked) */
	__u64 rx_bytes;		/* bytes received (bytes_received) */
	__u32 pid;
	__u32 uid;
	char comm[TCPLIFE_COMM_LEN];
};
