//! `GlobalBudget`: the one byte limit that every Zedis memory strategy charges.
//!
//! Redis has `maxmemory`; Zedis makes it a first-class object. Every strategy crate under `allocators/`
//! (the budgeted key-value pool, the per-request arena, the fixed client pool) and their plain-heap
//! baselines reserve bytes here before they hold them on behalf of a client, and release them when they
//! stop holding them. `INFO memory` is read from here.
//!
//! Goals:
//! - exact for what it covers: `used() == sum of live reservations`, per [`Component`];
//! - cheap on the single-threaded hot path (plain `Cell`s, no atomics, no locks);
//! - a reservation that does not fit returns [`BudgetError::Exceeded`], never a panic or an abort.
//!
//! Non-goals: thread safety (the server is a single-threaded event loop; each thread installs its own
//! budget with [`install`]), and measuring heap bytes nobody reserved (that is what the `counting`
//! feature's global allocator is for).
//!
//! A *lowered* limit (CONFIG SET maxmemory below what is in use) does not make every allocation fail until
//! eviction has caught up, as a hard limit would: reservations are admitted under a *ceiling*
//! ([`GlobalBudget::ceiling`]) that starts at the bytes in use when the limit was lowered and only comes down
//! ([`GlobalBudget::tighten`], called by eviction after each bounded step) until it meets the limit. So
//! commands go on running while eviction works in bounded steps (Redis's `performEvictions` returning
//! `EVICT_RUNNING`), never growing the overshoot; a limit that was not lowered is a hard limit as before.
//!
//! Redis's `maxmemory` is *soft* for a command it admitted: `processCommand` evicts, lets the command in
//! when usage is then at or under the limit, and the command may allocate past it; the next command evicts
//! first (and a `denyoom` one is refused with `-OOM` if that cannot bring usage back under the limit).
//! Zedis evicts for a write's estimated size before it runs, so usually it stays under the limit anyway; what
//! the estimate did not foresee (SETBIT far past a string's end, a write no eviction could make room for) is
//! admitted through an *overshoot window* ([`GlobalBudget::admit_overshoot`]) that the keyspace opens when
//! it admits a command and closes ([`GlobalBudget::end_overshoot`]) at the next admission check. If the
//! window admitted anything past the ceiling, the usage then becomes the ceiling, which only comes down as
//! eviction catches up, as for a lowered limit; otherwise the ceiling stays (usage past it from client buffers
//! charged with [`GlobalBudget::reserve`] is evicted before the next write as before).
//!
//! Persistence buffers are counted in [`GlobalBudget::used`] but, as in Redis, not toward eviction
//! ([`GlobalBudget::used_for_eviction`]): evicting to make room for AOF buffers would write more AOF.
//!
//! ```
//! use zedis_budget::{Budget, Component, GlobalBudget};
//! let budget = Budget::new(100);
//! budget.try_reserve(Component::Keyspace, 60).unwrap();
//! assert!(budget.try_reserve(Component::Clients, 50).is_err());
//! budget.release(Component::Keyspace, 60);
//! assert_eq!(budget.used(), 0);
//! assert_eq!(budget.peak(), 60);
//! ```
#![deny(missing_docs)]

use std::cell::Cell;

#[cfg(feature = "counting")]
pub mod counting;

/// What a reservation is for. Each has its own current and peak figure in `INFO memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// Keys, values and the index that finds them.
    Keyspace,
    /// Per-request scratch memory: parsed argument vectors, temporary reply data.
    RequestArena,
    /// Client slots and their query/output buffers.
    Clients,
    /// Channel and pattern subscriptions.
    Pubsub,
    /// AOF buffers. Counted in `used`, not toward eviction.
    Persistence,
    /// Everything else the server holds on behalf of clients (expiry metadata, blocked-client queues...).
    Other,
    /// The Lua heaps of scripts and functions, and the script cache.
    Lua,
}

impl Component {
    /// Every component, in `INFO memory` order.
    pub const ALL: [Component; 7] = [
        Component::Keyspace,
        Component::RequestArena,
        Component::Clients,
        Component::Pubsub,
        Component::Persistence,
        Component::Other,
        Component::Lua,
    ];

    /// The name used in `INFO memory` (`used_memory_<name>`).
    pub const fn name(self) -> &'static str {
        match self {
            Component::Keyspace => "keyspace",
            Component::RequestArena => "request_arena",
            Component::Clients => "clients",
            Component::Pubsub => "pubsub",
            Component::Persistence => "persistence",
            Component::Other => "other",
            Component::Lua => "lua",
        }
    }

    const fn idx(self) -> usize {
        self as usize
    }
}

/// A reservation that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// Reserving `requested` bytes would take the evictable total past the limit.
    #[error("budget exceeded: {requested} bytes requested, {used} of {limit} used")]
    Exceeded {
        /// Bytes asked for.
        requested: usize,
        /// Evictable bytes in use when asked.
        used: usize,
        /// The limit (`maxmemory`).
        limit: usize,
    },
}

/// One byte limit shared by every memory strategy.
pub trait GlobalBudget {
    /// Reserves `bytes` for `component` if the evictable total stays within the limit.
    fn try_reserve(&self, component: Component, bytes: usize) -> Result<(), BudgetError>;
    /// Reserves `bytes` whether or not they fit. For memory that cannot be refused at that point
    /// (a reply already computed, a client's query bytes already read); such overshoot is bounded by
    /// the caller's own `*_max` limits and is the documented slack.
    fn reserve(&self, component: Component, bytes: usize);
    /// Releases `bytes` previously reserved for `component`; ends a lowered limit's grace (the ceiling
    /// becomes the limit) once the evictable bytes are back under the limit.
    fn release(&self, component: Component, bytes: usize);
    /// Bytes reserved in total.
    fn used(&self) -> usize;
    /// Bytes reserved for one component.
    fn used_by(&self, component: Component) -> usize;
    /// Highest `used()` seen.
    fn peak(&self) -> usize;
    /// Highest `used_by(component)` seen.
    fn peak_by(&self, component: Component) -> usize;
    /// The limit in bytes; 0 means unlimited.
    fn limit(&self) -> usize;
    /// Changes the limit (CONFIG SET maxmemory). Existing reservations stay. A limit lowered below the
    /// evictable bytes in use sets the admission ceiling to them (see the crate docs); otherwise the ceiling
    /// is the limit (or stays between the limit and the bytes in use, if a grace was already under way).
    fn set_limit(&self, bytes: usize);
    /// The admission bound of [`GlobalBudget::try_reserve`]: the limit, or more while eviction catches up
    /// with a lowered limit (see the crate docs); 0 = unlimited. Invariant: `ceiling() >= limit()`, and
    /// `ceiling() == 0` exactly when `limit() == 0`.
    fn ceiling(&self) -> usize;
    /// Brings the ceiling down towards the limit: to the evictable bytes in use plus `bytes_more` when that
    /// is lower, never below the limit. Eviction calls it after each bounded step so the grace a lowered
    /// limit opened only shrinks; it does nothing when the ceiling is the limit.
    fn tighten(&self, bytes_more: usize);
    /// Opens the overshoot window (see the crate docs): until [`GlobalBudget::end_overshoot`],
    /// [`GlobalBudget::try_reserve`] admits past the ceiling, as Redis lets a command it admitted allocate
    /// past `maxmemory`. A limit changed meanwhile (CONFIG SET, a script's `allow-oom` write) leaves it open.
    fn admit_overshoot(&self);
    /// Closes the overshoot window, if open: when it admitted a reservation past the ceiling, the evictable
    /// bytes in use become the ceiling if they are past it (the grace then only shrinks, as for a lowered
    /// limit).
    fn end_overshoot(&self);
    /// Whether the overshoot window is open.
    fn overshoot_open(&self) -> bool;

    /// Bytes that count toward eviction: everything but persistence buffers.
    fn used_for_eviction(&self) -> usize {
        self.used() - self.used_by(Component::Persistence)
    }

    /// Whether the evictable total is past the limit.
    fn over_limit(&self) -> bool {
        let limit = self.limit();
        limit != 0 && self.used_for_eviction() > limit
    }

    /// Whether `bytes` more would be admitted (under the [`GlobalBudget::ceiling`]).
    fn fits(&self, bytes: usize) -> bool {
        let ceiling = self.ceiling();
        ceiling == 0 || self.used_for_eviction().saturating_add(bytes) <= ceiling
    }

    /// Whether `bytes` more would fit under the limit itself (what eviction aims for).
    fn fits_limit(&self, bytes: usize) -> bool {
        let limit = self.limit();
        limit == 0 || self.used_for_eviction().saturating_add(bytes) <= limit
    }
}

/// The single-threaded [`GlobalBudget`]: a handful of `Cell`s.
#[derive(Debug, Default)]
pub struct Budget {
    /// 0 = unlimited.
    limit: Cell<usize>,
    /// Admission bound of `try_reserve`. Invariant: `ceiling >= limit`, and `ceiling == 0` iff `limit == 0`;
    /// above `limit` only after the limit was lowered below the bytes in use or an overshoot window closed
    /// past it, and then only decreasing.
    ceiling: Cell<usize>,
    /// The overshoot window: while set (and a limit is set), `try_reserve` admits past the ceiling.
    overshoot: Cell<bool>,
    /// Whether the open window admitted a reservation past the ceiling. Invariant: false while the window is
    /// closed.
    overshot: Cell<bool>,
    /// Invariant: `total == used.iter().sum()`.
    total: Cell<usize>,
    /// Invariant: `total_peak >= total`.
    total_peak: Cell<usize>,
    used: [Cell<usize>; 7],
    /// Invariant: `peak[i] >= used[i]`.
    peak: [Cell<usize>; 7],
}

impl Budget {
    /// A budget with `limit` bytes (0 = unlimited) and nothing reserved.
    pub fn new(limit: usize) -> Self {
        let budget = Budget::default();
        budget.limit.set(limit);
        budget.ceiling.set(limit);
        budget
    }

    /// A budget that lives for the rest of the process, for [`install`].
    pub fn leak(limit: usize) -> &'static Budget {
        Box::leak(Box::new(Budget::new(limit)))
    }

    /// Forgets the peaks (CONFIG RESETSTAT / MEMORY PURGE style): peaks become the current figures.
    pub fn reset_peaks(&self) {
        self.total_peak.set(self.total.get());
        for (peak, used) in self.peak.iter().zip(&self.used) {
            peak.set(used.get());
        }
    }

    fn add(&self, component: Component, bytes: usize) {
        let i = component.idx();
        let used = self.used[i].get() + bytes;
        self.used[i].set(used);
        if used > self.peak[i].get() {
            self.peak[i].set(used);
        }
        let total = self.total.get() + bytes;
        self.total.set(total);
        if total > self.total_peak.get() {
            self.total_peak.set(total);
        }
    }
}

impl GlobalBudget for Budget {
    #[inline]
    fn try_reserve(&self, component: Component, bytes: usize) -> Result<(), BudgetError> {
        if !self.fits(bytes) {
            if !self.overshoot.get() {
                return Err(BudgetError::Exceeded {
                    requested: bytes,
                    used: self.used_for_eviction(),
                    limit: self.ceiling.get(),
                });
            }
            self.overshot.set(true);
        }
        self.add(component, bytes);
        Ok(())
    }

    #[inline]
    fn reserve(&self, component: Component, bytes: usize) {
        self.add(component, bytes);
    }

    #[inline]
    fn release(&self, component: Component, bytes: usize) {
        let i = component.idx();
        let used = self.used[i].get();
        debug_assert!(
            bytes <= used,
            "releasing {bytes} of {used} bytes for {component:?}"
        );
        self.used[i].set(used.saturating_sub(bytes));
        self.total
            .set(self.total.get().saturating_sub(bytes.min(used)));
        // A grace opened by a lowered limit ends once usage is back under the limit.
        if self.ceiling.get() > self.limit.get() && self.used_for_eviction() <= self.limit.get() {
            self.ceiling.set(self.limit.get());
        }
    }

    fn used(&self) -> usize {
        self.total.get()
    }

    fn used_by(&self, component: Component) -> usize {
        self.used[component.idx()].get()
    }

    fn peak(&self) -> usize {
        self.total_peak.get()
    }

    fn peak_by(&self, component: Component) -> usize {
        self.peak[component.idx()].get()
    }

    fn limit(&self) -> usize {
        self.limit.get()
    }

    fn set_limit(&self, bytes: usize) {
        let old = self.limit.get();
        let used = self.used_for_eviction();
        let lowered = bytes != 0 && (old == 0 || bytes < old);
        let ceiling = if bytes == 0 {
            0
        } else if lowered {
            used.max(bytes)
        } else {
            // Raised or unchanged: a grace under way keeps shrinking; none is opened.
            self.ceiling.get().min(used).max(bytes)
        };
        self.limit.set(bytes);
        self.ceiling.set(ceiling);
        debug_assert!(self.ceiling.get() >= self.limit.get());
    }

    fn ceiling(&self) -> usize {
        self.ceiling.get()
    }

    fn tighten(&self, bytes_more: usize) {
        let (limit, ceiling) = (self.limit.get(), self.ceiling.get());
        if ceiling > limit {
            let now = self.used_for_eviction().saturating_add(bytes_more);
            self.ceiling.set(ceiling.min(now).max(limit));
        }
    }

    fn admit_overshoot(&self) {
        self.overshoot.set(true);
    }

    fn end_overshoot(&self) {
        self.overshoot.set(false);
        if self.overshot.replace(false) {
            let (limit, used) = (self.limit.get(), self.used_for_eviction());
            if limit != 0 && used > self.ceiling.get() {
                self.ceiling.set(used);
            }
        }
    }

    fn overshoot_open(&self) -> bool {
        self.overshoot.get()
    }
}

thread_local! {
    static CURRENT: Cell<Option<&'static Budget>> = const { Cell::new(None) };
}

/// Makes `budget` the one that this thread's zero-sized strategy handles (the KV allocators) charge.
pub fn install(budget: &'static Budget) {
    CURRENT.with(|current| current.set(Some(budget)));
}

/// This thread's installed budget; an unlimited one is installed on first use if none was.
#[inline]
pub fn current() -> &'static Budget {
    CURRENT.with(|current| match current.get() {
        Some(budget) => budget,
        None => {
            let budget = Budget::leak(0);
            current.set(Some(budget));
            budget
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        TryReserve(usize, usize),
        Reserve(usize, usize),
        Release(usize, usize),
        SetLimit(usize),
        Tighten(usize),
        AdmitOvershoot,
        EndOvershoot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..7usize, 0..1000usize).prop_map(|(c, b)| Op::TryReserve(c, b)),
            (0..7usize, 0..100usize).prop_map(|(c, b)| Op::Reserve(c, b)),
            (0..7usize, 0..1000usize).prop_map(|(c, b)| Op::Release(c, b)),
            (0..5000usize).prop_map(Op::SetLimit),
            (0..200usize).prop_map(Op::Tighten),
            Just(Op::AdmitOvershoot),
            Just(Op::EndOvershoot),
        ]
    }

    proptest! {
        /// `used == sum of live reservations`, per component and in total; try_reserve never takes the
        /// evictable total past the limit; peaks never below current.
        #[test]
        fn accounting_matches_model(ops in proptest::collection::vec(op(), 0..200), limit in 0..5000usize) {
            let budget = Budget::new(limit);
            let mut model = [0usize; 7];
            let mut limit = limit;
            // The admission bound: the limit, or the usage when the limit was lowered below it, shrinking.
            let mut ceiling = limit;
            // Redis's soft limit for an admitted command: while open, every reservation is admitted.
            let mut overshoot = false;
            let mut overshot = false;
            for op in ops {
                match op {
                    Op::TryReserve(c, bytes) => {
                        let comp = Component::ALL[c];
                        let evictable: usize = model.iter().sum::<usize>() - model[4];
                        let under = limit == 0 || evictable + bytes <= ceiling;
                        let fits = overshoot || under;
                        overshot |= !under && overshoot;
                        prop_assert_eq!(budget.try_reserve(comp, bytes).is_ok(), fits);
                        if fits { model[c] += bytes; }
                        // Never past the limit unless it was lowered below the usage, then never past
                        // that usage, or while an admitted command's overshoot window is open.
                        prop_assert!(overshoot || !fits || limit == 0 || evictable + bytes <= limit.max(ceiling));
                    }
                    Op::Reserve(c, bytes) => { budget.reserve(Component::ALL[c], bytes); model[c] += bytes; }
                    Op::Release(c, bytes) => {
                        let bytes = bytes.min(model[c]);
                        budget.release(Component::ALL[c], bytes);
                        model[c] -= bytes;
                        let evictable: usize = model.iter().sum::<usize>() - model[4];
                        if ceiling > limit && evictable <= limit {
                            ceiling = limit;
                        }
                    }
                    Op::SetLimit(l) => {
                        let evictable: usize = model.iter().sum::<usize>() - model[4];
                        let lowered = l != 0 && (limit == 0 || l < limit);
                        ceiling = match (l, lowered) {
                            (0, _) => 0,
                            (_, true) => evictable.max(l),
                            (_, false) => ceiling.min(evictable).max(l),
                        };
                        budget.set_limit(l);
                        limit = l;
                    }
                    Op::Tighten(more) => {
                        let evictable: usize = model.iter().sum::<usize>() - model[4];
                        if ceiling > limit {
                            ceiling = ceiling.min(evictable + more).max(limit);
                        }
                        budget.tighten(more);
                    }
                    Op::AdmitOvershoot => { overshoot = true; budget.admit_overshoot(); }
                    Op::EndOvershoot => {
                        let evictable: usize = model.iter().sum::<usize>() - model[4];
                        if overshot && limit != 0 && evictable > ceiling {
                            ceiling = evictable;
                        }
                        overshoot = false;
                        overshot = false;
                        budget.end_overshoot();
                    }
                }
                for (i, c) in Component::ALL.iter().enumerate() {
                    prop_assert_eq!(budget.used_by(*c), model[i]);
                    prop_assert!(budget.peak_by(*c) >= model[i]);
                }
                prop_assert_eq!(budget.used(), model.iter().sum::<usize>());
                prop_assert_eq!((budget.limit(), budget.ceiling()), (limit, ceiling));
                prop_assert_eq!(budget.overshoot_open(), overshoot);
                prop_assert!(ceiling >= limit && (ceiling == 0) == (limit == 0));
                prop_assert!(budget.peak() >= budget.used());
            }
        }
    }

    #[test]
    fn persistence_is_not_evictable() {
        let budget = Budget::new(100);
        budget.reserve(Component::Persistence, 1000);
        assert!(!budget.over_limit());
        assert!(budget.try_reserve(Component::Keyspace, 100).is_ok());
        assert!(budget.try_reserve(Component::Keyspace, 1).is_err());
    }

    /// A lowered limit admits reservations up to the usage it found, the ceiling only comes down, and a
    /// limit that was raised (or set where usage is below it) is a hard limit.
    #[test]
    fn a_lowered_limit_admits_up_to_the_usage_it_found() {
        let budget = Budget::new(1000);
        budget.try_reserve(Component::Keyspace, 900).unwrap();
        budget.set_limit(300);
        assert!(budget.over_limit());
        assert_eq!(budget.ceiling(), 900);
        assert!(
            budget.try_reserve(Component::Keyspace, 1).is_err(),
            "no growth past 900"
        );
        budget.release(Component::Keyspace, 100);
        budget.tighten(10);
        assert_eq!(budget.ceiling(), 810);
        assert!(budget.try_reserve(Component::Keyspace, 10).is_ok());
        assert!(budget.try_reserve(Component::Keyspace, 1).is_err());
        budget.release(Component::Keyspace, 600);
        budget.tighten(0);
        assert_eq!(budget.ceiling(), 300, "never below the limit");
        assert!(budget.try_reserve(Component::Keyspace, 90).is_ok());
        assert!(
            budget.try_reserve(Component::Keyspace, 1).is_err(),
            "a hard limit again"
        );
        budget.set_limit(400);
        assert_eq!(budget.ceiling(), 400);
        budget.set_limit(0);
        assert!(budget.try_reserve(Component::Keyspace, 1 << 30).is_ok());
    }

    /// An admitted command may go past the limit (Redis's soft `maxmemory`); once its window closes, the
    /// usage it reached is the ceiling, which only comes down, and nothing more is admitted past it.
    #[test]
    fn an_overshoot_window_admits_past_the_limit_until_it_closes() {
        let budget = Budget::new(1000);
        budget.try_reserve(Component::Keyspace, 900).unwrap();
        assert!(budget.try_reserve(Component::Keyspace, 200).is_err());
        budget.admit_overshoot();
        budget.try_reserve(Component::Keyspace, 300).unwrap();
        assert!(budget.over_limit());
        budget.end_overshoot();
        assert_eq!(budget.ceiling(), 1200);
        assert!(budget.try_reserve(Component::Keyspace, 1).is_err());
        budget.release(Component::Keyspace, 100);
        budget.tighten(0);
        assert_eq!(budget.ceiling(), 1100);
        budget.release(Component::Keyspace, 500);
        assert_eq!(
            budget.ceiling(),
            1000,
            "back under the limit: a hard limit again"
        );
        // A window that closes under the limit leaves the limit as the ceiling.
        budget.admit_overshoot();
        budget.try_reserve(Component::Keyspace, 50).unwrap();
        budget.end_overshoot();
        assert_eq!(budget.ceiling(), 1000);
        // Usage past the limit that the window did not admit (client buffers, `reserve`) leaves it too.
        budget.admit_overshoot();
        budget.reserve(Component::Clients, 700);
        budget.end_overshoot();
        assert_eq!(budget.ceiling(), 1000);
    }

    #[test]
    fn current_defaults_to_unlimited_and_install_replaces_it() {
        assert_eq!(current().limit(), 0);
        install(Budget::leak(42));
        assert_eq!(current().limit(), 42);
    }
}
