//! Line numbers of CSV records for error messages, shared by the CLI's reader and the page's.

/// Line numbers from byte offsets: the csv crate's own count is one short after CRLF endings (a
/// record's position can point at the `\n` that ends the line before it). Records come in order,
/// so the count goes on from the last one: linear in the file, which matters for 100,000 rows.
pub struct Lines<'a> {
    bytes: &'a [u8],
    /// Newlines before byte `at` are counted in `line`.
    at: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            line: 1,
        }
    }

    /// The line the record or error at `byte` starts on.
    pub fn at(&mut self, byte: u64) -> usize {
        let bytes = self.bytes;
        let mut start = (byte as usize).min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.at {
            self.at = 0;
            self.line = 1;
        }
        self.line += bytes[self.at..start].iter().filter(|&&b| b == b'\n').count();
        self.at = start;
        self.line
    }
}
