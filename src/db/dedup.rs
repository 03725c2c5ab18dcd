//! The store's half of deduplication: inside a feed batch's write transaction, look up the
//! earlier articles that share a key with each new one (a few statements per chunk, not per
//! article), let [`dedup::best_match`] decide, and persist the new articles' keys.

use std::collections::{HashMap, HashSet};

use sqlx::{Row, Sqlite, Transaction};

use crate::model::{Article, ContentHash, Duplicate, DuplicateKind, Timestamp};
use crate::pipeline::dedup::{self, Candidate, DedupSettings};

/// Translation candidates kept per article (those sharing the most features).
const MAX_TRANSLATION_CANDIDATES: usize = 20;
/// LSH band keys shared with an earlier article before it is a near-duplicate candidate.
const MIN_SHARED_BANDS: usize = 2;
/// Fingerprint features shared with an earlier article before it is a translation candidate.
const MIN_SHARED: usize = 3;

/// The query behind [`latest_ids_per_value`] for `$table` keyed by `$column`: per value of
/// `json_each(?1)` and per week from `?4` to `?5` that holds rows of the table, the latest
/// `$limit` article ids with a story day in `?2..=?3`, as `value:id,id,…`; only values with
/// hits, all in one row (each row is a message from the connection's thread to the writer). The
/// weeks are found by a loose index scan (one seek per week that has rows), so a
/// lookup seeks no week the table has nothing for (a young store, a window reaching before the
/// first article, a burst of old items).
macro_rules! latest_in_window {
    ($table:literal, $column:literal, $limit:literal) => {
        concat!(
            "WITH RECURSIVE w(value) AS (
                 SELECT (SELECT min(story_week) FROM ",
            $table,
            " WHERE story_week >= ?4)
                 UNION ALL
                 SELECT (SELECT min(story_week) FROM ",
            $table,
            " WHERE story_week > w.value)
                 FROM w WHERE w.value < ?5
             )
             SELECT group_concat(value || ':' || ids, ' ') FROM (SELECT j.value, (SELECT group_concat(article_id) FROM (
                 SELECT article_id FROM ",
            $table,
            "
                 WHERE story_week = w.value AND ",
            $column,
            " = j.value AND story_day BETWEEN ?2 AND ?3
                 ORDER BY story_day DESC LIMIT ",
            $limit,
            ")) AS ids
             FROM w, json_each(?1) j) WHERE ids IS NOT NULL"
        )
    };
}

/// A new or changed article being written, with its raw-item id.
pub(super) struct Keyed<'a> {
    pub id: i64,
    pub article: &'a Article,
    /// Whether this is a new item (revision 1): only those are linked.
    pub new: bool,
    /// The day it counts from ([`day_of`]).
    pub day: i64,
}

/// The week bucket of a story day (the leading key of the band and feature tables).
fn week_of(day: i64) -> i64 {
    day.div_euclid(7)
}

/// The day an article counts from: published, else fetched.
pub(super) fn day_of(article: &Article, fetched_at: Timestamp) -> i64 {
    dedup::story_day(article.clean.published_at.unwrap_or(fetched_at).0)
}

/// Decides the duplicate link of each new article of `items` (in order: an article can be the
/// copy of an earlier one of the same write). Changed articles keep the link they have.
/// `fetched_at` is the latest fetch among the items.
pub(super) async fn link(
    tx: &mut Transaction<'static, Sqlite>,
    items: &[Keyed<'_>],
    fetched_at: Timestamp,
    settings: &DedupSettings,
) -> Result<Vec<Option<Duplicate>>, sqlx::Error> {
    let news: Vec<&Keyed<'_>> = items.iter().filter(|k| k.new).collect();
    if news.is_empty() {
        return Ok(vec![None; items.len()]);
    }
    let days: Vec<i64> = news.iter().map(|k| k.day).collect();
    // No stored article counts from after the day of the fetch (dates past it are clamped when
    // cleaning): the window's future half holds nothing to seek.
    let newest = dedup::story_day(fetched_at.0) + 1;
    let lo = days.iter().min().copied().unwrap_or_default() - settings.window_days;
    let hi = (days.iter().max().copied().unwrap_or_default() + settings.window_days).min(newest);
    let own: HashSet<i64> = items.iter().map(|k| k.id).collect();
    // Only earlier articles can be an article's original (ingest: every stored article is
    // earlier; `reprocess`: the later ones still carry their old derivation).
    let before = news.iter().map(|k| k.id).min().unwrap_or(i64::MAX);

    // Exact: the latest article with the same text hash, and with the same canonical URL (one
    // index seek per key: a story with thousands of copies costs the same as one with two).
    let hashes: Vec<String> =
        news.iter().filter(|k| k.article.dedup.exact).map(|k| k.article.dedup.text_hash.0.clone()).collect();
    let by_hash = latest_per_key(
        tx,
        "SELECT json_group_object(key, id) FROM (
             SELECT j.value AS key, (SELECT a.id FROM articles a WHERE a.text_hash = j.value AND a.id < ?2
                                     ORDER BY a.id DESC LIMIT 1) AS id
             FROM json_each(?1) j) WHERE id IS NOT NULL",
        &hashes,
        before,
        &own,
    )
    .await?;
    let urls: Vec<String> = news.iter().filter_map(|k| k.article.clean.canonical_url.clone()).collect();
    let by_url = latest_per_key(
        tx,
        "SELECT json_group_object(key, id) FROM (
             SELECT j.value AS key, (SELECT a.id FROM articles a WHERE a.canonical_url = j.value AND a.id < ?2
                                     ORDER BY a.id DESC LIMIT 1) AS id
             FROM json_each(?1) j) WHERE id IS NOT NULL",
        &urls,
        before,
        &own,
    )
    .await?;
    let exact_ids: HashSet<i64> = by_hash.values().chain(by_url.values()).copied().collect();
    let exact_known = candidates(tx, &exact_ids).await?;
    // Articles settled by an exact copy inside the window need no other lookup.
    let settled = |k: &Keyed<'_>, day: i64| {
        let hit = |id: Option<&i64>| {
            id.and_then(|id| exact_known.get(id)).is_some_and(|c| (c.day - day).abs() <= settings.window_days)
        };
        (k.article.dedup.exact && hit(by_hash.get(&k.article.dedup.text_hash.0)))
            || k.article.clean.canonical_url.as_ref().is_some_and(|u| hit(by_url.get(u)))
    };
    // So are copies of an earlier article of this write (the latest per key, as `Local`).
    let mut seen_hash: HashMap<&str, i64> = HashMap::new();
    let mut seen_url: HashMap<&str, i64> = HashMap::new();
    let open: Vec<bool> = news
        .iter()
        .zip(&days)
        .map(|(k, day)| {
            let (key, url) = (&k.article.dedup, k.article.clean.canonical_url.as_deref());
            let near = |d: Option<&i64>| d.is_some_and(|d| (d - day).abs() <= settings.window_days);
            let copy = (key.exact && near(seen_hash.get(key.text_hash.0.as_str())))
                || url.is_some_and(|u| near(seen_url.get(u)));
            if key.exact {
                seen_hash.insert(key.text_hash.0.as_str(), *day);
            }
            if let Some(u) = url {
                seen_url.insert(u, *day);
            }
            !copy && !settled(k, *day)
        })
        .collect();

    // Near: the latest few articles per LSH band key and week inside the window.
    let mut by_band: HashMap<i64, Vec<i64>> = HashMap::new();
    if settings.near {
        let keys: Vec<i64> = news
            .iter()
            .zip(&open)
            .filter(|(_, o)| **o)
            .flat_map(|(k, _)| k.article.dedup.bands.iter().copied())
            .collect();
        by_band = latest_ids_per_value(
            tx,
            latest_in_window!("dedup_bands", "band_key", "8"),
            &keys,
            (lo, hi),
            &own,
        )
        .await?;
    }

    // Translations: the latest articles per fingerprint feature inside the (shorter) window.
    let mut by_feature: HashMap<i64, Vec<i64>> = HashMap::new();
    if settings.cross_language {
        let tlo = days.iter().min().copied().unwrap_or_default() - settings.translation_window_days;
        let thi =
            (days.iter().max().copied().unwrap_or_default() + settings.translation_window_days).min(newest);
        let keys: Vec<i64> = news
            .iter()
            .zip(&open)
            .filter(|(k, o)| **o && k.article.dedup.fingerprint.len() >= MIN_SHARED)
            .flat_map(|(k, _)| k.article.dedup.fingerprint.iter().copied())
            .collect();
        by_feature = latest_ids_per_value(
            tx,
            latest_in_window!("dedup_features", "feature", "24"),
            &keys,
            (tlo, thi),
            &own,
        )
        .await?;
    }

    // Which earlier articles each new one should be compared with.
    let mut wanted: Vec<Vec<i64>> = Vec::with_capacity(news.len());
    for (k, open) in news.iter().zip(&open) {
        let key = &k.article.dedup;
        let mut ids: HashSet<i64> = HashSet::new();
        if key.exact {
            ids.extend(by_hash.get(&key.text_hash.0));
        }
        if let Some(u) = &k.article.clean.canonical_url {
            ids.extend(by_url.get(u));
        }
        if *open {
            ids.extend(sharing_keys(key, |b| by_band.get(b), |f| by_feature.get(f)));
        }
        wanted.push(ids.into_iter().collect());
    }
    let all: HashSet<i64> =
        wanted.iter().flatten().copied().filter(|id| !exact_known.contains_key(id)).collect();
    let mut known = candidates(tx, &all).await?;
    known.extend(exact_known);

    // Decide in order; each decided article becomes a candidate for the later ones, found the
    // way stored ones are (same keys, same limits), so that a write of thousands of articles
    // does not compare each with all earlier ones.
    let mut local = Local::default();
    let mut decided: HashMap<i64, Option<Duplicate>> = HashMap::new();
    for ((k, ids), day) in news.iter().zip(&wanted).zip(&days) {
        let a = k.article;
        let stored = ids.iter().filter(|id| **id < k.id).filter_map(|id| known.get(id));
        let pool = stored.chain(local.candidates(k));
        let found = dedup::best_match(
            &a.dedup,
            a.clean.canonical_url.as_deref(),
            a.clean.lang.as_deref(),
            *day,
            pool,
            settings,
        );
        let dup = found.map(|m| Duplicate { of: m.root, kind: m.kind, similarity: m.similarity });
        local.add(k, dup.as_ref());
        decided.insert(k.id, dup);
    }
    Ok(items.iter().map(|k| decided.get(&k.id).cloned().flatten()).collect())
}

/// The articles decided so far in one write, indexed by the keys the stored ones are looked up
/// by: the latest per text hash and canonical URL, the latest few per band key and feature.
#[derive(Default)]
struct Local<'a> {
    all: Vec<Candidate>,
    by_hash: HashMap<&'a str, usize>,
    by_url: HashMap<&'a str, usize>,
    by_band: HashMap<i64, Vec<usize>>,
    by_feature: HashMap<i64, Vec<usize>>,
}

impl<'a> Local<'a> {
    /// Per band key and feature, the latest this many articles (as the stored lookups).
    const PER_BAND: usize = 8;
    const PER_FEATURE: usize = 24;

    /// The earlier articles of the write that `k` should be compared with.
    fn candidates(&self, k: &Keyed<'a>) -> impl Iterator<Item = &Candidate> {
        let key = &k.article.dedup;
        let mut picked: HashSet<usize> = HashSet::new();
        if key.exact {
            picked.extend(self.by_hash.get(key.text_hash.0.as_str()));
        }
        if let Some(u) = &k.article.clean.canonical_url {
            picked.extend(self.by_url.get(u.as_str()));
        }
        picked.extend(sharing_keys(key, |b| self.by_band.get(b), |f| self.by_feature.get(f)));
        let mut picked: Vec<usize> = picked.into_iter().collect();
        picked.sort_unstable();
        picked.into_iter().filter_map(|i| self.all.get(i))
    }

    /// Adds `k`, decided as `dup`. An exact copy adds no band or feature entries: its
    /// original's are the same keys (as [`store_keys`] writes none for it).
    fn add(&mut self, k: &Keyed<'a>, dup: Option<&Duplicate>) {
        let i = self.all.len();
        let (a, key) = (k.article, &k.article.dedup);
        if key.exact {
            self.by_hash.insert(key.text_hash.0.as_str(), i);
        }
        if let Some(u) = &a.clean.canonical_url {
            self.by_url.insert(u.as_str(), i);
        }
        if !dup.is_some_and(|d| d.kind == DuplicateKind::Exact) {
            for b in &key.bands {
                push_latest(self.by_band.entry(*b).or_default(), i, Self::PER_BAND);
            }
            for f in &key.fingerprint {
                push_latest(self.by_feature.entry(*f).or_default(), i, Self::PER_FEATURE);
            }
        }
        self.all.push(Candidate {
            id: k.id,
            root: dup.map_or(k.id, |d| d.of),
            lang: a.clean.lang.clone(),
            text_hash: key.text_hash.clone(),
            exact: key.exact,
            canonical_url: a.clean.canonical_url.clone(),
            signature: key.signature.clone(),
            shingles: key.shingles,
            fingerprint: key.fingerprint.clone(),
            day: k.day,
        });
    }
}

/// The articles (stored ids or indexes of a write) that share enough keys with `key` to be
/// compared with it, given the articles listed per band key and per fingerprint feature: those
/// sharing at least [`MIN_SHARED_BANDS`] band keys (one shared band is what two unrelated texts
/// produce now and then, a common phrase, and each candidate costs a read), and the
/// [`MAX_TRANSLATION_CANDIDATES`] sharing the most features, at least [`MIN_SHARED`].
fn sharing_keys<'m, T: Copy + Eq + std::hash::Hash + Ord + 'm>(
    key: &dedup::DedupKey,
    by_band: impl Fn(&i64) -> Option<&'m Vec<T>>,
    by_feature: impl Fn(&i64) -> Option<&'m Vec<T>>,
) -> Vec<T> {
    let mut bands: HashMap<T, usize> = HashMap::new();
    for b in &key.bands {
        for id in by_band(b).into_iter().flatten() {
            *bands.entry(*id).or_default() += 1;
        }
    }
    let mut out: Vec<T> =
        bands.into_iter().filter(|(_, n)| *n >= MIN_SHARED_BANDS).map(|(id, _)| id).collect();
    let mut features: HashMap<T, usize> = HashMap::new();
    for f in &key.fingerprint {
        for id in by_feature(f).into_iter().flatten() {
            *features.entry(*id).or_default() += 1;
        }
    }
    let mut translated: Vec<(usize, T)> =
        features.into_iter().filter(|(_, n)| *n >= MIN_SHARED).map(|(id, n)| (n, id)).collect();
    translated.sort_unstable_by(|a, b| b.cmp(a));
    out.extend(translated.into_iter().take(MAX_TRANSLATION_CANDIDATES).map(|(_, id)| id));
    out
}

/// Appends `i`, keeping the latest `limit` entries.
fn push_latest(list: &mut Vec<usize>, i: usize, limit: usize) {
    if list.len() == limit {
        list.remove(0);
    }
    list.push(i);
}

/// `key -> id` from a query over `json_each(?1)` of `keys` (ids below `?2`) that returns one
/// JSON object of the keys that have an id.
async fn latest_per_key(
    tx: &mut Transaction<'static, Sqlite>,
    sql: &'static str,
    keys: &[String],
    before: i64,
    own: &HashSet<i64>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let json = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
    let found: Option<String> = sqlx::query_scalar(sql).bind(json).bind(before).fetch_one(&mut **tx).await?;
    let found: HashMap<String, i64> = found.and_then(|f| serde_json::from_str(&f).ok()).unwrap_or_default();
    Ok(found.into_iter().filter(|(_, id)| !own.contains(id)).collect())
}

/// `value -> ids` from a [`latest_in_window`] query over `values` and the day range `lo..=hi`.
async fn latest_ids_per_value(
    tx: &mut Transaction<'static, Sqlite>,
    sql: &'static str,
    values: &[i64],
    (lo, hi): (i64, i64),
    own: &HashSet<i64>,
) -> Result<HashMap<i64, Vec<i64>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    if values.is_empty() {
        return Ok(out);
    }
    // In key order: consecutive seeks then walk neighbouring pages of the index.
    let mut unique: Vec<i64> = values.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let json = serde_json::to_string(&unique).unwrap_or_else(|_| "[]".into());
    let found: Option<String> = sqlx::query_scalar(sql)
        .bind(json)
        .bind(lo)
        .bind(hi)
        .bind(week_of(lo))
        .bind(week_of(hi))
        .fetch_one(&mut **tx)
        .await?;
    for hit in found.as_deref().unwrap_or_default().split(' ') {
        let Some((value, ids)) = hit.split_once(':') else { continue };
        let Ok(value) = value.parse::<i64>() else { continue };
        let found = out.entry(value).or_default();
        found.extend(ids.split(',').filter_map(|i| i.parse::<i64>().ok()).filter(|i| !own.contains(i)));
    }
    out.retain(|_, ids| !ids.is_empty());
    Ok(out)
}

/// The stored keys of `ids`, with each one's cluster root.
async fn candidates(
    tx: &mut Transaction<'static, Sqlite>,
    ids: &HashSet<i64>,
) -> Result<HashMap<i64, Candidate>, sqlx::Error> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let ids: Vec<i64> = ids.iter().copied().collect();
    let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let q = sqlx::query(
        "SELECT a.id, coalesce(a.duplicate_of, a.id), a.lang, a.text_hash, a.canonical_url,
                    k.exact, k.shingles, k.signature, k.fingerprint, k.story_day
             FROM articles a JOIN dedup_keys k ON k.article_id = a.id
             WHERE a.id IN (SELECT value FROM json_each(?1))",
    )
    .bind(list);
    for row in q.fetch_all(&mut **tx).await? {
        let id: i64 = row.get(0);
        let signature: Option<Vec<u8>> = row.get(7);
        let fingerprint: Vec<u8> = row.get(8);
        out.insert(
            id,
            Candidate {
                id,
                root: row.get(1),
                lang: row.get(2),
                text_hash: ContentHash(row.get(3)),
                exact: row.get(5),
                canonical_url: row.get(4),
                signature: signature.as_deref().and_then(dedup::signature_from_blob),
                shingles: u32::try_from(row.get::<i64, _>(6)).unwrap_or(0),
                fingerprint: dedup::fingerprint_from_blob(&fingerprint),
                day: row.get(9),
            },
        );
    }
    Ok(out)
}

/// Writes the keys of `items` (replacing a changed article's `dedup_keys` row). An exact copy of an
/// earlier article gets no band or feature rows: the earlier one's are the same keys, and a
/// story syndicated to thousands of feeds would otherwise fill the index with duplicates.
pub(super) async fn store_keys(
    tx: &mut Transaction<'static, Sqlite>,
    items: &[Keyed<'_>],
    links: &[Option<Duplicate>],
) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    // A changed article's old band and feature rows stay (see the migration): its current keys
    // in `dedup_keys` decide every comparison.
    for chunk in super::statement_chunks(items, 1024) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT OR REPLACE INTO dedup_keys (article_id, story_day, exact, shingles, signature, fingerprint) ",
        );
        q.push_values(chunk, |mut b, k| {
            let key = &k.article.dedup;
            b.push_bind(k.id)
                .push_bind(k.day)
                .push_bind(key.exact)
                .push_bind(i64::from(key.shingles))
                .push_bind(key.signature.as_deref().map(dedup::signature_to_blob))
                .push_bind(dedup::fingerprint_to_blob(&key.fingerprint));
        });
        q.build().execute(&mut **tx).await?;
    }

    // (value, day, article) rows, a few hundred per statement (SQLite's bound-variable limit).
    for (bands, statement) in [
        (true, "INSERT OR IGNORE INTO dedup_bands (story_week, band_key, story_day, article_id) "),
        (false, "INSERT OR IGNORE INTO dedup_features (story_week, feature, story_day, article_id) "),
    ] {
        let mut rows: Vec<(i64, i64, i64)> = items
            .iter()
            .zip(links)
            .filter(|(_, link)| !link.as_ref().is_some_and(|l| l.kind == DuplicateKind::Exact))
            .flat_map(|(k, _)| {
                let day = k.day;
                let values = if bands { &k.article.dedup.bands } else { &k.article.dedup.fingerprint };
                values.iter().map(move |v| (*v, day, k.id))
            })
            .collect();
        rows.sort_unstable_by_key(|&(v, day, id)| (week_of(day), v, day, id));
        for chunk in super::statement_chunks(&rows, 2048) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(statement);
            q.push_values(chunk, |mut b, (v, day, id)| {
                b.push_bind(week_of(*day)).push_bind(*v).push_bind(*day).push_bind(*id);
            });
            q.build().execute(&mut **tx).await?;
        }
    }
    Ok(())
}
