//! JSON numbers judged by their text, exactly.
//!
//! JSON Schema calls a number an integer when its mathematical value is
//! integral, whatever its spelling: `1`, `1.0`, `1e2` and `100E-2` are
//! integers, `1.5` and `1.0000000000000001` are not. Converting the text to an
//! `f64` first loses that distinction (`1.0000000000000001` rounds to `1.0`,
//! `7000000001.0000001` to `7000000001.0`), so this module reads the decimal
//! text itself: digits and exponent, with no rounding and no I/O.

/// The integer value of a JSON number's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonInteger {
    /// An integral value that fits in an `i128`. `-0` (and `-0.0e5`) is `0`.
    Exact(i128),
    /// An integral value too large for an `i128` (magnitude ≥ 2^127, e.g.
    /// `1E400`): out of range for every field, `negative` telling its sign.
    Huge {
        /// `true` for a negative value.
        negative: bool,
    },
    /// Not integral: `0.5`, `1.0000000000000001`, `1e-400`.
    Fraction,
}

/// An exponent beyond this magnitude is kept at it: every body is far shorter
/// than 10^15 digits, so a clamped exponent classifies the number as the
/// exact one would.
const EXPONENT_CLAMP: i64 = 1_000_000_000_000_000;

/// Reads `text` as a JSON number (RFC 8259 grammar:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, no surrounding
/// whitespace) and tells its exact integer value. `None` when `text` is not a
/// JSON number.
///
/// The work is linear in the length of the text and allocates at most one
/// copy of its digits.
pub fn json_integer(text: &str) -> Option<JsonInteger> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = bytes.first() == Some(&b'-');
    if negative {
        i += 1;
    }
    let digits_from = |start: usize| {
        start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
    };
    let int_end = digits_from(i);
    let int = &bytes[i..int_end];
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return None;
    }
    i = int_end;
    let mut frac: &[u8] = &[];
    if bytes.get(i) == Some(&b'.') {
        let end = digits_from(i + 1);
        frac = &bytes[i + 1..end];
        if frac.is_empty() {
            return None;
        }
        i = end;
    }
    let mut exponent: i64 = 0;
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_negative = match bytes.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let end = digits_from(i);
        if end == i {
            return None;
        }
        for &d in &bytes[i..end] {
            exponent = (exponent * 10 + i64::from(d - b'0')).min(EXPONENT_CLAMP);
        }
        if exp_negative {
            exponent = -exponent;
        }
        i = end;
    }
    if i != bytes.len() {
        return None;
    }

    // value = (int ++ frac as one digit string) × 10^(exponent − frac.len()).
    let all: Vec<u8> = int.iter().chain(frac).copied().collect();
    let first = all.iter().position(|&d| d != b'0');
    let Some(first) = first else {
        return Some(JsonInteger::Exact(0));
    };
    let last = all.iter().rposition(|&d| d != b'0').unwrap_or(first);
    let significant = &all[first..=last];
    let trailing_zeros = (all.len() - 1 - last) as i64;
    // `frac.len()` and the zeros are bounded by the text's length.
    let scale = exponent - frac.len() as i64 + trailing_zeros;
    if scale < 0 {
        // The significant digits end in a non-zero digit, so shifting them
        // right leaves a fraction.
        return Some(JsonInteger::Fraction);
    }
    // i128::MAX has 39 digits: anything longer is huge without computing it.
    if significant.len() as i64 + scale > 39 {
        return Some(JsonInteger::Huge { negative });
    }
    let mut value: i128 = 0;
    let digits = significant
        .iter()
        .map(|d| i128::from(d - b'0'))
        .chain(std::iter::repeat_n(0, scale as usize));
    for d in digits {
        match value.checked_mul(10).and_then(|v| v.checked_add(d)) {
            Some(v) => value = v,
            None => return Some(JsonInteger::Huge { negative }),
        }
    }
    Some(JsonInteger::Exact(if negative { -value } else { value }))
}

#[cfg(test)]
mod tests {
    use super::JsonInteger::{Exact, Fraction, Huge};
    use super::*;

    #[test]
    fn integers_in_any_spelling() {
        for (text, value) in [
            ("1", 1),
            ("1.0", 1),
            ("1e2", 100),
            ("1E2", 100),
            ("1e+2", 100),
            ("100E-2", 1),
            ("0.01e2", 1),
            ("123.000", 123),
            ("7000000001", 7_000_000_001),
            ("7000000001.0", 7_000_000_001),
            ("7.000000001e9", 7_000_000_001),
            ("-5", -5),
            ("0", 0),
            ("-0", 0),
            ("-0.0e5", 0),
            ("0e-999999999999999999999", 0),
            ("9223372036854775807", i128::from(i64::MAX)),
            ("9223372036854775808", 1 << 63),
            ("18446744073709551615", i128::from(u64::MAX)),
        ] {
            assert_eq!(json_integer(text), Some(Exact(value)), "{text}");
        }
    }

    #[test]
    fn fractions_however_close_to_an_integer() {
        for text in [
            "0.5",
            "1.5",
            "1.0000000000000001",
            "7000000001.0000001",
            "1e-1",
            "1e-400",
            "123e-1",
            "-0.1",
            "1.000000000000000000000000000000000000000000000000001e10",
            "5e-999999999999999999999",
        ] {
            assert_eq!(json_integer(text), Some(Fraction), "{text}");
        }
    }

    #[test]
    fn integers_beyond_i128_are_huge() {
        assert_eq!(json_integer("1E400"), Some(Huge { negative: false }));
        assert_eq!(json_integer("-1e400"), Some(Huge { negative: true }));
        assert_eq!(
            json_integer("1e999999999999999999999"),
            Some(Huge { negative: false })
        );
        // 2^127 itself does not fit; 2^127 − 1 does.
        assert_eq!(
            json_integer("170141183460469231731687303715884105728"),
            Some(Huge { negative: false })
        );
        assert_eq!(
            json_integer("170141183460469231731687303715884105727"),
            Some(Exact(i128::MAX))
        );
        assert_eq!(
            json_integer(&format!("1{}", "0".repeat(60))),
            Some(Huge { negative: false })
        );
    }

    #[test]
    fn text_that_is_not_a_json_number() {
        for text in [
            "", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1.e2", " 1", "1 ", "0x10",
            "1_000", "NaN", "Infinity", "\"1\"", "1ee2", "١",
        ] {
            assert_eq!(json_integer(text), None, "{text:?}");
        }
    }
}
