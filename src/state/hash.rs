//! A fast keyed hash for the stores: whether a change changed a document,
//! and which keys of a large mapping repeat. Keyed per process, so a file
//! cannot be made to collide on purpose; a few milliseconds for a registry
//! of 100,000 contexts, where SipHash takes tens.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

/// The key: a starting state drawn per process (from std's random keys).
#[derive(Clone, Copy)]
pub(crate) struct Keyed {
    a: u64,
    b: u64,
}

impl Keyed {
    pub(crate) fn new() -> Keyed {
        let random = RandomState::new();
        Keyed {
            a: random.hash_one(1u8),
            b: random.hash_one(2u8),
        }
    }

    /// The 128-bit hash of `value`: equal values hash alike.
    pub(crate) fn fingerprint(&self, value: &impl Hash) -> (u64, u64) {
        let mut h = self.build_hasher();
        value.hash(&mut h);
        (h.a, h.b)
    }
}

impl BuildHasher for Keyed {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher {
            a: self.a,
            b: self.b,
        }
    }
}

/// Two multiply-rotate lanes over 8-byte words.
pub(crate) struct FastHasher {
    a: u64,
    b: u64,
}

impl FastHasher {
    #[inline(always)]
    fn word(&mut self, w: u64) {
        self.a = (self.a.rotate_left(5) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.b = (self.b.rotate_left(29) ^ w).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    }
}

impl Hasher for FastHasher {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            self.word(u64::from_le_bytes(*word));
            rest = tail;
        }
        let mut last = [0; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(last));
        // The length too, so that `ab` and `ab\0` differ (one lane suffices).
        self.b ^= bytes.len() as u64;
    }

    #[inline(always)]
    fn write_u8(&mut self, n: u8) {
        self.word(u64::from(n));
    }

    #[inline(always)]
    fn write_u64(&mut self, n: u64) {
        self.word(n);
    }

    #[inline(always)]
    fn write_usize(&mut self, n: usize) {
        self.word(n as u64);
    }

    fn finish(&self) -> u64 {
        self.a ^ self.b.rotate_left(32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_values_hash_apart_and_equal_ones_alike() {
        let key = Keyed::new();
        let values = [
            "",
            "a",
            "ab",
            "ab\0",
            "ab\0\0\0\0\0\0",
            "abcdefgh",
            "abcdefgh\0",
        ];
        for (i, x) in values.iter().enumerate() {
            assert_eq!(key.fingerprint(x), key.fingerprint(&x.to_string()));
            for y in &values[i + 1..] {
                assert_ne!(key.fingerprint(x), key.fingerprint(y), "{x:?} {y:?}");
            }
        }
        assert_ne!(key.fingerprint(&("a", "bc")), key.fingerprint(&("ab", "c")));
        // Another process, another key.
        assert_ne!(Keyed::new().fingerprint(&"x"), key.fingerprint(&"x"));
    }
}
