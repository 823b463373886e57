/* profile, kernel side: on every tick of the CPU clock perf event, count the
 * interrupted task's (process, user stack, kernel stack) in a hash map; the
 * stacks themselves go to a stack-trace map, so only new stacks cost memory. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/maps.bpf.h"
#include "common/missed.bpf.h"
#include "profile.h"

const volatile bool kernel_stacks = true;
const volatile bool user_stacks = true;
const volatile bool include_idle = false;

/* Both sized by --stack-storage-size before load. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROFILE_MAX_DEPTH * sizeof(__u64));
	__uint(max_entries, 1024);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

#define NO_STACK (-1)

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct profile_key key = {};
	__u64 zero = 0, *count;

	/* Thread id 0 is a CPU's idle task. */
	if (!include_idle && (__u32)id == 0)
		return 0;
	if (!filter_current())
		return 0;
	key.pid = id >> 32;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.kernel_stack_id = kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : NO_STACK;
	key.user_stack_id = user_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : NO_STACK;

	count = map_lookup_or_init(&counts, &key, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		count_missed();	/* `counts` is full */
	return 0;
}
