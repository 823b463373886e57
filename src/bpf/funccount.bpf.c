/* funccount, kernel side: one counting program per hook kind, attached by
 * user space to as many targets as the pattern matched. Each attachment's
 * BPF cookie is the target's index; fentry copies, which have no cookie on
 * older kernels, count under the traced function's address instead. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"

/* -1: any CPU (bcc's -c). */
const volatile __s32 target_cpu = -1;

/* key: target index (cookie) or, for fentry, function address; value:
 * calls. Sized to the number of targets before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline int bump(__u64 key)
{
	__u64 one = 1, *n;

	if (target_cpu >= 0 && bpf_get_smp_processor_id() != (__u32)target_cpu)
		return 0;
	if (!filter_current())
		return 0;
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		*n += 1;	/* per-CPU value: no other writer */
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}

SEC("fentry")
int BPF_PROG(fentry_count)
{
	return bump(bpf_get_func_ip(ctx));
}

SEC("kprobe.multi")
int kmulti_count(struct pt_regs *ctx)
{
	return bump(bpf_get_attach_cookie(ctx));
}

SEC("kprobe")
int kprobe_count(struct pt_regs *ctx)
{
	return bump(bpf_get_attach_cookie(ctx));
}

SEC("tracepoint")
int tp_count(void *ctx)
{
	return bump(bpf_get_attach_cookie(ctx));
}

SEC("uprobe")
int uprobe_count(struct pt_regs *ctx)
{
	return bump(bpf_get_attach_cookie(ctx));
}
