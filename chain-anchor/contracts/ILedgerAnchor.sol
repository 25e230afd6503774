// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The ledger anchor: every bridge node's latest signed block header, on a shared chain.
/// @notice A node's ledger is a hash chain of signed block headers (169 bytes, then a 64-byte
/// secp256k1 signature: see ledger-adapter/src/block.rs). This contract keeps, per registered
/// node key, the hash of every header anchored and the latest height and tree size; the headers
/// themselves travel in the anchoring transactions' input (and the proofs a node hands out). Anyone may
/// submit a header (the node's own gas account, or a peer relaying it): the contract checks the
/// node's signature itself, so nobody can forge one. Heights and tree sizes never go back, and
/// every anchor after a key's first must extend the one before: the caller gives the previous
/// anchored header and an RFC 6962 consistency proof from its tree to the new one, checked here.
/// A second, different header for an already anchored height is kept as an `Equivocation` event.
/// The admin (the consortium's account) registers and revokes node keys.
interface ILedgerAnchor {
    /// A node key was registered: `signer` is the Ethereum address of the key, `keyId` the
    /// SHA-256 of its 33-byte compressed form (the header's node_key_id).
    event NodeRegistered(bytes32 indexed keyId, address signer);
    /// A node key was revoked: its headers are no longer accepted; what it anchored stays.
    event NodeRevoked(bytes32 indexed keyId);
    /// A header was anchored: its hash is `SHA-256(domain || header)`, as the node signed it.
    event Anchored(bytes32 indexed keyId, uint64 indexed height, bytes32 headerHash);
    /// A validly signed header differs from the one already anchored at its height: evidence that
    /// the node's history was rewritten (or forked). The anchored header stays.
    event Equivocation(bytes32 indexed keyId, uint64 indexed height, bytes32 anchoredHash, bytes32 conflictingHash, bytes conflictingSignedHeader);
    /// The admin account changed.
    event AdminChanged(address indexed previous, address indexed current);

    /// Only the admin may do this.
    error NotAdmin();
    /// The public key is not 64 bytes (x || y) of a point on secp256k1.
    error BadPublicKey();
    /// The key is registered already (revoked keys stay registered).
    error AlreadyRegistered(bytes32 keyId);
    /// No key with this id is registered.
    error NotRegistered(bytes32 keyId);
    /// The key was revoked.
    error KeyRevoked(bytes32 keyId);
    /// The bytes are not a version 1 signed header (233 bytes, first byte 1).
    error BadHeader();
    /// The signature is not the registered key's (or is not low-S).
    error BadSignature();
    /// The height is below the latest anchored one and was never anchored itself.
    error HeightWentBack(uint64 latest, uint64 submitted);
    /// The height is above the latest anchored one but the tree size is not.
    error TreeSizeWentBack(uint64 latest, uint64 submitted);
    /// The previous anchored header given is not the anchored one, or the new header's tree does
    /// not extend its tree (the consistency proof fails): the history was rewritten.
    error NotAnExtension();
    /// The height or tree size is 2^48 or more (the contract packs both into 48 bits: at a
    /// thousand blocks a second, 8,900 years).
    error OutOfRange();

    /// The admin account.
    function admin() external view returns (address);
    /// Hands the admin role to another account (admin only).
    function setAdmin(address next) external;
    /// Registers a node key given as its 64-byte uncompressed public key x || y (admin only).
    function register(bytes calldata publicKey) external returns (bytes32 keyId);
    /// Revokes a node key (admin only).
    function revoke(bytes32 keyId) external;
    /// Anchors a signed header (anyone). `recoveryId` (0 or 1) says which of the signature's two
    /// candidate keys is the signer's, so the contract recovers once; it is a hint, not part of
    /// what is signed, and a wrong one is refused as a bad signature. A header already anchored
    /// is accepted again and changes nothing, so a re-sent anchor transaction never fails.
    /// After a key's first anchor, `previousHeader` is the latest anchored header (its 169 bytes,
    /// unsigned: its hash is what was anchored) and `consistency` the RFC 6962 consistency proof
    /// from its tree to the new header's; both are ignored for a key's first anchor and for a
    /// header at an already anchored height.
    function anchor(bytes calldata signedHeader, uint8 recoveryId, bytes calldata previousHeader, bytes32[] calldata consistency)
        external;
    /// A node key's state: `height`, `treeSize` and `headerHash` are the latest anchored
    /// header's (all zero while none is: an anchored tree size is at least 1).
    function node(bytes32 keyId)
        external
        view
        returns (
            address signer,
            bool revoked,
            bool equivocated,
            uint64 height,
            uint64 treeSize,
            bytes32 headerHash
        );
    /// The header hash anchored for `keyId` at `height`, or zero.
    function headerHashAt(bytes32 keyId, uint64 height) external view returns (bytes32);
    /// How many keys were ever registered.
    function nodeCount() external view returns (uint256);
    /// The id of the `index`th key registered.
    function nodeKeyAt(uint256 index) external view returns (bytes32);
}
