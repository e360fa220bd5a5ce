//! MEMORY DOCTOR: Redis 7.0.15's `getMemoryDoctorReport` (`object.c`), its decision rules and texts, over
//! figures the server supplies; and MEMORY HELP.
//!
//! Rules, checked only from 5 MiB allocated (below it the "empty instance" text):
//! - peak over 1.5 times the current allocation (as `float`);
//! - RSS over 1.4 times the sampled allocation and more than 10 MiB above it;
//! - allocator active over 1.1 times allocated and more than 10 MiB above it;
//! - allocator resident over 1.1 times active and more than 10 MiB above it;
//! - process RSS over 1.1 times allocator resident and more than 10 MiB above it (Redis's unsigned difference);
//! - normal clients' buffers over 200 KiB per normal client (integer division);
//! - replicas present and their buffers over 10 MiB;
//! - more than 1000 cached scripts.

use zedis_resp::{reply, Protocol};

use crate::debug_help::MEMORY_HELP;
use crate::help::reply_help;

/// The allocator sample Redis takes in its cron (`server.cron_malloc_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MallocSample {
    /// Process resident set size (INFO `used_memory_rss`).
    pub process_rss_bytes: u64,
    /// Bytes the server had allocated when RSS was sampled.
    pub used_bytes: u64,
    /// Bytes the allocator handed out (`allocator_allocated`).
    pub allocator_allocated_bytes: u64,
    /// Bytes in the allocator's active pages (`allocator_active`).
    pub allocator_active_bytes: u64,
    /// Bytes the allocator keeps resident (`allocator_resident`).
    pub allocator_resident_bytes: u64,
}

/// What MEMORY DOCTOR reads (Redis's `getMemoryOverheadData` and `server.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryDoctorInputs<'a> {
    /// Bytes allocated now (INFO `used_memory`; Zedis: the budget's `used()`).
    pub total_allocated_bytes: u64,
    /// Peak of that (INFO `used_memory_peak`).
    pub peak_allocated_bytes: u64,
    /// The last allocator sample.
    pub sample: MallocSample,
    /// Connected clients that are not replicas (INFO `connected_clients`).
    pub normal_clients: u64,
    /// Their query and output buffers (MEMORY STATS `clients.normal`).
    pub normal_clients_bytes: u64,
    /// Connected replicas.
    pub replicas: u64,
    /// Replica buffers beyond the backlog (MEMORY STATS `clients.slaves`).
    pub replicas_bytes: u64,
    /// Scripts in the EVAL cache (INFO `number_of_cached_scripts`).
    pub cached_scripts: u64,
    /// The allocator's name in the fragmentation advice (Redis's `ZMALLOC_LIB`, INFO `mem_allocator`).
    pub allocator: &'a str,
}

/// Which issues the doctor found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Findings {
    /// Under 5 MiB allocated: nothing else is checked.
    pub empty: bool,
    /// Peak over 150% of current.
    pub big_peak: bool,
    /// Total RSS overhead.
    pub high_frag: bool,
    /// Allocator external fragmentation.
    pub high_alloc_frag: bool,
    /// Allocator RSS overhead.
    pub high_alloc_rss: bool,
    /// Non-allocator RSS overhead.
    pub high_proc_rss: bool,
    /// Replica buffers.
    pub big_replica_buf: bool,
    /// Client buffers.
    pub big_client_buf: bool,
    /// Script cache size.
    pub many_scripts: bool,
}

const MB_10: i64 = 10 << 20;

fn ratio(a: u64, b: u64) -> f32 {
    a as f32 / b as f32
}

fn over(a: u64, b: u64, ratio_min: f32) -> bool {
    // Redis keeps these differences in ssize_t.
    ratio(a, b) > ratio_min && (a as i64).wrapping_sub(b as i64) > MB_10
}

/// Redis's decision rules.
pub fn findings(inputs: &MemoryDoctorInputs<'_>) -> Findings {
    if inputs.total_allocated_bytes < 5 * 1024 * 1024 {
        return Findings {
            empty: true,
            ..Findings::default()
        };
    }
    let s = &inputs.sample;
    Findings {
        empty: false,
        big_peak: ratio(inputs.peak_allocated_bytes, inputs.total_allocated_bytes) > 1.5,
        high_frag: over(s.process_rss_bytes, s.used_bytes, 1.4),
        high_alloc_frag: over(s.allocator_active_bytes, s.allocator_allocated_bytes, 1.1),
        high_alloc_rss: over(s.allocator_resident_bytes, s.allocator_active_bytes, 1.1),
        // rss_extra_bytes is a size_t in Redis: a negative difference compares as huge.
        high_proc_rss: ratio(s.process_rss_bytes, s.allocator_resident_bytes) > 1.1
            && s.process_rss_bytes.wrapping_sub(s.allocator_resident_bytes) > MB_10 as u64,
        // Redis divides by the client count unchecked (there is always the caller); 0 clients: no finding.
        big_client_buf: inputs
            .normal_clients_bytes
            .checked_div(inputs.normal_clients)
            .is_some_and(|avg| avg > 1024 * 200),
        big_replica_buf: inputs.replicas > 0 && inputs.replicas_bytes > 1024 * 1024 * 10,
        many_scripts: inputs.cached_scripts > 1000,
    }
}

const NO_ISSUES: &str = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
const EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
const HEADER: &str = "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
const FOOTER: &str = "I'm here to keep you safe, Sam. I want to help you.\n";
const BIG_PEAK: &str = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n";
const HIGH_FRAG_BEFORE: &str = " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"";
const HIGH_FRAG_AFTER: &str = "\".\n\n";
const HIGH_ALLOC_FRAG: &str = " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n";
const HIGH_ALLOC_RSS: &str = " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n";
const HIGH_PROC_RSS: &str = " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n";
const BIG_REPLICA_BUF: &str = " * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n";
const BIG_CLIENT_BUF: &str = " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n";
const MANY_SCRIPTS: &str = " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n";

/// The report text for these findings (`allocator` fills the fragmentation advice).
pub fn report_for(f: &Findings, allocator: &str) -> String {
    if f.empty {
        return EMPTY.to_owned();
    }
    let parts = [
        (f.big_peak, BIG_PEAK),
        (f.high_frag, ""),
        (f.high_alloc_frag, HIGH_ALLOC_FRAG),
        (f.high_alloc_rss, HIGH_ALLOC_RSS),
        (f.high_proc_rss, HIGH_PROC_RSS),
        (f.big_replica_buf, BIG_REPLICA_BUF),
        (f.big_client_buf, BIG_CLIENT_BUF),
        (f.many_scripts, MANY_SCRIPTS),
    ];
    if !parts.iter().any(|(found, _)| *found) {
        return NO_ISSUES.to_owned();
    }
    let mut s = String::from(HEADER);
    for (found, text) in parts {
        if !found {
            continue;
        }
        if text.is_empty() {
            s.push_str(HIGH_FRAG_BEFORE);
            s.push_str(allocator);
            s.push_str(HIGH_FRAG_AFTER);
        } else {
            s.push_str(text);
        }
    }
    s.push_str(FOOTER);
    s
}

/// MEMORY DOCTOR's text.
pub fn report(inputs: &MemoryDoctorInputs<'_>) -> String {
    report_for(&findings(inputs), inputs.allocator)
}

/// MEMORY DOCTOR's reply: the report as a verbatim `txt` string.
pub fn reply_memory_doctor(out: &mut Vec<u8>, proto: Protocol, inputs: &MemoryDoctorInputs<'_>) {
    reply::verbatim(out, proto, b"txt", report(inputs).as_bytes());
}

/// MEMORY HELP.
pub fn reply_memory_help(out: &mut Vec<u8>) {
    reply_help(out, "MEMORY", MEMORY_HELP);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn healthy() -> MemoryDoctorInputs<'static> {
        MemoryDoctorInputs {
            total_allocated_bytes: 100 * MB,
            peak_allocated_bytes: 120 * MB,
            sample: MallocSample {
                process_rss_bytes: 110 * MB,
                used_bytes: 100 * MB,
                allocator_allocated_bytes: 100 * MB,
                allocator_active_bytes: 101 * MB,
                allocator_resident_bytes: 105 * MB,
            },
            normal_clients: 1,
            normal_clients_bytes: 20_000,
            replicas: 0,
            replicas_bytes: 0,
            cached_scripts: 0,
            allocator: "libc",
        }
    }

    #[test]
    fn empty_healthy_and_each_rule() {
        let mut i = healthy();
        assert_eq!(report(&i), NO_ISSUES);
        i.total_allocated_bytes = 5 * MB - 1;
        assert_eq!(report(&i), EMPTY);
        let mut i = healthy();
        i.peak_allocated_bytes = 151 * MB;
        assert_eq!(report(&i), format!("{HEADER}{BIG_PEAK}{FOOTER}"));
        let mut i = healthy();
        i.sample.process_rss_bytes = 141 * MB;
        i.sample.allocator_resident_bytes = 140 * MB;
        i.sample.allocator_active_bytes = 130 * MB;
        let text = report(&i);
        assert!(text.contains("The currently used allocator is \"libc\".\n\n"));
        assert!(text.contains(HIGH_ALLOC_FRAG) && !text.contains(HIGH_ALLOC_RSS));
        let mut i = healthy();
        i.normal_clients = 2;
        i.normal_clients_bytes = 2 * 200 * 1024 + 2;
        i.replicas = 1;
        i.replicas_bytes = 10 * MB + 1;
        i.cached_scripts = 1001;
        assert_eq!(
            report(&i),
            format!("{HEADER}{BIG_REPLICA_BUF}{BIG_CLIENT_BUF}{MANY_SCRIPTS}{FOOTER}")
        );
        i.normal_clients = 0;
        assert!(!findings(&i).big_client_buf);
    }

    proptest::proptest! {
        /// Any figures: the report is the empty text, the no-issue text, or the header, exactly the flagged
        /// sections in Redis's order, and the footer.
        #[test]
        fn report_lists_flagged_sections_in_order(
            figures in proptest::collection::vec(0u64..400 * MB, 8),
            counts in proptest::collection::vec(0u64..3000, 3),
        ) {
            let inputs = MemoryDoctorInputs {
                total_allocated_bytes: figures[0],
                peak_allocated_bytes: figures[1],
                sample: MallocSample {
                    process_rss_bytes: figures[2],
                    used_bytes: figures[3],
                    allocator_allocated_bytes: figures[4],
                    allocator_active_bytes: figures[5],
                    allocator_resident_bytes: figures[6],
                },
                normal_clients: counts[0] % 5,
                normal_clients_bytes: figures[7] / 100,
                replicas: counts[1] % 3,
                replicas_bytes: figures[7] / 10,
                cached_scripts: counts[2],
                allocator: "libc",
            };
            let f = findings(&inputs);
            let text = report(&inputs);
            let sections = [
                (f.big_peak, " * Peak memory:"),
                (f.high_frag, " * High total RSS:"),
                (f.high_alloc_frag, " * High allocator fragmentation:"),
                (f.high_alloc_rss, " * High allocator RSS overhead:"),
                (f.high_proc_rss, " * High process RSS overhead:"),
                (f.big_replica_buf, " * Big replica buffers:"),
                (f.big_client_buf, " * Big client buffers:"),
                (f.many_scripts, " * Many scripts:"),
            ];
            if f.empty {
                proptest::prop_assert_eq!(text, EMPTY);
            } else if sections.iter().all(|(found, _)| !found) {
                proptest::prop_assert_eq!(text, NO_ISSUES);
            } else {
                proptest::prop_assert!(text.starts_with(HEADER) && text.ends_with(FOOTER));
                let mut at = 0;
                for (found, title) in sections {
                    match text.find(title) {
                        Some(pos) => {
                            proptest::prop_assert!(found && pos >= at);
                            at = pos;
                        }
                        None => proptest::prop_assert!(!found),
                    }
                }
            }
        }
    }

    #[test]
    fn rss_below_allocator_resident_is_no_finding() {
        let mut i = healthy();
        i.sample.process_rss_bytes = 50 * MB;
        assert!(!findings(&i).high_proc_rss);
    }
}
