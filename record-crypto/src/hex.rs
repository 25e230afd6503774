//! Lower-case hexadecimal encoding, thin wrappers over `data-encoding` (which
//! the CIDs' base32 needs anyway) that give this crate's error type.
//!
//! Encoding always produces lower case; decoding accepts either case, so a key pasted in upper
//! case from a tool still loads.

use crate::error::HexError;

/// Encodes `bytes` as lower-case hex.
pub(crate) fn encode(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// Decodes exactly `N` bytes from `text` (`2 * N` hex digits, either case).
pub(crate) fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    let mut out = [0u8; N];
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Decodes `text` into `out`, which fixes the expected length.
pub(crate) fn decode_into(text: &str, out: &mut [u8]) -> Result<(), HexError> {
    let digits = text.as_bytes();
    if digits.len() != out.len() * 2 {
        return Err(HexError::InvalidLength { expected: out.len() * 2, found: digits.len() });
    }
    data_encoding::HEXLOWER_PERMISSIVE
        .decode_mut(digits, out)
        .map_err(|partial| HexError::InvalidDigit { position: partial.error.position })?;
    Ok(())
}

/// Implements lower-case hex `Display` and strict-length `FromStr` for a public 32-byte newtype
/// `$name([u8; 32])`.
macro_rules! impl_hex_32 {
    ($name:ident) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                formatter.write_str(&crate::hex::encode(&self.0))
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(formatter, concat!(stringify!($name), "({})"), self)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = crate::error::HexError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                crate::hex::decode_array::<32>(text).map(Self)
            }
        }
    };
}
pub(crate) use impl_hex_32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_case() {
        let bytes = [0x00, 0x01, 0xab, 0xff];
        assert_eq!(encode(&bytes), "0001abff");
        assert_eq!(decode_array::<4>("0001ABff").unwrap(), bytes);
    }

    #[test]
    fn rejects_bad_length_and_digits() {
        assert_eq!(decode_array::<2>("abc"), Err(HexError::InvalidLength { expected: 4, found: 3 }));
        assert_eq!(decode_array::<2>("ab0g"), Err(HexError::InvalidDigit { position: 3 }));
    }
}
