/* tcpretrans, kernel side: TCP retransmits (tcp:tcp_retransmit_skb, on every
 * kernel) and, with -l, tail loss probes (fentry or kprobe on
 * tcp_send_loss_probe: no tracepoint exists for them).
 *
 * Retransmits happen in timers and softirqs, so the pid is whoever was on
 * the CPU; the connection comes from the socket. */
#include "common/vmlinux_all.bpf.h"
#include "common/sock.bpf.h"
#include "common/emit.bpf.h"
#include "tcpretrans.h"

/* Keeps the record type in the object's BTF for the skeleton's Rust types. */
const struct tcpretrans_event *unused_tcpretrans_event __attribute__((unused));

const volatile bool count_mode = false;

/* -c: retransmits (and probes) per connection. */
TUPLE_COUNTS(counts);

static __always_inline void report(const struct sock *sk, __u32 type, __u32 seq)
{
	struct tcpretrans_event *e;
	struct net_tuple t;

	if (!sock_is_tcp(sk))
		return;
	sock_tuple(sk, &t);
	if (!family_wanted(t.family))
		return;
	if (count_mode) {
		tuple_count(&counts, &t);
		return;
	}
	e = emit_reserve(sizeof(*e));
	if (!e)
		return;
	e->t = t;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->state = sock_state(sk);
	e->seq = seq;
	e->type = type;
	emit_submit(e);
}

/* Newer kernels fire the tracepoint for failed attempts too and say so in a
 * third argument, err; only segments that went out count, as on kernels
 * without it (where the tracepoint fires on success only). */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tp_tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	const struct tcp_skb_cb *cb;

	if (bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb, err) && (int)ctx[2])
		return 0;
	cb = (const void *)skb + bpf_core_field_offset(skb->cb);
	report(sk, TCPRETRANS_RETRANSMIT, BPF_CORE_READ(cb, seq));
	return 0;
}

SEC("fentry/tcp_send_loss_probe")
int BPF_PROG(fentry_tcp_send_loss_probe, struct sock *sk)
{
	report(sk, TCPRETRANS_LOSS_PROBE, 0);
	return 0;
}

SEC("kprobe/tcp_send_loss_probe")
int BPF_KPROBE(kprobe_tcp_send_loss_probe, struct sock *sk)
{
	report(sk, TCPRETRANS_LOSS_PROBE, 0);
	return 0;
}
