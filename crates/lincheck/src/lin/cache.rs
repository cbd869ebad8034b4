//! The visited-configuration cache of the Wing–Gong search: a set of (linearized-set
//! bitset, model state) pairs, stored flat and found through an open-addressing table
//! keyed by a precomputed 64-bit hash. Insertion order is kept, so nothing here depends on
//! iteration order of a std collection.

/// A set of configurations. `words` is the bitset width in `u64` words.
pub struct Cache<S> {
    words: usize,
    hashes: Vec<u64>,
    bits: Vec<u64>,
    states: Vec<S>,
    /// Open addressing, linear probing; a slot holds `entry index + 1`, 0 is empty.
    slots: Vec<u32>,
    mask: usize,
    heap_bytes: u64,
}

const INITIAL_SLOTS: usize = 1 << 6;

impl<S: Eq> Cache<S> {
    pub fn new(words: usize) -> Self {
        assert!(words > 0);
        Cache {
            words,
            hashes: Vec::new(),
            bits: Vec::new(),
            states: Vec::new(),
            slots: vec![0; INITIAL_SLOTS],
            mask: INITIAL_SLOTS - 1,
            heap_bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Approximate bytes held: entries, table, and the states' own heap bytes.
    pub fn bytes(&self) -> u64 {
        let per_entry = 8 + 8 * self.words + std::mem::size_of::<S>();
        (self.len() * per_entry + self.slots.len() * 4) as u64 + self.heap_bytes
    }

    /// Insert `(bits, state)` unless present; true if inserted. `make_state` is called only
    /// when inserting; `state_heap_bytes` is that state's heap footprint.
    pub fn insert(
        &mut self,
        hash: u64,
        bits: &[u64],
        state: &S,
        make_state: impl FnOnce() -> S,
        state_heap_bytes: usize,
    ) -> bool {
        debug_assert_eq!(bits.len(), self.words);
        let mut slot = (hash as usize) & self.mask;
        // Load factor stays at most 1/2, so an empty slot exists within `slots.len()` probes.
        for _probe in 0..self.slots.len() {
            let occupant = self.slots[slot];
            if occupant == 0 {
                let index = self.hashes.len();
                assert!(index < u32::MAX as usize - 1, "cache index overflow");
                self.hashes.push(hash);
                self.bits.extend_from_slice(bits);
                self.states.push(make_state());
                self.heap_bytes += state_heap_bytes as u64;
                self.slots[slot] = index as u32 + 1;
                if 2 * self.hashes.len() > self.slots.len() {
                    self.grow();
                }
                return true;
            }
            let index = occupant as usize - 1;
            if self.hashes[index] == hash
                && self.bits[index * self.words..(index + 1) * self.words] == *bits
                && self.states[index] == *state
            {
                return false;
            }
            slot = (slot + 1) & self.mask;
        }
        unreachable!("cache table full despite load factor bound");
    }

    fn grow(&mut self) {
        let capacity = self.slots.len() * 2;
        self.slots = vec![0; capacity];
        self.mask = capacity - 1;
        for (index, &hash) in self.hashes.iter().enumerate() {
            let mut slot = (hash as usize) & self.mask;
            for _probe in 0..capacity {
                if self.slots[slot] == 0 {
                    self.slots[slot] = index as u32 + 1;
                    break;
                }
                slot = (slot + 1) & self.mask;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once_and_distinguishes_bits_and_states() {
        let mut cache: Cache<u8> = Cache::new(2);
        assert!(cache.insert(7, &[1, 0], &3, || 3, 0));
        assert!(!cache.insert(7, &[1, 0], &3, || 3, 0));
        assert!(
            cache.insert(7, &[1, 1], &3, || 3, 0),
            "same hash, other bits"
        );
        assert!(
            cache.insert(7, &[1, 0], &4, || 4, 0),
            "same hash, other state"
        );
        assert_eq!(cache.len(), 3);
        for i in 0..5000u64 {
            assert!(cache.insert(sansio::mix64(i), &[i, 0], &0, || 0, 0));
        }
        for i in 0..5000u64 {
            assert!(!cache.insert(sansio::mix64(i), &[i, 0], &0, || 0, 0));
        }
        assert_eq!(cache.len(), 5003);
        assert!(cache.bytes() > 5003 * 24);
    }
}
