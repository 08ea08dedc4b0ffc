//! Small helpers for error messages a user can act on: the nearest known name to a
//! misspelt one, and short excerpts of text that may be large or private.

/// The name in `known` nearest to `name` by edit distance (case-insensitive), when it is
/// near enough to be what was meant: at most a third of the name's length, and at least 1.
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `text` cut to at most `max` characters on one line, with `…` where it was cut: an error
/// may quote input, but never a whole file of it.
pub fn excerpt(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names() {
        let known = ["resources", "patches", "components", "namePrefix"];
        assert_eq!(closest("patchs", &known), Some("patches"));
        assert_eq!(closest("nameprefix", &known), Some("namePrefix"));
        assert_eq!(closest("resourcez", &known), Some("resources"));
        assert_eq!(closest("xyz", &known), None);
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("a\nb", 10), "a b");
        assert_eq!(excerpt(&"x".repeat(50), 10).chars().count(), 10);
    }
}
