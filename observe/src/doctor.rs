//! LATENCY DOCTOR: Redis 7.0's `createLatencyReport`, the per-event statistics and the advice it derives from
//! which events were seen and how the server is configured.

use crate::latency::{LatencyMonitor, TimeSeries};

/// What the report reads from outside the monitor (Redis reads these from `server.*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoctorInputs {
    /// `slowlog-log-slower-than` in µs (negative: slow log disabled).
    pub slowlog_log_slower_than_us: i64,
    /// INFO's `latest_fork_usec`-derived fork rate in GB/s (Redis's `stat_fork_rate`; 0 before any fork).
    pub fork_rate_gb_per_s: f64,
    /// Whether `appendfsync` is `always`.
    pub aof_fsync_always: bool,
    /// The `hz` setting.
    pub hz: u32,
    /// The process's `AnonHugePages` bytes (see [`anon_huge_pages_bytes`]).
    pub anon_huge_pages_bytes: u64,
}

/// Per-event statistics over its current samples (Redis's `struct latencyStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Highest latency since the event was created or reset.
    pub all_time_high_ms: u32,
    /// Mean of the samples (integer division).
    pub avg_ms: u32,
    /// Lowest sample.
    pub min_ms: u32,
    /// Highest sample.
    pub max_ms: u32,
    /// Mean absolute deviation from `avg_ms` (integer division).
    pub mad_ms: u32,
    /// Number of samples.
    pub samples: u32,
    /// Seconds from the oldest sample to now (at least 1 when there are samples).
    pub period_s: i64,
}

/// Redis's `analyzeLatencyForEvent`.
pub fn analyze(series: &TimeSeries, now_unix_s: i64) -> EventStats {
    let mut stats = EventStats {
        all_time_high_ms: series.max_ms(),
        ..EventStats::default()
    };
    let mut sum: u64 = 0;
    let mut oldest: i64 = 0;
    for sample in series.samples() {
        stats.samples += 1;
        if stats.samples == 1 {
            stats.min_ms = sample.latency_ms;
            stats.max_ms = sample.latency_ms;
        } else {
            stats.min_ms = stats.min_ms.min(sample.latency_ms);
            stats.max_ms = stats.max_ms.max(sample.latency_ms);
        }
        sum += u64::from(sample.latency_ms);
        let time = i64::from(sample.time_unix_s);
        if oldest == 0 || time < oldest {
            oldest = time;
        }
    }
    if stats.samples == 0 {
        return stats;
    }
    stats.avg_ms = (sum / u64::from(stats.samples)) as u32;
    stats.period_s = (now_unix_s - oldest).max(0);
    if stats.period_s == 0 {
        stats.period_s = 1;
    }
    let deviation: u64 = series
        .samples()
        .map(|s| (i64::from(stats.avg_ms) - i64::from(s.latency_ms)).unsigned_abs())
        .sum();
    stats.mad_ms = (deviation / u64::from(stats.samples)) as u32;
    stats
}

/// Redis's `zmalloc_get_smap_bytes_by_field("AnonHugePages:", pid)`: the sum of that field over
/// `/proc/<pid>/smaps` (the current process when `pid` is `None`), 0 when unreadable.
pub fn anon_huge_pages_bytes(pid: Option<u32>) -> u64 {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/smaps"),
        None => "/proc/self/smaps".to_owned(),
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    text.lines()
        .filter_map(|line| line.strip_prefix("AnonHugePages:"))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .sum()
}

/// Which advice the report ends with (Redis's `advise_*` flags).
#[derive(Debug, Default)]
struct Advice {
    better_vm: bool,
    slowlog_enabled: bool,
    slowlog_tuning: bool,
    slowlog_inspect: bool,
    disk_contention: bool,
    scheduler: bool,
    data_writeback: bool,
    no_appendfsync: bool,
    local_disk: bool,
    ssd: bool,
    write_load_info: bool,
    hz: bool,
    large_objects: bool,
    mass_eviction: bool,
    relax_fsync_policy: bool,
    disable_thp: bool,
    /// How many advices were counted (Redis counts some twice, e.g. per event).
    count: u32,
}

const DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const INTRO: &str = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
const NO_SPIKES: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
const NO_FIX: &str = "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n";

/// LATENCY DOCTOR's report text.
pub fn report(monitor: &LatencyMonitor, inputs: &DoctorInputs, now_unix_s: i64) -> String {
    if monitor.events().next().is_none() && monitor.threshold_ms() == 0 {
        return DISABLED.to_owned();
    }
    let mut out = String::new();
    let mut advice = Advice::default();
    let mut eventnum = 0;
    for (event, series) in monitor.events() {
        eventnum += 1;
        if eventnum == 1 {
            out.push_str(INTRO);
        }
        let stats = analyze(series, now_unix_s);
        out.push_str(&format!(
            "{eventnum}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            stats.samples,
            stats.avg_ms,
            stats.mad_ms,
            stats.period_s as f64 / f64::from(stats.samples),
            series.max_ms()
        ));
        event_advice(
            &mut out,
            &mut advice,
            &event.to_ascii_lowercase(),
            monitor,
            inputs,
        );
        out.push('\n');
    }
    if inputs.anon_huge_pages_bytes > 0 {
        advice.disable_thp = true;
        advice.count += 1;
    }
    if eventnum == 0 && advice.count == 0 {
        out.push_str(NO_SPIKES);
    } else if eventnum > 0 && advice.count == 0 {
        out.push_str(NO_FIX);
    } else {
        write_advice(&mut out, &advice, monitor, inputs);
    }
    out
}

/// The event-specific remark and the advice flags an event raises (Redis compares names case-insensitively).
fn event_advice(
    out: &mut String,
    advice: &mut Advice,
    event: &str,
    monitor: &LatencyMonitor,
    inputs: &DoctorInputs,
) {
    match event {
        "fork" => {
            let rate = inputs.fork_rate_gb_per_s;
            let quality = if rate < 10.0 {
                "terrible"
            } else if rate < 25.0 {
                "poor"
            } else if rate < 100.0 {
                "good"
            } else {
                "excellent"
            };
            if rate < 25.0 {
                advice.better_vm = true;
                advice.count += 1;
            }
            out.push_str(&format!(" Fork rate is {rate:.2} GB/sec ({quality})."));
        }
        "command" => {
            if inputs.slowlog_log_slower_than_us < 0 {
                advice.slowlog_enabled = true;
                advice.count += 1;
            } else if inputs.slowlog_log_slower_than_us / 1000 > monitor.threshold_ms() as i64 {
                advice.slowlog_tuning = true;
                advice.count += 1;
            }
            advice.slowlog_inspect = true;
            advice.large_objects = true;
            advice.count += 2;
        }
        "fast-command" => {
            advice.scheduler = true;
            advice.count += 1;
        }
        "aof-write-pending-fsync" => {
            (
                advice.local_disk,
                advice.disk_contention,
                advice.ssd,
                advice.data_writeback,
            ) = (true, true, true, true);
            advice.count += 4;
        }
        "aof-write-active-child" => {
            (advice.no_appendfsync, advice.data_writeback, advice.ssd) = (true, true, true);
            advice.count += 3;
        }
        "aof-write-alone" => {
            (advice.local_disk, advice.data_writeback, advice.ssd) = (true, true, true);
            advice.count += 3;
        }
        "aof-fsync-always" => {
            advice.relax_fsync_policy = true;
            advice.count += 1;
        }
        "aof-fstat" | "rdb-unlink-temp-file" => {
            (advice.disk_contention, advice.local_disk) = (true, true);
            advice.count += 2;
        }
        "aof-rewrite-diff-write" | "aof-rename" => {
            (
                advice.write_load_info,
                advice.data_writeback,
                advice.ssd,
                advice.local_disk,
            ) = (true, true, true, true);
            advice.count += 4;
        }
        "expire-cycle" => {
            (advice.hz, advice.large_objects) = (true, true);
            advice.count += 2;
        }
        "eviction-del" => {
            advice.large_objects = true;
            advice.count += 1;
        }
        "eviction-cycle" => {
            advice.mass_eviction = true;
            advice.count += 1;
        }
        _ => {}
    }
}

/// The closing list of advices, in Redis's order.
fn write_advice(
    out: &mut String,
    advice: &Advice,
    monitor: &LatencyMonitor,
    inputs: &DoctorInputs,
) {
    let threshold_us = monitor.threshold_ms().saturating_mul(1000);
    out.push_str("\nI have a few advices for you:\n\n");
    if advice.better_vm {
        out.push_str("- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n");
    }
    if advice.slowlog_enabled {
        out.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"));
    }
    if advice.slowlog_tuning {
        out.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_us}'.\n"));
    }
    if advice.slowlog_inspect {
        out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if advice.scheduler {
        out.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if advice.local_disk {
        out.push_str("- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n");
    }
    if advice.ssd {
        out.push_str("- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n");
    }
    if advice.data_writeback {
        out.push_str("- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n");
    }
    if advice.disk_contention {
        out.push_str("- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n");
    }
    if advice.no_appendfsync {
        out.push_str("- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n");
    }
    if advice.relax_fsync_policy && inputs.aof_fsync_always {
        out.push_str("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n");
    }
    if advice.write_load_info {
        out.push_str("- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n");
    }
    if advice.hz && inputs.hz < 100 {
        out.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if advice.large_objects {
        out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    if advice.mass_eviction {
        out.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
    }
    if advice.disable_thp {
        out.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> DoctorInputs {
        DoctorInputs {
            slowlog_log_slower_than_us: 10_000,
            fork_rate_gb_per_s: 0.0,
            aof_fsync_always: false,
            hz: 10,
            anon_huge_pages_bytes: 0,
        }
    }

    #[test]
    fn disabled_and_quiet_reports() {
        assert_eq!(report(&LatencyMonitor::new(0), &inputs(), 0), DISABLED);
        assert_eq!(report(&LatencyMonitor::new(5), &inputs(), 0), NO_SPIKES);
    }

    #[test]
    fn stats_and_advice_for_expire_cycle() {
        let mut mon = LatencyMonitor::new(1);
        mon.add_sample("expire-cycle", 10, 100);
        mon.add_sample("expire-cycle", 30, 103);
        let stats = analyze(mon.series(b"expire-cycle").unwrap(), 110);
        assert_eq!(
            (stats.avg_ms, stats.mad_ms, stats.period_s, stats.samples),
            (20, 10, 10, 2)
        );
        let text = report(&mon, &inputs(), 110);
        assert!(text.starts_with(INTRO));
        assert!(text.contains("1. expire-cycle: 2 latency spikes (average 20ms, mean deviation 10ms, period 5.00 sec). Worst all time event 30ms.\n"));
        assert!(text.contains("'CONFIG SET hz 100'"));
        assert!(text.contains("large objects"));
    }
}
