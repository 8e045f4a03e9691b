//! Handle conversions through the C ABI without threads or system calls, small enough for
//! Miri (`cargo +nightly miri test miri_`): handles made by `Arc::into_raw`, borrowed back
//! with `Arc::from_raw` + `ManuallyDrop`, retained and released through `rgcd_retain` /
//! `rgcd_release`, and the stale-handle check reading a destroyed object's quarantined
//! header. Under Miri a handle used after its memory was freed, a reference count
//! that goes wrong or a region pointer out of its leaf's bounds is an error.

use super::*;
use std::ffi::c_void;
use std::ptr;

unsafe fn size(d: rgcd_data_t) -> usize {
    // SAFETY: per the caller.
    unsafe { rgcd_data_get_size(d) }
}

/// All of `d`'s bytes, through `rgcd_data_apply_f`.
unsafe fn bytes(d: rgcd_data_t) -> Vec<u8> {
    unsafe extern "C" fn gather(
        ctx: *mut c_void,
        region: rgcd_data_t,
        offset: libc::size_t,
        buffer: *const c_void,
        len: libc::size_t,
    ) -> bool {
        // SAFETY: the test's vector; the region is borrowed for the call.
        let v = unsafe { &mut *(ctx as *mut Vec<u8>) };
        assert_eq!(offset, v.len());
        assert!(unsafe { rgcd_data_get_size(region) } >= len);
        // SAFETY: `len` readable bytes for the call.
        v.extend_from_slice(unsafe { std::slice::from_raw_parts(buffer as *const u8, len) });
        true
    }
    let mut v = Vec::new();
    // SAFETY: per the caller.
    let r = unsafe { rgcd_data_apply_f(d, &mut v as *mut Vec<u8> as *mut c_void, Some(gather)) };
    assert_eq!(r, 1);
    v
}

#[test]
fn miri_handles_data_regions() {
    static BORROWED: [u8; 4] = *b"WXYZ";
    // SAFETY: valid buffers, handles used while they are live, each released once.
    unsafe {
        let a = rgcd_data_create(
            b"0123456789".as_ptr() as *const c_void,
            10,
            RGCD_DATA_DESTRUCTOR_DEFAULT,
        );
        let m = libc::malloc(6) as *mut u8;
        ptr::copy_nonoverlapping(b"abcdef".as_ptr(), m, 6);
        let b = rgcd_data_create(m as *const c_void, 6, RGCD_DATA_DESTRUCTOR_FREE);
        let c = rgcd_data_create(
            BORROWED.as_ptr() as *const c_void,
            4,
            RGCD_DATA_DESTRUCTOR_NONE,
        );
        assert!(!a.is_null() && !b.is_null() && !c.is_null());

        let ab = rgcd_data_create_concat(a, b);
        let abc = rgcd_data_create_concat(ab, c);
        // The parts can go: the composite holds their leaves.
        for d in [a, b, c, ab] {
            assert_eq!(rgcd_release(d as *mut c_void), RGCD_OK);
        }
        assert_eq!(size(abc), 20);
        assert_eq!(bytes(abc), b"0123456789abcdefWXYZ");

        let mid = rgcd_data_create_subrange(abc, 8, 10);
        assert_eq!(bytes(mid), b"89abcdefWX");
        let mut off = 0usize;
        let region = rgcd_data_copy_region(mid, 3, &mut off);
        assert_eq!(off, 2);
        assert_eq!(bytes(region), b"abcdef");
        assert_eq!(rgcd_release(region as *mut c_void), RGCD_OK);

        let (mut p, mut n) = (ptr::null::<c_void>(), 0usize);
        let mapped = rgcd_data_create_map(mid, &mut p, &mut n);
        assert_eq!(n, 10);
        assert_eq!(std::slice::from_raw_parts(p as *const u8, n), b"89abcdefWX");
        // The map outlives the data it was made from.
        assert_eq!(rgcd_release(mid as *mut c_void), RGCD_OK);
        assert_eq!(std::slice::from_raw_parts(p as *const u8, n), b"89abcdefWX");
        assert_eq!(rgcd_release(mapped as *mut c_void), RGCD_OK);

        // A retained handle survives one release; past the empty end: the empty object.
        assert_eq!(rgcd_retain(abc as *mut c_void), RGCD_OK);
        assert_eq!(rgcd_release(abc as *mut c_void), RGCD_OK);
        assert_eq!(size(abc), 20);
        let none = rgcd_data_create_subrange(abc, 20, 5);
        assert_eq!(none, rgcd_data_empty());
        assert_eq!(
            rgcd_release(none as *mut c_void),
            RGCD_OK,
            "releasing the empty object does nothing"
        );
        assert_eq!(rgcd_release(abc as *mut c_void), RGCD_OK);
    }
}

#[test]
fn miri_handles_stale_and_foreign_are_refused() {
    // SAFETY: each handle is released once by the test; the later calls go through a handle
    // whose object was destroyed, which rgcd must refuse by reading its quarantined header.
    unsafe {
        let d = rgcd_data_create(
            b"xyz".as_ptr() as *const c_void,
            3,
            RGCD_DATA_DESTRUCTOR_DEFAULT,
        );
        let g = rgcd_group_create();
        let s = rgcd_semaphore_create(1);
        for h in [d as *mut c_void, g as *mut c_void, s as *mut c_void] {
            assert_eq!(rgcd_release(h), RGCD_OK);
            assert_eq!(rgcd_release(h), RGCD_ETYPE, "a second release is refused");
            assert_eq!(rgcd_retain(h), RGCD_ETYPE);
        }
        assert_eq!(rgcd_data_get_size(d), 0);
        assert_eq!(rgcd_group_enter(g), RGCD_ETYPE);
        assert_eq!(rgcd_semaphore_signal(s), RGCD_ETYPE);

        assert_eq!(rgcd_release(ptr::null_mut()), RGCD_EINVAL);
        // Memory that is no rgcd object (aligned like one, writable as C memory is, zeroed).
        let mut foreign = [0u64; 4];
        assert_eq!(rgcd_retain(foreign.as_mut_ptr() as *mut c_void), RGCD_ETYPE);
        // A group handle where a semaphore is wanted.
        let g = rgcd_group_create();
        assert_eq!(rgcd_semaphore_signal(g as rgcd_semaphore_t), RGCD_ETYPE);
        assert_eq!(rgcd_release(g as *mut c_void), RGCD_OK);
    }
}

#[test]
fn miri_handles_group_and_semaphore_without_waiting() {
    // SAFETY: live handles, each released once; no call here has to block.
    unsafe {
        let g = rgcd_group_create();
        assert_eq!(rgcd_group_wait(g, RGCD_TIME_NOW), RGCD_OK);
        assert_eq!(rgcd_group_enter(g), RGCD_OK);
        assert_eq!(rgcd_group_wait(g, RGCD_TIME_NOW), RGCD_TIMED_OUT);
        assert_eq!(rgcd_group_leave(g), RGCD_OK);
        assert_eq!(rgcd_group_leave(g), RGCD_ESTATE, "unbalanced leave");
        assert_eq!(rgcd_group_wait(g, RGCD_TIME_NOW), RGCD_OK);
        assert_eq!(rgcd_release(g as *mut c_void), RGCD_OK);

        let s = rgcd_semaphore_create(2);
        assert_eq!(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_OK);
        assert_eq!(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_OK);
        assert_eq!(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_TIMED_OUT);
        assert_eq!(rgcd_semaphore_signal(s), 0, "no waiter woken");
        assert_eq!(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_OK);
        assert_eq!(rgcd_semaphore_signal(s), 0);
        assert_eq!(rgcd_semaphore_signal(s), 0);
        assert_eq!(rgcd_release(s as *mut c_void), RGCD_OK);
        assert!(rgcd_semaphore_create(-1).is_null());
    }
}
