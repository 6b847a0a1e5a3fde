//! Screening rates per group of texts (a robustness set's groups, the everyday pool's sources):
//! how often a model calls them high risk, flags them (high or review, see
//! [`crate::assessment`]), flags them without the safety net's help, and gives a level of 6 or
//! more (a plan or worse). For a group whose texts all carry no risk, the flagged rate is the
//! false-alarm rate; for one whose texts all state risk, 1 − flagged is the miss rate.

use serde::Serialize;

use crate::assessment::{Call, assess};
use crate::data::{Expect, ScreeningText};
use crate::infer::Prediction;

/// One group's rates (shares of its texts, 0–1).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupRates {
    pub group: String,
    pub n: usize,
    /// What the group's texts should get: all `flag`, all `none`, or mixed (null).
    pub expect: Option<Expect>,
    pub high_risk: f64,
    pub flagged: f64,
    /// Flagged by the model's heads alone (the safety net left out).
    pub flagged_by_model: f64,
    /// Flagged only because of a phrase of the safety net.
    pub flagged_by_phrase_only: f64,
    pub level_6_or_more: f64,
    /// For a model with landmarks ([`crate::novelty`]): the texts said to be unlike those it
    /// learned from, and the flagged ones among them (a false alarm that carries the note).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfamiliar: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged_unfamiliar: Option<f64>,
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of.max(1) as f64
}

/// The rates of each group, in the order groups first appear in `texts`, then all texts.
pub fn rates(texts: &[ScreeningText], preds: &[Prediction]) -> Vec<GroupRates> {
    let mut groups: Vec<&str> = Vec::new();
    for t in texts {
        if !groups.contains(&t.group.as_str()) {
            groups.push(&t.group);
        }
    }
    let noted = preds.iter().any(|p| p.novelty.is_some());
    let one = |name: &str, members: Vec<(&ScreeningText, &Prediction)>| {
        let n = members.len();
        let count = |f: &dyn Fn(&Prediction) -> bool| members.iter().filter(|(_, p)| f(p)).count();
        let by_model = |p: &Prediction| assess(p.level, p.high_risk, false).0 != Call::Low;
        let first = members.first().and_then(|(t, _)| t.expect);
        let expect = first.filter(|e| members.iter().all(|(t, _)| t.expect == Some(*e)));
        GroupRates {
            group: name.to_string(),
            n,
            expect,
            high_risk: share(count(&|p| p.high_risk), n),
            flagged: share(count(&|p| p.flagged()), n),
            flagged_by_model: share(count(&by_model), n),
            flagged_by_phrase_only: share(count(&|p| p.flagged() && !by_model(p)), n),
            level_6_or_more: share(count(&|p| p.level >= 6), n),
            unfamiliar: noted.then(|| share(count(&|p| p.unfamiliar()), n)),
            flagged_unfamiliar: noted.then(|| share(count(&|p| p.flagged() && p.unfamiliar()), n)),
        }
    };
    let mut out: Vec<GroupRates> = groups
        .iter()
        .map(|g| {
            let members = texts.iter().zip(preds).filter(|(t, _)| t.group == *g).collect();
            one(g, members)
        })
        .collect();
    if groups.len() > 1 {
        out.push(one("all", texts.iter().zip(preds).collect()));
    }
    out
}

/// A Markdown table of the rates, in percent (with the unfamiliar columns where the model has
/// landmarks).
pub fn table(rates: &[GroupRates]) -> String {
    let noted = rates.iter().any(|r| r.unfamiliar.is_some());
    let mut s = String::from(
        "| group | n | should be | high risk | flagged | flagged by the model alone | flagged by a phrase only | level ≥ 6 | false alarms / misses |",
    );
    s += if noted {
        " unfamiliar | flagged and unfamiliar |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    } else {
        "\n|---|---|---|---|---|---|---|---|---|\n"
    };
    for r in rates {
        let pct = |x: f64| format!("{:.1} %", x * 100.0);
        let noted = |x: Option<f64>| x.map_or(String::new(), |x| format!(" {} |", pct(x)));
        let (should, errors) = match r.expect {
            Some(Expect::Flag) => ("flagged", format!("{} missed", pct(1.0 - r.flagged))),
            Some(Expect::None) => ("not flagged", format!("{} false alarms", pct(r.flagged))),
            None => ("mixed", String::new()),
        };
        s += &format!(
            "| {} | {} | {should} | {} | {} | {} | {} | {} | {errors} |{}{}\n",
            r.group,
            r.n,
            pct(r.high_risk),
            pct(r.flagged),
            pct(r.flagged_by_model),
            pct(r.flagged_by_phrase_only),
            pct(r.level_6_or_more),
            noted(r.unfamiliar),
            noted(r.flagged_unfamiliar),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(group: &str, expect: Expect) -> ScreeningText {
        ScreeningText {
            id: String::new(),
            text: String::new(),
            group: group.into(),
            expect: Some(expect),
        }
    }

    fn pred(level: usize, p_high: f32, screened: &str) -> Prediction {
        let mut probs = vec![0.0; 11];
        probs[level] = 1.0;
        Prediction::from_probabilities(probs, p_high, 0.5, (1, false)).screen(screened)
    }

    #[test]
    fn rates_count_each_group_and_the_net_apart() {
        // Synthetic texts: the net sees "遗书" in the third.
        let texts = [
            text("a", Expect::Flag),
            text("a", Expect::Flag),
            text("a", Expect::Flag),
            text("b", Expect::None),
        ];
        let preds = [
            pred(7, 0.9, ""),
            pred(4, 0.1, ""),
            pred(1, 0.1, "遗书"),
            pred(0, 0.2, ""),
        ];
        let r = rates(&texts, &preds);
        assert_eq!(r.len(), 3);
        let a = &r[0];
        assert_eq!((a.group.as_str(), a.n, a.expect), ("a", 3, Some(Expect::Flag)));
        assert!((a.high_risk - 1.0 / 3.0).abs() < 1e-9);
        assert!((a.flagged - 1.0).abs() < 1e-9);
        assert!((a.flagged_by_model - 2.0 / 3.0).abs() < 1e-9);
        assert!((a.flagged_by_phrase_only - 1.0 / 3.0).abs() < 1e-9);
        assert!((a.level_6_or_more - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!((r[1].flagged, r[1].expect), (0.0, Some(Expect::None)));
        assert_eq!((r[2].group.as_str(), r[2].n, r[2].expect), ("all", 4, None));
        assert!(table(&r).contains("| b | 1 | not flagged | 0.0 % |"));
        assert!(!table(&r).contains("unfamiliar"), "no landmarks, no column");
    }

    #[test]
    fn unfamiliar_texts_are_counted_where_the_model_has_landmarks() {
        use crate::prediction::Novelty;
        let texts = [
            text("b", Expect::None),
            text("b", Expect::None),
            text("b", Expect::None),
        ];
        let note = |mut p: Prediction, unfamiliar| {
            p.novelty = Some(Novelty {
                distance: 0.2,
                unfamiliar,
            });
            p
        };
        let preds = [
            note(pred(8, 0.9, ""), true),
            note(pred(0, 0.1, ""), true),
            note(pred(8, 0.9, ""), false),
        ];
        let r = rates(&texts, &preds);
        assert!((r[0].unfamiliar.unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert!((r[0].flagged_unfamiliar.unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert!(
            table(&r).contains("false alarms | 66.7 % | 33.3 % |"),
            "{}",
            table(&r)
        );
    }
}
