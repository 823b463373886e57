/* tcptop's map types, shared by tcptop.bpf.c and src/tools/tcptop.rs. */
#pragma once
#include "common/sock.h"

#define TCPTOP_COMM_LEN 16

/* Traffic is kept per connection and process. */
struct tcptop_key {
	struct net_tuple t;
	__u32 pid;
	__u32 pad;
};

struct tcptop_val {
	__u64 tx_bytes;
	__u64 rx_bytes;
	char comm[TCPTOP_COMM_LEN];	/* the first task seen for the key */
};
