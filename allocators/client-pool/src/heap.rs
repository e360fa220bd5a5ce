//! [`HeapClients`]: the baseline, a `slab` of boxed clients allocated and dropped per connection.

use std::fmt::Write as _;
use std::mem::size_of;

use slab::Slab;
use zedis_budget::{Component, GlobalBudget};

use crate::{ClientPoolStats, ClientSlots, PoolFull, Recycle};

/// Each client is a fresh `Box<T>`, dropped (buffers and all) on disconnect.
///
/// ```
/// use zedis_client_pool::{ClientSlots, HeapClients, Recycle};
///
/// #[derive(Default)]
/// struct Client { id: u64 }
/// impl Recycle for Client { fn recycle(&mut self) { self.id = 0; } }
///
/// let mut clients: HeapClients<Client> = HeapClients::new(10);
/// let key = clients.insert_with(|c| c.id = 7).unwrap();
/// assert_eq!(clients.get(key).unwrap().id, 7);
/// assert!(clients.remove(key));
/// assert!(clients.get(key).is_none());
/// ```
#[derive(Debug)]
pub struct HeapClients<T> {
    /// Invariant: `clients.len() <= clients_max`.
    clients: Slab<Box<T>>,
    clients_max: usize,
    /// Invariant: bytes charged to the budget `== clients.len() * size_of::<T>()`.
    charged: usize,
}

impl<T> HeapClients<T> {
    fn recharge(&mut self) {
        let bytes = self.clients.len() * size_of::<T>();
        let budget = zedis_budget::current();
        if bytes > self.charged {
            budget.reserve(Component::Clients, bytes - self.charged);
        } else {
            budget.release(Component::Clients, self.charged - bytes);
        }
        self.charged = bytes;
    }
}

impl<T: Recycle> ClientSlots<T> for HeapClients<T> {
    const NAME: &'static str = "heap";

    fn new(clients_max: usize) -> Self {
        HeapClients {
            clients: Slab::new(),
            clients_max,
            charged: 0,
        }
    }

    fn insert_with(&mut self, init: impl FnOnce(&mut T)) -> Result<usize, PoolFull> {
        if self.clients.len() >= self.clients_max {
            return Err(PoolFull {
                clients_max: self.clients_max,
            });
        }
        let mut client = Box::<T>::default();
        init(&mut client);
        let key = self.clients.insert(client);
        self.recharge();
        Ok(key)
    }

    fn remove(&mut self, key: usize) -> bool {
        let removed = self.clients.try_remove(key).is_some();
        if removed {
            self.recharge();
        }
        removed
    }

    fn get(&self, key: usize) -> Option<&T> {
        self.clients.get(key).map(|client| &**client)
    }

    fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.clients.get_mut(key).map(|client| &mut **client)
    }

    fn len(&self) -> usize {
        self.clients.len()
    }

    fn clients_max(&self) -> usize {
        self.clients_max
    }

    fn set_clients_max(&mut self, clients_max: usize) {
        self.clients_max = clients_max.max(self.clients.len());
    }

    fn keys(&self) -> Vec<usize> {
        self.clients.iter().map(|(key, _)| key).collect()
    }

    fn stats(&self) -> ClientPoolStats {
        ClientPoolStats {
            used: self.clients.len(),
            free: 0,
            capacity: self.clients_max,
            recycled: 0,
            slot_bytes: self.charged,
        }
    }

    fn write_info(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "client_slots:heap\r\nclient_slots_used:{}\r\nclient_slots_max:{}\r\nclient_slots_bytes:{}\r\n",
            self.clients.len(),
            self.clients_max,
            self.charged,
        );
    }
}

impl<T> Drop for HeapClients<T> {
    fn drop(&mut self) {
        if self.charged > 0 {
            zedis_budget::current().release(Component::Clients, self.charged);
        }
    }
}
