/* A TCP/IP connection's endpoints as network tools hand them to user space
 * (decoded by src/runtime/net.rs). Included by tools' record headers. */
#pragma once

struct net_tuple {
	__u8 saddr[16];		/* local address: the first 4 bytes for IPv4 */
	__u8 daddr[16];		/* remote address */
	__u16 sport;		/* local port, host order */
	__u16 dport;		/* remote port, host order */
	__u16 family;		/* AF_INET (2) or AF_INET6 (10) */
	__u16 pad;
};
