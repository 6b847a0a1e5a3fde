//! Text files in the encodings counselors' tools save: UTF-8 (with or without a BOM), UTF-16
//! with a BOM (Excel's "Unicode text"), and GB18030/GBK (Excel's CSV on Chinese Windows).

use encoding_rs::{Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};

/// Decodes `bytes`: by the BOM if there is one, else as UTF-8 if it is valid UTF-8, else as
/// GB18030 if that decodes without a single malformed sequence. Returns the text and the name of
/// the encoding used; `None` when none fits.
pub fn decode(bytes: &[u8]) -> Option<(String, &'static str)> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        let name = match encoding {
            e if e == UTF_8 => "UTF-8 (BOM)",
            e if e == UTF_16LE => "UTF-16LE",
            e if e == UTF_16BE => "UTF-16BE",
            _ => encoding.name(),
        };
        return (!had_errors).then(|| (text.into_owned(), name));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Some((text.to_owned(), "UTF-8"));
    }
    let (text, had_errors) = GB18030.decode_without_bom_handling(bytes);
    (!had_errors).then(|| (text.into_owned(), "GB18030"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic text, written for these tests.
    const TEXT: &str = "编号,正文\n1,今天的奶茶很好喝\n";

    #[test]
    fn each_encoding_is_recognised_and_read_back() {
        let utf8 = TEXT.as_bytes().to_vec();
        let mut bom = vec![0xef, 0xbb, 0xbf];
        bom.extend(&utf8);
        let mut utf16le = vec![0xff, 0xfe];
        utf16le.extend(TEXT.encode_utf16().flat_map(u16::to_le_bytes));
        let mut utf16be = vec![0xfe, 0xff];
        utf16be.extend(TEXT.encode_utf16().flat_map(u16::to_be_bytes));
        let (gbk, _, bad) = GB18030.encode(TEXT);
        assert!(!bad);
        for (bytes, name) in [
            (utf8, "UTF-8"),
            (bom, "UTF-8 (BOM)"),
            (utf16le, "UTF-16LE"),
            (utf16be, "UTF-16BE"),
            (gbk.into_owned(), "GB18030"),
        ] {
            assert_eq!(decode(&bytes), Some((TEXT.to_string(), name)), "{name}");
        }
    }

    #[test]
    fn bytes_that_fit_no_encoding_are_refused() {
        // 0xff is never valid in UTF-8, and 0x80 0xff is not a GB18030 sequence.
        assert_eq!(decode(&[0x41, 0x80, 0xff, 0x42]), None);
    }
}
