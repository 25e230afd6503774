//! Known answers from the Certificate Transparency / transparency-dev test vectors.
//!
//! Source: github.com/transparency-dev/merkle, `testonly/constants.go` (LeafInputs, NodeHashes,
//! RootHashes) and `proof/verify_test.go` (inclusionProofs, consistencyProofs, roots). In
//! `inclusionProofs` the leaf number is 1-based (the Go test passes `p.leaf-1`).

use ledger_adapter::{
    empty_root, hash_leaf, root_from_leaves, verify_consistency, verify_inclusion, ConsistencyProofError, Hash,
    InclusionProofError, LedgerReader, LedgerWriter,
};

use crate::support::{bytes, hash, TestLedger};

const LEAF_INPUTS: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Roots of the trees of 0..=8 leaves (RootHashes).
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Leaf hashes (NodeHashes level 0).
const LEAF_HASHES: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
];

/// (1-based leaf, tree size, proof) from `inclusionProofs`, without the degenerate {0, 0, nil}.
const INCLUSION_PROOFS: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (size1, size2, proof) from `consistencyProofs`.
const CONSISTENCY_PROOFS: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn hashes(texts: &[&str]) -> Vec<Hash> {
    texts.iter().map(|text| hash(text)).collect()
}

fn leaf_hashes() -> Vec<Hash> {
    LEAF_INPUTS.iter().map(|input| hash_leaf(&bytes(input))).collect()
}

/// The eight leaf inputs in a sled ledger, one block per leaf so every size is a block boundary.
fn vector_ledger() -> TestLedger {
    let test = TestLedger::new();
    for (index, input) in LEAF_INPUTS.iter().enumerate() {
        test.ledger.append_block(&[bytes(input)], index as u64).expect("append");
    }
    test
}

#[test]
fn leaf_hashes_and_roots_match() {
    let leaves = leaf_hashes();
    assert_eq!(leaves, hashes(&LEAF_HASHES));
    assert_eq!(empty_root(), hash(ROOTS[0]));
    let test = vector_ledger();
    for size in 0..=8usize {
        assert_eq!(root_from_leaves(&leaves[..size]), hash(ROOTS[size]), "reference root at {size}");
        assert_eq!(test.ledger.root_at(size as u64).expect("root"), hash(ROOTS[size]), "stored root at {size}");
        if size > 0 {
            let block = test.ledger.block(size as u64 - 1).expect("read").expect("block");
            assert_eq!(block.header.tree_root, hash(ROOTS[size]), "signed root at {size}");
        }
    }
    for (seq, expected) in LEAF_HASHES.iter().enumerate() {
        assert_eq!(test.ledger.leaf_hash(seq as u64).expect("leaf"), Some(hash(expected)));
    }
}

#[test]
fn published_inclusion_proofs_verify_and_are_generated() {
    let leaves = leaf_hashes();
    let test = vector_ledger();
    for &(leaf, size, proof) in INCLUSION_PROOFS {
        let index = leaf - 1;
        let proof = hashes(proof);
        let root = hash(ROOTS[size as usize]);
        verify_inclusion(index, size, &leaves[index as usize], &proof, &root)
            .unwrap_or_else(|error| panic!("published proof {leaf}/{size}: {error}"));
        let generated = test.ledger.inclusion_proof(index, size).expect("proof");
        assert_eq!(generated.hashes, proof, "generated proof {leaf}/{size}");

        // The corruptions of `corruptInclusionProof` in verify_test.go must all fail.
        let leaf_hash = leaves[index as usize];
        let mut probes: Vec<(u64, u64, Hash, Vec<Hash>, Hash)> = vec![
            (index.wrapping_sub(1), size, leaf_hash, proof.clone(), root),
            (index + 1, size, leaf_hash, proof.clone(), root),
            (index ^ 2, size, leaf_hash, proof.clone(), root),
            (index, size * 2, leaf_hash, proof.clone(), root),
            (index, size / 2, leaf_hash, proof.clone(), root),
            (index, size, hash_leaf(b"WrongLeaf"), proof.clone(), root),
            (index, size, leaf_hash, proof.clone(), empty_root()),
            (index, size, leaf_hash, [proof.clone(), vec![root]].concat(), root),
            (index, size, leaf_hash, [vec![root], proof.clone()].concat(), root),
        ];
        for position in 0..proof.len() {
            let mut flipped = proof.clone();
            let mut raw = *flipped[position].as_bytes();
            raw[0] ^= 8;
            flipped[position] = Hash::from_bytes(raw);
            probes.push((index, size, leaf_hash, flipped, root));
        }
        if let Some((_, shorter)) = proof.split_last() {
            probes.push((index, size, leaf_hash, shorter.to_vec(), root));
        }
        for (probe, (index, size, leaf_hash, proof, root)) in probes.into_iter().enumerate() {
            // {1, 1}: size * 2 and index + 1 still describe a valid proof shape, but not this root.
            if let Ok(()) = verify_inclusion(index, size, &leaf_hash, &proof, &root) {
                panic!("corrupted probe {probe} of proof {leaf}/{size} verified");
            }
        }
    }
    assert!(matches!(
        verify_inclusion(0, 0, &leaves[0], &[], &empty_root()),
        Err(InclusionProofError::IndexOutOfRange { .. })
    ));
}

#[test]
fn published_consistency_proofs_verify_and_are_generated() {
    let test = vector_ledger();
    for &(first, second, proof) in CONSISTENCY_PROOFS {
        let proof = hashes(proof);
        let (first_root, second_root) = (hash(ROOTS[first as usize]), hash(ROOTS[second as usize]));
        verify_consistency(first, second, &first_root, &second_root, &proof)
            .unwrap_or_else(|error| panic!("published proof {first}->{second}: {error}"));
        let generated = test.ledger.consistency_proof(first, second).expect("proof");
        assert_eq!(generated.hashes, proof, "generated proof {first}->{second}");
        if proof.is_empty() {
            continue;
        }
        // The corruptions of `corruptConsistencyProof` in verify_test.go must all fail.
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (first - 1, second, first_root, second_root, proof.clone()),
            (first + 1, second, first_root, second_root, proof.clone()),
            (first ^ 2, second, first_root, second_root, proof.clone()),
            (first, second * 2, first_root, second_root, proof.clone()),
            (first, second / 2, first_root, second_root, proof.clone()),
            (first, second, hash_leaf(b"WrongRoot"), second_root, proof.clone()),
            (first, second, first_root, hash_leaf(b"WrongRoot"), proof.clone()),
            (first, second, second_root, first_root, proof.clone()),
            (first, second, first_root, second_root, Vec::new()),
            (first, second, first_root, second_root, [proof.clone(), vec![first_root]].concat()),
            (first, second, first_root, second_root, [proof.clone(), vec![second_root]].concat()),
            (first, second, first_root, second_root, [vec![first_root], proof.clone()].concat()),
            (first, second, first_root, second_root, [vec![second_root], proof.clone()].concat()),
            (first, second, first_root, second_root, [vec![proof[0]], proof.clone()].concat()),
            (first, second, first_root, second_root, proof[..proof.len() - 1].to_vec()),
        ];
        for position in 0..proof.len() {
            let mut flipped = proof.clone();
            let mut raw = *flipped[position].as_bytes();
            raw[0] ^= 16;
            flipped[position] = Hash::from_bytes(raw);
            probes.push((first, second, first_root, second_root, flipped));
        }
        for (probe, (first, second, first_root, second_root, proof)) in probes.into_iter().enumerate() {
            assert!(
                verify_consistency(first, second, &first_root, &second_root, &proof).is_err(),
                "corrupted probe {probe} of proof {first}->{second} verified"
            );
        }
    }
    // The edge cases of TestVerifyConsistency.
    let (root1, root2) = (hash(ROOTS[1]), hash(ROOTS[2]));
    assert_eq!(verify_consistency(0, 0, &empty_root(), &empty_root(), &[]), Ok(()));
    assert_eq!(verify_consistency(0, 1, &empty_root(), &root1, &[]), Ok(()));
    assert_eq!(verify_consistency(1, 1, &root2, &root2, &[]), Ok(()));
    assert!(verify_consistency(1, 1, &root1, &root2, &[]).is_err());
    assert!(matches!(
        verify_consistency(1, 0, &root1, &root2, &[]),
        Err(ConsistencyProofError::SizesOutOfOrder { .. })
    ));
    assert!(matches!(
        verify_consistency(2, 1, &root1, &root2, &[]),
        Err(ConsistencyProofError::SizesOutOfOrder { .. })
    ));
    assert!(verify_consistency(1, 2, &root1, &root2, &[]).is_err());
    assert!(verify_consistency(0, 0, &empty_root(), &empty_root(), &[empty_root()]).is_err());
    assert!(verify_consistency(0, 1, &empty_root(), &empty_root(), &[empty_root()]).is_err());
    assert!(verify_consistency(1, 1, &empty_root(), &empty_root(), &[empty_root()]).is_err());
}
