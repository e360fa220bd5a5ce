//! The periodic check of a running script, from Lua's instruction-count hook: the FUNCTION LOAD timeout,
//! the server's [`Host::interrupt`] (where it serves other clients with `-BUSY` past
//! `busy-reply-threshold` and honours SCRIPT KILL / FUNCTION KILL) and the kill flag.

use crate::host::Host;
use mlua::Table;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The host of the running script, as the instruction hook reaches it: set by [`HostSlot::install`] for
/// the length of one run, empty otherwise.
#[derive(Default)]
pub(crate) struct HostSlot {
    /// Invariant: `Some` only while the [`HostGuard`] that set it is alive, and then it points at that
    /// guard's live `RefCell` (the `'static` is erased from the run's borrow of the host).
    host: Cell<Option<*const RefCell<&'static mut dyn Host>>>,
}

/// Clears its [`HostSlot`] when the run ends (also on unwinding).
pub(crate) struct HostGuard<'a> {
    slot: &'a HostSlot,
}

impl Drop for HostGuard<'_> {
    fn drop(&mut self) {
        self.slot.host.set(None);
    }
}

impl HostSlot {
    /// Makes `cell` reachable from the hook until the returned guard is dropped. `cell` outlives the
    /// guard (both borrow `'a`), so the hook never sees a dangling host.
    pub fn install<'a, 'h>(&'a self, cell: &'a RefCell<&'h mut (dyn Host + 'h)>) -> HostGuard<'a> {
        let ptr = cell as *const RefCell<&'h mut (dyn Host + 'h)>;
        // Only the lifetime is erased (clippy sees the same type): the pointer is cleared by the guard
        // before `cell` can go away.
        #[allow(clippy::unnecessary_cast)]
        let erased = ptr as *const RefCell<&'static mut (dyn Host + 'static)>;
        self.host.set(Some(erased));
        HostGuard { slot: self }
    }

    /// Whether a run's host is installed (a script is running).
    pub fn is_installed(&self) -> bool {
        self.host.get().is_some()
    }

    /// Runs `f` on the installed host; `None` outside a run (or, impossibly, while the host is busy).
    pub fn with<R>(&self, f: impl FnOnce(&mut dyn Host) -> R) -> Option<R> {
        let ptr = self.host.get()?;
        // SAFETY: as in `interrupt`: the cell outlives the slot's pointer; `f` cannot keep the borrow.
        let cell = unsafe { &*ptr };
        let mut host = cell.try_borrow_mut().ok()?;
        Some(f(&mut **host))
    }

    /// Calls [`Host::interrupt`] on the installed host: true when it asks for the script to die. A host
    /// that is busy running the script's own command (cannot happen: no Lua runs inside
    /// [`Host::call`]) is skipped.
    fn interrupt(&self, elapsed: Duration) -> bool {
        // The slot holds a pointer only while the guard of `install` is alive, and the cell it points at
        // outlives that guard; all access goes through the cell's runtime borrow check.
        self.with(|host| host.interrupt(elapsed)).unwrap_or(false)
    }
}

/// What the hook checks every [`crate::HOOK_INSTRUCTIONS`] instructions.
pub(crate) struct Tick {
    /// The kill flag shared with [`crate::Scripting::kill_switch`].
    pub killed: Arc<AtomicBool>,
    /// The prelude's module table; its `killed` field mirrors the flag for the Lua side.
    pub module: Table,
    /// The running script's host.
    pub host: std::rc::Rc<HostSlot>,
}

impl Tick {
    /// True when the script must die: past `load_timeout` (FUNCTION LOAD), killed by the host's
    /// interrupt, or by the kill switch. Then also marks the prelude's `killed` field, which the error
    /// handler and the pcall wrapper read (no call into Rust there: they may run with the Lua stack
    /// exhausted).
    pub fn check(&self, elapsed: Duration, load_timeout: Option<Duration>) -> mlua::Result<bool> {
        let over = load_timeout.is_some_and(|t| elapsed > t);
        if over || self.host.interrupt(elapsed) {
            self.killed.store(true, Ordering::SeqCst);
        }
        if !self.killed.load(Ordering::SeqCst) {
            return Ok(false);
        }
        self.module.raw_set("killed", true)?;
        Ok(true)
    }
}
