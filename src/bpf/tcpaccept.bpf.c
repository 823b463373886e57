/* tcpaccept, kernel side: passive TCP connections handed to a process by
 * accept(), IPv4 and IPv6.
 *
 * With fentry/kprobes: inet_csk_accept's return value, as bcc. Without: the
 * accept()/accept4() syscalls' exit, with the new descriptor resolved to its
 * socket (task -> files -> fd -> file -> socket -> sock). Both run in the
 * accepting task. The syscall path does not see accepts made by io_uring or
 * inside the kernel. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/sock.bpf.h"
#include "common/emit.bpf.h"
#include "tcpaccept.h"

/* Keeps the record type in the object's BTF for the skeleton's Rust types. */
const struct tcpaccept_event *unused_tcpaccept_event __attribute__((unused));

const volatile bool filter_lports = false;

PORT_SET(lports);

static __always_inline void report(const struct sock *sk)
{
	struct tcpaccept_event *e;
	struct net_tuple t;
	__u64 id;

	if (!sock_is_tcp(sk))
		return;
	sock_tuple(sk, &t);
	if (!family_wanted(t.family))
		return;
	if (filter_lports && !port_in(&lports, t.sport))
		return;
	e = emit_reserve(sizeof(*e));
	if (!e)
		return;
	id = bpf_get_current_pid_tgid();
	e->t = t;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	emit_submit(e);
}

/* inet_csk_accept's arguments changed in 6.10; its return value did not. */
SEC("fexit/inet_csk_accept")
int BPF_PROG(fexit_inet_csk_accept)
{
	__u64 ret = 0;

	if (bpf_get_func_ret(ctx, &ret) || !ret || !filter_current())
		return 0;
	report((const struct sock *)ret);
	return 0;
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(kretprobe_inet_csk_accept, struct sock *sk)
{
	if (!sk || !filter_current())
		return 0;
	report(sk);
	return 0;
}

static __always_inline int on_accept_exit(long fd)
{
	if (fd < 0 || !filter_current())
		return 0;
	report(sock_of_fd(fd));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
}
