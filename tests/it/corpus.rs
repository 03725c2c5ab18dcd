//! Detection quality on our labelled corpora (`tests/fixtures/{cleaning,flagging}/dev.jsonl`).
//! The figures are printed (`cargo test corpus -- --nocapture`) and the cleaning thresholds asserted.

use std::collections::BTreeMap;

use feedsieve::model::RawItem;
use feedsieve::pipeline::clean::{CleanSettings, clean};
use feedsieve::pipeline::flag::{FlagSettings, flag};
use serde_json::Value;

use crate::helpers::fixture;

fn cases(name: &str) -> Vec<Value> {
    fixture(name)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line is JSON"))
        .collect()
}

fn raw(html: &str) -> RawItem {
    RawItem { guid: "case".into(), content: Some(html.into()), ..RawItem::default() }
}

const SETTINGS: CleanSettings<'static> =
    CleanSettings { boilerplate: true, extra_patterns: &[], lang_hint: None, fetched_at: None };

#[test]
fn cleaning_dev_set_removes_boilerplate_and_keeps_every_paragraph() {
    let (mut removed_total, mut removed_gone, mut paras_total, mut paras_kept) =
        (0usize, 0usize, 0usize, 0usize);
    let mut per_lang: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in cases("cleaning/dev.jsonl") {
        let id = case["id"].as_str().unwrap_or_default();
        let lang = case["lang"].as_str().unwrap_or_default().to_string();
        let out = clean(&raw(case["content_html"].as_str().unwrap_or_default()), &SETTINGS);
        let paragraphs: Vec<&str> = out.item.text.split("\n\n").collect();
        let e = per_lang.entry(lang).or_default();
        for r in case["removed"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            removed_total += 1;
            e.0 += 1;
            if out.item.text.contains(r) {
                failures.push(format!("{id}: boilerplate kept: {r}"));
            } else {
                removed_gone += 1;
                e.1 += 1;
            }
        }
        for p in case["expected_text"].as_str().unwrap_or_default().split("\n\n").filter(|p| !p.is_empty()) {
            paras_total += 1;
            e.2 += 1;
            if paragraphs.contains(&p) {
                paras_kept += 1;
                e.3 += 1;
            } else {
                failures.push(format!("{id}: paragraph lost or altered: {p}"));
            }
        }
    }
    let removed_share = removed_gone as f64 / removed_total.max(1) as f64;
    let kept_share = paras_kept as f64 / paras_total.max(1) as f64;
    println!(
        "cleaning dev: boilerplate removed {removed_gone}/{removed_total} = {removed_share:.3}; paragraphs kept {paras_kept}/{paras_total} = {kept_share:.3}"
    );
    for (lang, (rt, rg, pt, pk)) in &per_lang {
        println!("  {lang}: removed {rg}/{rt}, kept {pk}/{pt}");
    }
    for f in &failures {
        println!("  {f}");
    }
    assert!(removed_share >= 0.97, "removed share {removed_share:.3} < 0.97");
    assert!(kept_share >= 0.99, "kept share {kept_share:.3} < 0.99");
}

#[derive(Default)]
struct Tally {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Tally {
    fn scores(&self) -> (f64, f64, f64) {
        let p = self.tp as f64 / (self.tp + self.fp).max(1) as f64;
        let r = self.tp as f64 / (self.tp + self.fn_).max(1) as f64;
        (p, r, 2.0 * p * r / (p + r).max(f64::EPSILON))
    }
}

#[test]
fn flagging_dev_set_precision_recall_and_exact_markers() {
    let mut all = Tally::default();
    let mut per_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut markers, mut exact) = (0usize, 0usize);
    for case in cases("flagging/dev.jsonl") {
        let id = case["id"].as_str().unwrap_or_default();
        let lang = case["lang"].as_str().unwrap_or_default().to_string();
        let cleaned = clean(&raw(case["content_html"].as_str().unwrap_or_default()), &SETTINGS);
        let got = flag(&cleaned, &FlagSettings { rules: &[], rule_set: None, builtin: true });
        let expected = case["auto_generated"].as_bool().unwrap_or(false);
        let t = per_lang.entry(lang).or_default();
        match (&got, expected) {
            (Some(f), true) => {
                all.tp += 1;
                t.tp += 1;
                if let Some(m) = case["marker"].as_str() {
                    markers += 1;
                    if f.marker == m {
                        exact += 1;
                    } else {
                        println!("  {id}: marker {:?} != {m:?}", f.marker);
                    }
                }
            }
            (Some(f), false) => {
                all.fp += 1;
                t.fp += 1;
                println!("  false positive {id}: {}", f.marker);
            }
            (None, true) => {
                all.fn_ += 1;
                t.fn_ += 1;
                println!("  missed {id}: {}", case["marker"]);
            }
            (None, false) => {}
        }
    }
    let (p, r, f1) = all.scores();
    println!("flagging dev: precision {p:.3} recall {r:.3} F1 {f1:.3}; exact markers {exact}/{markers}");
    for (lang, t) in &per_lang {
        let (p, r, f1) = t.scores();
        println!("  {lang}: tp {} fp {} fn {}; precision {p:.3} recall {r:.3} F1 {f1:.3}", t.tp, t.fp, t.fn_);
    }
    assert!(p >= 0.99, "precision {p:.3} < 0.99");
    assert!(f1 >= 0.98, "F1 {f1:.3} < 0.98");
    assert!(exact as f64 >= 0.95 * markers as f64, "exact markers {exact}/{markers}");
}
