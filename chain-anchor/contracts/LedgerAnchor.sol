// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ILedgerAnchor} from "./ILedgerAnchor.sol";

/// @title LedgerAnchor: see ILedgerAnchor for what it promises.
contract LedgerAnchor is ILedgerAnchor {
    /// The header hash's domain prefix (ledger-adapter HEADER_HASH_DOMAIN, NUL included).
    bytes private constant HEADER_HASH_DOMAIN = "fhir-ledger-bridge/block-header/v1\x00";
    uint256 private constant HEADER_LEN = 169;
    uint256 private constant SIGNED_HEADER_LEN = 233;
    /// secp256k1's field prime and half its group order (signatures must be low-S).
    uint256 private constant FIELD_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// Everything an anchor reads and writes of its key, in one storage slot: the key's address
    /// and the latest anchor's height and tree size (0: nothing anchored yet). A revoked key's
    /// address moves to `revokedSigners`, so an anchor reads this one slot only.
    struct NodeKey {
        address signer;
        uint48 height;
        uint48 treeSize;
    }

    uint256 private constant MAX_PACKED = 2 ** 48;

    address public admin;
    mapping(bytes32 => NodeKey) private keys;
    mapping(bytes32 => address) private revokedSigners;
    mapping(bytes32 => bool) private equivocatedKeys;
    mapping(bytes32 => mapping(uint64 => bytes32)) private headerHashes;
    bytes32[] private keyIds;

    constructor() {
        admin = msg.sender;
        emit AdminChanged(address(0), msg.sender);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    function setAdmin(address next) external onlyAdmin {
        emit AdminChanged(admin, next);
        admin = next;
    }

    function register(bytes calldata publicKey) external onlyAdmin returns (bytes32 keyId) {
        if (publicKey.length != 64) revert BadPublicKey();
        uint256 x = uint256(bytes32(publicKey[0:32]));
        uint256 y = uint256(bytes32(publicKey[32:64]));
        // On the curve: y^2 = x^3 + 7 (mod p), both coordinates reduced.
        if (x >= FIELD_P || y >= FIELD_P) revert BadPublicKey();
        if (mulmod(y, y, FIELD_P) != addmod(mulmod(mulmod(x, x, FIELD_P), x, FIELD_P), 7, FIELD_P)) {
            revert BadPublicKey();
        }
        keyId = sha256(abi.encodePacked(bytes1(uint8(2 + (y & 1))), bytes32(x)));
        if (keys[keyId].signer != address(0) || revokedSigners[keyId] != address(0)) revert AlreadyRegistered(keyId);
        address signer = address(uint160(uint256(keccak256(publicKey))));
        keys[keyId] = NodeKey({signer: signer, height: 0, treeSize: 0});
        keyIds.push(keyId);
        emit NodeRegistered(keyId, signer);
    }

    function revoke(bytes32 keyId) external onlyAdmin {
        NodeKey storage key = keys[keyId];
        if (key.signer == address(0)) {
            if (revokedSigners[keyId] != address(0)) return;
            revert NotRegistered(keyId);
        }
        revokedSigners[keyId] = key.signer;
        key.signer = address(0);
        emit NodeRevoked(keyId);
    }

    function anchor(bytes calldata signedHeader, uint8 recoveryId, bytes calldata previousHeader, bytes32[] calldata consistency)
        external
    {
        if (signedHeader.length != SIGNED_HEADER_LEN || signedHeader[0] != 0x01) revert BadHeader();
        // Layout (ledger-adapter block.rs): version 1 | height 8 | prev_hash 32 | first_seq 8 |
        // record_count 8 | block_root 32 | tree_size 8 | tree_root 32 | time_ms 8 | key id 32 | r 32 | s 32.
        bytes32 keyId = bytes32(signedHeader[137:169]);
        NodeKey memory key = keys[keyId];
        if (key.signer == address(0)) {
            if (revokedSigners[keyId] != address(0)) revert KeyRevoked(keyId);
            revert NotRegistered(keyId);
        }

        bytes32 headerHash = sha256(abi.encodePacked(HEADER_HASH_DOMAIN, signedHeader[0:HEADER_LEN]));
        bytes32 r = bytes32(signedHeader[169:201]);
        bytes32 s = bytes32(signedHeader[201:233]);
        if (uint256(s) > HALF_N || recoveryId > 1) revert BadSignature();
        if (ecrecover(headerHash, 27 + recoveryId, r, s) != key.signer) revert BadSignature();

        uint64 height = uint64(bytes8(signedHeader[1:9]));
        uint64 treeSize = uint64(bytes8(signedHeader[89:97]));
        if (height >= MAX_PACKED || treeSize >= MAX_PACKED) revert OutOfRange();
        // Every block holds at least one record: a tree size of 0 is no header of a ledger.
        if (treeSize == 0) revert BadHeader();
        bytes32 anchored = headerHashes[keyId][height];
        if (anchored != bytes32(0)) {
            if (anchored == headerHash) return;
            equivocatedKeys[keyId] = true;
            emit Equivocation(keyId, height, anchored, headerHash, signedHeader);
            return;
        }
        if (key.treeSize != 0) {
            if (height <= key.height) revert HeightWentBack(key.height, height);
            if (treeSize <= key.treeSize) revert TreeSizeWentBack(key.treeSize, treeSize);
            // The new tree must extend the last anchored one (tree_root at bytes 97..129).
            if (previousHeader.length != HEADER_LEN) revert NotAnExtension();
            if (sha256(abi.encodePacked(HEADER_HASH_DOMAIN, previousHeader)) != headerHashes[keyId][key.height]) {
                revert NotAnExtension();
            }
            if (!extends(key.treeSize, treeSize, bytes32(previousHeader[97:129]), bytes32(signedHeader[97:129]), consistency)) {
                revert NotAnExtension();
            }
        }
        headerHashes[keyId][height] = headerHash;
        keys[keyId] = NodeKey({signer: key.signer, height: uint48(height), treeSize: uint48(treeSize)});
        emit Anchored(keyId, height, headerHash);
    }

    /// RFC 9162 §2.1.4.2: whether the tree of `second` leaves with root `secondRoot` extends the
    /// tree of `first` leaves (0 < first < second) with root `firstRoot`, by `proof`.
    function extends(uint256 first, uint256 second, bytes32 firstRoot, bytes32 secondRoot, bytes32[] calldata proof)
        private
        pure
        returns (bool)
    {
        if (first == 0 || first >= second) return false;
        uint256 next = 0;
        bytes32 seed = firstRoot;
        // A power of two's root is the path's implicit first node; otherwise it is sent.
        if (first & (first - 1) != 0) {
            if (proof.length == 0) return false;
            seed = proof[0];
            next = 1;
        }
        uint256 fn = first - 1;
        uint256 sn = second - 1;
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        bytes32 fr = seed;
        bytes32 sr = seed;
        for (uint256 i = next; i < proof.length; i++) {
            if (sn == 0) return false;
            bytes32 c = proof[i];
            if (fn & 1 == 1 || fn == sn) {
                fr = sha256(abi.encodePacked(bytes1(0x01), c, fr));
                sr = sha256(abi.encodePacked(bytes1(0x01), c, sr));
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = sha256(abi.encodePacked(bytes1(0x01), sr, c));
            }
            fn >>= 1;
            sn >>= 1;
        }
        return fr == firstRoot && sr == secondRoot && sn == 0;
    }

    function node(bytes32 keyId)
        external
        view
        returns (address signer, bool revoked, bool equivocated, uint64 height, uint64 treeSize, bytes32 headerHash)
    {
        NodeKey memory key = keys[keyId];
        signer = key.signer;
        revoked = signer == address(0) && revokedSigners[keyId] != address(0);
        if (revoked) signer = revokedSigners[keyId];
        equivocated = equivocatedKeys[keyId];
        height = key.height;
        treeSize = key.treeSize;
        headerHash = treeSize == 0 ? bytes32(0) : headerHashes[keyId][height];
    }

    function headerHashAt(bytes32 keyId, uint64 height) external view returns (bytes32) {
        return headerHashes[keyId][height];
    }

    function nodeCount() external view returns (uint256) {
        return keyIds.length;
    }

    function nodeKeyAt(uint256 index) external view returns (bytes32) {
        return keyIds[index];
    }
}
