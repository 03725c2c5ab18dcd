//! Canonical URLs: one spelling per article link, so that the same page reached through
//! different feeds, campaigns or AMP caches compares equal.
//!
//! Rules, in order: only absolute http(s) URLs; scheme and host lowercased, default port and
//! fragment dropped (the `url` crate's normalization); AMP variants mapped back to the article
//! where the mapping is certain (Google AMP cache URLs, a trailing `/amp` path segment, `amp=1`
//! / `outputType=amp` parameters); tracking parameters removed ([`TRACKING_PARAMS`] and
//! [`TRACKING_PREFIXES`]); the remaining query parameters sorted by name, then value.
//! `amp.` subdomains and `www.` are left alone: whether they serve the same article is not certain.

/// Query parameters that only track the reader (exact names, compared case-insensitively).
pub const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "igshid",
    "igsh",
    "mc_cid",
    "mc_eid",
    "mkt_tok",
    "vero_id",
    "vero_conv",
    "wt_mc",
    "wt.mc_id",
    "ref_src",
    "ref_url",
    "cmpid",
    "cmp",
    "ncid",
    "sr_share",
    "spm",
    "xtor",
    "_ga",
    "_gl",
    "at_medium",
    "at_campaign",
    "at_source",
    "ocid",
    "ito",
    "s_cid",
    "s_kwcid",
    "icid",
    "int_cmp",
    "rssfeed",
    "from_rss",
    "smid",
    "smtyp",
    "soc_src",
    "soc_trk",
    "ns_source",
    "ns_mchannel",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "guccounter",
    "guce_referrer",
    "guce_referrer_sig",
    "__twitter_impression",
    "sc_cid",
    "trk",
    "trkcampaign",
    "campaign_id",
    "ad_id",
    "hsctatracking",
];

/// Query parameter prefixes that only track the reader.
pub const TRACKING_PREFIXES: &[&str] = &[
    "utm_", "_hs", "hsa_", "mc_", "pk_", "piwik_", "mtm_", "matomo_", "oly_", "ga_", "fb_", "ss_", "ir_",
    "cm_",
];

/// Parameters that only select the AMP rendering of the same article.
const AMP_PARAMS: &[(&str, Option<&str>)] =
    &[("amp", None), ("outputtype", Some("amp")), ("_amp", None), ("amp_js_v", None), ("usqp", None)];

fn is_tracking(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    TRACKING_PARAMS.contains(&n.as_str()) || TRACKING_PREFIXES.iter().any(|p| n.starts_with(p))
}

fn is_amp_param(name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    AMP_PARAMS.iter().any(|(k, v)| *k == n && v.is_none_or(|v| value.eq_ignore_ascii_case(v)))
}

/// `https://example-com.cdn.ampproject.org/c/s/example.com/a/b` -> `https://example.com/a/b`.
fn from_amp_cache(u: &url::Url) -> Option<url::Url> {
    if !u.host_str()?.ends_with(".cdn.ampproject.org") {
        return None;
    }
    let path = u.path();
    let (scheme, rest) = if let Some(r) = path.strip_prefix("/c/s/") {
        ("https", r)
    } else if let Some(r) = path.strip_prefix("/v/s/") {
        ("https", r)
    } else if let Some(r) = path.strip_prefix("/c/") {
        ("http", r)
    } else {
        ("http", path.strip_prefix("/v/")?)
    };
    let mut out = url::Url::parse(&format!("{scheme}://{rest}")).ok()?;
    out.set_query(u.query());
    Some(out)
}

/// The canonical form of `link`, or `None` when it is not an absolute http(s) URL.
pub fn canonical_url(link: &str) -> Option<String> {
    let mut u = url::Url::parse(link.trim()).ok()?;
    if let Some(original) = from_amp_cache(&u) {
        u = original;
    }
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return None;
    }
    u.set_fragment(None);
    // A trailing `/amp` segment is the AMP rendering of the article at the parent path.
    let path = u.path().to_string();
    if let Some(parent) = path.strip_suffix("/amp/").or_else(|| path.strip_suffix("/amp")) {
        u.set_path(if parent.is_empty() { "/" } else { parent });
    }
    if u.query().is_some() {
        let mut kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, v)| !k.is_empty() && !is_tracking(k) && !is_amp_param(k, v))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        kept.sort();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tracking_fragment_port_and_case() {
        let c = |s| canonical_url(s);
        assert_eq!(
            c("https://Example.org/a?id=3&utm_source=x#frag").as_deref(),
            Some("https://example.org/a?id=3")
        );
        assert_eq!(c("HTTP://example.org:80/b?fbclid=1").as_deref(), Some("http://example.org/b"));
        assert_eq!(
            c("https://example.org/b?pk_campaign=x&_hsenc=y&mc_cid=z").as_deref(),
            Some("https://example.org/b")
        );
        assert_eq!(c("/relative"), None);
        assert_eq!(c("javascript:alert(1)"), None);
        assert_eq!(c("mailto:x@example.org"), None);
    }

    #[test]
    fn query_parameters_are_sorted() {
        assert_eq!(
            canonical_url("https://example.org/s?b=2&a=1&a=0").as_deref(),
            Some("https://example.org/s?a=0&a=1&b=2")
        );
    }

    #[test]
    fn amp_variants_map_to_the_article() {
        let c = |s| canonical_url(s);
        assert_eq!(
            c("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/story-1/amp?utm_medium=x")
                .as_deref(),
            Some("https://www.example.com/news/story-1")
        );
        assert_eq!(
            c("https://example.com/news/story-1/amp/").as_deref(),
            Some("https://example.com/news/story-1")
        );
        assert_eq!(
            c("https://example.com/news/story-1?outputType=amp").as_deref(),
            Some("https://example.com/news/story-1")
        );
        assert_eq!(
            c("https://example.com/news/story-1?amp=1&id=4").as_deref(),
            Some("https://example.com/news/story-1?id=4")
        );
        // not certain: left alone
        assert_eq!(c("https://amp.example.com/news/1").as_deref(), Some("https://amp.example.com/news/1"));
        assert_eq!(
            c("https://example.com/news/amplifier").as_deref(),
            Some("https://example.com/news/amplifier")
        );
    }

    proptest! {
        #[test]
        fn canonical_is_idempotent(path in "[a-z/]{0,20}", q in proptest::collection::vec(("[a-z_]{1,8}", "[a-z0-9]{0,4}"), 0..5)) {
            let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let link = format!("https://Example.org/{path}?{}#x", query.join("&"));
            if let Some(once) = canonical_url(&link) {
                prop_assert_eq!(canonical_url(&once), Some(once));
            }
        }
    }
}
