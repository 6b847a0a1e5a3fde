//! Property tests: whatever text or file comes in, tokenization + inference and the CSV readers
//! return a result or an error, never panic; and the same text always gives the same result.

mod common;

use burn::prelude::Device;
use proptest::prelude::*;
use sosrisk::infer::Classifier;
use std::sync::OnceLock;

fn shipped() -> &'static Classifier {
    static CLF: OnceLock<Classifier> = OnceLock::new();
    CLF.get_or_init(|| {
        let dir = common::crate_dir().join("models/char-ngram");
        sosrisk::artifact::load(&dir, &Device::flex()).unwrap()
    })
}

/// Text from every corner of Unicode, weighted towards what posts contain.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[\\u{4e00}-\\u{9fff}]{1,8}",
        "[\\u{3000}-\\u{303f}\\u{ff00}-\\u{ffef}]{1,3}",
        "[\\u{1f300}-\\u{1faff}\\u{200b}-\\u{200f}\\u{2028}\\u{fe0f}]{1,3}",
        "[\\x00-\\x1f\\x7f]{1,3}",
        "[a-zA-Z0-9 <>&\"'/=]{1,10}",
        "\\PC{1,6}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn any_text_gets_a_prediction_or_the_empty_text_error(t in text()) {
        let clf = shipped();
        match clf.predict(&[t.as_str()]) {
            Ok(p) => {
                prop_assert!(!sosrisk::text::is_blank(&t), "{:?} is blank but got a prediction", t);
                let p = &p[0];
                let total: f32 = p.level_probs.iter().sum();
                prop_assert!((total - 1.0).abs() < 1e-4);
                prop_assert!((0.0..=1.0).contains(&p.high_risk_prob));
                prop_assert!(p.chars_used <= t.chars().count());
                // Same text, same answer.
                prop_assert_eq!(&clf.predict(&[t.as_str()]).unwrap()[0], p);
            }
            Err(sosrisk::TextError { index: 0, error: sosrisk::Error::EmptyText }) => prop_assert!(sosrisk::text::is_blank(&t), "{:?} is not blank", t),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn any_bytes_as_a_csv_give_rows_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..400), header in prop_oneof![Just("id,text,level\n"), Just("id,text,level,binary,split,fold\r\n"), Just("")]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.csv");
        let mut content = header.as_bytes().to_vec();
        content.extend(&bytes);
        std::fs::write(&path, &content).unwrap();
        if let Err(e) = sosrisk::data::read_labelled(&path) {
            prop_assert!(e.to_string().contains("fuzz.csv"), "{}", e);
        }
        let _ = sosrisk::data::read_text_column(&path);
        for name in ["fuzz.csv", "fuzz.txt", "fuzz.tsv", "fuzz.xlsx"] {
            if let Err(e) = sosrisk::table::read(name, &content, None) {
                prop_assert!(e.to_string().starts_with(name), "{}", e);
            }
        }
    }
}
