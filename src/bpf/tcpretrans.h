/* tcpretrans's record, shared by tcpretrans.bpf.c and src/tools/tcpretrans.rs. */
#pragma once
#include "common/sock.h"

/* type */
#define TCPRETRANS_RETRANSMIT 1	/* "R>": a segment sent again */
#define TCPRETRANS_LOSS_PROBE 2	/* "L>": a tail loss probe attempt */

struct tcpretrans_event {
	struct net_tuple t;
	__u64 ts_ns;
	__u32 pid;		/* whoever was on the CPU: usually 0, a timer */
	__s32 state;		/* the socket's TCP state */
	__u32 seq;		/* first sequence number of the segment (R only) */
	__u32 type;
};
