/* tcptop, kernel side: bytes sent and received per TCP connection and
 * process, summed in a hash map that user space drains every interval.
 *
 * fentry/fexit: tcp_sendmsg's return value (bytes sent) and
 * tcp_cleanup_rbuf's copied (bytes read), as bcc; kprobes the same. Without
 * either: sock:sock_send_length and sock:sock_recv_length (6.3+), which
 * report every socket's sendmsg/recvmsg result; peeks (MSG_PEEK) are not
 * reads and are skipped. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/missed.bpf.h"
#include "common/sock.bpf.h"
#include "tcptop.h"

#define MSG_PEEK 2
#ifndef E2BIG
#define E2BIG 7
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcptop_key);
	__type(value, struct tcptop_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} traffic SEC(".maps");


/* kprobe path: the socket of a tcp_sendmsg in flight, by thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sending SEC(".maps");

static __always_inline void account(const struct sock *sk, __u64 tx, __u64 rx)
{
	struct tcptop_key key;
	struct tcptop_val *v;

	if (!sock_is_tcp(sk) || !filter_current())
		return;
	__builtin_memset(&key, 0, sizeof(key));
	sock_tuple(sk, &key.t);
	if (!family_wanted(key.t.family))
		return;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	v = bpf_map_lookup_elem(&traffic, &key);
	if (!v) {
		struct tcptop_val init = {};

		bpf_get_current_comm(init.comm, sizeof(init.comm));
		if (bpf_map_update_elem(&traffic, &key, &init, BPF_NOEXIST) == -E2BIG) {
			count_missed();
			return;
		}
		v = bpf_map_lookup_elem(&traffic, &key);
		if (!v)
			return;
	}
	if (tx)
		__sync_fetch_and_add(&v->tx_bytes, tx);
	if (rx)
		__sync_fetch_and_add(&v->rx_bytes, rx);
}

/* ---- fentry/fexit ---- */

SEC("fexit/tcp_sendmsg")
int BPF_PROG(fexit_tcp_sendmsg, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	if (ret > 0)
		account(sk, ret, 0);
	return 0;
}

SEC("fentry/tcp_cleanup_rbuf")
int BPF_PROG(fentry_tcp_cleanup_rbuf, struct sock *sk, int copied)
{
	if (copied > 0)
		account(sk, 0, copied);
	return 0;
}

/* ---- kprobes ---- */

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(kprobe_tcp_sendmsg, struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 v = (__u64)sk;

	bpf_map_update_elem(&sending, &tid, &v, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(kretprobe_tcp_sendmsg, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *sk = bpf_map_lookup_elem(&sending, &tid);

	if (!sk)
		return 0;
	if (ret > 0)
		account((const struct sock *)*sk, ret, 0);
	bpf_map_delete_elem(&sending, &tid);
	return 0;
}

SEC("kprobe/tcp_cleanup_rbuf")
int BPF_KPROBE(kprobe_tcp_cleanup_rbuf, struct sock *sk, int copied)
{
	if (copied > 0)
		account(sk, 0, copied);
	return 0;
}

/* ---- tracepoints ---- */

SEC("tp_btf/sock_send_length")
int BPF_PROG(tp_sock_send_length, struct sock *sk, int ret, int flags)
{
	if (ret > 0)
		account(sk, ret, 0);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tp_sock_recv_length, struct sock *sk, int ret, int flags)
{
	if (ret > 0 && !(flags & MSG_PEEK))
		account(sk, 0, ret);
	return 0;
}
