//! Zedis's per-strategy allocator report: the figures of the `GlobalBudget`, its components, and the KV,
//! request-arena and client-pool strategies, written as `DEBUG JMAP` (INFO-style `key:value` lines, for
//! tools) and as `MEMORY MALLOC-STATS` (a framed human-readable block).
//!
//! Redis built with jemalloc answers MALLOC-STATS with `je_malloc_stats_print`'s text (arenas, bins, extents;
//! between `___ Begin jemalloc statistics ___` and `--- End jemalloc statistics ---`). Zedis's memory is not
//! one jemalloc heap but strategies charging a budget, so its text keeps only the framing idea: it lies
//! between `___ Begin zedis allocator statistics ___` and `--- End zedis allocator statistics ---`, and
//! lists the strategies' own figures instead of jemalloc's. Both replies are verbatim `txt` strings (bulk
//! strings in RESP2), as Redis sends MALLOC-STATS. The server fills [`AllocatorReport`] from
//! `zedis_budget::current()` (`limit()`, `used()`, `peak()`, `used_by`/`peak_by` per `Component::ALL`) and
//! the strategies' `stats()` (`KvStats`, `ArenaStats`, `ClientPoolStats`) with their `NAME`s.

use std::fmt::Write as _;

use zedis_resp::{reply, Protocol};

/// The budget's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetFigures {
    /// `maxmemory` as the budget enforces it; 0 = unlimited.
    pub limit_bytes: u64,
    /// Bytes charged now (all components).
    pub used_bytes: u64,
    /// Most bytes charged at once since start or the last peak reset.
    pub peak_bytes: u64,
}

/// One budget component (`Component::name()`, `used_by`, `peak_by`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComponentFigures<'a> {
    /// `keyspace`, `request_arena`, `clients`, `pubsub`, `persistence`, `other`, `lua`.
    pub name: &'a str,
    /// Bytes charged now.
    pub used_bytes: u64,
    /// Peak bytes.
    pub peak_bytes: u64,
}

/// The KV strategy (`KvAlloc::NAME` and `KvStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvFigures<'a> {
    /// `pool` or `system`.
    pub strategy: &'a str,
    /// Address space reserved; 0 = unbounded.
    pub capacity_bytes: u64,
    /// Bytes charged (size-class rounded).
    pub used_bytes: u64,
    /// Bytes asked for.
    pub requested_bytes: u64,
    /// Live allocations.
    pub allocations: u64,
    /// Full resets.
    pub resets: u64,
}

/// The request-arena strategy (`Arena::NAME` and `ArenaStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArenaFigures<'a> {
    /// `arena` or `heap`.
    pub strategy: &'a str,
    /// Bytes held now.
    pub current_bytes: u64,
    /// Most bytes held at once.
    pub high_water_bytes: u64,
    /// Bytes kept by the last reset.
    pub retained_bytes: u64,
    /// Resets.
    pub resets: u64,
    /// Resets that dropped an oversized chunk.
    pub discards: u64,
}

/// The client-slot strategy (`ClientSlots::NAME` and `ClientPoolStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientPoolFigures<'a> {
    /// `pool` or `heap`.
    pub strategy: &'a str,
    /// Live clients.
    pub used: u64,
    /// Recycled slots waiting.
    pub free: u64,
    /// `maxclients`.
    pub capacity: u64,
    /// Insertions that reused a slot.
    pub recycled: u64,
    /// Bytes charged for slot storage.
    pub slot_bytes: u64,
}

/// Everything the two reports show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllocatorReport<'a> {
    /// The process's global allocator (`INFO mem_allocator`).
    pub allocator: &'a str,
    /// Resident set size of the process (INFO `used_memory_rss`).
    pub process_rss_bytes: u64,
    /// Budget totals.
    pub budget: BudgetFigures,
    /// Per component, in `Component::ALL` order.
    pub components: Vec<ComponentFigures<'a>>,
    /// KV strategy.
    pub kv: KvFigures<'a>,
    /// Request-arena strategy.
    pub arena: ArenaFigures<'a>,
    /// Client-slot strategy.
    pub clients: ClientPoolFigures<'a>,
}

impl AllocatorReport<'_> {
    /// DEBUG JMAP's text: INFO-style sections of `key:value` lines ending in CRLF.
    pub fn jmap_text(&self) -> String {
        let mut s = String::new();
        let b = &self.budget;
        let _ = write!(
            s,
            "# Budget\r\nallocator:{}\r\nprocess_rss_bytes:{}\r\nbudget_limit_bytes:{}\r\n\
             budget_used_bytes:{}\r\nbudget_peak_bytes:{}\r\n",
            self.allocator, self.process_rss_bytes, b.limit_bytes, b.used_bytes, b.peak_bytes
        );
        s.push_str("\r\n# Components\r\n");
        for c in &self.components {
            let _ = write!(
                s,
                "component_{}:used_bytes={},peak_bytes={}\r\n",
                c.name, c.used_bytes, c.peak_bytes
            );
        }
        let k = &self.kv;
        let _ = write!(
            s,
            "\r\n# Kv\r\nkv_strategy:{}\r\nkv_capacity_bytes:{}\r\nkv_used_bytes:{}\r\n\
             kv_requested_bytes:{}\r\nkv_waste_bytes:{}\r\nkv_allocations:{}\r\nkv_resets:{}\r\n",
            k.strategy,
            k.capacity_bytes,
            k.used_bytes,
            k.requested_bytes,
            k.used_bytes.saturating_sub(k.requested_bytes),
            k.allocations,
            k.resets
        );
        let a = &self.arena;
        let _ = write!(
            s,
            "\r\n# Arena\r\narena_strategy:{}\r\narena_current_bytes:{}\r\narena_high_water_bytes:{}\r\n\
             arena_retained_bytes:{}\r\narena_resets:{}\r\narena_discards:{}\r\n",
            a.strategy,
            a.current_bytes,
            a.high_water_bytes,
            a.retained_bytes,
            a.resets,
            a.discards
        );
        let c = &self.clients;
        let _ = write!(
            s,
            "\r\n# Clients\r\nclients_strategy:{}\r\nclients_used:{}\r\nclients_free:{}\r\n\
             clients_capacity:{}\r\nclients_recycled:{}\r\nclients_slot_bytes:{}\r\n",
            c.strategy, c.used, c.free, c.capacity, c.recycled, c.slot_bytes
        );
        s
    }

    /// MEMORY MALLOC-STATS's text (see the module docs for how it differs from jemalloc's).
    pub fn malloc_stats_text(&self) -> String {
        let mut s = String::from("___ Begin zedis allocator statistics ___\n");
        let b = &self.budget;
        let limit = if b.limit_bytes == 0 {
            "unlimited".to_owned()
        } else {
            b.limit_bytes.to_string()
        };
        let _ = writeln!(
            s,
            "Allocator: {}\nProcess RSS: {} bytes\nBudget: limit {limit}, used {} bytes, peak {} bytes",
            self.allocator, self.process_rss_bytes, b.used_bytes, b.peak_bytes
        );
        s.push_str("Components:            used           peak\n");
        for c in &self.components {
            let _ = writeln!(
                s,
                "  {:<14} {:>14} {:>14}",
                c.name, c.used_bytes, c.peak_bytes
            );
        }
        let k = &self.kv;
        let _ = writeln!(
            s,
            "KV strategy \"{}\": capacity {} bytes, used {} bytes, requested {} bytes (rounding waste {} bytes), \
             allocations {}, resets {}",
            k.strategy,
            k.capacity_bytes,
            k.used_bytes,
            k.requested_bytes,
            k.used_bytes.saturating_sub(k.requested_bytes),
            k.allocations,
            k.resets
        );
        let a = &self.arena;
        let _ = writeln!(
            s,
            "Request arena strategy \"{}\": current {} bytes, high water {} bytes, retained {} bytes, \
             resets {}, discards {}",
            a.strategy, a.current_bytes, a.high_water_bytes, a.retained_bytes, a.resets, a.discards
        );
        let c = &self.clients;
        let _ = writeln!(
            s,
            "Client strategy \"{}\": used {}, free {}, capacity {}, recycled {}, slot storage {} bytes",
            c.strategy, c.used, c.free, c.capacity, c.recycled, c.slot_bytes
        );
        s.push_str("--- End zedis allocator statistics ---\n");
        s
    }

    /// DEBUG JMAP's reply: [`Self::jmap_text`] as a verbatim `txt` string.
    pub fn reply_jmap(&self, out: &mut Vec<u8>, proto: Protocol) {
        reply::verbatim(out, proto, b"txt", self.jmap_text().as_bytes());
    }

    /// MEMORY MALLOC-STATS's reply: [`Self::malloc_stats_text`] as a verbatim `txt` string.
    pub fn reply_malloc_stats(&self, out: &mut Vec<u8>, proto: Protocol) {
        reply::verbatim(out, proto, b"txt", self.malloc_stats_text().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AllocatorReport<'static> {
        AllocatorReport {
            allocator: "libc",
            process_rss_bytes: 9_000_000,
            budget: BudgetFigures {
                limit_bytes: 0,
                used_bytes: 1000,
                peak_bytes: 2000,
            },
            components: vec![
                ComponentFigures {
                    name: "keyspace",
                    used_bytes: 600,
                    peak_bytes: 1500,
                },
                ComponentFigures {
                    name: "clients",
                    used_bytes: 400,
                    peak_bytes: 500,
                },
            ],
            kv: KvFigures {
                strategy: "pool",
                capacity_bytes: 1 << 20,
                used_bytes: 600,
                requested_bytes: 550,
                allocations: 10,
                resets: 0,
            },
            arena: ArenaFigures {
                strategy: "arena",
                current_bytes: 64,
                high_water_bytes: 4096,
                retained_bytes: 4096,
                resets: 7,
                discards: 1,
            },
            clients: ClientPoolFigures {
                strategy: "heap",
                used: 2,
                free: 0,
                capacity: 10000,
                recycled: 0,
                slot_bytes: 400,
            },
        }
    }

    #[test]
    fn jmap_lines_parse_as_info() {
        let text = sample().jmap_text();
        assert!(text.contains("\r\nkv_waste_bytes:50\r\n"));
        assert!(text.contains("component_keyspace:used_bytes=600,peak_bytes=1500\r\n"));
        for line in text
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            assert!(line.split_once(':').is_some(), "{line}");
        }
    }

    #[test]
    fn malloc_stats_framing() {
        let text = sample().malloc_stats_text();
        assert!(text.starts_with("___ Begin zedis allocator statistics ___\n"));
        assert!(text.ends_with("--- End zedis allocator statistics ---\n"));
        assert!(text.contains("Budget: limit unlimited, used 1000 bytes, peak 2000 bytes\n"));
        assert!(text.contains("  keyspace                  600           1500\n"));
        let mut out = Vec::new();
        sample().reply_malloc_stats(&mut out, Protocol::Resp3);
        assert!(out.starts_with(format!("={}\r\ntxt:___", text.len() + 4).as_bytes()));
    }
}
