/* tcplife, kernel side: TCP sessions with their lifespan and bytes, from
 * sock:inet_sock_set_state (BTF-typed) on every kernel.
 *
 * A session is born at its last state before FIN_WAIT1 (SYN_SENT, SYN_RECV,
 * ESTABLISHED: bcc's rule) and reported when it reaches CLOSE, with
 * tcp_sock's bytes_acked and bytes_received. The state changes mostly run in
 * softirqs, so the process is taken where the kernel runs in its context:
 * connect() (SYN_SENT), and close()/shutdown() (FIN_WAIT1, LAST_ACK); else
 * whoever is on the CPU at CLOSE. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/sock.bpf.h"
#include "common/emit.bpf.h"
#include "tcplife.h"

/* Keeps the record type in the object's BTF for the skeleton's Rust types. */
const struct tcplife_event *unused_tcplife_event __attribute__((unused));

const volatile bool filter_lports = false;
const volatile bool filter_rports = false;

PORT_SET(lports);
PORT_SET(rports);

struct ident {
	__u32 pid;
	__u32 uid;
	__u32 wanted;	/* the common filters passed in that context */
	__u32 pad;
	char comm[TCPLIFE_COMM_LEN];
};

/* LRU: sessions that never close while we trace age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} birth SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ident);
} idents SEC(".maps");

static __always_inline void ident_current(struct ident *id)
{
	__builtin_memset(id, 0, sizeof(*id));
	id->pid = bpf_get_current_pid_tgid() >> 32;
	id->uid = (__u32)bpf_get_current_uid_gid();
	id->wanted = filter_current();
	bpf_get_current_comm(id->comm, sizeof(id->comm));
}

static __always_inline void report(const struct sock *sk, __u64 born, const struct ident *id)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct tcplife_event *e;
	struct net_tuple t;
	__u64 now;

	if (!id->wanted)
		return;
	sock_tuple(sk, &t);
	if (!family_wanted(t.family))
		return;
	if (filter_lports && !port_in(&lports, t.sport))
		return;
	if (filter_rports && !port_in(&rports, t.dport))
		return;
	e = emit_reserve(sizeof(*e));
	if (!e)
		return;
	now = bpf_ktime_get_ns();
	e->t = t;
	e->ts_ns = now;
	e->span_ns = now - born;
	e->tx_bytes = BPF_CORE_READ(tp, bytes_acked);
	e->rx_bytes = BPF_CORE_READ(tp, bytes_received);
	e->pid = id->pid;
	e->uid = id->uid;
	__builtin_memcpy(e->comm, id->comm, sizeof(e->comm));
	emit_submit(e);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk, now, *born;
	struct ident cur, *id;

	if (!sock_is_tcp(sk))
		return 0;
	if (newstate < TCP_FIN_WAIT1) {
		now = bpf_ktime_get_ns();
		bpf_map_update_elem(&birth, &key, &now, BPF_ANY);
	}
	if (newstate == TCP_SYN_SENT || newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK) {
		ident_current(&cur);
		bpf_map_update_elem(&idents, &key, &cur, BPF_ANY);
	}
	if (newstate != TCP_CLOSE)
		return 0;

	born = bpf_map_lookup_elem(&birth, &key);
	if (born) {
		id = bpf_map_lookup_elem(&idents, &key);
		if (id)
			cur = *id;
		else
			ident_current(&cur);
		report(sk, *born, &cur);
	}
	bpf_map_delete_elem(&birth, &key);
	bpf_map_delete_elem(&idents, &key);
	return 0;
}
