//! go-yaml v2's mapping-key order.
//!
//! kustomize prints every map with its keys sorted by go-yaml v2's `keyList.Less`: a
//! "natural" order where letters compare by code point, a non-letter sorts before a letter,
//! and runs of digits compare by numeric value (`a9` < `a10`). The comparator is not a
//! total order (`a10 < a1b < a9 < a10` is a cycle), so go-yaml's output for such key sets
//! varies from run to run; we sort with a merge sort that never panics on an inconsistent
//! comparator and give one of the orders kustomize can print.

use std::cmp::Ordering;

/// `true` when go-yaml v2 would place `a` before `b`.
pub fn less(a: &str, b: &str) -> bool {
    // Fast path: pure ASCII lowercase/uppercase letters and common punctuation compare by
    // bytes, except that digits and non-letters need the full rule.
    let ab = a.as_bytes();
    let bb = b.as_bytes();
    let n = ab.len().min(bb.len());
    let mut i = 0;
    while i < n && ab[i] == bb[i] {
        i += 1;
    }
    if i == n {
        return ab.len() < bb.len();
    }
    if ab[i] < 0x80 && bb[i] < 0x80 {
        // The first difference is ASCII on both sides; decide here unless digits are involved.
        let (x, y) = (ab[i], bb[i]);
        let xl = x.is_ascii_alphabetic();
        let yl = y.is_ascii_alphabetic();
        if xl && yl {
            return x < y;
        }
        if xl || yl {
            return yl;
        }
        return digit_rule(a, b);
    }
    slow_less(a, b)
}

/// Full comparison on code points (used when the first difference is not ASCII).
fn slow_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = is_letter(ar[i]);
        let bl = is_letter(br[i]);
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        return digit_compare(&ar, &br, i);
    }
    ar.len() < br.len()
}

fn digit_rule(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() && ar[i] == br[i] {
        i += 1;
    }
    digit_compare(&ar, &br, i)
}

/// The part of go-yaml's rule for two non-letters at index `i`: compare the digit runs that
/// start there numerically, then by run length, then by code point.
fn digit_compare(ar: &[char], br: &[char], i: usize) -> bool {
    let mut an: i64 = 0;
    let mut bn: i64 = 0;
    if ar[i] == '0' || br[i] == '0' {
        // A zero that continues a number with a non-zero prefix (as in `10` vs `1a`) makes
        // both sides count as larger than a bare zero run.
        let mut j = i;
        while j > 0 && ar[j - 1].is_ascii_digit() {
            j -= 1;
            if ar[j] != '0' {
                an = 1;
                bn = 1;
                break;
            }
        }
    }
    let mut ai = i;
    while ai < ar.len() && ar[ai].is_ascii_digit() {
        an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
        ai += 1;
    }
    let mut bi = i;
    while bi < br.len() && br[bi].is_ascii_digit() {
        bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
        bi += 1;
    }
    if an != bn {
        return an < bn;
    }
    if ai != bi {
        return ai < bi;
    }
    ar[i] < br[i]
}

fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// Orders `keys` the way go-yaml v2 prints them. Stable, allocation-light, and safe with
/// the comparator's cycles.
pub fn sort_keys<T, F: Fn(&T) -> &str>(keys: &mut Vec<T>, key: F) {
    if keys.windows(2).all(|w| !less(key(&w[1]), key(&w[0]))) {
        return;
    }
    merge_sort(keys, &|x: &T, y: &T| {
        if less(key(y), key(x)) {
            Ordering::Greater
        } else {
            Ordering::Less
        }
    });
}

fn merge_sort<T, C: Fn(&T, &T) -> Ordering>(v: &mut Vec<T>, cmp: &C) {
    if v.len() <= 16 {
        // Insertion sort: swaps only, so an inconsistent comparator cannot break it.
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && cmp(&v[j - 1], &v[j]) == Ordering::Greater {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
        return;
    }
    let mid = v.len() / 2;
    let mut right = v.split_off(mid);
    merge_sort(v, cmp);
    merge_sort(&mut right, cmp);
    let left = std::mem::take(v);
    v.reserve(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => {
                if cmp(a, b) == Ordering::Greater {
                    v.push(r.next().unwrap_or_else(|| unreachable!()));
                } else {
                    v.push(l.next().unwrap_or_else(|| unreachable!()));
                }
            }
            (Some(_), None) => v.extend(l.by_ref()),
            (None, Some(_)) => v.extend(r.by_ref()),
            (None, None) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_matches_go_yaml_v2_examples() {
        // The order from the `key-sort-natural` fixture.
        let expected = [
            "-1", "_x", "~", "0", "00", "1.5", "9", "10", "A-b", "A.b", "A/b", "A_b", "Ab", "B",
            "Z", "a", "a1", "a01", "a001", "a9", "a10", "aa",
        ];
        let mut keys: Vec<&str> = expected.iter().rev().copied().collect();
        sort_keys(&mut keys, |k| k);
        assert_eq!(keys, expected);
    }

    #[test]
    fn digit_runs_compare_numerically() {
        assert!(less("x2y", "x02"));
        assert!(less("x02", "x10y"));
        assert!(less("x2", "x2y"));
        assert!(less("apiVersion", "kind"));
        assert!(less("kind", "metadata"));
    }

    #[test]
    fn cyclic_keys_do_not_panic() {
        let mut keys = vec!["a10", "a1b", "a9", "a10", "a1b", "a9"];
        for _ in 0..5 {
            keys.extend_from_slice(&["a10", "a1b", "a9"]);
        }
        sort_keys(&mut keys, |k| k);
        assert_eq!(keys.len(), 21);
    }
}
