//! Long texts read whole, with the shipped default model: a risky sentence at the start, in the
//! middle or at the end of a long synthetic text decides the result, through the window that
//! holds it, and that window's result is the window's text classified on its own.

use burn::prelude::Device;
use sosrisk::assessment::Call;

// Written for this test: an ordinary day, and a plain statement of a plan.
const FILLER: &str = "今天早上去菜市场买了西红柿和鸡蛋，回来做了番茄炒蛋，味道还不错。下午在家看了一部电影，晚上和朋友视频聊了一会儿天。";
const RISK: &str = "我已经想好了，下周五就从楼顶跳下去，再也不想活了。";

fn with_risk_at(k: usize) -> String {
    let mut parts = vec![FILLER; 12];
    parts.insert(k, RISK);
    parts.concat()
}

#[test]
fn a_risky_sentence_anywhere_in_a_long_text_decides_through_its_window() {
    let clf = sosrisk::artifact::load(std::path::Path::new("models/e5"), &Device::flex()).expect("models/e5");
    let plain = FILLER.repeat(12);
    let base = &clf.predict(&[plain.as_str()]).unwrap()[0];
    assert!(
        base.windows.len() > 1,
        "the test text must be longer than one window"
    );
    for k in [0, 6, 12] {
        let text = with_risk_at(k);
        let p = &clf.predict(&[text.as_str()]).unwrap()[0];
        let w = p.window.expect("read in windows");
        let start = text[..text.find(RISK).unwrap()].chars().count();
        let end = start + RISK.chars().count();
        // The deciding window reads the risky sentence (windows overlap by half, so one holds it
        // whole; the one that decides may hold the part that weighs most).
        assert!(
            w.start < end && start < w.end,
            "risk at {start}..{end}, window {w:?}"
        );
        assert!(
            p.windows.iter().any(|s| s.start <= start && end <= s.end),
            "some window holds the whole sentence"
        );
        assert!(
            p.high_risk_prob > base.high_risk_prob,
            "{} vs {}",
            p.high_risk_prob,
            base.high_risk_prob
        );
        // Never "low": the model calls it high, or the safety net's phrase raises "review".
        assert_ne!(p.call, Call::Low, "{p:?}");
        eprintln!(
            "risk at {start}: {:?}, P(high) {:.3}, window {w:?}",
            p.call, p.high_risk_prob
        );
        assert_eq!((p.chars_used, p.truncated), (text.chars().count(), false));
        // The window's result is its text's, classified alone.
        let part: String = text.chars().skip(w.start).take(w.end - w.start).collect();
        let alone = &clf.predict(&[part.as_str()]).unwrap()[0];
        assert!(
            (alone.high_risk_prob - p.high_risk_prob).abs() < 1e-4,
            "{} alone, {} in the text",
            alone.high_risk_prob,
            p.high_risk_prob
        );
        assert_eq!(alone.level, p.level);
        // Every window is reported, and the deciding one has the highest P(high).
        assert!(p.windows.iter().all(|s| s.high_risk_prob <= p.high_risk_prob));
        assert_eq!(p.windows.first().unwrap().start, 0);
        assert_eq!(p.windows.last().unwrap().end, text.chars().count());
        // Attribution covers that window.
        assert_eq!(clf.explain(&text, p).unwrap().len(), w.end - w.start);
    }
}

#[test]
fn absurd_input_is_bounded_and_says_so() {
    let clf = sosrisk::artifact::load(std::path::Path::new("models/char-ngram"), &Device::flex())
        .expect("models/char-ngram");
    let huge = "今天天气很好。".repeat(4000);
    let p = &clf.predict(&[huge.as_str()]).unwrap()[0];
    assert!(p.truncated);
    assert_eq!(p.chars_used, sosrisk::windows::MAX_CHARS);
}

#[test]
fn padding_in_a_batch_does_not_change_a_result() {
    let clf = sosrisk::artifact::load(std::path::Path::new("models/e5"), &Device::flex()).expect("models/e5");
    let short = RISK;
    let long = FILLER.repeat(2);
    let alone = &clf.predict(&[short]).unwrap()[0];
    let batched = &clf.predict(&[short, long.as_str()]).unwrap()[0];
    assert!(
        (alone.high_risk_prob - batched.high_risk_prob).abs() < 1e-4,
        "{} alone, {} batched",
        alone.high_risk_prob,
        batched.high_risk_prob
    );
}
