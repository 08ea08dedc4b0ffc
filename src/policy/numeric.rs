//! The number syntax of the `numerical` policy: Go's `strconv.ParseFloat(s, 64)`.
//!
//! Accepted: decimal (`12`, `-1.5`, `.5`, `5.`, `1e3`, `1_000`), hexadecimal with a
//! mandatory binary exponent (`0x1p4`, `0x1.8p1`), and `inf`/`infinity`/`nan` in any case
//! (a sign only on the infinities). Underscores only between digits. A value that
//! overflows to infinity is an error, as Go reports a range error there.
//!
//! ```
//! use rustomize::policy::numeric::parse_go_float;
//!
//! assert_eq!(parse_go_float("1_000"), Some(1000.0));
//! assert_eq!(parse_go_float("0x1p4"), Some(16.0));
//! assert_eq!(parse_go_float("20260528-153652"), None);
//! ```

/// Go's `strconv.ParseFloat(s, 64)`; `None` where Go returns an error.
pub fn parse_go_float(s: &str) -> Option<f64> {
    if let Some(special) = special(s) {
        return Some(special);
    }
    if !underscores_ok(s) {
        return None;
    }
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, s.get(1..)?),
        b'+' => (false, s.get(1..)?),
        _ => (false, s),
    };
    let magnitude = match body.get(..2) {
        Some("0x" | "0X") => hex_float(body.get(2..)?)?,
        _ => decimal_float(body)?,
    };
    if magnitude.is_infinite() {
        return None;
    }
    Some(if negative { -magnitude } else { magnitude })
}

/// `inf`, `+Infinity`, `NaN` …: the whole string must be the word.
fn special(s: &str) -> Option<f64> {
    let (sign, word) = match s.as_bytes().first()? {
        b'-' => (-1.0, s.get(1..)?),
        b'+' => (1.0, s.get(1..)?),
        _ => (1.0, s),
    };
    if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    if word.eq_ignore_ascii_case("nan") && word.len() == s.len() {
        return Some(f64::NAN);
    }
    None
}

/// Go's rule: an underscore must sit between digits (a base prefix counts as a digit).
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    #[derive(PartialEq)]
    enum Saw {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let mut saw = Saw::Start;
    let mut hex = false;
    if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'b' | b'B' | b'o' | b'O' | b'x' | b'X'))
    {
        hex = matches!(b.get(i + 1), Some(b'x' | b'X'));
        saw = Saw::Digit;
        i += 2;
    }
    for &c in b.get(i..).unwrap_or_default() {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = Saw::Digit;
        } else if c == b'_' {
            if saw != Saw::Digit {
                return false;
            }
            saw = Saw::Underscore;
        } else if saw == Saw::Underscore {
            return false;
        } else {
            saw = Saw::Other;
        }
    }
    saw != Saw::Underscore
}

/// `digits[.digits][e[+-]digits]` with at least one mantissa digit.
fn decimal_float(s: &str) -> Option<f64> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let b = clean.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
        digits += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    clean.parse::<f64>().ok()
}

/// Hex digits with an optional point, then a mandatory `p` exponent (after `0x`).
fn hex_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut digits = 0;
    let mut seen_point = false;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'_' {
            i += 1;
            continue;
        }
        if c == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        digits += 1;
        if mantissa >> 56 == 0 {
            mantissa = mantissa * 16 + u64::from(d);
            if seen_point {
                exponent -= 4;
            }
        } else if !seen_point {
            // Beyond 60 bits the digit only scales the value (precision is already there).
            exponent += 4;
        }
        i += 1;
    }
    if digits == 0 || !matches!(b.get(i), Some(b'p' | b'P')) {
        return None;
    }
    let exp_text: String = s.get(i + 1..)?.chars().filter(|&c| c != '_').collect();
    if exp_text.is_empty()
        || !exp_text
            .trim_start_matches(['+', '-'])
            .bytes()
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let p: i64 = exp_text.parse().unwrap_or(if exp_text.starts_with('-') {
        i64::MIN / 2
    } else {
        i64::MAX / 2
    });
    let total = exponent.saturating_add(p).clamp(-2000, 2000) as i32;
    Some(mantissa as f64 * 2f64.powi(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_accepts() {
        for (s, want) in [
            ("73", 73.0),
            ("-88", -88.0),
            ("+1.5", 1.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1E-2", 0.01),
            ("1_000.5", 1000.5),
            ("0x1p-2", 0.25),
            ("0x1.8p1", 3.0),
            ("0X_1p4", 16.0),
            ("1e-400", 0.0),
        ] {
            assert_eq!(parse_go_float(s), Some(want), "{s}");
        }
        assert_eq!(parse_go_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_go_float("infinity"), Some(f64::INFINITY));
        assert!(parse_go_float("NaN").is_some_and(f64::is_nan));
    }

    #[test]
    fn go_rejects() {
        for s in [
            "",
            "1a",
            "b",
            "1.0.0",
            "-",
            ".",
            "e5",
            "1e",
            "_1",
            "1_",
            "1__0",
            "1_.5",
            "0x1",
            "0x",
            "+nan",
            "infin",
            "1e400",
            "20260528-153652",
            " 1",
            "1 ",
        ] {
            assert_eq!(parse_go_float(s), None, "{s:?}");
        }
    }
}
