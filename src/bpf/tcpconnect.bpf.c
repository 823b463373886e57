/* tcpconnect, kernel side: active TCP connects (a SYN sent), IPv4 and IPv6.
 *
 * With fentry/kprobes: tcp_v4_connect/tcp_v6_connect returning 0, as bcc.
 * Without: sock:inet_sock_set_state CLOSE -> SYN_SENT, which the kernel
 * fires inside tcp_v{4,6}_connect in the connecting task's context. At that
 * point the local port is often still 0 (inet_hash_connect picks it right
 * after), so the connect is remembered and reported at the first moment the
 * port is known and the SYN has gone out: the connect() syscall's exit, the
 * socket's next state change (ESTABLISHED, or CLOSE on refusal/timeout), or a
 * SYN retransmit, whichever comes first. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/sock.bpf.h"
#include "common/emit.bpf.h"
#include "tcpconnect.h"

/* The skeleton's Rust types come from this object's BTF, where a record that
 * is only ever a cast of ring-buffer memory would be missing. */
const struct tcpconnect_event *unused_tcpconnect_event __attribute__((unused));

const volatile bool count_mode = false;
const volatile bool filter_dports = false;

PORT_SET(dports);

/* Who connected, recorded in the connecting task. */
struct owner {
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 pad;
	char comm[TCPCONNECT_COMM_LEN];
};

/* Tracepoint path: sockets in SYN_SENT not yet reported, by socket. LRU: a
 * socket that vanishes unseen (it cannot, but be safe) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct owner);
} pending SEC(".maps");

/* The socket a thread is connecting: kprobe entry -> return, and on the
 * tracepoint path SYN_SENT -> connect()'s exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} connecting SEC(".maps");

/* -c: connects per source address and destination address/port (sport 0). */
TUPLE_COUNTS(counts);

static __always_inline void owner_current(struct owner *o)
{
	__u64 id = bpf_get_current_pid_tgid();

	__builtin_memset(o, 0, sizeof(*o));
	o->ts_ns = bpf_ktime_get_ns();
	o->pid = id >> 32;
	o->tid = (__u32)id;
	o->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Family and destination port are known before connect picks a port. */
static __always_inline bool dest_wanted(const struct sock *sk)
{
	if (!family_wanted(sock_family(sk)))
		return false;
	if (filter_dports && !port_in(&dports, bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport))))
		return false;
	return true;
}

static __always_inline void report(const struct sock *sk, const struct owner *o)
{
	struct tcpconnect_event *e;

	if (count_mode) {
		struct net_tuple key;

		sock_tuple(sk, &key);
		key.sport = 0;
		tuple_count(&counts, &key);
		return;
	}
	e = emit_reserve(sizeof(*e));
	if (!e)
		return;
	sock_tuple(sk, &e->t);
	e->ts_ns = o->ts_ns;
	e->pid = o->pid;
	e->tid = o->tid;
	e->uid = o->uid;
	e->pad = 0;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	emit_submit(e);
}

/* ---- fentry/fexit: the connect functions' return values ---- */

static __always_inline int on_connect_return(struct sock *sk, int ret)
{
	struct owner o;

	if (ret || !filter_current() || !dest_wanted(sk))
		return 0;
	owner_current(&o);
	report(sk, &o);
	return 0;
}

SEC("fexit/tcp_v4_connect")
int BPF_PROG(fexit_tcp_v4_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	/* An IPv6 socket connecting to a v4-mapped address goes through here
	 * from tcp_v6_connect, whose own return reports it. */
	if (sock_family(sk) == AF_INET6)
		return 0;
	return on_connect_return(sk, ret);
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fexit_tcp_v6_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	return on_connect_return(sk, ret);
}

/* ---- kprobes: entry remembers the socket, return reports it ---- */

static __always_inline int on_connect_entry(struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 key = (__u64)sk;

	if (!filter_current())
		return 0;
	bpf_map_update_elem(&connecting, &tid, &key, BPF_ANY);
	return 0;
}

static __always_inline int on_connect_kret(int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *skp = bpf_map_lookup_elem(&connecting, &tid);
	struct sock *sk;

	if (!skp)
		return 0;
	sk = (struct sock *)*skp;
	bpf_map_delete_elem(&connecting, &tid);
	/* Filters passed at entry. */
	if (ret == 0 && dest_wanted(sk)) {
		struct owner o;

		owner_current(&o);
		report(sk, &o);
	}
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_v4_connect, struct sock *sk)
{
	return on_connect_entry(sk);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_tcp_v4_connect, int ret)
{
	return on_connect_kret(ret);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_tcp_v6_connect, struct sock *sk)
{
	return on_connect_entry(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_tcp_v6_connect, int ret)
{
	return on_connect_kret(ret);
}

/* ---- tracepoints ---- */

/* Whether the SYN has been handed to IP: tcp_connect() counts it in
 * segs_out. A connect failing before that (no free port, no route) is one
 * bcc's hook would not report either. */
static __always_inline bool syn_sent(const struct sock *sk)
{
	return BPF_CORE_READ((struct tcp_sock *)sk, segs_out) > 0;
}

/* Report a pending connect once, if its SYN went out. */
static __always_inline void settle(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct owner *o = bpf_map_lookup_elem(&pending, &key);

	if (!o)
		return;
	if (syn_sent(sk))
		report(sk, o);
	bpf_map_delete_elem(&pending, &key);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT && oldstate == TCP_CLOSE) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u64 key = (__u64)sk;
		struct owner o;

		if (!sock_is_tcp(sk) || !filter_current() || !dest_wanted(sk))
			return 0;
		owner_current(&o);
		bpf_map_update_elem(&pending, &key, &o, BPF_ANY);
		bpf_map_update_elem(&connecting, &tid, &key, BPF_ANY);
		return 0;
	}
	if (oldstate == TCP_SYN_SENT)
		settle(sk);
	return 0;
}

/* A non-blocking connect returns EINPROGRESS with the SYN out and the port
 * chosen; a blocking one has usually been settled by ESTABLISHED already. */
SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *skp = bpf_map_lookup_elem(&connecting, &tid);
	__u64 key;

	if (!skp)
		return 0;
	key = *skp;
	bpf_map_delete_elem(&connecting, &tid);
	settle((const struct sock *)key);
	return 0;
}

/* A SYN to a silent peer: report at the first retransmit (about 1 s) rather
 * than when a blocking connect() gives up minutes later. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tp_tcp_retransmit_skb, const struct sock *sk)
{
	if (sock_state(sk) == TCP_SYN_SENT)
		settle(sk);
	return 0;
}
