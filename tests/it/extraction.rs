//! Extraction quality on our labelled article pages (`tests/fixtures/pages/`): the text feedsieve
//! stores for a summary-only item whose page it fetched, against the page's labelled article
//! blocks. Word-level precision (stored words that belong to the article) and recall (article
//! words stored), micro-averaged over the pages, for our pipeline and two alternatives; notices
//! must be flagged wherever they sit on the page. Print with
//! `cargo test --test it extraction -- --nocapture`.

use std::collections::HashMap;

use feedsieve::model::{Page, RawItem};
use feedsieve::pipeline::clean::{CleanSettings, clean};
use feedsieve::pipeline::flag::{FlagSettings, flag};
use feedsieve::pipeline::page::{decode_html, extract};
use serde_json::Value;

const SETTINGS: CleanSettings<'static> =
    CleanSettings { boilerplate: true, extra_patterns: &[], lang_hint: None, fetched_at: None };

fn words(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        *out.entry(w.to_lowercase()).or_default() += 1;
    }
    out
}

/// (matched, extracted, expected) word counts of `got` against `keep`.
fn score(got: &str, keep: &str) -> (usize, usize, usize) {
    let (g, k) = (words(got), words(keep));
    let matched = g.iter().map(|(w, n)| (*n).min(k.get(w).copied().unwrap_or(0))).sum();
    (matched, g.values().sum(), k.values().sum())
}

#[derive(Default)]
struct Tally {
    matched: usize,
    extracted: usize,
    expected: usize,
}

impl Tally {
    fn add(&mut self, (m, e, x): (usize, usize, usize)) {
        self.matched += m;
        self.extracted += e;
        self.expected += x;
    }
    fn precision(&self) -> f64 {
        self.matched as f64 / self.extracted.max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.matched as f64 / self.expected.max(1) as f64
    }
}

/// Every `<p>` of the page, the naive alternative.
fn all_paragraphs(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("p").expect("selector");
    doc.select(&sel).map(|p| p.text().collect::<String>()).collect::<Vec<_>>().join("\n\n")
}

#[test]
fn extraction_keeps_the_article_and_its_notice() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
    let labels: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("labels.json")).expect("labels.json"))
            .expect("JSON");
    assert!(labels.len() >= 10, "the labelled set has {} pages", labels.len());
    let (mut ours, mut raw_extractor, mut naive) = (Tally::default(), Tally::default(), Tally::default());
    let (mut notices, mut notices_found, mut meta_ok, mut meta_total) = (0, 0, 0, 0);
    println!("{:<34} {:>6} {:>6}   notice", "page", "P", "R");
    for label in &labels {
        let file = label["file"].as_str().expect("file");
        let url = label["url"].as_str().expect("url");
        let bytes = std::fs::read(dir.join(file)).expect("page");
        let html = decode_html(&bytes, Some("text/html"));
        let keep: String = label["keep"]
            .as_array()
            .expect("keep")
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n");
        let ex = extract(&html, url);
        let item = RawItem {
            guid: file.into(),
            link: Some(url.into()),
            summary: Some("A one-line teaser.".into()),
            page: Some(Page {
                url: url.into(),
                html: ex.html.clone(),
                meta: ex.meta.clone(),
                ..Page::default()
            }),
            ..RawItem::default()
        };
        let cleaned = clean(&item, &SETTINGS);
        let s = score(&cleaned.item.text, &keep);
        ours.add(s);
        let plain = ex.html.as_deref().map(feedsieve::pipeline::clean::inline_text).unwrap_or_default();
        raw_extractor.add(score(&plain, &keep));
        naive.add(score(&all_paragraphs(&html), &keep));

        let notice = label["notice"].as_str();
        let flagged = flag(&cleaned, &FlagSettings { rules: &[], rule_set: None, builtin: true });
        let found = match notice {
            Some(n) => {
                notices += 1;
                let ok = flagged.as_ref().is_some_and(|f| n.contains(f.marker.trim_matches(['(', ')', ' '])));
                notices_found += usize::from(ok);
                if ok { "found" } else { "MISSED" }
            }
            None if flagged.is_some() => "FALSE FLAG",
            None => "-",
        };
        assert!(notice.is_some() || flagged.is_none(), "{file}: flagged without a notice: {flagged:?}");
        for (want, got) in [
            (label["canonical"].as_str(), ex.meta.canonical.as_deref()),
            (label["og_site_name"].as_str(), ex.meta.og_site_name.as_deref()),
            (label["lang"].as_str().map(str::to_lowercase).as_deref(), ex.meta.lang.as_deref()),
        ] {
            if let Some(w) = want {
                meta_total += 1;
                meta_ok += usize::from(Some(w) == got);
            }
        }
        if let Some(headline) = label["json_ld"].get("headline").and_then(Value::as_str) {
            meta_total += 1;
            meta_ok += usize::from(ex.meta.headline.as_deref() == Some(headline));
        }
        let (m, e, x) = s;
        println!(
            "{file:<34} {:>6.3} {:>6.3}   {found}",
            m as f64 / e.max(1) as f64,
            m as f64 / x.max(1) as f64
        );
    }
    println!(
        "\nstored text (dom_smoothie + notice recovery + clean): P {:.3} R {:.3}\n\
         dom_smoothie alone:                                 P {:.3} R {:.3}\n\
         every <p> of the page:                              P {:.3} R {:.3}\n\
         notices flagged: {notices_found}/{notices}; metadata fields right: {meta_ok}/{meta_total}",
        ours.precision(),
        ours.recall(),
        raw_extractor.precision(),
        raw_extractor.recall(),
        naive.precision(),
        naive.recall(),
    );
    assert!(ours.precision() >= 0.90, "precision {:.3}", ours.precision());
    assert!(ours.recall() >= 0.90, "recall {:.3}", ours.recall());
    assert_eq!(notices_found, notices, "every notice is flagged wherever it sits");
    assert_eq!(meta_ok, meta_total, "page metadata");
}
