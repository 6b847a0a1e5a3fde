//! Model architectures, one file each: the from-scratch character n-gram model and the
//! pretrained BERT-layout encoder (multilingual-e5-small).

pub mod bert;
mod dense;
mod gelu;
pub mod ngram;

pub use ngram::*;

/// The rows of a batch padded to a GPU shape, and the length each is padded to: at least
/// `min_rows` rows, extra ones repeating the first (a row of only padding would divide by zero
/// in the pooling), and the longest row (each cut to `max_len`), at least `min_len`, at least 1.
/// Shared by both networks' batches, so that both keep the same few shapes.
pub(crate) fn shaped_rows<'a, T>(
    rows: &[&'a [T]],
    (min_rows, min_len): (usize, usize),
    max_len: usize,
) -> (Vec<&'a [T]>, usize) {
    let len = rows
        .iter()
        .map(|r| r.len().min(max_len))
        .max()
        .unwrap_or(0)
        .max(min_len)
        .max(1);
    let first = rows.first().copied().unwrap_or_default();
    let rows = rows
        .iter()
        .copied()
        .chain(std::iter::repeat(first))
        .take(rows.len().max(min_rows))
        .collect();
    (rows, len)
}

#[cfg(test)]
mod tests {
    use super::shaped_rows;

    #[test]
    fn shaped_rows_repeat_the_first_and_pad_to_the_longest_cut() {
        let (a, b, c): (&[u8], &[u8], &[u8]) = (&[1, 2], &[3, 4, 5, 6, 7], &[]);
        let (rows, len) = shaped_rows(&[a, b], (4, 3), 4);
        assert_eq!(rows, vec![a, b, a, a]);
        assert_eq!(len, 4, "the longest, cut to max_len");
        assert_eq!(shaped_rows(&[a, b], (1, 8), 4).1, 8, "at least min_len");
        assert_eq!(shaped_rows(&[c], (1, 0), 4), (vec![c], 1), "never empty");
        assert_eq!(shaped_rows::<u8>(&[], (2, 0), 4), (vec![c, c], 1));
    }
}
