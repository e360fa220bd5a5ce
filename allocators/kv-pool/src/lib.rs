//! TEMPORARY contract shim while the real crate is written in its own branch (replaced on merge).
#![allow(missing_docs)]
pub trait KvAllocator: allocator_api2::alloc::Allocator + Copy + Default + std::fmt::Debug + 'static {
    const NAME: &'static str;
    /// # Safety
    /// no allocation made before may be used afterwards when it returns true.
    unsafe fn reset_all() -> bool;
    fn stats() -> KvStats;
    fn write_info(out: &mut String);
}
#[derive(Debug, Default, Clone, Copy)]
pub struct KvStats { pub capacity_bytes: usize, pub used_bytes: usize, pub requested_bytes: usize, pub allocations: usize, pub resets: u64 }
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemAlloc;
unsafe impl allocator_api2::alloc::Allocator for SystemAlloc {
    fn allocate(&self, layout: std::alloc::Layout) -> Result<std::ptr::NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        allocator_api2::alloc::Global.allocate(layout)
    }
    unsafe fn deallocate(&self, ptr: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
        allocator_api2::alloc::Global.deallocate(ptr, layout)
    }
}
impl KvAllocator for SystemAlloc {
    const NAME: &'static str = "system";
    unsafe fn reset_all() -> bool { false }
    fn stats() -> KvStats { KvStats::default() }
    fn write_info(_out: &mut String) {}
}
