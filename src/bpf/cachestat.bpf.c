/* cachestat, kernel side: page cache accesses, additions and dirtying,
 * counted per CPU; user space turns them into hits and misses.
 *
 * With fentry or kprobes: bcc's functions (folio_mark_accessed,
 * filemap_add_folio, mark_buffer_dirty) and the writeback_dirty_folio
 * tracepoint (folio_account_dirtied is static and often inlined).
 * Without: tracepoints only. Additions, dirtied pages and dirtied buffers
 * have exact tracepoints; accesses do not, so they are the pages each
 * buffered read asks filemap_get_pages for (clipped to EOF) plus file page
 * faults: reads only, where bcc's count also includes writes. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/core_fixes.bpf.h"
#include "cachestat.h"

/* log2(page size), from user space. */
const volatile __u32 page_shift = 12;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The caller has applied the filters. */
static __always_inline void add(__u32 which, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += n;
}

/* ---- bcc's functions ---- */

SEC("fentry/folio_mark_accessed")
int BPF_PROG(fentry_mark_accessed, struct folio *folio)
{
	if (filter_current())
		add(CS_ACCESSED, folio_pages(folio));
	return 0;
}

SEC("fentry/filemap_add_folio")
int BPF_PROG(fentry_add_folio, struct address_space *mapping, struct folio *folio)
{
	if (filter_current())
		add(CS_ADDED, folio_pages(folio));
	return 0;
}

SEC("fentry/mark_buffer_dirty")
int BPF_PROG(fentry_mark_buffer_dirty)
{
	if (filter_current())
		add(CS_BUFFERS_DIRTIED, 1);
	return 0;
}

SEC("kprobe/folio_mark_accessed")
int BPF_KPROBE(kprobe_mark_accessed, struct folio *folio)
{
	if (filter_current())
		add(CS_ACCESSED, folio_pages(folio));
	return 0;
}

SEC("kprobe/filemap_add_folio")
int BPF_KPROBE(kprobe_add_folio, struct address_space *mapping, struct folio *folio)
{
	if (filter_current())
		add(CS_ADDED, folio_pages(folio));
	return 0;
}

SEC("kprobe/mark_buffer_dirty")
int BPF_KPROBE(kprobe_mark_buffer_dirty)
{
	if (filter_current())
		add(CS_BUFFERS_DIRTIED, 1);
	return 0;
}

/* ---- tracepoints ---- */

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(tp_dirty_folio, struct folio *folio)
{
	if (filter_current())
		add(CS_PAGES_DIRTIED, folio_pages(folio));
	return 0;
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(tp_add_to_page_cache, struct folio *folio)
{
	if (filter_current())
		add(CS_ADDED, folio_pages(folio));
	return 0;
}

SEC("tp_btf/block_dirty_buffer")
int BPF_PROG(tp_dirty_buffer)
{
	if (filter_current())
		add(CS_BUFFERS_DIRTIED, 1);
	return 0;
}

/* The read a thread is in: filemap_read calls filemap_get_pages once per
 * batch of folios, each time with the same last page and a higher first
 * one; only the first call of a read is counted, for its whole range. */
struct read_state {
	void *mapping;
	__u64 index;
	__u64 last;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct read_state);
} reads SEC(".maps");

SEC("tp_btf/mm_filemap_get_pages")
int BPF_PROG(tp_get_pages, struct address_space *mapping, unsigned long index, unsigned long last)
{
	struct read_state *st;
	bool same_read;
	long long size;
	__u64 eof;

	if (!filter_current())
		return 0;
	st = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	same_read = st->mapping == mapping && st->last == last && index > st->index;
	st->mapping = mapping;
	st->index = index;
	st->last = last;
	if (same_read)
		return 0;
	/* A read may ask past EOF (a large buffer on a small file). */
	size = BPF_CORE_READ(mapping, host, i_size);
	if (size <= 0)
		return 0;
	eof = (__u64)(size - 1) >> page_shift;
	if (last > eof)
		last = eof;
	if (last >= index)
		add(CS_ACCESSED, last - index + 1);
	return 0;
}

SEC("tp_btf/mm_filemap_fault")
int BPF_PROG(tp_fault)
{
	if (filter_current())
		add(CS_ACCESSED, 1);
	return 0;
}
