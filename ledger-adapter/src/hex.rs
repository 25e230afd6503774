//! Lower-case hexadecimal encoding for hashes, key ids, keys and signatures.
//!
//! Thin wrappers over `data-encoding` that give this crate's error type: the ledger only ever
//! shows fixed-size byte strings as hex (headers served as JSON by the bridge, error messages, logs).

/// Why a hex string could not be decoded into bytes of the expected size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string does not have exactly twice as many characters as the expected byte count.
    #[error("hex string has {got} characters, expected {expected}")]
    WrongLength {
        /// Characters found.
        got: usize,
        /// Characters expected.
        expected: usize,
    },
    /// A character is not one of `0-9`, `a-f`, `A-F`.
    #[error("invalid hex character at position {position}")]
    InvalidCharacter {
        /// Byte offset of the offending character.
        position: usize,
    },
}

/// Encodes bytes as lower-case hex.
pub(crate) fn encode(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// Decodes exactly `N` bytes from hex (either case).
pub(crate) fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    let digits = text.as_bytes();
    if digits.len() != N * 2 {
        return Err(HexError::WrongLength { got: digits.len(), expected: N * 2 });
    }
    let mut out = [0u8; N];
    data_encoding::HEXLOWER_PERMISSIVE
        .decode_mut(digits, &mut out)
        .map_err(|partial| HexError::InvalidCharacter { position: partial.error.position })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let bytes = [0x00, 0x01, 0xab, 0xff];
        assert_eq!(encode(&bytes), "0001abff");
        assert_eq!(decode_array::<4>("0001ABff"), Ok(bytes));
        assert_eq!(decode_array::<4>("0001ab"), Err(HexError::WrongLength { got: 6, expected: 8 }));
        assert_eq!(decode_array::<2>("0g00"), Err(HexError::InvalidCharacter { position: 1 }));
    }
}
