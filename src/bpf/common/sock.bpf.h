/* Sockets for the network tools: who a struct sock talks to (CO-RE, IPv4 and
 * IPv6), TCP checks, the -4/-6 family filter, port sets, and the socket
 * behind a file descriptor. */
#pragma once
#include "common/vmlinux_all.bpf.h"
#include "common/maps.bpf.h"
#include "common/missed.bpf.h"
#include <bpf/bpf_endian.h>
#include "common/sock.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* -4 / -6: AF_INET or AF_INET6 only; 0 for both. */
const volatile __u16 net_family = 0;

static __always_inline __u16 sock_family(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_family);
}

static __always_inline int sock_state(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_state);
}

/* The local port, host order; 0 until the socket is bound. Read from
 * inet_sport, not skc_num: on the way to TCP_CLOSE the kernel releases the
 * port (skc_num = 0) before sock:inet_sock_set_state fires. */
static __always_inline __u16 sock_lport(const struct sock *sk)
{
	return bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

static __always_inline __u16 sock_protocol(const struct sock *sk)
{
	/* A bitfield before 5.6 and a __u16 since: the probed read takes both. */
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

/* An IPv4 or IPv6 TCP socket (not UDP, SCTP, MPTCP's parent or AF_UNIX). */
static __always_inline bool sock_is_tcp(const struct sock *sk)
{
	__u16 family;

	if (!sk)
		return false;
	family = sock_family(sk);
	if (family != AF_INET && family != AF_INET6)
		return false;
	return sock_protocol(sk) == IPPROTO_TCP;
}

static __always_inline bool family_wanted(__u16 family)
{
	return !net_family || family == net_family;
}

/* Both endpoints of sk into t (all of t is written). */
static __always_inline void sock_tuple(const struct sock *sk, struct net_tuple *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->family = sock_family(sk);
	t->sport = sock_lport(sk);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (t->family == AF_INET6) {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->daddr, sk, __sk_common.skc_daddr);
	}
}

/* A set of ports (host order) that user space fills before tracing; a tool's
 * rodata flag says whether the set is in use (an empty set matches nothing). */
#define PORT_SET(name)                                  \
	struct {                                        \
		__uint(type, BPF_MAP_TYPE_HASH);        \
		__uint(max_entries, 1024);              \
		__type(key, __u16);                     \
		__type(value, __u8);                    \
	} name SEC(".maps")

static __always_inline bool port_in(void *set, __u16 port)
{
	return bpf_map_lookup_elem(set, &port) != NULL;
}

/* Counts per connection (the -c modes), read by runtime::net::read_tuple_counts;
 * a connection that finds the map full is counted in `missed`. */
#define TUPLE_COUNTS(name)                              \
	struct {                                        \
		__uint(type, BPF_MAP_TYPE_HASH);        \
		__uint(max_entries, 10240);             \
		__type(key, struct net_tuple);          \
		__type(value, __u64);                   \
		__uint(map_flags, BPF_F_NO_PREALLOC);   \
	} name SEC(".maps")

static __always_inline void tuple_count(void *map, const struct net_tuple *t)
{
	__u64 zero = 0, *n = map_lookup_or_init(map, t, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		count_missed();
}

/* The socket behind the current task's descriptor fd, or NULL. Only for
 * descriptors known to be sockets (e.g. what accept() just returned). */
static __always_inline struct sock *sock_of_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *file = NULL;
	struct socket *sock;

	if (fd < 0 || fd >= max)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}
