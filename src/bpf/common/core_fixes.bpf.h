/* Kernel-version differences, resolved at load time with CO-RE so one object
 * runs on every kernel from 5.x to today. */
#pragma once
#include "common/vmlinux_all.bpf.h"

/* task_struct->state became __state in 5.14. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/* request->rq_disk went away in 5.17; since 5.15 the disk is request->q->disk. */
struct request___pre517 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *request_disk(struct request *rq)
{
	struct request___pre517 *old = (void *)rq;

	if (bpf_core_field_exists(old->rq_disk))
		return BPF_CORE_READ(old, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

/* Pages in a folio (folio_nr_pages). Large folios keep the count in their
 * second page: `_nr_pages` (recent), `_folio_nr_pages` (e.g. 6.1), or
 * only the order in `_flags_1`. `flags` is the first word of every
 * page/folio in all versions (its type changed in 6.17), hence the plain
 * read. */
struct folio___v61 {
	unsigned int _folio_nr_pages;
} __attribute__((preserve_access_index));

static __always_inline __u64 folio_pages(struct folio *folio)
{
	unsigned long flags = 0;
	int head = bpf_core_enum_value(enum pageflags, PG_head);

	if (!folio || bpf_probe_read_kernel(&flags, sizeof(flags), folio))
		return 1;
	if (!(flags & (1UL << head)))
		return 1;
	if (bpf_core_field_exists(folio->_nr_pages))
		return BPF_CORE_READ(folio, _nr_pages);
	if (bpf_core_field_exists(((struct folio___v61 *)folio)->_folio_nr_pages))
		return BPF_CORE_READ((struct folio___v61 *)folio, _folio_nr_pages);
	if (bpf_core_field_exists(folio->_flags_1))
		return 1UL << (BPF_CORE_READ(folio, _flags_1) & 0xff);
	return 1;
}
