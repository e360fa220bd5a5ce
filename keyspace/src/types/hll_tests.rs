//! HLL tests: the sparse and dense encodings against a plain register array built straight from the hash,
//! the estimator against a reference written from Redis's formula, merge commutativity, and arbitrary bytes.

use super::*;
use proptest::prelude::*;

/// Registers built directly: for each element, the max of its zero run at its index.
fn reference_registers(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut regs = vec![0u8; REGISTERS];
    for e in elements {
        let hash = murmur64a(e, 0xadc83b19);
        let idx = (hash & (REGISTERS as u64 - 1)) as usize;
        let mut rest = hash >> 14;
        let mut run = 1u8;
        while rest & 1 == 0 && run <= 50 {
            run += 1;
            rest >>= 1;
        }
        regs[idx] = regs[idx].max(run);
    }
    regs
}

/// Redis's `hllCount` formula written out again, term by term.
fn reference_estimate(regs: &[u8]) -> u64 {
    let m = 16384.0f64;
    let mut histo = [0f64; 64];
    for &r in regs {
        histo[r as usize] += 1.0;
    }
    let tau = |mut x: f64| {
        if x == 0.0 || x == 1.0 {
            return 0.0;
        }
        let (mut y, mut z) = (1.0, 1.0 - x);
        loop {
            x = x.sqrt();
            let zp = z;
            y *= 0.5;
            z -= (1.0 - x).powi(2) * y;
            if zp == z {
                return z / 3.0;
            }
        }
    };
    let sigma = |mut x: f64| {
        if x == 1.0 {
            return f64::INFINITY;
        }
        let (mut y, mut z) = (1.0, x);
        loop {
            x *= x;
            let zp = z;
            z += x * y;
            y += y;
            if zp == z {
                return z;
            }
        }
    };
    let mut z = m * tau((m - histo[51]) / m);
    for j in (1..=50).rev() {
        z = (z + histo[j]) * 0.5;
    }
    z += m * sigma(histo[0] / m);
    (0.721_347_520_444_481_7 * m * m / z).round() as u64
}

fn build(elements: &[Vec<u8>], sparse_max: usize) -> Vec<u8> {
    let mut hll = new_sparse();
    for e in elements {
        add(&mut hll, e, sparse_max).unwrap();
    }
    hll
}

fn registers_of(hll: &[u8]) -> Vec<u8> {
    let mut max = vec![0u8; REGISTERS];
    merge_into(&mut max, hll).unwrap();
    max
}

proptest! {
    #[test]
    fn encodings_agree_with_reference(elements in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..12), 0..400)) {
        let sparse = build(&elements, 3000);
        let dense = build(&elements, 0);
        let reference = reference_registers(&elements);
        prop_assert!(registers_of(&sparse) == reference);
        prop_assert!(registers_of(&dense) == reference);
        let want = reference_estimate(&reference);
        prop_assert_eq!(count(&sparse).unwrap(), want);
        prop_assert_eq!(count(&dense).unwrap(), want);
        prop_assert_eq!(count_raw(&reference), want);
        prop_assert_eq!(validate(&sparse), Some(sparse[4]));
        // The converted form equals the one built dense from the start, apart from the cache bytes.
        if sparse[4] == SPARSE && dense[4] == DENSE {
            let converted = sparse_to_dense(&sparse).unwrap();
            prop_assert!(converted[HDR_BYTES..] == dense[HDR_BYTES..]);
        }
    }

    #[test]
    fn merge_is_commutative(a in proptest::collection::vec(any::<u32>(), 0..300),
                            b in proptest::collection::vec(any::<u32>(), 0..300)) {
        let ea: Vec<Vec<u8>> = a.iter().map(|x| x.to_le_bytes().to_vec()).collect();
        let eb: Vec<Vec<u8>> = b.iter().map(|x| x.to_le_bytes().to_vec()).collect();
        let (ha, hb) = (build(&ea, 3000), build(&eb, 0));
        let mut ab = vec![0u8; REGISTERS];
        merge_into(&mut ab, &ha).unwrap();
        merge_into(&mut ab, &hb).unwrap();
        let mut ba = vec![0u8; REGISTERS];
        merge_into(&mut ba, &hb).unwrap();
        merge_into(&mut ba, &ha).unwrap();
        prop_assert!(ab == ba);
        let all: Vec<Vec<u8>> = ea.iter().chain(eb.iter()).cloned().collect();
        prop_assert_eq!(count_raw(&ab), reference_estimate(&reference_registers(&all)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), dense in any::<bool>(),
                                   element in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut hll = b"HYLL".to_vec();
        hll.push(if dense { DENSE } else { SPARSE });
        hll.extend_from_slice(&[0; 11]);
        hll.extend_from_slice(&body);
        if dense {
            hll.resize(DENSE_BYTES, 0x5a);
        }
        prop_assert!(validate(&hll).is_some());
        let _ = count(&hll);
        let _ = decode(&hll);
        let mut max = vec![0u8; REGISTERS];
        let _ = merge_into(&mut max, &hll);
        let _ = sparse_to_dense(&hll);
        let _ = add(&mut hll, &element, 3000);
        let _ = validate(&body);
    }
}

#[test]
fn new_hll_is_one_xzero() {
    let hll = new_sparse();
    assert_eq!(hll.len(), 18);
    assert_eq!(decode(&hll), "Z:16384");
    assert_eq!(cached_card(&hll), Some(0));
    assert_eq!(count(&hll), Ok(0));
}

#[test]
fn dense_registers_round_trip() {
    let mut regs = vec![0u8; DENSE_BYTES - HDR_BYTES];
    for i in 0..REGISTERS {
        dense_put(&mut regs, i, (i * 7 % 64) as u8);
    }
    for i in 0..REGISTERS {
        assert_eq!(dense_get(&regs, i), (i * 7 % 64) as u8);
    }
    let mut seen = 0;
    dense_for_each(&regs, |i, v| {
        assert_eq!(v, (i * 7 % 64) as u8);
        seen += 1;
    });
    assert_eq!(seen, REGISTERS);
}

#[test]
fn sparse_splits_and_merges_like_redis() {
    let mut hll = new_sparse();
    sparse_set(&mut hll, 100, 3, 3000).unwrap();
    assert_eq!(decode(&hll), "Z:100 v:3,1 Z:16283");
    sparse_set(&mut hll, 101, 3, 3000).unwrap();
    assert_eq!(decode(&hll), "Z:100 v:3,2 Z:16282");
    sparse_set(&mut hll, 0, 33, 3000).unwrap();
    assert_eq!(hll[4], DENSE);
    assert_eq!(hll.len(), DENSE_BYTES);
}
