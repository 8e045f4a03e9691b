//! A queue label stored inline when short (up to 15 bytes), else on the heap.
//!
//! Byte 15 tells the two apart: 0 (the terminating NUL of an inline label, or padding) or
//! `HEAP`, in which case bytes 0..8 hold a pointer from `CString::into_raw`.

use std::ffi::{c_char, CStr, CString};

const HEAP: u8 = 0xff;

pub(super) struct Label([u8; 16]);

impl Label {
    /// A label from bytes, cut at the first NUL.
    pub(super) fn new(bytes: &[u8]) -> Label {
        let bytes = match bytes.iter().position(|&b| b == 0) {
            Some(n) => &bytes[..n],
            None => bytes,
        };
        Label::from_c(bytes)
    }

    /// A label from bytes that hold no NUL (a C string's, which `CStr` already measured).
    pub(super) fn from_c(bytes: &[u8]) -> Label {
        let mut raw = [0u8; 16];
        if bytes.len() < 16 {
            raw[..bytes.len()].copy_from_slice(bytes);
        } else {
            let p = CString::new(bytes).expect("no NUL").into_raw();
            raw[..8].copy_from_slice(&(p as usize).to_ne_bytes());
            raw[15] = HEAP;
        }
        Label(raw)
    }

    fn heap_ptr(&self) -> Option<*mut c_char> {
        if self.0[15] != HEAP {
            return None;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        Some(usize::from_ne_bytes(b) as *mut c_char)
    }

    pub(super) fn as_cstr(&self) -> &CStr {
        match self.heap_ptr() {
            // SAFETY: produced by `CString::into_raw`, freed only in `drop`.
            Some(p) => unsafe { CStr::from_ptr(p) },
            None => CStr::from_bytes_until_nul(&self.0).expect("inline label is NUL-terminated"),
        }
    }
}

impl Drop for Label {
    fn drop(&mut self) {
        if let Some(p) = self.heap_ptr() {
            // SAFETY: produced by `CString::into_raw`.
            drop(unsafe { CString::from_raw(p) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Label;

    #[test]
    fn inline_and_heap() {
        assert_eq!(Label::new(b"").as_cstr().to_bytes(), b"");
        assert_eq!(
            Label::new(b"fifteen-bytes!!").as_cstr().to_bytes(),
            b"fifteen-bytes!!"
        );
        let long = b"a label that is longer than sixteen bytes";
        assert_eq!(Label::new(long).as_cstr().to_bytes(), long);
        assert_eq!(Label::new(b"cut\0here").as_cstr().to_bytes(), b"cut");
    }
}
