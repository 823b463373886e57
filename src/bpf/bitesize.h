/* bitesize's histogram map, shared by bitesize.bpf.c and src/tools/bitesize.rs. */
#pragma once
#include "common/hist.bpf.h"

struct bitesize_key {
	char comm[16];		/* the issuer's command name */
};

struct bitesize_hist {
	__u64 slots[HIST_SLOTS];	/* log2 of the size in Kbytes */
};
