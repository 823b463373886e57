/* cachestat's counters (a per-CPU array indexed by these), shared with
 * src/tools/cachestat.rs. All count pages except CS_BUFFERS_DIRTIED. */
#pragma once

enum cachestat_counter {
	CS_ACCESSED = 0,	/* page cache accesses (bcc: mark_page_accessed) */
	CS_BUFFERS_DIRTIED = 1,	/* buffers dirtied (bcc: mark_buffer_dirty) */
	CS_ADDED = 2,		/* pages added to the page cache (bcc: add_to_page_cache_lru) */
	CS_PAGES_DIRTIED = 3,	/* pages dirtied (bcc: account_page_dirtied) */
	CS_COUNTERS = 4,
};
