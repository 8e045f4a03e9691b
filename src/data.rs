//! Dispatch data: immutable byte buffers made of regions.
//!
//! A data object is empty, a *leaf* (one buffer: copied in, or borrowed with a destructor that
//! runs once when the last object using it goes), or a *composite*: a list of regions, each a
//! byte range of a leaf. Concatenation and subranges build composites out of the same leaves —
//! no byte is copied; only `create_map` of a composite copies, into one new leaf. The leaves
//! are data objects themselves, so `apply` hands each region's leaf to its caller, as
//! libdispatch does.

use crate::error::{Error, ErrorKind};
use crate::object::{Kind, ObjHeader};
use crate::queue::{self, QueueInner, QueueRef};
use crate::task::{self, CFunction, SendPtr};
use std::ffi::c_void;
use std::sync::{Arc, OnceLock};

/// A boxed buffer held by a raw pointer. A leaf reads its bytes through a pointer taken from
/// the buffer; had the leaf kept the `Box` itself, moving that unique owner into place would
/// invalidate the pointer taken before (Miri reports it under Stacked Borrows: the compiler
/// may assume a `Box` is the only way to its memory).
pub(crate) struct BoxedBytes(std::ptr::NonNull<[u8]>);

// SAFETY: it owns its bytes, as the `Box` it came from did.
unsafe impl Send for BoxedBytes {}
unsafe impl Sync for BoxedBytes {}

impl BoxedBytes {
    pub(crate) fn new(b: Box<[u8]>) -> Self {
        BoxedBytes(std::ptr::NonNull::from(Box::leak(b)))
    }

    /// The first byte: valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr() as *const u8
    }

    /// The `Box` back (the pointers taken from `self` must no longer be used).
    pub(crate) fn into_box(self) -> Box<[u8]> {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        // SAFETY: `p` came from `Box::leak` in `new` and is reclaimed once.
        unsafe { Box::from_raw(p) }
    }
}

impl Drop for BoxedBytes {
    fn drop(&mut self) {
        // SAFETY: as in `into_box`.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// What frees a leaf's bytes.
pub(crate) enum Owner {
    /// Copied into rgcd's own memory (held here; `ptr` points into it).
    Owned(#[allow(dead_code)] BoxedBytes),
    /// `free(ptr)`.
    Free,
    /// `munmap(ptr, len)`.
    Munmap,
    /// Nothing: the bytes outlive every data object (static or caller-managed memory).
    Borrowed,
    /// Handed back to `to` (a buffer pool) at once, on the releasing thread.
    Recycle { buf: BoxedBytes, to: fn(Box<[u8]>) },
    /// `f(ctx)` on `queue` (the default global queue when `None`).
    Custom {
        f: CFunction,
        ctx: SendPtr,
        queue: Option<QueueRef>,
    },
}

pub(crate) struct Leaf {
    ptr: *const u8,
    len: usize,
    owner: Owner,
}

impl Drop for Leaf {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.owner, Owner::Borrowed) {
            Owner::Owned(_) | Owner::Borrowed => {}
            Owner::Recycle { buf, to } => to(buf.into_box()),
            // SAFETY: the creator gave us a malloc'd buffer to free once.
            Owner::Free => unsafe { libc::free(self.ptr as *mut c_void) },
            // SAFETY: the creator gave us a mapping of `len` bytes to unmap once.
            Owner::Munmap => unsafe {
                libc::munmap(self.ptr as *mut c_void, self.len);
            },
            Owner::Custom { f, ctx, queue } => {
                let t = task::c_task(f, ctx.0, 0);
                match queue {
                    // SAFETY: a fresh item onto a live queue (the reference keeps it alive).
                    Some(q) => unsafe { q.enqueue(t) },
                    // SAFETY: as above.
                    None => unsafe { queue::default_root().enqueue(t) },
                }
            }
        }
    }
}

/// A byte range of a leaf.
#[derive(Clone)]
pub(crate) struct Region {
    leaf: Arc<DataInner>,
    offset: usize,
    len: usize,
}

enum Repr {
    Empty,
    Leaf(Leaf),
    Composite(Box<[Region]>),
}

#[repr(C)]
pub(crate) struct DataInner {
    pub(crate) obj: ObjHeader,
    size: usize,
    repr: Repr,
}

// SAFETY: the bytes are immutable once the object exists; the pointer is only read.
unsafe impl Send for DataInner {}
unsafe impl Sync for DataInner {}

impl Drop for DataInner {
    fn drop(&mut self) {
        self.obj.kill();
        // Quarantined like every other object, so a stale handle is refused (the empty object
        // is never dropped).
        // SAFETY: built by `new_arc` (the empty object, which is not, lives forever), dropped
        // now, tag killed.
        unsafe { crate::object::retire_arc(self) };
    }
}

const EMPTY_AUX: u32 = 1;

/// The empty data object: never freed; retain and release do nothing to it.
pub(crate) fn empty() -> &'static Arc<DataInner> {
    static EMPTY: OnceLock<Arc<DataInner>> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let d = Arc::new(DataInner {
            obj: ObjHeader::new(Kind::Data, EMPTY_AUX),
            size: 0,
            repr: Repr::Empty,
        });
        d.obj.immortal();
        d
    })
}

fn bad(msg: &'static str) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

impl DataInner {
    /// Is this the shared empty object (not reference counted)?
    pub(crate) fn is_static(&self) -> bool {
        self.obj.aux == EMPTY_AUX
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    fn leaf(ptr: *const u8, len: usize, owner: Owner) -> Arc<DataInner> {
        crate::object::new_arc(DataInner {
            obj: ObjHeader::new(Kind::Data, 0),
            size: len,
            repr: Repr::Leaf(Leaf { ptr, len, owner }),
        })
    }

    /// A data object over `len` bytes at `ptr`, freed by `owner`. Zero bytes give the empty
    /// object (and the owner frees the buffer at once).
    ///
    /// # Safety
    /// `ptr..ptr+len` must be readable and unchanged for as long as `owner` says.
    pub(crate) unsafe fn create(
        ptr: *const u8,
        len: usize,
        owner: Owner,
    ) -> Result<Arc<DataInner>, Error> {
        if ptr.is_null() && len != 0 {
            return Err(bad("buffer is NULL"));
        }
        if len == 0 {
            if !ptr.is_null() {
                drop(Leaf { ptr, len, owner });
            }
            return Ok(empty().clone());
        }
        Ok(Self::leaf(ptr, len, owner))
    }

    /// A copy of `bytes` in a new leaf.
    pub(crate) fn copy_of(bytes: &[u8]) -> Arc<DataInner> {
        if bytes.is_empty() {
            return empty().clone();
        }
        Self::from_box(bytes.into())
    }

    pub(crate) fn from_box(b: Box<[u8]>) -> Arc<DataInner> {
        if b.is_empty() {
            return empty().clone();
        }
        let len = b.len();
        let b = BoxedBytes::new(b);
        Self::leaf(b.as_ptr(), len, Owner::Owned(b))
    }

    /// The regions of `self` as leaf ranges.
    fn regions(self: &Arc<Self>) -> Vec<Region> {
        match &self.repr {
            Repr::Empty => Vec::new(),
            Repr::Leaf(_) => vec![Region {
                leaf: self.clone(),
                offset: 0,
                len: self.size,
            }],
            Repr::Composite(r) => r.to_vec(),
        }
    }

    fn from_regions(regions: Vec<Region>) -> Arc<DataInner> {
        match regions.len() {
            0 => empty().clone(),
            1 if regions[0].offset == 0 && regions[0].len == regions[0].leaf.size => {
                regions.into_iter().next().expect("one region").leaf
            }
            _ => {
                let size = regions.iter().map(|r| r.len).sum();
                crate::object::new_arc(DataInner {
                    obj: ObjHeader::new(Kind::Data, 0),
                    size,
                    repr: Repr::Composite(regions.into_boxed_slice()),
                })
            }
        }
    }

    /// `a` followed by `b`, without copying.
    pub(crate) fn concat(a: &Arc<Self>, b: &Arc<Self>) -> Arc<DataInner> {
        if a.size == 0 {
            return b.clone();
        }
        if b.size == 0 {
            return a.clone();
        }
        let mut r = a.regions();
        r.extend(b.regions());
        Self::from_regions(r)
    }

    /// `length` bytes from `offset` (clipped to the end; past the end: empty), without copying.
    pub(crate) fn subrange(self: &Arc<Self>, offset: usize, length: usize) -> Arc<DataInner> {
        if offset >= self.size || length == 0 {
            return empty().clone();
        }
        let end = offset + length.min(self.size - offset);
        if offset == 0 && end == self.size {
            return self.clone();
        }
        let mut out = Vec::new();
        let mut pos = 0;
        for r in self.regions() {
            let (rs, re) = (pos, pos + r.len);
            pos = re;
            if re <= offset {
                continue;
            }
            if rs >= end {
                break;
            }
            let from = offset.max(rs);
            let to = end.min(re);
            out.push(Region {
                leaf: r.leaf.clone(),
                offset: r.offset + (from - rs),
                len: to - from,
            });
        }
        Self::from_regions(out)
    }

    fn leaf_bytes(&self) -> &[u8] {
        match &self.repr {
            // SAFETY: a leaf's bytes stay readable and unchanged while it lives.
            Repr::Leaf(l) => unsafe { std::slice::from_raw_parts(l.ptr, l.len) },
            _ => &[],
        }
    }

    /// Calls `f(leaf, offset in self, bytes)` for each region in order; stops when it returns
    /// false. Returns whether every region was visited.
    pub(crate) fn apply(
        self: &Arc<Self>,
        mut f: impl FnMut(&Arc<DataInner>, usize, &[u8]) -> bool,
    ) -> bool {
        let mut pos = 0;
        for r in self.regions() {
            let bytes = &r.leaf.leaf_bytes()[r.offset..r.offset + r.len];
            if !f(&r.leaf, pos, bytes) {
                return false;
            }
            pos += r.len;
        }
        true
    }

    /// A contiguous view: the object holding the bytes (`self` when already contiguous, else a
    /// new copy) and a pointer to them, valid while that object lives.
    pub(crate) fn map(self: &Arc<Self>) -> (Arc<DataInner>, *const u8) {
        match &self.repr {
            Repr::Empty => (self.clone(), std::ptr::NonNull::<u8>::dangling().as_ptr()),
            Repr::Leaf(l) => (self.clone(), l.ptr),
            Repr::Composite(r) if r.len() == 1 => {
                let p = r[0].leaf.leaf_bytes()[r[0].offset..].as_ptr();
                (self.clone(), p)
            }
            Repr::Composite(_) => {
                let mut v = Vec::with_capacity(self.size);
                self.apply(|_, _, b| {
                    v.extend_from_slice(b);
                    true
                });
                let d = Self::from_box(v.into_boxed_slice());
                let p = d.leaf_bytes().as_ptr();
                (d, p)
            }
        }
    }

    /// The region containing byte `location` and its offset in `self`.
    pub(crate) fn copy_region(
        self: &Arc<Self>,
        location: usize,
    ) -> Result<(Arc<DataInner>, usize), Error> {
        if location >= self.size {
            return Err(bad("location is past the end of the data"));
        }
        let mut pos = 0;
        for r in self.regions() {
            if location < pos + r.len {
                return Ok((Self::from_regions(vec![r]), pos));
            }
            pos += r.len;
        }
        unreachable!("location < size")
    }

    /// All the bytes, copied.
    pub(crate) fn to_vec(self: &Arc<Self>) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.size);
        self.apply(|_, _, b| {
            v.extend_from_slice(b);
            true
        });
        v
    }
}

/// Keeps a C destructor's queue alive until it ran.
pub(crate) fn destructor_queue(q: Option<&QueueInner>) -> Option<QueueRef> {
    q.map(|q| {
        // SAFETY: `q` is alive; the new reference is owned by the returned QueueRef.
        unsafe {
            queue::retain_raw(q);
            QueueRef::from_raw(q)
        }
    })
}

/// Immutable bytes made of regions, shared without copying.
///
/// # Examples
///
/// ```
/// use rgcd::Data;
/// let a = Data::from(b"hello ".to_vec());
/// let b = Data::copy_from(b"world");
/// let ab = a.concat(&b);
/// assert_eq!(ab.len(), 11);
/// assert_eq!(ab.subrange(4, 3).to_vec(), b"o w");
/// assert_eq!(ab.regions(), 2);
/// ```
#[derive(Clone)]
pub struct Data {
    pub(crate) inner: Arc<DataInner>,
}

impl Data {
    /// The empty data object.
    pub fn empty() -> Data {
        Data {
            inner: empty().clone(),
        }
    }

    /// A copy of `bytes`.
    pub fn copy_from(bytes: &[u8]) -> Data {
        Data {
            inner: DataInner::copy_of(bytes),
        }
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.inner.size()
    }

    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `self` followed by `other` (no copy).
    pub fn concat(&self, other: &Data) -> Data {
        Data {
            inner: DataInner::concat(&self.inner, &other.inner),
        }
    }

    /// `length` bytes from `offset`, clipped to the end (no copy).
    pub fn subrange(&self, offset: usize, length: usize) -> Data {
        Data {
            inner: self.inner.subrange(offset, length),
        }
    }

    /// How many contiguous regions the bytes are in.
    pub fn regions(&self) -> usize {
        let mut n = 0;
        self.inner.apply(|_, _, _| {
            n += 1;
            true
        });
        n
    }

    /// Calls `f(offset, bytes)` for each region in order until it returns false; returns
    /// whether every region was visited.
    pub fn apply(&self, mut f: impl FnMut(usize, &[u8]) -> bool) -> bool {
        self.inner.apply(|_, off, b| f(off, b))
    }

    /// All the bytes, copied into one vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.inner.to_vec()
    }
}

impl From<Vec<u8>> for Data {
    /// Takes the vector's bytes without copying.
    fn from(v: Vec<u8>) -> Data {
        Data {
            inner: DataInner::from_box(v.into_boxed_slice()),
        }
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Data")
            .field("len", &self.len())
            .field("regions", &self.regions())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_and_subrange_share_bytes() {
        let a = Data::from(b"0123456789".to_vec());
        let b = Data::copy_from(b"abcdef");
        let ab = a.concat(&b);
        assert_eq!(ab.to_vec(), b"0123456789abcdef");
        assert_eq!(ab.regions(), 2);
        let mid = ab.subrange(8, 4);
        assert_eq!(mid.to_vec(), b"89ab");
        assert_eq!(mid.regions(), 2);
        assert_eq!(ab.subrange(3, 2).regions(), 1);
        assert_eq!(ab.subrange(20, 2).len(), 0);
        assert_eq!(ab.subrange(14, 100).to_vec(), b"ef");
        // The same leaves: a region of the subrange points into a's bytes.
        let mut ptrs = Vec::new();
        mid.apply(|_, b| {
            ptrs.push(b.as_ptr());
            true
        });
        let mut a_ptr = std::ptr::null();
        a.apply(|_, b| {
            a_ptr = b.as_ptr();
            true
        });
        assert_eq!(ptrs[0], a_ptr.wrapping_add(8));
    }

    #[test]
    fn map_copies_only_composites() {
        let a = Data::copy_from(b"abc");
        let (m, p) = a.inner.map();
        assert!(Arc::ptr_eq(&m, &a.inner));
        assert_eq!(p, a.inner.leaf_bytes().as_ptr());
        let ab = a.concat(&Data::copy_from(b"def"));
        let (m, p) = ab.inner.map();
        assert!(!Arc::ptr_eq(&m, &ab.inner));
        // SAFETY: `m` holds 6 bytes at `p`.
        assert_eq!(unsafe { std::slice::from_raw_parts(p, 6) }, b"abcdef");
    }

    #[test]
    fn copy_region_finds_the_region() {
        let ab = Data::copy_from(b"abc").concat(&Data::copy_from(b"defg"));
        let (r, off) = ab.inner.copy_region(4).unwrap();
        assert_eq!(off, 3);
        assert_eq!(r.to_vec(), b"defg");
        assert!(ab.inner.copy_region(7).is_err());
    }
}
